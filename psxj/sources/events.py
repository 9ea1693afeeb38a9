"""Live process events as ps rows: what happens between two refreshes.

Part of the sources stage. Kernel events (psxj.sources.connector) or, where the kernel gives
none, polled snapshots (psxj.sources.event_polling) become ProcessEvents: a time, a kind, the
process, and its ps columns (PPID PID PGID SID TTY STAT COMMAND) as they were at that moment.

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

import collections
import threading
import time
from typing import Callable, Deque, Dict, Iterable, List, NamedTuple, Optional, Set, Tuple, Union

from psxj.errors import PsxjError
from psxj.model import ProcessRecord
from psxj.render.escape import safe_text
from psxj.sources.cn_proc import (
    PROC_EVENT_COMM,
    PROC_EVENT_COREDUMP,
    PROC_EVENT_EXEC,
    PROC_EVENT_EXIT,
    PROC_EVENT_FORK,
    PROC_EVENT_GID,
    PROC_EVENT_PTRACE,
    PROC_EVENT_SID,
    PROC_EVENT_UID,
    KernelEvent,
)
from psxj.sources.connector import Gap
from psxj.sources.proc import ProcReader, parse_stat, read_file, state_string

FORK, EXEC, UID, GID, SID, PTRACE, COMM, COREDUMP, EXIT = (
    "FORK", "EXEC", "UID", "GID", "SID", "PTRACE", "COMM", "COREDUMP", "EXIT")
GAP = "GAP"  # events were lost here; what a rescan found follows as polled events
KINDS = (FORK, EXEC, UID, GID, SID, PTRACE, COMM, COREDUMP, EXIT, GAP)

ROW_READ, ROW_DERIVED, ROW_LAST = "read", "derived", "last"
REREAD_PARENT_AFTER = 1.0  # seconds: a parent's row older than this is read again before a FORK shows it
LINGER = 0.02        # in a storm, seconds to let events gather after the first: 50 wake-ups a second
STORM_RATE = 200     # kernel events a second from which psxj lingers; below it each is handled at once


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


class KernelClock:
    """Kernel event times (CLOCK_MONOTONIC ns) as wall-clock seconds and as /proc start ticks."""

    def __init__(self, hertz: int, boot: float) -> None:
        self.hertz = hertz
        self.boot = boot
        self.refresh()

    def refresh(self) -> None:
        # Read together, so the offsets hold to a microsecond; refreshed now and then for NTP steps.
        mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        self.wall_offset_ns = time.time_ns() - mono
        self.boot_offset_ns = time.clock_gettime_ns(time.CLOCK_BOOTTIME) - mono
        self.refreshed = time.monotonic()

    def wall(self, timestamp_ns: int) -> float:
        return (timestamp_ns + self.wall_offset_ns) / 1e9

    def start_ticks(self, timestamp_ns: int) -> int:
        """/proc/PID/stat's start time for a process forked at this kernel time (to a tick)."""
        return (timestamp_ns + self.boot_offset_ns) * self.hertz // 1_000_000_000


def parent_now(pid: int) -> Optional[int]:
    """A live process's PPID from /proc/PID/stat (one small read), or None once it is gone."""
    try:
        return int(parse_stat(read_file(f"/proc/{pid}/stat"))[1][1])
    except (OSError, IndexError, ValueError):
        return None


def process_of(event: KernelEvent) -> Optional[int]:
    """The process a kernel event is about, or None when it concerns only a thread."""
    what = event.what
    if what in (PROC_EVENT_EXEC, PROC_EVENT_SID, PROC_EVENT_COREDUMP):
        return event.tgid  # process-wide, whichever thread called
    return event.tgid if event.pid == event.tgid else None


class EventTracker:
    """Turns kernel events (or polled snapshots) into ProcessEvents, keeping each live process's row.

    `follow`: a PID whose process and descendants (born before or after start) are kept.
    `selection`: ps selectors, matched against the row at each event. Both narrow what is shown
    (and so what is read from /proc); without either, every process is shown.
    """

    def __init__(self, reader: ProcReader, follow: Optional[int] = None, selection=None) -> None:
        self.reader = reader
        self.clock = KernelClock(reader.hertz, reader.boot)
        self.follow = follow
        self.selection = selection if selection else None
        self.followed: Optional[Set[int]] = None if follow is None else set()
        self.rows: Dict[int, ProcessRecord] = {}
        self.row_time: Dict[int, float] = {}  # the moment each row describes
        self.born_parent: Dict[int, int] = {}
        self.children: Dict[int, Set[int]] = collections.defaultdict(set)
        self.stats = EventStats()
        self.parent_now: Callable[[int], Optional[int]] = parent_now
        # Exits already told (PID -> start ticks), so a zombie found by a later scan is not news.
        self._exited: "collections.OrderedDict[int, Optional[int]]" = collections.OrderedDict()
        self._last_event_time: Optional[float] = None

    # -- what to show --------------------------------------------------------------------------
    def wanted(self, pid: int, row: Optional[ProcessRecord]) -> bool:
        if self.followed is not None and pid not in self.followed:
            return False
        if self.selection is not None:
            return row is not None and self.selection.matches(row)
        return True

    def may_want(self, pid: int) -> bool:
        """Could reading this process's row make it shown? Not outside a followed tree."""
        return self.followed is None or pid in self.followed

    # -- the registry --------------------------------------------------------------------------
    def seed(self, records: Iterable[ProcessRecord], taken_at: Optional[float] = None) -> None:
        """The processes alive at start; with `follow`, the followed process must be one of them."""
        now = time.time() if taken_at is None else taken_at
        for record in records:
            self._set_row(record.pid, record, now)
        if self.followed is not None:
            root = self.rows.get(self.follow)
            if root is None:
                raise PsxjError(f"events: no process with PID {self.follow}")
            self.followed.add(root.pid)
            pending = [root.pid]
            while pending:  # its descendants alive now
                pid = pending.pop()
                for child in self.children.get(pid, ()):
                    if child not in self.followed:
                        self.followed.add(child)
                        pending.append(child)

    def _set_row(self, pid: int, row: ProcessRecord, read_at: Optional[float] = None) -> None:
        old = self.rows.get(pid)
        if old is not None and old.ppid != row.ppid:
            self.children[old.ppid].discard(pid)
        self.rows[pid] = row
        self.children[row.ppid].add(pid)
        if read_at is not None:
            self.row_time[pid] = read_at

    def _forget(self, pid: int) -> None:
        row = self.rows.pop(pid, None)
        if row is not None:
            kids = self.children.get(row.ppid)
            if kids is not None:
                kids.discard(pid)
                if not kids:
                    del self.children[row.ppid]
        self.row_time.pop(pid, None)
        self.born_parent.pop(pid, None)
        if self.followed is not None:
            self.followed.discard(pid)

    def _read(self, pid: int) -> Optional[ProcessRecord]:
        """The process's row from /proc now, or None when it is gone or the PID is someone else's."""
        self.stats.proc_reads += 1
        row = self.reader.read_process(pid)
        if row is None:
            return None
        known = self.rows.get(pid)
        if known is not None and not same_process(known, row):
            return None
        self._set_row(pid, row, time.time())
        return row

    def command_of(self, pid: Optional[int]) -> Optional[str]:
        row = self.rows.get(pid) if pid else None
        return row.command if row is not None else None

    # -- kernel events -------------------------------------------------------------------------
    def handle(self, items: Iterable[Union[KernelEvent, Gap]]) -> List[ProcessEvent]:
        out: List[ProcessEvent] = []
        for item in items:
            if isinstance(item, Gap):
                out.extend(self._gap(item))
                continue
            self.stats.kernel_events += 1
            pid = process_of(item)
            if pid is None:
                self.stats.thread_events += 1
                continue
            event = self._handle(item, pid)
            if event is not None:
                out.append(event)
        self.stats.shown += len(out)
        if time.monotonic() - self.clock.refreshed > 10:
            self.clock.refresh()
        return out

    def _handle(self, ev: KernelEvent, pid: int) -> Optional[ProcessEvent]:
        what = ev.what
        when = self.clock.wall(ev.timestamp_ns)
        self._last_event_time = when
        if what == PROC_EVENT_FORK:
            return self._fork(ev, pid, when)
        if what == PROC_EVENT_EXIT:
            return self._exit(ev, pid, when)
        row = self.rows.get(pid)
        basis = ROW_DERIVED
        if what == PROC_EVENT_EXEC:
            previous = row.command if row is not None else None
            if self.may_want(pid):
                fresh = self._read(pid)
                if fresh is not None:
                    row, basis = fresh, ROW_READ
                elif row is not None:
                    basis = ROW_LAST  # gone before its new command could be read
            else:
                self._forget_row_only(pid)  # its command changed and nobody shows it: forget the old one
                return None
            if not self.wanted(pid, row):
                return None
            return self._event(when, EXEC, pid, row, basis, ev, previous=previous)
        if row is None and self.may_want(pid):
            row = self._read(pid)
            basis = ROW_READ
        if row is None:
            return None
        if what == PROC_EVENT_SID:
            row = row_after_setsid(row) if basis == ROW_DERIVED else row
            self._set_row(pid, row, when)
            kind = SID
        elif what in (PROC_EVENT_UID, PROC_EVENT_GID):
            real, effective = ev.real_id, ev.effective_id
            if basis == ROW_DERIVED:
                row = (row._replace(ruid=real, euid=effective) if what == PROC_EVENT_UID
                       else row._replace(rgid=real, egid=effective))
                self._set_row(pid, row, when)
            kind = UID if what == PROC_EVENT_UID else GID
        elif what == PROC_EVENT_COMM:
            previous = row.comm
            name = safe_text(ev.comm or b"")
            if basis == ROW_DERIVED:
                # A process without arguments (a kernel thread) shows its name as COMMAND: [name].
                row = row._replace(comm=name, command=row.command if row.argv else f"[{name}]")
                self._set_row(pid, row, when)
            if not self.wanted(pid, row):
                return None
            return self._event(when, COMM, pid, row, basis, ev, comm=name, previous=previous)
        elif what == PROC_EVENT_PTRACE:
            kind = PTRACE
        elif what == PROC_EVENT_COREDUMP:
            kind = COREDUMP
        else:
            return None  # an event type this psxj does not know
        if not self.wanted(pid, row):
            return None
        if kind in (UID, GID):
            return self._event(when, kind, pid, row, basis, ev, ids=(ev.real_id, ev.effective_id))
        if kind == PTRACE:
            return self._event(when, kind, pid, row, basis, ev, tracer_pid=ev.related_tgid,
                               parent_command=self.command_of(ev.related_tgid))
        if kind == COREDUMP:
            return self._event(when, kind, pid, row, basis, ev, parent_pid=ev.related_tgid or None,
                               parent_command=self.command_of(ev.related_tgid))
        return self._event(when, kind, pid, row, basis, ev)

    def _forget_row_only(self, pid: int) -> None:
        row = self.rows.pop(pid, None)
        if row is not None:
            self.children[row.ppid].discard(pid)
        self.row_time.pop(pid, None)

    def _event(self, when: float, kind: str, pid: int, row: Optional[ProcessRecord], basis: str,
               ev: Optional[KernelEvent], **fields) -> ProcessEvent:
        return ProcessEvent(when, kind, pid, row, basis, self.row_time.get(pid),
                            timestamp_ns=ev.timestamp_ns if ev is not None else None, **fields)

    def _fork(self, ev: KernelEvent, child: int, when: float) -> Optional[ProcessEvent]:
        parent = ev.related_tgid
        if child in self.rows:
            self._forget(child)  # a PID reused after an exit psxj did not see
        self.born_parent[child] = parent
        if self.followed is not None and parent in self.followed:
            self.followed.add(child)
        row: Optional[ProcessRecord] = None
        parent_row = self.rows.get(parent)
        if self.may_want(child) and (parent_row is None or
                                     when - self.row_time.get(parent, 0.0) > REREAD_PARENT_AFTER):
            parent_row = self._read(parent) or parent_row  # catch what no event reports (setpgid)
        if parent_row is None or parent_row.kernel_thread:
            # A kernel thread is named by its creator just after the fork: its copy of kthreadd's
            # row would say nothing, so it is read (kernel threads are born rarely).
            row = self._read(child) if self.may_want(child) else None
            basis = ROW_READ
        if row is None and parent_row is not None:
            ticks = self.clock.start_ticks(ev.timestamp_ns)
            row = row_after_fork(parent_row, child, ticks, self.clock.boot + ticks / self.clock.hertz)
            basis = ROW_DERIVED
            self._set_row(child, row, when)
        if row is None or not self.wanted(child, row):
            return None
        return self._event(when, FORK, child, row, basis, ev, parent_pid=parent,
                           parent_command=parent_row.command if parent_row is not None else None)

    def _exit(self, ev: KernelEvent, pid: int, when: float) -> Optional[ProcessEvent]:
        parent = ev.related_tgid
        row = self.rows.get(pid)
        basis = ROW_LAST
        if row is None and self.may_want(pid):
            row = self._read(pid)  # a zombie's /proc row still holds its PGID, SID and TTY
            basis = ROW_READ
        born_parent = self.born_parent.get(pid, row.ppid if row is not None else None)
        self._note_exit(pid, row.start_ticks if row is not None else None)
        orphans = self._adoptions(pid)
        show = row is not None and self.wanted(pid, row)
        if row is not None:
            row = row_at_exit(row, parent)
        event = None
        if show or orphans and any(self.wanted(o.pid, self.rows.get(o.pid)) for o in orphans):
            event = self._event(when, EXIT, pid, row, basis, ev, parent_pid=parent or None,
                                parent_command=self.command_of(parent), born_parent=born_parent,
                                exit_code=ev.exit_code, orphans=orphans)
        self._forget(pid)
        return event

    def _adoptions(self, pid: int) -> Tuple[Orphan, ...]:
        """Its children that are still alive, and their new parent: the kernel reparents them before
        it reports the exit (exit_notify() runs before proc_exit_connector())."""
        kids = self.children.get(pid)
        if not kids:
            return ()
        orphans = []
        for child in sorted(kids):
            row = self.rows.get(child)
            new_parent = self.parent_now(child)
            if row is None or new_parent is None or new_parent == pid:
                continue
            self._set_row(child, row._replace(ppid=new_parent))
            orphans.append(self._orphan(row, new_parent))
        return tuple(orphans)

    def _orphan(self, row: ProcessRecord, new_parent: int) -> Orphan:
        adopter = self.rows.get(new_parent)
        if adopter is None and new_parent > 1:
            adopter = self._read(new_parent)  # rarely needed: an adopter nobody followed
        return Orphan(row.pid, row.command, new_parent, adopter.command if adopter is not None else "?",
                      row.start_ticks, bool(adopter is not None and adopter.namespace_init))

    def _gap(self, gap: Gap) -> List[ProcessEvent]:
        """Events were lost: say where, then rescan, so no story claims what psxj did not see."""
        self.stats.add_loss(gap.lost)
        since = self.clock.wall(gap.last_timestamp_ns) if gap.last_timestamp_ns else self._last_event_time
        marker = ProcessEvent(gap.time, GAP, 0, None, ROW_LAST, lost=gap.lost, since=since)
        records = self.reader.read_all()
        return [marker, *self.apply_snapshot(records, time.time(), time.time() - (since or gap.time))]

    # -- snapshots (polling, and the rescan after a loss) --------------------------------------
    def apply_snapshot(self, records: Iterable[ProcessRecord], now: float, window: float,
                       scope: Optional[Set[int]] = None) -> List[ProcessEvent]:
        """What changed since the rows psxj holds, as polled events. `scope`: the PIDs this snapshot
        looked at (None: all of them), so a process outside it is not taken for gone.

        A process exits when it becomes a zombie (its children are handed on then), not when its
        parent reaps it: a row turning Z is its EXIT, and a zombie's row vanishing later is not."""
        current = {r.pid: r for r in records}
        out: List[ProcessEvent] = []
        exits: Dict[int, int] = {}
        polled = {"polled": True, "window": max(window, 0.0)}

        def exit_event(pid: int, last: ProcessRecord, zombie: bool) -> None:
            self._note_exit(pid, last.start_ticks)
            if not (self.wanted(pid, last) or any(self.wanted(c, self.rows.get(c))
                                                  for c in self.children.get(pid, ()))):
                return
            exits[pid] = len(out)
            out.append(ProcessEvent(now, EXIT, pid, last if zombie else row_at_exit(last, None),
                                    ROW_READ if zombie else ROW_LAST, now if zombie else self.row_time.get(pid),
                                    parent_pid=last.ppid, parent_command=self.command_of(last.ppid),
                                    born_parent=self.born_parent.get(pid, last.ppid), **polled))

        for pid, old in list(self.rows.items()):
            if scope is not None and pid not in scope:
                continue
            new = current.get(pid)
            if new is not None and same_process(old, new):
                if new.state == "Z" and old.state != "Z":
                    exit_event(pid, new, zombie=True)
                continue
            if old.state != "Z":  # a zombie's exit was told when it became one
                exit_event(pid, old, zombie=False)
            self._forget(pid)
        for new in sorted(current.values(), key=lambda r: (r.start_ticks or 0, r.pid)):
            pid = new.pid
            old = self.rows.get(pid)
            if old is None:
                if new.state == "Z" and self._exit_noted(pid, new.start_ticks):
                    continue  # its exit was told already; only its parent has not reaped it
                if self.followed is not None and new.ppid in self.followed:
                    self.followed.add(pid)
                self.born_parent[pid] = new.ppid
                self._set_row(pid, new, now)
                if self.wanted(pid, new):
                    out.append(self._event(now, FORK, pid, new, ROW_READ, None, parent_pid=new.ppid,
                                           parent_command=self.command_of(new.ppid), **polled))
                if new.state == "Z":  # born and gone between two looks
                    exit_event(pid, new, zombie=True)
                continue
            self._set_row(pid, new, now)
            if old.ppid != new.ppid and old.ppid in exits:
                index = exits[old.ppid]
                orphan = self._orphan(new, new.ppid)
                out[index] = out[index]._replace(orphans=out[index].orphans + (orphan,))
            if not self.wanted(pid, new) or new.state == "Z":
                continue
            if old.argv != new.argv or old.command != new.command:
                out.append(self._event(now, EXEC, pid, new, ROW_READ, None, previous=old.command, **polled))
            elif old.comm != new.comm:
                out.append(self._event(now, COMM, pid, new, ROW_READ, None, comm=new.comm, previous=old.comm,
                                       **polled))
            if old.sid != new.sid:
                out.append(self._event(now, SID, pid, new, ROW_READ, None, **polled))
            if (old.ruid, old.euid) != (new.ruid, new.euid):
                out.append(self._event(now, UID, pid, new, ROW_READ, None, ids=(new.ruid, new.euid), **polled))
            if (old.rgid, old.egid) != (new.rgid, new.egid):
                out.append(self._event(now, GID, pid, new, ROW_READ, None, ids=(new.rgid, new.egid), **polled))
        self.stats.shown += len(out)
        return out

    def _note_exit(self, pid: int, start_ticks: Optional[int]) -> None:
        self._exited[pid] = start_ticks
        self._exited.move_to_end(pid)
        if len(self._exited) > 10000:
            self._exited.popitem(last=False)

    def _exit_noted(self, pid: int, start_ticks: Optional[int]) -> bool:
        if pid not in self._exited:
            return False
        noted = self._exited[pid]
        return noted is None or start_ticks is None or abs(noted - start_ticks) <= 1


class EventStream:
    """Process events from the kernel, or by polling where the kernel gives none.

    `notice` is set once when psxj had to poll: the reason, and how short-lived a process may be
    and still be missed. Events from polling carry polled=True.
    """

    def __init__(self, follow: Optional[int] = None, selection=None, poll: bool = False,
                 kinds: Optional[Iterable[str]] = None, receive_buffer: Optional[int] = None,
                 escaper=None) -> None:
        from psxj.sources.cn_proc import MASK_OF, PROC_EVENT_ALL
        from psxj.sources.connector import DEFAULT_RECEIVE_BUFFER, ConnectorListener, EventsUnavailable

        self.reader = ProcReader(escaper)
        self.tracker = EventTracker(self.reader, follow=follow, selection=selection)
        self.kinds = frozenset(kinds) if kinds else None
        self.listener: Optional[ConnectorListener] = None
        self.poller = None
        self.notice: Optional[str] = None
        self.reason: Optional[str] = None
        self._rate_since = time.monotonic()
        self._rate_count = 0
        self._storm = False
        mask = PROC_EVENT_ALL
        if self.kinds is not None:
            # EXIT and FORK are always needed inside: they keep the rows and the followed tree right.
            mask = sum({MASK_OF[k] for k in self.kinds | {FORK, EXIT, EXEC}})
        if poll:
            self.reason = "polling was asked for (--poll)"
        else:
            try:
                self.listener = ConnectorListener(mask, receive_buffer or DEFAULT_RECEIVE_BUFFER)
            except EventsUnavailable as exc:
                self.reason = str(exc)
        started = time.monotonic()
        try:
            # After subscribing, so nothing falls between the snapshot and the first event.
            self.tracker.seed(self._initial_rows())
        except BaseException:
            self.close()
            raise
        if self.listener is None:
            from psxj.sources.event_polling import Poller

            self.poller = Poller(self.tracker, scan_seconds=time.monotonic() - started)
            self.notice = (f"process events unavailable: {self.reason}; polling instead, "
                           f"{self.poller.describe()}")

    def _initial_rows(self) -> List[ProcessRecord]:
        """Every process's row; with --follow only the followed tree's, found from each process's
        stat alone (a fifth of the cost of a whole row, on a machine with 10,000 processes)."""
        follow = self.tracker.follow
        if follow is None:
            return self.reader.read_all()
        import os

        children: Dict[int, List[int]] = collections.defaultdict(list)
        for name in os.listdir("/proc"):
            if name.isdigit():
                ppid = parent_now(int(name))
                if ppid is not None:
                    children[ppid].append(int(name))
        tree, pending = {follow}, [follow]
        while pending:
            for child in children.get(pending.pop(), ()):
                if child not in tree:
                    tree.add(child)
                    pending.append(child)
        return self.reader.read_pids(sorted(tree))

    @property
    def mode(self) -> str:
        return "events" if self.listener is not None else "polling"

    @property
    def stats(self) -> EventStats:
        return self.tracker.stats

    def fileno(self) -> int:
        return self.listener.fileno() if self.listener is not None else -1

    def read(self, timeout: Optional[float] = None) -> List[ProcessEvent]:
        """The next events, waiting up to `timeout` seconds (None: until there are some)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if self.listener is not None:
                items = self.listener.read(left, linger=LINGER if self._storm else 0.0)
                self._measure_rate(len(items))
                events = self.tracker.handle(items)
            else:
                events = self.poller.read(left)
            if self.kinds is not None:
                events = [e for e in events if e.kind in self.kinds or e.kind == GAP]
            if events or (deadline is not None and time.monotonic() >= deadline):
                return events

    def _measure_rate(self, count: int) -> None:
        """Linger only in a storm: otherwise an EXEC is read from /proc as soon as it comes, while the
        process (often a short one) still runs its new command."""
        self._rate_count += count
        now = time.monotonic()
        if now - self._rate_since >= 0.5:
            self._storm = self._rate_count / (now - self._rate_since) >= STORM_RATE
            self._rate_since, self._rate_count = now, 0

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()


class EventFeed:
    """Events for the interface: a background thread reads the stream into a bounded deque, and
    `drain()` hands out what came since the last call without ever blocking the caller.

    `on_events`, if given, is called from the thread with each batch (an EventLog's add_many).
    """

    def __init__(self, follow: Optional[int] = None, selection=None, capacity: int = 10000,
                 on_events: Optional[Callable[[List[ProcessEvent]], None]] = None, poll: bool = False) -> None:
        self._events: Deque[ProcessEvent] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._on_events = on_events
        self.dropped = 0  # events pushed out of the deque before anyone drained them
        self.error: Optional[str] = None
        self.stream = EventStream(follow=follow, selection=selection, poll=poll)
        self._thread = threading.Thread(target=self._run, name="psxj-events", daemon=True)
        self._thread.start()

    @property
    def notice(self) -> Optional[str]:
        return self.stream.notice

    @property
    def mode(self) -> str:
        return self.stream.mode

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                events = self.stream.read(0.2)
                if not events:
                    continue
                with self._lock:
                    overflow = len(self._events) + len(events) - (self._events.maxlen or 0)
                    if overflow > 0:
                        self.dropped += overflow
                    self._events.extend(events)
                if self._on_events is not None:
                    self._on_events(events)
        except Exception as exc:  # the interface shows it; the thread must not die silently
            self.error = safe_text(f"{type(exc).__name__}: {exc}")
        finally:
            self.stream.close()

    def drain(self) -> List[ProcessEvent]:
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
