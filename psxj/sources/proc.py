"""The live source on Linux: /proc/PID/stat, status and cmdline, read directly.

psutil has no PGID, SID or TPGID and builds an object per process, so the table is
read here, one small function per /proc file, each parsing its bytes once. A process
that exits or becomes unreadable while the table is read is skipped: that is the one
boundary where such errors are handled.
"""

from __future__ import annotations

import os
from typing import List, Optional, Tuple

from psxj.escape import Escaper
from psxj.model import PF_KTHREAD, ProcessRecord, Snapshot
from psxj.sources.ttynames import TtyNames

_ARGS_LIMIT = 128 * 1024  # procps reads at most this much of cmdline (MAX_BUFSZ)


def _read(path: str, limit: int = 65536) -> bytes:
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


def _status_field(status: bytes, key: bytes) -> List[bytes]:
    """The words of one /proc/PID/status line; key includes the newline before it."""
    start = status.find(key)
    if start < 0:
        return []
    start += len(key)
    end = status.find(b"\n", start)
    return status[start:end if end >= 0 else None].split()


def _status_ints(status: bytes, key: bytes) -> List[int]:
    return [int(v) for v in _status_field(status, key)]


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
        self.boot = boot_time()

    def read_process(self, pid: int) -> Optional[ProcessRecord]:
        base = f"/proc/{pid}/"
        try:
            stat = _read(base + "stat")
            status = _read(base + "status")
            cmdline = _read(base + "cmdline")
        except OSError:  # gone, or hidden from us: ps skips it too
            return None
        comm, f = parse_stat(stat)
        state = f[0].decode("ascii", "replace")
        ppid, pgid, sid, tty_nr, tpgid, flags = (int(v) for v in f[1:7])
        cpu_ticks = int(f[11]) + int(f[12])
        nice, threads, start_ticks = int(f[16]), int(f[17]), int(f[19])
        uids = _status_ints(status, b"\nUid:") or [-1, -1]
        gids = _status_ints(status, b"\nGid:") or [-1, -1]
        locked = _status_field(status, b"\nVmLck:")[:1]  # "VmLck:  0 kB"; absent for kernel threads
        nspids = _status_ints(status, b"\nNSpid:")
        escape = self.escaper
        return ProcessRecord(
            pid=pid,
            ppid=ppid,
            pgid=pgid,
            sid=sid,
            tty=self.ttys.name(tty_nr, pid),
            tpgid=tpgid,
            stat=state_string(state, nice, int(locked[0]) if locked else 0, pid, sid, threads, pgid, tpgid),
            euid=uids[1],
            cpu_seconds=cpu_ticks // self.hertz,
            command=escape.command(cmdline, comm, state),
            comm=escape.text(comm),
            state=state,
            kernel_thread=bool(flags & PF_KTHREAD),
            argv=tuple(a.decode("utf-8", "backslashreplace") for a in cmdline.split(b"\0")[:-1]),
            tty_nr=tty_nr,
            flags=flags,
            nice=nice,
            threads=threads,
            ruid=uids[0],
            rgid=gids[0],
            egid=gids[1],
            start_ticks=start_ticks,
            start_time=self.boot + start_ticks / self.hertz,
            namespace_init=len(nspids) > 1 and nspids[-1] == 1,
        )

    def read_all(self) -> List[ProcessRecord]:
        records = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                record = self.read_process(int(name))
                if record is not None:
                    records.append(record)
        return records


def read_snapshot() -> Snapshot:
    return Snapshot(ProcReader().read_all(), source="live", pid_width=pid_digits())


def read_one(pid: int) -> Optional[ProcessRecord]:
    """One process, now: for the audit and the demo, which follow a single PID."""
    return ProcReader().read_process(pid)
