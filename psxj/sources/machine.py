"""This machine as a whole, for the interface's meters: the load average, memory, and the CPUs' time.

Part of the sources: one small function per /proc file, as psutil's _pslinux has it, each parsing its
bytes once and answering None when the file cannot be read or parsed (another system, a container
without them). The kernel writes these files; nobody else can plant them. Read by the interface at each
refresh of the live table (psxj.tui.meters), on its own thread's time: three small reads.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple


class Memory(NamedTuple):
    total_kib: int
    available_kib: int   # what the kernel says can be had without swapping (MemAvailable)

    @property
    def used_kib(self) -> int:
        return max(self.total_kib - self.available_kib, 0)


class CpuTimes(NamedTuple):
    busy: int    # clock ticks of every CPU not idle nor waiting for I/O, since boot
    total: int


def _read(path: str, limit: int = 8192) -> Optional[bytes]:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None


def parse_loadavg(data: bytes) -> Optional[Tuple[float, float, float]]:
    """`0.52 0.61 0.70 2/345 6789` -> (0.52, 0.61, 0.70)."""
    try:
        one, five, fifteen = (float(word) for word in data.split()[:3])
    except ValueError:
        return None
    return one, five, fifteen


def parse_meminfo(data: bytes) -> Optional[Memory]:
    """MemTotal and MemAvailable, in KiB (kernels before 3.14 have no MemAvailable: free + buffers + cached)."""
    fields = {}
    for line in data.splitlines():
        name, _, rest = line.partition(b":")
        words = rest.split()
        if words and words[0].isdigit():
            fields[name] = int(words[0])
    total = fields.get(b"MemTotal")
    if not total:
        return None
    available = fields.get(b"MemAvailable")
    if available is None:
        available = fields.get(b"MemFree", 0) + fields.get(b"Buffers", 0) + fields.get(b"Cached", 0)
    return Memory(total, min(available, total))


def parse_cpu_times(data: bytes) -> Optional[CpuTimes]:
    """The first line of /proc/stat, `cpu user nice system idle iowait irq softirq steal ...`: guest time
    is already counted in user and nice, so it is left out of the total."""
    first = data.split(b"\n", 1)[0].split()
    if not first or first[0] != b"cpu" or len(first) < 5:
        return None
    try:
        ticks = [int(word) for word in first[1:9]]
    except ValueError:
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    total = sum(ticks)
    return CpuTimes(total - idle, total)


def load_average(path: str = "/proc/loadavg") -> Optional[Tuple[float, float, float]]:
    data = _read(path)
    return parse_loadavg(data) if data is not None else None


def memory(path: str = "/proc/meminfo") -> Optional[Memory]:
    data = _read(path, 16384)
    return parse_meminfo(data) if data is not None else None


def cpu_times(path: str = "/proc/stat") -> Optional[CpuTimes]:
    data = _read(path, 4096)   # the aggregate line comes first
    return parse_cpu_times(data) if data is not None else None


def cpu_percent(before: Optional[CpuTimes], now: Optional[CpuTimes]) -> Optional[float]:
    """How busy the CPUs were between two readings, 0-100 for all of them together, as top's %Cpu(s)."""
    if before is None or now is None or now.total <= before.total:
        return None
    return min(max((now.busy - before.busy) * 100.0 / (now.total - before.total), 0.0), 100.0)
