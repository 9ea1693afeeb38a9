"""What every lab shares: beats (one step of a lesson, narrated), the processes a lab shows, the
events it watches, the audit it quotes, and the cleanup that leaves nothing running.

Part of the demo stage, like psxj.demo: it starts real processes and reads /proc, and imports
nothing of the interface. A lab is a sequence of beats: next_beat() does one thing (starts the
demo, types Ctrl-Z, hangs up a terminal), waits until /proc shows its effect, and returns what to
tell: the CLI prints it, the interface shows it beside the table. close() ends everything the lab
started, each process proven by its PID and start time first (psxj.act.identity), and is safe to call
twice and at any point.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from psxj.act.identity import NotThatProcess, ProvenProcess, command_line, start_ticks
from psxj.demo.control import DemoControl, default_rundir
from psxj.demo.steps import RUN_ORDER
from psxj.errors import PsxjError
from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot
from psxj.render.diff import column_changes, ps_row
from psxj.safefs import RunDir

# The columns the lab narrates (PID is the identity, TIME and COMMAND are not the lesson).
LAB_COLUMNS = ("PPID", "PGID", "SID", "TTY", "TPGID", "STAT")
LAB_LIFETIME = 900.0   # a lab's demo ends by itself after this, even if psxj was killed -9

_MESSAGES = {
    "no_step": N_("the demo did not reach step {step} within {seconds:g}s (psxj demo log --rundir {rundir} says why)"),
    "refused": N_("another lab's demo (pid {holder}) holds the lab's pidfile: end that lab first"),
    "events_polled": N_("psxj could not listen to the kernel's process events ({reason}): it polls /proc, "
                     "which sees that a process exited but not how"),
    "audit_head": N_("psxj audit {pid} says:"),
    "audit_counts": N_("{passed} pass, {failed} fail, {unknown} unknown (psxj audit {pid} shows every rule)"),
    "audit_gone": N_("psxj audit {pid}: the process has exited"),
    "still_running": N_("still running"),
    "killed_by": N_("killed by {signal}"),
    "exited": N_("exit {status}"),
    "changed": N_("changed: {change}"),
    "the_demo": N_("the demo, PID {pid}"),
    "the_demo_forked": N_("the demo, PID {before} -> {pid}"),
    "nothing": N_("(nothing)"),
}


def _text(key: str) -> str:
    """One of this module's sentences (_MESSAGES), in the chosen language."""
    return _(_MESSAGES[key])


def message(key: str, **values) -> str:
    """One of the lab's shared sentences (the CLI and the interface say them the same way)."""
    return _text(key).format(**values)


class Beat(NamedTuple):
    """One moment of a lab, told: what was done, the tutorial's words, what to see, what changed."""
    title: str
    quote: str = ""                      # the tutorial's own words (Chinese), or ""
    explanation: str = ""
    changes: Tuple[str, ...] = ()        # "PID 4242 (sleep): STAT S+ -> T"
    evidence: Tuple[str, ...] = ()       # what the system said: a terminal's text, umount's error, events
    audit: Tuple[str, ...] = ()          # what psxj audit says about the process this beat is about
    last: bool = False


def lab_rundir(base: Optional[str] = None) -> str:
    """The lab's run directory, `lab` inside the demo's (checked, made 0700 when missing): its
    demos never meet a demo started with psxj demo start."""
    base = os.path.abspath(base or default_rundir())
    RunDir.open(base, create=True).close()
    path = os.path.join(base, "lab")
    RunDir.open(path, create=True).close()
    return path


def own_identity() -> Optional[Tuple[int, int]]:
    """(PID, start ticks) of this psxj: the lab's demos exit when it is gone."""
    ticks = start_ticks(os.getpid())
    return (os.getpid(), ticks) if ticks is not None else None


def how_it_ended(returncode: Optional[int]) -> str:
    """A child's wait status in words: `exit 0`, `killed by SIGHUP`."""
    if returncode is None:
        return _text("still_running")
    if returncode < 0:
        return _text("killed_by").format(signal=signal.Signals(-returncode).name)
    return _text("exited").format(status=returncode)


def record_changes(label: str, before: Optional[ProcessRecord], after: ProcessRecord,
                   columns: Sequence[str] = LAB_COLUMNS) -> List[str]:
    """`PID 4242 (sleep): STAT S+ -> T  TPGID 4242 -> 4200`, the ps columns that changed."""
    if before is None:
        return []
    changed = column_changes(ps_row(before), ps_row(after), columns)
    return [f"{label}: " + "   ".join(changed)] if changed else []


def row_changes(label: str, before: Optional[dict], after: dict, columns: Sequence[str] = LAB_COLUMNS) -> List[str]:
    """The same for two rows the demo recorded (psxj.demo.steps rows)."""
    if not before:
        return []
    changed = column_changes({c: before.get(c) for c in columns}, {c: after.get(c) for c in columns}, columns)
    return [f"{label}: " + "   ".join(changed)] if changed else []


def describe_row(row: dict) -> str:
    """`PPID 1  PGID 4242  SID 4200  TTY pts/3  TPGID 4200  STAT S+`."""
    return "  ".join(f"{column} {safe_text(str(row.get(column)))}" for column in LAB_COLUMNS)


def audit_lines(pid: int, rule_ids: Sequence[str]) -> Tuple[str, ...]:
    """What psxj audit says about `pid`: the verdicts of the rules this lesson is about, and the counts."""
    from psxj.cells import pad_cells
    from psxj.judge.audit import FAIL, PASS, UNKNOWN, audit_process, verdict_word
    from psxj.sources.proc import read_snapshot

    snapshot = read_snapshot()
    record = snapshot.get(pid)
    if record is None:
        return (_text("audit_gone").format(pid=pid),)
    report = audit_process(snapshot, record)
    if report.gone:
        return (_text("audit_gone").format(pid=pid),)
    lines = [_text("audit_head").format(pid=pid)]
    lines += [f"  {pad_cells(verdict_word(rule.verdict), 7)} {rule.id:19} {rule.evidence}" for rule in report.rules
              if rule.id in rule_ids]
    counts = report.counts()
    lines.append("  " + _text("audit_counts").format(passed=counts[PASS], failed=counts[FAIL],
                                                         unknown=counts[UNKNOWN], pid=pid))
    return tuple(lines)


class Lab:
    """A lesson on real processes. Subclasses write lesson(), a generator of Beats."""

    title = ""        # in English (N_): the CLI and the interface translate it where they show it
    command = ""      # the same lesson on the command line
    shows_terminal = False   # the interface shows the lab's terminal beside the table, not an audit

    def __init__(self, rundir: Optional[str] = None, tied_to: Optional[Tuple[int, int]] = None,
                 step_timeout: float = 20.0) -> None:
        self.rundir = lab_rundir(rundir)
        self.control = DemoControl(self.rundir)
        self.tied_to = tied_to if tied_to is not None else own_identity()
        self.step_timeout = step_timeout
        self.run_ids: List[str] = []
        self.children: List[subprocess.Popen] = []    # ours to reap
        self.watched: Dict[int, Optional[int]] = {}   # pid -> start ticks of what the lab started or found
        self.focus_pid: Optional[int] = None          # the process the audit panel is about
        self.sessions: Set[int] = set()               # whole sessions to show (a terminal's)
        self.feed = None
        self._events: list = []
        self._beats: Optional[Iterator[Beat]] = None   # the running lesson()
        self.closed = False

    # the lesson ------------------------------------------------------------------
    def lesson(self) -> Iterator[Beat]:
        raise NotImplementedError

    def next_beat(self) -> Optional[Beat]:
        """Do the next thing and tell it; None once the lesson is over. Blocks for a few seconds at most."""
        if self.closed:
            return None
        if self._beats is None:
            self._beats = self.lesson()
        return next(self._beats, None)

    def beats(self) -> Iterator[Beat]:
        while True:
            beat = self.next_beat()
            if beat is None:
                return
            yield beat

    # what to show --------------------------------------------------------------------
    def shown_pids(self) -> Set[int]:
        return set(self.watched)

    def shown_records(self, snapshot: Snapshot) -> List[ProcessRecord]:
        """The lab's live processes (a zombie has exited: it is told in the beats, not shown)."""
        pids, sessions = self.shown_pids(), self.sessions
        return [r for r in snapshot.records if (r.pid in pids or r.sid in sessions) and r.state != "Z"]

    def watch(self, pid: int) -> None:
        if pid not in self.watched:
            self.watched[pid] = start_ticks(pid)

    # the demo ----------------------------------------------------------------------------
    def demo_arguments(self, extra: Sequence[str], step_delay: float = 0.0) -> Tuple[str, List[str]]:
        run_id, args = self.control.prepare_run(step_delay, LAB_LIFETIME, self.tied_to, extra)
        self.run_ids.append(run_id)
        return run_id, args

    def launch_demo(self, extra: Sequence[str], step_delay: float = 0.0, **popen_kwargs) -> str:
        """Start the demo from this process, as psxj demo start does; its launcher is reaped later."""
        run = self.control.launch(step_delay, LAB_LIFETIME, self.tied_to, extra,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen_kwargs)
        self.run_ids.append(run.run_id)
        self.children.append(run.launcher)
        return run.run_id

    def hold_after(self, run_id: str, step: str) -> None:
        """A --gated run goes on until it has reported `step`, then holds."""
        self.control.allow_steps(run_id, RUN_ORDER.index(step))

    def wait_step(self, run_id: str, step: str, timeout: Optional[float] = None) -> dict:
        """The demo's record of `step`, once it has reported it."""
        timeout = self.step_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.control.steps(run_id):
                if entry["step"] == step:
                    self.watch(entry["pid"])
                    return entry
                if entry["step"] == "refused":  # another lab's demo holds the lab's pidfile
                    raise PsxjError(_text("refused").format(holder=entry.get("holder")))
            if time.monotonic() > deadline:
                raise PsxjError(_text("no_step").format(step=step, seconds=timeout, rundir=self.rundir))
            time.sleep(0.02)

    # events --------------------------------------------------------------------------------
    def listen(self) -> Optional[str]:
        """Start listening to process events of this process's descendants (the lab's processes);
        returns a note when psxj can only poll."""
        from psxj.sources.event_stream import EventFeed

        self.feed = EventFeed(follow=os.getpid())
        if self.feed.mode != "events":
            return _text("events_polled").format(reason=self.feed.stream.reason or "unknown")
        return None

    def events_of(self, pids: Set[int], kinds: Sequence[str] = ("EXIT",)) -> list:
        if self.feed is not None:
            self._events.extend(self.feed.drain())
        return [e for e in self._events if e.pid in pids and e.kind in kinds]

    def wait_exit_event(self, pid: int, timeout: float = 5.0):
        """The EXIT event of `pid`, once it comes (None when only polling, or it never came)."""
        if self.feed is None or self.feed.mode != "events":
            timeout = min(timeout, 0.5)  # a polled exit says that it happened, not how: not worth waiting for
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events_of({pid})
            if found:
                return found[-1]
            time.sleep(0.05)
        return None

    # ending -----------------------------------------------------------------------------
    def is_alive(self, pid: int) -> bool:
        """Is the process the lab knew under this PID still there (not a zombie, not a newcomer)?"""
        from psxj.sources.proc import read_one

        record = read_one(pid)
        expected = self.watched.get(pid)
        if record is None or record.state == "Z":
            return False
        return expected is None or record.start_ticks == expected

    def wait_gone(self, pid: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_alive(pid):
                return True
            time.sleep(0.02)
        return False

    def stop_run(self, run_id: str, grace: float = 5.0) -> List[int]:
        """SIGTERM to each process of the run still alive (proven: its recorded start time, and the
        demo's program for this lab's run directory), then SIGKILL to what has not exited."""
        stopped = []
        for entry in self.control.steps(run_id):
            pid = entry["pid"]
            if pid in stopped:
                continue
            if self._signal_proven(pid, entry.get("start_ticks"), self._is_lab_demo, signal.SIGTERM, grace):
                stopped.append(pid)
        return stopped

    def _is_lab_demo(self, pid: int) -> Optional[str]:
        argv = command_line(pid)
        if "psxj.demo.daemon" not in argv or "--rundir" not in argv[:-1]:
            return _("it is no longer the demo")
        if os.path.abspath(argv[argv.index("--rundir") + 1]) != self.rundir:
            return _("it is the demo of another run directory")
        return None

    def kill_watched(self, pid: int, check: Callable[[int], Optional[str]] = lambda p: None) -> bool:
        """SIGKILL to a process the lab found (a shell's job), proven by the start time seen then."""
        return self._signal_proven(pid, self.watched.get(pid), check, signal.SIGKILL, 0)

    @staticmethod
    def _signal_proven(pid: int, ticks: Optional[int], check, signum: int, grace: float) -> bool:
        try:
            with ProvenProcess.prove(pid, ticks, f"lab process {pid}", [check]) as process:
                process.send(signum)
                if grace and not process.wait_exit(grace):
                    process.send(signal.SIGKILL)
                    process.wait_exit(2)
                return True
        except (NotThatProcess, ProcessLookupError, PermissionError):
            return False

    def close(self) -> None:
        """End what the lab started: its demos, then its own children, then the event feed."""
        if self.closed:
            return
        self.closed = True
        if self._beats is not None:
            self._beats.close()
        self._close_resources()
        for run_id in self.run_ids:
            self.stop_run(run_id, grace=3.0)
        for child in self.children:
            if child.poll() is None:
                child.kill()  # our own unreaped child: its PID cannot have been reused
            child.wait(timeout=10)
        if self.feed is not None:
            self.feed.close()
            self.feed = None

    def _close_resources(self) -> None:
        """Subclasses: close terminals and helpers before the processes are stopped."""

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
