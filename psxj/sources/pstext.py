"""ps tables as text, from any machine: the header says which columns there are.

Part of the loaded source. procps `ps -axj`, `-axjf` and `-efj`, BSD and macOS
`ps -axj`, and any `ps -o` list that has the columns the -axj table is made of (busybox's
too) are read by their header words; the last column is the command. A table quoted in a manual, a
note or a forum post often has rows left out, with a line of `...` (`…`, `[...]`, `<snip>`) in their
place: such a line is skipped and the snapshot's notes say which; anything else that is not a row is
still an error. A table without
PID, PPID, PGID, SID and TTY (`ps -ef`, `ps aux`, busybox's default) is refused with an
error naming the format. Values are read as the source system meant them and stored as
procps would print them (psxj.sources.systems); what a table does not say stays unknown.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from psxj.errors import PsxjError
from psxj.escape import Escaper
from psxj.i18n import N_, _, ngettext
from psxj.model import ProcessRecord, Snapshot
from psxj.sources.checks import file_time_source, lines_of, number, parse_time, shown
from psxj.sources.systems import FREEBSD, LINUX, MACOS, bsd_tty, comm_from_command, device_tty, infer_sessions

# Header words, as procps, BSD and busybox print them, and the field each column fills.
COLUMN_FIELDS: Dict[str, str] = {
    "PID": "pid", "PPID": "ppid", "PGID": "pgid", "PGRP": "pgid", "SID": "sid", "SESS": "sid",
    "TTY": "tty", "TT": "tty", "TNAME": "tty", "TPGID": "tpgid", "STAT": "stat", "S": "state",
    "UID": "uid", "EUID": "uid", "USER": "user", "EUSER": "user", "RUID": "ruid",
    "EGID": "egid", "GID": "egid", "RGID": "rgid", "TIME": "time",
}
COMMAND_WORDS = ("COMMAND", "CMD", "ARGS")
# Columns psxj has no field for: skipped, as long as their values hold no spaces.
IGNORED_WORDS = frozenset({
    "C", "STIME", "START", "STARTED", "JOBC", "%CPU", "%MEM", "VSZ", "RSS", "NI", "PRI", "F", "WCHAN",
    "ADDR", "SZ", "GROUP", "RGROUP", "EGROUP", "RUSER", "ELAPSED", "PSR", "NLWP", "LWP", "CLS", "RTPRIO",
})
REQUIRED = ("pid", "ppid", "pgid", "sid", "tty")
HEADER_WORDS = {"pid": "PID", "ppid": "PPID", "pgid": "PGID", "sid": "SID", "tty": "TTY"}

# Formats that cannot make the -axj table, recognised to say so by name.
KNOWN_FORMATS = {
    "UID PID PPID C STIME TTY TIME CMD": N_("`ps -ef` output"),
    "USER PID %CPU %MEM VSZ RSS TTY STAT START TIME COMMAND": N_("`ps aux` output"),
    "PID TTY TIME CMD": N_("`ps` output"),
    "PID USER TIME COMMAND": N_("busybox `ps` output"),
    "PID USER COMMAND": N_("busybox `ps` output"),
    "PID USER VSZ STAT COMMAND": N_("busybox `ps` output"),
    "F S UID PID PPID C PRI NI ADDR SZ WCHAN TTY TIME CMD": N_("`ps -l` output"),
    "F UID PID PPID PRI NI VSZ RSS WCHAN STAT TTY TIME COMMAND": N_("`ps l` output"),
}
WHAT_PSXJ_READS = (N_("psxj reads procps ps -axj, -axjf and -efj, BSD and macOS ps -axj, ps -o lists with "
                      "pid,ppid,pgid,sid,tty and the command last (busybox's too), and psxj's JSON and CSV"))

# What procps' forest_helper() puts before COMMAND in `ps -axjf`, four characters a level.
_FOREST_CHUNKS = ("    ", " |  ", " \\_ ")
_SESSION_ADDRESS = re.compile(r"\A[0-9a-fA-F]{1,16}\Z")
# A line that stands for rows left out, alone on its line: two or more dots (spaced or not), Unicode
# ellipses (… ⋯ ⋮), or "snip", bare or in brackets, with dashes or scissors around it.
_ELIDED = r"(?:\.\s*){2,}|[…⋯⋮](?:\s*[…⋯⋮.])*|(?:[-–—✂=]+\s*)?snip(?:ped)?(?:\s*[-–—✂=]+)?"
_ELISION = re.compile(r"\A\s*(?:\[\s*(?:%s)\s*\]|\(\s*(?:%s)\s*\)|<\s*(?:%s)\s*>|(?:%s))\s*\Z"
                      % ((_ELIDED,) * 4), re.IGNORECASE)
_ELISIONS_NAMED = 10  # line numbers named in the note; the rest are counted


class TableFormat(NamedTuple):
    fields: Tuple[Optional[str], ...]   # per column before the command; None: skipped
    system: str
    session_addresses: bool             # BSD SESS: a kernel address (0: not shown), not an ID
    procps_axj: bool                    # exactly procps -axj: its widths can be read back


def table_format(words: List[str], name: str, line_number: int) -> TableFormat:
    """The columns of a header, or an error saying what the table lacks."""
    where = _("{name}: line {line}").format(name=name, line=line_number)
    if not words or words[-1] not in COMMAND_WORDS:
        known = KNOWN_FORMATS.get(" ".join(words))
        what = known or _("not a ps table header")
        if known:
            raise PsxjError(_("{where}: {known} has no PGID or SID column; {formats}").format(
                                where=where,
                                known=_(known),
                                formats=_(WHAT_PSXJ_READS)))
        raise PsxjError(_("{where}: {what} (the command must be the last column); {formats}").format(
                            where=where,
                            what=_(what),
                            formats=_(WHAT_PSXJ_READS)))
    bsd = "JOBC" in words
    fields: List[Optional[str]] = []
    for word in words[:-1]:
        if word in COLUMN_FIELDS:
            fields.append(COLUMN_FIELDS[word])
        elif word in IGNORED_WORDS:
            fields.append(None)
        elif word in COMMAND_WORDS:
            raise PsxjError(_("{where}: a command column before the last cannot be read (it may hold spaces); "
                              "{formats}").format(where=where, formats=_(WHAT_PSXJ_READS)))
        else:
            raise PsxjError(_("{where}: unknown column {word}; {formats}").format(
                                where=where,
                                word=shown(word),
                                formats=_(WHAT_PSXJ_READS)))
    missing = [HEADER_WORDS[f] for f in REQUIRED if f not in fields]
    if missing:
        what = KNOWN_FORMATS.get(" ".join(words), _("this table"))
        raise PsxjError(_("{where}: {what} has no {missing} column; {formats}").format(
                            where=where,
                            what=_(what),
                            missing=', '.join(missing),
                            formats=_(WHAT_PSXJ_READS)))
    if len(set(f for f in fields if f)) != len([f for f in fields if f]):
        raise PsxjError(_("{where}: a column appears twice; {formats}").format(
                            where=where,
                            formats=_(WHAT_PSXJ_READS)))
    system = (MACOS if "SESS" in words else FREEBSD) if bsd else LINUX
    return TableFormat(tuple(fields), system, bsd and "SESS" in words, words == PROCPS_AXJ)


PROCPS_AXJ = ["PPID", "PID", "PGID", "SID", "TTY", "TPGID", "STAT", "UID", "TIME", "COMMAND"]

_FIRST_TWO = re.compile(r"\s*(\S+)\s+(\S+)")
_WIDTH_SAMPLE = 200  # rows enough to see the table's widths


def infer_pid_width(header: str, rows: List[str]) -> int:
    """The width procps gave its PID columns, from where PPID and PID end.

    Both are right-aligned in columns of that width, one space apart, so the distance
    between their ends is the width plus one, wherever the line starts: a header or rows
    shifted by pasting, or a header after a million spaces, do not change it. The rows
    decide (the most common distance); the header only when there are none."""
    counts: Dict[int, int] = {}
    for line in rows or [header]:
        match = _FIRST_TWO.match(line)
        if match:
            width = match.end(2) - match.end(1) - 1
            counts[width] = counts.get(width, 0) + 1
    best = max(counts, key=lambda w: (counts[w], -w)) if counts else 5
    return min(max(best, 5), 10)  # pid_max has at most 10 digits (2^31 - 1)


def is_elision(line: str) -> bool:
    """A line that only says rows were left out here: `...`, `…`, `[...]`, `(…)`, `. . .`, `<snip>`."""
    return _ELISION.match(line) is not None


class Elisions:
    """The lines skipped as rows left out: how many, and the first few by number (a file may hold
    millions of them: it costs a count, not a list)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: List[int] = []

    def add(self, line_number: int) -> None:
        self.count += 1
        if len(self.first) < _ELISIONS_NAMED:
            self.first.append(line_number)

    def note(self, name: str) -> str:
        """One line saying which lines were skipped."""
        lines = ", ".join(map(str, self.first)) + (", ..." if self.count > len(self.first) else "")
        return ngettext("{name}: skipped line {lines}, which stands for rows left out (`...` and the like)",
                        "{name}: skipped {count} lines that stand for rows left out (`...` and the like): "
                        "lines {lines}",
                        self.count).format(name=name, count=self.count, lines=lines)


def parse_ps_text(text: str, name: str, taken: Optional[float], escaper: Escaper,
                  tick: Optional[Callable[[], None]] = None) -> Snapshot:
    """`tick`, when given, is called every 1024 lines: it raises to stop (a host's time is up)."""
    lines = lines_of(text)
    elided = Elisions()
    header_number, header_line = 1, ""
    for header_number, header_line in lines:
        if is_elision(header_line):   # a quote may start with one, before its header
            elided.add(header_number)
        elif header_line.strip():
            break
    else:
        header_line = ""
    form = table_format(header_line.split(), name, header_number)
    reader = _RowReader(form, escaper, forest=form.procps_axj and " \\_ " in text)
    records: List[ProcessRecord] = []
    keys: List[str] = []
    sample: List[str] = []
    for line_number, line in lines:
        if tick is not None and not line_number % 1024:
            tick()
        if not line.strip():
            continue
        try:
            record, key = reader.row(line)
        except ValueError as exc:
            if is_elision(line):   # asked only of a line that is not a row: a row costs nothing more
                elided.add(line_number)
                continue
            raise PsxjError(_("{name}: line {line}: {error}").format(name=name, line=line_number, error=exc)) from None
        records.append(record)
        keys.append(key)
        if len(sample) < _WIDTH_SAMPLE:
            sample.append(line)
    if form.session_addresses:
        records = _with_inferred_sessions(records, keys)
    if form.procps_axj:
        pid_width = infer_pid_width(header_line, sample)
    else:
        pid_width = min(max([5] + [len(str(r.pid)) for r in records]), 10)
    snapshot = Snapshot(records, source=name, taken_at=taken, pid_width=pid_width, system=form.system,
                        time_source=file_time_source(taken))
    if elided.count:
        snapshot.notes = (elided.note(name),)
    return snapshot


def _with_inferred_sessions(records: List[ProcessRecord], keys: List[str]) -> List[ProcessRecord]:
    sids = infer_sessions([r.pid for r in records], [r.ppid for r in records], [r.pgid for r in records],
                          ["s" in r.stat[1:] for r in records], keys)
    return [r._replace(sid=sid, session_key="" if key == "0" else key) for r, sid, key in zip(records, sids, keys)]


class _RowReader:
    """Reads the rows of one table format."""

    def __init__(self, form: TableFormat, escaper: Escaper, forest: bool) -> None:
        self.form = form
        self.escaper = escaper
        self.forest = forest
        self.columns = len(form.fields)
        # ps right-aligns TIME, so a command after it starts one space later and may itself
        # start with spaces (an empty argv[0]); after a left-aligned column (busybox's USER)
        # the padding is the column's, not the command's.
        self.padded = not form.fields or form.fields[-1] != "time"

    def row(self, line: str) -> Tuple[ProcessRecord, str]:
        """The record, and the BSD session address ("" elsewhere) for the session inference."""
        cells = line.split(None, self.columns)
        if len(cells) < self.columns:
            raise ValueError(_("expected {expected} columns, found {count}").format(
                                 expected=self.columns + 1,
                                 count=len(cells)))
        end = _end_of_field(line, self.columns)
        command = line[end + 1:] if end < len(line) else ""
        if self.padded:
            command = command.lstrip(" ")
        if self.forest:
            command = _strip_forest(command)
        values: Dict[str, str] = {}
        for field, cell in zip(self.form.fields, cells):
            if field is not None:
                values[field] = cell
        return self._record(values, self.escaper.text(command))

    def _record(self, values: Dict[str, str], command: str) -> Tuple[ProcessRecord, str]:
        text = self.escaper.text
        system = self.form.system
        pid, ppid, pgid = (number(values[f], f.upper(), f) for f in ("pid", "ppid", "pgid"))
        key = ""
        if self.form.session_addresses:
            key = values["sid"]
            if not _SESSION_ADDRESS.match(key):
                raise ValueError(_("SESS is not a session address: {key}").format(key=shown(key)))
            sid = 0
        else:
            sid = number(values["sid"], "SID", "sid")
        tty_cell = values["tty"]
        tty = bsd_tty(tty_cell) if system != LINUX else device_tty(tty_cell)
        tty = text(tty)
        tpgid = number(values["tpgid"], "TPGID", "tpgid") if "tpgid" in values else None
        stat = text(values.get("stat") or values.get("state") or "")
        busybox_kernel = "W" in stat[1:]  # busybox: no memory of its own (procps never prints W now)
        if busybox_kernel:
            stat = stat.replace("W", "")
        if not stat:
            stat = "Z" if command.endswith("<defunct>") else "-"   # -efj has no STAT: unknown
        euid, user = self._users(values)
        cpu = parse_time(values["time"]) if "time" in values else None
        kernel = _kernel_thread_by_look(command, ppid, pid) or (busybox_kernel and stat[:1] != "Z")
        record = ProcessRecord(
            pid=pid, ppid=ppid, pgid=pgid, sid=sid, tty=tty, tpgid=tpgid, stat=stat, euid=euid,
            cpu_seconds=cpu, command=command, comm=comm_from_command(command, system),
            state=stat[:1] if stat != "-" else "", kernel_thread=kernel,
            ruid=number(values["ruid"], "RUID", "ruid") if "ruid" in values else None,
            egid=number(values["egid"], "EGID", "egid") if "egid" in values else None,
            rgid=number(values["rgid"], "RGID", "rgid") if "rgid" in values else None,
            user=user,
        )
        return record, key

    def _users(self, values: Dict[str, str]) -> Tuple[Optional[int], Optional[str]]:
        """(uid, name) from UID and USER columns: each may hold a name or a number (ps prints the
        number when there is no name, and -ef prints names under UID). Root is uid 0 everywhere."""
        euid: Optional[int] = None
        user: Optional[str] = None
        for column in ("uid", "user"):
            cell = values.get(column)
            if cell is None:
                continue
            if cell.isascii() and cell.isdigit():
                euid = number(cell, column.upper(), "euid")
            else:
                user = self.escaper.text(cell)
        if user == "root" and euid is None:
            euid = 0
        if euid == 0 and user is None:
            user = "root"
        return euid, user


def _kernel_thread_by_look(command: str, ppid: int, pid: int) -> bool:
    """Without the kernel's flags: a bracketed command whose parent is 0 or kthreadd (2)."""
    return command.startswith("[") and command.endswith("]") and (ppid in (0, 2)) and pid != 1


def _strip_forest(command: str) -> str:
    """Drop the forest's 4-character chunks: one pass, however many there are."""
    start = 0
    while command[start:start + 4] in _FOREST_CHUNKS and len(command) - start > 4:
        start += 4
    return command[start:]


def _end_of_field(line: str, count: int) -> int:
    """Index just past the count-th whitespace-separated field."""
    i, size = 0, len(line)
    for _field in range(count):
        while i < size and line[i].isspace():
            i += 1
        while i < size and not line[i].isspace():
            i += 1
    return i
