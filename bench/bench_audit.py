"""Benchmark: `psxj audit --all` with thousands of real daemons, the tutorial's way.

    python bench/bench_audit.py [--daemons 5000] [--runs 5] [--shared]

`audit --all` audits every daemon-like process, so idle children of the benchmark would cost it
nothing. Here every one of the --daemons processes is a classic daemon: it forks, calls setsid(),
forks again, changes to /, sets its umask, and its first child exits, so init adopts it. To
adopt and reap them by PID without touching the machine's own init, everything runs in a new
PID namespace with its own /proc (`unshare --pid --fork --mount-proc`): this script is PID 1
there, psxj sees only the namespace's processes, and when this script ends the kernel kills
whatever is left in the namespace. Prints the median wall time of `psxj audit --all` on all
cores and pinned to one (`taskset -c 0`), the number of processes audited, and the goal (2 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sleepers import machine, reap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOAL_SECONDS = 2.0


def start_daemons(count: int, shared: bool) -> list:
    """`count` double-forked daemons adopted by this process (PID 1 of the namespace), each waiting
    in pause() with nothing open but /dev/null, until killed by PID (ours to reap: we are their init,
    so no PID of theirs can be reused before we reap it). shared: each keeps a pipe and /dev/null
    from this process open above fd 2, as the workers of a pre-fork pool share their master's."""
    kept = [*os.pipe(), os.open(os.devnull, os.O_RDWR)] if shared else []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the first child: a new session, then the daemon, then exit
            try:
                os.setsid()
                if os.fork() == 0:
                    os.chdir("/")
                    os.umask(0)
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    devnull = os.open(os.devnull, os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(devnull, fd)
                    if not shared:
                        os.closerange(3, 65536)
                    try:
                        signal.pause()
                    finally:
                        os._exit(0)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)  # the first child has exited: its child is now ours (we are init here)
    for fd in kept:
        os.close(fd)
    return daemon_pids()


def daemon_pids() -> list:
    me = os.getpid()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me:
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me:
                found.append(int(name))
    return found


def time_audit(pinned: bool) -> tuple:
    argv = [sys.executable, "-m", "psxj", "audit", "--all"]
    if pinned:
        argv = ["taskset", "-c", "0", *argv]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some rule failed, as it will for some daemons
        raise SystemExit(f"psxj audit --all failed: {done.stderr.decode(errors='replace')[-400:]}")
    first = done.stdout.split(b"\n", 1)[0].decode(errors="replace")
    return elapsed, first


def inside(count: int, runs: int, shared: bool) -> int:
    """PID 1 of the namespace: start the daemons, time the audits, end the daemons and reap them."""
    started = time.perf_counter()
    pids = start_daemons(count, shared)
    what = " each keeping a pipe and /dev/null from their starter" if shared else ""
    print(f"{len(pids)} daemons{what} started in {time.perf_counter() - started:.1f} s "
          f"({sum(1 for n in os.listdir('/proc') if n.isdigit())} processes in the namespace)")
    try:
        wide, narrow, heading = [], [], ""
        for _ in range(runs):  # interleaved: both see the same machine
            seconds, heading = time_audit(pinned=False)
            wide.append(seconds)
            if shutil.which("taskset"):
                narrow.append(time_audit(pinned=True)[0])
        print(f"psxj audit --all: {heading}")
        print(f"  all cores:  median {statistics.median(wide):.2f} s of {runs} runs "
              f"(min {min(wide):.2f}, max {max(wide):.2f}); goal under {GOAL_SECONDS:.0f} s: "
              f"{'met' if statistics.median(wide) < GOAL_SECONDS else 'NOT met'}")
        if narrow:
            print(f"  one core:   median {statistics.median(narrow):.2f} s (taskset -c 0)")
    finally:
        reap(pids)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daemons", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shared", action="store_true",
                        help="every daemon keeps a pipe and /dev/null from the starter (a pre-fork pool)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return inside(args.daemons, args.runs, args.shared)
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        raise SystemExit("bench_audit: needs root and unshare(1) (util-linux) for its own PID namespace")
    print(f"machine: {machine()}")
    return subprocess.run([unshare, "--pid", "--fork", "--mount-proc", sys.executable, os.path.abspath(__file__),
                           "--inside", "--daemons", str(args.daemons), "--runs", str(args.runs),
                           *(["--shared"] if args.shared else [])]).returncode


if __name__ == "__main__":
    sys.exit(main())
