"""The demo's narration panel: each step, the tutorial's rule for it, and the columns that changed."""

from __future__ import annotations

import time
from typing import List, Optional

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from psxj.demo.steps import narrate, run_length
from psxj.escape import safe_text
from psxj.i18n import _
from psxj.tui.wrapping import wrapped_group


def _steps_line(told: list, total: int) -> Text:
    """`Steps 4/11: ✓ start ✓ fork ✓ setsid ▶ second-fork`, on one line, the newest steps kept."""
    line = Text(_("Steps {told}/{total}: ").format(told=len(told), total=total), no_wrap=True, overflow="ellipsis")
    names = [entry[0] for entry in told]
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
        return Text(_("Second instance (pid {pid}): refused, the pidfile is locked by pid {holder}").format(
            pid=last['pid'], holder=last.get('holder')), style="bold", no_wrap=True, overflow="ellipsis")
    return Text(_("Second instance (pid {pid}): {step}…").format(pid=last['pid'], step=last['step']), no_wrap=True,
                overflow="ellipsis")


def _clock(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}"


def narration(entries: List[dict], log_tail: List[str], second: Optional[List[dict]] = None,
              ended: bool = False, upto: Optional[int] = None, events: Optional[List[str]] = None) -> Group:
    """The panel's text. `upto` narrates the run up to that step (a played-back run, which went
    faster than anyone reads); `events` are the kernel's words for what that step did."""
    if upto is not None:
        entries = entries[:upto + 1]
        ended = False
    told = narrate(entries)
    parts = []
    if not told:
        parts.append(Text(_("Demo: starting the daemon program..."), style="bold"))
    else:
        step_id, step, changes = told[-1]
        total = run_length(entries)
        parts.append(_steps_line(told, total))
        entry = entries[-1]
        if ended:
            parts.append(Text(_("The demo has ended (last step {number} of {total}: {title}, "
                                "PID {pid}). This panel closes by itself; d starts it again.").format(
                number=len(told), total=total, title=_(step.title), pid=entry.get('pid')), style="bold"))
        else:
            when = ""
            if upto is not None and isinstance(entry.get("time"), (int, float)):
                first = entries[0].get("time", entry["time"])
                when = _(" at {clock} (+{ms:.1f} ms)").format(clock=_clock(entry['time']),
                                                            ms=(entry['time'] - first) * 1000)
            parts.append(Text(_("Step {number} of {total}: {title}   (PID {pid}){when}").format(
                number=len(told), total=total, title=_(step.title), pid=entry.get('pid'), when=when), style="bold"))
            parts.append(Text(f"  「{step.quote}」", style="italic"))
            parts.append(Text(f"  {_(step.explanation)}"))
            if changes:
                parts.append(Text("  " + _("changed: ") + "   ".join(changes), style="bold"))
            elif step.changes:
                parts.append(Text("  " + _("changed: nothing yet visible"), style="dim"))
            for line in (events or [])[:4]:
                parts.append(Text("  " + _("event: ") + line, style="dim", no_wrap=True, overflow="ellipsis"))
            if upto is not None:
                parts.append(Text("  " + _("(the run took milliseconds; played back one step at a time: [ and ] "
                                           "step)"), style="dim"))
    second_line = _second_instance_line(second or [])
    if second_line is not None:
        parts.append(second_line)
    if log_tail:
        parts.append(Text(_("This run's log (psxj demo log has all of it):"), style="dim"))
        parts.extend(Text("  " + safe_text(line), no_wrap=True, overflow="ellipsis") for line in log_tail)
    return wrapped_group(parts)


class DemoPanel(Static):
    """Shown while a demo runs; the demo (psxj.tui.demo) feeds it the recorded steps and the log's last lines."""

    DEFAULT_CSS = """
    DemoPanel { height: auto; max-height: 12; padding: 0 1; background: $boost; border-top: solid $warning; }
    """

    def show(self, entries: List[dict], log_tail: List[str], second: Optional[List[dict]] = None,
             ended: bool = False, upto: Optional[int] = None, events: Optional[List[str]] = None) -> None:
        self.update(narration(entries, log_tail, second, ended, upto, events))
