"""Where the table comes from, and refreshing it when it is live: a worker thread waits for each snapshot,
the UI thread shows it and only then schedules the next, so refreshes never overlap and nothing blocks the
screen. p pauses, r reads now. A loaded file is read once (a recording's tables: psxj.tui.time_travel).

A feature of the main screen (psxj.tui.feature). The reader is the app's (it outlives the screen): a
helper process for this machine's /proc (psxj.sources.reader), or other machines' (--host).
"""

from __future__ import annotations

import os
import time
from typing import List

from textual import work
from textual.binding import Binding

from psxj.i18n import _
from psxj.model import Snapshot
from psxj.tui.feature import Feature, StatusPart


class Refresh(Feature):
    BINDINGS = [
        Binding("p", "pause", "Pause"),
        Binding("r", "refresh_now", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self._timer = None

    def start(self) -> None:
        """The first table: the first frame's rows while the rest are read, then every row."""
        app = self.app
        if app.reader is None:
            from psxj.sources.reader import SnapshotReader

            app.reader = SnapshotReader()
        if app.first_snapshot is not None:
            self.post_message(self.ShowSnapshot(app.first_snapshot, partial=True))
        self.collect()

    @work(thread=True, exclusive=True, group="collect")
    def collect(self) -> None:
        snapshot = self.app.reader.read()
        if self.app.is_running:
            self.app.call_from_thread(self.post_message, self.ShowSnapshot(snapshot))

    def after_showing(self, snapshot: Snapshot, partial: bool) -> None:
        if not self.app.static_source and not self.paused and not partial:
            self._timer = self.set_timer(self.app.delay, self.collect)

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused and self._timer is not None:
            self._timer.stop()
        elif not self.paused:
            self.collect()
        self.post_message(self.StatusChanged())

    def action_refresh_now(self) -> None:
        if self.app.static_source:
            return
        if self._timer is not None:
            self._timer.stop()
        self.collect()

    def status_parts(self) -> List[StatusPart]:
        """Where the table comes from: a file (when it was taken), or the live table (how often it is read,
        or that it is paused). A recording says which of its tables it shows itself (psxj.tui.time_travel)."""
        if self.app.static_source:
            return self._loaded_file_part() if self.app.time_travel is None else []
        state = _(", paused") if self.paused else _(", every {delay:g}s").format(delay=self.app.delay)
        return [StatusPart(0, "psxj  " + _("live") + state, _("live") + (_(", paused") if self.paused else ""))]

    def _loaded_file_part(self) -> List[StatusPart]:
        snap = self.app.snapshot
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(snap.taken_at)) if snap.time_source else None
        taken = _("taken {when}, from {source}").format(when=when, source=_(snap.time_source)) if when \
            else _("time unknown")
        return [StatusPart(0, "psxj  " + _("{source} ({taken}, read-only)").format(source=snap.source, taken=taken),
                           _("{name} (read-only)").format(name=os.path.basename(snap.source)))]
