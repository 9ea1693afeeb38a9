"""The status line above the table: what the table is, then each feature's part, fitted to the width.

The app gathers the parts (psxj.tui.app.PsxjApp.update_status: its own, and each feature's
status_parts) and hands them down to this widget, which fits them into one line of terminal cells.
"""

from __future__ import annotations

from typing import List, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from psxj.escape import safe_text
from psxj.tui.feature import StatusPart


def fitted(parts: Sequence[StatusPart], width: int) -> str:
    """The parts joined into one line of at most `width` cells if it can be: first the short forms,
    least needed first, then the least needed parts go (never one of priority 0)."""
    texts = [part.long for part in parts]
    separator = "  │  " if width >= 100 else " │ "

    def line_length() -> int:
        return cell_len(separator.join(t for t in texts if t))  # cells: a Chinese character takes two

    for index in sorted(range(len(parts)), key=lambda i: -parts[i].priority):  # shorten, least needed first
        if line_length() <= width:
            break
        texts[index] = parts[index].short
    for index in sorted(range(len(parts)), key=lambda i: -parts[i].priority):  # then drop
        if line_length() <= width or parts[index].priority == 0:
            break
        texts[index] = ""
    return separator.join(text for text in texts if text)


class StatusLine(Static):
    """One line; a loaded file's name and the filter are the user's words, escaped all the same."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    shown = None   # the text on screen
    _fitted = None  # the line it was made from, before escaping

    def show(self, parts: List[StatusPart], width: int) -> None:
        line = fitted(parts, width)
        if line == self._fitted:
            return   # most refreshes: the same line, neither escaped nor painted again
        self._fitted = line
        text = safe_text(line)
        if text == self.shown:
            return
        self.shown = text
        # Repainted without asking the whole screen for a new layout.
        self.update(Text(text, no_wrap=True, overflow="ellipsis"), layout=False)
