"""The live source on Linux: /proc/PID/stat, status and cmdline, read directly.

psutil has no PGID, SID or TPGID and builds an object per process, so the table is
read here, one small function per /proc file, each parsing its bytes once. A process
that exits or becomes unreadable while the table is read is skipped: that is the one
boundary where such errors are handled.
"""

from __future__ import annotations

import errno
import functools
import os
from typing import Callable, List, Optional, Sequence, Tuple, Union

from psxj.errors import PsxjError
from psxj.escape import Escaper
from psxj.i18n import _
from psxj.model import PF_KTHREAD, ProcessRecord, PsCells, Snapshot
from psxj.sources.parallel import map_shares, worker_count
from psxj.sources.ttynames import TtyNames

_PER_WORKER = 600         # fewer processes than this per core: a forked worker costs more than it saves
_ARGS_LIMIT = 128 * 1024  # procps reads at most this much of cmdline (MAX_BUFSZ)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_open, _read, _close = os.open, os.read, os.close
# First read sizes: a stat line is ~300 bytes, status ~1.4 KiB; larger ones take a second read.
_STAT_READ, _STATUS_READ, _CMDLINE_READ = 1024, 4096, 4096


def read_file(path: Union[str, bytes], limit: int = 65536) -> bytes:
    """A /proc file whole (at most procps' 128 KiB): one read when it fits in `limit`, as nearly
    all do, and more reads until its end otherwise."""
    fd = _open(path, _OPEN_FLAGS)
    try:
        data = _read(fd, limit)
        if len(data) < limit:
            return data
        chunks = [data]
        total = len(data)
        while total < _ARGS_LIMIT:
            more = os.read(fd, 65536)
            if not more:
                break
            chunks.append(more)
            total += len(more)
        return b"".join(chunks)[:_ARGS_LIMIT - 1]
    finally:
        _close(fd)


# What ProcReader.files gives for one process: (comm, the stat fields after comm split up to rss
# and the rest in one piece, status (None for a kernel thread), cmdline).
ProcFiles = Tuple[bytes, List[bytes], Optional[bytes], bytes]


def pid_digits(path: str = "/proc/sys/kernel/pid_max") -> int:
    """Digits of pid_max: procps sizes PID, PPID, PGID, SID and TPGID to it."""
    try:
        with open(path, "rb") as f:
            return len(f.read().strip()) or 5
    except OSError:
        return 5


def boot_time() -> float:
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def parse_stat(data: bytes) -> Tuple[bytes, List[bytes]]:
    """(comm, the fields after it). comm may hold spaces and parentheses: `a) b (c`."""
    open_paren = data.find(b"(")
    close_paren = data.rfind(b")")
    return data[open_paren + 1:close_paren], data[close_paren + 2:].split()


def status_field(status: bytes, key: bytes) -> bytes:
    """The rest of the line that starts with `key` (b"Uid:") in /proc/PID/status; b"" without it."""
    start = status.find(b"\n" + key)
    if start < 0:
        return b""
    start += len(key) + 1
    end = status.find(b"\n", start)
    return status[start:end] if end >= 0 else status[start:]


_NOTHING_LOCKED = b"       0 kB"   # task_mem() prints VmLck as "%8lu kB"
ParsedStatus = Tuple[int, int, int, int, int, bool, Optional[Tuple[int, ...]]]


def parse_status(status: bytes) -> ParsedStatus:
    """(ruid, euid, rgid, egid, locked kB, namespace init, NSpid when nested) from /proc/PID/status.

    One search for each of Uid (Gid is the next line), NSpid and VmLck, in the order the kernel
    prints them, and only the numbers wanted become ints: this runs for every process."""
    at = status.find(b"\nUid:")
    ids = status[at + 5:].split(None, 9) if at >= 0 else []  # real, effective, saved, fs uid; "Gid:", the same
    if len(ids) < 10 or ids[4] != b"Gid:":
        return _parse_status_slowly(status)
    rest = ids[9]
    namespace_init, pids = False, None
    nspid = rest.find(b"\nNSpid:")       # "\t812\t1": PID 812 here, PID 1 inside a namespace
    if nspid >= 0:
        end = rest.find(b"\n", nspid + 7)
        if rest.find(b"\t", nspid + 8, end) >= 0:  # more than one PID: in a nested namespace
            pids = tuple(map(int, rest[nspid + 7:end].split()))
            namespace_init = pids[-1] == 1
    locked = rest.find(b"\nVmLck:")  # absent for kernel threads and zombies
    if locked < 0 or rest.startswith(_NOTHING_LOCKED, locked + 8):
        return int(ids[0]), int(ids[1]), int(ids[5]), int(ids[6]), 0, namespace_init, pids
    return int(ids[0]), int(ids[1]), int(ids[5]), int(ids[6]), int(rest[locked + 7:].split(None, 1)[0]), \
        namespace_init, pids


def _parse_status_slowly(status: bytes) -> ParsedStatus:
    """parse_status for a status laid out otherwise than today's kernels do: field by field."""
    uids = status_field(status, b"Uid:").split()       # real, effective, saved, filesystem
    gids = status_field(status, b"Gid:").split()
    locked = status_field(status, b"VmLck:").split()   # "  0 kB"; absent for kernel threads
    nspid = status_field(status, b"NSpid:")
    ruid, euid = (int(uids[0]), int(uids[1])) if len(uids) > 1 else (-1, -1)
    rgid, egid = (int(gids[0]), int(gids[1])) if len(gids) > 1 else (-1, -1)
    nested = nspid.count(b"\t") > 1
    namespace_init = nested and nspid.endswith(b"\t1")
    pids = tuple(int(p) for p in nspid.split()) if nested else None
    return ruid, euid, rgid, egid, int(locked[0]) if locked else 0, namespace_init, pids


def state_string(state: str, nice: int, locked_kb: int, pid: int, sid: int, threads: int,
                 pgid: int, tpgid: int) -> str:
    """ps's STAT (pr_stat in ps/output.c): the state, then < N L s l + in that order."""
    return "".join((
        state,
        "<" if nice < 0 else "N" if nice > 0 else "",
        "L" if locked_kb else "",
        "s" if sid == pid else "",
        "l" if threads > 1 else "",
        "+" if pgid == tpgid else "",
    ))


OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE)


class OutOfDescriptors(PsxjError):
    """This process (or the system) has no file descriptor left to read /proc with."""


_new_record = tuple.__new__  # ProcessRecord(...) runs Python code per call; this is C

# COMMAND from /proc/PID/cmdline in one pass, for the usual arguments: NUL and newline become
# spaces (read_unvectored), printable ASCII stays, and any other byte becomes NUL, which no
# longer occurs otherwise: a NUL in the result sends the arguments to the escaper instead.
_PLAIN_ARGUMENTS = bytes(
    0x20 if b in (0, 0x0A) else b if 0x20 <= b < 0x7F else 0 for b in range(256))


class ProcReader:
    """Reads one snapshot; holds what is shared by all its processes.

    Each process costs the kernel three files (stat, status, cmdline; stat alone for a kernel
    thread) and psxj one pass over their bytes: read_process makes the record, ps_cells only
    the ten cells of its `ps -axj` row (for --print, which needs no more). arguments=False
    leaves each record's argv out (None: not read) for a view that shows none of it."""

    def __init__(self, escaper: Optional[Escaper] = None, arguments: bool = True) -> None:
        self.escaper = escaper or Escaper.for_environment()
        self.ttys = TtyNames()
        self.hertz = os.sysconf("SC_CLK_TCK")
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        self.boot = boot_time()
        self.arguments = arguments

    def files(self, pid: int, stat: Optional[bytes] = None) -> Optional[ProcFiles]:
        """The process's files, or None when it is gone or hidden. `stat`: its stat line, when the
        caller has just read it."""
        base = b"/proc/%d/" % pid
        try:
            if stat is None:
                stat = read_file(base + b"stat", _STAT_READ)
            close_paren = stat.rfind(b")")
            # The fields up to rss (index 21) apart, the rest in one piece: this runs for every process.
            fields = stat[close_paren + 2:].split(None, 22)
            if int(fields[6]) & PF_KTHREAD:
                # Kernel threads run as root with no arguments and no memory of their own:
                # status and cmdline would say nothing new, and there are hundreds of them.
                status, cmdline = None, b""
            else:
                status = read_file(base + b"status", _STATUS_READ)
                cmdline = read_file(base + b"cmdline", _CMDLINE_READ)
        except OSError as exc:
            if exc.errno in OUT_OF_DESCRIPTORS:  # not the process's doing: never skip it silently
                raise OutOfDescriptors(_("out of file descriptors while reading /proc/{pid}: raise the limit "
                                         "(ulimit -n)").format(pid=pid)) from None
            return None  # gone or hidden from us: ps skips it too
        except (ValueError, IndexError):  # cut short
            return None
        if len(fields) < 22:
            return None
        return stat[stat.find(b"(") + 1:close_paren], fields, status, cmdline

    def read_process(self, pid: int, stat: Optional[bytes] = None) -> Optional[ProcessRecord]:
        """The process's record, or None when it is gone or hidden."""
        files = self.files(pid, stat)
        return None if files is None else self.record(pid, *files)

    def record(self, pid: int, comm: bytes, f: List[bytes], status: Optional[bytes], cmdline: bytes
               ) -> ProcessRecord:
        """The record from the process's files (ProcFiles)."""
        ppid, pgid, sid, tty_nr, tpgid, flags = map(int, f[1:7])
        utime, stime, nice, threads, start_ticks, rss = int(f[11]), int(f[12]), int(f[16]), int(f[17]), \
            int(f[19]), int(f[21])
        state = f[0].decode("ascii", "replace")
        if status is None:
            ruid = euid = rgid = egid = locked = 0
            namespace_init, nspid = False, None
        else:
            ruid, euid, rgid, egid, locked, namespace_init, nspid = parse_status(status)
        if nice or locked or threads != 1 or sid == pid or pgid == tpgid:
            stat_text = state_string(state, nice, locked, pid, sid, threads, pgid, tpgid)
        else:
            stat_text = state  # most processes: nothing to add to the state letter
        cpu_ticks = utime + stime
        escape = self.escaper
        # In ProcessRecord's field order.
        return _new_record(ProcessRecord, (
            pid, ppid, pgid, sid,
            self.ttys.name(tty_nr, pid) if tty_nr else "?",
            tpgid, stat_text, euid, cpu_ticks // self.hertz,
            escape.command(cmdline, comm, state),
            escape.text(comm),
            state,
            bool(flags & PF_KTHREAD),
            tuple(cmdline.decode("utf-8", "backslashreplace").split("\0")[:-1]) if self.arguments else None,
            tty_nr, flags, nice, threads, ruid, rgid, egid, start_ticks,
            self.boot + start_ticks / self.hertz,
            namespace_init, None, None,
            cpu_ticks,
            rss * self.page_kb,
            None, nspid, None,   # session_key, NSpid, host: this machine's own PIDs and sessions
        ))

    def ps_cells(self, pid: int) -> Optional[PsCells]:
        """The cells of the process's `ps -axj` row (PsCells), or None when it is gone or hidden."""
        files = self.files(pid)
        return None if files is None else self.cells(pid, *files)

    def cells(self, pid: int, comm: bytes, f: List[bytes], status: Optional[bytes], cmdline: bytes) -> PsCells:
        """The cells of the row `ps -axj` prints for the process, from its files (ProcFiles): what
        record() would give COMMAND, STAT and the rest, as bytes, without the record. The numbers
        stay the kernel's own digits; only TIME is computed. For the escaper of ps's rules (Escaper),
        which leaves printable ASCII as it is: such arguments are joined here, any other go to it."""
        pid_text = b"%d" % pid
        state, ppid, pgid, sid, tty_nr, tpgid, nice, threads = f[0], f[1], f[2], f[3], f[4], f[5], f[16], f[17]
        if status is None:  # a kernel thread
            euid, locked = b"0", False
        else:
            uid = status.find(b"\nUid:\t") + 6
            euid_at = status.find(b"\t", uid) + 1        # real, then effective: ps's UID
            euid = status[euid_at:status.find(b"\t", euid_at)]
            locked = status.find(b"\nVmLck:")
            locked = locked >= 0 and not status.startswith(_NOTHING_LOCKED, locked + 8)
            if uid < 6 or euid_at == 0 or not euid.isdigit():  # not laid out as today's kernels do
                euid = b"%d" % parse_status(status)[1]
        if nice != b"0" or locked or threads != b"1" or sid == pid_text or pgid == tpgid:
            stat_text = state_string(state.decode("ascii", "replace"), int(nice), locked, pid, int(sid),
                                     int(threads), int(pgid), int(tpgid)).encode("ascii", "replace")
        else:
            stat_text = state
        # Arguments each ended by a NUL, printable ASCII: the usual. Any other: ps's escaping decides.
        command = cmdline.rstrip(b"\0").translate(_PLAIN_ARGUMENTS) if cmdline[-1:] == b"\0" else b"\0"
        if b"\0" in command:
            command = self.escaper.command(cmdline, comm, state.decode("ascii", "replace")).encode(
                "utf-8", "surrogateescape")
        seconds = (int(f[11]) + int(f[12])) // self.hertz
        return (ppid, pid_text, pgid, sid,
                b"?" if tty_nr == b"0" else self.ttys.name(int(tty_nr), pid).encode("ascii", "replace"),
                tpgid, stat_text, euid, seconds // 60, seconds % 60, command)

    def read_pids(self, pids: Sequence[int]) -> List[ProcessRecord]:
        read = self.read_process
        return [record for record in map(read, pids) if record is not None]

    def read_all(self, parallel: bool = False) -> List[ProcessRecord]:
        """Every process, with the cgroups the kinds need. parallel: share the reading among the
        usable cores (forked workers; only a single-threaded caller may ask)."""
        pids = list_pids()
        workers = worker_count(len(pids), _PER_WORKER) if parallel else 1
        return read_records(self.read_pids_with_cgroups, pids, workers)

    def read_pids_with_cgroups(self, pids: Sequence[int]) -> List[ProcessRecord]:
        return with_cgroups(self.read_pids(pids))


def list_pids() -> List[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _as_tuples(records: List[ProcessRecord]) -> List[tuple]:
    return list(map(tuple, records))


def _as_records(rows: List[tuple]) -> List[ProcessRecord]:
    return [_new_record(ProcessRecord, row) for row in rows]


def read_records(read: Callable[[Sequence[int]], List[ProcessRecord]], pids: Sequence[int],
                 workers: int) -> List[ProcessRecord]:
    """read(share) for each share of `pids`, in `workers` processes (psxj.sources.parallel)."""
    return map_shares(read, pids, workers, send=_as_tuples, receive=_as_records)


def read_cgroup(pid: int) -> Optional[str]:
    """The process's cgroup path: the unified hierarchy's (`0::/...`), else systemd's named one."""
    try:
        data = read_file(f"/proc/{pid}/cgroup", 8192)
    except OSError:
        return None
    named = None
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "" and path not in ("", "/"):
            return path
        if controllers == "name=systemd":
            named = path
    return named


@functools.lru_cache(maxsize=1)
def systemd_machine() -> bool:
    """Is PID 1 (of psxj's own PID namespace) systemd? Then every process's cgroup names its unit."""
    try:
        return read_file("/proc/1/comm", 64).strip() == b"systemd"
    except OSError:
        return False


def needs_cgroup(r: ProcessRecord, everyone: bool) -> bool:
    """Whose cgroup the judgement reads: on a systemd machine everyone's (a worker's or a leftover's
    unit is in its cgroup, whoever its parent); elsewhere only what may belong to a container or a
    manager: PID 1 and its children (a runtime's monitor), namespace inits, processes in a nested PID
    namespace, and systemd processes. Reading it for everyone there would cost a read per process
    for nothing."""
    if r.kernel_thread:
        return False
    return everyone or r.ppid == 1 or r.pid == 1 or r.namespace_init or r.nspid is not None or r.comm == "systemd"


def with_cgroups(records: List[ProcessRecord]) -> List[ProcessRecord]:
    """Add the cgroup path of each record that needs it (needs_cgroup): it names the systemd unit or
    the container a process belongs to."""
    everyone = systemd_machine()
    return [r._replace(cgroup=read_cgroup(r.pid)) if needs_cgroup(r, everyone) else r for r in records]


def read_snapshot(parallel: bool = False, escaper: Optional[Escaper] = None) -> Snapshot:
    records = ProcReader(escaper).read_all(parallel)
    return Snapshot(records, source="live", pid_width=pid_digits())


def read_one(pid: int) -> Optional[ProcessRecord]:
    """One process, now, with its cgroup: for the audit and the demo, which follow a single PID."""
    record = ProcReader().read_process(pid)
    return with_cgroups([record])[0] if record is not None else None
