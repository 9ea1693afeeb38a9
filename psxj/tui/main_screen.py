"""The main screen: the status line, the process table, the demo panel, the filter and search lines
and the key bar. Its keys are the table's: they act only while this screen is the one shown, so
a key pressed in the detail view or the help never changes the table underneath.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from psxj.i18n import N_, _
from psxj.tui.demo_panel import DemoPanel
from psxj.tui.events_pane import EventsPane
from psxj.tui.keys import bar_entries, key_bar
from psxj.tui.table import ProcessTable

FILTER_HINT = N_("Filter: -s SID -u USER -p PID -t TTY -C NAME --kind KIND, or words of the command; "
                 "Enter applies, Esc closes")
SEARCH_HINT = N_("Search the command: typing jumps to the next match; Enter or F3 next, Shift+F3 back, Esc closes")


class MainScreen(Screen):
    # In the order of the key bar: when the terminal is narrow, the first ones stay.
    BINDINGS = [
        Binding("question_mark", "app.help", "Help"),
        Binding("slash,backslash,f4", "app.filter", "Filter"),
        Binding("f3", "app.search", "Search"),
        Binding("f5,t", "app.mode('forest')", "Tree"),
        Binding("g", "app.mode('sessions')", "Sessions"),
        Binding("h", "app.hosts", "Hosts"),   # psxj --host: each host's state (psxj.tui.hosts_screen)
        Binding("f9,x", "app.signal", "Signal"),
        Binding("enter", "app.details", "Details"),
        Binding("space", "app.tag", "Tag"),
        Binding("backspace", "app.clear_filter", "Clear filter"),
        Binding("k", "app.toggle_kernel", "Kernel"),
        Binding("D", "app.toggle_daemons", "Daemons"),
        Binding("f6,greater_than_sign", "app.sort(1)", "Sort"),
        Binding("less_than_sign", "app.sort(-1)", "Sort back", show=False),
        Binding("i", "app.invert_sort", "Reverse"),
        Binding("o", "app.columns", "Columns"),
        Binding("e", "app.events", "Events"),
        Binding("E", "app.events_scope", "Events of…", show=False),
        Binding("a", "app.audit", "Audit"),
        Binding("d", "app.demo", "Demo"),
        Binding("L", "app.demo_menu", "Lab"),  # the lab (issue 15): the demo menu
        Binding("p", "app.pause", "Pause"),
        Binding("r", "app.refresh_now", "Refresh"),
        Binding("shift+f3", "app.search_next(-1)", "Previous match", show=False),
        Binding("U", "app.untag_all", "Untag all", show=False),
        Binding("H", "app.demo_hangup", "Demo: HUP", show=False),
        Binding("I", "app.demo_second_instance", "Demo: 2nd instance", show=False),
        Binding("left_square_bracket", "app.demo_step(-1)", "Step back", show=False),
        Binding("right_square_bracket", "app.demo_step(1)", "Step on", show=False),
        Binding("T", "app.go_to_time", "Go to a time"),
        Binding("escape", "app.close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield ProcessTable(id="table")
        with Vertical(id="bottom"):
            yield EventsPane(id="events")
            yield DemoPanel(id="demo")
            yield Static(id="filter-error")
            yield Input(placeholder=_(SEARCH_HINT), id="search")
            yield Input(placeholder=_(FILTER_HINT), id="filter")
            # A fixed line of keys, not Textual's Footer: the Footer rebuilds all its widgets at every
            # focus change (table <-> filter line), which costs ~150 ms with a large table on screen.
            yield Static(id="keys")

    def on_mount(self) -> None:
        self.query_one("#filter-error", Static).display = False
        self.query_one("#demo", DemoPanel).display = False
        self.query_one("#events", EventsPane).display = False
        self.query_one("#search", Input).display = False
        self.query_one(ProcessTable).focus()
        self.app.main_ready()

    def on_resize(self, event) -> None:
        self.update_keys()
        # After the table has laid itself out for the new width: which columns it hid is known then.
        self.call_after_refresh(self.app.update_status)

    def update_keys(self) -> None:
        """The key bar: what can be done here, as many keys as the width holds."""
        app = self.app
        entries = bar_entries([*self.BINDINGS, *app.BINDINGS], allowed=app.key_is_offered)
        bar = self.query_one("#keys", Static)
        bar.update(key_bar(entries, max(self.size.width - 1, 20)), layout=False)

    def on_key(self, event) -> None:
        """Digits typed on the table jump to that PID, as in htop."""
        if self.focused is self.query_one(ProcessTable) and event.character and event.character.isdigit():
            self.app.jump_to_pid_digit(event.character)
            event.stop()
