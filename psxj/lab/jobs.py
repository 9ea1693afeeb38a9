"""Job control, live: the `j` of ps -axj, on a shell psxj runs in a terminal it owns.

`psxj demo jobs` and the interface's demo menu run this Lab (psxj.lab.base). psxj opens a
pseudo-terminal, starts bash in it (its session leader), and types, as a user would: a pipeline
(`sleep 100 | cat`), Ctrl-Z, `bg`, `fg`; then it hangs the terminal up. After each key it waits
until /proc shows the effect, and tells which columns changed (PGID, TPGID, STAT + and T), with
psxj.render.diff's column_changes, the same words as the daemon demo's narration.
"""

from __future__ import annotations

import subprocess
import time
from typing import Callable, Dict, Iterator, List, Optional

from psxj.errors import PsxjError
from psxj.i18n import N_, _
from psxj.lab.base import Beat, Lab, how_it_ended, record_changes
from psxj.lab.terminal import PseudoTerminal, lab_environment, trusted_program
from psxj.model import ProcessRecord

BASHES = ("/bin/bash", "/usr/bin/bash")
PIPELINE = b"sleep 100 | cat\n"
PROMPT = "lab$ "
JOB_NAMES = ("sleep", "cat")

_TEXT: Dict[str, str] = {
    "title": N_("job control, live: a pipeline, Ctrl-Z, bg, fg and a hangup"),
    "timeout": N_("job control: {what} did not happen within {seconds:g}s; the terminal shows: {screen}"),
    "waited_prompt": N_("bash's prompt"),
    "waited_job": N_("the pipeline's start"),
    "waited_stop": N_("the job's stop"),
    "waited_bg": N_("the job's resumption in the background"),
    "waited_fg": N_("the job's return to the foreground"),
    "new_process": N_("{label}: a new process: PGID {pgid}, TPGID {tpgid}, STAT {stat}"),
    "gone_process": N_("{label}: gone"),
    "terminal_says": N_("the terminal shows: {text}"),
    "quote_j": "显示与作业有关的进程信息",
    "quote_signals": ("没有控制终端，可以确保内核永远不会为守护进程自动生成任何作业控制信号"
                       "或者终端相关的信号（比如 SIGINT、SIGTSTP 和 SIGHUP）。"),
    "quote_background": "因为它们没有控制终端，所以我们称它们运行在后台。",
    "start_title": N_("psxj opened a terminal ({tty}) and started bash in it"),
    "start_explain": N_("bash leads a new session (SID {sid} = its PID) whose controlling terminal is {tty}. Its own "
                     "process group is the terminal's foreground group: TPGID = its PGID, and STAT Ss+ (s: session "
                     "leader, +: in the foreground group)."),
    "pipeline_title": N_("psxj types: sleep 100 | cat"),
    "pipeline_explain": N_("bash put both processes of the pipeline in one new process group, a job (PGID {job}, the "
                        "first one's PID), and gave it the terminal: TPGID {job}. The job's processes show +; bash "
                        "lost its + and waits."),
    "stop_title": N_("psxj types Ctrl-Z"),
    "stop_explain": N_("The terminal's driver turned Ctrl-Z into SIGTSTP for the whole foreground group: both "
                       "processes stopped (STAT T). bash, woken by wait(), took the terminal back (TPGID {shell}) "
                       "and printed its prompt."),
    "bg_title": N_("psxj types: bg"),
    "bg_explain": N_("bg sent SIGCONT to the job's group without giving it the terminal: it runs again (T -> S), "
                  "without +, in the background. TPGID stays bash's. A background job still has its terminal: were "
                  "it to read from it, the driver would stop it with SIGTTIN."),
    "fg_title": N_("psxj types: fg"),
    "fg_explain": N_("fg gave the terminal back to the job (tcsetpgrp: TPGID {job}) and sent it SIGCONT: S+ again, "
                  "and bash waits for it."),
    "hangup_title": N_("psxj hangs up the terminal, as closing its window does"),
    "hangup_explain": N_("The kernel sent SIGHUP to the terminal's controlling process, bash; bash passed it on to its "
                      "jobs and died of it. The whole session is gone with its terminal: that is what a daemon "
                      "escapes with setsid()."),
    "shell_ended": N_("bash (PID {pid}): {how} (its wait status: psxj is its parent)"),
    "still_alive": N_("{label} is still running"),
    "event_line": N_("event: {line}"),
    "no_event": N_("no exit event for {label} (psxj is polling /proc: it sees the exit, not the signal)"),
}


def _text(key: str) -> str:
    """One of this module's sentences (_TEXT), in the chosen language."""
    return _(_TEXT[key])


def label(record: ProcessRecord) -> str:
    return f"{record.comm} {record.pid}"


class JobControlLab(Lab):
    title = _TEXT["title"]   # translated where it is shown
    command = "psxj demo jobs"
    shows_terminal = True

    def __init__(self, wait_seconds: float = 20.0, **options) -> None:
        super().__init__(**options)
        self.wait_seconds = wait_seconds
        self.terminal: Optional[PseudoTerminal] = None
        self.shell = None
        self.history: List[Dict[int, ProcessRecord]] = []   # the session's rows after each beat

    # reading the session -------------------------------------------------------
    def session(self) -> Dict[int, ProcessRecord]:
        """The shell's session now, by PID (zombies left out: they are on their way out)."""
        from psxj.sources.proc import read_snapshot

        snapshot = read_snapshot()
        return {r.pid: r for r in snapshot.records if r.sid == self.shell.pid and r.state != "Z"}

    def job(self, rows: Dict[int, ProcessRecord]) -> List[ProcessRecord]:
        return [r for r in rows.values() if r.pid != self.shell.pid and r.comm in JOB_NAMES]

    def _wait(self, what: str, condition: Callable[[Dict[int, ProcessRecord]], bool]) -> Dict[int, ProcessRecord]:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            rows = self.session()
            if condition(rows):
                for pid in rows:
                    self.watch(pid)
                return rows
            if time.monotonic() > deadline:
                raise PsxjError(_text("timeout").format(what=_text(what), seconds=self.wait_seconds,
                                                        screen=self._screen(3).replace("\n", " | ")))
            time.sleep(0.05)

    def _screen(self, lines: int = 2) -> str:
        shown = [line for line in self.terminal.text().splitlines() if line.strip()]
        return "\n".join(shown[-lines:])

    def _changes(self, before: Dict[int, ProcessRecord], after: Dict[int, ProcessRecord]) -> tuple:
        told = []
        for pid, record in sorted(after.items()):
            if pid in before:
                told += record_changes(label(record), before[pid], record)
            else:
                told.append(_text("new_process").format(label=label(record), pgid=record.pgid, tpgid=record.tpgid,
                                                        stat=record.stat))
        told += [_text("gone_process").format(label=label(r)) for pid, r in sorted(before.items())
                 if pid not in after]
        return tuple(told)

    def _beat(self, title: str, explain: str, rows: Dict[int, ProcessRecord], quote: str = "", **told) -> Beat:
        before = self.history[-1] if self.history else {}
        self.history.append(rows)
        screen = self._screen()
        evidence = [_text("terminal_says").format(text=line) for line in screen.splitlines()]
        return Beat(title=title, quote=quote, explanation=explain.format(**told), changes=self._changes(before, rows),
                    evidence=tuple(evidence))

    # the lesson ---------------------------------------------------------------------
    def lesson(self) -> Iterator[Beat]:
        note = self.listen()
        self.terminal = PseudoTerminal()
        bash = trusted_program(BASHES)
        env = lab_environment(PS1=PROMPT, HISTFILE="", TERM="dumb")
        self.shell = self.terminal.run(bash, "--norc", "--noprofile", "--noediting", "-i", env=env)
        self.children.append(self.shell)
        self.watch(self.shell.pid)
        self.sessions.add(self.shell.pid)
        shell = self.shell.pid
        if not self.terminal.wait_for(PROMPT.encode(), self.wait_seconds):
            raise PsxjError(_text("timeout").format(what=_text("waited_prompt"), seconds=self.wait_seconds,
                                                    screen=self._screen(3)))
        rows = self._wait("waited_prompt", lambda rows: shell in rows and rows[shell].tpgid == rows[shell].pgid)
        beat = self._beat(_text("start_title").format(tty=self.terminal.name), _text("start_explain"), rows,
                          quote=_TEXT["quote_j"], sid=shell, tty=self.terminal.name)
        yield beat._replace(evidence=beat.evidence + ((note,) if note else ()))

        def job_in_foreground(rows) -> bool:
            job = self.job(rows)
            return len(job) == 2 and len({r.pgid for r in job}) == 1 and job[0].pgid != shell \
                and rows[shell].tpgid == job[0].pgid and all("+" in r.stat and r.state != "T" for r in job)

        self.terminal.type(PIPELINE)
        rows = self._wait("waited_job", job_in_foreground)
        job = self.job(rows)[0].pgid
        yield self._beat(_text("pipeline_title"), _text("pipeline_explain"), rows, job=job)

        self.terminal.type(b"\x1a")  # Ctrl-Z, as the terminal's VSUSP character
        rows = self._wait("waited_stop", lambda rows: len(self.job(rows)) == 2 and rows[shell].tpgid == shell
                          and all(r.state == "T" for r in self.job(rows)))
        # The kernel stops the job before bash, woken by waitpid(), prints its notice: wait for the
        # notice too, so that the terminal's evidence shows it on a busy machine as well.
        self.terminal.wait_for(b"Stopped", self.wait_seconds)
        yield self._beat(_text("stop_title"), _text("stop_explain"), rows, quote=_TEXT["quote_signals"],
                         shell=shell)

        self.terminal.type(b"bg\n")
        rows = self._wait("waited_bg", lambda rows: len(self.job(rows)) == 2 and rows[shell].tpgid == shell
                          and all(r.state != "T" and "+" not in r.stat for r in self.job(rows)))
        yield self._beat(_text("bg_title"), _text("bg_explain"), rows, quote=_TEXT["quote_background"])

        self.terminal.type(b"fg\n")
        rows = self._wait("waited_fg", job_in_foreground)
        yield self._beat(_text("fg_title"), _text("fg_explain"), rows, job=job)

        yield self._hang_up(rows)

    def _hang_up(self, rows: Dict[int, ProcessRecord]) -> Beat:
        from psxj.render.eventtext import describe

        self.terminal.hang_up()
        self.shell.wait(timeout=10)
        evidence = []
        for pid, record in sorted(rows.items()):
            if pid == self.shell.pid:
                evidence.append(_text("shell_ended").format(pid=pid, how=how_it_ended(self.shell.returncode)))
            elif not self.wait_gone(pid, 5.0):
                evidence.append(_text("still_alive").format(label=label(record)))
        for pid, record in sorted(rows.items()):
            event = self.wait_exit_event(pid, 10.0)
            evidence.append(_text("event_line").format(line=f"EXIT {label(record)}: {describe(event)}") if event
                            else _text("no_event").format(label=label(record)))
        after = {pid: r for pid, r in self.session().items()}
        self.history.append(after)
        return Beat(title=_text("hangup_title"), quote=_TEXT["quote_signals"],
                    explanation=_text("hangup_explain"),
                    changes=self._changes(rows, after), evidence=tuple(evidence), last=True)

    # ending --------------------------------------------------------------------------
    def _close_resources(self) -> None:
        if self.terminal is not None:
            self.terminal.close()

    def close(self) -> None:
        """Hang up (bash and its jobs die of it), then kill by proven PID what is somehow left."""
        if self.closed:
            return
        self._close_resources()
        if self.shell is not None:
            try:
                self.shell.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass  # Lab.close kills it: our own child
        for pid in list(self.watched):
            if self.shell is None or pid != self.shell.pid:
                if self.is_alive(pid):
                    self.kill_watched(pid)
        super().close()
