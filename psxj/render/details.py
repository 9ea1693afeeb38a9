"""Everything psxj can tell about one process, with what each field means.

Part of the views (psxj.render): the detail view (psxj.tui.details) and the help show it. Facts
come from the record and, for a live process, from psutil; a fact the user may not
read says so instead of being left out or guessed.
"""

from __future__ import annotations

import datetime
from typing import Callable, List, NamedTuple, Optional

from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.judge.kinds import kind_of
from psxj.model import ProcessRecord, Snapshot
from psxj.render.psformat import format_time
from psxj.sources.names import group_name, user_name

NOT_READABLE = N_("not readable (permission denied)")

# What each column means, in plain words: shared by the detail view and the help screen.
COLUMN_MEANINGS = {
    "PPID": N_("parent process ID: who started it, or who adopted it when that parent exited"),
    "PID": N_("process ID"),
    "PGID": N_("process group ID: the job it belongs to; equals PID for a group leader"),
    "SID": N_("session ID: the login or setsid() it belongs to; equals PID for a session leader"),
    "TTY": N_("controlling terminal; ? when the session has none (daemons, kernel threads)"),
    "TPGID": N_("foreground process group of that terminal; -1 without a terminal"),
    "STAT": N_("state letter, then flags (see below)"),
    "UID": N_("effective user ID: whose permissions it runs with"),
    "USER": N_("the effective user by name (this machine's names; a number where it has none)"),
    "TIME": N_("CPU time used, minutes:seconds (user + system)"),
    "COMMAND": N_("arguments, or [name] in brackets when there are none (kernel threads)"),
    "KIND": N_("psxj's judgement: daemon, service, orphan, job... (the first column's mark says the same)"),
    "%CPU": N_("share of one CPU used since the refresh before"),
    "RSS": N_("resident memory: pages in RAM (K, M, G)"),
    "START": N_("when it started: the time today, the date before"),
    "ELAPSED": N_("how long it has run: [[days-]hours:]minutes:seconds"),
}

STATE_MEANINGS = {
    "R": N_("running or runnable"),
    "S": N_("sleeping, waiting for an event; a signal wakes it"),
    "D": N_("uninterruptible sleep, usually disk or network I/O"),
    "T": N_("stopped by a signal (SIGSTOP, Ctrl-Z)"),
    "t": N_("stopped by a debugger"),
    "Z": N_("zombie: exited, waiting for its parent to collect its status"),
    "I": N_("idle kernel thread"),
    "X": N_("dead"),
}

FLAG_MEANINGS = {
    "<": N_("high priority (negative nice)"),
    "N": N_("low priority (positive nice)"),
    "L": N_("has pages locked in memory"),
    "s": N_("session leader"),
    "l": N_("multi-threaded"),
    "+": N_("in the foreground process group of its terminal"),
}


def column_meaning(header: str) -> str:
    """What a column means, in the chosen language."""
    return _(COLUMN_MEANINGS[header])


class Fact(NamedTuple):
    label: str
    value: str      # escaped: values quote paths and names other users control
    meaning: str = ""


def explain_stat(stat: str) -> List[str]:
    """Each letter of a STAT string, in words."""
    words = []
    if stat:
        words.append(f"{stat[0]}: {_(STATE_MEANINGS.get(stat[0], N_('unknown state')))}")
    words.extend(f"{c}: {_(FLAG_MEANINGS[c])}" for c in stat[1:] if c in FLAG_MEANINGS)
    return words


def _live(read: Callable[[], object]) -> str:
    import psutil

    try:
        value = read()
    except psutil.AccessDenied:
        return _(NOT_READABLE)
    except psutil.NoSuchProcess:
        return _("gone (the process has exited)")
    except (OSError, psutil.Error) as exc:
        return _("unknown ({error})").format(error=exc)
    return "" if value is None else str(value)


def _bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


def _memory(info) -> str:
    return f"RSS {_bytes(info.rss)}, VSZ {_bytes(info.vms)}"


def _name(number: Optional[int], lookup: Callable[[Optional[int]], Optional[str]]) -> str:
    if number is None:
        return _("unknown")
    name = lookup(number)
    return f"{number} ({name})" if name else str(number)


def _kind_facts(kind) -> List[Fact]:
    from psxj.judge.kinds import MEANINGS

    facts = [Fact(_("kind"), kind.name + (_(" (inferred from the saved row)") if kind.inferred else ""),
                  _(MEANINGS[kind.name]))]
    if kind.supervisor:
        facts.append(Fact(_("supervisor"), safe_text(kind.supervisor + (_(", unit {unit}").format(unit=kind.unit)
                                                                        if kind.unit else "")),
                          _("who started it and watches it")))
    elif kind.unit:
        facts.append(Fact(_("unit"), safe_text(kind.unit), _("the systemd unit whose cgroup holds it")))
    if kind.role:
        from psxj.judge.units import ROLE_MEANINGS

        facts.append(Fact(_("role"), kind.role, _(ROLE_MEANINGS.get(kind.role, ""))))
    if kind.container:
        facts.append(Fact(_("container"), safe_text(kind.container),
                          _("the container it belongs to, seen from the host")))
    facts.extend(Fact(_("why") if i == 0 else "", reason) for i, reason in enumerate(kind.reasons))
    return facts


def format_start(start_time: Optional[float]) -> str:
    """A start time as local date and time; a loaded file may hold any number (NaN, 1e300)."""
    try:
        return datetime.datetime.fromtimestamp(start_time).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return _("unknown")


def process_facts(snapshot: Snapshot, record: ProcessRecord) -> List[Fact]:
    r = record
    facts = [Fact(_("host"), r.host, _("the machine it runs on (psxj --host)"))] if r.host is not None else []
    leads = _(" (this process leads it)")
    facts += [
        Fact("PID", str(r.pid), column_meaning("PID")),
        Fact("PPID", str(r.ppid), column_meaning("PPID")),
        Fact("PGID", str(r.pgid), column_meaning("PGID") + (leads if r.group_leader else "")),
        Fact("SID", str(r.sid), column_meaning("SID") + (leads if r.session_leader else "")),
        Fact("TTY", r.tty, column_meaning("TTY")),
        Fact("TPGID", _("unknown") if r.tpgid is None else str(r.tpgid), column_meaning("TPGID")),
        Fact("STAT", r.stat, "; ".join(explain_stat(r.stat))),
        Fact("UID", _name(r.euid, user_name) if snapshot.live else (r.user or _name(r.euid, lambda uid: None)),
             column_meaning("UID")),
        Fact(_("real user"), _name(r.ruid, user_name) if snapshot.live else _name(r.ruid, lambda uid: None),
             _("who started it; differs from UID for setuid programs")),
        Fact(_("groups"), _("effective {effective}, real {real}").format(effective=_name(r.egid, group_name),
                                                                          real=_name(r.rgid, group_name))
             if snapshot.live else _("unknown")),
        Fact("TIME", format_time(r.cpu_seconds).strip(), column_meaning("TIME")),
        Fact("COMMAND", r.command, column_meaning("COMMAND")),
        Fact(_("name"), r.comm, _("the kernel's 15-byte command name (comm)")),
        Fact(_("kernel thread"), _("yes") if r.kernel_thread else _("no"),
             _("PF_KTHREAD: a worker of the kernel itself")),
        *_kind_facts(kind_of(snapshot, r)),
        Fact(_("nice"), _("unknown") if r.nice is None else str(r.nice),
             _("scheduling niceness, -20 (greedy) to 19")),
        Fact(_("threads"), _("unknown") if r.threads is None else str(r.threads)),
        Fact(_("started"), format_start(r.start_time)),
    ]
    if snapshot.live and not r.kernel_thread:
        import psutil

        try:
            process = psutil.Process(r.pid)
        except psutil.NoSuchProcess:
            facts.append(Fact(_("status"), _("gone (the process has exited)")))
        else:
            facts += [
                Fact(_("executable"), _live(process.exe)),
                Fact("cwd", _live(process.cwd), _("current directory; a daemon moves to / so no disk stays busy")),
                Fact(_("open descriptors"), _live(process.num_fds)),
                Fact(_("memory"), _live(lambda: _memory(process.memory_info()))),
            ]
    chain = snapshot.ancestry(r)
    facts.append(Fact(_("parent chain"), " <- ".join(f"{p.pid} {p.comm}" for p in chain)
                      + ("" if chain[-1].ppid == 0 else _(" <- {ppid} (not in the table)").format(
                          ppid=chain[-1].ppid))))
    children = snapshot.children(r.pid, r.host)
    facts.append(Fact(_("children"), ", ".join(f"{c.pid} {c.comm}" for c in children[:20])
                      + (_(" and {count} more").format(count=len(children) - 20) if len(children) > 20 else "")
                      if children else _("none")))
    # One boundary: an executable path or cwd may hold ESC, BEL or OSC sequences.
    return [fact._replace(value=safe_text(fact.value)) for fact in facts]
