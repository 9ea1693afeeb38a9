"""The sockets view: every listening port and the processes that hold it (n), a feature of the main
screen (psxj.tui.feature) and the screen it opens.

One row per socket and holder: protocol, local address, the socket's user (the kernel's table says
whose it is even when no readable process holds it), the PID and the command. Sockets of other
network namespaces (containers) are marked with theirs. The table is read in a worker thread (it
reads every process's descriptors, psxj.sources.sockets) and again with r; Enter opens the chosen
process's details, with why it runs. Addresses, user names and commands are escaped.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from psxj.escape import safe_text
from psxj.i18n import _
from psxj.model import Snapshot
from psxj.sources.names import user_name
from psxj.tui.feature import Feature
from psxj.tui.keys import bar_entries, key_bar


class Sockets(Feature):
    BINDINGS = [Binding("n", "sockets", "Ports")]

    def action_sockets(self) -> None:
        if self.app.snapshot is not None:
            self.app.push_screen(SocketsScreen(self.app.snapshot, self._details))

    def _details(self, pid: int) -> None:
        from psxj.tui.details import Details

        record = self.app.snapshot.get(pid) if self.app.snapshot is not None else None
        if record is None:
            self.app.notify(_("Process {pid} is not in the table (it has exited).").format(pid=pid))
            return
        self.screen.query_one(Details).show(record)


class SocketRow(NamedTuple):
    proto: str           # tcp, tcp6, udp, udp6
    address: str         # 0.0.0.0:22, [::]:80
    port: int
    user: str
    pid: Optional[int]   # None: no process psxj may read holds it
    command: str
    namespace: str       # "" for psxj's own network namespace


def socket_rows(snapshot: Snapshot) -> List[SocketRow]:
    """Every listening socket of the table's processes, with its holders, by port."""
    from psxj.sources.sockets import listening_on

    pids = [r.pid for r in snapshot.records if not r.kernel_thread]
    rows: List[SocketRow] = []
    for held in listening_on(pids, None):
        entry = held.socket
        proto = entry.proto + ("6" if entry.family == 6 else "")
        user = safe_text(user_name(entry.uid) or str(entry.uid))
        where = "" if held.own_namespace else safe_text(held.namespace or "?")
        holders = sorted({pid for pid, _fd in held.holders})
        if not holders:
            rows.append(SocketRow(proto, entry.local.text(), entry.local.port, user, None,
                                  _("(no process psxj may read holds it)"), where))
        for pid in holders:
            record = snapshot.get(pid)
            rows.append(SocketRow(proto, entry.local.text(), entry.local.port, user, pid,
                                  record.command if record is not None else "?", where))
    return sorted(rows, key=lambda row: (row.port, row.proto, row.address, row.pid or 0))


class SocketsScreen(Screen):
    """Listening ports and their processes."""

    DEFAULT_CSS = """
    SocketsScreen #sockets-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    SocketsScreen #sockets-table { height: 1fr; }
    SocketsScreen #sockets-keys { dock: bottom; height: 1; background: $panel; }
    """
    BINDINGS = [
        Binding("escape,q,n", "app.pop_screen", "Back"),
        Binding("enter", "choose", "Details"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self, snapshot: Snapshot, show_details: Callable[[int], None]) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.show_details = show_details   # the main screen's detail view, for a chosen process
        self.rows: List[SocketRow] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(_("Listening ports: reading…")), id="sockets-title")
        table = DataTable(id="sockets-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(_("PROTO"), _("ADDRESS"), _("USER"), "PID", _("COMMAND"))
        yield table
        yield Static(key_bar(bar_entries(self.BINDINGS), 200), id="sockets-keys")

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        snapshot = getattr(self.app, "snapshot", None) or self.snapshot
        self.snapshot = snapshot
        self.run_worker(lambda: self._read(snapshot), thread=True, exclusive=True, group="sockets",
                        exit_on_error=False)

    def _read(self, snapshot: Snapshot) -> None:
        try:
            rows, problem = socket_rows(snapshot), None
        except OSError as exc:
            rows, problem = [], exc.strerror or str(exc)
        self.app.call_from_thread(self._show, rows, problem)

    def _show(self, rows: List[SocketRow], problem: Optional[str]) -> None:
        self.rows = rows
        table = self.query_one("#sockets-table", DataTable)
        table.clear()
        for row in rows:
            command = row.command + (f"  [{row.namespace}]" if row.namespace else "")
            table.add_row(Text(row.proto), Text(row.address), Text(row.user),
                          Text(str(row.pid) if row.pid is not None else "-"), Text(command))
        ports = len({(row.proto, row.address) for row in rows})
        title = _("Listening ports: {count}, from the kernel's tables").format(count=ports) if problem is None else \
            _("Listening ports could not be read: {problem}").format(problem=safe_text(problem))
        self.query_one("#sockets-title", Static).update(Text(title))

    def action_choose(self) -> None:
        table = self.query_one("#sockets-table", DataTable)
        if not self.rows or table.cursor_row is None or not 0 <= table.cursor_row < len(self.rows):
            return
        row = self.rows[table.cursor_row]
        if row.pid is None:
            self.notify(_("No process psxj may read holds this socket."))
            return
        self.show_details(row.pid)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_choose()
