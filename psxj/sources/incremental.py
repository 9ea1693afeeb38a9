"""The live source for a recorder: the same records as psxj.sources.proc, at a fraction of the cost.

Reading all of /proc for 10,000 processes takes ~0.4 s of CPU; a recorder that does it
every 2 s would use a fifth of a core. Between two tables most processes change nothing,
and what does change is in /proc/PID/stat, so this reader:

- keeps each process's stat file open and re-reads it with pread() (no open or close,
  and the descriptor stays bound to that process: after it exits the read fails, even if
  its PID has been reused);
- re-parses a process only when its stat bytes differ from last time, and reads status
  and cmdline again only when its name or zombie state changed (an exec), or in turn:
  every `refresh_every` tables each process is read whole, so a uid change or an argument
  rewrite without exec shows within that many tables;
- reads new processes whole, as the /proc source does.

Descriptors: the soft limit is raised to the hard one; past it, a process's stat is
opened and closed each time instead.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Dict, List, Optional

from psxj.model import PF_KTHREAD, ProcessRecord, Snapshot
from psxj.render.escape import Escaper
from psxj.sources.proc import ProcReader, parse_stat, pid_digits, state_string

_STAT_SIZE = 4096
_SPARE_DESCRIPTORS = 64


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


class _Known:
    """What is remembered of one process between tables."""

    __slots__ = ("fd", "stat", "record", "locked")

    def __init__(self, fd: int, stat: bytes, record: ProcessRecord, locked: int) -> None:
        self.fd, self.stat, self.record, self.locked = fd, stat, record, locked


class IncrementalReader:
    def __init__(self, escaper: Optional[Escaper] = None, refresh_every: int = 60) -> None:
        self.proc = ProcReader(escaper)
        self.refresh_every = max(refresh_every, 1)
        self.known: Dict[int, _Known] = {}
        self.open_limit = raise_descriptor_limit()
        self.pid_width = pid_digits()
        self.tables = 0

    def read(self) -> Snapshot:
        taken = time.time()
        turn = self.tables % self.refresh_every
        self.tables += 1
        present = set()
        records: List[ProcessRecord] = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            present.add(pid)
            known = self.known.get(pid)
            record = None
            if known is not None:
                record = self._again(pid, known, refresh=pid % self.refresh_every == turn)
            if record is None:
                record = self._first(pid)
            if record is not None:
                records.append(record)
        for pid in list(self.known):
            if pid not in present:
                self._forget(pid)
        return Snapshot(records, source="live", taken_at=taken, pid_width=self.pid_width)

    def close(self) -> None:
        for pid in list(self.known):
            self._forget(pid)

    # one process -----------------------------------------------------------------
    def _first(self, pid: int) -> Optional[ProcessRecord]:
        """A process not seen before (or whose PID now names another): read whole."""
        self._forget(pid)
        fd = -1
        if len(self.known) < self.open_limit:
            try:
                fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        record = self.proc.read_process(pid)
        stat = self._read_stat(pid, fd)
        if record is None or stat is None or _start_ticks(stat) != record.start_ticks:
            if fd >= 0:
                os.close(fd)
            return None  # gone, or replaced between the two reads: the next table sees it
        self.known[pid] = _Known(fd, stat, record, _locked_of(record))
        return record

    def _again(self, pid: int, known: _Known, refresh: bool) -> Optional[ProcessRecord]:
        stat = self._read_stat(pid, known.fd)
        if stat is None:
            return None  # exited: if its PID is in use again, read as new
        if stat == known.stat and not refresh:
            return known.record
        # A kept descriptor fails once its process exits; a stat opened anew may be another's.
        if known.fd < 0 and _start_ticks(stat) != known.record.start_ticks:
            return None
        if refresh:
            record = self.proc.read_process(pid)
            if record is None or record.start_ticks != known.record.start_ticks:
                return None
            known.stat, known.record, known.locked = stat, record, _locked_of(record)
            return record
        comm, f = parse_stat(stat)
        record = known.record
        state = f[0].decode("ascii", "replace")
        if (state == "Z") != (record.state == "Z") or self.proc.escaper.text(comm) != record.comm:
            return None  # an exec or an exit changes the arguments: read whole
        ppid, pgid, sid, tty_nr, tpgid = map(int, f[1:6])
        flags, nice, threads = int(f[6]), int(f[16]), int(f[17])
        tty = record.tty if tty_nr == record.tty_nr else (self.proc.ttys.name(tty_nr, pid) if tty_nr else "?")
        record = record._replace(
            ppid=ppid, pgid=pgid, sid=sid, tty=tty, tpgid=tpgid,
            stat=state_string(state, nice, known.locked, pid, sid, threads, pgid, tpgid),
            cpu_seconds=(int(f[11]) + int(f[12])) // self.proc.hertz, state=state,
            kernel_thread=bool(flags & PF_KTHREAD), tty_nr=tty_nr, flags=flags, nice=nice, threads=threads,
        )
        known.stat, known.record = stat, record
        return record

    def _read_stat(self, pid: int, fd: int) -> Optional[bytes]:
        try:
            if fd >= 0:
                return os.pread(fd, _STAT_SIZE, 0)
            fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
            try:
                return os.read(fd, _STAT_SIZE)
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.errno not in (errno.ESRCH, errno.ENOENT, errno.EACCES, errno.EPERM):
                raise
            return None

    def _forget(self, pid: int) -> None:
        known = self.known.pop(pid, None)
        if known is not None and known.fd >= 0:
            os.close(known.fd)


def _start_ticks(stat: bytes) -> Optional[int]:
    try:
        return int(parse_stat(stat)[1][19])
    except (IndexError, ValueError):
        return None


def _locked_of(record: ProcessRecord) -> int:
    """ProcReader folds VmLck into STAT's L; keep it as 1 or 0 to rebuild STAT later."""
    return 1 if "L" in record.stat[1:] else 0
