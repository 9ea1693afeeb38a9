"""Another machine's answers, read as hostile input: every value checked, every text escaped here.

A host that psxj reads may be compromised: what it sends is treated like a file given to --load.
Numbers must be integers in the kernel's ranges, times finite, texts strings of bounded length;
texts come back raw (the kernel's bytes, surrogate-escaped) and are escaped on this side with this
side's locale, exactly as /proc text is here. JSON is the only format read (never marshal or
pickle, which are not safe against crafted data). A bad answer is a one-line error for that host.
Part of the fleet source (psxj.sources.fleet); the remote audit's reports are read by psxj.judge.remote.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Optional, Protocol

from psxj.escape import Escaper
from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot
from psxj.sources.checks import RANGES, epoch_seconds

MAX_ANSWER = 64 * 1024 * 1024   # bytes of one answer: as much as --load reads
MAX_ROWS = 1_000_000
MAX_TEXT = 256 * 1024            # procps reads at most 128 KiB of a command line


class BadAnswer(ValueError):
    """What a host sent is not what psxj's remote reader sends."""


class DecodeGuard(Protocol):
    """What stops a decode (the fleet reader's: psxj.sources.fleet.reader): each call raises to stop it."""

    def rows(self, answer_bytes: int, count: int) -> None:
        """Once the number of rows is known, before any is decoded: too many for the memory left?"""

    def tick(self) -> None:
        """Every ROWS_BETWEEN_TICKS rows: is the host's time up, or is psxj closing?"""


ROWS_BETWEEN_TICKS = 1024


# ProcessRecord's fields as the remote reader sends them (all but host), and how each is checked.
_INT, _OPT_INT, _ID, _TEXT, _OPT_TEXT, _BOOL, _NONE, _TIME = range(8)
_FIELD_CHECKS: Dict[str, int] = {
    "pid": _INT, "ppid": _INT, "pgid": _INT, "sid": _INT, "tty": _TEXT, "tpgid": _OPT_INT, "stat": _TEXT,
    "euid": _ID, "cpu_seconds": _OPT_INT, "command": _TEXT, "comm": _TEXT, "state": _TEXT, "kernel_thread": _BOOL,
    "argv": _NONE, "tty_nr": _OPT_INT, "flags": _OPT_INT, "nice": _OPT_INT, "threads": _OPT_INT, "ruid": _ID,
    "rgid": _ID, "egid": _ID, "start_ticks": _OPT_INT, "start_time": _TIME, "namespace_init": _BOOL,
    "user": _NONE, "cgroup": _OPT_TEXT, "cpu_ticks": _OPT_INT, "rss_kb": _OPT_INT, "session_key": _NONE,
    "nspid": _NONE,   # namespaces of another machine: not used (psxj asks no systemd there); null when sent
}
SENT_FIELDS = tuple(f for f in ProcessRecord._fields if f != "host")
assert tuple(_FIELD_CHECKS) == SENT_FIELDS, "decode.py must check every field the remote reader sends"
_RANGE_OF = {"euid": "euid", "ruid": "ruid", "rgid": "rgid", "egid": "egid"}


def raw_bytes(text: str) -> bytes:
    """The bytes a surrogate-escaped string stands for; a crafted surrogate becomes bytes that are
    not UTF-8, which the escaper shows as '?'."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def checked_integer(value: Any, field: str, optional: bool) -> Optional[int]:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadAnswer(_("field {field!r} must be an integer").format(field=field))
    low, high = RANGES[field]
    if not low <= value <= high:
        raise BadAnswer(_("field {field!r} out of range").format(field=field))
    return value


def _checked(field: str, check: int, value: Any) -> Any:
    if check in (_INT, _OPT_INT):
        return checked_integer(value, field, check == _OPT_INT)
    if check == _ID:  # -1: the status file had no such line (as the local reader keeps it)
        return None if value in (None, -1) else checked_integer(value, _RANGE_OF[field], False)
    if check in (_TEXT, _OPT_TEXT):
        if value is None and check == _OPT_TEXT:
            return None
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise BadAnswer(_("field {field!r} must be a string of at most {limit} characters").format(
                                field=field,
                                limit=MAX_TEXT))
        return value
    if check == _BOOL:
        if not isinstance(value, bool):
            raise BadAnswer(_("field {field!r} must be true or false").format(field=field))
        return value
    if check == _TIME:
        if value is None:
            return None
        try:
            return epoch_seconds(value, f"field {field!r}")
        except ValueError as exc:
            raise BadAnswer(str(exc)) from None
    if value is not None:
        raise BadAnswer(_("field {field!r} must be null").format(field=field))
    return None


def record_from_row(row: Any, host: str, escaper: Escaper) -> ProcessRecord:
    """One remote row as a record of `host`, escaped here as the local reader escapes /proc."""
    if not isinstance(row, list) or len(row) != len(SENT_FIELDS):
        raise BadAnswer(_("a row must be a list of {count} values").format(count=len(SENT_FIELDS)))
    values = {field: _checked(field, check, value) for (field, check), value in zip(_FIELD_CHECKS.items(), row)}
    cmdline, comm = raw_bytes(values["command"]), raw_bytes(values["comm"])
    text = escaper.text
    state = text(raw_bytes(values["state"]))
    cgroup = values["cgroup"]
    return ProcessRecord(**dict(
        values,
        tty=text(raw_bytes(values["tty"])), stat=text(raw_bytes(values["stat"])), state=state,
        command=escaper.command(cmdline, comm, state), comm=text(comm),
        # As psxj.sources.proc keeps it: raw, for machine use; nothing prints argv as it is.
        argv=tuple(cmdline.decode("utf-8", "backslashreplace").split("\0")[:-1]),
        cgroup=text(raw_bytes(cgroup)) if cgroup is not None else None,
        host=host,
    ))


def parse_answer(data: bytes) -> Dict[str, Any]:
    """One JSON answer: an object, or BadAnswer (also for the remote side's own error report)."""
    try:
        answer = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadAnswer(_("the answer is not psxj's JSON")) from None
    if not isinstance(answer, dict):
        raise BadAnswer(_("the answer is not a JSON object"))
    if "error" in answer:
        error = answer["error"]
        raise BadAnswer(_("the remote reader failed: {reason}").format(
                            reason=error if isinstance(error, str) else _('no reason given'))[:300])
    return answer


def table_snapshot(data: bytes, host: str, escaper: Escaper, guard: Optional[DecodeGuard] = None) -> Snapshot:
    """A host's table from its remote reader's answer; `guard` may stop it between rows."""
    answer = parse_answer(data)
    rows = answer.get("rows")
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        raise BadAnswer(_("the answer has no list of rows"))
    width = answer.get("pid_width")
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 10:
        raise BadAnswer(_("pid_width must be an integer from 1 to 10"))
    try:
        taken = epoch_seconds(answer.get("time"), "time")
    except ValueError as exc:
        raise BadAnswer(str(exc)) from None
    if guard is None:
        records = [record_from_row(row, host, escaper) for row in rows]
    else:
        guard.rows(len(data), len(rows))
        records = []
        for start in range(0, len(rows), ROWS_BETWEEN_TICKS):
            guard.tick()
            records.extend(record_from_row(row, host, escaper) for row in rows[start:start + ROWS_BETWEEN_TICKS])
    return Snapshot(records, source=f"ssh {host}", taken_at=taken, pid_width=width, from_proc=True,
                    system="linux", time_source=f"{host}'s clock")


def ps_snapshot(text: str, host: str, escaper: Escaper, guard: Optional[DecodeGuard] = None) -> Snapshot:
    """A host's `ps -axj` text, parsed as --load parses it (procps, BSD, macOS): judged from the rows."""
    from psxj.sources.pstext import parse_ps_text

    tick = None
    if guard is not None:
        guard.rows(len(text), text.count("\n"))
        tick = guard.tick
    parsed = parse_ps_text(text, f"{host} (ps -axj)", time.time(), escaper, tick=tick)
    return Snapshot([r._replace(host=host) for r in parsed.records], source=f"ssh {host} (ps -axj)",
                    taken_at=parsed.taken_at, pid_width=parsed.pid_width, system=parsed.system, from_proc=False,
                    time_source=N_("this machine's clock, when the table arrived"))


def checked_text(value: Any, escaper: Escaper, what: str, limit: int = 4096) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise BadAnswer(_("{what} must be a string").format(what=what))
    return escaper.text(raw_bytes(value))


def checked_optional_text(value: Any, escaper: Escaper, what: str) -> Optional[str]:
    return None if value is None else checked_text(value, escaper, what)
