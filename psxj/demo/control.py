"""Start, stop and query the demo daemon like the tutorial's init script does (`psxj demo`'s work).

The pidfile's lock, not its contents, says whether the daemon runs. But a lock is not a proof:
before psxj signals the lock's holder it proves that the holder is the demo (psxj.act.identity):
a POSIX write lock on the pidfile psxj opened without following symlinks, held by a process of
the caller's own user that has that very file open, whose arguments are the demo's for this run
directory, and whose executable and start time are the ones the demo recorded for itself when it
took the lock. Anything else is refused with a message, and nothing is signalled.

status follows LSB: 0 running, 1 dead but the pidfile remains, 3 not running, 4 unknown (a
process holds the lock that psxj cannot prove is the demo). The teaching part of psxj: the command
(psxj.commands.demo), the lab and the interface drive the demo through this module.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from psxj.act.identity import NotThatProcess, ProvenProcess, command_line, holds_open, owner_uid
from psxj.demo.daemon import (
    LOGFILE,
    PIDFILE,
    STEPS_PATTERN,
    gate_file,
    new_run_id,
    steps_file,
)
from psxj.errors import PsxjError
from psxj.i18n import _
from psxj.safefs import RunDir, UnsafePath
from psxj.spawn import popen_module

STATUS_RUNNING, STATUS_DEAD_PIDFILE, STATUS_NOT_RUNNING, STATUS_UNKNOWN = 0, 1, 3, 4
_KEPT_RUNS = 4           # steps files of older runs are removed when a new run starts
_STEPS_LIMIT = 1 << 20   # a steps file is a few kB; never read more than this


def default_rundir() -> str:
    """$XDG_RUNTIME_DIR/psxj when that directory is the caller's own, else /tmp/psxj-UID.

    Under su, sudo or cron XDG_RUNTIME_DIR is often missing or still the other user's: /tmp is
    then used, and psxj.safefs refuses /tmp/psxj-UID unless psxj made it or the caller owns it."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime.startswith("/"):
        try:
            st = os.lstat(runtime)
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():
            return os.path.join(runtime, "psxj")
    return f"/tmp/psxj-{os.geteuid()}"


class DemoProcess(NamedTuple):
    """The running demo as proven: its PID and the start time it recorded for itself."""
    pid: int
    start_ticks: int


class Run(NamedTuple):
    """One start of the demo: the launcher that was started, and the id its steps are filed under."""
    launcher: subprocess.Popen
    run_id: str


class DemoControl:
    """Start, stop and query the demo daemon that lives in one run directory."""

    def __init__(self, rundir: Optional[str] = None) -> None:
        self.rundir = os.path.abspath(rundir or default_rundir())

    def path(self, name: str) -> str:
        return os.path.join(self.rundir, name)

    def _open_dir(self, create: bool = False) -> Optional[RunDir]:
        """The checked run directory, or None when it does not exist (nothing ever ran there)."""
        if not create and not os.path.lexists(self.rundir):
            return None
        return RunDir.open(self.rundir, create=create)

    # the lock and its holder -------------------------------------------------------
    def _lock_holder(self, rundir: RunDir) -> Tuple[Optional[int], Optional[Tuple[int, int]]]:
        """(PID holding a POSIX write lock on the pidfile, the pidfile's (dev, inode))."""
        from psxj.judge.locks import proc_locks

        try:
            fd = rundir.open_file(PIDFILE, os.O_RDONLY)
        except FileNotFoundError:
            return None, None
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        for lock in proc_locks():
            # Only a POSIX lock: it belongs to one process and dies with it. flock and OFD locks
            # follow an open file across fork and can be taken on a read-only descriptor.
            if lock.kind == "POSIX" and lock.mode == "WRITE" and (lock.device, lock.inode) == (st.st_dev, st.st_ino):
                return lock.pid, (st.st_dev, st.st_ino)
        return None, (st.st_dev, st.st_ino)

    def _prove(self, rundir: RunDir, pid: int, pidfile: Tuple[int, int]) -> ProvenProcess:
        """Prove that `pid`, which holds the pidfile's lock, is this run directory's demo."""
        recorded = self._recorded(rundir, pid)

        def same_user(p: int) -> Optional[str]:
            uid = owner_uid(p)
            return None if uid == os.geteuid() else _("it runs as uid {uid}, not as you").format(uid=uid)

        def demo_arguments(p: int) -> Optional[str]:
            argv = command_line(p)
            if "psxj.demo.daemon" not in argv or "--rundir" not in argv[:-1]:
                return _("its arguments are not psxj's demo daemon's")
            if os.path.abspath(argv[argv.index("--rundir") + 1]) != self.rundir:
                return _("it is the demo of another run directory")
            return None

        def recorded_executable(p: int) -> Optional[str]:
            try:
                exe = os.readlink(f"/proc/{p}/exe")
            except OSError:
                return _("its executable cannot be read")
            return None if exe == recorded.get("exe") else _("its executable is not the one the demo recorded")

        def holds_the_pidfile(p: int) -> Optional[str]:
            return None if holds_open(p, *pidfile) else _("it does not have the pidfile open itself")

        label = _("the process holding the pidfile lock (pid {pid})").format(pid=pid)
        start = recorded.get("start_ticks")
        if not isinstance(start, int):
            raise NotThatProcess(_("{label} never recorded itself as this run directory's demo").format(label=label))
        return ProvenProcess.prove(pid, start, label,
                                   [same_user, demo_arguments, recorded_executable, holds_the_pidfile])

    def _recorded(self, rundir: RunDir, pid: int) -> dict:
        """What the demo wrote about itself when it took the lock ('running' with its pid)."""
        for entries in self._all_runs(rundir).values():
            for entry in entries:
                if entry.get("step") == "running" and entry.get("pid") == pid:
                    return entry
        return {}

    def _proven_holder(self) -> Optional[Tuple[ProvenProcess, int]]:
        """The lock's holder, proven to be the demo, with its recorded start ticks; None when no one
        holds the lock. Raises NotThatProcess when the holder cannot be proven: not to be signalled."""
        rundir = self._open_dir()
        if rundir is None:
            return None
        with rundir:
            pid, pidfile = self._lock_holder(rundir)
            if pid is None:
                return None
            return self._prove(rundir, pid, pidfile), self._recorded(rundir, pid)["start_ticks"]

    def running_demo(self) -> Optional[DemoProcess]:
        """The demo, proven, or None when none runs. Raises PsxjError when the lock is held by a
        process that cannot be proven to be the demo: the caller must not signal it."""
        try:
            proven = self._proven_holder()
        except NotThatProcess as exc:
            raise PsxjError(_("{error}: psxj will not signal it").format(error=exc)) from None
        if proven is None:
            return None
        process, start_ticks = proven
        with process:
            return DemoProcess(process.pid, start_ticks)

    def running_pid(self) -> Optional[int]:
        """The demo's PID when it runs and is proven; None otherwise (also when unprovable)."""
        try:
            demo = self.running_demo()
        except PsxjError:
            return None
        return demo.pid if demo else None

    def status(self) -> int:
        try:
            if self.running_demo() is not None:
                return STATUS_RUNNING
        except PsxjError:
            return STATUS_UNKNOWN
        rundir = self._open_dir()
        if rundir is None:
            return STATUS_NOT_RUNNING
        with rundir:
            return STATUS_DEAD_PIDFILE if rundir.stat(PIDFILE) is not None else STATUS_NOT_RUNNING

    # starting ------------------------------------------------------------------
    def launch(self, step_delay: float = 0.0, lifetime: float = 600.0,
               tied_to: Optional[Tuple[int, int]] = None, extra: Sequence[str] = (), **popen_kwargs) -> Run:
        """Start the daemon program for a new run; its launcher exits after the first fork.
        `extra` are the lab's arguments (--skip, --gated...); popen_kwargs the lab's way to start it."""
        run_id, args = self.prepare_run(step_delay, lifetime, tied_to, extra)
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        launcher = popen_module("psxj.demo.daemon", *args, **popen_kwargs)
        return Run(launcher, run_id)

    def prepare_run(self, step_delay: float = 0.0, lifetime: float = 600.0,
                    tied_to: Optional[Tuple[int, int]] = None, extra: Sequence[str] = ()) -> Tuple[str, List[str]]:
        """Check the run directory and name a new run: (run id, the daemon program's arguments)."""
        with RunDir.open(self.rundir, create=True) as rundir:
            for name in (PIDFILE, LOGFILE):
                rundir.check_existing(name)  # refuse here, not in a daemon that can only log it
            self._forget_old_runs(rundir)
        run_id = new_run_id()
        args = ["--rundir", self.rundir, "--run-id", run_id, "--step-delay", repr(step_delay),
                "--lifetime", repr(lifetime), *extra]
        if tied_to is not None:
            args += ["--tied-to", f"{tied_to[0]}:{tied_to[1]}"]
        return run_id, args

    def allow_steps(self, run_id: str, count: int) -> None:
        """Open a --gated run's gate: it may go on past the first `count` steps it reports, and holds
        once it has reported the next one (0: it holds after reporting "start")."""
        with RunDir.open(self.rundir, create=False) as rundir:
            rundir.write_atomic(gate_file(run_id), str(count).encode())

    def _forget_old_runs(self, rundir: RunDir) -> None:
        runs = []
        for name in rundir.listdir():
            if STEPS_PATTERN.match(name):
                st = rundir.stat(name)
                if st is not None:
                    runs.append((st.st_mtime, name))
        for _mtime, name in sorted(runs)[:-_KEPT_RUNS] if len(runs) > _KEPT_RUNS else []:
            rundir.unlink(name)
            rundir.unlink(gate_file(STEPS_PATTERN.match(name).group(1)))  # a lab run's gate, if it had one

    def steps(self, run_id: str) -> List[dict]:
        """The steps one run recorded, oldest first; malformed lines are skipped."""
        rundir = self._open_dir()
        if rundir is None:
            return []
        with rundir:
            return self._read_steps(rundir, steps_file(run_id))

    def all_runs(self) -> Dict[str, List[dict]]:
        """Every run still on file: run id -> its steps."""
        rundir = self._open_dir()
        if rundir is None:
            return {}
        with rundir:
            return self._all_runs(rundir)

    def _all_runs(self, rundir: RunDir) -> Dict[str, List[dict]]:
        return {match.group(1): self._read_steps(rundir, name)
                for name in rundir.listdir() if (match := STEPS_PATTERN.match(name))}

    @staticmethod
    def _read_steps(rundir: RunDir, name: str) -> List[dict]:
        try:
            data = rundir.read_bytes(name, _STEPS_LIMIT) or b""
        except (OSError, UnsafePath):
            return []
        entries = []
        for line in data.decode("utf-8", "replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("pid"), int) and isinstance(entry.get("step"), str):
                entries.append(entry)
        return entries

    def wait_for_outcome(self, run_id: str, timeout: float) -> dict:
        """The step that ends this run's start: 'signals' (it runs and its SIGHUP and SIGTERM handlers
        are in place, as an init script's start promises) or 'refused'. Returning at 'running' would
        let a SIGHUP sent right after `demo start` kill it with the default action."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in reversed(self.steps(run_id)):
                if entry["step"] in ("signals", "refused"):
                    return entry
            time.sleep(0.02)
        raise PsxjError(_("demo: the daemon did not report within {timeout:g}s (see psxj demo log)").format(
                            timeout=timeout))

    def start(self, step_delay: float = 0.0, lifetime: float = 600.0) -> int:
        holder = self.running_pid()
        if holder is not None:
            raise PsxjError(_("psxj-demo already running (pid {holder})").format(holder=holder))
        run = self.launch(step_delay, lifetime)
        run.launcher.wait()  # like a shell: the command returns once the first fork is done
        outcome = self.wait_for_outcome(run.run_id, timeout=10 + 12 * step_delay)
        if outcome["step"] == "refused":
            raise PsxjError(_("psxj-demo already running (pid {holder})").format(holder=outcome.get('holder')))
        return outcome["pid"]

    # stopping ------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM to the proven demo, then SIGKILL if it has not exited within `timeout`.
        Both go through the same pidfd: the second can never reach a process that took the PID."""
        return self._signal_demo(signal.SIGTERM, wait=timeout)

    def hangup(self) -> Optional[int]:
        """SIGHUP to the proven demo (a reload); None when it does not run."""
        return self._signal_demo(signal.SIGHUP)

    def _signal_demo(self, signum: int, wait: Optional[float] = None) -> Optional[int]:
        try:
            proven = self._proven_holder()
        except NotThatProcess as exc:
            raise PsxjError(_("{error}: nothing was signalled").format(error=exc)) from None
        if proven is None:
            return None
        process, _start = proven
        with process:
            try:
                process.send(signum)
                if wait is not None and not process.wait_exit(wait):
                    process.send(signal.SIGKILL)
                    process.wait_exit(5)
            except ProcessLookupError:
                pass
        return process.pid

    def end_run(self, run_id: str) -> List[int]:
        """Kill what is left of one run that never took the lock (stopped half-way through its
        steps): each process the run recorded, proven by its recorded start time and arguments."""
        killed = []
        for entry in self.steps(run_id):
            pid, ticks = entry["pid"], entry.get("start_ticks")

            def is_demo(p: int) -> Optional[str]:
                return None if "psxj.demo.daemon" in command_line(p) else _("it is no longer the demo")

            try:
                label = _("demo step process {pid}").format(pid=pid)
                with ProvenProcess.prove(pid, ticks, label, [is_demo]) as process:
                    process.send(signal.SIGKILL)
                    killed.append(pid)
            except (NotThatProcess, ProcessLookupError, PermissionError):
                continue
        return killed

    def log(self) -> str:
        rundir = self._open_dir()
        if rundir is None:
            return ""
        with rundir:
            data = rundir.read_bytes(LOGFILE, 1 << 24)
        return (data or b"").decode("utf-8", "replace")


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
DAEMON_ARGS="-I -m psxj.demo.daemon --rundir $RUNDIR"

. /lib/lsb/init-functions

case "$1" in
    start)
        echo -n "Starting $NAME: "
        install -d -m 0700 "$RUNDIR"
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
ExecStart={sys.executable} -I -m psxj.demo.daemon --rundir {rundir}
ExecReload=/bin/kill -HUP $MAINPID

[Install]
WantedBy=multi-user.target
"""
