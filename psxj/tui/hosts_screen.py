"""The host status list (psxj --host): each host's state, in words, opened with h.

A host that answered shows how (python3, or ps -axj with fewer facts) and how fast; one that did
not shows why: slow, timed out, refused, authentication failed, unknown host key. The list follows
the refreshes while it is open. Host names and messages are the user's and ssh's words: escaped.
Hosts, a feature of the main screen (psxj.tui.feature), has the key and the status line's part.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from psxj.escape import safe_text
from psxj.i18n import N_, _, ngettext
from psxj.tui.dialog import Dialog
from psxj.tui.feature import Feature, StatusPart

_STYLES = {"ok": "bold green", "ps": "bold yellow", "slow": "bold yellow", "waiting": "yellow", "failing": "bold red"}
_WORDS = {"ok": N_("OK"), "ps": N_("OK (ps)"), "slow": N_("SLOW"), "waiting": N_("WAITING"), "failing": N_("FAILING")}


class Hosts(Feature):
    BINDINGS = [Binding("h", "hosts", "Hosts")]   # psxj --host: each host's state

    def action_hosts(self) -> None:
        snapshot = self.app.snapshot
        if getattr(snapshot, "host_states", ()):   # psxj --host only
            self.app.push_screen(HostsScreen(snapshot))

    def status_parts(self) -> List[StatusPart]:
        fleet = fleet_status(self.app.snapshot)
        return [StatusPart(0, *fleet)] if fleet is not None else []


def fleet_status(snapshot) -> Optional[Tuple[str, str]]:
    """The status line's part for a table of other machines: "12 hosts, 2 failing" (long, short)."""
    states = getattr(snapshot, "host_states", ())
    if not states:
        return None
    failing = sum(1 for s in states if s.failing)
    slow = sum(1 for s in states if s.status in ("slow", "waiting"))
    count = ngettext("{count} host", "{count} hosts", len(states)).format(count=len(states))
    failing_text = _("{count}, {failing} failing").format(count=count, failing=failing)
    long = failing_text + (_(", {slow} slow").format(slow=slow) if slow else "") + " (h)"
    return long, failing_text + " (h)"


def hosts_table(snapshot) -> Table:
    table = Table("HOST", _("STATE"), _("PROCESSES"), _("ANSWER"), _("DETAIL"), box=None, expand=True, pad_edge=False)
    for state in getattr(snapshot, "host_states", ()):
        took = f"{state.seconds:.2f} s" if state.seconds is not None else "-"
        table.add_row(Text(safe_text(state.host)), Text(_(_WORDS.get(state.status, state.status)),
                                                        style=_STYLES.get(state.status, "")),
                      Text(str(state.processes) if state.processes else "-"), Text(took),
                      Text(safe_text(state.detail)))
    return table


class HostsScreen(Dialog):
    """Every host asked, its state and why."""

    DEFAULT_CSS = """
    HostsScreen { align: center middle; }
    #hosts-body { width: 96%; height: auto; max-height: 90%; background: $surface; border: round $accent;
                  padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,h", "app.pop_screen", "Close")]

    def __init__(self, snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="hosts-body"):
            yield Static(self._title(), id="hosts-title")
            yield Static(hosts_table(self.snapshot), id="hosts-table")
            yield Static(Text(_("Each refresh asks every host again; a host that failed is tried again. "
                                "Esc closes.")), id="hosts-hint")

    def _title(self) -> Text:
        status = fleet_status(self.snapshot)
        return Text.assemble((_("Hosts"), "bold"), f": {status[0][:-4] if status else _('none')}")

    def on_mount(self) -> None:
        self.set_interval(1.0, self._follow)

    def _follow(self) -> None:
        """Show the app's newest table's states (the list stays open across refreshes)."""
        snapshot = self.app.snapshot
        if snapshot is not self.snapshot and getattr(snapshot, "host_states", ()):
            self.snapshot = snapshot
            self.query_one("#hosts-title", Static).update(self._title())
            self.query_one("#hosts-table", Static).update(hosts_table(snapshot))
