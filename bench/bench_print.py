"""Benchmark: `psxj --print` (and --json, --csv) against `ps -axj` with thousands of extra processes.

    python bench/bench_print.py [--processes 5000,20000] [--runs 15]

For each population (extra idle processes from bench/sleepers.py), runs interleaved, round after
round: `ps -axj`, `psxj --print`, `psxj --json`, `psxj --csv`, and `ps -axj` and `psxj --print`
pinned to one core (`taskset -c 0`: psxj then forks no worker). Prints the median wall time of each,
the ratios to ps (below 1.0: psxj is faster; the goal is 0.6 on all cores, and at most 1.0 on one),
and where psxj's time goes, measured apart: interpreter start, imports, listing /proc, the kernel's
reading of stat/status/cmdline, parsing, formatting, writing. Also how well this machine runs
/proc reading on two cores at once: psxj can only gain what the machine gives. Every process
started here is killed and reaped by PID.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sleepers import Sleepers, machine, process_count  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a child Python: where psxj's time goes, phase by phase, after a warm-up.
_SPLIT = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from psxj.escape import Escaper
from psxj.render.psformat import Layout, columns
from psxj.select import Selection
from psxj.sources.proc import ProcReader, list_pids, pid_digits, read_records
from psxj.sources.parallel import worker_count, usable_cores
from psxj.commands import live_output

def raw(pids):
    for pid in pids:
        for name in ("stat", "status", "cmdline"):
            try:
                fd = os.open(f"/proc/{pid}/{name}", os.O_RDONLY)
                os.read(fd, 4096)
                os.close(fd)
            except OSError:
                pass

def timed(function, *args):
    best = []
    for _ in range(5):
        started = time.perf_counter()
        result = function(*args)
        best.append(time.perf_counter() - started)
    best.sort()
    return best[2] * 1000, result

escaper = Escaper.for_environment()
layout = Layout(columns(pid_digits()), 1 << 17, escaper)
listing, pids = timed(list_pids)
reading, _ = timed(raw, pids)
read_parse, records = timed(ProcReader(escaper).read_pids, pids)
formatting, lines = timed(lambda: [layout.row(r) for r in records])
text = "\n".join(lines).encode()
null = os.open(os.devnull, os.O_WRONLY)
writing, _ = timed(os.write, null, text)
workers = worker_count(len(pids), live_output._READ_PER_WORKER)
parallel, _ = timed(live_output.ps_text, Selection(), escaper, 1 << 17)
json_rows, _ = timed(live_output.exported, Selection(), escaper, True)
print(f"{listing:.1f} {reading:.1f} {read_parse - reading:.1f} {formatting:.1f} {writing:.1f} {parallel:.1f} "
      f"{workers} {usable_cores()} {json_rows:.1f}")
"""

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


def timed(argv: list, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env, cwd=ROOT)
    return time.perf_counter() - start


def median_ms(values: list) -> float:
    return statistics.median(values) * 1000


def measure(runs: int, env: dict) -> dict:
    psxj = [sys.executable, "-m", "psxj"]
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else None
    commands = {
        "ps -axj": ["ps", "-axj"],
        "psxj --print": psxj + ["--print"],
        "psxj --json": psxj + ["--json"],
        "psxj --csv": psxj + ["--csv"],
    }
    if pin:
        commands["ps -axj, 1 core"] = pin + ["ps", "-axj"]
        commands["psxj --print, 1 core"] = pin + psxj + ["--print"]
    for argv in commands.values():  # warm the page cache, the imports and the bytecode
        timed(argv, env)
    times: dict = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(timed(argv, env))
    return times


def split(env: dict) -> list:
    interpreter = [timed([sys.executable, "-c", "pass"], env) for _ in range(7)]
    imports = [timed([sys.executable, "-c", "import psxj.commands.main, psxj.commands.table, "
                      "psxj.commands.live_output, psxj.render.psformat"], env) for _ in range(7)]
    out = subprocess.run([sys.executable, "-c", _SPLIT, ROOT], capture_output=True, text=True, env=env, check=True)
    values = out.stdout.split()
    return [median_ms(interpreter), median_ms(imports) - median_ms(interpreter), *map(float, values)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="5000,20000", help="extra processes, comma-separated")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    # An installed psxj has its bytecode compiled (pip does it); let the warm-up run write it
    # even where PYTHONDONTWRITEBYTECODE is set, so every measured run starts the same way.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "COLUMNS")}
    print(f"machine: {machine()}")
    for extra in (int(v) for v in args.processes.split(",")):
        with Sleepers(extra) as sleepers:
            for note in sleepers.notes:
                print(f"({note})")
            total = process_count()
            times = measure(args.runs, env)
            parts = split(env)
            scaling = subprocess.run([sys.executable, "-c", _SCALING], capture_output=True, text=True,
                                     check=True).stdout.strip()
        ps, ps_one = median_ms(times["ps -axj"]), median_ms(times.get("ps -axj, 1 core", [0]))
        print(f"\n{extra} extra processes ({total} in all), {args.runs} interleaved runs, median wall time:")
        for name, values in times.items():
            base = ps_one if name.endswith("1 core") else ps
            print(f"  {name:22} {median_ms(values):7.1f} ms   ratio to ps{' (1 core)' if base is ps_one else ''} "
                  f"{median_ms(values) / base:.2f}   (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")
        print_ms = median_ms(times["psxj --print"])
        for name in ("psxj --json", "psxj --csv"):
            print(f"  {name} / psxj --print {median_ms(times[name]) / print_ms:.2f}  (goal: at most 1.0)")
        (interpreter, imports, listing, reading, parsing, formatting, writing, parallel, workers, cores,
         json_rows) = parts
        one_core = interpreter + imports + listing + reading + parsing + formatting + writing
        print(f"  where psxj --print's time goes (one core, measured apart): interpreter start {interpreter:.0f} ms, "
              f"imports {imports:.0f}, listing /proc {listing:.0f}, kernel reading stat+status+cmdline "
              f"{reading:.0f}, parsing {parsing:.0f}, formatting {formatting:.0f}, writing {writing:.1f}: "
              f"{one_core:.0f} ms in all")
        print(f"  the same reading, parsing and formatting by {workers:.0f} processes ({cores:.0f} usable cores): "
              f"{parallel:.0f} ms (one core: {listing + reading + parsing + formatting:.0f}); JSON rows "
              f"{json_rows:.0f} ms")
        print(f"  this machine reads /proc {scaling}x as fast with two processes as with one")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
