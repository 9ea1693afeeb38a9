"""Finding a row: the search line (F3, in the command or a PID), and digits typed on the table, which
jump to that PID as in htop. Esc closes what is open (the search line, a half-typed PID).

A feature of the main screen (psxj.tui.feature): it moves the table's cursor and marks its matches
(ProcessTable.match); the rows stay what the filter selects.
"""

from __future__ import annotations

import time
from typing import List

from textual import on
from textual.binding import Binding
from textual.widgets import Input

from psxj.i18n import N_, _
from psxj.tui.feature import Feature, StatusPart
from psxj.tui.wrapping import hint_for

SEARCH_HINTS = (   # longest first: the first that fits the line is shown
    N_("Search the command: typing jumps to the next match; Enter or F3 next, Shift+F3 back, Esc closes"),
    N_("Search: typing jumps to the next match; Enter or F3 next, Shift+F3 back, Esc"),
    N_("Search: typing jumps; Enter next, Shift+F3 back, Esc"),
)
SEARCH_HINT = SEARCH_HINTS[0]
PID_JUMP_SECONDS = 1.0   # digits typed within this of each other are one PID


class Search(Feature):
    DEFAULT_CSS = """
    Search #search { height: 1; border: none; padding: 0 1; background: $secondary 30%; }
    """
    BINDINGS = [
        Binding("f3", "search", "Search"),
        Binding("shift+f3", "search_next(-1)", "Previous match", show=False),
        Binding("escape", "close", "Close", show=False),
        # Digits jump to a PID. Bindings, not a key handler: a binding runs when the key reaches the app, in
        # the order keys were typed, so the 9 of x 9 Enter is the signal dialog's, never a jump.
        *(Binding(digit, action, show=False) for digit, action in ((d, "pid_digit(%r)" % d) for d in "0123456789")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.pid_typed = ""
        self._pid_typed_at = 0.0

    @property
    def line(self) -> Input:
        return self.query_one("#search", Input)

    def on_mount(self) -> None:
        self.line.display = False

    def action_search(self) -> None:
        if self.line.display and self.text:
            self.action_search_next(1)
            return
        hint_for(self.line, SEARCH_HINTS, self.screen.size.width)
        self.line.display = True
        self.line.focus()

    @staticmethod
    def _matcher(text: str):
        needle = text.lower()
        return lambda record: needle in record.command.lower() or needle == str(record.pid)

    @on(Input.Changed, "#search")
    def search_typed(self, event: Input.Changed) -> None:
        self.text = event.value
        table = self.table
        table.match = self._matcher(event.value) if event.value else None
        if event.value:
            index = table.find(table.match, include_current=True)
            if index is not None:
                table.move_to(index)
        table.refresh()

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        self.action_search_next(1)

    def action_search_next(self, step: int = 1) -> None:
        table = self.table
        if not self.text:
            self.action_search()
            return
        index = table.find(self._matcher(self.text), step=step)
        if index is None:
            self.app.notify(_("No process matches {text!r}.").format(text=self.text))
        else:
            table.move_to(index)

    def action_close(self) -> None:
        """Esc: close what is open (the search line, a half-typed PID), never drop the filter."""
        if self.line.display:
            self._close_search()
        elif self.pid_typed:
            self.pid_typed = ""
            self.post_message(self.StatusChanged())
        elif self.app.options.selection:
            self.app.notify(_("Esc closes what is open; the filter stays. Backspace clears it."))

    def _close_search(self) -> None:
        line = self.line
        line.display = False
        line.value = ""
        self.text = ""
        self.table.match = None
        self.table.focus()
        self.table.refresh()

    def on_key(self, event) -> None:
        """Esc in the search line closes it. A key on its way here when another screen opened is that
        screen's (psxj.tui.dialog): it goes on to the app."""
        if event.key == "escape" and self.screen.focused is self.line and self.app.screen is self.screen:
            self._close_search()

    def action_pid_digit(self, digit: str) -> None:
        if self.screen.focused is self.table:
            self.jump_to_pid_digit(digit)

    def jump_to_pid_digit(self, digit: str) -> None:
        """Typed digits jump to the process with that PID (or the first whose PID starts so)."""
        now = time.monotonic()
        self.pid_typed = (self.pid_typed if now - self._pid_typed_at < PID_JUMP_SECONDS else "") + digit
        self._pid_typed_at = now
        typed = self.pid_typed
        table = self.table
        if not table.select_pid(int(typed)):
            index = table.find(lambda r: str(r.pid).startswith(typed), include_current=True)
            if index is not None:
                table.move_to(index)
        self.post_message(self.StatusChanged())
        self.set_timer(PID_JUMP_SECONDS + 0.05, self._forget_pid_typed)

    def _forget_pid_typed(self) -> None:
        if self.pid_typed and time.monotonic() - self._pid_typed_at >= PID_JUMP_SECONDS:
            self.pid_typed = ""
            self.post_message(self.StatusChanged())

    def status_parts(self) -> List[StatusPart]:
        return [StatusPart(0, f"PID {self.pid_typed}…", f"PID {self.pid_typed}…")] if self.pid_typed else []
