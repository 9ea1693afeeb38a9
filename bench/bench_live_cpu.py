"""Benchmark: CPU used by the live view, psxj against htop at the same refresh interval, in tmux.

    python bench/bench_live_cpu.py [--processes 100,1000,10000,50000] [--windows 3] [--seconds 30]
                                   [--size 160x48] [--delay 2]

For each population (total processes on the machine, topped up with idle children; a machine that
already runs more is measured as it is, and says so), starts `psxj --delay 2` and `htop -d 20`
(htop counts tenths of a second), each in a tmux server of its own (a private socket) at 160x48,
both running at once. After a warm-up it measures both over the same consecutive windows: the
CPU time of each program's process tree (user + system time of the program and its live
descendants, such as psxj's /proc reader helper, plus what they reaped: cutime, cstime, all from
/proc/PID/stat) and, apart, of its tmux server (the terminal's work of drawing what it wrote).
Prints each window, the median and spread of the percentages of one core, the ratio psxj/htop
(goal: at most 1.0 at every size), and the machine's forks a second meanwhile (psxj's events feed
works for each). With --baseline REF, that commit's psxj runs too, over the same windows. Every
process started here is ended by its PID.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
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


class InTmux:
    """One program in a tmux server of its own (socket `name`), detached, `columns`x`lines`."""

    def __init__(self, name: str, argv: List[str], columns: int, lines: int) -> None:
        self.socket = name
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "TMUX", "COLUMNS",
                                                                 "LINES")}
        command = "exec " + " ".join(_quoted(a) for a in argv)
        subprocess.run(self._tmux("new-session", "-d", "-x", str(columns), "-y", str(lines), "-c", ROOT, command),
                       check=True, env=env)
        self.server = int(self._ask("#{pid}"))
        self.pid = int(self._ask("#{pane_pid}"))
        self.server_start, self.start = _start(self.server), _start(self.pid)

    def _tmux(self, *args: str) -> List[str]:
        return ["tmux", "-L", self.socket, "-f", "/dev/null", *args]

    def _ask(self, what: str) -> str:
        return subprocess.run(self._tmux("display-message", "-p", what), capture_output=True, text=True,
                              check=True).stdout.strip()

    def cpu(self) -> float:
        return tree_cpu_seconds(self.pid)

    def server_cpu(self) -> float:
        return tree_cpu_seconds(self.server, descend=False)

    def alive(self) -> bool:
        return _start(self.pid) == self.start

    def close(self) -> None:
        """q (both quit on it; psxj stops and reaps its helper), then each process left, by its PID."""
        descendants = [(pid, _start(pid)) for pid in _descendants(self.pid)]
        if self.alive():
            subprocess.run(self._tmux("send-keys", "q"), capture_output=True)
            deadline = time.monotonic() + 10
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
        for pid, start in [(self.pid, self.start)] + descendants + [(self.server, self.server_start)]:
            if start is not None and _start(pid) == start:
                os.kill(pid, signal.SIGKILL)
        for pid in (self.pid, self.server):
            _wait_gone(pid)


def _wait_gone(pid: int) -> None:
    """Until the process is gone (tmux's server detaches itself: init reaps it, not us)."""
    for _ in range(100):
        try:
            _stat_fields(pid)
        except OSError:
            return
        time.sleep(0.05)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def measure(programs: Dict[str, List[str]], columns: int, lines: int, warmup: float, windows: int,
            seconds: float) -> Dict[str, dict]:
    """Run every program at once, each in its own tmux; their CPU over `windows` windows of `seconds`."""
    running: Dict[str, InTmux] = {}
    results = {name: {"cpu": [], "tmux": [], "rss": 0.0, "alive": True} for name in programs}
    try:
        for name, argv in programs.items():
            running[name] = InTmux(f"psxj-bench-{os.getpid()}-{name.replace(' ', '-')}", argv, columns, lines)
        time.sleep(warmup)
        marks = {name: (p.cpu(), p.server_cpu()) for name, p in running.items()}
        for _ in range(windows):
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            for name, p in running.items():
                cpu, server = p.cpu(), p.server_cpu()
                before = marks[name]
                results[name]["cpu"].append(100 * (cpu - before[0]) / elapsed)
                results[name]["tmux"].append(100 * (server - before[1]) / elapsed)
                marks[name] = (cpu, server)
        for name, p in running.items():
            results[name]["rss"] = tree_rss_mib(p.pid)
            results[name]["alive"] = p.alive()
    finally:
        for p in running.values():
            p.close()
    return results


def forks() -> int:
    """Processes forked on this machine since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("processes "):
                return int(line.split()[1])
    return 0


def median_spread(values: List[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="100,1000,10000,50000", help="total processes, comma-separated")
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30, help="length of each window")
    parser.add_argument("--warmup", type=float, default=10, help="seconds before measuring (start-up)")
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--delay", type=float, default=2.0, help="refresh interval of both, in seconds")
    parser.add_argument("--psxj-args", default="", help="more arguments for psxj (e.g. --no-events)")
    parser.add_argument("--baseline", metavar="REF",
                        help="also run this commit's psxj (git archive), at the same time, over the same windows")
    args = parser.parse_args()
    columns, lines = (int(v) for v in args.size.split("x"))
    htop, tmux = shutil.which("htop"), shutil.which("tmux")
    if htop is None or tmux is None:
        sys.exit("bench_live_cpu: needs htop and tmux (apt-get install htop tmux)")
    version = subprocess.run([htop, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    tenths = str(round(args.delay * 10))
    psxj_argv = ["--delay", f"{args.delay:g}", *args.psxj_args.split()]
    programs = {"psxj": [sys.executable, "-m", "psxj", *psxj_argv], "htop": [htop, "-d", tenths]}
    scratch = tempfile.mkdtemp(prefix="psxj-live-")
    if args.baseline:  # its own copy, run from there: `python -m psxj` finds the psxj of the current directory
        tree = archive(args.baseline, scratch)
        programs = {f"psxj {args.baseline}": ["env", "-C", tree, sys.executable, "-m", "psxj", *psxj_argv],
                    **programs}
    print(f"machine: {machine()}")
    print(f"{version}, {subprocess.run([tmux, '-V'], capture_output=True, text=True).stdout.strip()}; "
          f"{columns}x{lines}; both running at once, each in its own tmux server; {args.windows} windows of "
          f"{args.seconds:g} s after {args.warmup:g} s; {' '.join(programs['psxj'][1:])} against htop -d {tenths}")
    for target in (int(v) for v in args.processes.split(",")):
        present = process_count()
        with Sleepers(max(target - present, 0)) as sleepers:
            for note in sleepers.notes:
                print(f"  ({note})")
            total = process_count()
            load_before, forks_before, started = open("/proc/loadavg").read().split()[0], forks(), time.monotonic()
            results = measure(programs, columns, lines, args.warmup, args.windows, args.seconds)
            load_after = open("/proc/loadavg").read().split()[0]
            fork_rate = (forks() - forks_before) / (time.monotonic() - started)
        more = f" (the machine already ran {present})" if present > target else ""
        print(f"\n{total} processes{more}; load average {load_before} before, {load_after} after; the machine "
              f"forked {fork_rate:.1f} processes a second (psxj's events follow them); % of one core, median "
              "(min-max) of the windows:")
        for name, r in results.items():
            windows = " ".join(f"{v:.2f}" for v in r["cpu"])
            print(f"  {name:12} {median_spread(r['cpu'])}   windows: {windows}   its tmux: "
                  f"{median_spread(r['tmux'])}   resident {r['rss']:.0f} MiB"
                  f"{'' if r['alive'] else '  (IT EXITED EARLY)'}")
        for name in results:
            if name.startswith("psxj"):
                ratios = [p / h if h else float("inf") for p, h in zip(results[name]["cpu"], results["htop"]["cpu"])]
                print(f"  ratio {name}/htop: {median_spread(ratios)}  (goal: at most 1.0)")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


def archive(ref: str, into: str) -> str:
    """The psxj of commit `ref`, as files in `into` (git archive: nothing of this checkout changes)."""
    tree = os.path.join(into, "tree")
    os.makedirs(tree)
    data = subprocess.run(["git", "-C", ROOT, "archive", ref, "psxj"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=data, check=True)
    return tree


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
