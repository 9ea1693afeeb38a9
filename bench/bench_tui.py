"""Benchmark: the interface with 10,000 (or 50,000) processes, driven headless.

    python bench/bench_tui.py [--processes 10000] [--refreshes 5] [--baseline REF]

With --baseline REF, that commit's psxj (git archive) is driven the same way over the same processes,
in the same run, and both columns are printed side by side.

Prints, for a screen of 160x48:
  - UI-thread time of a refresh: applying a snapshot (filter, sort, set rows) plus the repaint;
  - the wait for a snapshot from the reader helper (off the UI thread, for reference);
  - key press to repaint for moving, paging, sorting, filtering and toggling;
  - resident memory of the interface and of its /proc reader helper.
Every spawned process is killed and reaped by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# --psxj-tree DIR (the baseline's run): that psxj, imported before this checkout's.
_TREE = sys.argv[sys.argv.index("--psxj-tree") + 1] if "--psxj-tree" in sys.argv else ROOT
sys.path.insert(0, _TREE)

import psutil  # noqa: E402
from sleepers import Sleepers, machine, process_count  # noqa: E402

from psxj.sources.reader import SnapshotReader  # noqa: E402
from psxj.tui.app import PsxjApp  # noqa: E402
from psxj.tui.launch import tune_collector  # noqa: E402

# Keys of features the baseline may not have: measured here, shown as new beside it.
NEW_KEYS: set = set()


def slab_kib() -> tuple:
    """(unreclaimable, reclaimable) kernel slab memory: kmalloc'd buffers; dentries and inodes."""
    with open("/proc/meminfo") as f:
        values = {line.split(":")[0]: int(line.split()[1]) for line in f}
    return values["SUnreclaim"], values["SReclaimable"]


async def drive(refreshes: int) -> dict:
    tune_collector()  # as `psxj` does before it starts the interface
    slab_before = slab_kib()
    reader = SnapshotReader()
    app = PsxjApp(reader=reader, delay=3600)  # refreshes are triggered by the benchmark
    figures: dict = {"refresh_ui": [], "snapshot_wait": [], "keys": {}}
    async with app.run_test(size=(160, 48)) as pilot:
        while app.refresh_count == 0:
            await pilot.pause(0.05)
        for _ in range(refreshes):
            started = time.perf_counter()
            snapshot = await asyncio.to_thread(reader.read)
            figures["snapshot_wait"].append(time.perf_counter() - started)
            started = time.perf_counter()
            app.apply_snapshot(snapshot)
            await pilot.pause()  # until the repaint is done
            figures["refresh_ui"].append(time.perf_counter() - started)
        figures["rows"] = len(app.table.rows)
        figures["slab"] = [after - before for after, before in zip(slab_kib(), slab_before)]

        # Latency: from the key press to the end of the table's repaint (render_lines done).
        painted = []
        table = app.table
        original_render_lines = table.render_lines

        def render_lines(crop):
            strips = original_render_lines(crop)
            painted.append(time.perf_counter())
            return strips

        table.render_lines = render_lines

        async def key(name: str, *keys: str, before=None) -> None:
            first, settled = [], []
            for _ in range(5):
                if before is not None:
                    await before()
                started = time.perf_counter()
                painted.clear()
                await pilot.press(*keys)
                await pilot.pause()
                if painted:
                    first.append(painted[0] - started)     # the new rows are on screen
                    settled.append(painted[-1] - started)  # nothing more to paint
            figures["keys"][name] = (statistics.median(first), statistics.median(settled)) if first else (0, 0)

        await key("down", "down")
        await key("page down", "pagedown")
        await key("sort (next column)", "greater_than_sign")
        await key("reverse sort", "i")
        await key("hide/show kernel threads", "k")
        await key("forest view", "t")
        await key("sessions view", "g")
        async def type_filter():
            await pilot.press("slash")
            app.query_one("#filter").value = "-u root python"
            await pilot.pause()

        await key("filter -u root python (Enter)", "enter", before=type_filter)
        figures["rss_app"] = psutil.Process().memory_info().rss
        helper = reader._helper
        figures["rss_helper"] = psutil.Process(helper.pid).memory_info().rss if helper else 0
    return figures


def archive(ref: str, into: str) -> str:
    """The psxj of commit `ref`, as files in `into` (git archive: nothing of this checkout changes)."""
    data = subprocess.run(["git", "-C", ROOT, "archive", ref, "psxj"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=data, check=True)
    return into


def drive_in_child(refreshes: int, tree: str = "") -> dict:
    """drive() in a fresh interpreter (the same for both psxjs: no import or cache carried over)."""
    argv = [sys.executable, os.path.abspath(__file__), "--drive-only", "--refreshes", str(refreshes)]
    out = subprocess.run(argv + (["--psxj-tree", tree] if tree else []), capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=10000)
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--baseline", metavar="REF", help="also drive this commit's psxj, over the same processes")
    parser.add_argument("--drive-only", action="store_true", help=argparse.SUPPRESS)   # a child of --baseline
    parser.add_argument("--psxj-tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive_only:
        print(json.dumps(asyncio.run(drive(args.refreshes))))
        return 0
    print(f"machine: {machine()}")
    with Sleepers(max(args.processes - process_count(), 0)) as sleepers:
        for note in sleepers.notes:
            print(f"({note})")
        if not args.baseline:
            figures = asyncio.run(drive(args.refreshes))
        else:
            with tempfile.TemporaryDirectory(prefix="psxj-bench-base-") as scratch:
                base = drive_in_child(args.refreshes, archive(args.baseline, scratch))
                figures = drive_in_child(args.refreshes)
    if args.baseline:
        side_by_side(args.baseline, base, figures)
        return 0
    ms = 1000
    print(f"processes in the table: {figures['rows']}")
    print(f"refresh, UI thread (apply + repaint): median {statistics.median(figures['refresh_ui']) * ms:.0f} ms,"
          f" max {max(figures['refresh_ui']) * ms:.0f} ms   (limit 150 ms)")
    print(f"snapshot from the reader helper (off the UI thread): median "
          f"{statistics.median(figures['snapshot_wait']) * ms:.0f} ms")
    print(f"{'key press':36} first repaint   settled   (limit 50 ms)")
    for name, (first, settled) in figures["keys"].items():
        print(f"  {name:34} {first * ms:8.0f} ms {settled * ms:7.0f} ms")
    both = figures["rss_app"] + figures["rss_helper"]
    print(f"resident memory: interface {figures['rss_app'] / 2**20:.0f} MiB + reader helper "
          f"{figures['rss_helper'] / 2**20:.0f} MiB = {both / 2**20:.0f} MiB (limit 200 MiB)")
    unreclaimable, reclaimable = figures["slab"]
    print(f"kernel memory while the interface ran: +{unreclaimable / 1024:.0f} MiB unreclaimable slab (the helper "
          f"keeps a /proc/PID/stat open per process up to its descriptor limit, ~3.4 KiB each, and other machine "
          f"activity), +{reclaimable / 1024:.0f} MiB reclaimable (/proc dentries and inodes, as any reader of /proc)")
    return 0


def side_by_side(ref: str, base: dict, now: dict) -> None:
    ms = 1000
    print(f"processes in the table: {base['rows']} ({ref}), {now['rows']} (this checkout)")
    print(f"{'UI time (median of 5; first repaint)':38} {ref[:12]:>12} {'this checkout':>14}   limit")
    print(f"  {'refresh (apply + repaint)':36} {statistics.median(base['refresh_ui']) * ms:9.0f} ms "
          f"{statistics.median(now['refresh_ui']) * ms:11.0f} ms   150 ms")
    for name, (first, _settled) in now["keys"].items():
        was = base["keys"].get(name)
        was_text = f"{was[0] * ms:9.0f} ms" if was and name not in NEW_KEYS else f"{'(new)':>12}"
        print(f"  {name:36} {was_text} {first * ms:11.0f} ms    50 ms")
    base_mib, now_mib = ((f["rss_app"] + f["rss_helper"]) / 2**20 for f in (base, now))
    print(f"  {'resident memory, interface + helper':36} {base_mib:9.0f} MiB{now_mib:10.0f} MiB  200 MiB")


if __name__ == "__main__":
    raise SystemExit(main())
