"""The Textual application: a live `ps -axj` table with filters, views, details and signals.

The app is thin: snapshots come from sources (a helper process for /proc, or a loaded
file), rows from views.build_rows, text from the table widget. A worker thread waits
for each snapshot; the UI thread applies it and schedules the next with set_timer, so
refreshes never overlap and nothing blocks the screen.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Iterable, List, Optional

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from psxj.errors import PsxjError
from psxj.model import Snapshot
from psxj.render.escape import safe_text
from psxj.select import Selection, parse_filter
from psxj.signals import SignalError, send_signal
from psxj.tui.demo_panel import DemoPanel
from psxj.tui.screens import (
    AuditScreen,
    ConfirmScreen,
    DetailScreen,
    HelpScreen,
    SignalScreen,
    checklist_section,
)
from psxj.tui.table import ProcessTable
from psxj.views import COLUMN_KEYS, COLUMNS, ViewOptions, build_rows

_KEY_LABELS = {"slash": "/", "less_than_sign": "<", "greater_than_sign": ">", "question_mark": "?",
               "enter": "⏎"}


def key_bar(bindings) -> Text:
    text = Text()
    for binding in bindings:
        if binding.show and binding.description:
            text.append(f" {_KEY_LABELS.get(binding.key, binding.key)}", style="bold reverse")
            text.append(f" {binding.description} ")
    text.append(" ^p", style="bold reverse")
    text.append(" palette")
    return text


class PsxjApp(App):
    CSS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "psxj.tcss")  # also for subclasses
    TITLE = "psxj"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("k", "toggle_kernel", "Kernel"),
        Binding("D", "toggle_daemons", "Daemons"),
        Binding("t", "mode('forest')", "Forest"),
        Binding("g", "mode('sessions')", "Sessions"),
        Binding("less_than_sign", "sort(-1)", "Sort ◀", show=False),
        Binding("greater_than_sign", "sort(1)", "Sort"),
        Binding("i", "invert_sort", "Reverse"),
        Binding("p", "pause", "Pause"),
        Binding("r", "refresh_now", "Refresh"),
        Binding("enter", "details", "Details"),
        Binding("x", "signal", "Signal"),
        Binding("a", "audit", "Audit"),
        Binding("d", "demo", "Demo"),
        Binding("H", "demo_hangup", "Demo: HUP", show=False),
        Binding("I", "demo_second_instance", "Demo: 2nd instance", show=False),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, *, selection: Optional[Selection] = None, snapshot: Optional[Snapshot] = None,
                 delay: float = 2.0, reader=None, demo_rundir: Optional[str] = None,
                 demo_step_delay: float = 2.0, keep_demo: bool = False) -> None:
        super().__init__()
        self.demo_rundir = demo_rundir
        self.demo_step_delay = demo_step_delay
        self.keep_demo = keep_demo
        self.demo = None                  # DemoControl once the demo is shown
        self.demo_started_here = False
        self._demo_launchers: list = []   # launchers we must reap
        self.demo_run = None              # the run the panel narrates (DemoControl.launch's Run)
        self.demo_second_run = None       # the second instance I started, to be refused
        self._demo_ended_at: Optional[float] = None
        self._demo_timer = None
        self._demo_seen_steps = 0
        self._demo_follow_pid: Optional[int] = None
        selection = selection or Selection()
        self.options = ViewOptions(selection=selection)
        self.filter_text = selection.describe() if selection else ""
        self.snapshot: Optional[Snapshot] = snapshot
        self.static_source = snapshot is not None  # a loaded file: read-only, never refreshed
        self.delay = delay
        self.paused = False
        self.reader = reader
        self.refresh_count = 0
        self._previous_identities: Optional[set] = None
        self._timer = None
        self.ui_refresh_seconds: List[float] = []  # measured by bench/bench_tui.py

    def notify(self, message: str, *, title: str = "", severity="information", timeout=None,
               markup: bool = False) -> None:
        """Notifications quote process names and file names: never parse them as Rich markup
        (a process called `[/]` would crash the interface), and escape them like COMMAND."""
        super().notify(safe_text(message), title=safe_text(title), severity=severity, timeout=timeout,
                       markup=markup)

    # layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield ProcessTable(id="table")
        with Vertical(id="bottom"):
            yield DemoPanel(id="demo")
            yield Static(id="filter-error")
            yield Input(placeholder="/ to filter: -s SID -u USER -p PID ... or text in the command; "
                                    "Enter applies, Esc clears", id="filter")
            # A fixed line of keys, not Textual's Footer: the Footer rebuilds all its widgets at every
            # focus change (table <-> filter line), which costs ~150 ms with a large table on screen.
            yield Static(key_bar(self.BINDINGS), id="keys")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).value = self.filter_text
        self.query_one("#filter-error", Static).display = False
        self.query_one("#demo", DemoPanel).display = False
        self.table.focus()
        if self.static_source:
            self.apply_snapshot(self.snapshot)
        else:
            if self.reader is None:
                from psxj.sources.reader import SnapshotReader

                self.reader = SnapshotReader()
            self.collect()
        if not self.is_headless:
            self.set_interval(1.0, self._watch_terminal)

    def _watch_terminal(self) -> None:
        """The terminal can go away without a SIGHUP reaching psxj (started under setsid or su -c),
        and Textual would then spin on a dead input. A zero-byte write to a hung-up terminal fails
        (EIO): quit then, as a hangup would, which also stops a demo started here."""
        if not terminal_alive():
            self.exit(return_code=129)

    def on_unmount(self) -> None:
        if self.reader is not None:
            self.reader.close()
        self.end_own_demo()

    def end_own_demo(self) -> None:
        """A demo psxj started ends with psxj, unless the user asked to keep it. Safe to call twice."""
        if self.demo is not None and self.demo_started_here and not self.keep_demo:
            try:
                self.demo.stop(timeout=5)
            except PsxjError:
                pass  # the lock's holder is not provably our demo: it is not ours to stop
            for run in (self.demo_run, self.demo_second_run):
                if run is not None:
                    self.demo.end_run(run.run_id)
            self.demo_started_here = False
        for launcher in self._demo_launchers:
            launcher.wait()
        self._demo_launchers = []

    @property
    def table(self) -> ProcessTable:
        return self.query_one(ProcessTable)

    # refresh ----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="collect")
    def collect(self) -> None:
        snapshot = self.reader.read()
        if self.is_running:
            self.call_from_thread(self.apply_snapshot, snapshot)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        if not self.is_running or not self.query(ProcessTable):
            return  # a refresh that finished while psxj was quitting
        started = time.perf_counter()
        identities = {r.identity for r in snapshot.records}
        new = identities - self._previous_identities if self._previous_identities is not None else set()
        self._previous_identities = identities
        self.snapshot = snapshot
        self.refresh_count += 1
        self.rebuild(new)
        if self._demo_follow_pid is not None and self.table.select_pid(self._demo_follow_pid):
            self._demo_follow_pid = None  # the cursor follows the demo once per step, then is the user's
        self.ui_refresh_seconds.append(time.perf_counter() - started)
        if not self.static_source and not self.paused:
            self._timer = self.set_timer(self.delay, self.collect)

    def rebuild(self, new_identities: Iterable = frozenset()) -> None:
        if self.snapshot is None:
            return
        table = self.table
        table.sort_key, table.descending = self.options.sort_key, self.options.descending
        table.set_rows(self.snapshot, build_rows(self.snapshot, self.options), new_identities)
        self.update_status()

    def update_status(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        shown = sum(1 for row in self.table.rows if row.record is not None and row.kind == "process")
        if self.static_source:
            taken = time.strftime("%Y-%m-%d %H:%M", time.localtime(snap.taken_at)) if snap.taken_at else "?"
            source = f"{snap.source} (taken {taken}, read-only)"
        else:
            source = "live" + (", paused" if self.paused else f", every {self.delay:g}s")
        o = self.options
        toggles = [o.mode] if o.mode != "table" else []
        if not o.show_kernel_threads:
            toggles.append("no kernel threads")
        if o.daemons_only:
            toggles.append("daemons only")
        sort = f"sort {COLUMNS[COLUMN_KEYS.index(o.sort_key)].header}{'▼' if o.descending else '▲'}"
        parts = [f"psxj  {source}", f"{shown}/{len(snap)} processes", sort, *toggles,
                 f"filter: {self.filter_text}" if self.filter_text else "no filter"]
        # One line, always: repaint it without asking the whole screen for a new layout. A loaded file's
        # name and the filter are the user's words, escaped all the same.
        line = safe_text("  │  ".join(parts))
        self.query_one("#status", Static).update(Text(line, no_wrap=True), layout=False)

    # actions ----------------------------------------------------------------
    def _set_options(self, **changes) -> None:
        self.options = self.options._replace(**changes)
        self.rebuild()

    def action_toggle_kernel(self) -> None:
        self._set_options(show_kernel_threads=not self.options.show_kernel_threads)

    def action_toggle_daemons(self) -> None:
        self._set_options(daemons_only=not self.options.daemons_only)

    def action_mode(self, mode: str) -> None:
        self._set_options(mode="table" if self.options.mode == mode else mode)

    def action_sort(self, step: int) -> None:
        index = (COLUMN_KEYS.index(self.options.sort_key) + step) % len(COLUMN_KEYS)
        self._set_options(sort_key=COLUMN_KEYS[index])

    def action_invert_sort(self) -> None:
        self._set_options(descending=not self.options.descending)

    @on(ProcessTable.HeaderClicked)
    def sort_by_header(self, event: ProcessTable.HeaderClicked) -> None:
        if event.column_key == self.options.sort_key:
            self._set_options(descending=not self.options.descending)
        else:
            self._set_options(sort_key=event.column_key, descending=False)

    def action_pause(self) -> None:
        if self.static_source:
            self.notify("A loaded file does not refresh.")
            return
        self.paused = not self.paused
        if self.paused and self._timer is not None:
            self._timer.stop()
        elif not self.paused:
            self.collect()
        self.update_status()

    def action_refresh_now(self) -> None:
        if self.static_source:
            self.notify("A loaded file does not refresh.")
            return
        if self._timer is not None:
            self._timer.stop()
        self.collect()

    # filter -------------------------------------------------------------------
    def action_filter(self) -> None:
        # The filter line is always on screen, showing the filter in force; / moves into it.
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        error = self.query_one("#filter-error", Static)
        try:
            selection = parse_filter(event.value)
        except PsxjError as exc:
            # A bad filter is reported where it was typed; the last good one stays in force.
            error.update(Text(f"filter not applied: {exc}"))
            error.display = True
            return
        error.display = False
        self.filter_text = event.value.strip()
        self._set_options(selection=selection)
        # The new rows first; the focus moves back to the table after that paint (a focus change
        # makes Textual repaint the whole screen, which would hold the new rows back).
        self.call_after_refresh(self.table.focus)

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one("#filter-error", Static).display = False
        self.filter_text = ""
        self.table.focus()
        self._set_options(selection=Selection())

    def on_key(self, event) -> None:
        if event.key == "escape" and self.focused is self.query_one("#filter", Input):
            event.stop()
            self.action_clear_filter()

    # details, help, signals -----------------------------------------------------
    def detail_sections(self, record) -> list:
        snapshot = self.snapshot
        return [lambda: checklist_section(snapshot, record)]

    def action_audit(self) -> None:
        if self.snapshot is None or not self.snapshot.live:
            self.notify("The audit reads /proc: it needs live processes, not a loaded file.", severity="warning")
            return
        daemons = [row.record for row in self.table.rows
                   if row.kind == "process" and self.snapshot.daemon_like(row.record)]
        if not daemons:
            self.notify("No daemon on screen (press D to show only daemons, or clear the filter).")
            return
        self.notify(f"Auditing {len(daemons)} daemon(s)...")
        self._run_audit(self.snapshot, daemons)

    @work(thread=True, exclusive=True, group="audit")
    def _run_audit(self, snapshot: Snapshot, records) -> None:
        from psxj.judge.audit import SystemFacts, audit_process

        system = SystemFacts(snapshot)
        reports = [audit_process(snapshot, record, system) for record in records]
        self.call_from_thread(self.push_screen, AuditScreen(reports))

    def action_details(self) -> None:
        record = self.table.current
        if record is None or self.snapshot is None:
            return
        self.push_screen(DetailScreen(self.snapshot, record, self.detail_sections(record)))

    @on(ProcessTable.RowActivated)
    def open_details(self, event: ProcessTable.RowActivated) -> None:
        self.action_details()

    def action_help(self) -> None:
        keys = [(b.key, b.description) for b in self.BINDINGS if b.description]
        self.push_screen(HelpScreen(self.table.current, keys))

    def action_signal(self) -> None:
        record = self.table.current
        if record is None:
            return
        if self.static_source:
            self.notify("Signals go to live processes only; this table was loaded from a file.",
                        severity="warning")
            return
        if self.table.current_is_gone:
            self.notify(f"PID {record.pid} has exited.", severity="warning")
            return

        def chosen(name: Optional[str]) -> None:
            if name is None:
                return
            question = f"Send SIG{name} to PID {record.pid} ({record.comm}): {record.command[:60]}?"

            def confirmed(yes: bool) -> None:
                if not yes:
                    self.notify("Nothing sent.")
                    return
                try:
                    send_signal(record, name)
                except SignalError as exc:
                    self.notify(str(exc), severity="error", title="Signal not sent")
                else:
                    self.notify(f"SIG{name} sent to PID {record.pid} ({record.comm}).")
                    self.action_refresh_now()

            self.push_screen(ConfirmScreen(question), confirmed)

        self.push_screen(SignalScreen(record), chosen)

    # the demo ---------------------------------------------------------------------
    def _demo_control(self):
        if self.demo is None:
            from psxj.demo.control import DemoControl

            self.demo = DemoControl(self.demo_rundir)
        return self.demo

    def _own_identity(self):
        """(PID, start ticks) of this interface: a demo started here exits when it is gone."""
        from psxj.identity import start_ticks

        ticks = start_ticks(os.getpid())
        return (os.getpid(), ticks) if ticks is not None else None

    def action_demo(self) -> None:
        if self.static_source:
            self.notify("The demo runs live processes; this table was loaded from a file.", severity="warning")
            return
        control = self._demo_control()
        try:
            demo = control.running_demo()  # raises when a process psxj cannot prove holds the lock
            holder = demo.pid if demo else None
            if holder is not None:
                def confirmed(yes: bool) -> None:
                    if yes:
                        self._stop_demo()
                self.push_screen(ConfirmScreen(f"Stop psxj-demo (pid {holder})?"), confirmed)
                self._show_demo_panel()
                return
            run = control.launch(step_delay=self.demo_step_delay, tied_to=self._own_identity())
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title="Demo not started")
            return
        self._demo_launchers.append(run.launcher)
        self.demo_run, self.demo_second_run = run, None
        self.demo_started_here = True
        self._demo_seen_steps = 0
        self._demo_ended_at = None
        self._show_demo_panel()
        self.notify(f"Demo started: one step every {self.demo_step_delay:g}s. Watch the highlighted rows.")

    def _show_demo_panel(self) -> None:
        self.query_one("#demo", DemoPanel).display = True
        if self._demo_timer is None:
            self._demo_timer = self.set_interval(0.5, self.follow_demo)
        self.follow_demo()

    def _hide_demo_panel(self) -> None:
        self.query_one("#demo", DemoPanel).display = False
        if self._demo_timer is not None:
            self._demo_timer.stop()
            self._demo_timer = None
        self.table.highlighted_pids = set()
        self.table.refresh()

    def follow_demo(self) -> None:
        """Read this run's recorded steps and log; highlight its processes; refresh on each new step.
        Once the demo has ended, say so for a few seconds, then take the panel away."""
        control, run = self.demo, self.demo_run
        if control is None or run is None:
            return
        self._demo_launchers = [p for p in self._demo_launchers if p.poll() is None]  # reap exited launchers
        entries = control.steps(run.run_id)
        second = control.steps(self.demo_second_run.run_id) if self.demo_second_run else []
        pids = {e["pid"] for e in entries + second}
        log_tail = [line for line in control.log().splitlines() if _log_pid(line) in pids][-3:]
        running = control.running_pid() is not None
        ended = bool(entries) and not running and entries[-1]["step"] in ("signals", "refused") \
            or self._demo_ended_at is not None
        if ended and self._demo_ended_at is None:
            self._demo_ended_at = time.monotonic()
        panel = self.query_one("#demo", DemoPanel)
        panel.show(entries, log_tail, second=second, ended=ended)
        self.table.highlighted_pids = set() if ended else pids
        self.table.refresh()
        if ended and time.monotonic() - self._demo_ended_at > 6:
            self._hide_demo_panel()
            return
        if len(entries) + len(second) != self._demo_seen_steps:
            self._demo_seen_steps = len(entries) + len(second)
            self._demo_follow_pid = entries[-1]["pid"] if entries and self.demo_started_here and not ended else None
            if not self.paused and not self.static_source:
                self.action_refresh_now()  # show each step's row as soon as it happens

    def _stop_demo(self) -> None:
        try:
            pid = self.demo.stop(timeout=5)
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title="Demo not stopped")
            return
        if self.demo_run is not None:
            self.demo.end_run(self.demo_run.run_id)
        self._demo_ended_at = time.monotonic()
        self.notify(f"psxj-demo stopped (pid {pid})." if pid else "psxj-demo was not running.")
        self.follow_demo()

    def action_demo_hangup(self) -> None:
        control = self._demo_control()
        try:
            pid = control.hangup()  # only to the proven demo, through its pidfd
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title="SIGHUP not sent")
            return
        if pid is None:
            self.notify("psxj-demo is not running (press d to start it).", severity="warning")
            return
        self.notify(f"SIGHUP sent to psxj-demo (pid {pid}): the log shows the reload.")
        self._show_demo_panel()

    def action_demo_second_instance(self) -> None:
        control = self._demo_control()
        if control.running_pid() is None or self.demo_run is None:
            self.notify("Start the demo first (d); then a second instance has something to be refused by.")
            return
        try:
            run = control.launch(step_delay=0, tied_to=self._own_identity())
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title="Second instance not started")
            return
        self._demo_launchers.append(run.launcher)
        self.demo_second_run = run
        self.notify("A second psxj-demo is starting: running() will refuse it.")
        self._show_demo_panel()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if binding.description:
                action = binding.action
                yield SystemCommand(f"{binding.description} ({binding.key})", f"Key: {binding.key}",
                                    lambda action=action: self.run_action(action))


def terminal_alive() -> bool:
    for fd in (2, 1, 0):  # Textual draws on stderr; check what is a terminal
        try:
            if os.isatty(fd):
                os.write(fd, b"")
                return True
        except OSError:
            return False
    return False


def _log_pid(line: str) -> Optional[int]:
    """The PID in a demo log line: `... psxj-demo[1234]: ...`."""
    start = line.find("psxj-demo[")
    end = line.find("]", start)
    digits = line[start + 10:end] if start >= 0 and end > start else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 12 else None


def run_app(selection: Optional[Selection] = None, load: Optional[str] = None, delay: float = 2.0,
            keep_demo: bool = False, **app_options) -> int:
    """Run the interface on this terminal; the exit status: 0 quit, 128+N after signal N (129 when
    the terminal went away), non-zero after a crash. app_options go to PsxjApp (tests use them)."""
    snapshot = None
    if load:
        from psxj.sources.loaded import load_snapshot

        snapshot = load_snapshot(load)
    app = PsxjApp(selection=selection, snapshot=snapshot, delay=delay, keep_demo=keep_demo, **app_options)

    received = []

    def hang_up(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt  # the terminal went away, or we were told to stop: quit as with q

    previous = {sig: signal.signal(sig, hang_up) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        app.run()
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.end_own_demo()
    if received:
        return 128 + received[0]
    # A crash (an exception Textual caught and printed) sets a non-zero return code: never exit 0 then.
    return app.return_code or 0
