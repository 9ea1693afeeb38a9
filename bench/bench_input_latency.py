"""Benchmark: how soon a key typed on a real pty reaches the interface, on Textual's own Linux driver and
on psxj's (psxj.tui.driver, whose input thread sleeps until there is input), and how often each input
thread wakes while nothing is typed.

    python bench/bench_input_latency.py [--keys 40] [--rounds 3]

A small Textual app on each driver, in a pty of its own, writes each key it gets down a pipe; the bench
types a key at a random moment (0.05 to 0.3 s after the last), and times from its write to the pty
until the key comes back up the pipe. Plain keys ("a"), a whole escape sequence (Up), and a lone
Escape, which the input parser can only tell from the start of a sequence by waiting ESCDELAY (0.1 s)
for more. The drivers run in turns, interleaved. Prints medians and the spread, in ms, and the input
thread's wake-ups a second while idle. Every process started here is ended by its PID.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import random
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sleepers import machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

APP = r"""
import os, sys, threading
sys.path.insert(0, sys.argv[1])
from textual.app import App
from textual.widgets import Static
if sys.argv[2] == "psxj":
    from psxj.tui.driver import QuietLinuxDriver as Driver
else:
    from textual.drivers.linux_driver import LinuxDriver as Driver
out = int(sys.argv[3])

class Keys(App):
    def compose(self):
        yield Static("ready")

    def on_mount(self):
        (thread,) = [t for t in threading.enumerate() if t.name == "textual-input"]
        os.write(out, f"tid {thread.native_id}\n".encode())

    def on_key(self, event):
        os.write(out, (event.key + "\n").encode())

Keys(driver_class=Driver).run()
"""

KEYS = {"a": b"a", "up": b"\x1b[A", "escape": b"\x1b"}


class Program:
    def __init__(self, driver: str) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.keys_read, keys_write = os.pipe()
        env = dict(os.environ, TERM="xterm-256color")
        self.proc = subprocess.Popen([sys.executable, "-c", APP, ROOT, driver, str(keys_write)], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, pass_fds=(keys_write,),
                                     start_new_session=True)
        os.close(slave)
        os.close(keys_write)
        self.buffer = b""
        self.tid = int(self.line(20).split()[1])

    def drain_screen(self) -> None:
        while select.select([self.master], [], [], 0)[0]:
            try:
                if not os.read(self.master, 65536):
                    return
            except OSError:
                return

    def line(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            self.drain_screen()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no key came back")
            ready = select.select([self.keys_read, self.master], [], [], left)[0]
            if self.keys_read in ready:
                self.buffer += os.read(self.keys_read, 4096)
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def wake_ups(self) -> int:
        with open(f"/proc/{self.proc.pid}/task/{self.tid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches:"))

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        os.close(self.master)
        os.close(self.keys_read)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=40, help="keys of each kind a round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of counting wake-ups while idle")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {open('/proc/loadavg').read().split()[0]}")
    drivers = ("textual", "psxj")
    latency: Dict[str, Dict[str, List[float]]] = {d: {k: [] for k in KEYS} for d in drivers}
    wakes: Dict[str, List[float]] = {d: [] for d in drivers}
    for _round in range(args.rounds):
        for driver in drivers:
            program = Program(driver)
            try:
                time.sleep(0.5)
                before = program.wake_ups()
                time.sleep(args.idle)
                wakes[driver].append((program.wake_ups() - before) / args.idle)
                order = [k for k in KEYS for _ in range(args.keys)]
                random.shuffle(order)
                for key in order:
                    time.sleep(random.uniform(0.05, 0.3))
                    program.drain_screen()
                    started = time.perf_counter()
                    os.write(program.master, KEYS[key])
                    got = program.line(5)
                    latency[driver][key].append((time.perf_counter() - started) * 1000)
                    assert got == key, (got, key)
            finally:
                program.close()
    print(f"{args.rounds} rounds of {args.keys} keys of each kind a driver, interleaved; ms from the write to "
          "the pty until the app has the key: median (min-max)")
    print(f"{'':10} {'a':>20} {'up (a sequence)':>20} {'lone escape':>20} {'idle wake-ups/s':>16}")
    for driver in drivers:
        cells = [f"{statistics.median(v):6.2f} ({min(v):.2f}-{max(v):.2f})" for v in latency[driver].values()]
        print(f"{driver:10} " + " ".join(f"{c:>20}" for c in cells) +
              f" {statistics.median(wakes[driver]):16.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
