"""The loaded source: a table saved earlier, as psxj's JSON or CSV or as `ps -axj` text.

`ssh host ps -axj > host.txt; psxj --load host.txt` shows another machine. Everything
read from a file is untrusted: at most MAX_INPUT bytes are read, every number is checked
against the range the kernel allows, every string goes through the same escaping as live
process names, and a malformed file gets a one-line error naming the line or item.
Memory and output stay proportional to the input.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
from typing import Any, Dict, Iterator, List, Optional, Tuple

from psxj.errors import PsxjError, UsageError
from psxj.model import ProcessRecord, Snapshot
from psxj.render.escape import Escaper

PROCPS_HEADER = ["PPID", "PID", "PGID", "SID", "TTY", "TPGID", "STAT", "UID", "TIME", "COMMAND"]
# BSD and macOS `ps -axj`: macOS calls the session column SESS, FreeBSD SID.
BSD_HEADERS = (["USER", "PID", "PPID", "PGID", "SESS", "JOBC", "STAT", "TT", "TIME", "COMMAND"],
               ["USER", "PID", "PPID", "PGID", "SID", "JOBC", "STAT", "TT", "TIME", "COMMAND"])
# What procps' forest_helper() puts before COMMAND in `ps -axjf`, four characters a level.
_FOREST_CHUNKS = ("    ", " |  ", " \\_ ")


MAX_INPUT = 64 * 1024 * 1024  # bytes: a table of 100,000 processes with long arguments fits
_CHUNK = 1024 * 1024


def read_bounded(stream, name: str, limit: int = MAX_INPUT) -> bytes:
    """All of a stream, or an error once it passes `limit` bytes: /dev/zero or a writer that
    never stops must not fill memory. Read in chunks, so a small file costs a small buffer."""
    chunks: List[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise PsxjError(f"{name}: more than {limit // (1024 * 1024)} MiB, the most --load reads")


def read_source(path: str) -> tuple:
    """(text, name, modification time) of a file, or of standard input for '-'."""
    if path == "":
        raise UsageError("--load: empty file name")
    if path == "-":
        data = read_bounded(sys.stdin.buffer, "stdin")
        return data.decode("utf-8", "surrogateescape"), "stdin", None
    try:
        with open(path, "rb") as f:
            taken = os.fstat(f.fileno()).st_mtime
            data = read_bounded(f, path)
    except OSError as exc:
        raise PsxjError(f"cannot read {path}: {exc.strerror or exc}") from None
    return data.decode("utf-8", "surrogateescape"), path, taken


def load_snapshot(path: str, escaper: Optional[Escaper] = None) -> Snapshot:
    text, name, taken = read_source(path)
    return parse_text(text, name, taken, escaper or Escaper.for_environment())


def parse_text(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    """A table in any format --load reads, told apart by how it starts."""
    start = _LEADING_SPACE.match(text).end()
    if start == len(text):
        raise PsxjError(f"{name}: empty file")
    if text[start] in "[{":
        return parse_json(text, name, taken, escaper)
    if text.startswith(CSV_HEADER, start):
        return parse_csv(text, name, taken, escaper)
    return parse_ps_text(text, name, taken, escaper)


_LEADING_SPACE = re.compile(r"\s*")
_TIME = re.compile(r"\A(?:(\d{1,9})-)?(\d{1,12}):(\d{2})(?::(\d{2}))?(?:\.\d{1,9})?\Z")


def parse_time(text: str) -> int:
    """TIME as ps prints it: procps `MMM:SS`, BSD `M:SS.hh`, or `[DD-]HH:MM:SS`; whole seconds."""
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"TIME is not a time: {shown(text)}")
    days, first, second, third = match.groups()
    if third is None:  # minutes:seconds
        seconds = int(first) * 60 + int(second)
    else:              # hours:minutes:seconds
        seconds = int(first) * 3600 + int(second) * 60 + int(third)
    return int(days or 0) * 86400 + seconds


def _kernel_thread_by_look(command: str, ppid: int, pid: int) -> bool:
    """Without the kernel's flags: a bracketed command whose parent is 0 or kthreadd (2)."""
    return command.startswith("[") and command.endswith("]") and (ppid in (0, 2)) and pid != 1


# Ranges the kernel allows: PIDs and session/group IDs up to 2^31-1, TPGID -1 without a
# terminal, uids and gids below (uid_t)-1, CPU time and start ticks within 64 bits.
PID_MAX = 2 ** 31 - 1
ID_MAX = 2 ** 32 - 2
RANGES: Dict[str, Tuple[int, int]] = {
    "pid": (0, PID_MAX), "ppid": (0, PID_MAX), "pgid": (0, PID_MAX), "sid": (0, PID_MAX),
    "tpgid": (-1, PID_MAX), "euid": (0, ID_MAX), "uid": (0, ID_MAX), "ruid": (0, ID_MAX),
    "rgid": (0, ID_MAX), "egid": (0, ID_MAX), "cpu_seconds": (0, 2 ** 53), "tty_nr": (0, 2 ** 32 - 1),
    "flags": (0, 2 ** 32 - 1), "nice": (-128, 127), "threads": (0, PID_MAX), "start_ticks": (0, 2 ** 63 - 1),
}
START_TIME_MAX = 2.0 ** 34  # seconds since the epoch: the year 2514
_DECIMAL = re.compile(r"\A-?\d{1,20}\Z")


def shown(value: str, room: int = 40) -> str:
    """A value from a file, quoted and cut for an error message (the message is escaped later)."""
    return repr(value if len(value) <= room else value[:room - 3] + "...")


def checked(value: int, what: str) -> int:
    low, high = RANGES[what]
    if not low <= value <= high:
        raise ValueError(f"{what} out of range: {shown(str(value)) if len(str(value)) < 60 else 'too many digits'}")
    return value


def _int(value: str, what: str, field: Optional[str] = None) -> int:
    if not _DECIMAL.match(value):
        if value.lstrip("-").isdigit() and value.isascii():
            raise ValueError(f"{what} out of range ({len(value)} digits)")
        raise ValueError(f"{what} is not a number: {shown(value)}")
    return checked(int(value), field or what.lower())


def lines_of(text: str) -> Iterator[Tuple[int, str]]:
    """(line number, line) split at newlines only, lazily: a carriage return or a Unicode
    line separator inside a command stays in it (and is escaped), and a file of a million
    short lines is never a list of a million strings."""
    start, number, size = 0, 1, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        line = text[start:end]
        yield number, line[:-1] if line.endswith("\r") else line
        start, number = end + 1, number + 1


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


def parse_ps_text(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    """procps `ps -axj` or `ps -axjf` text, or BSD/macOS `ps -axj` text, told apart by the header."""
    lines = lines_of(text)
    header_number, header_line = next(((n, line) for n, line in lines if line.strip()), (1, ""))
    header = header_line.split()
    if header == PROCPS_HEADER:
        parse_row = _parse_ps_row
        forest = " \\_ " in text
        procps = True
    elif header in BSD_HEADERS:
        parse_row, forest, procps = _parse_bsd_row, False, False
    else:
        raise PsxjError(
            f"{name}: line {header_number}: not a `ps -axj` header (expected procps "
            f"{' '.join(PROCPS_HEADER)}, or BSD {' '.join(BSD_HEADERS[0])})"
        )
    records = []
    sample: List[str] = []
    for number, line in lines:
        if not line.strip():
            continue
        if len(sample) < _WIDTH_SAMPLE:
            sample.append(line)
        try:
            records.append(parse_row(line, escaper, forest))
        except ValueError as exc:
            raise PsxjError(f"{name}: line {number}: {exc}") from None
    pid_width = infer_pid_width(header_line, sample) if procps else 5
    return Snapshot(records, source=name, taken_at=taken, pid_width=pid_width)


def _strip_forest(command: str) -> str:
    """Drop the forest's 4-character chunks: one pass, however many there are."""
    start = 0
    while command[start:start + 4] in _FOREST_CHUNKS and len(command) - start > 4:
        start += 4
    return command[start:]


def _split_row(line: str) -> Tuple[List[str], str, int]:
    """The nine columns before COMMAND, COMMAND itself, and TIME (the ninth) in seconds."""
    fields = line.split(None, 9)
    if len(fields) < 9:
        raise ValueError(f"expected 10 columns, found {len(fields)}")
    # COMMAND starts one space after TIME and may itself start with spaces (empty argv[0]).
    time_end = _end_of_field(line, 9)
    command = line[time_end + 1:] if time_end < len(line) else ""
    return fields[:9], command, parse_time(fields[8])


def _parse_ps_row(line: str, escaper: Escaper, forest: bool = False) -> ProcessRecord:
    fields, command, cpu = _split_row(line)
    ppid, pid, pgid, sid = (_int(v, h) for v, h in zip(fields[:4], PROCPS_HEADER))
    tty, tpgid_text, stat, uid_text = fields[4:8]
    if forest:
        command = _strip_forest(command)
    command = escaper.text(command)
    stat = escaper.text(stat)
    return ProcessRecord(
        pid=pid, ppid=ppid, pgid=pgid, sid=sid, tty=escaper.text(tty),
        tpgid=_int(tpgid_text, "TPGID"), stat=stat, euid=_int(uid_text, "UID"), cpu_seconds=cpu,
        command=command, comm=_comm_from_command(command), state=stat[:1],
        kernel_thread=_kernel_thread_by_look(command, ppid, pid),
    )


def _parse_bsd_row(line: str, escaper: Escaper, forest: bool = False) -> ProcessRecord:
    """USER PID PPID PGID SESS JOBC STAT TT TIME COMMAND: no UID, no TPGID (unknown, not invented)."""
    fields, command, cpu = _split_row(line)
    user = escaper.text(fields[0])
    pid, ppid, pgid, sid = (_int(v, h, f) for v, h, f in zip(fields[1:5], ("PID", "PPID", "PGID", "SESS"),
                                                            ("pid", "ppid", "pgid", "sid")))
    stat, tt = escaper.text(fields[6]), fields[7]
    command = escaper.text(command)
    return ProcessRecord(
        pid=pid, ppid=ppid, pgid=pgid, sid=sid, tty="?" if tt in ("??", "-", "?") else escaper.text(tt),
        tpgid=None, stat=stat, euid=None, cpu_seconds=cpu, command=command,
        comm=_comm_from_command(command), state=stat[:1],
        kernel_thread=_kernel_thread_by_look(command, ppid, pid), user=user,
    )


def _end_of_field(line: str, count: int) -> int:
    """Index just past the count-th whitespace-separated field."""
    i, size = 0, len(line)
    for _ in range(count):
        while i < size and line[i].isspace():
            i += 1
        while i < size and not line[i].isspace():
            i += 1
    return i


def _comm_from_command(command: str) -> str:
    if command.startswith("["):
        return command[1:].split("]", 1)[0]
    first = command.split(" ", 1)[0] if command.strip() else ""
    return os.path.basename(first)[:15]


_REQUIRED = ("pid", "ppid", "pgid", "sid", "tty", "tpgid", "stat", "command")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_SPACE = re.compile(r"[ \t\n\r]*")


def json_items(text: str) -> Iterator[Any]:
    """The items of a JSON array, decoded one at a time: each becomes a record and its
    dictionary is dropped, so memory follows the records, not Python's parse of the file."""
    index = _SPACE.match(text).end()
    if text[index:index + 1] != "[":
        _DECODER.decode(text)  # a malformed file is reported as malformed first
        raise ValueError("expected a JSON array of processes")
    index = _SPACE.match(text, index + 1).end()
    if text[index:index + 1] == "]":
        index = _SPACE.match(text, index + 1).end()
        if index != len(text):
            raise json.JSONDecodeError("Extra data", text, index)
        return
    while True:
        item, index = _DECODER.raw_decode(text, index)
        yield item
        index = _SPACE.match(text, index).end()
        separator = text[index:index + 1]
        index = _SPACE.match(text, index + 1).end()
        if separator == "]":
            if index != len(text):
                raise json.JSONDecodeError("Extra data", text, index)
            return
        if separator != ",":
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index - 1)


def parse_json(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    records = []
    try:
        for row in json_items(text):
            records.append(record_from_fields(row, escaper))
    except json.JSONDecodeError as exc:
        raise PsxjError(f"{name}: line {exc.lineno}: malformed JSON: {exc.msg}") from None
    except RecursionError:
        raise PsxjError(f"{name}: item {len(records)}: JSON nested too deeply") from None
    except (KeyError, TypeError, ValueError) as exc:
        if str(exc).startswith("expected a JSON array"):
            raise PsxjError(f"{name}: expected a JSON array of processes") from None
        raise PsxjError(f"{name}: item {len(records)}: {_json_problem(exc)}") from None
    return Snapshot(records, source=name, taken_at=taken)


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {shown(str(exc.args[0]))}"
    message = str(exc)
    if "integer string conversion" in message:  # Python's own guard against huge integers
        return "a number with more than 4,300 digits"
    return message


def _json_int(row: Dict[str, Any], key: str, required: bool = False) -> Optional[int]:
    value = row[key] if required else row.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field {key!r} must be an integer")
    return checked(value, key)


def _json_text(row: Dict[str, Any], key: str, escaper: Escaper, default: Optional[str] = None) -> str:
    value = row.get(key, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string")
    return escaper.text(value)


def _json_float(row: Dict[str, Any], key: str) -> Optional[float]:
    """A time in seconds since the epoch: finite, after 1970 and before the year 2514."""
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"field {key!r} must be a number")
    if not (math.isfinite(value) and 0 <= value <= START_TIME_MAX):
        raise ValueError(f"field {key!r} out of range")
    return float(value)


def record_from_fields(row: Any, escaper: Escaper) -> ProcessRecord:
    """A record from psxj's own field names (its JSON, its CSV, a recording), every value
    checked: integers in the kernel's ranges, finite times, strings escaped."""
    if not isinstance(row, dict):
        raise ValueError("expected an object")
    for key in _REQUIRED:
        row[key]  # KeyError names the missing field
    pid = _json_int(row, "pid", True)
    ppid = _json_int(row, "ppid", True)
    euid = _json_int(row, "euid") if row.get("euid") is not None else _json_int(row, "uid", True)
    stat = _json_text(row, "stat", escaper)
    command = _json_text(row, "command", escaper)
    cpu = _json_int(row, "cpu_seconds")
    if cpu is None:
        cpu = parse_time(str(row.get("time", "0:00")))
    argv = row.get("argv")
    if argv is not None and not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise ValueError("field 'argv' must be a list of strings")
    kernel = row.get("kernel_thread")
    user = row.get("user")
    if user is not None and not isinstance(user, str):
        raise ValueError("field 'user' must be a string")
    return ProcessRecord(
        pid=pid, ppid=ppid, pgid=_json_int(row, "pgid", True), sid=_json_int(row, "sid", True),
        tty=_json_text(row, "tty", escaper), tpgid=_json_int(row, "tpgid"), stat=stat,
        euid=euid, cpu_seconds=cpu, command=command,
        comm=_json_text(row, "comm", escaper, default=_comm_from_command(command)),
        state=_json_text(row, "state", escaper, default=stat[:1]),
        kernel_thread=bool(kernel) if kernel is not None else _kernel_thread_by_look(command, ppid, pid),
        # argv stays as the live source keeps it (raw, for machine use); nothing prints it as is.
        argv=tuple(argv) if argv is not None else None,
        tty_nr=_json_int(row, "tty_nr"), flags=_json_int(row, "flags"), nice=_json_int(row, "nice"),
        threads=_json_int(row, "threads"), ruid=_json_int(row, "ruid"), rgid=_json_int(row, "rgid"),
        egid=_json_int(row, "egid"), start_ticks=_json_int(row, "start_ticks"),
        start_time=_json_float(row, "start_time"), namespace_init=bool(row.get("namespace_init", False)),
        user=escaper.text(user) if user is not None else None,
    )


# psxj's own CSV (render/export.py): its header, and the columns that hold text a
# spreadsheet could take for a formula, which export prefixed with a quote.
CSV_HEADER = "ppid,pid,pgid,sid,tty,tpgid,stat,uid,user,time,command"
_CSV_INTEGERS = ("ppid", "pid", "pgid", "sid", "tpgid", "uid", "flags", "nice", "threads", "tty_nr", "ruid",
                 "euid", "rgid", "egid", "cpu_seconds", "start_ticks")
_CSV_BOOLEANS = ("namespace_init", "kernel_thread", "daemon")


def unquote_cell(value: str) -> str:
    """Undo export's formula guard: a text cell that starts with a quote had one added."""
    return value[1:] if value.startswith("'") else value


def parse_csv(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    records = []
    saved_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_INPUT)  # one argv may be long; the whole input is bounded already
    try:
        reader = csv.DictReader(line for _, line in lines_of(text))
        for row in reader:
            try:
                records.append(record_from_fields(_csv_row(row), escaper))
            except (KeyError, TypeError, ValueError) as exc:
                raise PsxjError(f"{name}: line {reader.line_num}: {_json_problem(exc)}") from None
            except RecursionError:
                raise PsxjError(f"{name}: line {reader.line_num}: argv nested too deeply") from None
    except csv.Error as exc:
        raise PsxjError(f"{name}: malformed CSV: {exc}") from None
    finally:
        csv.field_size_limit(saved_limit)
    return Snapshot(records, source=name, taken_at=taken)


def _csv_row(row: Dict[Optional[str], Any]) -> Dict[str, Any]:
    if None in row:
        raise ValueError("more cells than the header has columns")
    fields: Dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            raise ValueError(f"missing field {shown(str(key))}")
        if key in _CSV_INTEGERS:
            fields[key] = None if value == "" else _int(value, key, key)
        elif key in _CSV_BOOLEANS:
            if value not in ("true", "false", ""):
                raise ValueError(f"field {key!r} must be true or false")
            fields[key] = None if value == "" else value == "true"
        elif key == "start_time":
            fields[key] = None if value == "" else _float(value, key)
        elif key == "argv":
            fields[key] = None if value == "" else _argv_cell(value)
        else:
            fields[key] = None if value == "" and key == "user" else unquote_cell(value)
    return fields


def _float(value: str, key: str) -> float:
    try:
        number = float(value) if len(value) < 40 else math.nan
    except ValueError:
        raise ValueError(f"field {key!r} must be a number") from None
    return _json_float({key: number}, key) or 0.0


def _argv_cell(value: str) -> List[str]:
    argv = json.loads(value, parse_constant=_refuse_constant)
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise ValueError("field 'argv' must be a list of strings")
    return argv
