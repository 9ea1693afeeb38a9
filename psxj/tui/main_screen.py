"""The main screen: the status line, the process table, the events and demo panes, the filter and search
lines and the key bar, wrapped in the features that act on them (psxj.tui.feature).

Each feature is an ancestor of everything on this screen, so its keys work wherever the focus is here
(the table, the filter line), and only while this screen is the one shown: a key pressed in the detail
view or the help never changes the table underneath. This screen adds only ? (help), the key bar, and
the order in which the key bar, the help and the palette list the features' keys.
"""

from __future__ import annotations

from typing import Iterator, List, Tuple, Type, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from psxj.i18n import _
from psxj.select import Selection
from psxj.tui.demo import Demo
from psxj.tui.demo_panel import DemoPanel
from psxj.tui.details import Details
from psxj.tui.events import Events
from psxj.tui.events_pane import EventsPane
from psxj.tui.feature import Feature
from psxj.tui.filter import FILTER_HINT, Filter
from psxj.tui.fold import FOREST_ACTIONS, Fold
from psxj.tui.follow import Follow
from psxj.tui.hosts_screen import Hosts
from psxj.tui.keys import bar_entries, key_bar
from psxj.tui.meters import MeterLine, Meters
from psxj.tui.notice import NoticeLine
from psxj.tui.refresh import Refresh
from psxj.tui.search import SEARCH_HINT, Search
from psxj.tui.signals import Signals
from psxj.tui.sockets_screen import Sockets
from psxj.tui.status import StatusLine
from psxj.tui.table import ProcessTable
from psxj.tui.time_travel import Travel
from psxj.tui.users import Users
from psxj.tui.views import Views

F = TypeVar("F", bound=Feature)

# The order of the key bar, the help and the palette: on a narrow terminal the first keys stay. A key
# not named here follows the one its feature binds before it (or comes last, when that is its first).
KEY_ORDER = (
    "help", "filter", "users", "search", "mode('forest')", "fold", "mode('sessions')", "hosts", "signal", "details",
    "tag", "follow_process",
    "clear_filter", "toggle_kernel", "toggle_daemons", "sort(1)", "sort(-1)", "invert_sort", "columns", "events",
    "events_scope", "audit", "meters", "demo", "demo_menu", "pause", "refresh_now", "search_next(-1)", "untag_all",
    "demo_hangup", "demo_second_instance", "demo_step(-1)", "time_step(-1)", "demo_step(1)", "time_step(1)",
    "go_to_time", "close",
)


class MainScreen(Screen):
    DEFAULT_CSS = """
    /* the features' are hidden */
    MainScreen #meters, MainScreen #status, MainScreen #table, MainScreen #bottom { visibility: visible; }
    """
    BINDINGS = [Binding("question_mark", "help", "Help")]

    def __init__(self, selection: Selection, **kwargs) -> None:
        super().__init__(**kwargs)
        self.selection = selection   # the command line's, which the filter line starts with
        self._bar = None             # the key bar on screen
        self._bar_for = None         # the entries and width it was laid out for

    def compose(self) -> ComposeResult:
        # Outermost first; each feature wraps the next, and the innermost the screen's widgets.
        with Refresh(), Views(), Fold(), Filter(self.selection), Users(), Search(), Follow(), Signals(), Details(), \
                Events(), Demo(), Travel(), Hosts(), Sockets(), Meters():
            yield MeterLine(id="meters")
            yield StatusLine(id="status")
            yield ProcessTable(id="table")
            with Vertical(id="bottom"):
                yield EventsPane(id="events")
                yield DemoPanel(id="demo")
                yield Static(id="filter-error")
                yield Input(placeholder=_(SEARCH_HINT), id="search")
                yield Input(placeholder=_(FILTER_HINT), id="filter")
                yield NoticeLine(id="notice")
                # A fixed line of keys, not Textual's Footer: the Footer rebuilds all its widgets at every
                # focus change (table <-> filter line), which costs ~150 ms with a large table on screen.
                yield Static(id="keys")

    def on_mount(self) -> None:
        self.features: List[Feature] = list(self.query(Feature))
        self.query_one(ProcessTable).focus()
        self.app.main_ready()

    def feature(self, kind: Type[F]) -> F:
        return self.query_one(kind)

    def key_bindings(self) -> List[Tuple[Binding, object]]:
        """Every key of this screen (its features' and its own) with what answers it, in KEY_ORDER."""
        ranked = []
        for owner in [self, *self.features]:
            rank = float(len(KEY_ORDER))
            for binding in owner.BINDINGS:
                # Listed: its place. Not: just after the key bound before it (sorted() keeps their order).
                rank = float(KEY_ORDER.index(binding.action)) if binding.action in KEY_ORDER else rank
                ranked.append((rank, binding, owner))
        return [(binding, owner) for _rank, binding, owner in sorted(ranked, key=lambda item: item[0])]

    def ordered_keys(self) -> Iterator[Binding]:
        return (binding for binding, _owner in self.key_bindings())

    def action_help(self) -> None:
        self.app.action_help()

    def on_resize(self, event) -> None:
        self.update_keys()
        # After the table has laid itself out for the new width: which columns it hid is known then.
        self.call_after_refresh(self.app.update_status)

    def update_keys(self) -> None:
        """The key bar: what can be done here, as many keys as the width holds."""
        app = self.app
        forest = app.options.mode == "forest"   # the forest's keys take room on the bar only there (help has them)

        def offered(action: str) -> bool:
            return app.key_is_offered(action) and (forest or action not in FOREST_ACTIONS)

        entries = bar_entries([*self.ordered_keys(), *app.BINDINGS], allowed=offered)
        first = self.feature(Travel).bar_entries()   # a recording's [ ] and T, right after Help
        if first:
            entries = [*entries[:1], *first, *(entry for entry in entries[1:] if entry.keys != "T")]
        width = max(self.size.width - 1, 20)
        if (entries, width) == self._bar_for:
            return   # the same keys at most refreshes: neither laid out nor painted again
        self._bar_for = (entries, width)
        bar = key_bar(entries, width)
        if bar != self._bar:
            self._bar = bar
            self.query_one("#keys", Static).update(bar, layout=False)
