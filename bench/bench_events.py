"""Benchmark: `psxj events` under a fork storm, 1,000 fork/exit pairs per second.

    python bench/bench_events.py [--duration 60] [--rate 1000] [--follow]

Runs `psxj events` as a user would (a subprocess, its output into a pipe this script drains),
waits until it is listening, then has a forker make RATE fork/exit pairs per second for DURATION
seconds (a small C program when a C compiler is here, so that the forker itself stays light;
else Python). Prints events received against expected (each pair is a FORK and an EXIT line
naming the forker as parent), the losses psxj marked (GAP lines), and psxj's CPU share: its
utime+stime from /proc/PID/stat over the storm and one second after it (to catch up), divided
by the storm's length, as a share of one core. With --follow, psxj
follows the forker instead of showing every process. Goal: nothing lost, under 10 % of a core.
Every process started here is reaped by PID before the script ends.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FORKER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    long rate = atol(argv[1]);
    long total = (long)(rate * atof(argv[2])), done;
    long step = 1000000000L / rate;
    struct timespec next;
    getchar();  /* wait for "go" */
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (done = 0; done < total; done++) {
        pid_t pid = fork();
        if (pid < 0) break;
        if (pid == 0) _exit(0);
        waitpid(pid, NULL, 0);
        next.tv_nsec += step;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    printf("%ld\n", done);
    return 0;
}
"""

FORKER_PY = r"""
import os, sys, time
rate, seconds = int(sys.argv[1]), float(sys.argv[2])
sys.stdin.readline()
step, start, done = 1.0 / rate, time.monotonic(), 0
for done in range(1, int(rate * seconds) + 1):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    delay = start + done * step - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(done, flush=True)
"""


def forker_command(workdir: str) -> list:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler:
        source = os.path.join(workdir, "forker.c")
        binary = os.path.join(workdir, "forker")
        with open(source, "w") as f:
            f.write(FORKER_C)
        if subprocess.run([compiler, "-O2", "-o", binary, source], capture_output=True).returncode == 0:
            return [binary]
    return [sys.executable, "-c", FORKER_PY]


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, the process and all its threads


class Drain:
    """Reads psxj's output as fast as it comes, counting what the benchmark asks about."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.forker = -1
        self.forks = self.exits = self.gaps = self.lines = 0
        self.lost_known = 0
        self.lost_unknown = False
        self.probes_seen: set = set()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for line in iter(self.stream.readline, b""):
            self.lines += 1
            fields = line.split(None, 5)
            if len(fields) < 4:
                continue
            event = fields[1]
            if event == b"GAP":
                self.gaps += 1
                words = line.split(b" events lost", 1)[0].split()
                if words and words[-1].isdigit():
                    self.lost_known += int(words[-1])
                else:
                    self.lost_unknown = True
                continue
            try:
                ppid, pid = int(fields[2]), int(fields[3])
            except ValueError:
                continue
            if ppid == self.forker:
                if event == b"FORK":
                    self.forks += 1
                elif event == b"EXIT":
                    self.exits += 1
            elif event == b"EXIT":
                self.probes_seen.add(pid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of fork storm (default 60)")
    parser.add_argument("--rate", type=int, default=1000, help="fork/exit pairs per second (default 1000)")
    parser.add_argument("--follow", action="store_true", help="psxj follows the forker instead of everything")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="psxj-bench-events-")
    forker = psxj = None
    try:
        forker = subprocess.Popen([*forker_command(workdir), str(args.rate), str(args.duration)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        command = [sys.executable, "-m", "psxj", "events"] + (["--follow", str(forker.pid)] if args.follow else [])
        psxj = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        drain = Drain(psxj.stdout)
        drain.forker = forker.pid
        # Listening once a probe's exit is printed (all processes), or after a settle time (--follow).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not args.follow:
            probe = subprocess.Popen(["true"])
            probe.wait()
            time.sleep(0.05)
            if probe.pid in drain.probes_seen:
                break
        else:
            time.sleep(1.0)
        before = cpu_ticks(psxj.pid)
        started = time.monotonic()
        forker.stdin.write(b"go\n")
        forker.stdin.flush()
        done = int(forker.stdout.readline() or 0)
        forker.wait()
        storm = time.monotonic() - started
        time.sleep(1.0)  # let psxj print what is still queued
        after = cpu_ticks(psxj.pid)
        elapsed = time.monotonic() - started
        psxj.send_signal(signal.SIGINT)
        psxj.wait(timeout=10)
        drain.thread.join(timeout=5)
        stderr = psxj.stderr.read().decode("utf-8", "replace").strip()
    finally:
        for proc in (psxj, forker):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)

    hertz = os.sysconf("SC_CLK_TCK")
    expected = 2 * done
    received = drain.forks + drain.exits
    cpu = (after - before) / hertz
    share = cpu / storm  # all it spent, catching up included, over the storm's length: the harsher figure
    print(f"psxj events{' --follow FORKER' if args.follow else ''}: {done} fork/exit pairs in {storm:.1f} s "
          f"({done / storm:.0f} per second)")
    print(f"events expected {expected}  received {received} (FORK {drain.forks}, EXIT {drain.exits})  "
          f"missing {expected - received}")
    lost = "unknown" if drain.lost_unknown else str(drain.lost_known)
    print(f"gaps marked {drain.gaps}  events lost per psxj {lost}  lines printed {drain.lines}")
    print(f"psxj CPU {cpu:.2f} s in {elapsed:.1f} s (the storm and 1 s after it): {share * 100:.1f} % of one core "
          f"over the {storm:.1f} s storm (goal: under 10 %)")
    if stderr:
        print(f"psxj said: {stderr}")
    return 0 if received == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
