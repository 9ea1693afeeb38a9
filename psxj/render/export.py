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
from typing import Any, Dict, Iterable, List

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
        "ppid": record.ppid, "pid": record.pid, "pgid": record.pgid, "sid": record.sid,
        "tty": record.tty, "tpgid": record.tpgid, "stat": record.stat, "uid": record.euid,
        "user": record.user or (user_name(record.euid) if snapshot.live else None),
        "time": format_time(record.cpu_seconds).strip(), "command": record.command,
        "comm": record.comm, "argv": record.argv,  # a tuple: JSON writes an array
        "state": record.state, "flags": record.flags, "nice": record.nice, "threads": record.threads,
        "tty_nr": record.tty_nr, "ruid": record.ruid, "euid": record.euid, "rgid": record.rgid,
        "egid": record.egid, "cpu_seconds": record.cpu_seconds, "start_ticks": record.start_ticks,
        "start_time": record.start_time, "namespace_init": record.namespace_init,
        "kernel_thread": record.kernel_thread, "daemon": kind.daemon_like,
        "kind": kind.name, "kind_reasons": kind.reasons, "supervisor": kind.supervisor, "unit": kind.unit,
        "unit_role": kind.role, "container": kind.container,
        "cgroup": record.cgroup,
        "session_key": record.session_key,
        "host": record.host,   # the machine (psxj --host); null: this one
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
