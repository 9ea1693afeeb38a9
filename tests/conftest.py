"""Shared fixtures: real processes spawned and reaped, and the real `ps` as the oracle."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "000_8e7a19e4a857a030.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

PS = shutil.which("ps")
J_COLUMNS = "ppid,pid,pgid,sid,tname,tpgid,stat,uid,bsdtime,args"  # what -j prints, for -o

needs_ps = pytest.mark.skipif(PS is None, reason="no ps on this machine")
linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")


def clean_env(**extra: str) -> Dict[str, str]:
    """An environment both ps and psxj see identically: no COLUMNS unless asked for."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "LC_ALL", "LC_CTYPE")}
    env.setdefault("LANG", "C.UTF-8")
    env.update(extra)
    return env


def run_psxj(*args: str, env: Optional[Dict[str, str]] = None, input: Optional[bytes] = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "psxj", *args], capture_output=True,
                          env=env or clean_env(), input=input, timeout=timeout, cwd=ROOT)


def run_ps(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([PS, *args], capture_output=True, env=env or clean_env(), timeout=60)


def rows_by_pid(text: bytes) -> Dict[int, bytes]:
    rows = {}
    for line in text.split(b"\n")[1:]:
        fields = line.split()
        if len(fields) > 1:
            rows[int(fields[1])] = line
    return rows


def _has_controlling_terminal() -> bool:
    try:
        os.close(os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY))
    except OSError:   # ENXIO: no controlling terminal (CI, setsid, nohup)
        return False
    return True


def _leave_the_terminal() -> None:
    """In a spawned child, before it runs: give up the controlling terminal it inherited from pytest.
    It stays in pytest's session and process group (TIOCNOTTY by a process that is not the session
    leader only detaches that process), so it keeps every other property of the run."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return
    try:
        fcntl.ioctl(fd, termios.TIOCNOTTY)
    finally:
        os.close(fd)


def _leaving_the_terminal(then=None):
    def preexec() -> None:
        _leave_the_terminal()
        if then is not None:
            then()
    return preexec


# Decided once: typed into a terminal, pytest has one; under CI (`setsid ... </dev/null`) it has none.
SUITE_HAS_TERMINAL = _has_controlling_terminal()


def _default_interrupt_and_quit() -> None:
    """A shell without job control starts a background command (`pytest &`, `(… &)`) with SIGINT
    and SIGQUIT ignored, and an ignored signal stays ignored across fork and exec: every process the
    suite starts would then shrug off the Ctrl-C a test sends it (psxj events' exit 130) and show
    both in SigIgn to the audit. The suite puts back what a terminal gives, once, for all it starts."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)


_default_interrupt_and_quit()


class Spawner:
    """Starts processes for a test and kills and reaps every one of them afterwards.

    What a spawned process looks like does not depend on how the suite was started. Typed into a
    terminal, it would inherit pytest's controlling terminal and foreground group (ps prints `T+`,
    the audit finds a terminal); under CI it has none. So every process spawned here starts without a
    controlling terminal and with /dev/null for its input, the shape CI gives it, in pytest's session:
    not a session of its own, which would make it a session leader, the very thing many tests
    distinguish (a job that never called setsid() from a daemon that did). A test that wants a new
    session passes start_new_session=True; a test about terminals makes a pty of its own."""

    def __init__(self) -> None:
        self.procs: List[subprocess.Popen] = []
        self.extra_pids: List[int] = []

    def popen(self, argv, **kwargs) -> subprocess.Popen:
        if SUITE_HAS_TERMINAL and not kwargs.get("start_new_session"):
            kwargs["preexec_fn"] = _leaving_the_terminal(kwargs.get("preexec_fn"))
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def python(self, code: str, *args, comm: Optional[bytes] = None, **kwargs) -> subprocess.Popen:
        """A Python process that sets its name (optional), says it is ready, and sleeps."""
        prelude = (
            "import os, sys, time\n"
            "comm = os.environ.pop('PSXJ_TEST_COMM', None)\n"
            "if comm is not None:\n"
            "    open('/proc/self/comm', 'wb').write(bytes.fromhex(comm))\n"
        )
        env = dict(kwargs.pop("env", os.environ))
        if comm is not None:
            env["PSXJ_TEST_COMM"] = comm.hex()
        ready_r, ready_w = os.pipe()
        body = prelude + code.replace("READY()", f"os.write({ready_w}, b'x'); os.close({ready_w})")
        pass_fds = (ready_w, *kwargs.pop("pass_fds", ()))
        proc = self.popen([sys.executable, "-c", body, *args], env=env, pass_fds=pass_fds, **kwargs)
        os.close(ready_w)
        try:
            os.read(ready_r, 1)  # wait until it has done its setup
        finally:
            os.close(ready_r)
        return proc

    def sleeper(self, *args, comm: Optional[bytes] = None, **kwargs) -> subprocess.Popen:
        return self.python("READY()\ntime.sleep(120)", *args, comm=comm, **kwargs)

    def track(self, pid: int) -> None:
        """A process that is not our child (a daemon after its double fork)."""
        self.extra_pids.append(pid)

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    proc.kill()
                except ProcessLookupError:
                    pass
            proc.wait(timeout=10)
        for pid in self.extra_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            for _ in range(100):  # init reaps it; wait until it is gone
                if gone_or_zombie(pid):
                    break
                time.sleep(0.02)


def stat_fields(pid: int) -> Optional[List[bytes]]:
    """/proc/PID/stat after the name (state first), read here rather than by psxj; None once gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None


def gone_or_zombie(pid: int) -> bool:
    fields = stat_fields(pid)
    return fields is None or fields[0] == b"Z"


def until(condition, timeout: float = 5.0, failure: str = "the process never changed") -> None:
    """Poll `condition` every 10 ms until it holds; fail with `failure` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.01)


def asleep(pid: int, timeout: float = 5.0) -> None:
    """Until the process sleeps (S): read by two readers a moment apart, a process still running
    would be R in one and S in the other."""
    until(lambda: stat_fields(pid)[0] == b"S", timeout, f"process {pid} never went to sleep")


def wait_for_zombie(pid: int, timeout: float = 3.0) -> None:
    """Until a child that exited, and that nobody has reaped yet, shows as a zombie."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = stat_fields(pid)
        if fields is not None and fields[0] == b"Z":
            return
        time.sleep(0.01)


class LiveReader:
    """The interface's reader, in process: live snapshots without the helper process."""

    def read(self):
        from psxj.sources.proc import read_snapshot

        return read_snapshot()

    def close(self):
        pass


@pytest.fixture
def spawner():
    spawned = Spawner()
    try:
        yield spawned
    finally:
        spawned.cleanup()


NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="acting as another user needs root")


def as_nobody(action, *args) -> int:
    """Run action(*args) in a forked child that has become nobody (uid and gid 65534, no groups),
    as an unprivileged local user would; returns its exit status (0 when action returned)."""
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            action(*args)
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def pid_reused_by(pid: int, argv: List[str], spawned: "Spawner", tries: int = 50) -> Optional[subprocess.Popen]:
    """Start argv so that it gets `pid`, which must be free: the kernel hands out ns_last_pid + 1
    next, so that is set just before the fork. Other forks on the machine can win the race: try
    again; None when it never worked."""
    for _ in range(tries):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(pid - 1))
        except OSError:
            return None
        proc = spawned.popen(argv)
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
    return None


class PtySession:
    """psxj's interface on a real pseudo-terminal: keys are typed into the master side, the screen's
    bytes are drained in a thread (a full pty would block the app), and the process is reaped."""

    def __init__(self, argv: List[str], *, columns: int = 120, lines: int = 40, new_session: bool = True,
                 env: Optional[Dict[str, str]] = None, cwd=None) -> None:
        import fcntl
        import struct
        import termios
        import threading

        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        environment = dict(env or os.environ)
        environment.update(TERM="xterm-256color", COLUMNS=str(columns), LINES=str(lines))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=environment,
                                     cwd=cwd or ROOT, start_new_session=new_session)
        os.close(slave)
        self.output = bytearray()
        self._closed = False
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_for(self, needle: bytes, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output:
                return True
            time.sleep(0.05)
        return False

    def hang_up(self) -> None:
        """Close the terminal's master side, as a terminal window closing does."""
        if not self._closed:
            self._closed = True
            os.close(self.master)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.hang_up()
        self._reader.join(timeout=5)


async def select_live_row(app, pilot, pid: int, timeout: float = 15.0) -> None:
    """Wait until the live table has the row of `pid` (a loaded machine is slow to refresh), then
    select it. Asks for refreshes while waiting, as a user pressing r would."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.snapshot is not None and app.table.select_pid(pid):
            return
        app.action_refresh_now()
        await pilot.pause(0.3)
    raise AssertionError(f"PID {pid} never appeared in the interface's table")


async def exit_status(pilot, proc: subprocess.Popen, timeout: float = 30.0) -> Optional[int]:
    """The exit status of a process the interface was told to signal, waiting without blocking the
    interface: a plain proc.wait() in the test would hold the very event loop that still has to
    handle the keys typed ahead and send the signal. None if it has not exited in `timeout`."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        await pilot.pause(0.05)
    return proc.returncode


@pytest.fixture
def chinese():
    """The interface in Chinese, in this process; English again afterwards, for the other tests."""
    from psxj import i18n

    i18n.install("zh")
    try:
        yield
    finally:
        i18n.install("en")
