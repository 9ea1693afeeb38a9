"""Thousands of idle processes for the benchmarks, forked by a small forker and reaped by PID.

A child forked from Python costs ~450 KiB (its reference counts copy the interpreter's pages
on write): 22 GiB at 50,000. bench/sleeper.c, built here with the machine's C compiler into a
private directory, costs ~50 KiB a child; without a compiler a `python -I -S` forker is used,
for counts the memory allows. Each child blocks reading a pipe whose only write end the forker
holds, so if the forker dies the children see end of file and exit too: nothing outlives a
benchmark that crashed. The forker kills and reaps each child by PID when its stdin closes.

    with Sleepers(50000) as sleepers:   # raises pid_max if the machine needs it, and restores it
        ...
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

# Runs in the forker. Children exit when the forker goes (the pipe's write end closes).
_FORKER = r"""
import os, signal, sys
count = int(sys.argv[1])
read_end, write_end = os.pipe()
pids = []
try:
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os.close(write_end)
            os.close(0)  # the benchmark's pipes: only the forker answers on them
            os.close(1)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                os.read(read_end, 1)
            finally:
                os._exit(0)
        pids.append(pid)
except OSError as exc:
    sys.stderr.write(f"forker: {exc} after {len(pids)} processes\n")
out = sys.stdout
out.write("".join(f"{pid}\n" for pid in pids) + "ready\n")
out.flush()
signal.signal(signal.SIGINT, signal.SIG_IGN)
sys.stdin.readline()          # the benchmark closes our stdin when it is done
for pid in pids:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
for pid in pids:
    os.waitpid(pid, 0)
"""

PID_MAX = "/proc/sys/kernel/pid_max"
_KIB_PER_C_CHILD = 100          # measured 15-80 KiB
_KIB_PER_PYTHON_CHILD = 600     # measured 410-490 KiB
_SPARE_PIDS = 2000
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sleeper.c")


def build_forker(directory: str) -> Optional[str]:
    """bench/sleeper.c compiled into `directory` (ours), or None without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    binary = os.path.join(directory, "bench-sleeper")
    for flags in (["-O2", "-static"], ["-O2"]):
        done = subprocess.run([compiler, *flags, "-o", binary, _SOURCE], capture_output=True)
        if done.returncode == 0:
            return binary
    return None


def process_count() -> int:
    return sum(1 for name in os.listdir("/proc") if name.isdigit())


def mem_available_kib() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


class Sleepers:
    """`count` idle processes until close(); .pids lists them."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pids: List[int] = []
        self._forker: Optional[subprocess.Popen] = None
        self._saved_pid_max: Optional[str] = None
        self._build_dir: Optional[str] = None
        self.notes: List[str] = []

    def __enter__(self) -> "Sleepers":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        if self.count <= 0:
            return
        self._build_dir = tempfile.mkdtemp(prefix="psxj-bench-")
        binary = build_forker(self._build_dir)
        argv = [binary] if binary else [sys.executable, "-I", "-S", "-c", _FORKER]
        need = self.count * (_KIB_PER_C_CHILD if binary else _KIB_PER_PYTHON_CHILD) + (1 << 20)
        if mem_available_kib() < need:
            self.close()
            raise SystemExit(f"sleepers: {self.count} processes need ~{need >> 10} MiB with "
                             f"{'the C' if binary else 'the Python (no C compiler)'} forker; "
                             f"only {mem_available_kib() >> 10} MiB available")
        self._make_room_for_pids()
        self._forker = subprocess.Popen([*argv, str(self.count)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for line in self._forker.stdout:
            if line == "ready\n":
                break
            self.pids.append(int(line))
        if len(self.pids) < self.count:
            self.notes.append(f"only {len(self.pids)} of {self.count} processes could be started")
        self.wait_until_asleep()

    def _make_room_for_pids(self) -> None:
        """pid_max caps the processes a machine can run; raise it (root) for the run, restore it after."""
        with open(PID_MAX) as f:
            current = f.read().strip()
        wanted = process_count() + self.count + _SPARE_PIDS
        if int(current) >= wanted:
            return
        try:
            with open(PID_MAX, "w") as f:
                f.write(str(max(wanted, 1 << 17)))
        except OSError as exc:
            raise SystemExit(f"sleepers: pid_max is {current}, too small for {self.count} more processes, "
                             f"and cannot be raised: {exc}") from None
        self._saved_pid_max = current
        self.notes.append(f"pid_max raised from {current} to {max(wanted, 1 << 17)} for the run")

    def wait_until_asleep(self) -> None:
        wait_until_asleep(self.pids, timeout=120)
        time.sleep(0.5)

    def close(self) -> None:
        forker, self._forker = self._forker, None
        if forker is not None:
            try:
                forker.stdin.close()       # the forker kills and reaps every child by PID, then exits
                forker.wait(timeout=120)
            except subprocess.TimeoutExpired:
                forker.kill()              # its children then read end of file and exit
                forker.wait()
            forker.stdout.close()
        self.pids = []
        if self._build_dir is not None:
            shutil.rmtree(self._build_dir, ignore_errors=True)
            self._build_dir = None
        if self._saved_pid_max is not None:
            with open(PID_MAX, "w") as f:
                f.write(self._saved_pid_max)
            self._saved_pid_max = None


# Children of the benchmark itself, for the benchmarks that start and stop a few at a time
# (bench_record's churn). Each costs ~0.5 MiB: for thousands, use Sleepers.
def spawn_sleepers(count: int) -> list:
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                while True:
                    signal.pause()
            finally:
                os._exit(0)
        pids.append(pid)
    return pids


def reap(pids: list) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def wait_until_asleep(pids: list, timeout: float = 60) -> None:
    """Time nothing while the children are still starting: they would steal the CPU."""
    deadline = time.monotonic() + timeout
    pending = list(pids)
    while pending and time.monotonic() < deadline:
        still = []
        for pid in pending:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    if f.read().rsplit(b")", 1)[1].split()[0] != b"S":
                        still.append(pid)
            except OSError:
                pass
        pending = still
        time.sleep(0.1)


def machine() -> str:
    """The machine a figure was measured on, in one line."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) >> 20
    return (f"{os.cpu_count()} cores ({usable} usable), {model}, {memory} GiB, Linux {os.uname().release}, "
            f"Python {sys.version.split()[0]}")
