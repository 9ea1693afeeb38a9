"""Benchmark: `psxj --print` against `ps -axj` with thousands of extra processes.

    python bench/bench_print.py [--processes 5000] [--runs 9]

Spawns the processes (children that sleep in pause()), times both commands
interleaved, prints the median of each and the ratio psxj/ps, then kills and reaps
every child by PID. A ratio below 1.0 means psxj is faster.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time


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


def timed(argv: list, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    pids = spawn_sleepers(args.processes)
    try:
        wait_until_asleep(pids)
        time.sleep(1)
        total = sum(1 for name in os.listdir("/proc") if name.isdigit())
        psxj = [sys.executable, "-m", "psxj", "--print"]
        ps = ["ps", "-axj"]
        # An installed psxj has its bytecode compiled (pip does it); let the warm-up run write it
        # even where PYTHONDONTWRITEBYTECODE is set, so every measured run starts the same way.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        timed(psxj, env), timed(ps, env)  # warm the page cache, the imports and the bytecode
        ps_times, psxj_times = [], []
        for _ in range(args.runs):
            ps_times.append(timed(ps, env))
            psxj_times.append(timed(psxj, env))
    finally:
        reap(pids)
    ps_median, psxj_median = statistics.median(ps_times), statistics.median(psxj_times)
    print(f"processes: {total}  runs: {args.runs} interleaved")
    print(f"ps -axj       median {ps_median * 1000:7.1f} ms")
    print(f"psxj --print  median {psxj_median * 1000:7.1f} ms")
    print(f"ratio psxj/ps {psxj_median / ps_median:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
