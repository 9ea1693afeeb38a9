"""The filter line under the table: ps's selectors and words of the command (psxj.select.parse_filter).

On screen in the key bar's place while it is typed in: / opens it, showing the filter in force,
Enter applies, Esc leaves it as it was; the status line shows the filter in force, Backspace on the
table clears it. A filter that does not parse is reported where it was typed, and the last good one
stays in force. Its hint comes whole in the width there is. A feature of the main screen
(psxj.tui.feature).
"""

from __future__ import annotations

from typing import List

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input, Static

from psxj.errors import PsxjError
from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.select import Selection, parse_filter
from psxj.tui.feature import Feature, StatusPart
from psxj.tui.wrapping import hint_for

FILTER_HINTS = (   # longest first: the first that fits the line is shown
    N_("Filter: -s SID -u USER -p PID -t TTY -C NAME --kind KIND, or words of the command; "
       "Enter applies, Esc closes"),
    N_("Filter: -s SID -u USER -p PID -t TTY -C NAME --kind KIND, or words; Enter, Esc"),
    N_("-s SID -u USER -p PID -C NAME, or words; Enter, Esc"),
)
FILTER_HINT = FILTER_HINTS[0]


class Filter(Feature):
    DEFAULT_CSS = """
    Filter #filter { height: 1; border: none; padding: 0 1; background: $boost; }
    Filter #filter:focus { background: $accent 30%; }
    Filter #filter-error { height: 1; color: $error; padding: 0 1; }
    """
    BINDINGS = [
        Binding("slash,backslash,f4", "filter", "Filter"),
        Binding("backspace", "clear_filter", "Clear filter"),
    ]

    class Use(Message):
        """Put this filter in force, as if typed in the filter line (the user picker, u, sends it up)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, selection: Selection) -> None:
        super().__init__()
        self.text = selection.describe() if selection else ""   # the filter in force, as the user wrote it

    @property
    def line(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def error(self) -> Static:
        return self.query_one("#filter-error", Static)

    def on_mount(self) -> None:
        self.line.value = self.text
        self.line.display = False
        self.error.display = False

    def action_filter(self) -> None:
        """/ opens the filter line, showing the filter in force, and moves into it."""
        hint_for(self.line, FILTER_HINTS, self.screen.size.width)
        self._show_line(True)
        self.line.focus()

    def _show_line(self, shown: bool) -> None:
        """The filter line takes the key bar's place while it is open (as htop's F4 does): the bottom
        lines keep their height, so Textual lays the screen out once when it opens or closes, not
        twice (a container of auto height that changes size is laid out again a frame later)."""
        self.line.display = shown
        self.query_one("#keys").display = not shown

    def on_resize(self) -> None:
        if self.line.display:
            hint_for(self.line, FILTER_HINTS, self.screen.size.width)

    def _close_line(self) -> None:
        """Back to the table; the line goes, unless it says what is wrong with what was typed."""
        self._show_line(self.error.display)
        self.table.focus()

    @on(Use)
    def use(self, message: Use) -> None:
        message.stop()
        if not message.text:
            self.action_clear_filter()
            return
        self.line.value = message.text
        self.apply_filter(Input.Submitted(self.line, message.text))

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        try:
            selection = parse_filter(event.value)
        except PsxjError as exc:
            # A bad filter is reported where it was typed; the last good one stays in force.
            self.error.update(Text(safe_text(_("filter not applied: {error}").format(error=exc))))
            self.error.display = True
            return
        self.error.display = False
        self.text = event.value.strip()
        # The new rows first; the focus moves back to the table after that paint (a focus change
        # makes Textual repaint the whole screen, which would hold the new rows back).
        self.post_message(self.ViewChanged(lambda o: o._replace(selection=selection),
                                           then=lambda: self.call_after_refresh(self._close_line)))

    def action_clear_filter(self) -> None:
        was = self.text
        self.line.value = ""
        self.error.display = False
        self.text = ""
        self._close_line()
        self.post_message(self.ViewChanged(lambda o: o._replace(selection=Selection())))
        if was:
            self.app.notify(_("Filter cleared (it was: {filter}).").format(filter=was))

    def on_key(self, event) -> None:
        """Esc in the filter line closes it: the filter in force stays, and the line shows it again.
        (Esc goes on to the main screen's Esc as well, which says the filter stays.)"""
        if event.key == "escape" and self.screen.focused is self.line and self.app.screen is self.screen:
            if self.line.value.strip() != self.text:
                self.app.notify(_("Not applied; the filter in force is still: {filter} "
                                  "(Enter in the filter line applies, Backspace on the table clears).").format(
                    filter=self.text or _("none")))
            self.line.value = self.text
            self.error.display = False
            self._close_line()

    def status_parts(self) -> List[StatusPart]:
        filtered = _("filter: {filter}").format(filter=self.text)
        return [StatusPart(0, filtered, filtered) if self.text else StatusPart(5, _("no filter"), "")]
