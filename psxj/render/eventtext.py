"""Process events as words, log lines and JSON: the view of psxj.sources.events.

One sentence per event in psxj's terms ("setsid(): new session 18154, no terminal", "exit 0;
adopted by 1 (init)"), shared by `psxj events` and the interface's events pane. Every string
that came from a process is already escaped in the event (COMMAND via the record, names via
safe_text); what is built here from numbers needs none.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Optional, Tuple

from psxj.escape import Escaper, safe_text
from psxj.i18n import _, ngettext, untranslated
from psxj.sources.cn_proc import wait_status_text
from psxj.sources.events import (
    COMM,
    COREDUMP,
    EXEC,
    EXIT,
    FORK,
    GAP,
    GID,
    PTRACE,
    ROW_LAST,
    SID,
    UID,
    ProcessEvent,
)

COMMAND_CELLS = 32   # COMMAND is cut to this in a log line; --json carries it whole
NAME_CELLS = 40      # a parent's or adopter's command inside a sentence


_last_second = [-1, ""]  # a log prints many events per second: format each second once


def clock(seconds: float) -> str:
    """HH:MM:SS.mmm, local time."""
    whole = int(seconds)
    if whole != _last_second[0]:
        _last_second[:] = [whole, time.strftime("%H:%M:%S", time.localtime(whole))]
    return f"{_last_second[1]}.{int((seconds - whole) * 1000):03d}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _cut(text: Optional[str], cells: int = NAME_CELLS) -> str:
    if text is None:
        return "?"
    text = safe_text(text)  # already escaped by the source; this keeps a stray control out anyway
    return text if len(text) <= cells and text.isascii() else Escaper(True).fit(text, cells - 1) + "…"


def process_name(pid: Optional[int], command: Optional[str]) -> str:
    """'1 (init)', '4242 (bash)': a PID with its command, PID 1 named for its role."""
    if pid is None:
        return "?"
    if pid == 1:
        return "1 (init)"
    return f"{pid} ({_cut(command)})" if command else str(pid)


def describe(event: ProcessEvent) -> str:
    """What happened, in one sentence."""
    kind = event.kind
    if kind == GAP:
        lost = _("events lost") if event.lost is None else \
            ngettext("{lost} event lost", "{lost} events lost", event.lost).format(lost=event.lost)
        since = _(" after {clock}").format(clock=clock(event.since)) if event.since else ""
        return (_("{lost}{since} (the receive buffer overflowed): rescanned /proc; until here, stories of "
                  "processes alive then may miss steps").format(lost=lost, since=since))
    row = event.row
    polled = event.polled
    if kind == FORK:
        if polled:
            return (_("appeared, born within {ms} before (polled); parent {parent}").format(
                        ms=_ms(event.window),
                        parent=process_name(event.parent_pid, event.parent_command)))
        return _("forked by {parent}").format(parent=process_name(event.parent_pid, event.parent_command))
    if kind == EXEC:
        if polled:
            return _("command changed within {ms} (polled: exec, or rewritten arguments)").format(
                       ms=_ms(event.window))
        if event.row_basis == ROW_LAST and event.comm:
            return _("exec of {name}; it exited before its arguments could be read").format(name=_cut(event.comm))
        if event.row_basis == ROW_LAST:
            return _("exec; it exited before its new command could be read")
        return _("exec (was: {previous})").format(previous=_cut(event.previous)) if event.previous else "exec"
    if kind == SID:
        sid = row.sid if row is not None else event.pid
        if polled:
            return _("now in session {sid}, changed within {ms} (polled)").format(sid=sid, ms=_ms(event.window))
        return _("setsid(): new session {sid}, no terminal").format(sid=sid)
    if kind in (UID, GID):
        word = "uid" if kind == UID else "gid"
        real, effective = event.ids or (None, None)
        text = _("{word}: real {real}, effective {effective}").format(word=word, real=real, effective=effective)
        return text + _(", changed within {ms} (polled)").format(ms=_ms(event.window)) if polled else text
    if kind == COMM:
        text = _("name now '{comm}' (was '{previous}')").format(comm=_cut(event.comm), previous=_cut(event.previous))
        return text + " (polled)" if polled else text
    if kind == PTRACE:
        if not event.tracer_pid:
            return _("ptrace: detached")
        return _("ptrace: traced by {tracer}").format(
                   tracer=process_name(event.tracer_pid, event.parent_command))
    if kind == COREDUMP:
        return _("dumping core")
    if kind == EXIT:
        return _describe_exit(event)
    return kind


def _describe_exit(event: ProcessEvent) -> str:
    if event.polled:
        parts = [_("gone, exited within {ms} before (polled: exit status unknown)").format(ms=_ms(event.window))]
    else:
        parts = [wait_status_text(event.exit_code or 0)]
    adopter = event.adopted_by
    if adopter is not None:
        parts.append(_("parent was {born_parent}, adopted by {adopter}").format(
                         born_parent=event.born_parent,
                         adopter=process_name(adopter, event.parent_command)))
    for orphan in event.orphans:
        parts.append(_("its child {pid} ({command}) adopted by {adopter}").format(
                         pid=orphan.pid,
                         command=_cut(orphan.command, 24),
                         adopter=process_name(orphan.new_parent, orphan.new_parent_command)))
    if event.row_basis == ROW_LAST and event.row_time is not None and event.time - event.row_time > 1:
        parts.append(_("row as of {clock}").format(clock=clock(event.row_time)))
    return "; ".join(parts)


class EventLines:
    """Log lines with ps's -j columns: TIME EVENT PPID PID PGID SID TTY STAT COMMAND WHAT."""

    def __init__(self, pid_width: int = 5) -> None:
        self.pid_width = max(pid_width, 5)
        w = self.pid_width
        self._row = f"{{:<12}} {{:<8}} {{:>{w}}} {{:>{w}}} {{:>{w}}} {{:>{w}}} {{:<8}} {{:<4}} "

    def header(self) -> str:
        return self._row.format("TIME", "EVENT", "PPID", "PID", "PGID", "SID", "TTY", "STAT") + \
            f"{'COMMAND':<{COMMAND_CELLS}}  WHAT"

    def line(self, event: ProcessEvent) -> str:
        columns, what = self.parts(event)
        return f"{columns}  {what}"

    def parts(self, event: ProcessEvent) -> Tuple[str, str]:
        """(the line's columns, COMMAND included; what happened): the events pane wraps the second."""
        row = event.row
        name = event.kind + ("~" if event.polled else "")
        if row is None:
            cells = self._row.format(clock(event.time), name, "-" if event.parent_pid is None else event.parent_pid,
                                     event.pid or "-", "-", "-", "-", "-")
            command = "-"
        else:
            cells = self._row.format(clock(event.time), name, row.ppid, row.pid, row.pgid, row.sid, row.tty,
                                     row.stat)
            command = row.command
        if len(command) > COMMAND_CELLS or not command.isascii():
            command = Escaper(True).fit(command, COMMAND_CELLS)
        return f"{cells}{command:<{COMMAND_CELLS}}", describe(event)


def as_json(event: ProcessEvent) -> Dict[str, Any]:
    """One event as a JSON object: the ps columns at the top level, for jq."""
    row = event.row
    data: Dict[str, Any] = {
        "time": round(event.time, 3), "clock": clock(event.time), "event": event.kind, "polled": event.polled,
        "pid": event.pid or None,
    }
    if row is not None:
        data.update({"ppid": row.ppid, "pgid": row.pgid, "sid": row.sid, "tty": row.tty, "tpgid": row.tpgid,
                     "stat": row.stat, "uid": row.euid, "command": row.command, "comm": row.comm,
                     "start_ticks": row.start_ticks})
    with untranslated():  # JSON is machine output: its words are English whatever the language
        what = describe(event)
        exit_text = wait_status_text(event.exit_code or 0)
    data.update({
        "row_basis": event.row_basis if row is not None else None,
        "row_as_of": round(event.row_time, 3) if event.row_time is not None else None,
        "parent": None if event.parent_pid is None else {"pid": event.parent_pid, "command": event.parent_command},
        "what": what,
    })
    if event.kind == EXIT:
        data["exit"] = None if event.polled else {"status": event.exit_code,
                                                  "text": exit_text}
        data["born_parent"] = event.born_parent
        data["adopted_by"] = event.adopted_by
        data["orphans"] = [{"pid": o.pid, "command": o.command, "adopted_by": o.new_parent,
                            "adopter_command": o.new_parent_command} for o in event.orphans]
    if event.ids is not None:
        data["ids"] = {"real": event.ids[0], "effective": event.ids[1]}
    if event.kind in (EXEC, COMM):
        data["previous"] = event.previous
    if event.kind == COMM:
        data["name"] = event.comm
    if event.kind == PTRACE:
        data["tracer"] = event.tracer_pid
    if event.polled:
        data["window_ms"] = round(event.window * 1000)
    if event.kind == GAP:
        data["lost"] = event.lost
        data["since"] = round(event.since, 3) if event.since else None
    return data


def json_line(event: ProcessEvent) -> str:
    return json.dumps(as_json(event), ensure_ascii=True)
