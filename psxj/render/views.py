"""What the interface shows of a snapshot: filtered, toggled, sorted, as a flat table, a forest or sessions.

Pure functions from (snapshot, options) to rows, with no Textual in them: the
interface calls them on every refresh and key press, the lab's command line (psxj.commands.lab)
and the first frame too, and tests call them directly. Part of the views (psxj.render).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from functools import partial
from operator import attrgetter
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from psxj.escape import safe_text
from psxj.i18n import _, ngettext
from psxj.judge.kinds import daemon_like, kind_of
from psxj.model import ProcessRecord, Snapshot
from psxj.render.psformat import format_time, session_text
from psxj.select import Selection
from psxj.sources.names import user_name

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


class _ProcessRows:
    """Rows made once and taken again. A row made anew costs more than its making: rows are named
    tuples, which Python's collector never untracks, so each new one is walked by the next young
    collection (~20 ms for a table of 50,000). A row holds its record, so while the row is kept
    here its record's id() is that record's alone.

    - flat: the plain table's row of every record of one snapshot, by id(record): made when a
      snapshot is first shown (taken over from the snapshot before for each unchanged record, as
      a live refresh keeps their objects), then every sort and filter of that snapshot is a
      lookup done in C.
    - last: the forest's and the sessions' rows of the last build, taken again for a record in
      the same place (prefix and depth)."""

    def __init__(self) -> None:
        self.flat_snapshot: Optional[Snapshot] = None
        self.flat: Dict[int, Row] = {}
        self.last: Dict[int, Row] = {}
        self.kept: Dict[int, Row] = {}

    def plain(self, snapshot: Snapshot, records: List[ProcessRecord]) -> List[Row]:
        """The flat table's rows for `records` (of `snapshot`), in their order."""
        if self.flat_snapshot is not snapshot:
            before = self.flat.get
            flat = {}
            for record in snapshot.records:
                row = before(id(record))
                flat[id(record)] = row if row is not None and row[1] is record else _new_row(
                    (PROCESS, record, "", "", 0))
            self.flat, self.flat_snapshot = flat, snapshot
        return list(map(self.flat.__getitem__, map(id, records)))

    def rows(self, records: Iterable[ProcessRecord], prefix: str, depth: int) -> List[Row]:
        """Rows for records that share a prefix and depth (a session's group)."""
        get, kept = self.last.get, self.kept
        out = []
        for record in records:
            row = get(id(record))
            if row is None or row[1] is not record or row[2] != prefix or row[4] != depth:
                row = _new_row((PROCESS, record, prefix, "", depth))
            kept[id(record)] = row
            out.append(row)
        return out

    def start(self) -> None:
        self.kept = {}

    def done(self) -> None:
        self.last, self.kept = self.kept, {}


_ROWS = _ProcessRows()


class Column(NamedTuple):
    """One table column: header, width, alignment, its text and its sort key, together.

    text and sort_key take the record and the snapshot it is in (%CPU needs the snapshot's
    measurement against the one before)."""
    key: str
    header: str
    width: int           # 0: as wide as its text (COMMAND, always last)
    right: bool
    text: Callable[[ProcessRecord, Snapshot], str]
    sort_key: Callable[[ProcessRecord, Snapshot], object]
    pid_like: bool = False   # as wide as the widest PID shown
    optional: bool = False   # off until chosen (o in the interface)
    # On a narrow terminal a default column gives way, highest first (0: never); a chosen one never does.
    drop_order: int = 0
    # The same order from the record alone, where the snapshot plays no part: one call per record
    # (an attrgetter: none in Python) sorts 50,000 rows in ~15 ms instead of ~40.
    record_key: Optional[Callable[[ProcessRecord], object]] = None


def _opt(value: Optional[int]) -> str:
    return "-" if value is None else str(value)


def _field(name: str) -> Callable[[ProcessRecord, Snapshot], object]:
    get = attrgetter(name)
    return lambda record, snapshot: get(record)


def _record_keys(**keys: Callable[[ProcessRecord], object]) -> Dict[str, Callable[[ProcessRecord], object]]:
    return keys


_RECORD_KEYS = _record_keys(
    ppid=attrgetter("ppid"), pid=attrgetter("pid"), pgid=attrgetter("pgid"), sid=attrgetter("sid"),
    tty=attrgetter("tty"), stat=attrgetter("stat"),
    tpgid=lambda r: -2 if r.tpgid is None else r.tpgid, uid=lambda r: -1 if r.euid is None else r.euid,
    time=lambda r: -1 if r.cpu_seconds is None else r.cpu_seconds, rss=lambda r: r.rss_kb or 0,
    start=lambda r: r.start_time or 0.0, elapsed=lambda r: -(r.start_time or 0.0),
    command=lambda r: r.command.lower(),
)


def _kib(value: Optional[int]) -> str:
    if value is None:
        return "-"
    for unit in ("K", "M", "G", "T"):
        if value < 10000 or unit == "T":
            return f"{value}{unit}"
        value //= 1024
    return str(value)


def _clock(start_time: Optional[float], now: float) -> str:
    """START as ps prints it: the time of day today, the month and day before."""
    if start_time is None or not math.isfinite(start_time) or not 0 < start_time < 2 ** 40:
        return "-"
    started = time.localtime(start_time)
    return time.strftime("%H:%M" if now - start_time < 86400 else "%b%d", started)


def _elapsed(start_time: Optional[float], now: float) -> str:
    """ELAPSED as ps's etime: [[DD-]HH:]MM:SS."""
    if start_time is None or not math.isfinite(start_time) or not 0 < start_time < 2 ** 40:
        return "-"
    seconds = max(int(now - start_time), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}"
    if hours:
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{minutes:02d}:{seconds:02d}"


def _cpu_text(record: ProcessRecord, snapshot: Snapshot) -> str:
    percent = snapshot.cpu_percent.get(record.identity)
    return "-" if percent is None else f"{percent:.1f}"


def _kind_name(record: ProcessRecord, snapshot: Snapshot) -> str:
    return kind_of(snapshot, record).name


USER_WIDTH = 8


def user_of(record: ProcessRecord, snapshot: Optional[Snapshot]) -> str:
    """USER: the name the source gave, else this machine's name for the UID (only for this machine's
    live rows: another machine's, or a file's, UIDs are not this machine's users), else the number."""
    if record.user:
        return record.user
    if record.euid is None:
        return "-"
    live = snapshot is not None and snapshot.live and record.host is None
    name = user_name(record.euid) if live else None
    return safe_text(name) if name else str(record.euid)


def _user_cell(record: ProcessRecord, snapshot: Snapshot) -> str:
    """As ps cuts a long name: the first seven characters and a +."""
    name = user_of(record, snapshot)
    return name if len(name) <= USER_WIDTH else name[:USER_WIDTH - 1] + "+"


COLUMNS: Tuple[Column, ...] = (
    Column("ppid", "PPID", 5, True, lambda r, s: str(r.ppid), _field("ppid"), pid_like=True),
    Column("pid", "PID", 5, True, lambda r, s: str(r.pid), _field("pid"), pid_like=True),
    Column("pgid", "PGID", 5, True, lambda r, s: str(r.pgid), _field("pgid"), pid_like=True),
    Column("sid", "SID", 5, True, lambda r, s: session_text(r), _field("sid"), pid_like=True),
    Column("tty", "TTY", 8, False, lambda r, s: r.tty, _field("tty")),
    Column("tpgid", "TPGID", 5, True, lambda r, s: _opt(r.tpgid), lambda r, s: -2 if r.tpgid is None else r.tpgid,
           pid_like=True, drop_order=1),
    Column("stat", "STAT", 5, False, lambda r, s: r.stat, _field("stat")),
    Column("uid", "UID", 5, True, lambda r, s: _opt(r.euid), lambda r, s: -1 if r.euid is None else r.euid,
           drop_order=2),
    Column("user", "USER", USER_WIDTH, False, _user_cell, user_of, optional=True),
    Column("time", "TIME", 6, True, lambda r, s: format_time(r.cpu_seconds).strip(),
           lambda r, s: -1 if r.cpu_seconds is None else r.cpu_seconds, drop_order=3),
    Column("kind", "KIND", 14, False, _kind_name, _kind_name, optional=True),
    Column("cpu", "%CPU", 5, True, _cpu_text, lambda r, s: s.cpu_percent.get(r.identity, -1.0), optional=True),
    Column("rss", "RSS", 6, True, lambda r, s: _kib(r.rss_kb), lambda r, s: r.rss_kb or 0, optional=True),
    Column("start", "START", 5, True, lambda r, s: _clock(r.start_time, s.taken_at),
           lambda r, s: r.start_time or 0.0, optional=True),
    Column("elapsed", "ELAPSED", 11, True, lambda r, s: _elapsed(r.start_time, s.taken_at),
           lambda r, s: -(r.start_time or 0.0), optional=True),
    Column("command", "COMMAND", 0, False, lambda r, s: r.command, lambda r, s: r.command.lower()),
)
COLUMNS = tuple(c._replace(record_key=_RECORD_KEYS.get(c.key)) for c in COLUMNS)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
OPTIONAL_KEYS = tuple(c.key for c in COLUMNS if c.optional)
# What the columns dialog (o) offers: every column but PID, by which a row is known, and COMMAND.
CHOOSABLE_KEYS = tuple(key for key in COLUMN_KEYS if key not in ("pid", "command"))
# Not one of COLUMNS: shown first, by itself, whenever the table holds more than one machine (--host).
HOST_COLUMN = Column("host", "HOST", 4, False, lambda r, s: r.host or "-", lambda r, s: r.host or "")
HOST_WIDTH_MAX = 24
COLUMN_BY_KEY: Dict[str, Column] = {c.key: c for c in COLUMNS + (HOST_COLUMN,)}


def several_hosts(snapshot: Optional[Snapshot]) -> bool:
    return snapshot is not None and len(getattr(snapshot, "hosts", ())) > 1


def shown_columns(optional: Iterable[str] = (), without: Iterable[str] = ()) -> Tuple[Column, ...]:
    """The default columns not turned off and the chosen optional ones, in table order, COMMAND last."""
    chosen, off = set(optional), set(without) - {"pid", "command"}
    return tuple(c for c in COLUMNS if (c.key in chosen if c.optional else c.key not in off))


def least_command(room: int, forest: bool = False) -> int:
    """The cells COMMAND keeps before default columns give way: a third of the room (25 at 80 columns,
    where the ps columns used to leave it 19), half in the forest, whose glyphs take 4 cells a level
    out of it (at 80 columns it had about 6 left); never less than 16."""
    return max(16, room // 3 + (room // 6 if forest else 0))


def fit_columns(columns: Tuple[Column, ...], widths: List[int], room: int, least: int = 16
                ) -> Tuple[Tuple[Column, ...], List[int], Tuple[str, ...]]:
    """Hide the default columns that may give way (highest drop_order first; UID before all when USER
    says the same in names) until COMMAND has `least` cells of `room`; the optional columns the
    user chose never give way: past the screen's edge, → reaches them. Returns the columns kept, their
    widths, and the headers of those hidden."""
    kept = list(zip(columns[:-1], widths))
    hidden: List[str] = []
    with_user = any(c.key == "user" for c, _ in kept)
    droppable = sorted((c for c, _ in kept if c.drop_order and not c.optional),
                       key=lambda c: (not (with_user and c.key == "uid"), -c.drop_order))
    while sum(w + 1 for _, w in kept) + least > room and droppable:
        victim = droppable.pop(0)
        kept = [(c, w) for c, w in kept if c is not victim]
        hidden.append(victim.header)
    return tuple(c for c, _ in kept) + (columns[-1],), [w for _, w in kept], tuple(hidden)


class TableLayout:
    """The table's columns and their widths for one snapshot and one screen width, and the text of
    its header and rows. Textual-free: the interface's table and its first frame share it."""

    MARK_WIDTH = 2

    def __init__(self, snapshot: Optional[Snapshot], optional: Iterable[str], room: int,
                 without: Iterable[str] = (), forest: bool = False) -> None:
        columns = shown_columns(optional, without)
        # Records are in PID order: the last has the widest PID. The first frame's few rows say how
        # wide the widest PID of all is (widest_pid), so that the table does not jump when all are read.
        widest_pid = snapshot.records[-1].pid if snapshot is not None and snapshot.records else 0
        widest_pid = max(widest_pid, getattr(snapshot, "widest_pid", 0) or 0)
        pid_width = max(len(str(widest_pid)), 1)
        widths = [max(len(c.header), pid_width) if c.pid_like else c.width for c in columns[:-1]]
        if several_hosts(snapshot):
            columns = (HOST_COLUMN,) + columns
            widths = [min(max([4] + [len(h) for h in snapshot.hosts]), HOST_WIDTH_MAX)] + widths
        self.snapshot = snapshot
        self.columns, self.widths, self.hidden = fit_columns(columns, widths, room, least_command(room, forest))
        self.spans: List[Tuple[int, int, str]] = []   # header cells: (start, end, column key)

    @property
    def fixed_width(self) -> int:
        """Cells before COMMAND."""
        return sum(w + 1 for w in self.widths)

    def header_text(self, sort_key: str, descending: bool) -> str:
        parts, self.spans, position = [], [], 0
        for column, width in zip(self.columns, self.widths + [0]):
            title = column.header
            if column.key == sort_key:
                title += "▼" if descending else "▲"
            text = (title.rjust(width) if column.right else title.ljust(width)) if width else title
            self.spans.append((position, position + max(len(text), 1) + 1, column.key))
            parts.append(text + " ")
            position += len(text) + 1
        return "".join(parts)

    def row_text(self, record: ProcessRecord, prefix: str = "", gone: bool = False) -> str:
        snapshot = self.snapshot
        cells = [(c.text(record, snapshot).rjust(w) if c.right else c.text(record, snapshot).ljust(w)[:w])
                 for c, w in zip(self.columns[:-1], self.widths)]
        command = prefix + record.command
        return " ".join(cells) + " " + (_("(exited) ") + command if gone else command)


def cpu_percent(previous: Optional[Snapshot], current: Snapshot, ticks_per_second: int) -> Dict:
    """%CPU of each process between two snapshots (identity -> percent of one CPU), as top shows it."""
    if previous is None or current.taken_at <= previous.taken_at:
        return {}
    span = (current.taken_at - previous.taken_at) * ticks_per_second
    if current.before is previous and current.changed is not None:
        # A live refresh: a process whose row did not change did not run, so only the changed are measured.
        before = previous.by_pid
        measured = {}
        for record in current.changed:
            earlier = before.get(record.pid)
            if earlier is not None and earlier.start_ticks == record.start_ticks and \
                    earlier.cpu_ticks is not None and record.cpu_ticks is not None:
                measured[record.identity] = max(record.cpu_ticks - earlier.cpu_ticks, 0) * 100.0 / span
        return _IdleUnlessMeasured(measured, current)
    before = {r.identity: r.cpu_ticks for r in previous.records if r.cpu_ticks is not None}
    result = {}
    for record in current.records:
        earlier = before.get(record.identity)
        if earlier is not None and record.cpu_ticks is not None:
            result[record.identity] = max(record.cpu_ticks - earlier, 0) * 100.0 / span
    return result


class _IdleUnlessMeasured(dict):
    """%CPU by identity, measured for the changed rows; 0.0 for a row of the snapshot that was in
    the snapshot before and did not change; `default` for one that is new or not in it. (It holds
    the snapshot's records and arrivals, not the snapshot, which holds it: no reference cycle.)"""

    def __init__(self, measured: Dict, current: Snapshot) -> None:
        super().__init__(measured)
        self.records, self.arrived = current.by_pid, current.arrived

    def get(self, identity, default=None):
        value = dict.get(self, identity)
        if value is not None:
            return value
        record = self.records.get(identity[0])
        if record is None or record.start_ticks != identity[1] or identity in self.arrived:
            return default
        return 0.0


HOME = "home"   # the first screen's order: yours, then the rest, kernel threads last; PID order within


class ViewOptions(NamedTuple):
    selection: Selection = Selection()
    show_kernel_threads: bool = True
    daemons_only: bool = False
    mode: str = "table"
    sort_key: str = "pid"               # a column's key, or HOME
    descending: bool = False
    columns: Tuple[str, ...] = ()       # optional columns chosen
    without: Tuple[str, ...] = ()       # default columns turned off
    you: Optional[int] = None           # HOME's "yours": this user's UID (a live table of this machine)
    folded: frozenset = frozenset()     # the forest's folded subtrees, by identity (+ and -)


def home_order(records: List[ProcessRecord], you: Optional[int], descending: bool = False) -> List[ProcessRecord]:
    """The first screen's order: your processes, then everyone else's, then the kernel threads, each in
    PID order (the records' own). A new user sees their own world first; the kernel threads, part of what
    psxj teaches, stay in the table, marked K and dimmed, a End away. One pass, no sort."""
    yours: List[ProcessRecord] = []
    others: List[ProcessRecord] = []
    kernel: List[ProcessRecord] = []
    for record in records:   # another machine's process (host) is never yours
        (kernel if record.kernel_thread else yours if record.euid == you and record.host is None and
         you is not None else others).append(record)
    if descending:
        return yours[::-1] + others[::-1] + kernel[::-1]
    return yours + others + kernel


def flags(snapshot: Snapshot, record: ProcessRecord) -> str:
    """The mark column: the record's kind as one character (psxj.judge.kinds.MARKS)."""
    return kind_of(snapshot, record).mark


def visible_records(snapshot: Snapshot, options: ViewOptions) -> List[ProcessRecord]:
    records: Iterable[ProcessRecord] = snapshot.records
    if not options.show_kernel_threads:
        records = [r for r in records if not r.kernel_thread]
    if options.daemons_only:
        records = [r for r in records if daemon_like(snapshot, r)]
    return options.selection.apply(list(records), snapshot)


def _sorted(records: List[ProcessRecord], options: ViewOptions, snapshot: Snapshot) -> List[ProcessRecord]:
    if options.sort_key == HOME:
        return home_order(records, options.you, options.descending)
    column = COLUMN_BY_KEY[options.sort_key]
    # Records arrive in PID order and the sort is stable (also reversed): ties stay in PID
    # order both ways, so equal rows never swap places between refreshes.
    if options.sort_key == "pid":
        return list(reversed(records)) if options.descending else list(records)
    if column.record_key is not None:
        return sorted(records, key=column.record_key, reverse=options.descending)
    key = column.sort_key
    return sorted(records, key=lambda r: key(r, snapshot), reverse=options.descending)


def build_rows(snapshot: Snapshot, options: ViewOptions) -> List[Row]:
    records = visible_records(snapshot, options)
    _ROWS.start()
    try:
        if options.mode == "forest":
            return forest_rows(records, options, snapshot)
        if options.mode == "sessions":
            return session_rows(snapshot, records, options)
        return _ROWS.plain(snapshot, _sorted(records, options, snapshot))
    finally:
        _ROWS.done()


FOLDED_MARK = "[+{count}] "   # before a folded process's COMMAND in the forest: how many it hides


def _descendants(kids: List[ProcessRecord], children_of: Callable, several: bool) -> int:
    """How many processes are below these children and the children themselves (a folded subtree)."""
    count, stack = 0, list(kids)
    while stack:
        record = stack.pop()
        count += 1
        stack.extend(children_of((record.host, record.pid) if several else record.pid) or ())
    return count



def forest_rows(records: List[ProcessRecord], options: ViewOptions, snapshot: Snapshot) -> List[Row]:
    """Children under their parents with ps -axjf's glyphs (` \\_ `, ` |  `); siblings in sort order."""
    # On a table of several machines a parent is on its child's machine: keyed by (host, PID) there,
    # by PID alone otherwise (hashing 50,000 tuples costs a key press its budget).
    several = getattr(snapshot, "parts", None) is not None
    shown = {(r.host, r.pid) for r in records} if several else {r.pid for r in records}
    children: Dict[object, List[ProcessRecord]] = defaultdict(list)
    roots = []
    for record in _sorted(records, options, snapshot):
        parent = (record.host, record.ppid) if several else record.ppid
        if parent in shown and record.ppid != record.pid:
            children[parent].append(record)
        else:
            roots.append(record)
    rows: List[Row] = []
    append, children_of = rows.append, children.get
    cached, kept = _ROWS.last.get, _ROWS.kept
    folded = options.folded
    # Iterative depth-first walk (deep process chains must not hit Python's recursion limit): a
    # frame per level holds the siblings, the next one to show, their indent and depth. A run of
    # childless siblings (50,000 under one build server) is shown by the inner loop alone.
    stack = [[roots, 0, "", 0]]
    while stack:
        frame = stack[-1]
        siblings, index, indent, depth = frame
        prefix = indent + " \\_ " if depth else ""
        last = len(siblings)
        while index < last:
            record = siblings[index]
            index += 1
            key = id(record)
            kids = children_of((record.host, record.pid) if several else record.pid)
            shown_prefix = prefix
            if kids and folded and record.identity in folded:
                # Folded (-): its descendants stay out, and its row says how many they are.
                shown_prefix = prefix + FOLDED_MARK.format(count=_descendants(kids, children_of, several))
                kids = None
            row = cached(key)
            if row is None or row[1] is not record or row[2] != shown_prefix or row[4] != depth:
                row = _new_row((PROCESS, record, shown_prefix, "", depth))
            kept[key] = row
            append(row)
            if kids:
                frame[1] = index
                stack.append([kids, 0, indent + ("    " if index == last else " |  ") if depth else "", depth + 1])
                break
        else:
            stack.pop()
    return rows


def session_rows(snapshot: Snapshot, records: List[ProcessRecord], options: ViewOptions) -> List[Row]:
    """Sessions, then their process groups, then processes; the terminal's foreground group marked.

    The sort applies at every level: processes in sort order within their group, and each group
    and session placed where its first process falls in that order (sort by TIME descending and
    the session of the busiest process comes first)."""
    by_group: Dict[Tuple[Optional[str], int, int], List[ProcessRecord]] = defaultdict(list)
    for record in _sorted(records, options, snapshot):
        by_group[record.host, record.sid, record.pgid].append(record)
    sessions: Dict[Tuple[Optional[str], int], Dict[int, List[ProcessRecord]]] = defaultdict(dict)
    for (host, sid, pgid), members in by_group.items():  # in the order each first appears
        sessions[host, sid][pgid] = members
    rows: List[Row] = []
    for (host, sid), groups in sessions.items():
        members = [r for g in groups.values() for r in g]
        leader = snapshot.get(sid, host)
        tty = members[0].tty
        foreground = next((r.tpgid for r in members if r.tpgid not in (None, -1)), None)
        who = _("leader {sid} {comm}").format(sid=sid, comm=leader.comm) if leader is not None else \
            _("leader not in the table")
        terminal = _("terminal {tty}, foreground group {pgid}").format(tty=tty, pgid=foreground) if tty != "?" \
            else _("no terminal")
        count = ngettext("{count} process", "{count} processes", len(members)).format(count=len(members))
        where = _(" on {host}").format(host=host) if host is not None else ""
        rows.append(_new_row((SESSION_HEADER, None, "", _("Session {sid}{where}  ({who}; {terminal}; {count})").format(
            sid=sid, where=where, who=who, terminal=terminal, count=count), 0)))
        for pgid, group in groups.items():
            mark = _("  [foreground]") if pgid == foreground else _("  [background]") if foreground else ""
            group_leader = snapshot.get(pgid, host)
            name = group_leader.comm if group_leader is not None else _("leader not in the table")
            rows.append(_new_row((GROUP_HEADER, None, "", _("  Process group {pgid} ({name}){mark}").format(
                pgid=pgid, name=name, mark=mark), 1)))
            rows.extend(_ROWS.rows(group, "    ", 2))
    return rows


def header_members(rows: List[Row], index: int) -> Tuple[str, int, List[ProcessRecord]]:
    """For a session or group header row: ("session"|"group", its id, the processes under it)."""
    header = rows[index]
    members = []
    for row in rows[index + 1:]:
        if row.kind == SESSION_HEADER or (header.kind == GROUP_HEADER and row.kind == GROUP_HEADER):
            break
        if row.kind == PROCESS:
            members.append(row.record)
    # The first number of the header's words: the session's or group's id, in every language.
    ident = int(next(word for word in header.text.split() if word.isascii() and word.isdigit()))
    return header.kind, ident, members
