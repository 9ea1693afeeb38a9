"""The `ps -axj` text view: column widths, TIME, and procps' way of laying out a line.

Layout follows show_one_proc() in procps' ps/output.c: each column has a width and a
justification; a value wider than its column pushes the line right, and the columns
after it give back the overflow from their padding so the line returns to alignment.
The last column, COMMAND, is cut to what is left of the line in display cells.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, List, NamedTuple, Optional, TextIO

from psxj.escape import Escaper
from psxj.model import ProcessRecord, PsCells, Snapshot

OUTBUF_SIZE = 2 * 64 * 1024  # ps's line buffer: "unlimited" width means this
_SPACE_AMOUNT = 144          # the most padding ps will ever write before a value


class Column(NamedTuple):
    header: str
    width: int
    right: bool


def columns(pid_width: int = 5) -> List[Column]:
    """PPID PID PGID SID TTY TPGID STAT UID TIME COMMAND, sized as ps sizes them.

    The five PID-like columns are as wide as pid_max has digits (at least their header).
    """
    pid = max(pid_width, 5)
    return [
        Column("PPID", pid, True), Column("PID", pid, True), Column("PGID", pid, True),
        Column("SID", pid, True), Column("TTY", 8, False), Column("TPGID", pid, True),
        Column("STAT", 4, False), Column("UID", 5, True), Column("TIME", 6, True),
        Column("COMMAND", 27, False),
    ]


def host_column(records: Iterable[ProcessRecord]) -> Column:
    """HOST, first, as wide as the longest host name (psxj --host with more than one host)."""
    return Column("HOST", max([4] + [len(r.host or "") for r in records]), False)


def format_time(cpu_seconds: Optional[int]) -> str:
    """BSD TIME (pr_bsdtime): minutes and seconds, the minutes never roll over into hours.
    `-` when the source did not say (a busybox table without TIME)."""
    if cpu_seconds is None:
        return "-"
    return f"{cpu_seconds // 60:3d}:{cpu_seconds % 60:02d}"


def session_text(record: ProcessRecord) -> str:
    """SID as shown: the number, or what the source gave instead (a macOS session address,
    `-` where macOS printed 0); the inferred session stays in record.sid for selection."""
    if record.session_key is None:
        return str(record.sid)
    return record.session_key or "-"


def format_optional(value: Optional[int]) -> str:
    return "-" if value is None else str(value)


def cells(record: ProcessRecord) -> List[str]:
    return [
        str(record.ppid), str(record.pid), str(record.pgid), session_text(record), record.tty,
        format_optional(record.tpgid), record.stat, format_optional(record.euid),
        format_time(record.cpu_seconds), record.command,
    ]


def screen_columns(stream: TextIO = sys.stdout, env=os.environ) -> int:
    """The line width ps would use (set_screen_size in ps/global.c).

    A terminal's width, or unlimited when output is not a terminal; COLUMNS overrides both.
    """
    width = OUTBUF_SIZE
    try:
        is_tty = stream.isatty()
    except (AttributeError, ValueError):
        is_tty = False
    if is_tty:
        width = 80
        for fd in (1, 2, 0):
            try:
                size = os.get_terminal_size(fd)
            except OSError:
                continue
            if size.columns > 0 and size.lines > 0:
                width = size.columns
                break
    value = env.get("COLUMNS", "")
    try:
        wanted = int(value, 0)
    except ValueError:
        wanted = 0
    if 0 < wanted < OUTBUF_SIZE:
        width = wanted
    return width


class Layout:
    """Lays out header and rows for one set of columns and one line width."""

    def __init__(self, cols: List[Column], screen_cols: int, escaper: Escaper) -> None:
        self.cols = cols
        self.escaper = escaper
        # check_header_width(): widen to a multiple of the screen until the header fits.
        total = cols[0].width + sum(c.width + 1 for c in cols[1:-1]) + 3 + 1
        multiple = 1
        while screen_cols * multiple < total and screen_cols * multiple < OUTBUF_SIZE // 2:
            multiple += 1
        self.active_cols = screen_cols * multiple
        self.with_host = cols[0].header == "HOST"
        # Fast path: when no value overflows its column, ps's layout is plain fixed widths.
        self._fixed = " ".join(f"{{:{'>' if c.right else '<'}{c.width}}}" for c in cols[:-1]) + " "
        self._fixed_width = sum(c.width + 1 for c in cols[:-1])
        # The same for a row's cells as bytes (PsCells): TIME's two numbers as format_time writes them.
        self._plain = (" ".join("%3d:%02d" if c.header == "TIME" else f"%{'' if c.right else '-'}{c.width}s"
                                for c in cols[:-1]) + " %s").encode("ascii")

    def line(self, values: List[str], header: bool = False) -> str:
        parts: List[str] = []
        correct = actual = 0
        dospace = 0
        last = len(self.cols) - 1
        for index, (col, value) in enumerate(zip(self.cols, values)):
            if index == last and not header:
                value = self._fit_last(value, correct, actual, dospace)
            amount = len(value)
            leftpad = max(col.width - amount, 0) if col.right else 0
            space = correct - actual + leftpad
            if space < 1:
                space = dospace
            space = min(space, _SPACE_AMOUNT)
            parts.append(" " * space)
            parts.append(value)
            actual += space + amount
            correct += col.width + 1
            dospace = 1
        return "".join(parts)

    def _fit_last(self, value: str, correct: int, actual: int, dospace: int) -> str:
        """COMMAND gets what is left of the line, counted in display cells."""
        tmpspace = correct - actual
        if tmpspace < 1:
            tmpspace = dospace
            room = self.active_cols - actual - tmpspace
        else:
            room = self.active_cols - max(correct, actual)
        room = min(room, OUTBUF_SIZE - 1)
        value = self.escaper.fit(value, room) if room > 0 else ""
        if self.active_cols - actual - tmpspace < 1:
            value = value[:1]  # ps keeps one character of a column it has no room for
        return value

    def header(self) -> str:
        return self.line([c.header for c in self.cols], header=True)

    def row(self, record: ProcessRecord) -> str:
        tpgid = record.tpgid
        if self.with_host:
            return self.line([record.host or "-"] + cells(record))
        fixed = self._fixed.format(
            record.ppid, record.pid, record.pgid,
            record.sid if record.session_key is None else session_text(record), record.tty,
            "-" if tpgid is None else tpgid, record.stat, "-" if record.euid is None else record.euid,
            format_time(record.cpu_seconds))
        if len(fixed) != self._fixed_width:
            return self.line(cells(record))  # something overflowed: ps's catch-up rules apply
        command = record.command
        room = self.active_cols - self._fixed_width
        if len(command) > room or not command.isascii():
            command = self.escaper.fit(command, room) if room > 0 else ""
        return fixed + command


    def text_row(self, cells: PsCells) -> bytes:
        """The row of a process's PsCells, as row() lays out its record's, in bytes."""
        line = self._plain % cells
        command = cells[-1]
        # An escaped COMMAND takes at most as many cells as it has bytes: one that fits in bytes is whole.
        if len(line) - len(command) == self._fixed_width and len(command) <= self.active_cols - self._fixed_width:
            return line
        values = [value.decode("utf-8", "surrogateescape") for value in cells[:8]]
        values += [format_time(cells[8] * 60 + cells[9]), command.decode("utf-8", "surrogateescape")]
        if len(line) - len(command) != self._fixed_width:
            return self.line(values).encode("utf-8", "surrogateescape")  # ps's catch-up rules apply
        room = self.active_cols - self._fixed_width
        command = self.escaper.fit(values[-1], room) if room > 0 else ""
        return line[:self._fixed_width] + command.encode("utf-8", "surrogateescape")


def render_lines(snapshot: Snapshot, records: Iterable[ProcessRecord], screen_cols: int,
                 escaper: Escaper, with_host: bool = False) -> Iterator[str]:
    cols = columns(snapshot.pid_width)
    if with_host:  # several machines: which one each row is on comes first
        records = list(records)
        cols = [host_column(records)] + cols
    layout = Layout(cols, screen_cols, escaper)
    yield layout.header()
    for record in records:
        yield layout.row(record)
