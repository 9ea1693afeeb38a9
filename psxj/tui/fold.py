"""Folding the forest (as htop's + and -): - folds the subtree under the cursor's process, whose row then
says how many processes it hides ([+12]); + unfolds it; * unfolds every one.

A feature of the main screen (psxj.tui.feature). What is folded is a view option (ViewOptions.folded,
built into the rows by psxj.render.views.forest_rows), kept by identity (PID and start time): a fold
survives every refresh and is lost with its process, never passed on to a newcomer with its PID. Outside
the forest the keys say what they are for and how to get there.
"""

from __future__ import annotations

from typing import Optional

from textual.binding import Binding

from psxj.i18n import _
from psxj.model import ProcessRecord
from psxj.render.views import PROCESS
from psxj.tui.feature import Feature

FOREST_ACTIONS = frozenset({"fold", "unfold", "unfold_all"})   # the key bar offers them in the forest only


class Fold(Feature):
    BINDINGS = [
        Binding("minus", "fold", "Fold"),
        Binding("plus,equals_sign", "unfold", "Unfold", show=False),
        Binding("asterisk", "unfold_all", "Unfold all", show=False),
    ]

    def _in_forest(self) -> bool:
        if self.app.options.mode == "forest":
            return True
        self.app.notify(_("- and + fold and unfold the forest's subtrees: t (or F5) shows the forest."))
        return False

    def _record(self) -> Optional[ProcessRecord]:
        row = self.table.current_row
        return row.record if row is not None and row.kind == PROCESS else None

    def action_fold(self) -> None:
        if not self._in_forest():
            return
        table, record = self.table, self._record()
        if record is None:
            return
        rows, at = table.rows, table.cursor
        if record.identity in self.app.options.folded:
            return   # folded already
        if not (at + 1 < len(rows) and rows[at + 1].kind == PROCESS and rows[at + 1].depth > rows[at].depth):
            self.app.notify(_("PID {pid} has no child in the table: nothing to fold.").format(pid=record.pid))
            return
        snapshot = self.app.snapshot
        identity = record.identity

        def fold(options):   # the folds of processes that are gone go too: the set never outgrows the table
            alive = options.folded & {r.identity for r in snapshot.records} if options.folded else frozenset()
            return options._replace(folded=alive | {identity})

        self.post_message(self.ViewChanged(fold))

    def action_unfold(self) -> None:
        if not self._in_forest():
            return
        record = self._record()
        if record is not None and record.identity in self.app.options.folded:
            identity = record.identity
            self.post_message(self.ViewChanged(lambda o: o._replace(folded=o.folded - {identity})))

    def action_unfold_all(self) -> None:
        if self._in_forest() and self.app.options.folded:
            self.post_message(self.ViewChanged(lambda o: o._replace(folded=frozenset())))
