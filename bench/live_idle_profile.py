"""Where an idle live view's CPU goes: psxj in tmux, with probes, beside the CPU of each of its threads.

    python bench/live_idle_profile.py [--processes 100] [--seconds 60] [--size 160x48] [--delay 2]
                                      [--psxj-args "--no-events"]

A diagnosis, not a race: it starts `psxj --delay 2` in a tmux server of its own through a small
launcher that wraps some of the interface's and Textual's functions with counters and timers
(nothing in psxj's source is changed), lets it warm up, then over `--seconds` reports:

- the CPU of every thread of the interface and of its /proc reader helper, from
  /proc/PID/task/TID/schedstat (nanoseconds, not clock ticks);
- how often each timer fired and what its callbacks cost; how many repaints the screen made, the
  lines of the process table rendered and the bytes written to the terminal; what applying each
  snapshot cost; the events the feed handed over;
- the machine's forks a second meanwhile (/proc/stat): the events feed's work follows them.

Times are wall time spent inside the wrapped calls on their thread (for this CPU-bound code, close
to its CPU time). Every process started here is ended by its PID.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_live_cpu import InTmux, forks  # noqa: E402
from sleepers import Sleepers, machine, process_count  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The launcher: wraps functions with probes, writes their counts to argv[1] when SIGUSR1 comes.
_LAUNCHER = r"""
import collections, json, os, signal, sys, threading, time
sys.path.insert(0, sys.argv[2])
out_path = sys.argv[1]
del sys.argv[1:3]
counts = collections.Counter()
seconds = collections.Counter()

def probe(owner, name, label=None, measure=None):
    original = getattr(owner, name)
    label = label or f"{owner.__name__}.{name}"
    def wrapped(*args, **kwargs):
        counts[label] += 1
        if measure is not None:
            counts[label + " (units)"] += measure(*args, **kwargs)
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds[label] += time.perf_counter() - started
    wrapped.__wrapped__ = original
    setattr(owner, name, wrapped)

import textual.timer, textual.screen, textual.widget, textual.app, textual.drivers.linux_driver as linux_driver
from psxj.tui import app as psxj_app, table as psxj_table
from psxj.sources import reader as psxj_reader, event_stream

original_tick = textual.timer.Timer._tick
async def tick(self, *args, **kwargs):
    callback = getattr(self._callback, "__wrapped__", self._callback)
    key = "timer " + (getattr(callback, "__qualname__", None) or str(self.name))
    counts[key] += 1
    started = time.perf_counter()
    try:
        return await original_tick(self, *args, **kwargs)
    finally:
        seconds[key] += time.perf_counter() - started
textual.timer.Timer._tick = tick

probe(textual.screen.Screen, "_on_timer_update", "repaint (Screen._on_timer_update)")
probe(textual.screen.Screen, "_compositor_refresh", "compositor refresh")
probe(textual.app.App, "_display", "App._display")
probe(linux_driver.LinuxDriver, "write", "bytes to the terminal", measure=lambda self, data: len(data))
original_refresh = textual.widget.Widget.refresh
def refresh(self, *args, **kwargs):
    counts["refresh() of " + type(self).__name__] += 1
    return original_refresh(self, *args, **kwargs)
textual.widget.Widget.refresh = refresh
probe(psxj_table.ProcessTable, "render_line", "table lines rendered")
probe(psxj_table.ProcessTable, "set_rows")
for name in ("apply_snapshot", "rebuild", "update_status", "_watch_terminal"):
    probe(psxj_app.PsxjApp, name)
try:  # the events' work is their feature's since the interface's features have modules of their own
    from psxj.tui.events import Events as events_owner
except ImportError:  # an older psxj (--baseline): the app's
    events_owner = psxj_app.PsxjApp
for name in ("take_events", "_observations", "_note_session_changes"):
    probe(events_owner, name, f"events: {name}")
probe(psxj_app, "build_rows", "views.build_rows")
probe(psxj_app, "cpu_percent", "views.cpu_percent")
probe(psxj_reader.SnapshotReader, "read", "SnapshotReader.read (waits for the helper)")
probe(event_stream.EventFeed, "drain")
original_read = event_stream.EventStream.read
def stream_read(self, *args, **kwargs):
    events = original_read(self, *args, **kwargs)
    counts["events stream reads"] += 1
    counts["events handed over"] += len(events)
    return events
event_stream.EventStream.read = stream_read

def dump(*_):
    names = {str(t.native_id): t.name for t in threading.enumerate()}
    with open(out_path + ".tmp", "w") as f:
        json.dump({"counts": counts, "seconds": seconds, "time": time.monotonic(), "threads": names}, f)
    os.replace(out_path + ".tmp", out_path)
signal.signal(signal.SIGUSR1, dump)

try:
    from psxj.commands.main import main
except ImportError:  # an older psxj (--baseline)
    from psxj.cli import main
raise SystemExit(main())
"""


def archive(ref: str, into: str) -> str:
    """The psxj of commit `ref`, as files in `into` (git archive: nothing of this checkout changes)."""
    tree = os.path.join(into, "tree")
    os.makedirs(tree)
    data = subprocess.run(["git", "-C", ROOT, "archive", ref, "psxj"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=data, check=True)
    return tree


def thread_cpu(pid: int) -> Dict[str, float]:
    """Seconds each thread of `pid` has run (schedstat), keyed "tid name"."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ran = int(f.read().split()[0]) / 1e9
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        found[f"{tid} {name}"] = ran
    return found


def process_cpu(pid: int) -> float:
    """utime + stime of a whole process (its dead threads too), in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def snapshot_probes(program: InTmux, path: str) -> dict:
    before = os.path.getmtime(path) if os.path.exists(path) else 0
    os.kill(program.pid, signal.SIGUSR1)
    for _ in range(100):
        if os.path.exists(path) and os.path.getmtime(path) != before:
            break
        time.sleep(0.05)
    with open(path) as f:
        return json.load(f)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=100, help="total processes on the machine")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--psxj-args", default="")
    parser.add_argument("--baseline", metavar="REF", help="profile this commit's psxj instead (git archive)")
    args = parser.parse_args()
    columns, lines = (int(v) for v in args.size.split("x"))
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="psxj-idle-") as scratch:
        launcher = os.path.join(scratch, "launch.py")
        with open(launcher, "w") as f:
            f.write(_LAUNCHER)
        stats_path = os.path.join(scratch, "probes.json")
        tree = archive(args.baseline, scratch) if args.baseline else ROOT
        argv = [sys.executable, launcher, stats_path, tree, "--delay", f"{args.delay:g}", *args.psxj_args.split()]
        with Sleepers(max(args.processes - process_count(), 0)):
            total = process_count()
            program = InTmux(f"psxj-idle-{os.getpid()}", argv, columns, lines)
            try:
                time.sleep(args.warmup)
                helper = next((int(p) for p in open(f"/proc/{program.pid}/task/{program.pid}/children").read()
                               .split()), None)
                first = snapshot_probes(program, stats_path)
                threads0, helper0, forks0 = thread_cpu(program.pid), helper and process_cpu(helper), forks()
                process0, started = process_cpu(program.pid), time.monotonic()
                time.sleep(args.seconds)
                threads1, helper1, forks1 = thread_cpu(program.pid), helper and process_cpu(helper), forks()
                process1, elapsed = process_cpu(program.pid), time.monotonic() - started
                last = snapshot_probes(program, stats_path)
                load = open("/proc/loadavg").read().split()[0]
            finally:
                program.close()
    print(f"{args.baseline or 'this checkout'}: {total} processes, {columns}x{lines}, psxj --delay {args.delay:g} "
          f"{args.psxj_args}, {elapsed:.0f} s after "
          f"{args.warmup:g} s; load average {load}; the machine forked {(forks1 - forks0) / elapsed:.1f} processes a "
          "second meanwhile")
    print(f"interface process: {100 * (process1 - process0) / elapsed:.2f} % of a core (clock ticks, all its "
          f"threads, the dead ones too)")
    names = last.get("threads", {})
    for key in sorted(threads1, key=lambda k: threads0.get(k, 0) - threads1[k]):
        used = threads1[key] - threads0.get(key, 0)
        tid = key.split()[0]
        print(f"  thread {tid:>7} {names.get(tid, '(ended)'):24} {100 * used / elapsed:6.3f} %")
    if helper:
        print(f"reader helper (PID {helper}): {100 * (helper1 - helper0) / elapsed:.3f} % of a core")
    counts = {k: last["counts"].get(k, 0) - first["counts"].get(k, 0) for k in last["counts"]}
    spent = {k: last["seconds"].get(k, 0) - first["seconds"].get(k, 0) for k in last["seconds"]}
    print(f"per {elapsed:.0f} s: calls, total ms, ms a call, % of a core (probes; nested calls are counted in each)")
    for key in sorted(counts, key=lambda k: (-spent.get(k, 0), -counts[k])):
        if not counts[key]:
            continue
        ms = spent.get(key, 0) * 1000
        each = f"{ms / counts[key]:8.2f}" if key in spent else "        "
        share = f"{100 * spent[key] / elapsed:6.3f}" if key in spent else "      "
        print(f"  {counts[key]:8d} {ms:9.1f} {each} {share}  {key}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
