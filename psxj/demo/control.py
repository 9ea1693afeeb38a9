"""`psxj demo start|stop|restart|status|log|init-script|unit`: drive the demo like the tutorial's init script.

The pidfile's lock, not its contents, says whether the daemon runs: the holder of the
write lock (from /proc/locks) is the daemon, so a stale pidfile left by kill -9 never
blocks a start, and stop never signals a PID that has been reused.

status follows LSB: 0 running, 1 dead but the pidfile remains, 3 not running.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from typing import List, Optional

from psxj.demo.daemon import LOGFILE, PIDFILE, STEPFILE
from psxj.errors import PsxjError, UsageError
from psxj.judge.locks import write_lock_holder
from psxj.spawn import popen_module

STATUS_RUNNING, STATUS_DEAD_PIDFILE, STATUS_NOT_RUNNING = 0, 1, 3


def default_rundir() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "psxj")
    return f"/tmp/psxj-{os.getuid()}"


class DemoControl:
    """Start, stop and query the demo daemon that lives in one run directory."""

    def __init__(self, rundir: Optional[str] = None) -> None:
        self.rundir = os.path.abspath(rundir or default_rundir())

    def path(self, name: str) -> str:
        return os.path.join(self.rundir, name)

    def running_pid(self) -> Optional[int]:
        """The daemon's PID: whoever holds the write lock on the pidfile."""
        return write_lock_holder(self.path(PIDFILE))

    def status(self) -> int:
        if self.running_pid() is not None:
            return STATUS_RUNNING
        return STATUS_DEAD_PIDFILE if os.path.exists(self.path(PIDFILE)) else STATUS_NOT_RUNNING

    def launch(self, step_delay: float = 0.0, lifetime: float = 600.0, fresh: bool = True) -> subprocess.Popen:
        """Start the daemon program; returns its launcher, which exits after its first fork.

        fresh=False keeps the earlier steps: the interface's "second instance" adds its
        refusal to the running demo's story.
        """
        os.makedirs(self.rundir, mode=0o700, exist_ok=True)
        if fresh:
            try:
                os.unlink(self.path(STEPFILE))  # a fresh narration for this run
            except FileNotFoundError:
                pass
        return popen_module("psxj.demo.daemon", "--rundir", self.rundir, "--step-delay", str(step_delay),
                            "--lifetime", str(lifetime), stdin=subprocess.DEVNULL)

    def steps(self) -> List[dict]:
        try:
            with open(self.path(STEPFILE)) as f:
                return [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError):
            return []

    def wait_for_outcome(self, timeout: float) -> dict:
        """The step that ends a start: 'running' (or the later ones) or 'refused'."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in reversed(self.steps()):
                if entry["step"] in ("running", "refused"):
                    return entry
            time.sleep(0.02)
        raise PsxjError(f"demo: the daemon did not report within {timeout:g}s (see psxj demo log)")

    def start(self, step_delay: float = 0.0, lifetime: float = 600.0) -> int:
        holder = self.running_pid()
        if holder is not None:
            raise PsxjError(f"psxj-demo already running (pid {holder})")
        launcher = self.launch(step_delay, lifetime)
        launcher.wait()  # like a shell: the command returns once the first fork is done
        outcome = self.wait_for_outcome(timeout=10 + 12 * step_delay)
        if outcome["step"] == "refused":
            raise PsxjError(f"psxj-demo already running (pid {outcome.get('holder')})")
        return outcome["pid"]

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM to the lock holder, then wait for the lock to go; SIGKILL if it will not."""
        pid = self.running_pid()
        if pid is None:
            return None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running_pid() != pid:
                return pid
            time.sleep(0.05)
        if self.running_pid() == pid:
            os.kill(pid, signal.SIGKILL)
            while self.running_pid() == pid:
                time.sleep(0.05)
        return pid

    def log(self) -> str:
        try:
            with open(self.path(LOGFILE), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def init_script(rundir: str) -> str:
    python = sys.executable
    return f"""#! /bin/sh
### BEGIN INIT INFO
# Provides:          psxj-demo
# Required-Start:    $syslog $remote_fs
# Required-Stop:     $syslog $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: psxj's teaching daemon
# Description:       The tutorial's daemon(), running() and main loop, in Python.
### END INIT INFO

NAME=psxj-demo
PYTHON={python}
RUNDIR={rundir}
PIDFILE=$RUNDIR/psxj-demo.pid
DAEMON_ARGS="-m psxj.demo.daemon --rundir $RUNDIR"

. /lib/lsb/init-functions

case "$1" in
    start)
        echo -n "Starting $NAME: "
        mkdir -p $RUNDIR
        if start-stop-daemon --start --quiet --pidfile $PIDFILE --exec $PYTHON -- $DAEMON_ARGS
        then echo "OK"; log_end_msg 0 || true
        else echo "failed"; log_end_msg 1 || true
        fi
        ;;
    stop)
        echo -n "Stopping $NAME: "
        if start-stop-daemon --stop --quiet --pidfile $PIDFILE --exec $PYTHON
        then echo "OK"
        else echo "failed"
        fi
        ;;
    reload|force-reload)
        start-stop-daemon --stop --signal HUP --quiet --pidfile $PIDFILE --exec $PYTHON
        ;;
    restart)
        ${{0}} stop
        ${{0}} start
        ;;
    status)
        status_of_proc -p $PIDFILE $PYTHON $NAME && exit 0 || exit $?
        ;;
    *)
        echo "Usage: $0 {{start|stop|restart|reload|force-reload|status}}" >&2
        exit 1
        ;;
esac
exit 0
"""


def systemd_unit(rundir: str) -> str:
    return f"""[Unit]
Description=psxj's teaching daemon (the tutorial's daemon() in Python)

[Service]
# The program forks and exits like a SysV daemon; systemd follows it through the pidfile.
Type=forking
PIDFile={rundir}/psxj-demo.pid
ExecStart={sys.executable} -m psxj.demo.daemon --rundir {rundir}
ExecReload=/bin/kill -HUP $MAINPID

[Install]
WantedBy=multi-user.target
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(f"demo: {message} (see psxj demo --help)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def main(argv: List[str]) -> int:
    parser = _Parser(prog="psxj demo", description="Run psxj's teaching daemon like a classic init script.",
                     epilog="status exits 0 running, 1 dead but the pidfile remains, 3 not running.")
    parser.add_argument("command", choices=["start", "stop", "restart", "status", "log", "init-script", "unit"])
    parser.add_argument("--rundir", help=f"run directory (default {default_rundir()})")
    parser.add_argument("--step-delay", type=_seconds, default=0.0, help="pause after each step (default 0)")
    parser.add_argument("--lifetime", type=_seconds, default=600.0,
                        help="exit by itself after this many seconds (default 600)")
    args = parser.parse_args(argv)
    control = DemoControl(args.rundir)
    if args.command == "start":
        holder = control.running_pid()
        if holder is not None:  # the init-script answer, word for word; nothing is touched
            print(f"psxj-demo already running (pid {holder})", file=sys.stderr)
            return 1
        print(control.start(args.step_delay, args.lifetime))
        return 0
    if args.command == "stop":
        pid = control.stop()
        print(f"psxj-demo stopped (pid {pid})" if pid else "psxj-demo was not running")
        return 0
    if args.command == "restart":
        control.stop()
        print(control.start(args.step_delay, args.lifetime))
        return 0
    if args.command == "status":
        status = control.status()
        print({STATUS_RUNNING: f"psxj-demo is running (pid {control.running_pid()})",
               STATUS_DEAD_PIDFILE: "psxj-demo is not running, but its pidfile remains",
               STATUS_NOT_RUNNING: "psxj-demo is not running"}[status])
        return status
    if args.command == "log":
        sys.stdout.write(control.log())
        return 0
    if args.command == "init-script":
        sys.stdout.write(init_script(control.rundir))
        return 0
    sys.stdout.write(systemd_unit(control.rundir))
    return 0
