"""The notice line under the table: what psxj has to say, where it covers nothing.

Textual's notifications are toasts over the bottom right of the screen: at 80x24 "Filter cleared" covered
half the table's rows, and at 60x20 the demo's notice hid the panel's `changed:` line, the point of each
step. On the main screen psxj says it on this line instead, above the key bar: the table gives up a line
or two while it shows, and gets them back when it goes. Other screens (dialogs, the detail view) keep
Textual's toasts, which have room there. PsxjApp.notify chooses (psxj.tui.app).

Part of the interface (psxj.tui).
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.widgets import Static

from psxj.tui.wrapping import wrapped


class Notice(NamedTuple):
    """What psxj said (PsxjApp.notices keeps the last ones)."""
    message: str
    severity: str
    title: str


SECONDS = {"information": 5.0, "warning": 8.0, "error": 10.0}   # how long each kind stays


class NoticeLine(Static):
    """The last notice, wrapped to at most three lines; it goes after a while, or when replaced."""

    DEFAULT_CSS = """
    NoticeLine { height: auto; max-height: 3; padding: 0 1; background: $accent 30%; color: $text; }
    NoticeLine.-warning { background: $warning 35%; }
    NoticeLine.-error { background: $error 40%; text-style: bold; }
    """

    def on_mount(self) -> None:
        self.display = False
        self._timer = None

    def say(self, message: str, severity: str = "information", title: str = "",
            timeout: float | None = None) -> None:
        text = Text(f"{title}: " if title else "", style="bold")
        text.append(message)
        self.update(wrapped(text))
        self.set_class(severity == "warning", "-warning")
        self.set_class(severity == "error", "-error")
        self.display = True
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(timeout or SECONDS.get(severity, 5.0), self.clear)

    def clear(self) -> None:
        self.display = False
        self._timer = None
