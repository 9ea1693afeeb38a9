"""Live events in the interface: the kernel's fork, exec, setsid and exit as they happen (e shows the pane,
E changes whose), what they prove for the kinds (adoptions seen), and sessions changed between refreshes.

A feature of the main screen (psxj.tui.feature); the pane is psxj.tui.events_pane. The feed opens in a
worker (proving the kernel's subscription takes up to a second) and is the app's once open, as is the
event log: both outlive the screen, and the details and the demo read them too.
"""

from __future__ import annotations

import time
from typing import List

from textual import work
from textual.binding import Binding
from textual.message import Message

from psxj.escape import safe_text
from psxj.i18n import _
from psxj.model import Snapshot
from psxj.render.views import PROCESS
from psxj.tui.events_pane import SCOPE_WORDS, SCOPES, EventsPane, event_pids
from psxj.tui.feature import Feature, StatusPart


class Events(Feature):
    class Opened(Message):
        """The event feed is open (psxj.sources.event_stream.EventFeed): the app keeps it."""

        def __init__(self, feed) -> None:
            super().__init__()
            self.feed = feed

    BINDINGS = [
        Binding("e", "events", "Events"),
        Binding("E", "events_scope", "Events of…", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._sessions_before: dict = {}   # identity -> SID at the last refresh, to tell session changes
        self._told_dropped = False

    @property
    def pane(self) -> EventsPane:
        return self.query_one("#events", EventsPane)

    def on_mount(self) -> None:
        self.pane.display = False

    def start(self) -> None:
        """Listen to the kernel's events while the table is live (psxj --no-events: never)."""
        self._open()
        self.set_interval(0.5, self.take_events)

    @work(thread=True, exclusive=True, group="events")
    def _open(self) -> None:
        """Open the event feed off the UI thread: proving the kernel's subscription takes up to 1 s."""
        from psxj.sources.event_stream import EventFeed

        app = self.app

        def rows_already_read():
            # The table the helper process read: never a second read of all of /proc in this
            # interpreter (seconds of held GIL with 50,000 processes). Wait for it, unless psxj quits.
            while app.is_running:
                snapshot = app.snapshot
                if snapshot is not None and snapshot.partial_of is None:
                    return list(snapshot.records)
                time.sleep(0.05)
            return []

        try:
            feed = EventFeed(on_events=app.event_log.add_many, initial_rows=rows_already_read)
        except OSError as exc:
            app.call_from_thread(self._unavailable, str(exc))
            return
        if app.is_running:
            app.call_from_thread(self._opened, feed)
        else:
            feed.close()

    def _opened(self, feed) -> None:
        self.post_message(self.Opened(feed))   # the app's from now on: it closes it when psxj quits
        if feed.notice:
            self.app.notify(feed.notice, title=_("Live events"), severity="warning")

    def _unavailable(self, why: str) -> None:
        self.app.notify(_("No live events: {why}").format(why=why), title=_("Live events"), severity="warning")

    def take_events(self) -> None:
        """Every half second: move new events into the pane (when open), keep the feed drained."""
        feed = self.app.event_feed
        if feed is None:
            return
        events = feed.drain()
        pane = self.pane
        pane.pause(self.app.paused)   # p pauses the pane too: it stands still, what comes is held
        if pane.display and events:
            pane.add(events, self._in_scope(pane.scope))
        dropped = self.app.event_log.dropped_note()   # the history is bounded in bytes: say when it dropped some
        if dropped and not self._told_dropped:
            self._told_dropped = True
            self.app.notify(dropped + _("; birth stories say where theirs are cut"), title=_("Live events"),
                            severity="warning")
        if pane.display:
            pane.status = safe_text("; ".join(filter(None, (dropped, feed.status_line()))))
            pane.show()

    def _in_scope(self, scope: str):
        snapshot = self.app.snapshot
        if scope == "all" or snapshot is None:
            return lambda event: True
        if scope == "subtree":
            record = self.table.current
            wanted = snapshot.family(record.pid) if record is not None else set()
        else:
            wanted = {row.record.pid for row in self.table.rows if row.kind == PROCESS}
        return lambda event: bool(event_pids(event) & wanted)

    def before_showing(self, snapshot: Snapshot, partial: bool) -> None:
        """A live refresh: what the events proved goes into its kinds, and the pane says which rows
        changed session since the refresh before."""
        if snapshot.live and not partial:
            snapshot.observations = self._observations()
            self._note_session_changes(snapshot)

    def _observations(self):
        """What the events proved for the kinds: adoptions seen as they happened."""
        from psxj.judge.kinds import Observations

        observations = Observations()
        for adoption in self.app.event_log.adoptions():
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
            pane = self.pane
            for record in snapshot.records:
                was = before.get(record.identity)
                if was is not None and was != record.sid:
                    pane.note(_("{time}     (refresh) PID {pid} {comm}: SID {was} -> {sid}, its session changed "
                                "since the last refresh").format(time=time.strftime('%H:%M:%S'), pid=record.pid,
                                                                 comm=record.comm, was=was, sid=record.sid))
        self._sessions_before = now

    def action_events(self) -> None:
        pane = self.pane
        if not self.app.use_events:
            self.app.notify(_("Live events are off (psxj --no-events), or this table is not live."))
            return
        pane.display = not pane.display
        if pane.display:
            feed = self.app.event_feed
            pane.status = safe_text(feed.status_line()) if feed else _("events: opening…")
            pane.pause(self.app.paused)
            pane.show()
        elif self.screen.focused is pane:
            self.table.focus()

    def action_events_scope(self) -> None:
        pane = self.pane
        pane.scope = SCOPES[(SCOPES.index(pane.scope) + 1) % len(SCOPES)]
        pane.display = True
        pane.clear()
        self.app.notify(_("Events of {scope} from now on.").format(scope=_(SCOPE_WORDS[pane.scope])))

    def status_parts(self) -> List[StatusPart]:
        feed = self.app.event_feed
        if feed is None:
            return []
        live = feed.mode == "events"
        if live:
            return [StatusPart(3, _("live events on (e shows them)"), _("events on"))]
        return [StatusPart(3, _("events polled, no kernel events here (e shows them)"), _("events polled"))]
