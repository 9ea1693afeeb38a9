"""Stepping through a recording in the interface: back and forward one table, or to a moment.

`psxj --load DIR` on a recording (psxj.sources.recording) opens at its latest table; `[` and `]`
step back and forward, `T` asks for a moment in the same words as `--at` (`03:00`, `-10m`, an ISO
date), and the status line names the moment shown and which table of how many it is.
"""

from __future__ import annotations

import time
from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from psxj.i18n import _


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


class GoToTimeScreen(ModalScreen[Optional[str]]):
    """Ask for a moment, in --at's words."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(_("Go to the table shown at:"), style="bold"))
            yield Input(placeholder="03:00, 2024-05-01T03:00, -10m, -2h ...", id="when")
            yield Label(Text(_("Enter goes, Esc cancels")))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)
