"""The tutorial's daemon, in Python: daemon(), running(), and the main loop, step by step.

    python -m psxj.demo.daemon --rundir DIR [--step-delay SECONDS] [--lifetime SECONDS]

Standard library only (plus psxj's own /proc reader to report each step). After
each step the process appends a line to psxj-demo.steps in the run directory: the
step, and its own row as ps would show it at that moment, so a viewer can follow it
across both forks and narrate exactly what changed. With --step-delay it pauses
after each step, so the change can be watched live.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import resource
import signal
import sys
import syslog
import time
from typing import Optional

from psxj.demo.steps import STEPS

PIDFILE = "psxj-demo.pid"
LOGFILE = "psxj-demo.log"
STEPFILE = "psxj-demo.steps"


class Demo:
    def __init__(self, rundir: str, step_delay: float, lifetime: float) -> None:
        self.rundir = os.path.abspath(rundir)
        self.step_delay = step_delay
        self.lifetime = lifetime
        self.pidfile_fd: Optional[int] = None
        self.stop_requested = False

    # reporting --------------------------------------------------------------
    def path(self, name: str) -> str:
        return os.path.join(self.rundir, name)

    def log(self, message: str) -> None:
        """Append to the run directory's log (and, once opened, to syslog): many machines and
        containers have no syslog daemon on /dev/log, and the demo's log must still be readable."""
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} psxj-demo[{os.getpid()}]: {message}\n"
        fd = os.open(self.path(LOGFILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)

    def report(self, step: str, **extra) -> None:
        """Record a step with this process's own row, then pause so a viewer can see it."""
        from psxj.sources.proc import read_one

        row = read_one(os.getpid())
        entry = {"step": step, "pid": os.getpid(), "time": time.time(), **extra}
        if row is not None:
            # A process reading its own stat is running (R) at that instant; in the table it is
            # asleep in its pause, so the sleeping letter is recorded. The flags are as read.
            stat = "S" + row.stat[1:] if row.stat.startswith("R") else row.stat
            entry["row"] = {"PID": row.pid, "PPID": row.ppid, "PGID": row.pgid, "SID": row.sid, "TTY": row.tty,
                            "TPGID": row.tpgid, "STAT": stat}
        fd = os.open(self.path(STEPFILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (json.dumps(entry) + "\n").encode())
        finally:
            os.close(fd)
        self.log(f"step {step}: {STEPS[step].title}" if step in STEPS else step)
        if self.step_delay:
            time.sleep(self.step_delay)

    @staticmethod
    def _fork_and_let_parent_exit() -> None:
        """fork(); the parent exits at once, the child goes on once init has adopted it, so the
        row it reports shows the new parent."""
        parent = os.getpid()
        if os.fork():
            os._exit(0)
        for _ in range(200):
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
        os.setsid()
        self.report("setsid")

    def fork_again(self) -> None:
        """Step 3: fork() again, the session leader exits (第二次 fork()): the daemon is not a session
        leader, so by the System V rules it can never acquire a controlling terminal."""
        self._fork_and_let_parent_exit()
        self.report("second-fork")

    def clear_umask(self) -> None:
        """Step 4: umask(0) (清除 umask): files get exactly the modes the daemon asks for."""
        os.umask(0)
        self.report("umask")

    def change_to_root(self) -> None:
        """Step 5: chdir("/") (修改当前工作目录): the daemon keeps no filesystem busy."""
        os.chdir("/")
        self.report("chdir")

    def close_inherited(self) -> None:
        """Step 6: close every inherited descriptor (关闭从父进程继承来的所有打开的文件描述符), up to
        the soft RLIMIT_NOFILE. closerange uses close_range(2) where it can: a limit of a million
        descriptors does not take seconds."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        limit = soft if soft != resource.RLIM_INFINITY else 65536
        os.closerange(0, limit)
        self.report("close")

    def reopen_devnull(self) -> None:
        """Step 7: open /dev/null on 0, 1 and 2 (打开 /dev/null，调用 dup2()): stdio never fails, and a
        later open() never lands on 1 or 2 by accident."""
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
        fd = os.open(self.path(PIDFILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
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
            time.sleep(min(remaining, 1.0))
        if self.stop_requested:
            self.log("SIGTERM: removing the pidfile and exiting")
            syslog.syslog(syslog.LOG_INFO, "SIGTERM: exiting")
        try:
            os.unlink(self.path(PIDFILE))
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
            holder = _read_pid(self.path(PIDFILE))
            self.log(f"psxj-demo already running (pid {holder}): refusing to start a second instance")
            self.report("refused", holder=holder)
            return 1
        self.report("running")
        self.open_syslog()
        self.handle_signals()
        return self.main_loop()


def _read_pid(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m psxj.demo.daemon")
    parser.add_argument("--rundir", required=True)
    parser.add_argument("--step-delay", type=float, default=0.0)
    parser.add_argument("--lifetime", type=float, default=600.0)
    args = parser.parse_args(argv)
    return Demo(args.rundir, args.step_delay, args.lifetime).run()


if __name__ == "__main__":
    sys.exit(main())
