"""The tutorial's daemon, in Python: daemon(), running(), and the main loop, step by step.

    python -m psxj.demo.daemon --rundir DIR [--run-id ID] [--step-delay S] [--lifetime S] [--tied-to PID:TICKS]
                               [--skip RULE] [--gated] [--shared-file] [--open-terminal /dev/pts/N]

Standard library only (plus psxj's own /proc reader to report each step). After each
step the process appends a line to its run's steps file (psxj-demo.RUN.steps) in the run
directory: the step, its own row as ps would show it at that moment, and its start
time, so a viewer can follow it across both forks, narrate exactly what changed, and
later prove which processes were this run's. With --step-delay it pauses after each
step, so the change can be watched live. With --tied-to it exits when the interface
that started it is gone, even after a kill -9 of that interface.

The teaching lab (psxj.lab) also asks for: --skip RULE, a counterexample that leaves one of the
tutorial's rules out (psxj.demo.steps.SKIPPABLE); --gated, hold after each step until the lab
allows the next (the run's gate file, psxj-demo.RUN.gate, counts the steps allowed);
--shared-file, create a file asking for mode 0660; --open-terminal, open a pseudo-terminal
psxj made, without O_NOCTTY, once the daemon runs.

Every file lives in a run directory psxj checked (psxj.safefs): no symlink is followed.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import resource
import signal
import stat
import sys
import syslog
import time
from typing import Optional, Tuple

from psxj.demo.steps import SKIPPABLE, STEPS
from psxj.errors import finite_seconds
from psxj.safefs import RunDir, UnsafePath

PIDFILE = "psxj-demo.pid"
LOGFILE = "psxj-demo.log"
SHARED_FILE = "psxj-demo.shared"
SHARED_MODE = 0o660       # what the daemon asks for: read and write for its group too
STEPS_PATTERN = re.compile(r"\Apsxj-demo\.([0-9a-f]{1,32})\.steps\Z")
TERMINAL_PATTERN = re.compile(r"\A/dev/pts/[0-9]{1,9}\Z")
_PTY_SLAVE_MAJORS = range(136, 144)   # Unix98 pseudo-terminal slaves (Documentation/admin-guide/devices.txt)
MAX_STEP_DELAY = 60.0
MAX_LIFETIME = 7 * 24 * 3600.0


def steps_file(run_id: str) -> str:
    return f"psxj-demo.{run_id}.steps"


def gate_file(run_id: str) -> str:
    return f"psxj-demo.{run_id}.gate"


def new_run_id() -> str:
    return os.urandom(6).hex()


def parse_tie(text: str) -> Tuple[int, int]:
    """PID:TICKS of the process this demo lives and dies with."""
    pid, _, ticks = text.partition(":")
    if not (pid.isascii() and pid.isdigit() and ticks.isascii() and ticks.isdigit()) or len(text) > 40:
        raise argparse.ArgumentTypeError("--tied-to: expected PID:START_TICKS")
    return int(pid), int(ticks)


def process_start_ticks(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def terminal_path(text: str) -> str:
    """--open-terminal: a pseudo-terminal's slave, /dev/pts/N, and nothing else."""
    if not TERMINAL_PATTERN.match(text):
        raise argparse.ArgumentTypeError("--open-terminal: expected /dev/pts/N")
    return text


class Demo:
    def __init__(self, rundir: str, step_delay: float, lifetime: float, run_id: Optional[str] = None,
                 tied_to: Optional[Tuple[int, int]] = None, skip: Tuple[str, ...] = (), gated: bool = False,
                 shared_file: bool = False, open_terminal: Optional[str] = None) -> None:
        self.rundir = os.path.abspath(rundir)
        self.run_id = run_id or new_run_id()
        self.step_delay = step_delay
        self.lifetime = lifetime
        self.tied_to = tied_to
        self.skipped = frozenset(step for rule in skip for step in SKIPPABLE[rule])
        self.gated = gated
        self.shared_file = shared_file
        self.open_terminal = open_terminal
        self.reported = 0
        self.started = time.monotonic()
        self.pidfile_fd: Optional[int] = None
        self.refused_by: Optional[int] = None
        self.stop_requested = False

    # reporting --------------------------------------------------------------
    def _dir(self) -> RunDir:
        """The run directory, checked again each time: descriptors are closed in step 6."""
        return RunDir.open(self.rundir, create=False)

    def log(self, message: str) -> None:
        """Append to the run directory's log (and, once opened, to syslog): many machines and
        containers have no syslog daemon on /dev/log, and the demo's log must still be readable."""
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} psxj-demo[{os.getpid()}]: {message}\n"
        with self._dir() as rundir:
            rundir.append(LOGFILE, line.encode("utf-8", "replace"))

    def report(self, step: str, **extra) -> None:
        """Record a step with this process's own row, then pause so a viewer can see it."""
        from psxj.sources.proc import read_one

        row = read_one(os.getpid())
        entry = {"step": step, "pid": os.getpid(), "run": self.run_id, "time": time.time(), **extra}
        if row is not None:
            entry["start_ticks"] = row.start_ticks
            # A process reading its own stat is running (R) at that instant; in the table it is
            # asleep in its pause, so the sleeping letter is recorded. The flags are as read.
            stat = "S" + row.stat[1:] if row.stat.startswith("R") else row.stat
            entry["row"] = {"PID": row.pid, "PPID": row.ppid, "PGID": row.pgid, "SID": row.sid, "TTY": row.tty,
                            "TPGID": row.tpgid, "STAT": stat}
        with self._dir() as rundir:
            rundir.append(steps_file(self.run_id), (json.dumps(entry) + "\n").encode())
        title = STEPS[step].title if step in STEPS else step
        self.log(f"step {step}: {title}" + (" (SKIPPED: a counterexample)" if extra.get("skipped") else ""))
        self.reported += 1
        if self.step_delay:
            self._pause(self.step_delay)
        if self.gated and step != "refused":
            self._wait_for_gate()

    def _wait_for_gate(self) -> None:
        """Hold until the lab allows the next step (the quiz asks its question meanwhile). A gate left
        shut never keeps a demo past its lifetime, nor past the interface it is tied to."""
        while self._gate() < self.reported:
            if self.abandoned() or time.monotonic() - self.started > self.lifetime:
                self.log("the lab that held me at a step has gone, or my lifetime is over: exiting")
                raise SystemExit(0)
            time.sleep(0.05)

    def _gate(self) -> int:
        try:
            with self._dir() as rundir:
                text = rundir.read_bytes(gate_file(self.run_id), 32) or b""
        except (OSError, UnsafePath):
            return 0  # unreadable: shut, until the lifetime ends
        return int(text) if text.strip().isdigit() else 0

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stop_requested and not self.abandoned():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, 0.25))

    def abandoned(self) -> bool:
        """Has the interface this demo is tied to gone away (same PID and start time no more)?"""
        if self.tied_to is None:
            return False
        pid, ticks = self.tied_to
        return process_start_ticks(pid) != ticks

    @staticmethod
    def _fork_and_let_parent_exit() -> None:
        """fork(); the parent exits at once, the child goes on once init has adopted it, so the
        row it reports shows the new parent."""
        parent = os.getpid()
        if os.fork():
            os._exit(0)
        for _attempt in range(200):
            if os.getppid() != parent:
                return
            time.sleep(0.005)

    # daemon() -----------------------------------------------------------------
    def fork_and_orphan(self) -> None:
        """Step 1: fork(), the parent exits (tutorial: 执行 fork()，之后父进程退出). The shell that
        started us sees the command finish; the child is not a group leader, so setsid() can work."""
        self._fork_and_let_parent_exit()
        self.report("fork")

    def new_session(self) -> None:
        """Step 2: setsid() (调用 setsid() 开启一个新会话): a new session and process group, no terminal."""
        if "setsid" in self.skipped:
            self.report("setsid", skipped=True)
            return
        os.setsid()
        self.report("setsid")

    def fork_again(self) -> None:
        """Step 3: fork() again, the session leader exits (第二次 fork()): the daemon is not a session
        leader, so by the System V rules it can never acquire a controlling terminal."""
        if "second-fork" in self.skipped:
            self.report("second-fork", skipped=True)
            return
        self._fork_and_let_parent_exit()
        self.report("second-fork")

    def clear_umask(self) -> None:
        """Step 4: umask(0) (清除 umask): files get exactly the modes the daemon asks for."""
        if "umask" in self.skipped:
            inherited = os.umask(0)
            os.umask(inherited)  # read it back: umask() is the only way to read one's own umask
            self.report("umask", skipped=True, umask=f"{inherited:04o}")
            return
        os.umask(0)
        self.report("umask")

    def change_to_root(self) -> None:
        """Step 5: chdir("/") (修改当前工作目录): the daemon keeps no filesystem busy."""
        if "chdir" in self.skipped:
            self.report("chdir", skipped=True)
            return
        os.chdir("/")
        self.report("chdir")

    def close_inherited(self) -> None:
        """Step 6: close every inherited descriptor (关闭从父进程继承来的所有打开的文件描述符), up to
        the soft RLIMIT_NOFILE. closerange uses close_range(2) where it can: a limit of a million
        descriptors does not take seconds."""
        if "close" in self.skipped:
            self.report("close", skipped=True)
            return
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        limit = soft if soft != resource.RLIM_INFINITY else 65536
        os.closerange(0, limit)
        self.report("close")

    def reopen_devnull(self) -> None:
        """Step 7: open /dev/null on 0, 1 and 2 (打开 /dev/null，调用 dup2()): stdio never fails, and a
        later open() never lands on 1 or 2 by accident."""
        if "devnull" in self.skipped:
            self.report("devnull", skipped=True)
            return
        fd = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            if fd != target:
                os.dup2(fd, target)
        if fd > 2:
            os.close(fd)
        self.report("devnull")

    # running() --------------------------------------------------------------------
    def running(self) -> bool:
        """Step 8: the single-instance check (实现单实例守护进程): open the pidfile, take a
        non-blocking POSIX write lock; if another instance holds it, say so. Otherwise truncate
        the file and write our PID. The lock, released by the kernel when we exit, decides: a
        stale pidfile left by kill -9 never blocks the next start."""
        with self._dir() as rundir:
            fd = rundir.open_file(PIDFILE, os.O_RDWR | os.O_CREAT, 0o644)
        if "running" in self.skipped:  # the counterexample: the PID is written, nothing is locked
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self.pidfile_fd = fd
            return False
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            st = os.fstat(fd)
            os.close(fd)
            self.refused_by = _posix_write_lock_holder(st.st_dev, st.st_ino)
            return True
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.pidfile_fd = fd
        return False

    def open_syslog(self) -> None:
        """Step 9: log through syslog (使用 syslog 记录守护进程的消息), ident psxj-demo, facility daemon."""
        syslog.openlog("psxj-demo", syslog.LOG_PID | syslog.LOG_NDELAY, syslog.LOG_DAEMON)
        syslog.syslog(syslog.LOG_INFO, "started")
        self.report("syslog")

    def handle_signals(self) -> None:
        """Step 10: SIGHUP reloads, SIGTERM exits cleanly (the tutorial's TODO: sigaction SIGHUP SIGTERM)."""
        signal.signal(signal.SIGHUP, self.on_hangup)
        signal.signal(signal.SIGTERM, self.on_terminate)
        self.report("signals")

    def on_hangup(self, signum, frame) -> None:
        self.log("SIGHUP: reloading configuration (nothing to reload in the demo), carrying on")
        syslog.syslog(syslog.LOG_INFO, "SIGHUP: reload")

    def on_terminate(self, signum, frame) -> None:
        self.stop_requested = True

    def main_loop(self) -> int:
        deadline = time.monotonic() + self.lifetime
        while not self.stop_requested:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.log(f"lifetime of {self.lifetime:g}s reached: exiting so a forgotten demo never lingers")
                break
            if self.abandoned():
                self.log(f"the interface that started me (pid {self.tied_to[0]}) has gone: exiting")
                break
            time.sleep(min(remaining, 1.0))
        if self.stop_requested:
            self.log("SIGTERM: removing the pidfile and exiting")
            syslog.syslog(syslog.LOG_INFO, "SIGTERM: exiting")
        try:
            with self._dir() as rundir:
                rundir.unlink(PIDFILE)
        except OSError:
            pass
        return 0

    def run(self) -> int:
        self.report("start")
        self.fork_and_orphan()
        self.new_session()
        self.fork_again()
        self.clear_umask()
        self.change_to_root()
        self.close_inherited()
        self.reopen_devnull()
        if self.running():
            holder = self.refused_by
            self.log(f"psxj-demo already running (pid {holder}): refusing to start a second instance")
            self.report("refused", holder=holder)
            return 1
        self.report("running", exe=os.readlink("/proc/self/exe"),
                    **({"skipped": True} if "running" in self.skipped else {}))
        self.open_syslog()
        self.handle_signals()
        if self.shared_file:
            self.create_shared_file()
        if self.open_terminal:
            self.acquire_terminal(self.open_terminal)
        return self.main_loop()

    # what a daemon may do later (asked for by the lab) ----------------------------------
    def create_shared_file(self) -> None:
        """Create a file its group may write, asking for mode 0660: with umask(0) it gets exactly
        that; with an inherited umask, the bits the umask holds are taken away."""
        with self._dir() as rundir:
            rundir.unlink(SHARED_FILE)
            fd = rundir.open_file(SHARED_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SHARED_MODE)
        try:
            os.write(fd, b"psxj-demo: a file for its group\n")
            got = stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        self.report("shared-file", asked=f"{SHARED_MODE:04o}", got=f"{got:04o}")

    def acquire_terminal(self, path: str) -> None:
        """Open a pseudo-terminal psxj made, without O_NOCTTY, as a daemon opening a console would.
        The device is checked before the open that matters: first opened with O_PATH (which never
        acquires anything), checked to be a pseudo-terminal of this user, then reopened through that
        very descriptor, so no other device can be swapped in between."""
        try:
            handle = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            self.report("terminal", refused=f"cannot open {path}: {exc.strerror}")
            return
        try:
            st = os.fstat(handle)
            if not stat.S_ISCHR(st.st_mode) or os.major(st.st_rdev) not in _PTY_SLAVE_MAJORS \
                    or st.st_uid != os.geteuid():
                self.report("terminal", refused=f"{path} is not a pseudo-terminal of this user")
                return
            fd = os.open(f"/proc/self/fd/{handle}", os.O_RDWR | os.O_CLOEXEC | os.O_NONBLOCK)  # no O_NOCTTY
        finally:
            os.close(handle)
        try:
            os.write(fd, b"psxj-demo: a message for the console\n")
        except OSError:
            pass
        os.close(fd)  # closing it changes nothing: the terminal is the session's now, not the descriptor's
        self.report("terminal", tty=path)


def _posix_write_lock_holder(device: int, inode: int) -> Optional[int]:
    """Who holds the POSIX write lock that refused us: the kernel's table, not the pidfile's
    contents, which the winner may not have written yet."""
    from psxj.judge.locks import proc_locks

    for lock in proc_locks():
        if lock.kind == "POSIX" and lock.mode == "WRITE" and (lock.device, lock.inode) == (device, inode):
            return lock.pid
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m psxj.demo.daemon")
    parser.add_argument("--rundir", required=True)
    parser.add_argument("--run-id", type=_run_id)
    parser.add_argument("--step-delay", type=lambda t: finite_seconds(t, MAX_STEP_DELAY),
                        default=0.0)
    parser.add_argument("--lifetime", type=lambda t: finite_seconds(t, MAX_LIFETIME, 0.001),
                        default=600.0)
    parser.add_argument("--tied-to", type=parse_tie)
    parser.add_argument("--skip", choices=sorted(SKIPPABLE), action="append", default=[])
    parser.add_argument("--gated", action="store_true")
    parser.add_argument("--shared-file", action="store_true")
    parser.add_argument("--open-terminal", type=terminal_path)
    args = parser.parse_args(argv)
    return Demo(args.rundir, args.step_delay, args.lifetime, args.run_id, args.tied_to, tuple(args.skip),
                args.gated, args.shared_file, args.open_terminal).run()


def _run_id(text: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{1,32}", text):
        raise argparse.ArgumentTypeError("--run-id: 1 to 32 hexadecimal digits")
    return text


if __name__ == "__main__":
    sys.exit(main())
