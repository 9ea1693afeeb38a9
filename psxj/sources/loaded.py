"""The loaded source: a table saved earlier, as psxj's JSON or as `ps -axj` text.

`ssh host ps -axj > host.txt; psxj --load host.txt` shows another machine. Everything
read from a file is untrusted: every string goes through the same escaping as live
process names, and a malformed file gets an error naming the line or item.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Dict, List, Optional, Tuple

from psxj.errors import PsxjError
from psxj.model import ProcessRecord, Snapshot
from psxj.render.escape import Escaper

PROCPS_HEADER = ["PPID", "PID", "PGID", "SID", "TTY", "TPGID", "STAT", "UID", "TIME", "COMMAND"]
# BSD and macOS `ps -axj`: macOS calls the session column SESS, FreeBSD SID.
BSD_HEADERS = (["USER", "PID", "PPID", "PGID", "SESS", "JOBC", "STAT", "TT", "TIME", "COMMAND"],
               ["USER", "PID", "PPID", "PGID", "SID", "JOBC", "STAT", "TT", "TIME", "COMMAND"])
# What procps' forest_helper() puts before COMMAND in `ps -axjf`, four characters a level.
_FOREST_CHUNKS = ("    ", " |  ", " \\_ ")


def read_source(path: str) -> tuple:
    """(text, name, modification time) of a file, or of standard input for '-'."""
    if path == "-":
        data = sys.stdin.buffer.read()
        return data.decode("utf-8", "surrogateescape"), "stdin", None
    try:
        with open(path, "rb") as f:
            data = f.read()
        taken = os.stat(path).st_mtime
    except OSError as exc:
        raise PsxjError(f"cannot read {path}: {exc.strerror or exc}") from None
    return data.decode("utf-8", "surrogateescape"), path, taken


def _time_source(taken: Optional[float]) -> Optional[str]:
    """ps text and psxj's JSON carry no time: the file's modification time is all there is."""
    return "the file's modification time" if taken is not None else None


def load_snapshot(path: str, escaper: Optional[Escaper] = None) -> Snapshot:
    text, name, taken = read_source(path)
    escaper = escaper or Escaper.for_environment()
    stripped = text.lstrip()
    if not stripped:
        raise PsxjError(f"{name}: empty file")
    if stripped[0] in "[{":
        return parse_json(text, name, taken, escaper)
    return parse_ps_text(text, name, taken, escaper)


_TIME = re.compile(r"^(?:(\d+)-)?(\d+):(\d{2})(?::(\d{2}))?(?:\.\d+)?$")


def parse_time(text: str) -> int:
    """TIME as ps prints it: procps `MMM:SS`, BSD `M:SS.hh`, or `[DD-]HH:MM:SS`; whole seconds."""
    match = _TIME.match(text)
    if not match:
        raise ValueError(text)
    days, first, second, third = match.groups()
    if third is None:  # minutes:seconds
        seconds = int(first) * 60 + int(second)
    else:              # hours:minutes:seconds
        seconds = int(first) * 3600 + int(second) * 60 + int(third)
    return int(days or 0) * 86400 + seconds


def _kernel_thread_by_look(command: str, ppid: int, pid: int) -> bool:
    """Without the kernel's flags: a bracketed command whose parent is 0 or kthreadd (2)."""
    return command.startswith("[") and command.endswith("]") and (ppid in (0, 2)) and pid != 1


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{what} is not a number: {value!r}") from None


def parse_ps_text(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    """procps `ps -axj` or `ps -axjf` text, or BSD/macOS `ps -axj` text, told apart by the header."""
    lines = text.splitlines()
    header_index = next((i for i, line in enumerate(lines) if line.strip()), 0)
    header = lines[header_index].split() if lines else []
    if header == PROCPS_HEADER:
        parse_row = _parse_ps_row
        forest = any(" \\_ " in line for line in lines[header_index + 1:])
        pid_width = lines[header_index].index("PPID") + len("PPID")
    elif header in BSD_HEADERS:
        parse_row, forest, pid_width = _parse_bsd_row, False, 5
    else:
        raise PsxjError(
            f"{name}: line {header_index + 1}: not a `ps -axj` header (expected procps "
            f"{' '.join(PROCPS_HEADER)}, or BSD {' '.join(BSD_HEADERS[0])})"
        )
    records = []
    for number, line in enumerate(lines[header_index + 1:], start=header_index + 2):
        if not line.strip():
            continue
        try:
            records.append(parse_row(line, escaper, forest))
        except ValueError as exc:
            raise PsxjError(f"{name}: line {number}: {exc}") from None
    return Snapshot(records, source=name, taken_at=taken, pid_width=max(pid_width, 5), time_source=_time_source(taken))


def _strip_forest(command: str) -> str:
    while command[:4] in _FOREST_CHUNKS and len(command) > 4:
        command = command[4:]
    return command


def _split_row(line: str) -> Tuple[List[str], str, int]:
    """The nine columns before COMMAND, COMMAND itself, and TIME (the ninth) in seconds."""
    fields = line.split(None, 9)
    if len(fields) < 9:
        raise ValueError(f"expected 10 columns, found {len(fields)}")
    # COMMAND starts one space after TIME and may itself start with spaces (empty argv[0]).
    time_end = _end_of_field(line, 9)
    command = line[time_end + 1:] if time_end < len(line) else ""
    try:
        cpu = parse_time(fields[8])
    except ValueError:
        raise ValueError(f"TIME is not a time: {fields[8]!r}") from None
    return fields[:9], command, cpu


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
    pid, ppid, pgid, sid = (_int(v, h) for v, h in zip(fields[1:5], ("PID", "PPID", "PGID", "SESS")))
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


def parse_json(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PsxjError(f"{name}: line {exc.lineno}: malformed JSON: {exc.msg}") from None
    if not isinstance(rows, list):
        raise PsxjError(f"{name}: expected a JSON array of processes")
    records = []
    for index, row in enumerate(rows):
        try:
            records.append(_record_from_json(row, escaper))
        except (KeyError, TypeError, ValueError) as exc:
            raise PsxjError(f"{name}: item {index}: {_json_problem(exc)}") from None
    return Snapshot(records, source=name, taken_at=taken, time_source=_time_source(taken))


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def _json_int(row: Dict[str, Any], key: str, required: bool = False) -> Optional[int]:
    value = row[key] if required else row.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field {key!r} must be an integer")
    return value


def _json_text(row: Dict[str, Any], key: str, escaper: Escaper, default: Optional[str] = None) -> str:
    value = row.get(key, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string")
    return escaper.text(value)


def _record_from_json(row: Any, escaper: Escaper) -> ProcessRecord:
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
    start_time = row.get("start_time")
    if start_time is not None and not isinstance(start_time, (int, float)):
        raise ValueError("field 'start_time' must be a number")
    kernel = row.get("kernel_thread")
    return ProcessRecord(
        pid=pid, ppid=ppid, pgid=_json_int(row, "pgid", True), sid=_json_int(row, "sid", True),
        tty=_json_text(row, "tty", escaper), tpgid=_json_int(row, "tpgid"), stat=stat,
        euid=euid, cpu_seconds=cpu, command=command,
        comm=_json_text(row, "comm", escaper, default=_comm_from_command(command)),
        state=_json_text(row, "state", escaper, default=stat[:1]),
        kernel_thread=bool(kernel) if kernel is not None else _kernel_thread_by_look(command, ppid, pid),
        argv=tuple(argv) if argv is not None else None,
        tty_nr=_json_int(row, "tty_nr"), flags=_json_int(row, "flags"), nice=_json_int(row, "nice"),
        threads=_json_int(row, "threads"), ruid=_json_int(row, "ruid"), rgid=_json_int(row, "rgid"),
        egid=_json_int(row, "egid"), start_ticks=_json_int(row, "start_ticks"), start_time=start_time,
        namespace_init=bool(row.get("namespace_init", False)),
        cgroup=_json_text(row, "cgroup", escaper) if row.get("cgroup") is not None else None,
    )
