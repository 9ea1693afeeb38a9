"""Benchmark: the interface with 10,000 (or 50,000) processes, driven headless.

    python bench/bench_tui.py [--processes 10000] [--refreshes 5]

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
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import psutil  # noqa: E402
from sleepers import Sleepers, machine, process_count  # noqa: E402

from psxj.sources.reader import SnapshotReader  # noqa: E402
from psxj.tui.app import PsxjApp  # noqa: E402
from psxj.tui.launch import tune_collector  # noqa: E402


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=10000)
    parser.add_argument("--refreshes", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with Sleepers(max(args.processes - process_count(), 0)) as sleepers:
        for note in sleepers.notes:
            print(f"({note})")
        figures = asyncio.run(drive(args.refreshes))
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


if __name__ == "__main__":
    raise SystemExit(main())
