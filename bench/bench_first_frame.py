"""Benchmark: time to the first painted table, psxj against htop, each started in a pseudo-terminal.

    python bench/bench_first_frame.py [--processes 1000,10000] [--runs 7] [--size 160x48]

For each population (the total number of processes on the machine, topped up with children that
sleep in pause()), starts `psxj` and `htop --sort-key PID` alternately in a fresh pty of the given
size and measures, from the spawn, the moment the terminal has received both the table's header
and the row of PID 1 (both programs list PID 1 first). Prints the median of each, the ratio
psxj/htop (below 1.0: psxj paints first), and where psxj's start-up time goes. Every spawned
process is killed and reaped by PID at the end.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sleepers import reap, spawn_sleepers, wait_until_asleep  # noqa: E402


def pid1_marker() -> bytes:
    """What both programs print in PID 1's row: the basename of its program."""
    with open("/proc/1/cmdline", "rb") as f:
        first = f.read().split(b"\0")[0]
    return os.path.basename(first)[:12] or b"init"


def first_frame(argv, columns: int, lines: int, markers, timeout: float = 30.0, later=None) -> float:
    """Seconds from spawn until every marker has been written to the terminal. With `later` (a
    marker and a list), also waits for that marker and appends its time to the list."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(columns), LINES=str(lines))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed psxj has compiled bytecode
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    elapsed = None
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 1 << 16)
                except OSError:
                    break
                if elapsed is None and all(m in seen for m in markers):
                    elapsed = time.perf_counter() - started
                if elapsed is not None and (later is None or later[0] in seen):
                    if later is not None:
                        later[1].append(time.perf_counter() - started)
                    break
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    if elapsed is None:
        raise RuntimeError(f"{argv[0]}: no first frame within {timeout}s")
    return elapsed


def psxj_breakdown() -> str:
    """Where psxj's start-up goes, measured in this process: interpreter, imports, one /proc read."""
    python = [sys.executable, "-c", "pass"]
    started = time.perf_counter()
    subprocess.run(python, check=True)
    interpreter = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import psxj.tui.app"], check=True,
                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    imports = time.perf_counter() - started - interpreter
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from psxj.sources.proc import read_snapshot

    started = time.perf_counter()
    read_snapshot()
    reading = time.perf_counter() - started
    return (f"interpreter {interpreter * 1000:.0f} ms, import of the interface {imports * 1000:.0f} ms, "
            f"one /proc read in one process {reading * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1000,10000", help="total processes to measure at, comma-separated")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", default="160x48")
    args = parser.parse_args()
    columns, lines = (int(v) for v in args.size.split("x"))
    htop = shutil.which("htop")
    if htop is None:
        sys.exit("bench_first_frame: htop is not installed (apt-get install htop)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    psxj = [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); from psxj.commands.main import main; "
                                  "sys.exit(main(['--delay', '60']))"]
    marker = pid1_marker()
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; terminal {columns}x{lines}; "
          f"{args.runs} runs each, interleaved")
    children: list = []
    try:
        for target in (int(v) for v in args.processes.split(",")):
            present = sum(1 for name in os.listdir("/proc") if name.isdigit())
            if target > present:
                new = spawn_sleepers(target - present)
                children += new
                wait_until_asleep(new)
                time.sleep(1)
            total = sum(1 for name in os.listdir("/proc") if name.isdigit())
            first_frame(psxj, columns, lines, [b"COMMAND", marker])  # warm caches and bytecode
            first_frame([htop, "--sort-key", "PID"], columns, lines, [b"Command", marker])
            psxj_times, htop_times, interactive = [], [], []
            for _ in range(args.runs):
                htop_times.append(first_frame([htop, "--sort-key", "PID"], columns, lines, [b"Command", marker]))
                # "sort PID" is in the status line of the interface itself, not in the first frame.
                psxj_times.append(first_frame(psxj, columns, lines, [b"COMMAND", marker],
                                              later=(b"sort PID", interactive)))
            p, h = statistics.median(psxj_times), statistics.median(htop_times)
            print(f"{total:6d} processes: first table psxj {p * 1000:5.0f} ms  htop {h * 1000:5.0f} ms  "
                  f"ratio psxj/htop {p / h:.2f}  (psxj min {min(psxj_times) * 1000:.0f}, "
                  f"max {max(psxj_times) * 1000:.0f} ms)")
            i = statistics.median(interactive)
            print(f"{'':22}interface up (keys answered) psxj {i * 1000:5.0f} ms, ratio to htop's first table "
                  f"{i / h:.2f}")
        print("psxj start-up, measured apart:", psxj_breakdown())
    finally:
        reap(children)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
