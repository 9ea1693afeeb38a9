"""Following one process (F, as htop's): the cursor stays on it, by identity (PID and start time), as rows
reorder, come and go, and while a filter or a fold hides it; the status line says whom it follows.
Following ends when that process exits (the notice line says so), when the cursor is moved by hand, or
with F again.

A feature of the main screen (psxj.tui.feature): after each table is shown it puts the table's cursor
back on the process followed, and it hears the table's CursorMoved to know when the user moved away.
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional

from textual import on
from textual.binding import Binding

from psxj.i18n import _
from psxj.model import Snapshot
from psxj.tui.feature import Feature, StatusPart
from psxj.tui.table import ProcessTable


class Followed(NamedTuple):
    identity: tuple
    pid: int
    start_ticks: Optional[int]
    host: Optional[str]
    comm: str


class Follow(Feature):
    BINDINGS = [Binding("F", "follow_process", "Follow")]

    def __init__(self) -> None:
        super().__init__()
        self.followed: Optional[Followed] = None

    def action_follow_process(self) -> None:
        if self.followed is not None:
            self._end(_("No longer following PID {pid} ({name}).").format(pid=self.followed.pid,
                                                                            name=self.followed.comm))
            return
        table = self.table
        record = table.current
        if record is None or table.current_is_gone:
            self.app.notify(_("F follows the process under the cursor: move onto a process first."))
            return
        self.followed = Followed(record.identity, record.pid, record.start_ticks, record.host, record.comm)
        self.post_message(self.StatusChanged())

    def _end(self, why: str, quietly: bool = False) -> None:
        """Stop following, and say why; `quietly`: the status line is being made anyway."""
        self.followed = None
        self.app.notify(why)
        if not quietly:
            self.post_message(self.StatusChanged())

    def after_rebuild(self, snapshot: Snapshot) -> None:
        followed = self.followed
        if followed is None or snapshot is self.app.first_snapshot:
            return
        record = snapshot.get(followed.pid, followed.host)
        if record is None or record.identity != followed.identity:
            self._end(_("PID {pid} ({name}) has exited: following ended.").format(pid=followed.pid,
                                                                                   name=followed.comm),
                      quietly=True)
            return
        table = self.table
        current = table.current
        if current is None or current.identity != followed.identity or table.current_is_gone:
            index = table._index_of(followed.pid, followed.start_ticks, followed.host)
            if index is not None:   # shown again (the filter or a fold hid it): back onto it
                table.move_to(index)

    @on(ProcessTable.CursorMoved)
    def cursor_moved(self) -> None:
        """The cursor moved off the process followed (by hand, a search, a PID typed): following ends.
        While a filter hides that process the cursor is elsewhere, and only a move ends it."""
        followed = self.followed
        if followed is None:
            return
        current = self.table.current
        if current is None or current.identity != followed.identity:
            self._end(_("Following ended: the cursor moved off PID {pid} ({name}).").format(
                pid=followed.pid, name=followed.comm))

    def status_parts(self) -> List[StatusPart]:
        followed = self.followed
        if followed is None:
            return []
        long = _("following PID {pid} ({name})").format(pid=followed.pid, name=followed.comm)
        if not any(row.record is not None and row.record.identity == followed.identity and row.kind == "process"
                   for row in self.table.rows[self.table.cursor:self.table.cursor + 1]):
            long += _(", hidden by the view")
        return [StatusPart(0, long, _("following {pid}").format(pid=followed.pid))]
