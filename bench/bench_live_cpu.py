"""Benchmark: CPU used by the live view over a minute, psxj against htop, at the same refresh interval.

    python bench/bench_live_cpu.py [--processes 10000,50000] [--seconds 60] [--size 160x48]

For each population (total processes on the machine, topped up with idle children), runs
`psxj --delay 2` and `htop -d 20` (htop counts tenths of a second) one after the other, each in
its own pseudo-terminal whose output is read and thrown away, and measures the CPU time its
process tree used over `--seconds` after a warm-up: user + system time of the program and of its
live descendants (psxj's /proc reader helper), plus what its reaped children used (cutime,
cstime), all read from /proc/PID/stat. Prints each, the percentage of one core, and the ratio
psxj/htop (below 0.5 is the goal). Every process started here is killed and reaped by PID.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sleepers import Sleepers, machine, process_count  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> List[bytes]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()


def _children(pid: int) -> List[int]:
    found: List[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _descendants(root: int) -> List[int]:
    found, pending = [], _children(root)
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += _children(pid)
    return found


def _start(pid: int):
    try:
        return _stat_fields(pid)[19]
    except OSError:
        return None


def tree_cpu_seconds(root: int, descend: bool = True) -> float:
    """utime + stime of `root` and its live descendants, plus the cutime + cstime of each (children
    they reaped): the CPU the whole program has used so far. Without descend, the root's own."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        total += sum(int(v) for v in f[11:15])   # utime stime cutime cstime
        if descend:
            pending += _children(pid)
    return total / TICKS


def tree_rss_mib(root: int) -> float:
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            total += int(_stat_fields(pid)[21]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        pending += _children(pid)
    return total / 2**20


def measure(argv: List[str], columns: int, lines: int, warmup: float, seconds: float) -> Dict[str, float]:
    """Run argv on a pty for warmup + seconds, draining its output; CPU seconds used after the warm-up."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(columns), LINES=str(lines))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                            cwd=ROOT)
    os.close(slave)
    painted = 0

    def drain(until: float) -> None:
        nonlocal painted
        while time.monotonic() < until:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    painted += len(os.read(master, 1 << 16))
                except OSError:
                    return

    try:
        drain(time.monotonic() + warmup)
        before, root_before = tree_cpu_seconds(proc.pid), tree_cpu_seconds(proc.pid, descend=False)
        started = time.monotonic()
        drain(started + seconds)
        used = tree_cpu_seconds(proc.pid) - before
        root_used = tree_cpu_seconds(proc.pid, descend=False) - root_before
        elapsed = time.monotonic() - started
        rss = tree_rss_mib(proc.pid)
        alive = proc.poll() is None
        descendants = [(pid, _start(pid)) for pid in _descendants(proc.pid)]
        os.write(master, b"q")          # both quit on q; psxj stops and reaps its reader helper
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            drain(time.monotonic() + 0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    for pid, start in descendants:      # none should be left; if one is, it goes by its PID
        if start is not None and _start(pid) == start:
            os.kill(pid, signal.SIGKILL)
    return {"cpu": used, "main": root_used, "elapsed": elapsed, "rss": rss, "alive": alive, "output": painted}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="10000,50000", help="total processes, comma-separated")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=8, help="seconds before measuring (start-up)")
    parser.add_argument("--size", default="160x48")
    args = parser.parse_args()
    columns, lines = (int(v) for v in args.size.split("x"))
    htop = shutil.which("htop")
    if htop is None:
        sys.exit("bench_live_cpu: htop is not installed (apt-get install htop)")
    version = subprocess.run([htop, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    psxj = [sys.executable, "-m", "psxj", "--delay", "2"]
    print(f"machine: {machine()}")
    print(f"{version}; terminal {columns}x{lines}; {args.seconds:.0f} s each after {args.warmup:.0f} s warm-up; "
          "psxj --delay 2 against htop -d 20")
    for target in (int(v) for v in args.processes.split(",")):
        with Sleepers(max(target - process_count(), 0)) as sleepers:
            for note in sleepers.notes:
                print(f"  ({note})")
            total = process_count()
            p = measure(psxj, columns, lines, args.warmup, args.seconds)
            h = measure([htop, "-d", "20"], columns, lines, args.warmup, args.seconds)
        for name, m in (("psxj", p), ("htop", h)):
            print(f"{total:6d} processes: {name} {m['cpu']:6.2f} s CPU in {m['elapsed']:.0f} s = "
                  f"{100 * m['cpu'] / m['elapsed']:5.1f} % of a core (main process {m['main']:.2f} s, "
                  f"helpers {m['cpu'] - m['main']:.2f} s), resident {m['rss']:.0f} MiB"
                  f"{'' if m['alive'] else '  (IT EXITED EARLY)'}")
        ratio = p["cpu"] / h["cpu"] if h["cpu"] else float("inf")
        print(f"{total:6d} processes: ratio psxj/htop {ratio:.2f}  (goal at most 0.5)")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
