"""The Textual application: a live `ps -axj` table with filters, search, views, details and signals.

The app is thin: snapshots come from sources (a helper process for /proc, or a loaded
file), rows from views.build_rows, text from the table widget, keys from the main screen
(psxj.tui.main_screen), which owns the table's bindings. A worker thread waits for each
snapshot; the UI thread applies it and schedules the next with set_timer, so refreshes never
overlap and nothing blocks the screen.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from operator import itemgetter
from typing import Dict, Iterable, List, Optional, Tuple

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from psxj.errors import PsxjError
from psxj.i18n import N_, _
from psxj.model import Snapshot
from psxj.render.escape import safe_text
from psxj.select import Selection, parse_filter
from psxj.tui.demo_panel import DemoPanel
from psxj.tui.events_pane import SCOPE_WORDS, SCOPES, EventsPane, event_pids
from psxj.tui.keys import keys_of
from psxj.tui.main_screen import MainScreen
from psxj.tui.table import ProcessTable
from psxj.tui.wrapping import toast_text, wrapped
from psxj.views import (
    COLUMN_BY_KEY,
    COLUMN_KEYS,
    GROUP_HEADER,
    PROCESS,
    SESSION_HEADER,
    ViewOptions,
    build_rows,
    cpu_percent,
    header_members,
)

# Actions that only make sense on live processes: hidden, and refused, on a loaded table.
LIVE_ONLY = frozenset({"signal", "demo", "pause", "refresh_now", "demo_hangup", "demo_second_instance", "audit",
                       "events", "events_scope", "demo_step", "demo_menu"})
# Actions on this machine's processes: refused on other machines' tables (--host), and in a browser
# unless allowed (psxj serve): see refused_actions.
LOCAL_ONLY = frozenset({"signal", "demo", "demo_hangup", "demo_second_instance", "demo_step", "demo_menu", "audit",
                        "events", "events_scope"})
SIGNAL_ACTIONS = frozenset({"signal"})
DEMO_ACTIONS = frozenset({"demo", "demo_hangup", "demo_second_instance", "demo_step", "demo_menu"})
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PID_JUMP_SECONDS = 1.0
MODE_WORDS = {"table": N_("table"), "forest": N_("forest"), "sessions": N_("sessions")}   # the status line's


class PsxjApp(App):
    CSS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "psxj.tcss")  # also for subclasses
    TITLE = "psxj"
    BINDINGS = [
        Binding("q,f10", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("f1", "help", "Help", show=False),
    ]

    def __init__(self, *, selection: Optional[Selection] = None, snapshot: Optional[Snapshot] = None,
                 delay: float = 2.0, reader=None, demo_rundir: Optional[str] = None,
                 demo_step_delay: float = 2.0, keep_demo: bool = False, remember: bool = False,
                 first_snapshot: Optional[Snapshot] = None, events: bool = False,
                 refused_actions: Iterable[str] = (), status_banner: str = "", recording=None) -> None:
        super().__init__()
        # psxj --host, psxj serve: actions hidden and refused whatever the table (LOCAL_ONLY...).
        self.refused_actions = frozenset(refused_actions)
        self.status_banner = status_banner   # said first on the status line (psxj serve: where it listens)
        self.demo_rundir = demo_rundir
        self.demo_step_delay = demo_step_delay
        self.keep_demo = keep_demo
        self._watchdog: Optional[threading.Thread] = None   # see leave()
        self.demo = None                  # DemoControl once the demo is shown
        self.demo_started_here = False
        self._demo_launchers: list = []   # launchers we must reap
        self.demo_run = None              # the run the panel narrates (DemoControl.launch's Run)
        self.demo_second_run = None       # the second instance I started, to be refused
        self._demo_ended_at: Optional[float] = None
        self._demo_playback: Optional[Tuple[int, float]] = None   # (step being told, since when): a replayed run
        self._demo_timer = None
        self._demo_seen_steps = 0
        self._demo_follow_pid: Optional[int] = None
        selection = selection or Selection()
        self.remember = remember          # keep the theme and columns in the user's config (psxj.tui.config)
        saved = self._load_choices() if remember else {}
        self.options = ViewOptions(selection=selection, columns=saved.get("columns", ()))
        self.filter_text = selection.describe() if selection else ""
        self.command_line_selection = bool(selection)   # for the exit status: nothing matched it
        self.ever_matched = False
        self.snapshot: Optional[Snapshot] = snapshot
        self.static_source = snapshot is not None  # a loaded file: read-only, never refreshed
        from psxj.tui.time_travel import TimeTravel

        self.time_travel = TimeTravel(recording) if recording is not None else None   # a recording's tables
        self.delay = delay
        self.paused = False
        self.reader = reader
        self.refresh_count = 0
        self._previous: Optional[Snapshot] = None
        self._previous_identities: Optional[set] = None
        self._timer = None
        self._pid_typed = ""
        self._pid_typed_at = 0.0
        self.search_text = ""
        self.first_snapshot = first_snapshot   # the first frame's rows (first_frame.paint), shown until all are read
        from psxj.judge.story import EventLog

        self.use_events = events           # listen to fork/exec/setsid/exit (psxj.sources.events) while live
        self.event_log = EventLog()        # every event since start: birth stories, observed adoptions
        self.event_feed = None             # EventFeed, once opened (it may take a second: a worker opens it)
        self._sessions_before: Dict = {}   # identity -> SID at the last refresh, to tell session changes
        self.ui_refresh_seconds: List[float] = []  # measured by bench/bench_tui.py
        if saved.get("theme") in self.available_themes:
            self.theme = saved["theme"]
        self._theme_ready = True

    def get_default_screen(self) -> Screen:
        return MainScreen(id="main")

    @property
    def main(self) -> MainScreen:
        """The table's screen, at the bottom of the stack whatever is shown on top of it."""
        return self.screen_stack[0]

    @property
    def table(self) -> ProcessTable:
        return self.main.query_one(ProcessTable)

    def widget(self, selector: str, kind=Static):
        """A widget of the main screen, found even while another screen is on top."""
        return self.main.query_one(selector, kind)

    def notify(self, message: str, *, title: str = "", severity="information", timeout=None,
               markup: bool = False) -> None:
        """Notifications quote process names and file names: never parse them as Rich markup
        (a process called `[/]` would crash the interface), and escape them like COMMAND."""
        super().notify(toast_text(safe_text(message), self.size.width), title=safe_text(title), severity=severity,
                       timeout=timeout, markup=markup)   # i18n: toast_text wraps Chinese by cells

    # choices kept between runs ------------------------------------------------
    @staticmethod
    def _load_choices() -> dict:
        from psxj.tui import config

        saved = config.load()
        columns = saved.get("columns")
        if not (isinstance(columns, list) and all(c in COLUMN_BY_KEY and COLUMN_BY_KEY[c].optional for c in columns)):
            saved.pop("columns", None)
        else:
            saved["columns"] = tuple(columns)
        return saved

    def _save_choices(self, **choices) -> None:
        if not self.remember:
            return
        from psxj.tui import config

        problem = config.save(choices)
        if problem:
            self.notify(_("Not remembered: {problem}").format(problem=problem), severity="warning")

    def watch_theme(self, theme: str) -> None:
        if getattr(self, "_theme_ready", False) and self.is_running:
            self._save_choices(theme=theme)

    # start and stop -------------------------------------------------------------
    def main_ready(self) -> None:
        """The main screen has its widgets (MainScreen.on_mount calls this): fill and start."""
        self.widget("#filter", Input).value = self.filter_text
        self.main.update_keys()
        if self.static_source:
            self.apply_snapshot(self.snapshot)
        else:
            if self.reader is None:
                from psxj.sources.reader import SnapshotReader

                self.reader = SnapshotReader()
            if self.first_snapshot is not None:
                self.apply_snapshot(self.first_snapshot, partial=True)
            self.collect()
            if self.use_events:
                self._open_events()
                self.set_interval(0.5, self.take_events)
        if not self.is_headless:
            self.set_interval(1.0, self._watch_terminal)

    def _watch_terminal(self) -> None:
        """The terminal can go away without a SIGHUP reaching psxj (started under setsid or su -c),
        and Textual would then spin on a dead input. A zero-byte write to a hung-up terminal fails
        (EIO): quit then, as a hangup would, which also stops a demo started here."""
        if not terminal_alive():
            self.leave(129)

    def leave(self, status: int) -> None:
        """Quit with this status because the terminal went away or a signal said so. Textual's
        exit stops its threads and runs on_unmount (the reader, the events, the demo); but its
        driver, writing to a terminal that is gone, can block that exit for ever, so a watchdog
        ends the demo and the process a few seconds later if it is still here."""
        self.exit(return_code=status)
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._end_anyway, args=(status,), name="psxj-exit",
                                              daemon=True)
            self._watchdog.start()

    def _end_anyway(self, status: int) -> None:
        time.sleep(_EXIT_GRACE_SECONDS)
        try:
            self.end_own_demo()
        finally:
            os._exit(status)

    def on_unmount(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self.event_feed is not None:
            self.event_feed.close()
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

    def key_is_offered(self, action: str) -> bool:
        """Is the key bar to offer this action now? (Also: is it enabled, see check_action.)"""
        name = action.split(".", 1)[-1].split("(", 1)[0]
        if name in ("go_to_time", "demo_step") and self.time_travel is not None:
            return True
        if name == "go_to_time":
            return False
        if self.static_source and name in LIVE_ONLY or name in self.refused_actions:
            return False
        if name == "hosts" and not getattr(self.snapshot, "host_states", ()):
            return False
        if name == "clear_filter" and not self.options.selection:
            return False
        return True

    def check_action(self, action: str, parameters) -> Optional[bool]:
        if action in ("go_to_time", "demo_step") and self.time_travel is not None:
            return True
        if self.static_source and action in LIVE_ONLY:
            return False  # a loaded table: these keys could only say no, so they are not offered
        if action in self.refused_actions:
            return False  # another machine's table, or a browser not allowed to: never acted on
        return True

    # refresh ----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="collect")
    def collect(self) -> None:
        snapshot = self.reader.read()
        if self.is_running:
            self.call_from_thread(self.apply_snapshot, snapshot)

    def apply_snapshot(self, snapshot: Snapshot, partial: bool = False) -> None:
        """Show a snapshot. A partial one (the first frame's first rows) is shown as it is: it neither
        marks rows as new nor counts as the measure for %CPU, and schedules no refresh."""
        if not self.is_running or not self.screen_stack:
            return  # a refresh that finished while psxj was quitting
        started = time.perf_counter()
        new: set = set()
        if not partial and snapshot.arrived is not None and snapshot.before is self._previous:
            new = snapshot.arrived  # a live refresh says what arrived: no need to compare 50,000 identities
            self._previous_identities = None
            self.first_snapshot = None
        elif not partial:
            identities = {r.identity for r in snapshot.records}
            new = identities - self._previous_identities if self._previous_identities is not None else set()
            self._previous_identities = identities
            self.first_snapshot = None
        if snapshot.live and not partial:
            snapshot.cpu_percent = cpu_percent(self._previous, snapshot, _TICKS)
            snapshot.observations = self._observations()
            self._note_session_changes(snapshot)
            self._previous = snapshot
        self.snapshot = snapshot
        self.refresh_count += 1
        self.rebuild(new)
        if self._demo_follow_pid is not None and self.table.select_pid(self._demo_follow_pid):
            self._demo_follow_pid = None  # the cursor follows the demo once per step, then is the user's
        self.ui_refresh_seconds.append(time.perf_counter() - started)
        if not self.static_source and not self.paused and not partial:
            self._timer = self.set_timer(self.delay, self.collect)

    def rebuild(self, new_identities: Iterable = frozenset()) -> None:
        if self.snapshot is None:
            return
        table = self.table
        table.sort_key, table.descending = self.options.sort_key, self.options.descending
        if table.optional_columns != self.options.columns:
            table.set_columns(self.options.columns)
        rows = build_rows(self.snapshot, self.options)
        if any(row.kind == PROCESS for row in rows):
            self.ever_matched = True
        table.empty_message = self._empty_message()
        table.set_rows(self.snapshot, rows, new_identities)
        self.update_status()

    def _empty_message(self) -> str:
        o = self.options
        if o.selection:
            return _("No process matches the filter {filter}.\n"
                     "Backspace clears the filter; / changes it.").format(filter=self.filter_text)
        hidden = [what for what, on in ((_("kernel threads hidden (k)"), not o.show_kernel_threads),
                                        (_("daemons only (D)"), o.daemons_only)) if on]
        return _("No process to show: {hidden}.").format(hidden=", ".join(hidden)) if hidden else \
            _("No process to show.")

    def update_status(self) -> None:
        snap = self.snapshot
        if snap is None or not self.screen_stack:
            return
        table = self.table
        shown = list(map(itemgetter(0), table.rows)).count(PROCESS)  # row.kind, counted in C
        width = max(self.main.size.width - 2, 20)
        if self.time_travel is not None:
            source = (_("{path} {where}, read-only").format(path=self.time_travel.recording.path,
                                                            where=self.time_travel.describe()),
                      self.time_travel.short())
        elif self.static_source:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(snap.taken_at)) if snap.time_source else None
            taken = _("taken {when}, from {source}").format(when=when, source=_(snap.time_source)) if when \
                else _("time unknown")
            source = (_("{source} ({taken}, read-only)").format(source=snap.source, taken=taken),
                      _("{name} (read-only)").format(name=os.path.basename(snap.source)))
        else:
            state = _(", paused") if self.paused else _(", every {delay:g}s").format(delay=self.delay)
            source = (_("live") + state, _("live") + (_(", paused") if self.paused else ""))
        o = self.options
        count = (_("{shown}/{total} processes").format(shown=shown, total=len(snap)), f"{shown}/{len(snap)}")
        if self.first_snapshot is snap:
            count = (_("reading /proc: {count} processes…").format(count=getattr(snap, 'partial_of', len(snap))),
                     _("reading /proc…"))
        # (priority, long form, short form): on a narrow terminal the short forms come first, then the
        # least needed parts go; priority 0 stays.
        parts = [(0, "psxj  " + source[0], source[1]), (0, count[0], count[1])]
        from psxj.tui.hosts_screen import fleet_status

        fleet = fleet_status(snap)
        if fleet is not None:
            parts.insert(1, (0, *fleet))
        if self.status_banner:
            parts.insert(0, (0, self.status_banner, self.status_banner))
        sort = COLUMN_BY_KEY[o.sort_key].header + ("▼" if o.descending else "▲")
        parts.append((3, _("sort {column}").format(column=sort), sort))
        if o.mode != "table":
            parts.append((1, _(MODE_WORDS.get(o.mode, o.mode)), _(MODE_WORDS.get(o.mode, o.mode))))
        if not o.show_kernel_threads:
            parts.append((2, _("no kernel threads"), _("no kthreads")))
        if o.daemons_only:
            parts.append((1, _("daemons only"), _("daemons")))
        if table.tagged:
            tagged = _("{count} tagged").format(count=len(table.tagged))
            parts.append((1, tagged, tagged))
        if table.hidden_columns:
            parts.append((4, _("{columns} hidden (o)").format(columns=" ".join(table.hidden_columns)),
                          _("cols hidden")))
        if self._pid_typed:
            parts.append((0, f"PID {self._pid_typed}…", f"PID {self._pid_typed}…"))
        if self.event_feed is not None:
            live = self.event_feed.mode == "events"
            parts.append((3, _("events on") if live else _("events polled"), _("ev") if live else _("ev~")))
        filtered = _("filter: {filter}").format(filter=self.filter_text)
        parts.append((0, filtered, filtered) if self.filter_text else (5, _("no filter"), ""))
        texts = [part[1] for part in parts]
        separator = "  │  " if width >= 100 else " │ "

        def line_length() -> int:
            return cell_len(separator.join(t for t in texts if t))  # cells: a Chinese character takes two

        for index in sorted(range(len(parts)), key=lambda i: -parts[i][0]):  # shorten, least needed first
            if line_length() <= width:
                break
            texts[index] = parts[index][2]
        for index in sorted(range(len(parts)), key=lambda i: -parts[i][0]):  # then drop
            if line_length() <= width or parts[index][0] == 0:
                break
            texts[index] = ""
        line = safe_text(separator.join(text for text in texts if text))
        # Repaint it without asking the whole screen for a new layout. A loaded file's name and the
        # filter are the user's words, escaped all the same.
        self.widget("#status").update(Text(line, no_wrap=True, overflow="ellipsis"), layout=False)
        self.main.update_keys()

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
        keys = [key for key in COLUMN_KEYS if not COLUMN_BY_KEY[key].optional or key in self.options.columns]
        index = (keys.index(self.options.sort_key) + step) % len(keys) if self.options.sort_key in keys else 0
        self._set_options(sort_key=keys[index])

    def action_invert_sort(self) -> None:
        self._set_options(descending=not self.options.descending)

    @on(ProcessTable.HeaderClicked)
    def sort_by_header(self, event: ProcessTable.HeaderClicked) -> None:
        if event.column_key == self.options.sort_key:
            self._set_options(descending=not self.options.descending)
        else:
            self._set_options(sort_key=event.column_key, descending=False)

    def action_columns(self) -> None:
        from psxj.tui.screens import ColumnsScreen

        def chosen(columns: Optional[Tuple[str, ...]]) -> None:
            if columns is None:
                return
            if self.options.sort_key not in COLUMN_KEYS or (COLUMN_BY_KEY[self.options.sort_key].optional
                                                            and self.options.sort_key not in columns):
                self.options = self.options._replace(sort_key="pid")
            self._set_options(columns=columns)
            self._save_choices(columns=list(columns))

        self.push_screen(ColumnsScreen(self.options.columns), chosen)

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused and self._timer is not None:
            self._timer.stop()
        elif not self.paused:
            self.collect()
        self.update_status()

    def action_refresh_now(self) -> None:
        if self.static_source:
            return
        if self._timer is not None:
            self._timer.stop()
        self.collect()

    def action_close(self) -> None:
        """Esc: close what is open (the search line, a half-typed PID), never drop the filter."""
        if self.widget("#search", Input).display:
            self._close_search()
        elif self._pid_typed:
            self._pid_typed = ""
            self.update_status()
        elif self.options.selection:
            self.notify(_("Esc closes what is open; the filter stays. Backspace clears it."))

    # filter -------------------------------------------------------------------
    def action_filter(self) -> None:
        # The filter line is always on screen, showing the filter in force; / moves into it.
        self.widget("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def apply_filter(self, event: Input.Submitted) -> None:
        error = self.widget("#filter-error")
        try:
            selection = parse_filter(event.value)
        except PsxjError as exc:
            # A bad filter is reported where it was typed; the last good one stays in force.
            error.update(Text(safe_text(_("filter not applied: {error}").format(error=exc))))
            error.display = True
            return
        error.display = False
        self.filter_text = event.value.strip()
        self.command_line_selection = False
        self._set_options(selection=selection)
        # The new rows first; the focus moves back to the table after that paint (a focus change
        # makes Textual repaint the whole screen, which would hold the new rows back).
        self.call_after_refresh(self.table.focus)

    def action_clear_filter(self) -> None:
        was = self.filter_text
        self.widget("#filter", Input).value = ""
        self.widget("#filter-error").display = False
        self.filter_text = ""
        self.command_line_selection = False
        self.table.focus()
        self._set_options(selection=Selection())
        if was:
            self.notify(_("Filter cleared (it was: {filter}).").format(filter=was))

    def on_key(self, event) -> None:
        """Esc in the filter line closes it: the filter in force stays, and the line shows it again."""
        filter_line = self.widget("#filter", Input)
        if event.key == "escape" and self.focused is filter_line:
            event.stop()
            if filter_line.value.strip() != self.filter_text:
                self.notify(_("Not applied; the filter in force is still: {filter} "
                              "(Enter in the filter line applies, Backspace on the table clears).").format(
                    filter=self.filter_text or _("none")))
            filter_line.value = self.filter_text
            self.widget("#filter-error").display = False
            self.table.focus()
        elif event.key == "escape" and self.focused is self.widget("#search", Input):
            event.stop()
            self._close_search()

    # search and PID jump ----------------------------------------------------------
    def action_search(self) -> None:
        line = self.widget("#search", Input)
        if line.display and self.search_text:
            self.action_search_next(1)
            return
        line.display = True
        line.focus()

    def _matcher(self, text: str):
        needle = text.lower()
        return lambda record: needle in record.command.lower() or needle == str(record.pid)

    @on(Input.Changed, "#search")
    def search_typed(self, event: Input.Changed) -> None:
        self.search_text = event.value
        table = self.table
        table.match = self._matcher(event.value) if event.value else None
        if event.value:
            index = table.find(table.match, include_current=True)
            if index is not None:
                table.move_to(index)
        table.refresh()

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        self.action_search_next(1)

    def action_search_next(self, step: int = 1) -> None:
        table = self.table
        if not self.search_text:
            self.action_search()
            return
        index = table.find(self._matcher(self.search_text), step=step)
        if index is None:
            self.notify(_("No process matches {text!r}.").format(text=self.search_text))
        else:
            table.move_to(index)

    def _close_search(self) -> None:
        line = self.widget("#search", Input)
        line.display = False
        line.value = ""
        self.search_text = ""
        self.table.match = None
        self.table.focus()
        self.table.refresh()

    def jump_to_pid_digit(self, digit: str) -> None:
        """Typed digits jump to the process with that PID (or the first whose PID starts so)."""
        now = time.monotonic()
        self._pid_typed = (self._pid_typed if now - self._pid_typed_at < _PID_JUMP_SECONDS else "") + digit
        self._pid_typed_at = now
        typed = self._pid_typed
        table = self.table
        if not table.select_pid(int(typed)):
            index = table.find(lambda r: str(r.pid).startswith(typed), include_current=True)
            if index is not None:
                table.move_to(index)
        self.update_status()
        self.set_timer(_PID_JUMP_SECONDS + 0.05, self._forget_pid_typed)

    def _forget_pid_typed(self) -> None:
        if self._pid_typed and time.monotonic() - self._pid_typed_at >= _PID_JUMP_SECONDS:
            self._pid_typed = ""
            self.update_status()

    # tags ---------------------------------------------------------------------
    def action_tag(self) -> None:
        record = self.table.current
        if record is None or self.table.current_is_gone:
            return
        tagged = self.table.tagged
        tagged.symmetric_difference_update({record.identity})
        self.table.action_cursor(1)
        self.update_status()

    def action_untag_all(self) -> None:
        self.table.tagged.clear()
        self.table.refresh()
        self.update_status()

    # details, help, audit ----------------------------------------------------------
    def detail_sections(self, record) -> list:
        from psxj.tui.screens import checklist_section

        snapshot = self.snapshot
        sections = [lambda: checklist_section(snapshot, record)]
        if snapshot.live:
            sections.insert(0, lambda: self.birth_story(record))
        return sections

    def action_audit(self) -> None:
        if self.snapshot is None or not self.snapshot.live:
            return
        daemons = [row.record for row in self.table.rows
                   if row.kind == PROCESS and self.snapshot.daemon_like(row.record)]
        if not daemons:
            self.notify(_("No daemon-like process on screen (D shows only those; or clear the filter)."))
            return
        self.notify(_("Auditing {count} daemon-like process(es)...").format(count=len(daemons)))
        self._run_audit(self.snapshot, daemons)

    @work(thread=True, exclusive=True, group="audit")
    def _run_audit(self, snapshot: Snapshot, records) -> None:
        from psxj.judge.audit import SystemFacts, audit_process
        from psxj.tui.screens import AuditScreen

        system = SystemFacts(snapshot)
        reports = [audit_process(snapshot, record, system) for record in records]
        self.call_from_thread(self.push_screen, AuditScreen(reports))

    def _header_leader(self) -> Optional[object]:
        """On a session or group header: its leader's record, or None (with a notice why)."""
        row = self.table.current_row
        kind, ident, members = header_members(self.table.rows, self.table.cursor)
        host = members[0].host if members else None
        leader = self.snapshot.get(ident, host) if self.snapshot else None
        if leader is None:
            self.notify((_("The leader of session {id} is not in the table (it has exited); its members are below.")
                         if kind == SESSION_HEADER else
                         _("The leader of process group {id} is not in the table (it has exited); its members are "
                           "below.")).format(id=ident))
        return leader if row is not None else None

    def action_details(self) -> None:
        from psxj.tui.screens import DetailScreen

        row = self.table.current_row
        if row is None or self.snapshot is None:
            return
        record = self._header_leader() if row.kind in (SESSION_HEADER, GROUP_HEADER) else self.table.current
        if record is None:
            return
        self.push_screen(DetailScreen(self.snapshot, record, self.detail_sections(record)))

    @on(ProcessTable.RowActivated)
    def open_details(self, event: ProcessTable.RowActivated) -> None:
        self.action_details()

    def action_hosts(self) -> None:
        from psxj.tui.hosts_screen import HostsScreen

        if getattr(self.snapshot, "host_states", ()):   # psxj --host only
            self.push_screen(HostsScreen(self.snapshot))

    def action_help(self) -> None:
        from psxj.tui.screens import HelpScreen

        keys: List[Tuple[str, str]] = []
        where: Dict[str, int] = {}
        for binding in [*self.main.BINDINGS, *self.BINDINGS, *ProcessTable.BINDINGS]:
            action = binding.action.removeprefix("app.")
            if not binding.description or not self.key_is_offered(action):
                continue
            if action in where:  # one line per action, with all its keys
                index = where[action]
                keys[index] = (keys[index][0] + ", " + ", ".join(keys_of(binding.key)), keys[index][1])
                continue
            where[action] = len(keys)
            keys.append((", ".join(keys_of(binding.key)), _(binding.description)))
        keys.append(("0-9", _("type a PID to jump to it")))
        self.push_screen(HelpScreen(self.table.current, keys, self.snapshot))

    # signals ------------------------------------------------------------------
    def _signal_targets(self) -> Dict[str, object]:
        """Whom the signal dialog can aim at from here: the process, its group, its session, the tagged."""
        from psxj.tui.screens import SignalTarget

        table, snapshot = self.table, self.snapshot
        targets: Dict[str, object] = {}
        row = table.current_row
        record = table.current if row is not None and row.kind == PROCESS else None
        if record is not None:
            targets["process"] = SignalTarget(f"PID {record.pid} ({record.comm}): {record.command[:60]}", (record,),
                                              f"kill -SIG {record.pid}")
        if row is not None and row.kind in (SESSION_HEADER, GROUP_HEADER):
            kind, ident, members = header_members(table.rows, table.cursor)
            pgid, sid = (ident, None) if kind == GROUP_HEADER else (None, ident)
        else:
            pgid, sid = (record.pgid, record.sid) if record is not None else (None, None)
        live = [r for r in snapshot.records if not r.kernel_thread and r.state != "Z"]
        if pgid is not None:
            group = tuple(r for r in live if r.pgid == pgid)
            if group:
                targets["group"] = SignalTarget(_("process group {pgid} ({count} processes: {pids})").format(
                    pgid=pgid, count=len(group), pids=", ".join(str(r.pid) for r in group[:8])
                    + ("…" if len(group) > 8 else "")), group, f"kill -SIG -- -{pgid}")
        if sid is not None and sid != 0:
            session = tuple(r for r in live if r.sid == sid)
            if session:
                targets["session"] = SignalTarget(_("session {sid} ({count} processes)").format(
                    sid=sid, count=len(session)), session, f"pkill -SIG -s {sid}")
        tagged = tuple(r for r in snapshot.records if r.identity in table.tagged)
        if tagged:
            targets["tagged"] = SignalTarget(_("the {count} tagged processes ({pids})").format(
                count=len(tagged), pids=", ".join(str(r.pid) for r in tagged[:8]) + ("…" if len(tagged) > 8 else "")),
                tagged, "kill -SIG " + " ".join(str(r.pid) for r in tagged[:8]))
        return targets

    def action_signal(self) -> None:
        from psxj.tui.screens import SignalScreen

        if self.snapshot is None:
            return
        if self.table.current_is_gone and not self.table.tagged:
            self.notify(_("PID {pid} has exited.").format(pid=self.table.current.pid), severity="warning")
            return
        targets = self._signal_targets()
        if not targets:
            return
        row = self.table.current_row
        scope = "tagged" if "tagged" in targets else \
            ("group" if row is not None and row.kind == GROUP_HEADER else
             "session" if row is not None and row.kind == SESSION_HEADER else "process")
        scope = scope if scope in targets else next(iter(targets))

        def chosen(answer: Optional[Tuple[str, str]]) -> None:
            if answer is None:
                self.notify(_("Nothing sent."))
                return
            scope, name = answer
            self._send(name, targets[scope])

        self.push_screen(SignalScreen(targets, scope), chosen)

    def _send(self, name: str, target) -> None:
        """Signal each process of the target, each proven by its start time (psxj.signals)."""
        from psxj.signals import SignalError, send_signal

        sent, refused = [], []
        for record in target.records:
            try:
                send_signal(record, name)
            except SignalError as exc:
                refused.append(str(exc))
            else:
                sent.append(record.pid)
        if sent and not refused:
            what = f"PID {sent[0]} ({target.records[0].comm})" if len(target.records) == 1 else \
                _("{count} processes of {target}").format(count=len(sent), target=target.title.split(' (')[0])
            self.notify(_("SIG{name} sent to {what}.").format(name=name, what=what))
        elif sent:
            self.notify(_("SIG{name} sent to {sent} of {count}; not to the rest: ").format(
                name=name, sent=len(sent), count=len(target.records))
                + "; ".join(refused[:3]), severity="warning", title=_("Signal partly sent"))
        else:
            self.notify("; ".join(refused[:3]), severity="error", title=_("Signal not sent"))
        self.action_refresh_now()

    # live events ------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="events")
    def _open_events(self) -> None:
        """Open the event feed off the UI thread: proving the kernel's subscription takes up to 1 s."""
        from psxj.sources.event_stream import EventFeed

        def rows_already_read():
            # The table the helper process read: never a second read of all of /proc in this
            # interpreter (seconds of held GIL with 50,000 processes). Wait for it, unless psxj quits.
            while self.is_running:
                snapshot = self.snapshot
                if snapshot is not None and snapshot.partial_of is None:
                    return list(snapshot.records)
                time.sleep(0.05)
            return []

        try:
            feed = EventFeed(on_events=self.event_log.add_many, initial_rows=rows_already_read)
        except OSError as exc:
            self.call_from_thread(self._events_unavailable, str(exc))
            return
        if self.is_running:
            self.call_from_thread(self._events_opened, feed)
        else:
            feed.close()

    def _events_opened(self, feed) -> None:
        self.event_feed = feed
        if feed.notice:
            self.notify(feed.notice, title=_("Live events"), severity="warning")
        self.update_status()

    def _events_unavailable(self, why: str) -> None:
        self.notify(_("No live events: {why}").format(why=why), title=_("Live events"), severity="warning")

    def take_events(self) -> None:
        """Every half second: move new events into the pane (when open), keep the feed drained."""
        if self.event_feed is None:
            return
        events = self.event_feed.drain()
        pane = self.widget("#events", EventsPane)
        if pane.display and events:
            pane.add(events, self._event_in_scope(pane.scope))
        dropped = self.event_log.dropped_note()   # the history is bounded in bytes: say when it dropped some
        if dropped and not getattr(self, "_told_dropped", False):
            self._told_dropped = True
            self.notify(dropped + _("; birth stories say where theirs are cut"), title=_("Live events"),
                        severity="warning")
        if pane.display:
            pane.status = safe_text("; ".join(filter(None, (dropped, self.event_feed.status_line()))))
            pane.show(max(pane.size.height, 8))

    def _event_in_scope(self, scope: str):
        if scope == "all" or self.snapshot is None:
            return lambda event: True
        if scope == "subtree":
            record = self.table.current
            wanted = self.snapshot.family(record.pid) if record is not None else set()
        else:
            wanted = {row.record.pid for row in self.table.rows if row.kind == PROCESS}
        return lambda event: bool(event_pids(event) & wanted)

    def _observations(self):
        """What the events proved for the kinds: adoptions seen as they happened."""
        from psxj.judge.kinds import Observations

        observations = Observations()
        for adoption in self.event_log.adoptions():
            was = adoption.old_parent_command or _("its parent")
            observations.record_adoption(adoption.child, adoption.new_parent,
                                         _("{parent} ({pid}) exited at {time}").format(
                                             parent=was, pid=adoption.old_parent,
                                             time=time.strftime('%H:%M:%S', time.localtime(adoption.time))))
        return observations

    def _note_session_changes(self, snapshot: Snapshot) -> None:
        """Rows whose session changed since the last refresh: said in the events pane."""
        before = self._sessions_before
        now = {r.identity: r.sid for r in snapshot.records}
        if before:
            pane = self.widget("#events", EventsPane)
            for record in snapshot.records:
                was = before.get(record.identity)
                if was is not None and was != record.sid:
                    pane.note(_("{time}     (refresh) PID {pid} {comm}: SID {was} -> {sid}, its session changed "
                                "since the last refresh").format(time=time.strftime('%H:%M:%S'), pid=record.pid,
                                                                 comm=record.comm, was=was, sid=record.sid))
        self._sessions_before = now

    def action_events(self) -> None:
        pane = self.widget("#events", EventsPane)
        if not self.use_events:
            self.notify(_("Live events are off (psxj --no-events), or this table is not live."))
            return
        pane.display = not pane.display
        if pane.display:
            pane.status = safe_text(self.event_feed.status_line()) if self.event_feed else _("events: opening…")
            pane.show(12)

    def action_events_scope(self) -> None:
        pane = self.widget("#events", EventsPane)
        pane.scope = SCOPES[(SCOPES.index(pane.scope) + 1) % len(SCOPES)]
        pane.lines.clear()
        pane.display = True
        pane.show(12)
        self.notify(_("Events of {scope} from now on.").format(scope=_(SCOPE_WORDS[pane.scope])))

    def birth_story(self, record) -> Static:
        """The detail view's section: what events showed of this process, or what can be inferred."""
        lines = self.event_log.story_or_inferred(self.snapshot, record)
        text = Text()
        text.append("\n" + _("Birth story"), style="bold")
        seen = self.event_feed is not None and not lines[0].inferred if lines else False
        text.append(_(" (from live events since psxj started)") + "\n" if seen else
                    _(" (no event of it was seen: inferred from what /proc shows now)") + "\n")
        for line in lines:
            stamp = time.strftime("%H:%M:%S", time.localtime(line.time)) + f".{int(line.time * 1000) % 1000:03d}" \
                if line.time else "        "
            text.append(f"  {stamp}  {safe_text(line.display())}\n", style="dim" if line.inferred else "")
        return Static(wrapped(text), id="birth-story")   # i18n: Chinese wraps between characters

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
            self.notify(_("The demo runs live processes; this table was loaded from a file."), severity="warning")
            return
        control = self._demo_control()
        try:
            demo = control.running_demo()  # raises when a process psxj cannot prove holds the lock
            holder = demo.pid if demo else None
            if holder is not None:
                def confirmed(yes: bool) -> None:
                    if yes:
                        self._stop_demo()
                from psxj.tui.screens import ConfirmScreen

                self.push_screen(ConfirmScreen(_("Stop psxj-demo (pid {pid})?").format(pid=holder)), confirmed)
                self._show_demo_panel()
                return
            # With live events the daemon runs at full speed, as a real one would, and the panel plays its
            # recorded steps back one at a time, with their real times and the kernel's events.
            playback = self.event_feed is not None and self.event_feed.mode == "events"
            run = control.launch(step_delay=0 if playback else self.demo_step_delay, tied_to=self._own_identity())
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title=_("Demo not started"))
            return
        self._demo_launchers.append(run.launcher)
        self.demo_run, self.demo_second_run = run, None
        self.demo_started_here = True
        self._demo_seen_steps = 0
        self._demo_ended_at = None
        self._demo_playback = (0, time.monotonic()) if playback else None
        self._show_demo_panel()
        if playback:
            self.notify(_("Demo started at full speed; its steps are told one every {delay:g}s "
                          "with their real times ([ and ] step).").format(delay=self.demo_step_delay))
        else:
            self.notify(_("Demo started: one step every {delay:g}s. Watch the highlighted rows.").format(
                delay=self.demo_step_delay))

    def _show_demo_panel(self) -> None:
        self.widget("#demo", DemoPanel).display = True
        if self._demo_timer is None:
            self._demo_timer = self.set_interval(0.5, self.follow_demo)
        self.follow_demo()

    def _hide_demo_panel(self) -> None:
        self.widget("#demo", DemoPanel).display = False
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
        panel = self.widget("#demo", DemoPanel)
        upto = self._playback_step(entries)
        if upto is not None:
            ended = False  # still being told, even if the run itself is long done
            self._demo_ended_at = None
            panel.show(entries, log_tail, second=second, upto=upto, events=self._step_events(entries, upto))
            pids = {e["pid"] for e in entries[:upto + 1]}
        else:
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

    def _playback_step(self, entries: List[dict]) -> Optional[int]:
        """Which step a played-back run is telling now (None: not played back, or all told). It moves on
        every demo_step_delay seconds, or with [ and ]."""
        if self._demo_playback is None or not entries:
            return None
        shown, since = self._demo_playback
        if time.monotonic() - since >= self.demo_step_delay and shown < len(entries) - 1:
            self._demo_playback = (shown + 1, time.monotonic())
            shown += 1
            self._demo_follow_pid = entries[shown]["pid"]
        if shown >= len(entries) - 1 and entries[-1]["step"] in ("signals", "refused") \
                and time.monotonic() - self._demo_playback[1] > self.demo_step_delay:
            self._demo_playback = None  # all told: from now on the panel follows the run itself
            return None
        return min(shown, len(entries) - 1)

    def _step_events(self, entries: List[dict], upto: int) -> List[str]:
        """The kernel's events of the demo's processes between the step before and this one."""
        from psxj.render.eventtext import describe

        begin = entries[upto - 1]["time"] if upto > 0 else entries[0]["time"] - 1.0
        end = entries[upto]["time"]
        found = []
        for entry in entries:
            life = self.event_log.life((entry["pid"], entry.get("start_ticks")))
            for event in life.events if life is not None else ():
                if begin < event.time <= end + 0.001:
                    found.append((event.time, f"{_clock_ms(event.time)} {event.kind} {describe(event)}"))
        return [text for _, text in sorted(set(found))]

    def action_demo_step(self, step: int) -> None:
        """[ and ]: a step of a recording (loaded), or of the demo's played-back narration."""
        if self.time_travel is not None:
            if self.time_travel.step(step):
                self._show_recorded()
            else:
                self.notify(_("That is the recording's first table.") if step < 0 else
                            _("That is the recording's latest table."))
            return
        if self._demo_playback is not None:
            shown, _since = self._demo_playback
            self._demo_playback = (max(shown + step, 0), time.monotonic() + 3600)  # the user steps: no timer
            self.follow_demo()

    def _show_recorded(self) -> None:
        """The table time travel is at, shown as a loaded one (a process in both keeps the cursor)."""
        self.apply_snapshot(self.time_travel.snapshot())

    def action_go_to_time(self) -> None:
        from psxj.tui.time_travel import GoToTimeScreen

        if self.time_travel is None:
            return

        def chosen(text: Optional[str]) -> None:
            if not text:
                return
            try:
                self.time_travel.go(text)
            except PsxjError as exc:
                self.notify(str(exc), severity="error", title=_("No such time"))
                return
            self._show_recorded()

        self.push_screen(GoToTimeScreen(), chosen)

    def _stop_demo(self) -> None:
        try:
            pid = self.demo.stop(timeout=5)
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title=_("Demo not stopped"))
            return
        if self.demo_run is not None:
            self.demo.end_run(self.demo_run.run_id)
        self._demo_ended_at = time.monotonic()
        self.notify(_("psxj-demo stopped (pid {pid}).").format(pid=pid) if pid else _("psxj-demo was not running."))
        self.follow_demo()

    def action_demo_hangup(self) -> None:
        control = self._demo_control()
        try:
            pid = control.hangup()  # only to the proven demo, through its pidfd
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title=_("SIGHUP not sent"))
            return
        if pid is None:
            self.notify(_("psxj-demo is not running (press d to start it)."), severity="warning")
            return
        self.notify(_("SIGHUP sent to psxj-demo (pid {pid}): the log shows the reload.").format(pid=pid))
        self._show_demo_panel()

    def action_demo_second_instance(self) -> None:
        control = self._demo_control()
        if control.running_pid() is None or self.demo_run is None:
            self.notify(_("Start the demo first (d); then a second instance has something to be refused by."))
            return
        try:
            run = control.launch(step_delay=0, tied_to=self._own_identity())
        except PsxjError as exc:
            self.notify(str(exc), severity="error", title=_("Second instance not started"))
            return
        self._demo_launchers.append(run.launcher)
        self.demo_second_run = run
        self.notify(_("A second psxj-demo is starting: running() will refuse it."))
        self._show_demo_panel()

    # the lab (issue 15): counterexamples, job control and the quiz ---------------------
    def action_demo_menu(self) -> None:
        """L: the demo menu: the normal run (as d), a counterexample, job control, or the quiz."""
        from psxj.tui.demo_menu import DemoMenuScreen

        def chosen(choice: Optional[str]) -> None:
            if choice == "normal":
                self.action_demo()
            elif choice is not None:
                from psxj.tui.lab_screen import open_lab

                open_lab(self, choice)

        self.push_screen(DemoMenuScreen(), chosen)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: Textual's own commands it does not duplicate, then each psxj action once,
        with its keys as they are typed."""
        ours = {"quit", "help"}
        for command in super().get_system_commands(screen):
            if command.title.lower().split()[0] not in ours:
                yield command
        seen = set()
        for binding in [*self.main.BINDINGS, *self.BINDINGS]:
            target = binding.action.removeprefix("app.")
            if not binding.description or target in seen or not self.key_is_offered(target):
                continue
            seen.add(target)
            yield SystemCommand(f"{_(binding.description)} ({', '.join(keys_of(binding.key))})",
                                _("Key: {keys}").format(keys=", ".join(keys_of(binding.key))),
                                lambda target=target: self.run_action(target))


_EXIT_GRACE_SECONDS = 3.0


def _no_thread_left_behind(status: int) -> None:
    """Textual's input and output threads end when its driver stops; if an exit skipped that,
    they would keep psxj alive after its terminal is gone (the input thread spinning on end of
    file). Give them a moment, then end the process with the status it would have had."""
    main = threading.main_thread()
    stragglers = [t for t in threading.enumerate() if t is not main and not t.daemon]
    for thread in stragglers:
        thread.join(timeout=1.0)
    if any(thread.is_alive() for thread in stragglers):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)


def terminal_alive() -> bool:
    for fd in (2, 1, 0):  # Textual draws on stderr; check what is a terminal
        try:
            if os.isatty(fd):
                os.write(fd, b"")
                return True
        except OSError:
            return False
    return False


def _clock_ms(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}"


def _log_pid(line: str) -> Optional[int]:
    """The PID in a demo log line: `... psxj-demo[1234]: ...`."""
    start = line.find("psxj-demo[")
    end = line.find("]", start)
    digits = line[start + 10:end] if start >= 0 and end > start else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 12 else None


def run_app(selection: Optional[Selection] = None, load: Optional[str] = None, delay: float = 2.0,
            keep_demo: bool = False, app_class: type = None, **app_options) -> int:
    """Run the interface on this terminal; the exit status: 0 quit, 128+N after signal N (129 when
    the terminal went away), non-zero after a crash. app_options go to PsxjApp (tests use them)."""
    snapshot = None
    if load:
        from psxj.sources.loaded import load_snapshot
        from psxj.sources.recording import is_recording, open_recording

        if load not in ("", "-") and is_recording(load):  # its tables over time: [ ] and T step through them
            app_options.setdefault("recording", open_recording(load))
            snapshot = app_options["recording"].latest()
        else:
            snapshot = load_snapshot(load)
    app_options.setdefault("remember", True)  # the theme and columns chosen last time
    app_options.setdefault("events", snapshot is None)  # live events for a live table
    app = (app_class or PsxjApp)(selection=selection, snapshot=snapshot, delay=delay, keep_demo=keep_demo,
                                 **app_options)

    received = []

    def hang_up(signum, frame):
        # The terminal went away, or we were told to stop: quit as with q, through Textual's own
        # exit, which stops its input and output threads and runs on_unmount (the reader, the
        # events, the demo). A KeyboardInterrupt raised at a random point of a repaint skipped
        # that: psxj then outlived its terminal, its input thread spinning on end of file.
        received.append(signum)
        app.leave(128 + received[0])

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
        status = 128 + received[0]
    elif app.return_code:
        # A crash (an exception Textual caught and printed) sets a non-zero return code: never exit 0 then.
        status = app.return_code
    else:
        # As with --print: a selection from the command line that never matched anything exits 1.
        status = 1 if app.command_line_selection and not app.ever_matched else 0
    _no_thread_left_behind(status)
    return status
