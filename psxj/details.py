"""Everything psxj can tell about one process, with what each field means.

The detail view and `--json` consumers read this; it never imports Textual. Facts
come from the record and, for a live process, from psutil; a fact the user may not
read says so instead of being left out or guessed.
"""

from __future__ import annotations

import datetime
from typing import Callable, List, NamedTuple, Optional

from psxj.model import ProcessRecord, Snapshot
from psxj.names import group_name, user_name
from psxj.render.escape import safe_text
from psxj.render.psformat import format_time

NOT_READABLE = "not readable (permission denied)"

# What each column means, in plain words: shared by the detail view and the help screen.
COLUMN_MEANINGS = {
    "PPID": "parent process ID: who started it, or who adopted it when that parent exited",
    "PID": "process ID",
    "PGID": "process group ID: the job it belongs to; equals PID for a group leader",
    "SID": "session ID: the login or setsid() it belongs to; equals PID for a session leader",
    "TTY": "controlling terminal; ? when the session has none (daemons, kernel threads)",
    "TPGID": "foreground process group of that terminal; -1 without a terminal",
    "STAT": "state letter, then flags (see below)",
    "UID": "effective user ID: whose permissions it runs with",
    "TIME": "CPU time used, minutes:seconds (user + system)",
    "COMMAND": "arguments, or [name] in brackets when there are none (kernel threads)",
    "KIND": "psxj's judgement: daemon, service, orphan, job... (the first column's mark says the same)",
    "%CPU": "share of one CPU used since the refresh before",
    "RSS": "resident memory: pages in RAM (K, M, G)",
    "START": "when it started: the time today, the date before",
    "ELAPSED": "how long it has run: [[days-]hours:]minutes:seconds",
}

STATE_MEANINGS = {
    "R": "running or runnable",
    "S": "sleeping, waiting for an event; a signal wakes it",
    "D": "uninterruptible sleep, usually disk or network I/O",
    "T": "stopped by a signal (SIGSTOP, Ctrl-Z)",
    "t": "stopped by a debugger",
    "Z": "zombie: exited, waiting for its parent to collect its status",
    "I": "idle kernel thread",
    "X": "dead",
}

FLAG_MEANINGS = {
    "<": "high priority (negative nice)",
    "N": "low priority (positive nice)",
    "L": "has pages locked in memory",
    "s": "session leader",
    "l": "multi-threaded",
    "+": "in the foreground process group of its terminal",
}


class Fact(NamedTuple):
    label: str
    value: str      # escaped: values quote paths and names other users control
    meaning: str = ""


def explain_stat(stat: str) -> List[str]:
    """Each letter of a STAT string, in words."""
    words = []
    if stat:
        words.append(f"{stat[0]}: {STATE_MEANINGS.get(stat[0], 'unknown state')}")
    words.extend(f"{c}: {FLAG_MEANINGS[c]}" for c in stat[1:] if c in FLAG_MEANINGS)
    return words


def _live(read: Callable[[], object]) -> str:
    import psutil

    try:
        value = read()
    except psutil.AccessDenied:
        return NOT_READABLE
    except psutil.NoSuchProcess:
        return "gone (the process has exited)"
    except (OSError, psutil.Error) as exc:
        return f"unknown ({exc})"
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
        return "unknown"
    name = lookup(number)
    return f"{number} ({name})" if name else str(number)


def _kind_facts(kind) -> List[Fact]:
    from psxj.judge.kinds import MEANINGS

    facts = [Fact("kind", kind.name + (" (inferred from the saved row)" if kind.inferred else ""),
                  MEANINGS[kind.name])]
    if kind.supervisor:
        facts.append(Fact("supervisor", kind.supervisor + (f", unit {kind.unit}" if kind.unit else ""),
                          "who started it and watches it"))
    facts.extend(Fact("why" if i == 0 else "", reason) for i, reason in enumerate(kind.reasons))
    return facts


def format_start(start_time: Optional[float]) -> str:
    """A start time as local date and time; a loaded file may hold any number (NaN, 1e300)."""
    try:
        return datetime.datetime.fromtimestamp(start_time).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):
        return "unknown"


def process_facts(snapshot: Snapshot, record: ProcessRecord) -> List[Fact]:
    r = record
    facts = [Fact("host", r.host, "the machine it runs on (psxj --host)")] if r.host is not None else []
    facts += [
        Fact("PID", str(r.pid), COLUMN_MEANINGS["PID"]),
        Fact("PPID", str(r.ppid), COLUMN_MEANINGS["PPID"]),
        Fact("PGID", str(r.pgid), COLUMN_MEANINGS["PGID"] + (" (this process leads it)" if r.group_leader else "")),
        Fact("SID", str(r.sid), COLUMN_MEANINGS["SID"] + (" (this process leads it)" if r.session_leader else "")),
        Fact("TTY", r.tty, COLUMN_MEANINGS["TTY"]),
        Fact("TPGID", "unknown" if r.tpgid is None else str(r.tpgid), COLUMN_MEANINGS["TPGID"]),
        Fact("STAT", r.stat, "; ".join(explain_stat(r.stat))),
        Fact("UID", _name(r.euid, user_name) if snapshot.live else (r.user or _name(r.euid, lambda _: None)),
             COLUMN_MEANINGS["UID"]),
        Fact("real user", _name(r.ruid, user_name) if snapshot.live else _name(r.ruid, lambda _: None),
             "who started it; differs from UID for setuid programs"),
        Fact("groups", f"effective {_name(r.egid, group_name)}, real {_name(r.rgid, group_name)}"
             if snapshot.live else "unknown"),
        Fact("TIME", format_time(r.cpu_seconds).strip(), COLUMN_MEANINGS["TIME"]),
        Fact("COMMAND", r.command, COLUMN_MEANINGS["COMMAND"]),
        Fact("name", r.comm, "the kernel's 15-byte command name (comm)"),
        Fact("kernel thread", "yes" if r.kernel_thread else "no", "PF_KTHREAD: a worker of the kernel itself"),
        *_kind_facts(snapshot.kind_of(r)),
        Fact("nice", "unknown" if r.nice is None else str(r.nice), "scheduling niceness, -20 (greedy) to 19"),
        Fact("threads", "unknown" if r.threads is None else str(r.threads)),
        Fact("started", format_start(r.start_time)),
    ]
    if snapshot.live and not r.kernel_thread:
        import psutil

        try:
            process = psutil.Process(r.pid)
        except psutil.NoSuchProcess:
            facts.append(Fact("status", "gone (the process has exited)"))
        else:
            facts += [
                Fact("executable", _live(process.exe)),
                Fact("cwd", _live(process.cwd), "current directory; a daemon moves to / so no disk stays busy"),
                Fact("open descriptors", _live(process.num_fds)),
                Fact("memory", _live(lambda: _memory(process.memory_info()))),
            ]
    chain = snapshot.ancestry(r)
    facts.append(Fact("parent chain", " <- ".join(f"{p.pid} {p.comm}" for p in chain)
                      + ("" if chain[-1].ppid == 0 else f" <- {chain[-1].ppid} (not in the table)")))
    children = snapshot.children(r.pid, r.host)
    facts.append(Fact("children", ", ".join(f"{c.pid} {c.comm}" for c in children[:20])
                      + (f" and {len(children) - 20} more" if len(children) > 20 else "") if children else "none"))
    # One boundary: an executable path or cwd may hold ESC, BEL or OSC sequences.
    return [fact._replace(value=safe_text(fact.value)) for fact in facts]
