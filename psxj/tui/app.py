"""The Textual application: a live `ps -axj` table, each of whose features lives in a module of its own.

The app composes and routes: its screen is psxj.tui.main_screen.MainScreen, where the features
(psxj.tui.feature: refreshing, views, filter, search, signals and tags, details and audit, events, the
demo, time travel, hosts) own their keys and state and say what changed with messages. The app keeps
what they share and what outlives the screen: the table shown and the view options (settings, the
columns and theme remembered between runs), the reader, the event feed and log, the demo's processes.
It answers which actions this table allows, has the global keys (quit, help, the palette), rebuilds the
rows when the view changes, and leaves cleanly. psxj.tui.run runs it on a terminal.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from operator import itemgetter
from typing import TYPE_CHECKING, Deque, Dict, Iterable, List, Optional
from weakref import WeakKeyDictionary

from textual import events, on
from textual._dispatch_key import dispatch_key
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from psxj.escape import safe_text
from psxj.i18n import _, ngettext
from psxj.model import Snapshot
from psxj.render.views import HOME, PROCESS, ViewOptions, build_rows, cpu_percent
from psxj.select import Selection
from psxj.tui.demo import Demo, DemoRuns
from psxj.tui.dialog import TypeAhead, typed_order
from psxj.tui.events import Events
from psxj.tui.feature import Feature, StatusPart
from psxj.tui.filter import Filter
from psxj.tui.follow import Follow
from psxj.tui.hosts_screen import Hosts
from psxj.tui.keys import help_lines, palette_entries
from psxj.tui.main_screen import MainScreen
from psxj.tui.notice import Notice, NoticeLine
from psxj.tui.refresh import Refresh
from psxj.tui.search import Search
from psxj.tui.signals import Signals
from psxj.tui.status import StatusLine
from psxj.tui.table import ProcessTable
from psxj.tui.time_travel import TimeTravel, Travel
from psxj.tui.views import Views
from psxj.tui.wrapping import toast_text

if TYPE_CHECKING:
    from psxj.demo.control import DemoControl

# Actions that only make sense on live processes: hidden, and refused, on a loaded table.
LIVE_ONLY = frozenset({"signal", "demo", "pause", "refresh_now", "demo_hangup", "demo_second_instance", "audit",
                       "events", "events_scope", "demo_step", "demo_menu", "sockets"})
# Actions on this machine's processes: refused on other machines' tables (--host), and in a browser
# unless allowed (psxj serve): see refused_actions.
LOCAL_ONLY = frozenset({"signal", "demo", "demo_hangup", "demo_second_instance", "demo_step", "demo_menu", "audit",
                        "events", "events_scope", "sockets"})
SIGNAL_ACTIONS = frozenset({"signal"})
DEMO_ACTIONS = frozenset({"demo", "demo_hangup", "demo_second_instance", "demo_step", "demo_menu"})
RECORDING_ONLY = frozenset({"time_step", "go_to_time"})   # a recording's keys (psxj.tui.time_travel)
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
EXIT_GRACE_SECONDS = 3.0


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
                 refused_actions: Iterable[str] = (), status_banner: str = "", recording=None,
                 refusal_notes: Optional[Dict[str, str]] = None) -> None:
        super().__init__()
        # psxj --host, psxj serve: actions hidden and refused whatever the table (LOCAL_ONLY...), and
        # what to say when a key of theirs is pressed (action -> why it is off, and how to turn it on).
        self.refused_actions = frozenset(refused_actions)
        self.refusal_notes = dict(refusal_notes or {})
        self.status_banner = status_banner   # said first on the status line (psxj serve: where it listens)
        self.remember = remember             # keep the theme and columns in the user's config (psxj.tui.config)
        from psxj.judge.story import EventLog
        from psxj.tui import config

        saved = config.load_choices() if remember else {}
        selection = selection or Selection()
        self.options = ViewOptions(selection=selection, columns=saved.get("columns", ()),
                                   without=saved.get("without", ()))
        if snapshot is None and recording is None:
            # A live table opens on its user's world: theirs first, kernel threads last (render.views.HOME).
            from psxj.sources.names import own_uid

            self.options = self.options._replace(sort_key=HOME, you=own_uid())
        self.command_line_selection = bool(selection)   # for the exit status: nothing matched it
        self.ever_matched = False
        self.snapshot: Optional[Snapshot] = snapshot
        self.static_source = snapshot is not None  # a loaded file: read-only, never refreshed
        self.time_travel = TimeTravel(recording) if recording is not None else None   # a recording's tables
        self.delay, self.reader = delay, reader
        self.first_snapshot = first_snapshot   # the first frame's rows (first_frame.paint), shown until all are read
        self.refresh_count = 0
        self._previous: Optional[Snapshot] = None
        self._previous_identities: Optional[set] = None
        self.use_events = events           # listen to fork/exec/setsid/exit (psxj.sources.events) while live
        self.event_log = EventLog()        # every event since start: birth stories, observed adoptions
        self.event_feed = None             # EventFeed, once psxj.tui.events has opened it
        self.demo_runs = DemoRuns(demo_rundir, keep_demo)
        self.demo_step_delay = demo_step_delay
        self._watchdog: Optional[threading.Thread] = None   # see leave()
        self.ui_refresh_seconds: List[float] = []  # measured by bench/bench_tui.py
        self._key_routes: WeakKeyDictionary = WeakKeyDictionary()   # key -> (screen it went to, when typed)
        self.notices: Deque[Notice] = deque(maxlen=100)   # what psxj said, lately
        if saved.get("theme") in self.available_themes:
            self.theme = saved["theme"]
        self._theme_ready = True

    def get_driver_class(self):
        """Textual's driver for this terminal; on Linux and macOS one whose input thread sleeps until there
        is input (psxj.tui.driver). A driver named by TEXTUAL_DRIVER (psxj serve's) is left as it is."""
        from textual.drivers.linux_driver import LinuxDriver

        driver_class = super().get_driver_class()
        if driver_class is LinuxDriver:
            from psxj.tui.driver import QuietLinuxDriver

            return QuietLinuxDriver
        return driver_class

    def get_default_screen(self) -> Screen:
        return MainScreen(self.options.selection, id="main")

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
        (a process called `[/]` would crash the interface), and escape them like COMMAND. On the table's
        screen they go to the notice line, which covers nothing (psxj.tui.notice); elsewhere, a toast."""
        message, title = safe_text(message), safe_text(title)
        self.notices.append(Notice(message, severity, title))
        notice = self.main.query(NoticeLine) if self.screen_stack and self.screen is self.main else None
        if notice:
            notice.first().say(message, severity, title, timeout)
            return
        super().notify(toast_text(message, self.size.width), title=title, severity=severity,
                       timeout=timeout, markup=markup)   # i18n: toast_text wraps Chinese by cells

    # settings: kept between runs ----------------------------------------------------
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

    # start and stop -------------------------------------------------------------------
    def main_ready(self) -> None:
        """The main screen has its widgets (MainScreen.on_mount calls this): fill and start."""
        self.main.update_keys()
        if self.static_source:
            self.apply_snapshot(self.snapshot)
        else:
            if self.first_snapshot is not None:
                self.apply_snapshot(self.first_snapshot, partial=True)
            self.main.feature(Refresh).start()
            if self.use_events:
                self.main.feature(Events).start()
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
        time.sleep(EXIT_GRACE_SECONDS)
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
        self.demo_runs.end_own()

    # keys: typed ahead of a screen, and those that are off -----------------------------
    async def on_event(self, event: events.Event) -> None:
        """A key typed while a screen on top is not ready yet is that screen's (psxj.tui.dialog); every
        other key goes its way as usual, and the app remembers which screen it went to."""
        if isinstance(event, events.Key) and not event.is_forwarded and self.screen_stack:
            screen = self.screen
            order = typed_order()
            if isinstance(screen, TypeAhead) and not screen.ready:
                screen.hold(event, order)
                return
            self._key_routes[event] = (screen, order)
        await super().on_event(event)

    async def on_key(self, event: events.Key) -> None:
        """A key no widget took: the bindings, as Textual's App looks them up (this handler replaces its
        own, which would look them up again), except that a key that was on its way to the screen below
        when another opened is that other screen's, and that a key which is off says why."""
        event.prevent_default()
        screen, order = self._key_routes.pop(event, (None, 0))
        if screen is not None and screen is not self.screen and isinstance(self.screen, TypeAhead):
            self.screen.hold(event, order)
            return
        if await self._check_bindings(event.key):
            return
        if not self._say_why_off(event.key):
            await dispatch_key(self, event)

    def _say_why_off(self, key: str) -> bool:
        """When every binding of `key` on the table's screen is refused here, say why: a key that is off
        never does nothing silently (a loaded file, other machines' tables, a browser)."""
        if not self.screen_stack or self.screen is not self.main:
            return False
        bound = [binding.action.removeprefix("app.").split("(", 1)[0]
                 for binding, _owner in self.main.key_bindings() if key in binding.key.replace(" ", "").split(",")]
        if not bound or any(self.check_action(action, ()) is not False for action in bound):
            return False
        self.notify(self._why_off(bound[0]), severity="warning")
        return True

    def _why_off(self, action: str) -> str:
        if action in self.refusal_notes:
            return self.refusal_notes[action]
        if self.static_source:
            return _("Not on a loaded table: this needs live processes, and this table was loaded from a file.")
        return _("Not on other machines' tables: psxj signals, audits and demos only this machine's processes.")

    # which actions this table allows ------------------------------------------------
    def key_is_offered(self, action: str) -> bool:
        """Is the key bar to offer this action now? (Also: is it enabled, see check_action.)"""
        name = action.split(".", 1)[-1].split("(", 1)[0]
        if name in RECORDING_ONLY:
            return self.time_travel is not None
        if self.static_source and name in LIVE_ONLY or name in self.refused_actions:
            return False
        if name == "hosts" and not getattr(self.snapshot, "host_states", ()):
            return False
        if name == "clear_filter" and not self.options.selection:
            return False
        return True

    def check_action(self, action: str, parameters) -> Optional[bool]:
        if action == "time_step":
            return self.time_travel is not None   # else [ and ] are the demo's
        if self.static_source and action in LIVE_ONLY:
            return False  # a loaded table: these keys could only say no, so they are not offered
        if action in self.refused_actions:
            return False  # another machine's table, or a browser not allowed to: never acted on
        return True

    # the table shown ------------------------------------------------------------------
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
            self._previous = snapshot
        features = self.main.features
        for feature in features:
            feature.before_showing(snapshot, partial)   # the events' adoptions and session changes
        self.snapshot = snapshot
        self.refresh_count += 1
        self.rebuild(new)
        for feature in features:
            feature.after_showing(snapshot, partial)   # the demo's cursor, the next refresh
        self.ui_refresh_seconds.append(time.perf_counter() - started)

    def rebuild(self, new_identities: Iterable = frozenset()) -> None:
        if self.snapshot is None:
            return
        table = self.table
        o = self.options
        table.sort_key, table.descending = "pid" if o.sort_key == HOME else o.sort_key, o.descending
        layout_choice = (o.columns, o.without, o.mode == "forest")
        if (table.optional_columns, table.columns_without, table.forest) != layout_choice:
            table.set_columns(*layout_choice)
        rows = build_rows(self.snapshot, self.options)
        if any(row.kind == PROCESS for row in rows):
            self.ever_matched = True
        table.empty_message = self._empty_message()
        table.set_rows(self.snapshot, rows, new_identities)
        for feature in self.main.features:
            feature.after_rebuild(self.snapshot)   # following a process puts the cursor back on it
        self.update_status()

    def _empty_message(self) -> str:
        o = self.options
        if o.selection:
            return _("No process matches the filter {filter}.\n"
                     "Backspace clears the filter; / changes it.").format(filter=self.main.feature(Filter).text)
        hidden = [what for what, on in ((_("kernel threads hidden (k)"), not o.show_kernel_threads),
                                        (_("daemons only (D)"), o.daemons_only)) if on]
        return _("No process to show: {hidden}.").format(hidden=", ".join(hidden)) if hidden else \
            _("No process to show.")

    def update_status(self) -> None:
        """The status line: what the table is and how much of it shows, then each feature's part."""
        snap = self.snapshot
        if snap is None or not self.screen_stack:
            return
        main, table = self.main, self.table
        shown = list(map(itemgetter(0), table.rows)).count(PROCESS)  # row.kind, counted in C
        count = StatusPart(0, ngettext("{shown}/{total} process", "{shown}/{total} processes", len(snap)).format(
                           shown=shown, total=len(snap)), f"{shown}/{len(snap)}")
        if self.first_snapshot is snap:
            total = getattr(snap, 'partial_of', len(snap))
            count = StatusPart(0, ngettext("reading /proc: {count} process…", "reading /proc: {count} processes…",
                                           total).format(count=total), _("reading /proc…"))
        part = {type(feature): feature.status_parts() for feature in main.features}
        parts = [*([StatusPart(0, self.status_banner, self.status_banner)] if self.status_banner else []),
                 *part[Refresh], *part[Travel], *part[Hosts], count, *part[Views], *part[Signals]]
        if table.layout().hidden:   # laid out now if need be: the columns that gave way for this width
            hidden = ", ".join(table.hidden_columns)   # named, each one: "cols hidden" said not which
            parts.append(StatusPart(2, _("hidden: {columns} (too narrow; o chooses)").format(columns=hidden),
                                    _("hidden: {columns}").format(columns=hidden)))
        parts += [*part[Follow], *part[Search], *part[Events], *part[Filter]]
        self.widget("#status", StatusLine).show(parts, max(main.size.width - 2, 20))
        main.update_keys()

    # what the features say ------------------------------------------------------------
    @on(Feature.ViewChanged)
    def change_view(self, message: Feature.ViewChanged) -> None:
        was, self.options = self.options, message.change(self.options)
        if self.options.selection is not was.selection:   # only the filter line replaces it: the user's now
            self.command_line_selection = False
        self.rebuild()
        if message.then is not None:
            message.then()
        if (self.options.columns, self.options.without) != (was.columns, was.without):
            self._save_choices(columns=list(self.options.columns), without=list(self.options.without))

    @on(Feature.StatusChanged)
    def status_changed(self) -> None:
        self.update_status()

    @on(Feature.ShowSnapshot)
    def show_snapshot(self, message: Feature.ShowSnapshot) -> None:
        self.apply_snapshot(message.snapshot, message.partial)

    @on(Feature.RefreshNow)
    def action_refresh_now(self) -> None:
        self.main.feature(Refresh).action_refresh_now()

    @on(Events.Opened)
    def events_opened(self, message: Events.Opened) -> None:
        self.event_feed = message.feed
        self.update_status()

    # the global keys: quit, help, the palette ----------------------------------------
    def action_help(self) -> None:
        from psxj.tui.screens import HelpScreen

        keys = help_lines([*self.main.ordered_keys(), *self.BINDINGS, *ProcessTable.BINDINGS], self.key_is_offered)
        self.push_screen(HelpScreen(self.table.current, keys, self.snapshot))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: Textual's own commands it does not duplicate, then each psxj action once."""
        ours = {"quit", "help"}
        yield from (command for command in super().get_system_commands(screen)
                    if command.title.lower().split()[0] not in ours)
        keys = [*self.main.key_bindings(), *((binding, self) for binding in self.BINDINGS)]
        for title, help_text, action, owner in palette_entries(keys, self.key_is_offered):
            yield SystemCommand(title, help_text, lambda action=action, owner=owner: self.run_action(action, owner))

    # for tests and benchmarks that reach into a feature ------------------------------
    @property
    def paused(self) -> bool:
        return self.main.feature(Refresh).paused

    def action_filter(self) -> None:
        self.main.feature(Filter).action_filter()

    @property
    def demo(self) -> Optional["DemoControl"]:
        return self.demo_runs.control

    @property
    def demo_run(self):
        return self.demo_runs.run

    @demo_run.setter
    def demo_run(self, run) -> None:
        self.demo_runs.run = run

    @property
    def demo_second_run(self):
        return self.demo_runs.second_run

    def _demo_control(self) -> "DemoControl":
        return self.demo_runs.control_for()

    def follow_demo(self) -> None:
        self.main.feature(Demo).follow()


def terminal_alive() -> bool:
    for fd in (2, 1, 0):  # Textual draws on stderr; check what is a terminal
        try:
            if os.isatty(fd):
                os.write(fd, b"")
                return True
        except OSError:
            return False
    return False
