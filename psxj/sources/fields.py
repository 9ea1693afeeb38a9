"""psxj's own rows read back: a record from psxj's field names, every value checked.

Part of the loaded source, shared by its readers of psxj's JSON and CSV (psxj.sources.loaded) and of
recordings (psxj.sources.recording): a row means the same and is refused the same way whichever file
it came from.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from psxj.escape import Escaper
from psxj.i18n import _
from psxj.model import ProcessRecord
from psxj.sources.checks import checked, epoch_seconds, parse_time
from psxj.sources.pstext import _kernel_thread_by_look
from psxj.sources.systems import comm_from_command

_REQUIRED = ("pid", "ppid", "pgid", "sid", "tty", "stat", "command")


def _json_int(row: Dict[str, Any], key: str, required: bool = False) -> Optional[int]:
    value = row[key] if required else row.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(_("field {key!r} must be an integer").format(key=key))
    return checked(value, key)


def _json_text(row: Dict[str, Any], key: str, escaper: Escaper, default: Optional[str] = None) -> str:
    value = row.get(key, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, str):
        raise ValueError(_("field {key!r} must be a string").format(key=key))
    return escaper.text(value)


def _json_float(row: Dict[str, Any], key: str) -> Optional[float]:
    value = row.get(key)
    return None if value is None else epoch_seconds(value, _("field {key!r}").format(key=key))


def json_optional_text(row: Dict[str, Any], key: str, escaper: Escaper) -> Optional[str]:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(_("field {key!r} must be a string").format(key=key))
    return escaper.text(value)


def record_from_fields(row: Any, escaper: Escaper) -> ProcessRecord:
    """A record from psxj's own field names (its JSON, its CSV, a recording), every value
    checked: integers in the kernel's ranges, finite times, strings escaped."""
    if not isinstance(row, dict):
        raise ValueError(_("expected an object"))
    for key in _REQUIRED:
        row[key]  # KeyError names the missing field
    pid = _json_int(row, "pid", True)
    ppid = _json_int(row, "ppid", True)
    euid = _json_int(row, "euid") if row.get("euid") is not None else _json_int(row, "uid")
    stat = _json_text(row, "stat", escaper)
    command = _json_text(row, "command", escaper)
    cpu = _json_int(row, "cpu_seconds")
    if cpu is None and row.get("time") not in (None, "-"):
        cpu = parse_time(str(row["time"]))
    argv = row.get("argv")
    if argv is not None and not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise ValueError(_("field 'argv' must be a list of strings"))
    kernel = row.get("kernel_thread")
    return ProcessRecord(
        pid=pid, ppid=ppid, pgid=_json_int(row, "pgid", True), sid=_json_int(row, "sid", True),
        tty=_json_text(row, "tty", escaper), tpgid=_json_int(row, "tpgid"), stat=stat,
        euid=euid, cpu_seconds=cpu, command=command,
        comm=_json_text(row, "comm", escaper, default=comm_from_command(command)),
        state=_json_text(row, "state", escaper, default=stat[:1]),
        kernel_thread=bool(kernel) if kernel is not None else _kernel_thread_by_look(command, ppid, pid),
        # argv stays as the live source keeps it (raw, for machine use); nothing prints it as is.
        argv=tuple(argv) if argv is not None else None,
        tty_nr=_json_int(row, "tty_nr"), flags=_json_int(row, "flags"), nice=_json_int(row, "nice"),
        threads=_json_int(row, "threads"), ruid=_json_int(row, "ruid"), rgid=_json_int(row, "rgid"),
        egid=_json_int(row, "egid"), start_ticks=_json_int(row, "start_ticks"),
        start_time=_json_float(row, "start_time"), namespace_init=bool(row.get("namespace_init", False)),
        user=json_optional_text(row, "user", escaper),
        cgroup=json_optional_text(row, "cgroup", escaper),
        cpu_ticks=_json_int(row, "cpu_ticks"), rss_kb=_json_int(row, "rss_kb"),
        session_key=json_optional_text(row, "session_key", escaper),
        host=json_optional_text(row, "host", escaper),
    )
