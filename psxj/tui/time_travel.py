"""Stepping through a recording in the interface: back and forward one table, or to a moment.

`psxj --load DIR` on a recording (psxj.sources.recording) opens at its latest table; `[` and `]`
step back and forward, `T` asks for a moment in the same words as `--at` (`03:00`, `-10m`, an ISO
date), and the status line names the moment shown and which table of how many it is. TimeTravel is
which table is shown (the app's, as the table is); Travel, a feature of the main screen
(psxj.tui.feature), has the keys.
"""

from __future__ import annotations

import time
from typing import List, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label

from psxj.errors import PsxjError
from psxj.i18n import _
from psxj.tui.dialog import Dialog
from psxj.tui.feature import Feature, StatusPart
from psxj.tui.keys import BarEntry


class TimeTravel:
    """Which table of a recording is shown. Textual-free apart from its dialog below."""

    def __init__(self, recording) -> None:
        self.recording = recording
        self.times = recording.times()
        self.index = len(self.times) - 1

    def snapshot(self):
        return self.recording.snapshot(self.index)

    def step(self, delta: int) -> bool:
        """Move by delta tables; False when already at that end."""
        index = max(0, min(self.index + delta, len(self.times) - 1))
        moved = index != self.index
        self.index = index
        return moved

    def go(self, text: str) -> None:
        """To the table shown at the moment `text` names (PsxjError when it names none)."""
        from psxj.sources.recording import parse_when

        self.index = self.recording.index_at(parse_when(text, self.recording.last))

    def describe(self) -> str:
        return _("{where} ([ ] step, T goes to a time)").format(where=self.short())

    def short(self) -> str:
        """The moment shown and which table it is, for a narrow status line."""
        moment = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.times[self.index]))
        return _("at {moment}, table {number} of {count}").format(moment=moment, number=self.index + 1,
                                                                    count=len(self.times))


class Travel(Feature):
    """The keys of a recording: [ and ] a table back and on, T to a moment. Offered only on a recording."""

    BINDINGS = [
        Binding("left_square_bracket", "time_step(-1)", "Step back", show=False),
        Binding("right_square_bracket", "time_step(1)", "Step on", show=False),
        Binding("T", "go_to_time", "Go to a time"),
    ]

    def bar_entries(self) -> List[BarEntry]:
        """On a recording, stepping through it is the point: its keys go first in the key bar."""
        if self.app.time_travel is None:
            return []
        return [BarEntry("[ ]", _("Earlier, later")), BarEntry("T", _("Go to a time"))]

    def action_time_step(self, step: int) -> None:
        travel = self.app.time_travel
        if travel.step(step):
            self._show()
        else:
            self.app.notify(_("That is the recording's first table.") if step < 0 else
                            _("That is the recording's latest table."))

    def action_go_to_time(self) -> None:
        travel = self.app.time_travel
        if travel is None:
            return

        def chosen(text: Optional[str]) -> None:
            if not text:
                return
            try:
                travel.go(text)
            except PsxjError as exc:
                self.app.notify(str(exc), severity="error", title=_("No such time"))
                return
            self._show()

        self.app.push_screen(GoToTimeScreen(), chosen)

    def _show(self) -> None:
        """The table time travel is at, shown as a loaded one (a process in both keeps the cursor)."""
        self.post_message(self.ShowSnapshot(self.app.time_travel.snapshot()))

    def status_parts(self) -> List[StatusPart]:
        """Where the table comes from: the recording, at which table."""
        travel = self.app.time_travel
        if travel is None:
            return []
        return [StatusPart(0, "psxj  " + _("{path} {where}, read-only").format(path=travel.recording.path,
                                                                               where=travel.describe()),
                           travel.short())]


class GoToTimeScreen(Dialog[Optional[str]]):
    """Ask for a moment, in --at's words."""

    DEFAULT_CSS = """
    GoToTimeScreen { align: center middle; }
    #when { width: 46; max-width: 100%; }   /* the time dialog: its placeholder whole */
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(_("Go to the table shown at:"), style="bold"))
            yield Input(placeholder="03:00, 2024-05-01T03:00, -10m, -2h ...", id="when")
            yield Label(Text(_("Enter goes, Esc cancels")))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)
