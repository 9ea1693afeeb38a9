"""Where the table comes from, and refreshing it when it is live: one collector thread (Collector) waits for
each snapshot, the UI thread shows it and only then schedules the next, so reads never overlap and nothing
blocks the screen. p pauses, r reads now. A loaded file is read once (a recording's tables: psxj.tui.time_travel).

A feature of the main screen (psxj.tui.feature). The reader is the app's (it outlives the screen): a
helper process for this machine's /proc (psxj.sources.reader), or other machines' (--host).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, List, Optional

from textual.binding import Binding
from textual.message import Message

from psxj.i18n import _
from psxj.model import Snapshot
from psxj.tui.feature import Feature, StatusPart


class Collector:
    """One thread for the whole life of the interface that reads the table when it is due and hands it over.

    A Textual thread worker per refresh cost the idle interface more than the refresh itself: a worker
    object, an executor thread's wake-up and three state-change messages through the app, every 2 s.
    This thread sleeps on an Event until a read is due (`due(delay)`), reads (the reader waits on its
    helper's pipe, without the GIL), and posts the snapshot (post_message is safe from any thread).
    A read asked for while one runs is done right after it: `r` never gets an old table."""

    def __init__(self, read: Callable[[], Snapshot], deliver: Callable[[Snapshot], None],
                 fail: Callable[[BaseException], None]) -> None:
        self._read, self._deliver, self._fail = read, deliver, fail
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._due: Optional[float] = None   # monotonic time of the next read; None: none asked for
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="psxj-collect", daemon=True)
        self._thread.start()

    def due(self, delay: float = 0.0) -> None:
        """Read in `delay` seconds (replacing any read asked for before that has not begun)."""
        with self._lock:
            self._due = time.monotonic() + delay
        self._wake.set()

    def cancel(self) -> None:
        with self._lock:
            self._due = None
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self.cancel()

    def _run(self) -> None:
        while not self._stopped:
            with self._lock:
                due = self._due
                left = None if due is None else due - time.monotonic()
                if left is not None and left <= 0:
                    self._due = None
            if left is None or left > 0:
                self._wake.wait(left)
                self._wake.clear()
                continue
            try:
                snapshot = self._read()
            except BaseException as exc:   # a bug, not a missing /proc (the readers handle that): the app fails
                if not self._stopped:
                    self._fail(exc)
                return
            if not self._stopped:
                self._deliver(snapshot)
            del snapshot   # not kept while waiting: a table of 50,000 is tens of MiB, and the app has it


class Refresh(Feature):
    BINDINGS = [
        Binding("p", "pause", "Pause"),
        Binding("r", "refresh_now", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self._collector: Optional[Collector] = None

    def start(self) -> None:
        """The first table: the first frame's rows while the rest are read, then every row."""
        app = self.app
        if app.reader is None:
            from psxj.sources.reader import SnapshotReader

            app.reader = SnapshotReader()
        if app.first_snapshot is not None:
            self.post_message(self.ShowSnapshot(app.first_snapshot, partial=True))
        self.collect()

    def collect(self, delay: float = 0.0) -> None:
        """Read the table in `delay` seconds, off the interface's thread."""
        if self._collector is None:
            self._collector = Collector(self.app.reader.read, self._deliver, self._fail)
        self._collector.due(delay)

    def _deliver(self, snapshot: Snapshot) -> None:   # on the collector's thread
        if self.app.is_running:
            self.post_message(self.ShowSnapshot(snapshot))

    class ReadFailed(Message):
        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    def _fail(self, error: BaseException) -> None:   # on the collector's thread
        self.post_message(self.ReadFailed(error))

    def on_refresh_read_failed(self, message: ReadFailed) -> None:
        """Raised again on the interface's thread, as a failed worker's error is: psxj ends with the
        traceback and a non-zero exit."""
        raise message.error

    def on_unmount(self) -> None:
        if self._collector is not None:
            self._collector.stop()

    def after_showing(self, snapshot: Snapshot, partial: bool) -> None:
        if not self.app.static_source and not self.paused and not partial:
            self.collect(self.app.delay)

    def action_pause(self) -> None:
        self.paused = not self.paused
        if self.paused and self._collector is not None:
            self._collector.cancel()
        elif not self.paused:
            self.collect()
        self.post_message(self.StatusChanged())

    def action_refresh_now(self) -> None:
        if self.app.static_source:
            return
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
