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
from typing import Any, Dict, Iterator, List, Optional

from psxj.errors import PsxjError, UsageError
from psxj.escape import Escaper
from psxj.i18n import _
from psxj.model import ProcessRecord, Snapshot
from psxj.sources.checks import epoch_seconds, file_time_source, lines_of, number, shown
from psxj.sources.fields import json_optional_text, record_from_fields
from psxj.sources.pstext import is_elision, parse_ps_text

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
            raise PsxjError(_("{name}: more than {mib} MiB, the most --load reads").format(
                                name=name,
                                mib=limit // (1024 * 1024)))


def read_source(path: str) -> tuple:
    """(text, name, modification time) of a file, or of standard input for '-'."""
    if path == "":
        raise UsageError(_("--load: empty file name"))
    if path == "-":
        data = read_bounded(sys.stdin.buffer, "stdin")
        return data.decode("utf-8", "surrogateescape"), "stdin", None
    from psxj.safefs import open_to_read

    try:
        # Never a device, and no hang on a FIFO someone planted; a pipe of the user's own is read.
        with os.fdopen(open_to_read(path, pipes=True), "rb") as f:
            taken = os.fstat(f.fileno()).st_mtime
            data = read_bounded(f, path)
    except OSError as exc:
        raise PsxjError(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)) from None
    return data.decode("utf-8", "surrogateescape"), path, taken


def load_snapshot(path: str, escaper: Optional[Escaper] = None, at: Optional[str] = None) -> Snapshot:
    """The table a file holds; of a recording, its latest table, or the one at `at` (a time
    as psxj.sources.recording.parse_when reads it)."""
    escaper = escaper or Escaper.for_environment()
    if path not in ("", "-"):
        from psxj.sources.recording import is_recording, open_recording, parse_when

        if is_recording(path):
            recording = open_recording(path, escaper)
            return recording.latest() if at is None else recording.snapshot_at(parse_when(at, recording.last))
    if at is not None:
        if path not in ("", "-") and not os.path.exists(path):
            raise PsxjError(_("cannot read {path}: no such file or directory").format(path=path))
        raise UsageError(_("{file}: a time (--at, or FILE@TIME) needs a recording (psxj record DIR), not a "
                           "single table").format(file=path or 'stdin'))
    text, name, taken = read_source(path)
    return parse_text(text, name, taken, escaper)


def parse_text(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    """A table in any format --load reads, told apart by how it starts."""
    start = _LEADING_SPACE.match(text).end()
    if start == len(text):
        raise PsxjError(_("{name}: empty file").format(name=name))
    if text[start] in "[{" and not _starts_with_elision(text, start):
        return parse_json(text, name, taken, escaper)
    if text.startswith(CSV_HEADER, start):
        return parse_csv(text, name, taken, escaper)
    return parse_ps_text(text, name, taken, escaper)


_LEADING_SPACE = re.compile(r"\s*")


def _starts_with_elision(text: str, start: int) -> bool:
    """A quoted ps table may start with `[...]`: not JSON. (An elision line is short: a long first
    line, a JSON file on one line, is not copied to find out.)"""
    end = text.find("\n", start, start + 256)
    return is_elision(text[start:end if end >= 0 else start + 256]) and (end >= 0 or len(text) <= start + 256)

def _refuse_constant(name: str) -> Any:
    raise ValueError(_("{name} is not a number JSON allows").format(name=name))


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
    records, kinds = [], {}
    try:
        for row in json_items(text):
            records.append(record_from_fields(row, escaper))
            _keep_saved_kind(kinds, records[-1], row, escaper)
    except json.JSONDecodeError as exc:
        raise PsxjError(_("{name}: line {line}: malformed JSON: {error}").format(
                            name=name,
                            line=exc.lineno,
                            error=exc.msg)) from None
    except RecursionError:
        raise PsxjError(_("{name}: item {item}: JSON nested too deeply").format(name=name,
                                                                             item=len(records))) from None
    except (KeyError, TypeError, ValueError) as exc:
        if str(exc).startswith("expected a JSON array"):
            raise PsxjError(_("{name}: expected a JSON array of processes").format(name=name)) from None
        raise PsxjError(_("{name}: item {item}: {problem}").format(
                            name=name,
                            item=len(records),
                            problem=_json_problem(exc))) from None
    return saved_snapshot(records, kinds, name, taken)


def saved_snapshot(records: List[ProcessRecord], kinds: dict, name: str, taken: Optional[float]) -> Snapshot:
    """psxj's saved rows as a snapshot; rows of several machines (saved from psxj --host) as a
    FleetSnapshot, each machine's rows apart so their PIDs never mix."""
    hosts = {r.host for r in records}
    if hosts == {None}:
        return Snapshot(records, source=name, taken_at=taken, time_source=file_time_source(taken),
                        saved_kinds={pid: kind for (_, pid), kind in kinds.items()})
    from psxj.model import FleetSnapshot

    parts = {}
    for host in sorted(hosts, key=lambda h: h or ""):
        mine = [r for r in records if r.host == host]
        parts[host or "-"] = Snapshot([r if host else r._replace(host="-") for r in mine], source=name,
                                      taken_at=taken, time_source=file_time_source(taken),
                                      saved_kinds={pid: kind for (h, pid), kind in kinds.items() if h == host})
    fleet = FleetSnapshot(parts, taken_at=taken)
    fleet.source, fleet.time_source = name, file_time_source(taken)
    return fleet


def _keep_saved_kind(kinds: dict, record: ProcessRecord, row: Dict[str, Any], escaper: Escaper) -> None:
    """psxj's own JSON and CSV carry each process's kind as judged with /proc at hand: keep it
    (psxj.judge.kinds takes it over re-judging the saved row); checked like every other field."""
    name = row.get("kind")
    if name is None:
        return
    reasons = row.get("kind_reasons") or []
    if not isinstance(name, str) or not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise ValueError(_("fields 'kind' and 'kind_reasons' must be a string and a list of strings"))
    kinds[(record.host, record.pid)] = (escaper.text(name), tuple(escaper.text(r) for r in reasons[:20]),
                         json_optional_text(row, "supervisor", escaper), json_optional_text(row, "unit", escaper),
                         json_optional_text(row, "unit_role", escaper), json_optional_text(row, "container", escaper))


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return _("missing field {field}").format(field=shown(str(exc.args[0])))
    message = str(exc)
    if "integer string conversion" in message:  # Python's own guard against huge integers
        return _("a number with more than 4,300 digits")
    return message


# psxj's own CSV (render/export.py): its header, and the columns that hold text a
# spreadsheet could take for a formula, which export prefixed with a quote.
CSV_HEADER = "ppid,pid,pgid,sid,tty,tpgid,stat,uid,user,time,command"
_CSV_INTEGERS = ("ppid", "pid", "pgid", "sid", "tpgid", "uid", "flags", "nice", "threads", "tty_nr", "ruid",
                 "euid", "rgid", "egid", "cpu_seconds", "start_ticks")
_CSV_BOOLEANS = ("namespace_init", "kernel_thread", "daemon")
_CSV_OPTIONAL_TEXT = ("user", "session_key", "cgroup", "supervisor", "unit", "unit_role", "container", "host")


def unquote_cell(value: str) -> str:
    """Undo export's formula guard: a text cell that starts with a quote had one added."""
    return value[1:] if value.startswith("'") else value


def parse_csv(text: str, name: str, taken: Optional[float], escaper: Escaper) -> Snapshot:
    records, kinds = [], {}
    saved_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_INPUT)  # one argv may be long; the whole input is bounded already
    try:
        reader = csv.DictReader(line for _number, line in lines_of(text))
        for row in reader:
            try:
                fields = _csv_row(row)
                records.append(record_from_fields(fields, escaper))
                _keep_saved_kind(kinds, records[-1], fields, escaper)
            except (KeyError, TypeError, ValueError) as exc:
                raise PsxjError(_("{name}: line {line}: {problem}").format(
                                    name=name,
                                    line=reader.line_num,
                                    problem=_json_problem(exc))) from None
            except RecursionError:
                raise PsxjError(_("{name}: line {line}: argv nested too deeply").format(
                                    name=name,
                                    line=reader.line_num)) from None
    except csv.Error as exc:
        raise PsxjError(_("{name}: malformed CSV: {error}").format(name=name, error=exc)) from None
    finally:
        csv.field_size_limit(saved_limit)
    return saved_snapshot(records, kinds, name, taken)


def _csv_row(row: Dict[Optional[str], Any]) -> Dict[str, Any]:
    if None in row:
        raise ValueError(_("more cells than the header has columns"))
    fields: Dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            raise ValueError(_("missing field {field}").format(field=shown(str(key))))
        if key in _CSV_INTEGERS:
            fields[key] = None if value == "" else number(value, key, key)
        elif key in _CSV_BOOLEANS:
            if value not in ("true", "false", ""):
                raise ValueError(_("field {key!r} must be true or false").format(key=key))
            fields[key] = None if value == "" else value == "true"
        elif key == "start_time":
            fields[key] = None if value == "" else _float(value, key)
        elif key in ("argv", "kind_reasons"):
            fields[key] = None if value == "" else _argv_cell(value)
        else:
            fields[key] = None if value == "" and key in _CSV_OPTIONAL_TEXT else unquote_cell(value)
    return fields


def _float(value: str, key: str) -> float:
    try:
        seconds = float(value) if len(value) < 40 else math.nan
    except ValueError:
        raise ValueError(_("field {key!r} must be a number").format(key=key)) from None
    return epoch_seconds(seconds, _("field {key!r}").format(key=key))


def _argv_cell(value: str) -> List[str]:
    argv = json.loads(value, parse_constant=_refuse_constant)
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise ValueError(_("field 'argv' must be a list of strings"))
    return argv
