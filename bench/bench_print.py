"""Benchmark: `psxj --print` (and --json, --csv) against `ps -axj` with thousands of extra processes.

    python bench/bench_print.py [--processes 5000,20000] [--runs 15] [--baseline main]

For each population (extra idle processes from bench/sleepers.py), runs interleaved, round after
round: `ps -axj`, `psxj --print`, `psxj --json`, `psxj --csv`, and `ps -axj` and `psxj --print`
pinned to one core (`taskset -c 0`: psxj then forks no worker). With --baseline REF, that commit's
psxj (git archive into a temporary directory) runs the same commands in the same rounds: before and
after, side by side. Prints the median wall time of each with its spread, the ratios to ps (below
1.0: psxj is faster; the goal is 0.6 on all cores, and at most 1.0 on one) and of --json and --csv
to --print (goal: at most 1.0), the load average, and how well this machine runs /proc reading on
two cores at once: psxj can only gain what the machine gives. Where --print's time goes, phase by
phase: bench/bench_print_split.py. Every process started here is killed and reaped by PID.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sleepers import Sleepers, machine, process_count  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a child Python: raw reading of the three files of every process, in one process and in two.
_SCALING = r"""
import os, sys, time
pids = [n for n in os.listdir("/proc") if n.isdigit()]
def raw(share):
    for pid in share:
        for name in ("stat", "status", "cmdline"):
            try:
                fd = os.open(f"/proc/{pid}/{name}", os.O_RDONLY)
                os.read(fd, 4096)
                os.close(fd)
            except OSError:
                pass
def run(workers):
    started = time.perf_counter()
    children = []
    for index in range(1, workers):
        pid = os.fork()
        if pid == 0:
            raw(pids[index::workers])
            os._exit(0)
        children.append(pid)
    raw(pids[0::workers])
    for pid in children:
        os.waitpid(pid, 0)
    return time.perf_counter() - started
one, two = [], []
for _ in range(7):
    one.append(run(1))
    two.append(run(2))
one.sort(); two.sort()
print(f"{one[3] / two[3]:.2f}")
"""


def timed(argv: list, env: dict, cwd: str = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env, cwd=cwd)
    return time.perf_counter() - start


def median_ms(values: list) -> float:
    return statistics.median(values) * 1000


def measure(runs: int, env: dict, trees: dict) -> dict:
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else None
    commands = {"ps -axj": (["ps", "-axj"], ROOT)}
    for label, tree in trees.items():
        psxj = [sys.executable, "-m", "psxj"]
        suffix = f" ({label})" if len(trees) > 1 else ""
        commands[f"psxj --print{suffix}"] = (psxj + ["--print"], tree)
        commands[f"psxj --json{suffix}"] = (psxj + ["--json"], tree)
        commands[f"psxj --csv{suffix}"] = (psxj + ["--csv"], tree)
    if pin:
        commands["ps -axj, 1 core"] = (pin + ["ps", "-axj"], ROOT)
        for label, tree in trees.items():
            suffix = f" ({label})" if len(trees) > 1 else ""
            commands[f"psxj --print, 1 core{suffix}"] = (pin + [sys.executable, "-m", "psxj", "--print"], tree)
    for argv, cwd in commands.values():  # warm the page cache, the imports and the bytecode
        timed(argv, env, cwd)
    times: dict = {name: [] for name in commands}
    for _ in range(runs):
        for name, (argv, cwd) in commands.items():
            times[name].append(timed(argv, env, cwd))
    return times


def archive(ref: str, into: str) -> str:
    """The psxj of commit `ref`, as files in `into` (git archive: nothing of this checkout changes)."""
    tree = os.path.join(into, ref.replace("/", "_"))
    os.makedirs(tree)
    data = subprocess.run(["git", "-C", ROOT, "archive", ref, "psxj"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=data, check=True)
    return tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="5000,20000", help="extra processes, comma-separated")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", metavar="REF", help="also measure this commit's psxj (git archive)")
    args = parser.parse_args()
    # An installed psxj has its bytecode compiled (pip does it); let the warm-up run write it
    # even where PYTHONDONTWRITEBYTECODE is set, so every measured run starts the same way.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "COLUMNS")}
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="psxj-bench-") as scratch:
        trees = {"this checkout": ROOT}
        if args.baseline:
            trees = {args.baseline: archive(args.baseline, scratch), **trees}
        for extra in (int(v) for v in args.processes.split(",")):
            with Sleepers(extra) as sleepers:
                for note in sleepers.notes:
                    print(f"({note})")
                total = process_count()
                load = open("/proc/loadavg").read().split()[0]
                times = measure(args.runs, env, trees)
                load = f"{load} before, {open('/proc/loadavg').read().split()[0]} after"
                scaling = subprocess.run([sys.executable, "-c", _SCALING], capture_output=True, text=True,
                                         check=True).stdout.strip()
            ps, ps_one = median_ms(times["ps -axj"]), median_ms(times.get("ps -axj, 1 core", [0]))
            print(f"\n{extra} extra processes ({total} in all), {args.runs} interleaved runs, load average {load}; "
                  "median wall time:")
            for name, values in times.items():
                base = ps_one if "1 core" in name else ps
                print(f"  {name:36} {median_ms(values):7.1f} ms   ratio to ps{' (1 core)' if base is ps_one else ''} "
                      f"{median_ms(values) / base:.2f}   (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")
            for label in trees:
                suffix = f" ({label})" if len(trees) > 1 else ""
                print_ms = median_ms(times[f"psxj --print{suffix}"])
                for name in ("psxj --json", "psxj --csv"):
                    print(f"  {name}{suffix} / psxj --print{suffix} {median_ms(times[name + suffix]) / print_ms:.2f}"
                          "  (goal: at most 1.0)")
            print(f"  this machine reads /proc {scaling}x as fast with two processes as with one")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
