"""Checks every loaded value passes: numbers in the kernel's ranges, times, bounded messages.

Shared by the loaded source's readers (ps text, psxj JSON and CSV, recordings), so a
value means the same and is refused the same way whichever file it came from.
"""

from __future__ import annotations

import math
import re
from typing import Dict, Iterator, Optional, Tuple

from psxj.i18n import N_, _

# Ranges the kernel allows: PIDs and session/group IDs up to 2^31-1, TPGID -1 without a
# terminal, uids and gids below (uid_t)-1, CPU time and start ticks within 64 bits.
PID_MAX = 2 ** 31 - 1
ID_MAX = 2 ** 32 - 2
RANGES: Dict[str, Tuple[int, int]] = {
    "pid": (0, PID_MAX), "ppid": (0, PID_MAX), "pgid": (0, PID_MAX), "sid": (0, PID_MAX),
    "tpgid": (-1, PID_MAX), "euid": (0, ID_MAX), "uid": (0, ID_MAX), "ruid": (0, ID_MAX),
    "rgid": (0, ID_MAX), "egid": (0, ID_MAX), "cpu_seconds": (0, 2 ** 53), "tty_nr": (0, 2 ** 32 - 1),
    "cpu_ticks": (0, 2 ** 62), "rss_kb": (0, 2 ** 53),
    "flags": (0, 2 ** 32 - 1), "nice": (-128, 127), "threads": (0, PID_MAX), "start_ticks": (0, 2 ** 63 - 1),
}
TIME_MAX = 2.0 ** 34  # seconds since the epoch: the year 2514
_DECIMAL = re.compile(r"\A-?\d{1,20}\Z")


def shown(value: str, room: int = 40) -> str:
    """A value from a file, quoted and cut for an error message (the message is escaped later)."""
    return repr(value if len(value) <= room else value[:room - 3] + "...")


def checked(value: int, what: str) -> int:
    low, high = RANGES[what]
    if not low <= value <= high:
        text = str(value) if abs(value) < 10 ** 30 else f"{len(str(abs(value)))} digits"
        raise ValueError(_("{what} out of range: {text}").format(what=what, text=text))
    return value


def number(value: str, what: str, field: Optional[str] = None) -> int:
    """A decimal integer from a ps column, in the range of its field."""
    if not _DECIMAL.match(value):
        if value.isascii() and value.lstrip("-").isdigit():
            raise ValueError(_("{what} out of range ({count} digits)").format(what=what, count=len(value)))
        raise ValueError(_("{what} is not a number: {value}").format(what=what, value=shown(value)))
    return checked(int(value), field or what.lower())


def epoch_seconds(value: object, what: str) -> float:
    """A time in seconds since the epoch: finite, not before 1970, before the year 2514."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(_("{what} must be a number").format(what=what))
    if not (math.isfinite(value) and 0 <= value <= TIME_MAX):
        raise ValueError(_("{what} out of range").format(what=what))
    return float(value)


_TIME = re.compile(r"\A(?:(\d{1,9})-)?(\d{1,12}):(\d{2})(?::(\d{2}))?(?:\.\d{1,9})?\Z")


def parse_time(text: str) -> int:
    """TIME as ps prints it: procps `MMM:SS`, BSD `M:SS.hh`, or `[DD-]HH:MM:SS`; whole seconds."""
    match = _TIME.match(text)
    if not match:
        raise ValueError(_("TIME is not a time: {text}").format(text=shown(text)))
    days, first, second, third = match.groups()
    if third is None:  # minutes:seconds
        seconds = int(first) * 60 + int(second)
    else:              # hours:minutes:seconds
        seconds = int(first) * 3600 + int(second) * 60 + int(third)
    return checked(int(days or 0) * 86400 + seconds, "cpu_seconds")


def lines_of(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) split at newlines only, lazily: a carriage return or a Unicode
    line separator inside a command stays in it (and is escaped), and a file of a million
    short lines is never a list of a million strings."""
    start, line_number, size = 0, 1, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        line = text[start:end]
        yield line_number, line[:-1] if line.endswith("\r") else line
        start, line_number = end + 1, line_number + 1


def file_time_source(taken: Optional[float]) -> Optional[str]:
    """ps text and psxj's JSON carry no time: the file's modification time is all there is."""
    return N_("the file's modification time") if taken is not None else None
