"""What the interface shows of a snapshot: filtered, toggled, sorted, as a flat table, a forest or sessions.

Pure functions from (snapshot, options) to rows, with no Textual in them: the
interface calls them on every refresh and key press, and tests call them directly.
"""

from __future__ import annotations

from functools import partial
from operator import attrgetter
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from psxj.model import ProcessRecord, Snapshot
from psxj.render.psformat import format_time, session_text
from psxj.select import Selection

# Row kinds: what a line of the table is.
PROCESS, SESSION_HEADER, GROUP_HEADER = "process", "session", "group"


class Row(NamedTuple):
    kind: str
    record: Optional[ProcessRecord]     # None for header lines
    prefix: str = ""                    # forest glyphs before COMMAND
    text: str = ""                      # the whole line, for header lines
    depth: int = 0


# Row(...) runs Python code per row; tuple.__new__ does not. The flat table makes 10,000 of them.
_new_row = partial(tuple.__new__, Row)


class Column(NamedTuple):
    """One table column: header, width, alignment, its text and its sort key, together."""
    key: str
    header: str
    width: int
    right: bool
    text: Callable[[ProcessRecord], str]
    sort_key: Callable[[ProcessRecord], object]


def _opt(value: Optional[int]) -> str:
    return "-" if value is None else str(value)


COLUMNS: Tuple[Column, ...] = (
    Column("ppid", "PPID", 7, True, lambda r: str(r.ppid), attrgetter("ppid")),
    Column("pid", "PID", 7, True, lambda r: str(r.pid), attrgetter("pid")),
    Column("pgid", "PGID", 7, True, lambda r: str(r.pgid), attrgetter("pgid")),
    Column("sid", "SID", 7, True, session_text, attrgetter("sid")),
    Column("tty", "TTY", 8, False, lambda r: r.tty, attrgetter("tty")),
    Column("tpgid", "TPGID", 7, True, lambda r: _opt(r.tpgid), lambda r: -2 if r.tpgid is None else r.tpgid),
    Column("stat", "STAT", 5, False, lambda r: r.stat, attrgetter("stat")),
    Column("uid", "UID", 6, True, lambda r: _opt(r.euid), lambda r: -1 if r.euid is None else r.euid),
    Column("time", "TIME", 7, True, lambda r: format_time(r.cpu_seconds).strip(),
           lambda r: -1 if r.cpu_seconds is None else r.cpu_seconds),
    Column("command", "COMMAND", 0, False, lambda r: r.command, lambda r: r.command.lower()),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)


class ViewOptions(NamedTuple):
    selection: Selection = Selection()
    show_kernel_threads: bool = True
    daemons_only: bool = False
    mode: str = "table"
    sort_key: str = "pid"
    descending: bool = False


def flags(snapshot: Snapshot, record: ProcessRecord) -> str:
    """The flag column: K kernel thread, D daemon, Z zombie, T stopped."""
    if record.kernel_thread:
        return "K"
    if record.state == "Z":
        return "Z"
    if record.state in ("T", "t"):
        return "T"
    if snapshot.is_daemon(record):
        return "D"
    return ""


def visible_records(snapshot: Snapshot, options: ViewOptions) -> List[ProcessRecord]:
    records: Iterable[ProcessRecord] = snapshot.records
    if not options.show_kernel_threads:
        records = [r for r in records if not r.kernel_thread]
    if options.daemons_only:
        daemons = snapshot.daemon_pids
        records = [r for r in records if r.pid in daemons]
    return options.selection.apply(list(records))


def _sorted(records: List[ProcessRecord], options: ViewOptions) -> List[ProcessRecord]:
    column = COLUMNS[COLUMN_KEYS.index(options.sort_key)]
    # Records arrive in PID order and the sort is stable (also reversed): ties stay in PID
    # order both ways, so equal rows never swap places between refreshes.
    return sorted(records, key=column.sort_key, reverse=options.descending)


def build_rows(snapshot: Snapshot, options: ViewOptions) -> List[Row]:
    records = visible_records(snapshot, options)
    if options.mode == "forest":
        return forest_rows(records, options)
    if options.mode == "sessions":
        return session_rows(snapshot, records, options)
    return [_new_row((PROCESS, r, "", "", 0)) for r in _sorted(records, options)]


def forest_rows(records: List[ProcessRecord], options: ViewOptions) -> List[Row]:
    """Children under their parents with ps -axjf's glyphs (` \\_ `, ` |  `); siblings in sort order."""
    shown = {r.pid for r in records}
    children: Dict[int, List[ProcessRecord]] = {}
    roots = []
    for record in _sorted(records, options):
        if record.ppid in shown and record.ppid != record.pid:
            children.setdefault(record.ppid, []).append(record)
        else:
            roots.append(record)
    rows: List[Row] = []
    # Iterative depth-first walk: deep process chains must not hit Python's recursion limit.
    stack: List[Tuple[ProcessRecord, str, bool, int]] = [(r, "", True, 0) for r in reversed(roots)]
    while stack:
        record, indent, last, depth = stack.pop()
        prefix = indent + (" \\_ " if depth else "")
        rows.append(_new_row((PROCESS, record, prefix, "", depth)))
        kids = children.get(record.pid, [])
        child_indent = indent + ("    " if last else " |  ") if depth else ""
        for index in range(len(kids) - 1, -1, -1):
            stack.append((kids[index], child_indent, index == len(kids) - 1, depth + 1))
    return rows


def session_rows(snapshot: Snapshot, records: List[ProcessRecord], options: ViewOptions) -> List[Row]:
    """Sessions, then their process groups, then processes; the terminal's foreground group marked."""
    sessions: Dict[int, Dict[int, List[ProcessRecord]]] = {}
    for record in _sorted(records, options._replace(sort_key="pid", descending=False)):
        sessions.setdefault(record.sid, {}).setdefault(record.pgid, []).append(record)
    rows: List[Row] = []
    for sid in sorted(sessions):
        groups = sessions[sid]
        members = [r for g in groups.values() for r in g]
        leader = snapshot.get(sid)
        tty = members[0].tty
        foreground = next((r.tpgid for r in members if r.tpgid not in (None, -1)), None)
        who = f"leader {sid} {leader.comm}" if leader is not None else "leader not in the table"
        terminal = f"terminal {tty}, foreground group {foreground}" if tty != "?" else "no terminal"
        count = f"{len(members)} process{'es' if len(members) != 1 else ''}"
        rows.append(_new_row((SESSION_HEADER, None, "", f"Session {sid}  ({who}; {terminal}; {count})", 0)))
        for pgid in sorted(groups):
            mark = "  [foreground]" if pgid == foreground else "  [background]" if foreground else ""
            group_leader = snapshot.get(pgid)
            name = group_leader.comm if group_leader is not None else "leader not in the table"
            rows.append(_new_row((GROUP_HEADER, None, "", f"  Process group {pgid} ({name}){mark}", 1)))
            rows.extend(_new_row((PROCESS, r, "    ", "", 2)) for r in groups[pgid])
    return rows
