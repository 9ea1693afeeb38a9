"""Text that wraps between Chinese characters, for the interface's tables and paragraphs.

Rich breaks lines only at spaces, and in a table cell it cuts a "word" longer than the column with an
ellipsis; a Chinese sentence is one long word, so the help's meanings and the audit's evidence lost
most of their text (and outside tables Rich moves the whole sentence to the next line before folding
it). `wrapped()` gives English text to Rich unchanged (the same layout as always) and text with wide
characters to a small renderable that breaks at spaces or between any two wide characters, never
before a closing mark nor after an opening one, measured in cells (psxj.cells).
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Union

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.style import StyleType
from rich.text import Text

from psxj.cells import cells, first_that_fits, pieces, wrap
from psxj.i18n import _


class CellWrapped:
    """A paragraph (or several, one a line) wrapped by cells to the width it is given; a Text keeps
    its styles. A paragraph's leading spaces indent every line of it, or `hang` cells the lines after
    its first (a story line's text under the text, not under its time). Never parsed as markup."""

    def __init__(self, text: Union[str, Text], style: StyleType = "", hang: Optional[int] = None) -> None:
        self.text = text if isinstance(text, Text) else Text(text, style=style)
        self.hang = hang

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        plain = self.text.plain
        widest_piece = max((cells(piece.strip()) for piece in pieces(plain)), default=0)
        widest_line = max((cells(line) for line in plain.split("\n")), default=0)
        return Measurement(min(widest_piece, options.max_width), min(widest_line, options.max_width))

    def lines(self, width: int) -> List[Text]:
        """The text's lines at `width` cells, each a slice of the text (so its styles stay)."""
        found: List[Text] = []
        for paragraph in self.text.split("\n", allow_blank=True):
            plain = paragraph.plain
            body = plain.lstrip(" ")
            lead = len(plain) - len(body)
            later = " " * (lead if self.hang is None else self.hang)
            at = lead
            for number, line in enumerate(wrap(body, max(width, 2), " " * lead, later)):
                indent = lead if number == 0 else len(later)
                content = line[indent:]
                start = plain.find(content, at)
                if start < 0:  # cannot happen: wrap only drops spaces; never lose the words anyway
                    found.append(Text(line, style=paragraph.style))
                    continue
                head = paragraph[:lead] if number == 0 else Text(later, style=paragraph.style)
                found.append(head + paragraph[start:start + len(content)])
                at = start + len(content)
        return found

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            line.no_wrap, line.overflow, line.end = True, "crop", "\n"
            yield line


def wrapped(text: Union[str, Text, RenderableType], style: StyleType = "", hang: Optional[int] = None
            ) -> RenderableType:
    """Rich Text for ASCII text without indented lines (Rich wraps it as always); CellWrapped for text
    with wide characters, or whose indented lines must keep their indent when they wrap (Rich starts
    the lines after the first at the edge). A Text that must stay on one line (no_wrap), and any other
    renderable, is returned as it is."""
    if not isinstance(text, (str, Text)) or isinstance(text, Text) and text.no_wrap:
        return text
    plain = text.plain if isinstance(text, Text) else text
    if plain.isascii() and hang is None and not _indented(plain):
        return text if isinstance(text, Text) else Text(text, style=style)
    return CellWrapped(text, style, hang)


def _indented(plain: str) -> bool:
    return any(line[:1] == " " and line.strip() for line in plain.split("\n"))


def wrapped_group(parts: Iterable[RenderableType]) -> Group:
    """A Group whose paragraphs wrap by cells (see wrapped())."""
    return Group(*[wrapped(part) for part in parts])


def toast_text(message: str, screen_width: int) -> str:
    """A notification's text, Chinese wrapped by cells (Textual's toast would break it at the spaces
    around a number and leave half lines): a toast is 60 cells wide at most and half the screen, less
    its border and padding (Textual's Toast CSS). English is left to Textual, as always."""
    if message.isascii():
        return message
    width = max(min(60, screen_width // 2) - 4, 10)   # a cell to spare: the rack may be a cell narrower
    return "\n".join(line for paragraph in message.split("\n") for line in wrap(paragraph, width))


def hint_for(line, hints, width: int) -> None:
    """An input line's placeholder: the longest of `hints` (message ids, longest first) that fits the
    line in this language, its padding and a cell for the cursor left out."""
    line.placeholder = first_that_fits([_(hint) for hint in hints], width - 3)
