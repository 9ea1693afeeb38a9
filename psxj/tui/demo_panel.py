"""The demo's narration panel: each step, the tutorial's rule for it, and the columns that changed."""

from __future__ import annotations

from typing import List

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from psxj.demo.steps import STEPS, narrate


def narration(entries: List[dict], log_tail: List[str]) -> Group:
    told = narrate(entries)
    parts = []
    if not told:
        parts.append(Text("Demo: starting the daemon program...", style="bold"))
    else:
        step_id, step, changes = told[-1]
        order = list(STEPS)
        done = Text("Steps: ")
        for index, (sid, _, _) in enumerate(told):
            done.append(("✓ " if index < len(told) - 1 else "▶ ") + sid + "  ",
                        style="bold" if index == len(told) - 1 else "dim")
        parts.append(done)
        number = order.index(step_id) + 1 if step_id in order else "?"
        entry = entries[-1]
        parts.append(Text(f"Step {number}: {step.title}   (PID {entry.get('pid')})", style="bold"))
        parts.append(Text(f"  「{step.quote}」", style="italic"))
        parts.append(Text(f"  {step.explanation}"))
        if changes:
            parts.append(Text("  changed: " + "   ".join(changes), style="bold"))
        elif step.changes:
            parts.append(Text("  changed: nothing yet visible", style="dim"))
    if log_tail:
        parts.append(Text("Log (psxj demo log):", style="dim"))
        parts.extend(Text("  " + line, no_wrap=True, overflow="ellipsis") for line in log_tail)
    return Group(*parts)


class DemoPanel(Static):
    """Shown while a demo runs; the app feeds it the recorded steps and the log's last lines."""

    def show(self, entries: List[dict], log_tail: List[str]) -> None:
        self.update(narration(entries, log_tail))
