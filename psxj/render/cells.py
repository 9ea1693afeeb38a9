"""Text measured in terminal cells, not characters: a Chinese character takes two.

Part of the view, for text psxj writes itself (messages in either language) where no widget measures
it: the first frame, the lab's lines on the command line. Process names and arguments are cut by
psxj.render.escape, which follows ps; the interface's widgets measure with Rich.
"""

from __future__ import annotations

import textwrap
import unicodedata
from typing import List


def char_cells(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(text: str) -> int:
    """How many terminal cells `text` takes (ASCII: its length)."""
    if text.isascii():
        return len(text)
    return sum(char_cells(ch) for ch in text)


def fit(text: str, width: int) -> str:
    """`text` cut to at most `width` cells (never half a wide character), then padded to `width`."""
    if text.isascii():
        return text[:width].ljust(width)
    used, kept = 0, []
    for ch in text:
        size = char_cells(ch)
        if used + size > width:
            break
        kept.append(ch)
        used += size
    return "".join(kept) + " " * (width - used)


def wrap(text: str, width: int, indent: str = "") -> List[str]:
    """Lines of at most `width` cells: at spaces in English, between any two characters in Chinese
    (which has no spaces to break at); each line starts with `indent`."""
    if text.isascii():
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent) or [indent.rstrip()]
    room = max(width - cells(indent), 10)
    lines: List[str] = []
    line, used = "", 0
    for word in _pieces(text):
        size = cells(word)
        if used + size > room and line.strip():
            lines.append(indent + line.rstrip())
            line, used = "", 0
            word = word.lstrip()
            size = cells(word)
        line += word
        used += size
    if line.strip() or not lines:
        lines.append(indent + line.rstrip())
    return lines


def _pieces(text: str) -> List[str]:
    """Words with their space before them (`" word"`), and each wide character on its own."""
    pieces: List[str] = []
    for ch in text:
        wide = char_cells(ch) == 2
        if wide or not pieces or ch == " " or char_cells(pieces[-1][-1:] or " ") == 2:
            pieces.append(ch)
        else:
            pieces[-1] += ch
    return pieces


def pad_cells(text: str, width: int) -> str:
    """`text` padded with spaces to `width` cells (never cut): a column of words in either language."""
    return text + " " * max(width - cells(text), 0)
