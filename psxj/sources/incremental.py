"""The live source for the interface and the recorder: what changed in /proc since the table before.

Reading all of /proc for 50,000 processes takes over a second of CPU; a live view that did it
every 2 s would use most of a core. Between two tables most processes change nothing, and a
process that runs changes its /proc/PID/stat line (its CPU time, its page faults, its state).
So ChangeReader:

- keeps each process's stat file open and re-reads it with pread() (no open or close, and the
  descriptor stays bound to that process: after it exits the read fails, even if its PID has
  been reused); past the descriptor limit a stat is opened anew, and its start time tells a
  reused PID;
- reads a process whole (stat, status, cmdline) when it is new, when its stat line differs in
  any byte, when the kernel reported an exec, a change of user, group or name, or a new session
  for it (the proc connector's events, where this process may listen: root, or any user from
  Linux 6.6), and in turn: every `refresh_every` tables each process is read whole, which bounds
  how long a change that shows nowhere else (an argument rewritten in place by a process that
  then sleeps, with events unavailable) can go unseen;
- answers with the changes only (Changes): the records of new and changed processes, and the
  PIDs that are gone. LiveTable turns them back into whole snapshots in which every unchanged
  record is the very object of the snapshot before: shared memory, and kinds carried over.

Descriptors: the soft limit is raised to the hard one and all but a few are kept for stat files.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Dict, Iterator, List, NamedTuple, Optional, Set

from psxj.escape import Escaper
from psxj.model import ProcessRecord, Snapshot
from psxj.sources.proc import (
    OUT_OF_DESCRIPTORS,
    OutOfDescriptors,
    ProcReader,
    needs_cgroup,
    parse_stat,
    pid_digits,
    read_cgroup,
    systemd_machine,
)

_STAT_SIZE = 1024          # a stat line is ~300 bytes; a longer one takes a second read
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC
_SPARE_DESCRIPTORS = 64
_GONE = (errno.ESRCH, errno.ENOENT, errno.EACCES, errno.EPERM)


def raise_descriptor_limit() -> int:
    """Raise the soft limit on open files to the hard one; the number we may keep open."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            hard = 1 << 20
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        return max(soft - _SPARE_DESCRIPTORS, 0)
    except (ImportError, ValueError, OSError):
        return 0


class Changes(NamedTuple):
    """One table, as what changed since the table before (all of it when `full`)."""
    taken_at: float
    pid_width: int
    changed: List[ProcessRecord]   # new processes and processes whose row changed (a reused PID: the new one)
    gone: List[int]                # PIDs that are no longer there
    full: bool                     # the first table: `changed` holds every process


class _Known:
    """What is remembered of one process between tables: not its record (the reader's client
    keeps that), only what tells whether it changed."""

    __slots__ = ("fd", "stat", "start_ticks")

    def __init__(self, fd: int, stat: bytes, start_ticks: int) -> None:
        self.fd, self.stat, self.start_ticks = fd, stat, start_ticks


def _gone(error: OSError) -> None:
    """A process that exited (or whose PID a kept descriptor no longer names) reads as None."""
    if error.errno not in _GONE:
        raise error
    return None


def _start_ticks(stat: bytes) -> Optional[int]:
    try:
        return int(parse_stat(stat)[1][19])
    except (IndexError, ValueError):
        return None


class ChangeReader:
    def __init__(self, escaper: Optional[Escaper] = None, refresh_every: int = 60, events: bool = True) -> None:
        self.proc = ProcReader(escaper)
        self.refresh_every = max(refresh_every, 1)
        self.known: Dict[int, _Known] = {}
        self.open_limit = raise_descriptor_limit()
        self.pid_width = pid_digits()
        self.tables = 0
        self.events = _ChangeEvents() if events else None
        self.last = Changes(0.0, self.pid_width, [], [], True)
        self._proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def read(self) -> Changes:
        """The changes since the last table, all at once (scan() gives them a chunk at a time)."""
        changed: List[ProcessRecord] = []
        for chunk in self.scan():
            changed += chunk
        return self.last._replace(changed=changed)

    def scan(self, chunk: int = 4096) -> Iterator[List[ProcessRecord]]:
        """The records of new and changed processes, `chunk` at a time, so that the first table of
        50,000 processes never is all in memory at once; then self.last holds the rest of the
        Changes (the PIDs gone; `changed` empty)."""
        taken = time.time()
        full = self.tables == 0
        turn = self.tables % self.refresh_every
        self.tables += 1
        reported = self.events.changed() if self.events is not None else set()
        refresh_every = self.refresh_every
        if reported is None:  # events were lost: any process may have changed, read all of them whole
            reported, refresh_every, turn = set(), 1, 0
        forced = reported
        changed: List[ProcessRecord] = []
        present: Set[int] = set()
        lost: List[int] = []
        known, pread = self.known, os.pread
        # This loop runs for every process at every refresh (50,000 times every 2 s): kept short.
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            present.add(pid)
            entry = known.get(pid)
            if entry is None:
                record = self._first(pid)
            else:
                fd = entry.fd
                try:
                    stat = pread(fd, _STAT_SIZE, 0) if fd >= 0 else None
                except OSError as exc:
                    stat = _gone(exc)
                else:
                    if stat is None or len(stat) == _STAT_SIZE:  # not kept open, or longer than usual
                        stat = self._read_stat(pid, fd)
                if stat is None:  # exited since the listing, or (kept descriptor) its PID is in use again
                    record = self._first(pid)
                elif stat == entry.stat and pid % refresh_every != turn and pid not in forced:
                    continue  # the same line: it has not run, nothing of it changed
                else:
                    record = self._again(pid, entry, stat)
            if record is not None:
                changed.append(record)
                if len(changed) == chunk:
                    yield self._with_cgroups(changed)
                    changed = []
            elif entry is not None:
                lost.append(pid)  # exited between the listing and the reading
        if changed:
            yield self._with_cgroups(changed)
        gone = [pid for pid in known.keys() - present]
        for pid in gone:
            self._forget(pid)
        self.last = Changes(taken, self.pid_width, [], gone + lost, full)

    def close(self) -> None:
        for pid in list(self.known):
            self._forget(pid)
        if self.events is not None:
            self.events.close()
        if self._proc >= 0:
            os.close(self._proc)
            self._proc = -1

    # one process -----------------------------------------------------------------
    def _first(self, pid: int) -> Optional[ProcessRecord]:
        """A process not seen before (or whose PID now names another): read whole."""
        self._forget(pid)
        try:
            return self._first_read(pid, keep=len(self.known) < self.open_limit)
        except OutOfDescriptors:
            self._keep_fewer()
            return self._first_read(pid, keep=False)

    def _first_read(self, pid: int, keep: bool) -> Optional[ProcessRecord]:
        fd = -1
        if keep:
            try:
                fd = os.open(f"{pid}/stat", _READ_FLAGS, dir_fd=self._proc)
            except OSError as exc:
                if exc.errno in OUT_OF_DESCRIPTORS:
                    raise OutOfDescriptors(str(exc)) from None
                return None  # gone, or hidden from us
        record = None
        try:
            stat = self._read_stat(pid, fd)
            record = self._whole(pid, stat) if stat is not None else None
        finally:
            if record is None and fd >= 0:
                os.close(fd)
        if record is None:
            return None
        self.known[pid] = _Known(fd, stat, record.start_ticks)
        return record

    def _keep_fewer(self) -> None:
        """Out of descriptors (something else in this process holds them): give some kept ones
        back and keep no more, so that this process and the rest are read by path, never left out."""
        freed = 0
        for entry in self.known.values():
            if freed == _SPARE_DESCRIPTORS:
                break
            if entry.fd >= 0:
                os.close(entry.fd)
                entry.fd = -1
                freed += 1
        self.open_limit = 0

    def _again(self, pid: int, entry: _Known, stat: bytes) -> Optional[ProcessRecord]:
        """A known process whose stat line changed (or whose turn it is): read whole again."""
        if _start_ticks(stat) != entry.start_ticks:  # a stat opened anew, of another process
            return self._first(pid)
        try:
            record = self._whole(pid, stat)
        except OutOfDescriptors:
            self._keep_fewer()
            record = self._whole(pid, stat)
        if record is None:
            self._forget(pid)
            return None
        entry.stat = stat
        return record

    def _whole(self, pid: int, stat: bytes) -> Optional[ProcessRecord]:
        """The record from this stat line and the process's status and cmdline, read now."""
        return self.proc.read_process(pid, stat)

    def _read_stat(self, pid: int, fd: int) -> Optional[bytes]:
        try:
            if fd >= 0:
                data = os.pread(fd, _STAT_SIZE, 0)
                return data if len(data) < _STAT_SIZE else os.pread(fd, 1 << 16, 0)
            # Past the descriptor limit: opened from /proc's own descriptor (one path step, not three).
            fd = os.open(f"{pid}/stat", _READ_FLAGS, dir_fd=self._proc)
            try:
                data = os.read(fd, _STAT_SIZE)
                return data if len(data) < _STAT_SIZE else data + os.read(fd, 1 << 16)
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.errno in OUT_OF_DESCRIPTORS:
                raise OutOfDescriptors(str(exc)) from None
            return _gone(exc)

    def _forget(self, pid: int) -> None:
        entry = self.known.pop(pid, None)
        if entry is not None and entry.fd >= 0:
            os.close(entry.fd)

    @staticmethod
    def _with_cgroups(records: List[ProcessRecord]) -> List[ProcessRecord]:
        """The cgroup path of each read process that needs it (as proc.with_cgroups does for a table)."""
        everyone = systemd_machine()
        for index, r in enumerate(records):
            if needs_cgroup(r, everyone):
                records[index] = r._replace(cgroup=read_cgroup(r.pid))
        return records

class _ChangeEvents:
    """The proc connector's exec, user, group, name and session events: the processes that changed
    something their stat line may not show. Unavailable (not root before Linux 6.6, a container):
    then the reader relies on stat lines and its turns alone."""

    def __init__(self) -> None:
        from psxj.sources.cn_proc import (
            PROC_EVENT_COMM,
            PROC_EVENT_EXEC,
            PROC_EVENT_GID,
            PROC_EVENT_SID,
            PROC_EVENT_UID,
        )
        from psxj.sources.connector import ConnectorListener, EventsUnavailable

        self.listener = None
        try:
            self.listener = ConnectorListener(
                event_mask=PROC_EVENT_EXEC | PROC_EVENT_UID | PROC_EVENT_GID | PROC_EVENT_COMM | PROC_EVENT_SID,
                receive_buffer=1 << 20)
        except (EventsUnavailable, OSError):
            pass

    @property
    def available(self) -> bool:
        return self.listener is not None

    def changed(self) -> Optional[Set[int]]:
        """The processes reported since the last call; None when events were lost (any may have)."""
        if self.listener is None:
            return set()
        from psxj.sources.connector import Gap

        pids: Set[int] = set()
        while True:
            batch = self.listener.read(timeout=0)
            if not batch:
                return pids
            for event in batch:
                if isinstance(event, Gap):
                    return None
                pids.add(event.tgid)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None


class LiveTable:
    """Whole snapshots from a ChangeReader's changes: each unchanged record stays the same object
    from table to table (a record read again equal in every field too), and each snapshot follows
    the one before (its kinds carry over)."""

    def __init__(self) -> None:
        self.records: Dict[int, ProcessRecord] = {}
        self.latest: Optional[Snapshot] = None

    def apply(self, changes: Changes) -> Snapshot:
        records = self.records
        if changes.full:
            records.clear()
            self.latest = None
        for pid in changes.gone:
            records.pop(pid, None)
        arrived = set()
        changed = []
        for record in changes.changed:
            old = records.get(record.pid)
            if old is None or old.start_ticks != record.start_ticks:
                arrived.add(record.identity)
            elif old == record:
                continue  # read again (its turn, or a stat line that moved in no field of the row): the same
            records[record.pid] = record
            changed.append(record)
        snapshot = Snapshot(records.values(), source="live", taken_at=changes.taken_at, pid_width=changes.pid_width)
        if self.latest is not None:
            snapshot.follows(self.latest, frozenset(arrived), changed)
        self.latest = snapshot
        return snapshot


class IncrementalReader:
    """A reader of whole snapshots at the cost of the changes (the recorder's)."""

    def __init__(self, escaper: Optional[Escaper] = None, refresh_every: int = 60, events: bool = True) -> None:
        self.changes = ChangeReader(escaper, refresh_every, events)
        self.table = LiveTable()

    @property
    def open_limit(self) -> int:
        return self.changes.open_limit

    @open_limit.setter
    def open_limit(self, value: int) -> None:
        self.changes.open_limit = value

    def read(self) -> Snapshot:
        return self.table.apply(self.changes.read())

    def close(self) -> None:
        self.changes.close()

