"""The demo's narration panel: each step, the tutorial's rule for it, and the columns that changed."""

from __future__ import annotations

from typing import List, Optional

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from psxj.demo.steps import narrate, run_length
from psxj.render.escape import safe_text


def _steps_line(told: list, total: int) -> Text:
    """`Steps 4/11: ✓ start ✓ fork ✓ setsid ▶ second-fork`, on one line, the newest steps kept."""
    line = Text(f"Steps {len(told)}/{total}: ", no_wrap=True, overflow="ellipsis")
    names = [step_id for step_id, _, _ in told]
    shown = names[-6:]
    if len(names) > len(shown):
        line.append("… ", style="dim")
    for index, step_id in enumerate(shown):
        last = index == len(shown) - 1
        line.append(("▶ " if last else "✓ ") + step_id + "  ", style="bold" if last else "dim")
    return line


def _second_instance_line(second: List[dict]) -> Optional[Text]:
    if not second:
        return None
    last = second[-1]
    if last["step"] == "refused":
        return Text(f"Second instance (pid {last['pid']}): refused, the pidfile is locked by pid {last.get('holder')}",
                    style="bold", no_wrap=True, overflow="ellipsis")
    return Text(f"Second instance (pid {last['pid']}): {last['step']}…", no_wrap=True, overflow="ellipsis")


def narration(entries: List[dict], log_tail: List[str], second: Optional[List[dict]] = None,
              ended: bool = False) -> Group:
    told = narrate(entries)
    parts = []
    if not told:
        parts.append(Text("Demo: starting the daemon program...", style="bold"))
    else:
        step_id, step, changes = told[-1]
        total = run_length(entries)
        parts.append(_steps_line(told, total))
        entry = entries[-1]
        if ended:
            parts.append(Text(f"The demo has ended (last step {len(told)} of {total}: {step.title}, "
                              f"PID {entry.get('pid')}). This panel closes by itself; d starts it again.",
                              style="bold"))
        else:
            parts.append(Text(f"Step {len(told)} of {total}: {step.title}   (PID {entry.get('pid')})", style="bold"))
            parts.append(Text(f"  「{step.quote}」", style="italic"))
            parts.append(Text(f"  {step.explanation}"))
            if changes:
                parts.append(Text("  changed: " + "   ".join(changes), style="bold"))
            elif step.changes:
                parts.append(Text("  changed: nothing yet visible", style="dim"))
    second_line = _second_instance_line(second or [])
    if second_line is not None:
        parts.append(second_line)
    if log_tail:
        parts.append(Text("This run's log (psxj demo log has all of it):", style="dim"))
        parts.extend(Text("  " + safe_text(line), no_wrap=True, overflow="ellipsis") for line in log_tail)
    return Group(*parts)


class DemoPanel(Static):
    """Shown while a demo runs; the app feeds it the recorded steps and the log's last lines."""

    def show(self, entries: List[dict], log_tail: List[str], second: Optional[List[dict]] = None,
             ended: bool = False) -> None:
        self.update(narration(entries, log_tail, second, ended))
