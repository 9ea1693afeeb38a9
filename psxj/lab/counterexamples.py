"""Counterexamples: the tutorial's daemon with one rule left out, and what then goes wrong, live.

`psxj demo start --skip RULE` and the interface's demo menu run one of these. Each is a Lab
(psxj.lab.base): it starts the demo daemon (psxj.demo.daemon --skip RULE) in the setting where
the rule matters, shows its row and what psxj audit says about it, then makes the consequence
happen on the real processes: a terminal hangs up, a filesystem will not unmount, a shell's
$(...) never ends, a second instance runs. Built with left_out=False, the same scene runs with
the rule kept, and nothing goes wrong: the tests run both.

    setsid       in a terminal's session; the terminal hangs up; the demo dies of SIGHUP
    second-fork  a session leader opens a terminal without O_NOCTTY and acquires it
    umask        the file it creates gets another mode than it asked for
    chdir        its working directory keeps a tmpfs busy: umount says "target is busy"
    close        the starter's $(...) waits for an end-of-file that never comes
    lock         a second instance starts, and both run
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from typing import Dict, Iterator, List, Optional, Type

from psxj.demo.daemon import PIDFILE, SHARED_FILE
from psxj.errors import PsxjError
from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.lab.base import Beat, Lab, audit_lines, describe_row, how_it_ended, message, row_changes
from psxj.lab.terminal import PseudoTerminal, lab_environment, trusted_program
from psxj.safefs import RunDir
from psxj.spawn import module_command, popen_module

SHELLS = ("/bin/sh", "/usr/bin/sh", "/bin/dash", "/usr/bin/dash", "/bin/bash", "/usr/bin/bash")

# A shell in the terminal, without job control (like `sh -c` or an ssh command): it runs the demo in
# its own process group, the terminal's foreground group, then waits at the terminal as a prompt does.
_LEADER_SCRIPT = ('echo "sh: starting the demo"; "$@"; '
                  'echo "sh: the command has returned; the shell waits at the terminal"; read -r line')
# The classic: a starter that captures what the daemon prints, and so waits for its end-of-file.
_STARTER_SCRIPT = 'started=$("$@"); echo "sh: the command substitution has ended"'

_TEXT: Dict[str, str] = {
    "row_now": N_("its row now: {row}"),
    "terminal_says": N_("the terminal shows: {text}"),
    # setsid
    "setsid_consequence": N_("it stays in a terminal's session, and dies when the terminal hangs up"),
    "setsid_title": N_("without setsid(): the demo never leaves the terminal's session"),
    "setsid_quote": "子进程调用 setsid()开启一个新会话，并且释放和控制终端的所有联系。",
    "setsid_start": N_("psxj made a terminal ({tty}) with a shell in it (sh, PID {leader}, its session leader) and "
                    "started the demo there, without setsid()"),
    "setsid_start_kept": N_("psxj made a terminal ({tty}) with a shell in it (sh, PID {leader}, its session leader) "
                         "and started the demo there, as the tutorial says"),
    "setsid_start_explain": N_("After both forks the demo (PID {pid}) is still in the shell's session {sid}, with the "
                            "terminal {tty} and, being in the shell's own process group, in the terminal's "
                            "foreground group (TPGID {tpgid}, STAT +). A normal run has SID = its first child's "
                            "PID, TTY ?, TPGID -1. psxj holds the demo here, just before step 10 would install its "
                            "SIGHUP handler, as if it were still starting."),
    "setsid_start_explain_kept": N_("After setsid() and the second fork the demo (PID {pid}) is in a session of its "
                                 "own (SID {sid}), with TTY {tty} and TPGID {tpgid}: the terminal is nothing to it."),
    "hangup_title": N_("psxj hangs up the terminal, as closing its window does"),
    "hangup_quote": ("没有控制终端，可以确保内核永远不会为守护进程自动生成任何作业控制信号"
                       "或者终端相关的信号（比如 SIGINT、SIGTSTP 和 SIGHUP）。"),
    "setsid_died": N_("The kernel sent SIGHUP to the terminal's controlling process, the shell; as the shell died, "
                   "the kernel sent SIGHUP to the terminal's foreground process group, and the demo, which never "
                   "left the session, was in it. It had no handler yet, so it died, like any process of a "
                   "terminal's session. (From step 10 on, its handler would have taken the terminal's hangup for a "
                   "reload request: a signal meant for the terminal reaches it either way.)"),
    "setsid_survived": N_("The shell died of SIGHUP; the demo, in a session of its own, got nothing and still runs."),
    "setsid_still_running": N_("The demo (PID {pid}) is still running after the hangup."),
    "leader_died": N_("sh (PID {pid}), the terminal's controlling process: {how} "
                      "(its wait status: psxj is its parent)"),
    "demo_gone": N_("the demo (PID {pid}) has gone from the table"),
    "event_line": N_("event: {line}"),
    "no_event": N_("no exit event for PID {pid} (psxj is polling /proc: it sees the exit, not the signal)"),
    # second fork
    "second_fork_consequence": N_("a session leader opens a terminal and acquires it"),
    "second_fork_title": N_("without the second fork, and without O_NOCTTY: the demo acquires a terminal"),
    "second_fork_quote": ("这样可以确保子进程不是会话首进程，"
                          "根据 System V 的控制终端获取规则，这个进程永远不能重新获取控制终端。"),
    "second_fork_open": N_("The demo, still its session's leader, opened {tty} without O_NOCTTY"),
    "second_fork_open_kept": N_("The demo, after its second fork, opened {tty} without O_NOCTTY"),
    "second_fork_explain": N_("A session leader without a controlling terminal acquires the first terminal it opens "
                           "(the System V rule): the terminal {tty} is now the demo's, and its group (TPGID {tpgid}) "
                           "the terminal's foreground group. O_NOCTTY in that open(), or the second fork, would have "
                           "prevented it."),
    "second_fork_explain_kept": N_("Not a session leader (SID {sid} != PID {pid}), it cannot acquire a terminal: TTY "
                                "stays {tty}, TPGID {tpgid}, whatever it opens."),
    "second_fork_hangup": N_("The demo is the terminal's controlling process now: the kernel sent it SIGHUP. Its "
                          "handler took it for a reload request, which nobody made; without that handler it would "
                          "have died. The kernel also took the terminal away (TTY ?)."),
    "second_fork_hangup_kept": N_("The terminal was never the demo's: the hangup sent it nothing."),
    "log_line": N_("its log: {line}"),
    # umask
    "umask_consequence": N_("its file gets another mode than it asked for"),
    "umask_title": N_("without umask(0): the file gets another mode than the demo asked for"),
    "umask_quote": "清除进程的 umask （通常置为 0）以确保当守护进程创建文件和目录时拥有需要的权限。",
    "umask_created": N_("The demo created {name} asking for mode {asked}; the file has mode {got}"),
    "umask_explain": N_("It kept the umask {umask} it inherited from its starter, and the kernel took those bits away "
                     "from the mode it asked for ({asked} & ~{umask} = {got}): its group cannot write the file. "
                     "psxj audit accepts a umask that only removes group and other bits, because many daemons set "
                     "one on purpose; the point is that a daemon gets the modes it asks for only with umask(0)."),
    "umask_explain_kept": N_("With umask(0) the file has exactly the mode it asked for."),
    # chdir
    "chdir_consequence": N_("it keeps a filesystem busy: umount fails (needs root)"),
    "chdir_title": N_("without chdir(\"/\"): the demo keeps a filesystem busy"),
    "chdir_quote": "如果守护进程的当前工作目录在不包含 / 的文件系统，那么该文件系统无法卸载。",
    "chdir_needs_root": N_("without chdir(\"/\"): this counterexample mounts a tmpfs in a private mount namespace, "
                        "which needs root (CAP_SYS_ADMIN); not possible here: {reason}"),
    "chdir_not_root": N_("psxj is not running as root"),
    "chdir_keeper_silent": N_("the mount namespace helper did not answer"),
    "chdir_start": N_("psxj mounted a tmpfs on {mount} in a mount namespace of its own and started the demo in a "
                   "directory of it, without chdir(\"/\")"),
    "chdir_start_kept": N_("psxj mounted a tmpfs on {mount} in a mount namespace of its own and started the demo in a "
                        "directory of it, with chdir(\"/\")"),
    "chdir_cwd": N_("the demo's working directory: {cwd}"),
    "chdir_explain": N_("A working directory is a reference to its filesystem: as long as the demo runs, the tmpfs is "
                     "in use. (The namespace is psxj's own: nothing outside it sees the tmpfs.)"),
    "umount_title": N_("psxj tries to unmount the tmpfs"),
    "umount_said": N_("{tool} said: {message} (exit status {status})"),
    "umount_busy": N_("The kernel refuses (EBUSY): the demo's working directory is on it. An administrator would have "
                   "to find and stop the daemon (fuser -m, lsof) before the filesystem can go."),
    "umount_done": N_("The unmount succeeded: nothing keeps the filesystem busy."),
    "after_stop_title": N_("psxj stops the demo, then unmounts again"),
    # close
    "close_consequence": N_("the starter's $(...) never ends"),
    "close_title": N_("without closing inherited descriptors: the starter's $(...) never ends"),
    "close_quote": "关闭从父进程继承来的所有打开的文件描述符。",
    "close_start": N_("A shell started the demo as started=$(demo): it reads the demo's output until end-of-file"),
    "close_stuck": N_("sh (PID {starter}) is still waiting, {seconds:.1f}s after the demo started running"),
    "close_done": N_("sh (PID {starter}) finished as soon as the demo closed its descriptors"),
    "close_reader": N_("sh (PID {starter}) reads {pipe} on its fd {fd} (STAT {stat}, waiting in {wchan})"),
    "close_writer": N_("the demo (PID {pid}) still has that pipe's write end open as its fd {fd}"),
    "close_explain": N_("A pipe gives end-of-file only when every write end is closed. The launcher exited, but the "
                     "demo inherited its stdout and never closed it (nor put /dev/null in its place): the shell "
                     "hangs, the classic bug of a daemon started from a script."),
    "close_explain_kept": N_("The demo closed every inherited descriptor and put /dev/null on 0, 1 and 2: the shell "
                          "got its end-of-file, and went on."),
    "close_stop_title": N_("psxj stops the demo: the starter's $(...) ends with it"),
    "close_after": N_("sh ended {seconds:.2f}s after the demo exited; it printed: {output}"),
    "close_not_ended": N_("sh has not ended {seconds:.1f}s after the demo exited"),
    # lock
    "lock_consequence": N_("a second instance starts, and both run"),
    "lock_title": N_("without the pidfile lock: a second instance starts, and both run"),
    "lock_quote": "并在该文件上加上一把写锁，之后企图再次启动该守护进程新的副本实例时都会失败。",
    "lock_both": N_("Two instances run: PIDs {first} and {second}"),
    "lock_refused": N_("The second instance (PID {second}) was refused: PID {first} holds the lock"),
    "lock_explain": N_("Each wrote its PID into {pidfile}, which now names only {named}: the other runs unseen. "
                    "Nothing is locked, so psxj demo status (which trusts the lock, not the file) says: {status}"),
    "lock_explain_kept": N_("running() found the write lock taken and refused to start: one instance only."),
    "lock_status_1": N_("psxj-demo is not running, but its pidfile remains"),
    "lock_status_0": N_("psxj-demo is running"),
    "lock_status_3": N_("psxj-demo is not running"),
    "lock_status_4": N_("psxj-demo status unknown"),
}


def _text(key: str) -> str:
    """One of this module's sentences (_TEXT), in the chosen language."""
    return _(_TEXT[key])


def _wait_line(stream, timeout: float) -> Optional[str]:
    """One line from a helper's stdout, or None when it says nothing within `timeout`."""
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        return None
    return stream.readline().decode("utf-8", "replace")


class Counterexample(Lab):
    """The demo without `rule` (or, left_out=False, with it: the control)."""

    rule = ""
    audit_rules: tuple = ()

    def __init__(self, left_out: bool = True, **options) -> None:
        super().__init__(**options)
        self.left_out = left_out
        self.title = _TEXT[f"{self.rule.replace('-', '_')}_title"]   # translated where it is shown
        self.command = f"psxj demo start --skip {self.rule}"

    @classmethod
    def title_text(cls) -> str:
        return _text(f"{cls.rule.replace('-', '_')}_title")

    @classmethod
    def consequence(cls) -> str:
        """What goes wrong, in a few words (the interface's demo menu)."""
        return _text(f"{cls.rule.replace('-', '_')}_consequence")

    def skip_arguments(self) -> List[str]:
        return ["--skip", self.rule] if self.left_out else []

    def _event_evidence(self, pid: int) -> List[str]:
        from psxj.render.eventtext import describe

        event = self.wait_exit_event(pid, 10.0)
        if event is None:
            return [_text("no_event").format(pid=pid)]
        return [_text("event_line").format(line=f"EXIT {pid}: {describe(event)}")]

    def _log_lines(self, pid: int, needle: str, timeout: float) -> List[str]:
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.control.log().splitlines() if f"[{pid}]" in line and needle in line]
            if lines or time.monotonic() > deadline:
                return [_text("log_line").format(line=safe_text(line)) for line in lines[-1:]]
            time.sleep(0.05)


class WithoutSetsid(Counterexample):
    rule = "setsid"
    audit_rules = ("own-session", "no-tty")

    def lesson(self) -> Iterator[Beat]:
        note = self.listen()
        self.terminal = PseudoTerminal()
        shell = trusted_program(SHELLS)
        run_id, args = self.demo_arguments([*self.skip_arguments(), "--gated"])
        self.hold_after(run_id, "syslog")  # just before step 10 would install its SIGHUP handler
        leader = self.leader = self.terminal.run(shell, "-c", _LEADER_SCRIPT, "sh",
                                                 *module_command("psxj.demo.daemon", *args))
        self.children.append(leader)
        self.watch(leader.pid)
        self.sessions.add(leader.pid)
        start = self.wait_step(run_id, "start")
        entry = self.wait_step(run_id, "syslog")
        pid, row = entry["pid"], entry["row"]
        self.focus_pid = pid
        tty = self.terminal.name
        told = {"pid": pid, "sid": row["SID"], "tty": safe_text(row["TTY"]), "tpgid": row["TPGID"],
                "leader": leader.pid}
        yield Beat(
            title=_text("setsid_start" if self.left_out else "setsid_start_kept").format(tty=tty, leader=leader.pid),
            quote=_TEXT["setsid_quote"],
            explanation=_text("setsid_start_explain" if self.left_out else
                                "setsid_start_explain_kept").format(**told),
            changes=tuple(row_changes(message("the_demo_forked", before=start["pid"], pid=pid), start.get("row"), row)),
            evidence=tuple(x for x in (_text("row_now").format(row=describe_row(row)), note) if x),
            audit=audit_lines(pid, self.audit_rules))
        self.terminal.hang_up()
        gone = self.wait_gone(pid, 5.0 if self.left_out else 2.0)
        leader.wait(timeout=10)
        evidence = [_text("leader_died").format(pid=leader.pid, how=how_it_ended(leader.returncode))]
        if gone:
            evidence.append(_text("demo_gone").format(pid=pid))
            evidence += self._event_evidence(pid)
        else:
            evidence.append(_text("setsid_still_running").format(pid=pid))
        yield Beat(title=_text("hangup_title"), quote=_TEXT["hangup_quote"],
                   explanation=_text("setsid_died" if gone else "setsid_survived"), evidence=tuple(evidence),
                   last=True)

    def _close_resources(self) -> None:
        if getattr(self, "terminal", None) is not None:
            self.terminal.close()


class WithoutSecondFork(Counterexample):
    rule = "second-fork"
    audit_rules = ("not-session-leader", "no-tty")

    def lesson(self) -> Iterator[Beat]:
        self.terminal = PseudoTerminal()
        run_id = self.launch_demo([*self.skip_arguments(), "--open-terminal", self.terminal.path])
        before = self.wait_step(run_id, "signals")
        entry = self.wait_step(run_id, "terminal")
        pid, row = entry["pid"], entry["row"]
        self.focus_pid = pid
        self.sessions.add(row["SID"])
        self.terminal.wait_for(b"psxj-demo:", timeout=2.0)
        shown = self.terminal.text().strip().splitlines()
        told = {"tty": self.terminal.name, "tpgid": row["TPGID"], "sid": row["SID"], "pid": pid}
        yield Beat(
            title=_text("second_fork_open" if self.left_out else "second_fork_open_kept").format(**told),
            quote=_TEXT["second_fork_quote"],
            explanation=_text("second_fork_explain" if self.left_out else "second_fork_explain_kept").format(
                **{**told, "tty": safe_text(row["TTY"])}),
            changes=tuple(row_changes(message("the_demo", pid=pid), before.get("row"), row)),
            evidence=(_text("row_now").format(row=describe_row(row)),
                      *(_text("terminal_says").format(text=line) for line in shown[-1:])),
            audit=audit_lines(pid, self.audit_rules))
        self.terminal.hang_up()
        logged = self._log_lines(pid, "SIGHUP: reload", 5.0 if self.left_out else 1.5)
        yield Beat(title=_text("hangup_title"), quote=_TEXT["hangup_quote"],
                   explanation=_text("second_fork_hangup" if logged else "second_fork_hangup_kept"),
                   evidence=tuple(logged), last=True)

    def _close_resources(self) -> None:
        if getattr(self, "terminal", None) is not None:
            self.terminal.close()


class WithoutUmask(Counterexample):
    rule = "umask"
    audit_rules = ("umask",)
    inherited_umask = 0o022   # a login shell's usual umask, set for the starter so the lesson is the same everywhere

    def lesson(self) -> Iterator[Beat]:
        run_id = self.launch_demo([*self.skip_arguments(), "--shared-file"], umask=self.inherited_umask)
        entry = self.wait_step(run_id, "shared-file")
        pid = entry["pid"]
        self.focus_pid = pid
        with RunDir.open(self.rundir, create=False) as rundir:
            st = rundir.stat(SHARED_FILE)
        got = f"{st.st_mode & 0o7777:04o}" if st is not None else "?"  # seen from outside, not taken from the demo
        told = {"name": SHARED_FILE, "asked": entry.get("asked"), "got": got, "umask": f"{self.inherited_umask:04o}"}
        yield Beat(title=_text("umask_created").format(**told), quote=_TEXT["umask_quote"],
                   explanation=_text("umask_explain" if self.left_out else "umask_explain_kept").format(**told),
                   evidence=(_text("row_now").format(row=describe_row(entry["row"])),),
                   audit=audit_lines(pid, self.audit_rules), last=True)


class WithoutChdir(Counterexample):
    rule = "chdir"
    audit_rules = ("cwd-root",)

    def lesson(self) -> Iterator[Beat]:
        if os.geteuid() != 0:
            raise PsxjError(_text("chdir_needs_root").format(reason=_text("chdir_not_root")))
        mount = os.path.join(self.rundir, "busy")
        RunDir.open(mount, create=True).close()
        run_id, args = self.demo_arguments(self.skip_arguments())
        self.keeper = popen_module("psxj.lab.mount_keeper", mount, *args, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.children.append(self.keeper)
        first = self._answer(15.0)
        if "error" in first:
            raise PsxjError(_text("chdir_needs_root").format(reason=safe_text(str(first["error"]))))
        entry = self.wait_step(run_id, "signals")
        pid = entry["pid"]
        self.focus_pid = pid
        try:
            cwd = safe_text(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            cwd = "?"
        yield Beat(title=_text("chdir_start" if self.left_out else "chdir_start_kept").format(
                       mount=safe_text(mount)),
                   quote=_TEXT["chdir_quote"], explanation=_text("chdir_explain"),
                   evidence=(_text("chdir_cwd").format(cwd=cwd),), audit=audit_lines(pid, self.audit_rules))
        answer = self._ask("umount")
        self.umount_status = answer.get("status")
        yield Beat(title=_text("umount_title"), explanation=_text("umount_busy" if answer.get("status") else
                                                                    "umount_done"),
                   evidence=(self._said(answer),), last=not answer.get("status"))
        if not answer.get("status"):
            return  # the rule was kept: there was nothing to free
        self.stop_run(run_id)
        answer = self._ask("umount")
        self.umount_after_stop = answer.get("status")
        yield Beat(title=_text("after_stop_title"),
                   explanation=_text("umount_done" if not answer.get("status") else "umount_busy"),
                   evidence=(self._said(answer),), last=True)

    @staticmethod
    def _said(answer: dict) -> str:
        return _text("umount_said").format(tool=safe_text(str(answer.get("tool", "umount"))),
                                           message=safe_text(str(answer.get("message") or message("nothing"))),
                                           status=answer.get("status"))

    def _answer(self, timeout: float) -> dict:
        line = _wait_line(self.keeper.stdout, timeout)
        try:
            answer = json.loads(line) if line else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PsxjError(_text("chdir_needs_root").format(reason=_text("chdir_keeper_silent")))
        return answer

    def _ask(self, request: str) -> dict:
        self.keeper.stdin.write(request.encode() + b"\n")
        self.keeper.stdin.flush()
        return self._answer(30.0)

    def _close_resources(self) -> None:
        keeper = getattr(self, "keeper", None)
        if keeper is not None and keeper.stdin and not keeper.stdin.closed:
            keeper.stdin.close()  # the keeper detaches the tmpfs and exits
            try:
                keeper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if keeper is not None and keeper.stdout:
            keeper.stdout.close()


class WithoutClosing(Counterexample):
    rule = "close"
    audit_rules = ("fds-closed", "stdio-devnull")
    patience = 1.0   # how long the starter is given to finish before it is called stuck

    def lesson(self) -> Iterator[Beat]:
        shell = trusted_program(SHELLS)
        run_id, args = self.demo_arguments(self.skip_arguments())
        argv = [shell, "-c", _STARTER_SCRIPT, "sh", *module_command("psxj.demo.daemon", *args)]
        self.starter = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd="/", env=lab_environment())
        self.children.append(self.starter)
        self.watch(self.starter.pid)
        entry = self.wait_step(run_id, "signals")
        pid = entry["pid"]
        self.focus_pid = pid
        began = time.monotonic()
        self.starter_stuck = self.starter.poll() is None and not self._wait_exit(self.starter, self.patience)
        waited = time.monotonic() - began
        evidence = [_text("close_stuck" if self.starter_stuck else "close_done").format(
            starter=self.starter.pid, seconds=waited)]
        if self.starter_stuck:
            evidence += self._pipe_evidence(self.starter.pid, pid)
        yield Beat(title=_text("close_start"), quote=_TEXT["close_quote"],
                   explanation=_text("close_explain" if self.starter_stuck else "close_explain_kept"),
                   evidence=tuple(evidence), audit=audit_lines(pid, self.audit_rules), last=not self.starter_stuck)
        if not self.starter_stuck:
            return
        self.stop_run(run_id)  # returns once the demo has exited (its pidfd says so)
        exited_at = time.monotonic()
        ended = self._wait_exit(self.starter, 5.0)
        self.starter_ended_after = time.monotonic() - exited_at
        output = safe_text(self.starter.stdout.read().decode("utf-8", "replace").strip()) if ended else ""
        line = _text("close_after" if ended else "close_not_ended").format(seconds=self.starter_ended_after,
                                                                           output=output or message("nothing"))
        yield Beat(title=_text("close_stop_title"), evidence=(line,), last=True)

    @staticmethod
    def _wait_exit(process: subprocess.Popen, timeout: float) -> bool:
        try:
            process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _pipe_evidence(self, reader: int, writer: int) -> List[str]:
        """Which pipe the starter reads, and that the demo holds its write end: from /proc/PID/fd."""
        from psxj.judge.facts import ProcFacts, Unreadable

        def pipes(pid: int) -> Dict[str, int]:
            try:
                return {target: fd for fd, target in ProcFacts(pid).fds().items() if target.startswith("pipe:")}
            except Unreadable:
                return {}

        readers, writers = pipes(reader), pipes(writer)
        lines = []
        for target, fd in readers.items():
            if target in writers:
                from psxj.sources.proc import read_one

                record = read_one(reader)
                try:
                    wchan = ProcFacts(reader).wchan() or "?"
                except Unreadable:
                    wchan = "?"
                lines.append(_text("close_reader").format(starter=reader, pipe=target, fd=fd,
                                                          stat=record.stat if record else "?", wchan=safe_text(wchan)))
                lines.append(_text("close_writer").format(pid=writer, fd=writers[target]))
        return lines

    def _close_resources(self) -> None:
        starter = getattr(self, "starter", None)
        if starter is not None and starter.stdout:
            starter.stdout.close()


class WithoutLock(Counterexample):
    rule = "lock"
    audit_rules = ("pidfile-lock",)

    def lesson(self) -> Iterator[Beat]:
        first_run = self.launch_demo(self.skip_arguments())
        first = self.wait_step(first_run, "signals")
        second_run = self.launch_demo(self.skip_arguments())
        second = self._outcome(second_run)
        self.focus_pid = first["pid"]
        self.instances = [first["pid"], second["pid"]]
        with RunDir.open(self.rundir, create=False) as rundir:
            named = (rundir.read_bytes(PIDFILE, 64) or b"").decode("ascii", "replace").strip()
        both = second["step"] != "refused"
        if both:
            self.wait_step(second_run, "signals")
        told = {"first": first["pid"], "second": second["pid"], "pidfile": PIDFILE, "named": safe_text(named),
                "status": _text(f"lock_status_{self.control.status()}")}
        yield Beat(title=_text("lock_both" if both else "lock_refused").format(**told), quote=_TEXT["lock_quote"],
                   explanation=_text("lock_explain" if both else "lock_explain_kept").format(**told),
                   audit=audit_lines(first["pid"], self.audit_rules), last=True)

    def _outcome(self, run_id: str) -> dict:
        deadline = time.monotonic() + self.step_timeout
        while time.monotonic() < deadline:
            for entry in self.control.steps(run_id):
                if entry["step"] in ("running", "refused"):
                    self.watch(entry["pid"])
                    return entry
            time.sleep(0.02)
        return self.wait_step(run_id, "running", timeout=0)


COUNTEREXAMPLES: Dict[str, Type[Counterexample]] = {
    kind.rule: kind for kind in (WithoutSetsid, WithoutSecondFork, WithoutUmask, WithoutChdir, WithoutClosing,
                                 WithoutLock)
}


def counterexample(rule: str, **options) -> Counterexample:
    return COUNTEREXAMPLES[rule](**options)
