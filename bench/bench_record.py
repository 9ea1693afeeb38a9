"""Benchmark: `psxj record` with 10,000 processes every 2 s: its CPU and its bytes per day.

    python bench/bench_record.py [--processes 10000] [--seconds 120] [--interval 2] [--churn 10]

Forks sleepers until the machine runs --processes processes, then starts the recorder
(`python -m psxj record DIR --interval 2`) and, while it runs, replaces --churn sleepers
every interval (kill, reap, fork) and keeps a few processes busy, so the table changes
as a server's does. Measured:

- CPU: the recorder's utime + stime from /proc/PID/stat over the window, after its first
  (full) table, as a percentage of one core. Goal: under 5 %.
- Bytes: what the recording grew by in the window, split into keyframes and changes,
  projected to a day with one keyframe at least every 10 minutes (the writer's default)
  and another whenever the changes since the last one outweigh it. Goal: 300 MB.

Every process it forks is killed and reaped by PID before it exits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sleepers import reap, spawn_sleepers, wait_until_asleep  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from psxj.sources.recording import DELTA, HEADER_SIZE, KEYFRAME, Recording  # noqa: E402

DAY = 86400
KEYFRAME_EVERY = 600  # RecordWriter's default


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn_busy(count: int) -> list:
    """Processes that work 10 ms each second: their TIME and state change now and then."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                while True:
                    end = time.process_time() + 0.01
                    while time.process_time() < end:
                        pass
                    time.sleep(1)
            finally:
                os._exit(0)
        pids.append(pid)
    return pids


def recording_bytes(path: str) -> dict:
    """Bytes on disk by kind (payload + entry header)."""
    sizes = {"keyframe": 0, "delta": 0, "other": 0, "keyframes": 0, "deltas": 0}
    recording = Recording(path)
    for frame in recording.frames:
        kind = "keyframe" if frame.kind == KEYFRAME else "delta" if frame.kind == DELTA else "other"
        sizes[kind] += frame.length + HEADER_SIZE
        sizes[kind + "s"] += 1
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=10000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--churn", type=int, default=10, help="sleepers replaced every interval")
    parser.add_argument("--busy", type=int, default=5, help="processes that work 10 ms a second")
    args = parser.parse_args()

    running = sum(1 for name in os.listdir("/proc") if name.isdigit())
    sleepers = spawn_sleepers(max(args.processes - running - args.busy, 0))
    busy = spawn_busy(args.busy)
    directory = tempfile.mkdtemp(prefix="psxj-bench-record-")
    path = os.path.join(directory, "rec")
    recorder = None
    try:
        wait_until_asleep(sleepers)
        total = sum(1 for name in os.listdir("/proc") if name.isdigit())
        recorder = subprocess.Popen([sys.executable, "-m", "psxj", "record", path, "--interval", str(args.interval)],
                                    cwd=ROOT, stdin=subprocess.DEVNULL)
        segment = os.path.join(path, "00000001.psxjrec")
        while not (os.path.exists(segment) and os.path.getsize(segment) > 1000):
            time.sleep(0.1)
        time.sleep(args.interval / 2)  # the first, full table is done: measure from here
        start_cpu, start_wall = cpu_seconds(recorder.pid), time.monotonic()
        start_bytes = recording_bytes(path)
        next_churn = time.monotonic()
        while time.monotonic() - start_wall < args.seconds:
            if time.monotonic() >= next_churn:
                for pid in sleepers[:args.churn]:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                sleepers = sleepers[args.churn:] + spawn_sleepers(args.churn)
                next_churn += args.interval
            time.sleep(0.05)
        cpu = cpu_seconds(recorder.pid) - start_cpu
        wall = time.monotonic() - start_wall
        end_bytes = recording_bytes(path)
    finally:
        if recorder is not None:
            recorder.terminate()
            recorder.wait()
        reap(sleepers + busy)
        shutil.rmtree(directory, ignore_errors=True)

    tables = wall / args.interval
    delta_bytes = end_bytes["delta"] - start_bytes["delta"]
    deltas = max(end_bytes["deltas"] - start_bytes["deltas"], 1)
    keyframe = end_bytes["keyframe"] / max(end_bytes["keyframes"], 1)
    deltas_per_day = delta_bytes / deltas * (DAY / args.interval)
    keyframes_per_day = max(DAY / KEYFRAME_EVERY, deltas_per_day / keyframe)
    per_day = deltas_per_day + keyframes_per_day * keyframe
    print(f"processes: {total}, interval {args.interval:g} s, churn {args.churn} per interval, "
          f"window {wall:.0f} s ({tables:.0f} tables)")
    print(f"recorder CPU: {cpu:.2f} s in {wall:.0f} s = {100 * cpu / wall:.2f} % of one core (goal < 5 %)")
    print(f"keyframe: {keyframe / 1024:.0f} KiB; change entries: {delta_bytes / deltas / 1024:.1f} KiB each "
          f"on average ({deltas} in the window)")
    print(f"projected size per day: {per_day / 1e6:.0f} MB ({deltas_per_day / 1e6:.0f} MB of changes, "
          f"{keyframes_per_day:.0f} keyframes) (goal <= 300 MB)")
    # The sleepers share one command line, so their keyframes compress better than a real
    # server's: the same day with keyframes ten times larger.
    large = 10 * keyframe
    per_day_large = deltas_per_day + max(DAY / KEYFRAME_EVERY, deltas_per_day / large) * large
    print(f"  with keyframes of {large / 1024:.0f} KiB (distinct command lines): {per_day_large / 1e6:.0f} MB a day")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
