"""Machine-readable views: JSON and CSV rows with the ps columns and the raw facts.

JSON is always valid JSON: no NaN or Infinity is ever written. CSV cells that hold text
from processes or files are guarded against formula injection as OWASP recommends: a cell
that a spreadsheet would run (starting with = + - @, a tab or a carriage return) gets a
single quote in front, and so does a cell that starts with a quote, so that psxj's own
CSV loader, which removes one leading quote, gets every value back exactly.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Dict, Iterable, List, Optional

from psxj.errors import PsxjError
from psxj.i18n import _, untranslated
from psxj.judge.kinds import kind_of
from psxj.model import ProcessRecord, Snapshot
from psxj.render.psformat import format_time
from psxj.sources.names import user_name

FIELDS = (
    "ppid", "pid", "pgid", "sid", "tty", "tpgid", "stat", "uid", "user", "time", "command",
    "comm", "argv", "state", "flags", "nice", "threads", "tty_nr", "ruid", "euid", "rgid", "egid",
    "cpu_seconds", "start_ticks", "start_time", "namespace_init", "kernel_thread", "daemon",
    "kind", "kind_reasons", "supervisor", "unit", "unit_role", "container", "cgroup", "session_key", "host",
)


def as_dict(snapshot: Snapshot, record: ProcessRecord) -> Dict[str, Any]:
    kind = kind_of(snapshot, record)
    return {
        **_own_fields(record, snapshot.live),
        "daemon": kind.daemon_like,
        "kind": kind.name, "kind_reasons": kind.reasons, "supervisor": kind.supervisor, "unit": kind.unit,
        "unit_role": kind.role, "container": kind.container,
        "cgroup": record.cgroup,
        "session_key": record.session_key,
        "host": record.host,   # the machine (psxj --host); null: this one
    }


def _own_fields(record: ProcessRecord, live: bool) -> Dict[str, Any]:
    """The fields up to kernel_thread: what the record alone decides (a live table names the user)."""
    return {
        "ppid": record.ppid, "pid": record.pid, "pgid": record.pgid, "sid": record.sid,
        "tty": record.tty, "tpgid": record.tpgid, "stat": record.stat, "uid": record.euid,
        "user": record.user or (user_name(record.euid) if live else None),
        "time": format_time(record.cpu_seconds).strip(), "command": record.command,
        "comm": record.comm, "argv": record.argv,  # a tuple: JSON writes an array
        "state": record.state, "flags": record.flags, "nice": record.nice, "threads": record.threads,
        "tty_nr": record.tty_nr, "ruid": record.ruid, "euid": record.euid, "rgid": record.rgid,
        "egid": record.egid, "cpu_seconds": record.cpu_seconds, "start_ticks": record.start_ticks,
        "start_time": record.start_time, "namespace_init": record.namespace_init,
        "kernel_thread": record.kernel_thread,
    }


_JSON = json.JSONEncoder(ensure_ascii=True, allow_nan=False)  # one encoder: dumps(...) makes one per call


def json_rows(snapshot: Snapshot, records: Iterable[ProcessRecord]) -> str:
    """The records as JSON objects, one a line, each line but the last ending with a comma."""
    encode = _JSON.encode
    try:
        with untranslated():  # machine output: kind reasons in English whatever the language
            return ",\n".join([encode(as_dict(snapshot, record)) for record in records])
    except ValueError:  # sources check every number; this is the last guard, never a traceback
        raise PsxjError(_("cannot write JSON: a number is not finite")) from None


def json_document(rows: List[str]) -> str:
    """Blocks of rows (json_rows) as one JSON array: one process per line."""
    rows = [block for block in rows if block]
    return "[\n" + ",\n".join(rows) + "\n]\n" if rows else "[]\n"


def to_json(snapshot: Snapshot, records: Iterable[ProcessRecord]) -> str:
    return json_document([json_rows(snapshot, records)])


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralised(text: str) -> str:
    """A text cell a spreadsheet will show, never run: OWASP's quote before a formula start."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=True)
    if isinstance(value, str):
        return neutralised(value)
    return value


CSV_HEADER = ",".join(FIELDS) + "\n"


def csv_rows(snapshot: Snapshot, records: Iterable[ProcessRecord]) -> str:
    """The records as CSV lines, header excluded."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with untranslated():  # machine output, as for JSON
        writer.writerows([list(map(_csv_cell, as_dict(snapshot, record).values())) for record in records])
    return out.getvalue()


def to_csv(snapshot: Snapshot, records: Iterable[ProcessRecord]) -> str:
    return CSV_HEADER + csv_rows(snapshot, records)


# --- Rows written in two parts, for the live table (psxj.commands.live_output) ---------------------------
# The last ten fields are the ones a row's own record cannot decide: its kind (with its reasons,
# supervisor, unit and its role there, container) needs the whole table; its cgroup is written beside
# them; session_key and host are a live table's nulls. The head is written where the record is read,
# by every core; the parent adds the tail. Head + tail is the very row as_dict and the encoders above
# write (tests/test_export_rows.py).
_encode_text = json.encoder.encode_basestring_ascii   # the C function the encoder uses for strings
_JSON_WORDS = {True: "true", False: "false"}
# The head as JSON: a record from the live reader has an int in every %d field; the encoder's own
# float repr is %r's; the rest are encoded above it.
_JSON_HEAD = (
    '{"ppid": %d, "pid": %d, "pgid": %d, "sid": %d, "tty": %s, "tpgid": %d, "stat": %s, "uid": %d, '
    '"user": %s, "time": %s, "command": %s, "comm": %s, "argv": %s, "state": %s, "flags": %d, "nice": %d, '
    '"threads": %d, "tty_nr": %d, "ruid": %d, "euid": %d, "rgid": %d, "egid": %d, "cpu_seconds": %d, '
    '"start_ticks": %d, "start_time": %r, "namespace_init": %s, "kernel_thread": %s, ')
_JSON_TAIL = ('"daemon": %s, "kind": %s, "kind_reasons": %s, "supervisor": %s, "unit": %s, "unit_role": %s, '
              '"container": %s, "cgroup": %s, "session_key": null, "host": null}')


def _json_text_or_null(text: Optional[str]) -> str:
    return "null" if text is None else _encode_text(text)


def _json_list(texts: Iterable[str]) -> str:
    return "[" + ", ".join(map(_encode_text, texts)) + "]"


class _Lines(list):
    """What csv.writer writes to: one string a row (writerow writes each row at once)."""
    write = list.append


class SplicedRows:
    """JSON or CSV rows of live records in two parts: head(record), by any process that has the
    record, and tail(kind, cgroup), by the one that has the whole table; row = head + tail."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self._tails: Dict[tuple, str] = {}   # most rows share a kind and a cgroup: each tail is written once
        if not as_json:
            self._heads = _Lines()
            self._head_writer = csv.writer(self._heads, lineterminator="")

    def head(self, record: ProcessRecord) -> str:
        """The row up to kernel_thread, as as_dict and the encoders give it for a live record."""
        if not self._complete(record):   # a field the live reader always fills is missing: the long way
            return self._head_from_dict(record)
        user = record.user or user_name(record.euid)
        time_text = format_time(record.cpu_seconds).strip()
        if self.as_json:
            return _JSON_HEAD % (
                record.ppid, record.pid, record.pgid, record.sid, _encode_text(record.tty), record.tpgid,
                _encode_text(record.stat), record.euid, _json_text_or_null(user), _encode_text(time_text),
                _encode_text(record.command), _encode_text(record.comm), _json_list(record.argv),
                _encode_text(record.state), record.flags, record.nice, record.threads, record.tty_nr, record.ruid,
                record.euid, record.rgid, record.egid, record.cpu_seconds, record.start_ticks, record.start_time,
                _JSON_WORDS[record.namespace_init], _JSON_WORDS[record.kernel_thread])
        self._head_writer.writerow((
            record.ppid, record.pid, record.pgid, record.sid, neutralised(record.tty), record.tpgid,
            neutralised(record.stat), record.euid, "" if user is None else neutralised(user), neutralised(time_text),
            neutralised(record.command), neutralised(record.comm), _json_list(record.argv),
            neutralised(record.state), record.flags, record.nice, record.threads, record.tty_nr, record.ruid,
            record.euid, record.rgid, record.egid, record.cpu_seconds, record.start_ticks, record.start_time,
            _JSON_WORDS[record.namespace_init], _JSON_WORDS[record.kernel_thread], ""))
        return self._heads.pop()   # ends with the comma before the tail's first cell

    def tail(self, kind, cgroup: Optional[str]) -> str:
        """The rest of the row: daemon, kind, kind_reasons, supervisor, unit, unit_role, container, cgroup,
        session_key, host."""
        key = (kind.name, kind.reasons, kind.supervisor, kind.unit, kind.role, kind.container, cgroup)
        text = self._tails.get(key)
        if text is None:
            if self.as_json:
                text = _JSON_TAIL % (
                    _JSON_WORDS[kind.daemon_like], _encode_text(kind.name), _json_list(kind.reasons),
                    _json_text_or_null(kind.supervisor), _json_text_or_null(kind.unit),
                    _json_text_or_null(kind.role), _json_text_or_null(kind.container), _json_text_or_null(cgroup))
            else:
                self._head_writer.writerow((
                    _JSON_WORDS[kind.daemon_like], neutralised(kind.name), _json_list(kind.reasons),
                    _csv_cell(kind.supervisor), _csv_cell(kind.unit), _csv_cell(kind.role), _csv_cell(kind.container),
                    _csv_cell(cgroup), "", ""))
                text = self._heads.pop() + "\n"
            self._tails[key] = text
        return text

    def document(self, rows: List[str]) -> str:
        """The rows (head + tail each) as psxj's JSON array or CSV table."""
        if self.as_json:  # one join: megabytes of rows are copied once
            return "".join(("[\n", ",\n".join(rows), "\n]\n")) if rows else "[]\n"
        return "".join((CSV_HEADER, *rows))

    @staticmethod
    def _complete(record: ProcessRecord) -> bool:
        return None not in (record.tpgid, record.euid, record.cpu_seconds, record.argv, record.flags, record.nice,
                            record.threads, record.tty_nr, record.ruid, record.rgid, record.egid,
                            record.start_ticks, record.start_time) and math.isfinite(record.start_time)

    def _head_from_dict(self, record: ProcessRecord) -> str:
        fields = _own_fields(record, live=True)
        if self.as_json:
            return _JSON.encode(fields)[:-1] + ", "
        self._head_writer.writerow([*map(_csv_cell, fields.values()), ""])
        return self._heads.pop()
