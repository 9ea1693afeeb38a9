"""The process record and the snapshot: what every source produces and every view reads.

A record holds what `ps -axj` shows, already in ps's own terms (STAT string, TTY
name, escaped COMMAND), plus the raw facts later stages need. Facts a source cannot
know (a loaded ps text has no real uid, no flags) are None: unknown, never invented.

The snapshot of the pipeline (source -> snapshot -> judgement -> selection -> view): below everything
but the foundation (it imports psxj.i18n only). What psxj concludes about a record, its kind, is the
judge's (psxj.judge.kinds.kind_of); a snapshot only carries that judgement along.
"""

from __future__ import annotations

import time
from operator import attrgetter
from typing import Dict, Iterable, NamedTuple, Optional, Sequence, Tuple

from psxj.i18n import N_

PF_KTHREAD = 0x00200000  # include/linux/sched.h: the task is a kernel thread
_BY_PID = attrgetter("pid")  # in C: 50,000 records are sorted at every refresh of the live view


class ProcessRecord(NamedTuple):
    pid: int
    ppid: int
    pgid: int
    sid: int
    tty: str                     # "pts/3", "tty1", "?" for none
    tpgid: Optional[int]         # foreground group of the terminal, -1 without one
    stat: str                    # ps STAT: state letter then < N L s l +
    euid: Optional[int]          # None when the source does not say (BSD ps shows USER instead)
    cpu_seconds: Optional[int]   # user + system time, whole seconds; None when the source does not say
    command: str                 # ps COMMAND, escaped: safe to print
    comm: str                    # the kernel's short name (escaped)
    state: str                   # the first STAT letter
    kernel_thread: bool
    argv: Optional[Tuple[str, ...]] = None
    tty_nr: Optional[int] = None
    flags: Optional[int] = None
    nice: Optional[int] = None
    threads: Optional[int] = None
    ruid: Optional[int] = None
    rgid: Optional[int] = None
    egid: Optional[int] = None
    start_ticks: Optional[int] = None    # clock ticks after boot: with pid, the identity
    start_time: Optional[float] = None   # seconds since the epoch
    namespace_init: bool = False         # PID 1 of its own PID namespace
    user: Optional[str] = None           # a user name the source gave instead of a number
    cgroup: Optional[str] = None         # the unified (or name=systemd) cgroup path, read where kinds need it
    cpu_ticks: Optional[int] = None      # user + system time in clock ticks: %CPU between two snapshots
    rss_kb: Optional[int] = None         # resident memory
    # The session as a source identified it when that is not a session ID: a kernel address
    # (old macOS, OpenBSD), or "" when it gave none (macOS prints SESS 0). sid then holds
    # the session inferred from the rows (psxj.sources.systems.infer_sessions), 0 if none.
    session_key: Optional[str] = None
    # NSpid from /proc/PID/status when the process is in a nested PID namespace (a container's):
    # its PID in each namespace, from psxj's own down to its innermost. None: in psxj's own only.
    nspid: Optional[Tuple[int, ...]] = None
    # The machine the row was read from, as the user named it (--host), escaped; None: this machine.
    host: Optional[str] = None

    @property
    def identity(self) -> tuple:
        """(pid, start): a PID reused by a new process gets a new identity. A row of another machine
        (host set) adds the host: PID 812 on two machines is two processes."""
        if self.host is None:
            return (self.pid, self.start_ticks)
        return (self.pid, self.start_ticks, self.host)

    @property
    def inner_pid(self) -> int:
        """Its PID in its own (innermost) PID namespace: what the processes there, and their
        managers (a container's systemd), call it."""
        return self.nspid[-1] if self.nspid else self.pid

    @property
    def session_leader(self) -> bool:
        return self.sid == self.pid

    @property
    def group_leader(self) -> bool:
        return self.pgid == self.pid

    @property
    def has_terminal(self) -> bool:
        return self.tty != "?"


# The cells of one `ps -axj` row as /proc gives them (psxj.sources.proc.ProcReader.cells), for
# --print, which needs no record: PPID, PID, PGID, SID, TTY, TPGID, STAT, UID (the kernel's own
# digits, the TTY name, STAT), TIME as CPU minutes and seconds (two ints), and the escaped COMMAND;
# bytes but for TIME. A plain tuple: a named one costs a class at every start of psxj.
PsCells = Tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, int, int, bytes]


class Snapshot:
    """An immutable set of records taken at one moment, in PID order."""

    def __init__(
        self,
        records: Iterable[ProcessRecord],
        *,
        source: str = "live",
        taken_at: Optional[float] = None,
        pid_width: int = 5,
        observations=None,
        time_source: Optional[str] = None,
        saved_kinds: Optional[Dict[int, tuple]] = None,
        system: Optional[str] = None,
        from_proc: Optional[bool] = None,
    ) -> None:
        self.records: Tuple[ProcessRecord, ...] = tuple(sorted(records, key=_BY_PID))
        self.source = source
        self.taken_at = time.time() if taken_at is None else taken_at
        self.pid_width = pid_width
        self.system = system  # "linux", "macos", "freebsd" for a loaded table that says; None otherwise
        # Read from a /proc (here, or another machine's over SSH): the kinds are judged, not inferred.
        self.from_proc = source == "live" if from_proc is None else from_proc
        self._by_pid: Optional[Dict[int, ProcessRecord]] = None
        # What psxj.judge made of these records (psxj.judge.kinds.SnapshotKinds), once asked: the model
        # only holds it, and hands it on to the refresh that follows this table (follows()).
        self.judgement = None
        self.observations = observations   # psxj.judge.kinds.Observations from live events, if any
        # A saved psxj table's own judgement, pid -> (kind, reasons, supervisor, unit): kinds prefers it.
        self.saved_kinds: Dict[int, tuple] = saved_kinds or {}
        # Where taken_at comes from, in words: "the clock" (live), "the file's modification time"...;
        # None: unknown (taken_at is then only when psxj read it).
        self.time_source = N_("the clock") if source == "live" and time_source is None else time_source
        self.cpu_percent: Dict = {}         # identity -> %CPU since the snapshot before (views.cpu_percent)
        # A live refresh (follows()): the snapshot before, what arrived since (identities) and what
        # changed (records, the new included); None when not known, as for a table read whole.
        self.before: Optional[Snapshot] = None
        self.arrived: Optional[frozenset] = None
        self.changed: Optional[Sequence[ProcessRecord]] = None
        self.partial_of: Optional[int] = None   # a first frame's rows: of how many processes in all
        self.partial_rows: frozenset = frozenset()
        # What reading it skipped or assumed, a line each, for the command line to say on stderr
        # (a quoted ps table's `...` lines: psxj.sources.pstext).
        self.notes: Tuple[str, ...] = ()
        self.widest_pid = 0   # a first frame's rows: the highest PID of all, which the table's widths allow for

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @property
    def live(self) -> bool:
        return self.source == "live"

    @property
    def by_pid(self) -> Dict[int, ProcessRecord]:
        if self._by_pid is None:
            self._by_pid = {r.pid: r for r in self.records}
        return self._by_pid

    def get(self, pid: int, host: Optional[str] = None) -> Optional[ProcessRecord]:
        """The process with this PID (on `host`: a FleetSnapshot holds several machines; a
        snapshot of one machine has one process per PID whatever host says)."""
        return self.by_pid.get(pid)

    def parent(self, record: ProcessRecord) -> Optional[ProcessRecord]:
        return self.by_pid.get(record.ppid)

    def children(self, pid: int, host: Optional[str] = None) -> Tuple[ProcessRecord, ...]:
        return tuple(r for r in self.records if r.ppid == pid and r.pid != pid)

    def family(self, pid: int) -> frozenset:
        """The PIDs of the process and all its descendants, as the table shows them."""
        children: Dict[int, list] = {}
        for record in self.records:
            children.setdefault(record.ppid, []).append(record.pid)
        found, frontier = {pid}, [pid]
        while frontier:
            for child in children.get(frontier.pop(), []):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        return frozenset(found)

    def ancestry(self, record: ProcessRecord) -> Tuple[ProcessRecord, ...]:
        """The record, its parent, and so on up to a process with no known parent."""
        chain = [record]
        seen = {record.pid}
        while True:
            parent = self.parent(chain[-1])
            if parent is None or parent.pid in seen:
                return tuple(chain)
            chain.append(parent)
            seen.add(parent.pid)

    def follows(self, before: "Snapshot", arrived: frozenset, changed: Sequence[ProcessRecord]) -> None:
        """This snapshot is a refresh of `before` (the same live table, later), in which every record
        not in `changed` is the very object it was in `before`, and `arrived` are the identities
        that were not in `before`. Its unchanged records keep the kinds judged there."""
        before.before = None  # only one snapshot back: the chain of tables is not kept alive
        self.before, self.arrived, self.changed = before, arrived, changed
        if before.judgement is not None:  # the judge's kinds carry over (see SnapshotKinds.followed_by)
            self.judgement = before.judgement.followed_by(self)


class FleetSnapshot(Snapshot):
    """The tables of several machines at once (psxj --host), each kept as its own Snapshot.

    Its records are every host's, in host then PID order; each record's host says where it runs.
    Relatives (parent, children, session leader) and kinds (psxj.judge.kinds) are looked up in the record's own
    host's table only: PID 1 of one machine never adopts a process of another. Not `live`:
    nothing here may be signalled or audited on this machine.
    """

    def __init__(self, parts: Dict[str, Snapshot], host_states: tuple = (), taken_at: Optional[float] = None
                 ) -> None:
        records = [r for part in parts.values() for r in part.records]
        super().__init__((), source="fleet", taken_at=taken_at,
                         pid_width=max([5] + [p.pid_width for p in parts.values()]))
        self.records = tuple(sorted(records, key=lambda r: (r.host or "", r.pid)))
        self.parts: Dict[str, Snapshot] = dict(parts)
        self.host_states = tuple(host_states)   # psxj.sources.fleet.HostState of every host asked

    @property
    def hosts(self) -> Tuple[str, ...]:
        """Every host asked, in the order given, those that failed too."""
        return tuple(s.host for s in self.host_states) if self.host_states else tuple(self.parts)

    def part(self, host: Optional[str]) -> Optional[Snapshot]:
        return self.parts.get(host) if host is not None else None

    def get(self, pid: int, host: Optional[str] = None) -> Optional[ProcessRecord]:
        if host is None:  # which machine's? Only answerable when there is one.
            return next(iter(self.parts.values())).get(pid) if len(self.parts) == 1 else None
        part = self.parts.get(host)
        return part.get(pid) if part is not None else None

    def parent(self, record: ProcessRecord) -> Optional[ProcessRecord]:
        return self.get(record.ppid, record.host)

    def children(self, pid: int, host: Optional[str] = None) -> Tuple[ProcessRecord, ...]:
        part = self.parts.get(host) if host is not None else None
        return part.children(pid) if part is not None else ()
