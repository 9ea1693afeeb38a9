"""The events pane under the table: fork, exec, setsid and exit as they happen (psxj.sources.events),
for every process, the selected process's subtree, or the filter's processes.

It shows what a refresh misses: a process born and gone between two refreshes appears here, and
so do rows whose session changed since the last refresh. Polled events (no proc connector here)
are marked, and the pane says how short a process may be and still be missed.

A fork storm must be readable: the pane keeps the last events (EVENTS_KEPT) to scroll back through
(Tab moves into it: ↑ ↓ PgUp PgDn Home, End follows the newest again), it stands still while psxj is
paused (p), what comes meanwhile waiting to be shown, and a sentence too long for its row goes on
under it rather than being cut. Like the table, it paints only the lines on screen (Textual's Line API).
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Deque, Iterable, List, Optional, Tuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from psxj.cells import fit, wrap
from psxj.escape import safe_text
from psxj.i18n import N_, _, ngettext
from psxj.render.eventtext import EventLines

SCOPES = ("all", "subtree", "filter")
SCOPE_WORDS = {"all": N_("every process"), "subtree": N_("the selected process and its descendants"),
               "filter": N_("the processes the filter shows")}
EVENTS_KEPT = 5000       # events to scroll back through (~1 MiB of text)
HELD_WHILE_PAUSED = 5000  # events that came while paused, shown when psxj goes on
TOP_LINES = 2            # the title and the columns' header stay put
WHAT_INDENT = "    "     # a sentence that does not fit its row goes on under it, indented


class EventsPane(ScrollView, can_focus=True):
    """The last events of the chosen scope, newest at the bottom."""

    DEFAULT_CSS = """
    EventsPane { height: 40vh; min-height: 8; padding: 0 1; background: $boost; border-top: solid $secondary;
                 scrollbar-size-vertical: 1; overflow-x: hidden; }
    EventsPane:focus { border-top: solid $accent; }
    EventsPane > .events--title { text-style: bold; }
    EventsPane > .events--header { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"events--title", "events--header"}
    BINDINGS = [
        Binding("up", "scroll_lines(-1)", "Up", show=False),
        Binding("down", "scroll_lines(1)", "Down", show=False),
        Binding("pageup", "scroll_lines(-100)", "Page up", show=False),
        Binding("pagedown", "scroll_lines(100)", "Page down", show=False),
        Binding("home", "scroll_to_first", "First", show=False),
        Binding("end", "follow", "Follow", show=False),
        Binding("escape", "leave", "Back to the table", show=False),
    ]

    def __init__(self, capacity: int = EVENTS_KEPT, **kwargs) -> None:
        super().__init__(**kwargs)
        # (the ps columns, what happened): one event, or a note (a session change between refreshes);
        # beside each, its lines at the pane's width (None until laid out).
        self.entries: Deque[Tuple[str, str]] = deque(maxlen=capacity)
        self._laid: Deque[Optional[List[str]]] = deque(maxlen=capacity)
        self.held: Deque[Tuple[str, str]] = deque(maxlen=HELD_WHILE_PAUSED)
        self.scope = "all"
        self.status = _("events: starting…")
        self.paused = False
        self.following = True          # the view follows the newest line; scrolling back stops it
        self._format = EventLines()
        self._lines: List[str] = []    # every entry's lines, in order
        self._width = 0

    # what it holds -----------------------------------------------------------------
    @property
    def lines(self) -> List[str]:
        """Each event as one line (the columns, then what happened)."""
        return [f"{columns}  {what}" if what else columns for columns, what in self.entries]

    def _append(self, entry: Tuple[str, str]) -> None:
        if self.paused:
            self.held.append(entry)
        else:
            self.entries.append(entry)
            self._laid.append(None)

    def add(self, events: Iterable, keep: Callable[[object], bool]) -> int:
        """Add the events the scope keeps; how many it kept. Only the last ones the pane holds are
        formatted: in an exec storm, thousands come between two looks."""
        kept = [event for event in events if keep(event)]
        for event in kept[-(self.entries.maxlen or len(kept)):]:
            self._append(self._format.parts(event))
        return len(kept)

    def note(self, text: str) -> None:
        """A line that is not a kernel event: a session change seen between two refreshes."""
        self._append((safe_text(text), ""))

    def clear(self) -> None:
        self.entries.clear()
        self._laid.clear()
        self.held.clear()
        self.show()

    def pause(self, paused: bool) -> None:
        """psxj paused (p): the pane stands still; going on, it shows what came meanwhile, and follows."""
        if paused == self.paused:
            return
        self.paused = paused
        if not paused:
            for entry in self.held:
                self._append(entry)
            self.held.clear()
            self.following = True
        self.refresh()

    def show(self, height: int = 0) -> None:
        """Lay out what was added and paint (`height` is no longer used: the pane has its own)."""
        width = max(self.scrollable_content_region.width, 20)
        if width != self._width:
            self._width = width
            self._laid = deque([None] * len(self.entries), maxlen=self.entries.maxlen)
        if self._laid and self._laid[-1] is None:   # new entries: at the end (or all, after a resize)
            self._laid = deque((lines if lines is not None else entry_lines(columns, what, width)
                                for (columns, what), lines in zip(self.entries, self._laid)),
                               maxlen=self.entries.maxlen)
        self._lines = [line for lines in self._laid for line in lines]
        self.virtual_size = Size(self.size.width, len(self._lines) + TOP_LINES)
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.refresh()

    def display_lines(self) -> List[str]:
        """Every line of the pane as it is laid out: what scrolling can show."""
        self.show()
        return list(self._lines)

    def visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - TOP_LINES, 0)

    def first_shown(self) -> int:
        return int(self.scroll_y)

    def visible_text(self) -> List[str]:
        return [self.render_line(y).text for y in range(self.scrollable_content_region.height)]

    # painting ------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._line(self._title(), width, base + self.get_component_rich_style("events--title"))
        if y == 1:
            return self._line(self._format.header(), width, base + self.get_component_rich_style("events--header"))
        index = int(self.scroll_y) + y - TOP_LINES
        if not self._lines and y == TOP_LINES:
            return self._line("  " + _("nothing yet"), width, base + self.get_component_rich_style("events--header"))
        return self._line(self._lines[index] if 0 <= index < len(self._lines) else "", width, base)

    @staticmethod
    def _line(text: str, width: int, style: Style) -> Strip:
        text = fit(text, width) if cell_len(text) > width else text
        return Strip([Segment(text, style)]).crop_extend(0, width, style)

    def _title(self) -> str:
        state = ""
        if self.paused:
            state = ngettext(" · paused (p goes on): {count} event waiting", " · paused (p goes on): {count} events "
                             "waiting", len(self.held)).format(count=len(self.held)) if self.held \
                else _(" · paused (p goes on)")
        elif not self.following:
            state = _(" · scrolled back (End follows)")
        title = _("Events of {scope}{state} (e closes, E changes whose, Tab scrolls) · {status}").format(
            scope=_(SCOPE_WORDS[self.scope]), state=state, status=self.status)
        return title if cell_len(title) <= self._width else fit(title, max(self._width - 1, 1)).rstrip() + "…"

    # keys, once Tab has moved into the pane ------------------------------------------------
    def action_scroll_lines(self, step: int) -> None:
        if abs(step) == 100:
            step = (1 if step > 0 else -1) * max(self.visible_rows() - 1, 1)
        self.scroll_to(y=max(min(self.scroll_y + step, self.max_scroll_y), 0), animate=False, immediate=True)
        self._after_scroll()

    def action_scroll_to_first(self) -> None:
        self.scroll_to(y=0, animate=False, immediate=True)
        self._after_scroll()

    def action_follow(self) -> None:
        self.following = True
        self.show()

    def action_leave(self) -> None:
        self.screen.query_one("#table").focus()

    def _after_scroll(self) -> None:
        self.following = self.scroll_y >= self.max_scroll_y
        self.refresh()

    def _on_mouse_scroll_up(self, event) -> None:
        self.following = False


def entry_lines(columns: str, what: str, width: int) -> List[str]:
    """An event as lines of `width` cells: on one line when it fits, else its columns and then what
    happened, wrapped under them (never cut: "exec: …, the process was already" was all one read)."""
    line = f"{columns}  {what}" if what else columns
    if cell_len(line) <= width:
        return [line]
    return [columns] + wrap(what, width, WHAT_INDENT) if what else [columns]


def event_pids(event) -> set:
    pids = {event.pid}
    if getattr(event, "parent_pid", None) is not None:
        pids.add(event.parent_pid)
    if event.row is not None:
        pids.add(event.row.ppid)
    return pids


__all__ = ["EventsPane", "SCOPES", "event_pids", "entry_lines", "Optional"]
