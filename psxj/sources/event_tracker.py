"""Kernel events (or polled snapshots) become ProcessEvents, with each live process's row kept.

Part of the sources stage, between psxj.sources.connector (kernel events) and the views. See
psxj.sources.events for what a row at an event means and which thread events are left out.
"""

from __future__ import annotations

import collections
import time
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple, Union

from psxj.errors import PsxjError
from psxj.escape import safe_text
from psxj.i18n import _
from psxj.model import ProcessRecord
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
from psxj.sources.events import (
    COMM,
    COREDUMP,
    EXEC,
    EXIT,
    FORK,
    GAP,
    GID,
    PTRACE,
    ROW_DERIVED,
    ROW_LAST,
    ROW_READ,
    SID,
    UID,
    EventStats,
    Orphan,
    ProcessEvent,
    RecordFilter,
    row_after_fork,
    row_after_setsid,
    row_at_exit,
    same_process,
)
from psxj.sources.proc import ProcReader, parse_stat, read_file

REREAD_PARENT_AFTER = 1.0  # seconds: a parent's row older than this is read again before a FORK shows it


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

    def __init__(self, reader: ProcReader, follow: Optional[int] = None,
                 selection: Optional[RecordFilter] = None) -> None:
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
                raise PsxjError(_("events: no process with PID {follow}").format(follow=self.follow))
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
        if not self.children.get(pid, True):
            del self.children[pid]  # its children were handed on at its exit
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
        if row.state == "Z" and known is not None:
            # Read after it exited (a daemon's parent exits at once, and events come in batches): a zombie
            # has lost its arguments, and "[python3] <defunct>" is its end, not what it was. Its ids, state
            # and name (comm: the program it ran last) are as read; its command is the one last seen.
            row = row._replace(command=known.command, argv=known.argv)
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
            name = None
            if self.may_want(pid):
                fresh = self._read(pid)
                exiting = fresh is not None and (fresh.state == "Z" or not fresh.argv and not fresh.kernel_thread)
                if exiting and row is not None:
                    # It ran and exited before its arguments could be read (a /bin/true in a loop: a zombie,
                    # or exiting with its memory, and so its arguments, gone): the kernel's name of the new
                    # program is all there is, on the row it had ("Z", "[true] <defunct>" are its end, not
                    # its exec). ROW_LAST: the row as it last was, renamed.
                    name = fresh.comm
                    row, basis = row._replace(comm=name, command=name), ROW_LAST
                elif fresh is not None:
                    row, basis = fresh, ROW_READ
                elif row is not None:
                    basis = ROW_LAST  # gone before its new command could be read
            else:
                self._forget_row_only(pid)  # its command changed and nobody shows it: forget the old one
                return None
            if not self.wanted(pid, row):
                return None
            return self._event(when, EXEC, pid, row, basis, ev, previous=previous, comm=name)
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
            fresh = self._read(parent)   # catch what no event reports (setpgid)
            if fresh is not None and fresh.state == "Z" and parent_row is None:
                fresh = None   # never seen alive: its "[python3] <defunct>" says nothing of the child; read it
            parent_row = fresh or parent_row
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
