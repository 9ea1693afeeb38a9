"""The demo's narration panel: each step, the tutorial's rule for it, and the columns that changed."""

from __future__ import annotations

import io
import time
from typing import List, Optional, Tuple

from rich.console import Console, Group
from rich.text import Text
from textual.widgets import Static

from psxj.demo.steps import narrate, run_length
from psxj.escape import safe_text
from psxj.i18n import _
from psxj.tui.wrapping import wrapped, wrapped_group


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
              ended: bool = False, upto: Optional[int] = None, events: Optional[List[str]] = None,
              width: int = 0, room: int = 0) -> Group:
    """The panel's text. `upto` narrates the run up to that step (a played-back run, which went
    faster than anyone reads); `events` are the kernel's words for what that step did. Given the
    `room` (lines of `width` cells), the least needed lines give way first (see _fit), so that the
    panel, cut at its height, never loses the step's changes nor the log's newest line."""
    if upto is not None:
        entries = entries[:upto + 1]
        ended = False
    told = narrate(entries)
    parts = []
    if not told:
        parts.append((9, Text(_("Demo: starting the daemon program..."), style="bold")))
    else:
        step_id, step, changes = told[-1]
        total = run_length(entries)
        parts.append((7, _steps_line(told, total)))
        entry = entries[-1]
        if ended:
            parts.append((9, Text(_("The demo has ended (last step {number} of {total}: {title}, "
                                "PID {pid}). This panel closes by itself; d starts it again.").format(
                number=len(told), total=total, title=_(step.title), pid=entry.get('pid')), style="bold")))
        else:
            when = ""
            if upto is not None and isinstance(entry.get("time"), (int, float)):
                first = entries[0].get("time", entry["time"])
                when = _(" at {clock} (+{ms:.1f} ms)").format(clock=_clock(entry['time']),
                                                            ms=(entry['time'] - first) * 1000)
            parts.append((9, Text(_("Step {number} of {total}: {title}   (PID {pid}){when}").format(
                number=len(told), total=total, title=_(step.title), pid=entry.get('pid'), when=when), style="bold")))
            parts.append((4, Text(f"  「{step.quote}」", style="italic")))
            parts.append((5, Text(f"  {_(step.explanation)}")))
            if changes:
                parts.append((9, Text("  " + _("changed: ") + "   ".join(changes), style="bold")))
            elif step.changes:
                parts.append((8, Text("  " + _("changed: nothing yet visible"), style="dim")))
            for line in (events or [])[:4]:
                parts.append((6, Text("  " + _("event: ") + line, style="dim", no_wrap=True, overflow="ellipsis")))
            if upto is not None:
                parts.append((2, Text("  " + _("(the run took milliseconds; played back one step at a time: [ and ] "
                                               "step)"), style="dim")))
    second_line = _second_instance_line(second or [])
    if second_line is not None:
        parts.append((8, second_line))
    if log_tail:
        # The log's newest line outranks the older ones, and the heading goes with it.
        parts.append((7, Text(_("This run's log (psxj demo log has all of it):"), style="dim")))
        parts.extend((7 if index == len(log_tail) - 1 else 3,
                      Text("  " + safe_text(line), no_wrap=True, overflow="ellipsis"))
                     for index, line in enumerate(log_tail))
    return wrapped_group(_fit(parts, width, room))


def _fit(parts: List[Tuple[int, Text]], width: int, room: int) -> List[Text]:
    """The parts, in order, without the lowest-ranked ones (the latest first among equals) while they
    take more than `room` lines of `width` cells (no room given: all of them)."""
    kept = list(range(len(parts)))
    if room <= 0 or width <= 0:
        return [text for _rank, text in parts]
    console = Console(width=width, file=io.StringIO(), legacy_windows=False)
    options = console.options.update_width(width)
    heights = [len(console.render_lines(wrapped(text), options, pad=False)) for _rank, text in parts]
    for index in sorted(kept, key=lambda i: (parts[i][0], -i)):
        if sum(heights[i] for i in kept) <= room:
            break
        if parts[index][0] < 9:   # the step, what changed: never given up
            kept.remove(index)
    if kept and heights[kept[-1]] == 1 and parts[kept[-1]][1].plain.endswith(":"):
        kept.pop()   # the log's heading, without a line of the log under it
    return [parts[i][1] for i in kept]


class DemoPanel(Static):
    """Shown while a demo runs; the demo (psxj.tui.demo) feeds it the recorded steps and the log's last lines."""

    DEFAULT_CSS = """
    DemoPanel { height: auto; max-height: 60vh; padding: 0 1; background: $boost; border-top: solid $warning; }
    """

    def show(self, entries: List[dict], log_tail: List[str], second: Optional[List[dict]] = None,
             ended: bool = False, upto: Optional[int] = None, events: Optional[List[str]] = None) -> None:
        width = self.content_region.width
        room = int(self.app.size.height * 0.6) - 1   # max-height: 60vh, less the border's line
        self.update(narration(entries, log_tail, second, ended, upto, events, width, room))
