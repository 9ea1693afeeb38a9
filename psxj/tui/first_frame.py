"""The first frame, painted before Textual is imported: paint what is known first.

Importing Textual and starting an application takes ~0.3 s; htop shows its table in ~0.2 s.
So psxj reads the first screenful of processes (the lowest PIDs, the table's first rows in its
default order, plus each one's parent and session leader for its kind), lays them out exactly as
the table will (views.TableLayout), and draws them on the alternate screen with plain SGR. The
interface then starts on that screen with the same rows (`partial_snapshot`) and repaints in its
theme; the full table replaces them when the reader helper has read all of /proc.

Nothing here imports Textual. Keys typed meanwhile are neither echoed nor lost: the terminal
stops echoing until the interface takes it over, and run_app restores its modes on the way out.
"""

from __future__ import annotations

import os
import termios
import time
from typing import List, Optional, Tuple

from psxj.cells import fit
from psxj.i18n import _, ngettext
from psxj.judge.kinds import kind_of
from psxj.model import ProcessRecord, Snapshot
from psxj.render.meters import joined, meter_parts
from psxj.render.views import TableLayout, home_order
from psxj.sources import machine
from psxj.sources.names import own_uid

_RESET, _BOLD, _DIM, _REVERSE, _GREEN, _ITALIC = "\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[7m", "\x1b[32m", "\x1b[3m"
_CHROME_LINES = 5   # meters, status line, header, filter line, key bar


def terminal_fd() -> Optional[int]:
    for fd in (2, 1, 0):  # Textual draws on stderr
        if os.isatty(fd):
            return fd
    return None


def quiet_terminal(fd: int) -> Optional[list]:
    """Stop echoing typed keys onto the first frame; returns the modes to restore at exit."""
    try:
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~(termios.ECHO | termios.ICANON)
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        return saved
    except termios.error:
        return None


def restore_terminal(fd: int, saved: Optional[list]) -> None:
    if saved is not None:
        try:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
        except termios.error:
            pass


SCAN_SECONDS = 0.06   # at most this long looking for your processes among the others (tens of thousands)


def read_first_rows(rows: int) -> Tuple[Snapshot, int]:
    """(a live snapshot of the first `rows` processes in the first screen's order (yours, then the
    others', then kernel threads, each by PID: render.views.home_order), with the parents and session
    leaders their kinds need; how many processes there are in all)."""
    from psxj.sources.names import own_uid
    from psxj.sources.proc import ProcReader, pid_digits, with_cgroups

    pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
    you = own_uid()
    reader = ProcReader()
    first = _first_rows(reader, pids, you, rows)
    have = {r.pid for r in first}
    extra = {p for r in first for p in (r.ppid, r.sid, r.pgid)} - have - {0}
    records = with_cgroups(first + reader.read_pids(sorted(extra)))
    snapshot = Snapshot(records, source="live", pid_width=pid_digits())
    snapshot.partial_of = len(pids)
    snapshot.partial_rows = frozenset(have)
    snapshot.widest_pid = pids[-1] if pids else 0   # the table's PID columns are as wide from the start
    return snapshot, len(pids)


def _first_rows(reader, pids: List[int], you: int, rows: int) -> List[ProcessRecord]:
    """The first `rows` records of the home order, read in PID order a few at a time. Yours are found by
    the owner of /proc/PID (a stat, no read), for at most SCAN_SECONDS: with tens of thousands of other
    processes the first frame shows the ones found by then, and the table the rest a moment later."""
    deadline = time.monotonic() + SCAN_SECONDS
    mine: List[int] = []
    for index, pid in enumerate(pids):
        try:
            if os.stat(f"/proc/{pid}").st_uid == you:
                mine.append(pid)
        except OSError:
            continue
        if index % 256 == 255 and time.monotonic() > deadline:
            break
    found = _kept(reader, mine, rows, lambda r: not r.kernel_thread and r.euid == you)
    if len(found) < rows:
        taken = {r.pid for r in found}
        found += _kept(reader, [p for p in pids if p not in taken], rows - len(found),
                       lambda r: not r.kernel_thread and r.euid != you)
    if len(found) < rows:
        found += _kept(reader, pids, rows - len(found), lambda r: r.kernel_thread)
    return found


def _kept(reader, pids: List[int], wanted: int, keep) -> List[ProcessRecord]:
    """The first `wanted` records of `pids` that `keep` keeps, read 64 at a time."""
    kept: List[ProcessRecord] = []
    for start in range(0, len(pids), 64):
        kept += [r for r in reader.read_pids(pids[start:start + 64]) if keep(r)]
        if len(kept) >= wanted:
            break
    return kept[:wanted]


def frame_lines(snapshot: Snapshot, width: int, height: int, delay: float) -> List[str]:
    """The screen, line by line, with SGR: status, header, rows, and the bottom lines."""
    layout = TableLayout(snapshot, (), width - TableLayout.MARK_WIDTH - 1)
    # In the order the interface will show this snapshot (its rows and the parents read with them).
    rows = home_order(list(snapshot.records), own_uid())[:max(height - _CHROME_LINES, 0)]
    status = " psxj  " + _("live") + _(", every {delay:g}s").format(delay=delay) + "  │  " + \
        ngettext("reading /proc: {count} process…", "reading /proc: {count} processes…",
                 snapshot.partial_of).format(count=snapshot.partial_of)
    # The meters line (psxj.tui.meters): the machine's figures now, the counts once every process is read.
    meters = " " + joined(meter_parts(None, machine.load_average(), None, machine.memory()), width - 2)
    lines = [_DIM + fit(meters, width) + _RESET, _REVERSE + fit(status, width) + _RESET,
             _BOLD + ("  " + layout.header_text("pid", False))[:width].ljust(width) + _RESET]
    for record in rows:
        kind = kind_of(snapshot, record)
        style = _DIM + _ITALIC if record.kernel_thread else _GREEN if kind.daemon_like else ""
        text = (kind.mark.ljust(2) + layout.row_text(record))[:width]
        lines.append(style + text.ljust(width) + (_RESET if style else ""))
    while len(lines) < height - 2:
        lines.append(" " * width)
    lines.append(_DIM + fit(" " + _("Filter: / or F4    Search: F3    Help: F1 or ?"), width) + _RESET)
    lines.append(_REVERSE + fit(" " + _("starting the interface…"), width) + _RESET)
    return lines[:height]


def paint(fd: int, delay: float) -> Optional[Snapshot]:
    """Draw the first frame on the alternate screen; the partial snapshot it showed, or None."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    if size.columns < 20 or size.lines < 6:
        return None
    snapshot, _ = read_first_rows(size.lines - _CHROME_LINES)
    lines = frame_lines(snapshot, size.columns, size.lines, delay)
    # Alternate screen, no cursor, home; each line at its row (no scrolling at the last one).
    out = "\x1b[?1049h\x1b[?25l" + "".join(f"\x1b[{row + 1};1H{line}" for row, line in enumerate(lines))
    os.write(fd, out.encode("utf-8", "surrogateescape"))
    return snapshot


def leave(fd: int) -> None:
    """Undo what paint() did, when the interface never started."""
    os.write(fd, b"\x1b[?25h\x1b[?1049l")


__all__ = ["paint", "leave", "quiet_terminal", "restore_terminal", "terminal_fd", "ProcessRecord"]
