"""Text measured in terminal cells, not characters: a Chinese character takes two.

Part of the foundation, for text psxj writes itself (messages in either language): the first frame, the
lab's lines on the command line, --help, and the interface's Chinese text (psxj.tui.wrapping), which
Rich would break only at spaces. Process names and arguments are cut by psxj.escape, which
follows ps. Standard library only: the audit's text report (psxj.judge.audit) pads with it too.
"""

from __future__ import annotations

import textwrap
import unicodedata
from typing import List, Optional, Sequence


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


def first_that_fits(texts: Sequence[str], width: int) -> str:
    """The first of `texts` (longest first: a hint in several lengths) that fits in `width` cells; the
    last one cut to fit when none does."""
    for text in texts:
        if cells(text) <= width:
            return text
    return fit(texts[-1], width).rstrip() if texts else ""


def wrap(text: str, width: int, indent: str = "", subsequent: Optional[str] = None) -> List[str]:
    """Lines of at most `width` cells: at spaces in English, and also between any two wide characters
    in Chinese (which has no spaces to break at), never before a closing mark nor after an opening
    one (pieces()); never inside a word at its hyphen (cap-timer.timer, --no-events, systemd-nspawn are
    names); a word wider than a line is cut. The first line starts with `indent`, the others
    with `subsequent` (the same indent when None). ASCII text is wrapped as textwrap wraps it."""
    later = indent if subsequent is None else subsequent
    if text.isascii():
        return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=later,
                             break_on_hyphens=False) or [indent.rstrip()]
    lines: List[str] = []
    line, used = "", 0

    def room() -> int:
        return max(width - cells(later if lines else indent), 2)

    def start() -> str:
        return later if lines else indent

    for word in pieces(text):
        size = cells(word)
        if used + size > room() and line.strip():
            lines.append(start() + line.rstrip())
            line, used = "", 0
            word = word.lstrip()
            size = cells(word)
        while size > room():  # longer than a whole line: cut it, a closing mark kept with what it closes
            head = fit(word, room()).rstrip() or word[:1]
            while len(head) > 1 and word[len(head):len(head) + 1] in _NO_LINE_START:
                head = head[:-1]
            lines.append(start() + head)
            word = word[len(head):]
            size = cells(word)
        line += word
        used += size
    if line.strip() or not lines:
        lines.append(start() + line.rstrip())
    return lines


# Chinese line breaking (the kinsoku rule): a line never starts with a closing mark, nor ends with an
# opening one, so these stick to the character before them, or after them.
_NO_LINE_START = frozenset("，。、；：？！）」』》〉】”’…,.;:!?)]}%")
_NO_LINE_END = frozenset("（「『《〈【“‘([{")


def pieces(text: str) -> List[str]:
    """What a line may not be broken inside: words with the space before them (`" word"`), each wide
    character on its own, punctuation stuck to what it closes or opens (`"程，"`, `"（守"`)."""
    found: List[str] = []
    glue = False   # the last character opens something: the next one stays with it
    for ch in text:
        if found and ch != " " and (glue or ch in _NO_LINE_START):
            if ch in _NO_LINE_START and len(found) > 1 and not found[-1].strip():
                space = found.pop()   # "+ 。": the space before a closing mark is no place to break either
                found[-1] += space
            found[-1] += ch
        elif char_cells(ch) == 2 or not found or ch == " " or char_cells(found[-1][-1]) == 2:
            found.append(ch)
        else:
            found[-1] += ch
        glue = ch in _NO_LINE_END
    return found


def pad_cells(text: str, width: int) -> str:
    """`text` padded with spaces to `width` cells (never cut): a column of words in either language."""
    return text + " " * max(width - cells(text), 0)
