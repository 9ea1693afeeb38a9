"""Benchmark: where `psxj --print`'s time goes on one core, phase by phase, beside `ps -axj`.

    python bench/bench_print_split.py [--processes 5000] [--runs 11] [--baseline main]

With --baseline REF, that commit's psxj (git archive into a temporary directory) is measured too,
in the same rounds: before and after, side by side. Each round runs, pinned to core 0 and one after
the other: `ps -axj`; each tree's `psxj --print`; `python -c pass` (the interpreter's start); and,
in a Python that has psxj already imported, each phase of each tree's --print apart, on the same
processes: listing /proc, the kernel's reading of stat, status and cmdline (stat alone for kernel
threads, as psxj reads them), reading and parsing as the tree does it, formatting, writing. The
kernel's part is the same files opened, read and closed with nothing parsed; parsing is the
difference. Imports and setup (modules, arguments, locale) is what is left of the whole run.
Prints medians and spreads. Every process started here is killed and reaped by PID.
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
PIN = ["taskset", "-c", "0"]

# Runs in a child Python pinned to one core, psxj imported from argv[1]: each phase, `rounds` times.
_PHASES = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
rounds = int(sys.argv[2])
from psxj.model import PF_KTHREAD
try:
    from psxj.escape import Escaper
except ImportError:  # a psxj from before escaping became the foundation's (--baseline)
    from psxj.render.escape import Escaper
from psxj.render.psformat import Layout, columns
from psxj.sources import proc

escaper = Escaper.for_environment()
layout = Layout(columns(proc.pid_digits()), 1 << 17, escaper)
pids = proc.list_pids()
kernel_threads = set()
for pid in pids:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if int(f.read().rsplit(b")", 1)[1].split()[6]) & PF_KTHREAD:
                kernel_threads.add(pid)
    except (OSError, ValueError, IndexError):
        pass

def raw():
    for pid in pids:
        for name in ("stat",) if pid in kernel_threads else ("stat", "status", "cmdline"):
            try:
                fd = os.open(f"/proc/{pid}/{name}", os.O_RDONLY | os.O_CLOEXEC)
                os.read(fd, 4096)
                os.close(fd)
            except OSError:
                pass

if hasattr(proc.ProcReader, "ps_cells"):   # --print lays rows out from cells (this branch)
    reader = proc.ProcReader(escaper, arguments=False)
    read_and_parse = lambda: [c for c in map(reader.ps_cells, pids) if c is not None]
    formatting = lambda rows: [layout.text_row(c) for c in rows]
    text = lambda lines: b"\n".join(lines)
else:                                      # --print lays rows out from records (before)
    reader = proc.ProcReader(escaper)
    read_and_parse = lambda: reader.read_pids(pids)
    formatting = lambda rows: [layout.row(r) for r in rows]
    text = lambda lines: "\n".join(lines).encode()
null = os.open(os.devnull, os.O_WRONLY)
for _ in range(rounds):
    times = []
    start = time.perf_counter(); proc.list_pids(); times.append(time.perf_counter() - start)
    start = time.perf_counter(); raw(); times.append(time.perf_counter() - start)
    start = time.perf_counter(); rows = read_and_parse(); times.append(time.perf_counter() - start)
    start = time.perf_counter(); lines = formatting(rows); times.append(time.perf_counter() - start)
    data = text(lines)
    start = time.perf_counter(); os.write(null, data); times.append(time.perf_counter() - start)
    print(" ".join(f"{t * 1000:.3f}" for t in times), flush=True)
"""


def archive(ref: str, into: str) -> str:
    """The psxj of commit `ref`, as files in `into` (git archive: nothing of this checkout changes)."""
    tree = os.path.join(into, ref.replace("/", "_"))
    os.makedirs(tree)
    data = subprocess.run(["git", "-C", ROOT, "archive", ref, "psxj"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=data, check=True)
    return tree


def wall(argv: list, env: dict, cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env, cwd=cwd)
    return (time.perf_counter() - start) * 1000


def spread(values: list) -> str:
    return f"{statistics.median(values):6.1f} ({min(values):.0f}-{max(values):.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=5000, help="extra idle processes")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--baseline", metavar="REF", help="also measure this commit's psxj (git archive)")
    args = parser.parse_args()
    if shutil.which("taskset") is None:
        sys.exit("bench_print_split: needs taskset (util-linux)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "COLUMNS")}
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="psxj-split-") as scratch:
        trees = {"this checkout": ROOT}
        if args.baseline:
            trees = {args.baseline: archive(args.baseline, scratch), **trees}
        print(f"machine: {machine()}")
        with Sleepers(args.processes) as sleepers:
            for note in sleepers.notes:
                print(f"({note})")
            total = process_count()
            for tree in trees.values():   # warm: bytecode written, page cache, imports
                wall(PIN + [python, "-m", "psxj", "--print"], env, tree)
            ps, start = [], []
            whole = {name: [] for name in trees}
            phases = {name: [] for name in trees}
            for _ in range(args.runs):
                ps.append(wall(PIN + ["ps", "-axj"], env, ROOT))
                start.append(wall(PIN + [python, "-c", "pass"], env, ROOT))
                for name, tree in trees.items():
                    whole[name].append(wall(PIN + [python, "-m", "psxj", "--print"], env, tree))
                for name, tree in trees.items():
                    out = subprocess.run(PIN + [python, "-c", _PHASES, tree, "3"], capture_output=True, text=True,
                                         env=env, check=True).stdout.split("\n")
                    phases[name] += [[float(v) for v in line.split()] for line in out if line]
        load = open("/proc/loadavg").read().split()[:3]
    print(f"\n{args.processes} extra processes ({total} in all), one core (taskset -c 0), {args.runs} interleaved "
          f"rounds; load average {' '.join(load)}; median (min-max), ms:")
    print(f"  ps -axj: {spread(ps)}")
    for name in trees:
        columns = list(zip(*phases[name]))
        listing, reading, read_parse, formatting, writing = (statistics.median(c) for c in columns)
        parsing = read_parse - reading
        interpreter = statistics.median(start)
        measured = statistics.median(whole[name])
        setup = measured - interpreter - listing - read_parse - formatting - writing
        print(f"  psxj --print, {name}: {spread(whole[name])}, ratio to ps {measured / statistics.median(ps):.2f}")
        print(f"    interpreter start {interpreter:.0f}, imports and setup {setup:.0f}, listing /proc {listing:.0f}, "
              f"kernel reading stat+status+cmdline {reading:.0f}, parsing {parsing:.0f}, formatting "
              f"{formatting:.0f}, writing {writing:.1f}")
        print("    phases' spread: " + ", ".join(f"{label} {min(c):.0f}-{max(c):.0f}" for label, c in zip(
            ("listing", "reading", "reading+parsing", "formatting"), columns)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
