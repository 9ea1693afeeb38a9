"""The live source on Linux: /proc/PID/stat, status and cmdline, read directly.

psutil has no PGID, SID or TPGID and builds an object per process, so the table is
read here, one small function per /proc file, each parsing its bytes once. A process
that exits or becomes unreadable while the table is read is skipped: that is the one
boundary where such errors are handled.
"""

from __future__ import annotations

import marshal
import os
import threading
from typing import Dict, List, Optional, Tuple

from psxj.model import PF_KTHREAD, ProcessRecord, Snapshot
from psxj.render.escape import Escaper
from psxj.sources.ttynames import TtyNames

_FORK_ABOVE = 1000        # below this many processes, a helper costs more than it saves
_ARGS_LIMIT = 128 * 1024  # procps reads at most this much of cmdline (MAX_BUFSZ)


def read_file(path: str, limit: int = 65536) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, limit)
        if len(data) < limit:
            return data
        chunks = [data]
        total = len(data)
        while total < _ARGS_LIMIT:
            more = os.read(fd, limit)
            if not more:
                break
            chunks.append(more)
            total += len(more)
        return b"".join(chunks)[:_ARGS_LIMIT - 1]
    finally:
        os.close(fd)


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


_KERNEL_THREAD_STATUS = b"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"


class StatusLines:
    """Where a field sits in /proc/PID/status. The kernel prints the lines in a fixed order, so
    each field's line number is found once and afterwards only checked (kernel threads, which
    lack the Vm lines, or another kernel version fall back to a search)."""

    def __init__(self) -> None:
        self._index: Dict[bytes, int] = {}

    def field(self, lines: List[bytes], key: bytes) -> bytes:
        index = self._index.get(key)
        if index is not None and index < len(lines) and lines[index].startswith(key):
            return lines[index][len(key):]
        for index, line in enumerate(lines):
            if line.startswith(key):
                self._index[key] = index
                return line[len(key):]
        return b""


def parse_status(status: bytes, layout: Optional[StatusLines] = None) -> Tuple[int, int, int, int, int, bool]:
    """(ruid, euid, rgid, egid, locked kB, namespace init) from /proc/PID/status."""
    layout = layout or StatusLines()
    lines = status.split(b"\n")
    uids = layout.field(lines, b"Uid:").split()   # real, effective, saved, filesystem
    gids = layout.field(lines, b"Gid:").split()
    locked = layout.field(lines, b"VmLck:").split()  # "  0 kB"; absent for kernel threads
    nspid = layout.field(lines, b"NSpid:")           # "\t812\t1": PID 1 inside a namespace
    ruid, euid = (int(uids[0]), int(uids[1])) if len(uids) > 1 else (-1, -1)
    rgid, egid = (int(gids[0]), int(gids[1])) if len(gids) > 1 else (-1, -1)
    namespace_init = nspid.endswith(b"\t1") and nspid.count(b"\t") > 1
    return ruid, euid, rgid, egid, int(locked[0]) if locked else 0, namespace_init


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


class ProcReader:
    """Reads one snapshot; holds what is shared by all its processes."""

    def __init__(self, escaper: Optional[Escaper] = None) -> None:
        self.escaper = escaper or Escaper.for_environment()
        self.ttys = TtyNames()
        self.hertz = os.sysconf("SC_CLK_TCK")
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        self.boot = boot_time()
        self.status_lines = StatusLines()

    def read_process(self, pid: int) -> Optional[ProcessRecord]:
        base = f"/proc/{pid}/"
        try:
            stat = read_file(base + "stat")
            comm, f = parse_stat(stat)
            flags = int(f[6])
            if flags & PF_KTHREAD:
                # Kernel threads run as root with no arguments and no memory of their own:
                # status and cmdline would say nothing new, and there are hundreds of them.
                status, cmdline = _KERNEL_THREAD_STATUS, b""
            else:
                status = read_file(base + "status")
                cmdline = read_file(base + "cmdline")
        except OSError:  # gone, or hidden from us: ps skips it too
            return None
        state = f[0].decode("ascii", "replace")
        ppid, pgid, sid, tty_nr, tpgid = map(int, f[1:6])
        nice, threads, start_ticks = int(f[16]), int(f[17]), int(f[19])
        ruid, euid, rgid, egid, locked, namespace_init = parse_status(status, self.status_lines)
        escape = self.escaper
        # Positional, in ProcessRecord's field order: this runs once per process per refresh.
        return ProcessRecord(
            pid, ppid, pgid, sid,
            self.ttys.name(tty_nr, pid) if tty_nr else "?",
            tpgid,
            state_string(state, nice, locked, pid, sid, threads, pgid, tpgid),
            euid,
            (int(f[11]) + int(f[12])) // self.hertz,
            escape.command(cmdline, comm, state),
            escape.text(comm),
            state,
            bool(flags & PF_KTHREAD),
            tuple(cmdline.decode("utf-8", "backslashreplace").split("\0")[:-1]),
            tty_nr, flags, nice, threads, ruid, rgid, egid, start_ticks,
            self.boot + start_ticks / self.hertz,
            namespace_init, None, None,
            int(f[11]) + int(f[12]),
            int(f[21]) * self.page_kb,
        )

    def read_pids(self, pids: List[int]) -> List[ProcessRecord]:
        records = []
        for pid in pids:
            record = self.read_process(pid)
            if record is not None:
                records.append(record)
        return records

    def read_all(self, use_second_core: bool = False) -> List[ProcessRecord]:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
        if use_second_core and len(pids) >= _FORK_ABOVE and _can_fork():
            records = self._read_in_two_processes(pids)
        else:
            records = self.read_pids(pids)
        return with_cgroups(records)

    def _read_in_two_processes(self, pids: List[int]) -> List[ProcessRecord]:
        """Half the processes are read by a forked helper on the other core.

        Reading /proc is kernel work plus parsing, one process after another; ps does it on
        one core. Threads do not help (the parsing holds the GIL); a second process does.
        Its records come back as plain tuples through a pipe (marshal is fast and C-level).
        """
        read_end, write_end = os.pipe()
        helper = os.fork()
        if helper == 0:  # the helper: read, send, and leave without running any cleanup
            status = 1
            try:
                os.close(read_end)
                data = marshal.dumps([tuple(r) for r in self.read_pids(pids[1::2])])
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        records = self.read_pids(pids[0::2])
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(helper, 0)
        if status != 0:  # the helper failed: read its half here rather than show less
            return records + self.read_pids(pids[1::2])
        return records + [ProcessRecord._make(t) for t in marshal.loads(data)]


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


def with_cgroups(records: List[ProcessRecord]) -> List[ProcessRecord]:
    """Add the cgroup path where the kinds need it: to children of PID 1, of a systemd (a user
    manager) and of a namespace's init, and to namespace inits (a container's scope). Reading it
    for every process would cost a third more /proc reads for nothing."""
    managers = {r.pid for r in records if r.comm == "systemd" or r.namespace_init}
    out = []
    for r in records:
        if not r.kernel_thread and (r.ppid == 1 or r.pid == 1 or r.namespace_init or r.ppid in managers):
            r = r._replace(cgroup=read_cgroup(r.pid))
        out.append(r)
    return out


def _can_fork() -> bool:
    # Forking a process that runs threads can deadlock the child (a lock held by another
    # thread stays held), so only a single-threaded caller, the command line, forks.
    return hasattr(os, "fork") and threading.active_count() == 1


def read_snapshot(use_second_core: bool = False, escaper: Optional[Escaper] = None) -> Snapshot:
    records = ProcReader(escaper).read_all(use_second_core)
    return Snapshot(records, source="live", pid_width=pid_digits())


def read_one(pid: int) -> Optional[ProcessRecord]:
    """One process, now: for the audit and the demo, which follow a single PID."""
    return ProcReader().read_process(pid)
