"""Live process events as ps rows: what happens between two refreshes. This module is the model.

Part of the sources stage. Kernel events (psxj.sources.connector) or, where the kernel gives
none, polled snapshots (psxj.sources.event_polling) become ProcessEvents (psxj.sources.
event_tracker): a time, a kind, the process, and its ps columns (PPID PID PGID SID TTY STAT
COMMAND) as they were at that moment. psxj.sources.event_stream chooses the source and runs it
for the command line or, in a thread, for the interface.

A row is event-sourced: the last row psxj had for the process, with what the event changed
applied, because by the time psxj handles an event the process has often moved on (a daemon
forks, calls setsid() and forks again within a millisecond). So:
  FORK      the child's row is the parent's, as fork() copies it (PGID SID TTY TPGID, user,
            COMMAND), with the child's PID and PPID and the STAT of a new runnable process;
  EXEC      the new command is read from /proc, the one value no event carries;
  SID       setsid(): SID = PGID = PID, no terminal;  UID/GID: the event's ids;  COMM: its name;
  EXIT      the last row, with the parent at exit (after any adoption) and state Z.
`row_basis` says which: "read" (from /proc when psxj handled the event), "derived" (the last
row plus the event), "last" (the process is gone: its last row). Rows are read only for
events someone will see (followed or selected), so a fork storm elsewhere costs little.

Threads: the kernel reports every thread's clone and exit; ps shows processes, so a FORK whose
child is not a thread-group leader, and the EXIT, COMM, UID, GID and PTRACE of a non-leader
thread, are dropped (counted in `stats`). EXEC, SID and COREDUMP act on the whole process
whichever thread makes the call, so they are kept and named by the process.
"""

from __future__ import annotations

import sys
from typing import NamedTuple, Optional, Protocol, Tuple

from psxj.model import ProcessRecord
from psxj.sources.proc import state_string

FORK, EXEC, UID, GID, SID, PTRACE, COMM, COREDUMP, EXIT = (
    "FORK", "EXEC", "UID", "GID", "SID", "PTRACE", "COMM", "COREDUMP", "EXIT")
GAP = "GAP"  # events were lost here; what a rescan found follows as polled events
KINDS = (FORK, EXEC, UID, GID, SID, PTRACE, COMM, COREDUMP, EXIT, GAP)

ROW_READ, ROW_DERIVED, ROW_LAST = "read", "derived", "last"


class RecordFilter(Protocol):
    """What narrows the events shown: a psxj.select.Selection (sources do not import select)."""

    def matches(self, record: ProcessRecord) -> bool: ...


class Orphan(NamedTuple):
    """A child of an exiting process, and who adopted it (observed in /proc right after the exit)."""

    pid: int
    command: str             # escaped
    new_parent: int
    new_parent_command: str  # escaped
    start_ticks: Optional[int] = None
    new_parent_namespace_init: bool = False  # the adopter is PID 1 of a PID namespace (a container's init)


class ProcessEvent(NamedTuple):
    """One moment in a process's life, with its ps row then. Strings are escaped: safe to print."""

    time: float                          # wall clock, seconds (shown to the millisecond)
    kind: str                            # one of KINDS
    pid: int                             # the process (thread-group id); 0 for a GAP
    row: Optional[ProcessRecord]         # the ps columns at that moment; None: never known
    row_basis: str = ROW_DERIVED         # ROW_READ, ROW_DERIVED or ROW_LAST (see the module doc)
    row_time: Optional[float] = None     # the moment `row` describes: a /proc read, or the event it follows
    parent_pid: Optional[int] = None     # FORK: the parent; EXIT, COREDUMP: the parent at exit
    parent_command: Optional[str] = None
    born_parent: Optional[int] = None    # EXIT: the parent it had at FORK (or when first seen)
    tracer_pid: Optional[int] = None     # PTRACE: the tracer, 0 when detached
    exit_code: Optional[int] = None      # EXIT: the wait status (exit 3 is 0x300)
    ids: Optional[Tuple[int, int]] = None  # UID, GID: (real, effective)
    comm: Optional[str] = None           # COMM: the new name
    previous: Optional[str] = None       # EXEC: the command before; COMM: the name before
    orphans: Tuple[Orphan, ...] = ()     # EXIT: its children, and who adopted them
    polled: bool = False                 # seen by comparing snapshots, not reported by the kernel
    window: float = 0.0                  # polled: it happened at most this many seconds before `time`
    lost: Optional[int] = None           # GAP: events lost, when known
    since: Optional[float] = None        # GAP: the time of the last event received before the loss
    timestamp_ns: Optional[int] = None   # the kernel's CLOCK_MONOTONIC time, for exact order

    @property
    def identity(self) -> Tuple[int, Optional[int]]:
        return (self.pid, self.row.start_ticks if self.row is not None else None)

    @property
    def adopted_by(self) -> Optional[int]:
        """EXIT: the parent at exit when it is not the one it was born to (it was orphaned)."""
        if self.kind != EXIT or self.born_parent is None or self.parent_pid in (None, 0):
            return None
        return self.parent_pid if self.parent_pid != self.born_parent else None


class EventStats:
    """What a stream dropped on purpose or lost, for the status line and the benchmark."""

    def __init__(self) -> None:
        self.kernel_events = 0
        self.thread_events = 0   # a thread's clone, exit, name, ids or tracing: not a ps row
        self.shown = 0           # ProcessEvents handed out
        self.proc_reads = 0      # /proc rows read for events
        self.gaps = 0
        self.lost: Optional[int] = 0  # None once a loss of unknown size happened

    def add_loss(self, lost: Optional[int]) -> None:
        self.gaps += 1
        self.lost = None if lost is None or self.lost is None else self.lost + lost


# -- memory: what an event holds (for the bounds of psxj.judge.story.EventLog and EventFeed) -------

EVENT_OVERHEAD = 384    # bytes of a ProcessEvent alone (measured: 344)
ROW_OVERHEAD = 704      # and of its row, less the long texts (measured: 1010 for both)


def text_bytes(text: Optional[str]) -> int:
    return sys.getsizeof(text) if text else 0


def event_bytes(event: ProcessEvent) -> int:
    """About what an event holds in memory: its objects and every text it carries, the row's command
    and arguments, the command before an exec, the parent's, its orphans' (the longest, up to
    ARG_MAX each, are what another user controls)."""
    total = EVENT_OVERHEAD + text_bytes(event.previous) + text_bytes(event.parent_command)
    row = event.row
    if row is not None:
        total += ROW_OVERHEAD + text_bytes(row.command) + sum(text_bytes(arg) for arg in row.argv)
    for orphan in event.orphans:
        total += EVENT_OVERHEAD + text_bytes(orphan.command) + text_bytes(orphan.new_parent_command)
    return total


# -- rows: what each event changes (pure) ---------------------------------------------------------

def _stat(row: ProcessRecord, state: str, *, pid: int, sid: int, pgid: int, tpgid: Optional[int],
          threads: Optional[int]) -> str:
    return state_string(state, row.nice or 0, int("L" in row.stat), pid, sid, threads or 1, pgid,
                        -1 if tpgid is None else tpgid)


def row_after_fork(parent: ProcessRecord, child_pid: int, start_ticks: Optional[int],
                   start_time: Optional[float]) -> ProcessRecord:
    """The child as fork() makes it: a copy of the parent, runnable, one thread, no locked memory."""
    stat = state_string("R", parent.nice or 0, 0, child_pid, parent.sid, 1, parent.pgid,
                        -1 if parent.tpgid is None else parent.tpgid)
    return parent._replace(pid=child_pid, ppid=parent.pid, stat=stat, state="R", cpu_seconds=0, threads=1,
                           start_ticks=start_ticks, start_time=start_time, namespace_init=False)


def row_after_setsid(row: ProcessRecord) -> ProcessRecord:
    """setsid(): leader of a new session and of a new process group, with no controlling terminal."""
    pid = row.pid
    stat = _stat(row, "R", pid=pid, sid=pid, pgid=pid, tpgid=-1, threads=row.threads)
    return row._replace(sid=pid, pgid=pid, tty="?", tty_nr=0, tpgid=-1, stat=stat, state="R")


def row_at_exit(row: ProcessRecord, parent: Optional[int]) -> ProcessRecord:
    """The last row of a process that exited: a zombie until its parent (maybe an adopter) reaps it."""
    ppid = parent if parent else row.ppid
    stat = _stat(row, "Z", pid=row.pid, sid=row.sid, pgid=row.pgid, tpgid=row.tpgid, threads=1)
    return row._replace(ppid=ppid, stat=stat, state="Z", threads=1)


def same_process(old: ProcessRecord, new: ProcessRecord) -> bool:
    """Same PID and start time (a start estimated from an event time may be one tick off)."""
    if old.pid != new.pid:
        return False
    if old.start_ticks is None or new.start_ticks is None:
        return True
    return abs(old.start_ticks - new.start_ticks) <= 1
