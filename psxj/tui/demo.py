"""The demo daemon in the interface: d starts it (or stops it), the panel tells each step with the
tutorial's words, the table's cursor follows it; H sends it SIGHUP, I starts a second instance to be
refused, [ and ] step through a run played back, L opens the menu of the lab (psxj.tui.demo_menu).

A feature of the main screen (psxj.tui.feature); the panel is psxj.tui.demo_panel. What the demo
started (DemoRuns) is the app's: it outlives the screen, and psxj stops it when it quits, also when
its terminal is gone, unless asked to keep it (--keep-demo).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, List, Optional

from textual.binding import Binding

from psxj.demo.steps import log_pid, log_until, step_window
from psxj.errors import PsxjError
from psxj.i18n import _
from psxj.model import Snapshot
from psxj.tui.demo_panel import DemoPanel
from psxj.tui.feature import Feature

if TYPE_CHECKING:
    from psxj.demo.control import DemoControl

_ENDED_SHOWN_SECONDS = 6   # the panel says the demo has ended this long, then goes


class DemoRuns:
    """What the demo started from this interface: its control, its runs and the launchers to reap.
    Textual-free: it outlives the screen, for psxj's exit to end what it started."""

    def __init__(self, rundir: Optional[str], keep: bool) -> None:
        self.rundir = rundir
        self.keep = keep                  # --keep-demo: leave a demo started here running
        self.control: Optional["DemoControl"] = None   # once the demo is shown
        self.started_here = False
        self.launchers: list = []         # launchers we must reap
        self.run = None                   # the run the panel narrates (DemoControl.launch's Run)
        self.second_run = None            # the second instance I started, to be refused

    def control_for(self) -> "DemoControl":
        if self.control is None:
            from psxj.demo.control import DemoControl  # when the demo is first shown: not at start

            self.control = DemoControl(self.rundir)
        return self.control

    def end_own(self) -> None:
        """A demo psxj started ends with psxj, unless the user asked to keep it. Safe to call twice."""
        if self.control is not None and self.started_here and not self.keep:
            try:
                self.control.stop(timeout=5)
            except PsxjError:
                pass  # the lock's holder is not provably our demo: it is not ours to stop
            for run in (self.run, self.second_run):
                if run is not None:
                    self.control.end_run(run.run_id)
            self.started_here = False
        for launcher in self.launchers:
            launcher.wait()
        self.launchers = []


def _own_identity():
    """(PID, start ticks) of this interface: a demo started here exits when it is gone."""
    from psxj.act.identity import start_ticks

    ticks = start_ticks(os.getpid())
    return (os.getpid(), ticks) if ticks is not None else None


class Demo(Feature):
    BINDINGS = [
        Binding("d", "demo", "Demo"),
        Binding("L", "demo_menu", "Lab"),  # the lab (issue 15): the demo menu
        Binding("H", "demo_hangup", "Demo: HUP", show=False),
        Binding("I", "demo_second_instance", "Demo: 2nd instance", show=False),
        Binding("left_square_bracket", "demo_step(-1)", "Step back", show=False),
        Binding("right_square_bracket", "demo_step(1)", "Step on", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._ended_at: Optional[float] = None
        self._playback: Optional[tuple] = None   # (step being told, since when): a replayed run
        self._timer = None
        self._seen_steps = 0
        self._follow_pid: Optional[int] = None
        self._hangup: Optional[tuple] = None   # (pid, its reload lines before H, until when to wait for one)

    @property
    def runs(self) -> DemoRuns:
        return self.app.demo_runs

    @property
    def panel(self) -> DemoPanel:
        return self.query_one("#demo", DemoPanel)

    def on_mount(self) -> None:
        self.panel.display = False

    def action_demo(self) -> None:
        if self.app.static_source:
            self.app.notify(_("The demo runs live processes; this table was loaded from a file."), severity="warning")
            return
        runs = self.runs
        control = runs.control_for()
        try:
            demo = control.running_demo()  # raises when a process psxj cannot prove holds the lock
            holder = demo.pid if demo else None
            if holder is not None:
                def confirmed(yes: bool) -> None:
                    if yes:
                        self._stop()
                from psxj.tui.screens import ConfirmScreen

                self.app.push_screen(ConfirmScreen(_("Stop psxj-demo (pid {pid})?").format(pid=holder)), confirmed)
                self._show_panel()
                return
            # With live events the daemon runs at full speed, as a real one would, and the panel plays its
            # recorded steps back one at a time, with their real times and the kernel's events.
            feed = self.app.event_feed
            playback = feed is not None and feed.mode == "events"
            run = control.launch(step_delay=0 if playback else self.app.demo_step_delay, tied_to=_own_identity())
        except PsxjError as exc:
            self.app.notify(str(exc), severity="error", title=_("Demo not started"))
            return
        runs.launchers.append(run.launcher)
        runs.run, runs.second_run = run, None
        runs.started_here = True
        self._seen_steps = 0
        self._ended_at = None
        self._playback = (0, time.monotonic()) if playback else None
        self._show_panel()
        if playback:
            self.app.notify(_("Demo started at full speed; its steps are told one every {delay:g}s "
                              "with their real times ([ and ] step).").format(delay=self.app.demo_step_delay))
        else:
            self.app.notify(_("Demo started: one step every {delay:g}s. Watch the highlighted rows.").format(
                delay=self.app.demo_step_delay))

    def _show_panel(self) -> None:
        self.panel.display = True
        if self._timer is None:
            self._timer = self.set_interval(0.5, self.follow)
        self.follow()

    def _hide_panel(self) -> None:
        self.panel.display = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.table.highlighted_pids = set()
        self.table.refresh()

    def follow(self) -> None:
        """Read this run's recorded steps and log; highlight its processes; refresh on each new step.
        Once the demo has ended, say so for a few seconds, then take the panel away."""
        runs = self.runs
        control, run = runs.control, runs.run
        if control is None or run is None:
            return
        runs.launchers = [p for p in runs.launchers if p.poll() is None]  # reap exited launchers
        entries = control.steps(run.run_id)
        second = control.steps(runs.second_run.run_id) if runs.second_run else []
        pids = {e["pid"] for e in entries + second}
        run_log = [line for line in control.log().splitlines() if log_pid(line) in pids]
        self._tell_hangup(run_log)
        running = control.running_pid() is not None
        ended = bool(entries) and not running and entries[-1]["step"] in ("signals", "refused") \
            or self._ended_at is not None
        if ended and self._ended_at is None:
            self._ended_at = time.monotonic()
        panel = self.panel
        upto = self._playback_step(entries)
        if upto is not None:
            ended = False  # still being told, even if the run itself is long done
            self._ended_at = None
            panel.show(entries, log_until(run_log, entries, upto)[-3:], second=second, upto=upto,
                       events=self._step_events(entries, upto))
            pids = {e["pid"] for e in entries[:upto + 1]}
        else:
            panel.show(entries, run_log[-3:], second=second, ended=ended)
        self.table.highlighted_pids = set() if ended else pids
        self.table.repaint_changed()   # at each refresh: only the rows whose highlight changed
        if ended and time.monotonic() - self._ended_at > _ENDED_SHOWN_SECONDS:
            self._hide_panel()
            return
        if len(entries) + len(second) != self._seen_steps:
            self._seen_steps = len(entries) + len(second)
            self._follow_pid = entries[-1]["pid"] if entries and runs.started_here and not ended else None
            if not self.app.paused and not self.app.static_source:
                self.post_message(self.RefreshNow())  # show each step's row as soon as it happens

    def after_showing(self, snapshot: Snapshot, partial: bool) -> None:
        if self._follow_pid is not None and self.table.select_pid(self._follow_pid):
            self._follow_pid = None  # the cursor follows the demo once per step, then is the user's

    def _playback_step(self, entries: List[dict]) -> Optional[int]:
        """Which step a played-back run is telling now (None: not played back, or all told). It moves on
        every demo_step_delay seconds, or with [ and ]."""
        if self._playback is None or not entries:
            return None
        delay = self.app.demo_step_delay
        shown, since = self._playback
        if time.monotonic() - since >= delay and shown < len(entries) - 1:
            self._playback = (shown + 1, time.monotonic())
            shown += 1
            self._follow_pid = entries[shown]["pid"]
        if shown >= len(entries) - 1 and entries[-1]["step"] in ("signals", "refused") \
                and time.monotonic() - self._playback[1] > delay:
            self._playback = None  # all told: from now on the panel follows the run itself
            return None
        return min(shown, len(entries) - 1)

    def _step_events(self, entries: List[dict], upto: int) -> List[str]:
        """The kernel's events of the demo's processes between the step before and this one."""
        from psxj.render.eventtext import describe

        after, until = step_window(entries, upto)
        found = []
        for entry in entries:
            life = self.app.event_log.life((entry["pid"], entry.get("start_ticks")))
            for event in life.events if life is not None else ():
                if after < event.time <= until:
                    found.append((event.time, f"{_clock_ms(event.time)} {event.kind} {describe(event)}"))
        return [text for _, text in sorted(set(found))]

    def action_demo_step(self, step: int) -> None:
        """[ and ]: a step of the demo's played-back narration."""
        if self._playback is not None:
            shown, _since = self._playback
            self._playback = (max(shown + step, 0), time.monotonic() + 3600)  # the user steps: no timer
            self.follow()

    def _stop(self) -> None:
        runs = self.runs
        try:
            pid = runs.control.stop(timeout=5)
        except PsxjError as exc:
            self.app.notify(str(exc), severity="error", title=_("Demo not stopped"))
            return
        if runs.run is not None:
            runs.control.end_run(runs.run.run_id)
        self._ended_at = time.monotonic()
        self.app.notify(_("psxj-demo stopped (pid {pid}).").format(pid=pid) if pid else
                        _("psxj-demo was not running."))
        self.follow()

    def action_demo_hangup(self) -> None:
        control = self.runs.control_for()
        log_before = control.log().splitlines()   # read before: the reload may be logged at once
        try:
            pid = control.hangup()  # only to the proven demo, through its pidfd
        except PsxjError as exc:
            self.app.notify(str(exc), severity="error", title=_("SIGHUP not sent"))
            return
        if pid is None:
            self.app.notify(_("psxj-demo is not running (press d to start it)."), severity="warning")
            return
        if self.runs.run is None:   # a demo started elsewhere: this panel does not tell its log
            self.app.notify(_("SIGHUP sent to psxj-demo (pid {pid}); psxj demo log shows what it did.").format(
                pid=pid))
            return
        # The notice waits for the daemon's own line: it says what the log shown says, not what we expect.
        self._hangup = (pid, self._reloads(pid, log_before), time.monotonic() + 3)
        self._playback = None   # the panel tells the run as it is now, and its log's newest lines
        self._show_panel()

    @staticmethod
    def _reloads(pid: int, lines: List[str]) -> int:
        return sum(1 for line in lines if log_pid(line) == pid and "]: SIGHUP" in line)

    def _tell_hangup(self, run_log: List[str]) -> None:
        """After H: once the daemon has logged its reload, say so; if it has not within 3 s, say that."""
        if self._hangup is None:
            return
        pid, before, deadline = self._hangup
        if self._reloads(pid, run_log) > before:
            self._hangup = None
            self.app.notify(_("SIGHUP sent to psxj-demo (pid {pid}): it logged the reload (below).").format(pid=pid))
        elif time.monotonic() > deadline:
            self._hangup = None
            self.app.notify(_("SIGHUP sent to psxj-demo (pid {pid}), but its log shows no reload.").format(pid=pid),
                            severity="warning")

    def action_demo_second_instance(self) -> None:
        runs = self.runs
        control = runs.control_for()
        if control.running_pid() is None or runs.run is None:
            self.app.notify(_("Start the demo first (d); then a second instance has something to be refused by."))
            return
        try:
            run = control.launch(step_delay=0, tied_to=_own_identity())
        except PsxjError as exc:
            self.app.notify(str(exc), severity="error", title=_("Second instance not started"))
            return
        runs.launchers.append(run.launcher)
        runs.second_run = run
        self.app.notify(_("A second psxj-demo is starting: running() will refuse it."))
        self._show_panel()

    # the lab (issue 15): counterexamples, job control and the quiz ---------------------
    def action_demo_menu(self) -> None:
        """L: the demo menu: the normal run (as d), a counterexample, job control, or the quiz."""
        from psxj.tui.demo_menu import DemoMenuScreen

        def chosen(choice: Optional[str]) -> None:
            if choice == "normal":
                self.action_demo()
            elif choice is not None:
                open_lab(self.app, choice, self.runs.rundir)

        self.app.push_screen(DemoMenuScreen(), chosen)


def open_lab(app, choice: str, rundir: Optional[str]) -> None:
    """Open the lab the demo menu offered: `skip:RULE`, `jobs` or `quiz`."""
    from psxj.tui.lab_screen import LabScreen

    if choice.startswith("skip:"):
        from psxj.lab.counterexamples import counterexample

        rule = choice.split(":", 1)[1]
        app.push_screen(LabScreen(lambda: counterexample(rule, rundir=rundir)))
    elif choice == "jobs":
        from psxj.lab.jobs import JobControlLab

        app.push_screen(LabScreen(lambda: JobControlLab(rundir=rundir)))
    elif choice == "quiz":
        from psxj.lab.quiz import DemoQuiz
        from psxj.tui.quiz_screen import QuizScreen

        app.push_screen(QuizScreen(lambda: DemoQuiz(rundir=rundir)))


def _clock_ms(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}"

