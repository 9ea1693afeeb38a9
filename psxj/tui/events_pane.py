"""The events pane under the table: fork, exec, setsid and exit as they happen (psxj.sources.events),
for every process, the selected process's subtree, or the filter's processes.

It shows what a refresh misses: a process born and gone between two refreshes appears here, and
so do rows whose session changed since the last refresh. Polled events (no proc connector here)
are marked, and the pane says how short a process may be and still be missed.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Deque, Iterable, List, Optional

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.render.eventtext import EventLines

SCOPES = ("all", "subtree", "filter")
SCOPE_WORDS = {"all": N_("every process"), "subtree": N_("the selected process and its descendants"),
               "filter": N_("the processes the filter shows")}


class EventsPane(Static):
    """The last events of the chosen scope, newest at the bottom."""

    DEFAULT_CSS = """
    EventsPane { height: 14; padding: 0 1; background: $boost; border-top: solid $secondary; }
    """

    def __init__(self, capacity: int = 400, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: Deque[str] = deque(maxlen=capacity)
        self.scope = "all"
        self.status = _("events: starting…")
        self._format = EventLines()

    def add(self, events: Iterable, keep: Callable[[object], bool]) -> int:
        """Add the events the scope keeps; how many it kept. Only the last ones the pane holds are
        formatted: in an exec storm, thousands come between two looks."""
        kept = [event for event in events if keep(event)]
        for event in kept[-(self.lines.maxlen or len(kept)):]:
            self.lines.append(self._format.line(event))
        return len(kept)

    def note(self, text: str) -> None:
        """A line that is not a kernel event: a session change seen between two refreshes."""
        self.lines.append(safe_text(text))

    def show(self, height: int) -> None:
        shown: List[Text] = [Text(_("Events of {scope} (e closes, E changes whose) · {status}").format(
                                      scope=_(SCOPE_WORDS[self.scope]), status=self.status),
                                  style="bold", no_wrap=True, overflow="ellipsis"),
                             Text(self._format.header(), style="dim", no_wrap=True, overflow="crop")]
        recent = list(self.lines)[-max(height - 2, 1):]
        if not recent:
            shown.append(Text("  " + _("nothing yet"), style="dim"))
        shown.extend(Text(line, no_wrap=True, overflow="crop") for line in recent)
        self.update(Group(*shown))


def event_pids(event) -> set:
    pids = {event.pid}
    if getattr(event, "parent_pid", None) is not None:
        pids.add(event.parent_pid)
    if event.row is not None:
        pids.add(event.row.ppid)
    return pids


__all__ = ["EventsPane", "SCOPES", "event_pids", "Optional"]
