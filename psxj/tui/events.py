"""Live events in the interface: the kernel's fork, exec, setsid and exit as they happen (e shows the pane,
E changes whose), what they prove for the kinds (adoptions seen), and sessions changed between refreshes.

A feature of the main screen (psxj.tui.feature); the pane is psxj.tui.events_pane. The feed opens in a
worker (proving the kernel's subscription takes up to a second) and is the app's once open, as is the
event log: both outlive the screen, and the details and the demo read them too. While the pane is closed
the feed is quiet (psxj.sources.event_stream.EventFeed.quiet): it reads events in batches for the log.
"""

from __future__ import annotations

import time
from typing import List

from textual import work
from textual.binding import Binding
from textual.message import Message

from psxj.escape import safe_text
from psxj.i18n import _
from psxj.judge.kinds import Observations, offer_observations
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
        self._unavailable_because = ""   # why the kernel's events could not be opened, once tried
        self._sessions_before: dict = {}   # identity -> SID at the last refresh, to tell session changes
        self._told_dropped = False
        self._observed = (0, None)         # (the log's adoptions_seen, the Observations made of them)
        self._sessions_of = None           # the snapshot _sessions_before was last brought up to
        self._take_timer = None            # take_events, while the pane shows

    @property
    def pane(self) -> EventsPane:
        return self.query_one("#events", EventsPane)

    def on_mount(self) -> None:
        self.pane.display = False

    def start(self) -> None:
        """Listen to the kernel's events while the table is live (psxj --no-events: never)."""
        self._open()

    def _watch_pane(self) -> None:
        """While the pane shows, events are taken into it twice a second as they come; while it does not,
        the feed reads them in batches for the event log alone (EventFeed.quiet) and nothing here wakes."""
        shown = self.pane.display
        feed = self.app.event_feed
        if feed is not None:
            feed.quiet = not shown
        if shown and self._take_timer is None:
            self._take_timer = self.set_interval(0.5, self.take_events)
        elif not shown and self._take_timer is not None:
            self._take_timer.stop()
            self._take_timer = None

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
            feed = EventFeed(on_events=app.event_log.add_many, initial_rows=rows_already_read, quiet=True)
        except OSError as exc:
            app.call_from_thread(self._unavailable, str(exc))
            return
        if app.is_running:
            app.call_from_thread(self._opened, feed)
        else:
            feed.close()

    def _opened(self, feed) -> None:
        self.post_message(self.Opened(feed))   # the app's from now on: it closes it when psxj quits
        feed.quiet = not self.pane.display
        if feed.notice:
            self.app.notify(feed.notice, title=_("Live events"), severity="warning")

    def _unavailable(self, why: str) -> None:
        self._unavailable_because = why
        self.post_message(self.StatusChanged())
        self.app.notify(_("No live events: {why}").format(why=why), title=_("Live events"), severity="warning")

    def take_events(self) -> None:
        """Every half second while the pane shows: move new events into it."""
        feed = self.app.event_feed
        if feed is None:
            return
        events = feed.drain()
        pane = self.pane
        pane.pause(self.app.paused)   # p pauses the pane too: it stands still, what comes is held
        if pane.display and events:
            pane.add(events, self._in_scope(pane.scope))
        dropped = self._tell_dropped()
        if pane.display:
            pane.status = safe_text("; ".join(filter(None, (dropped, feed.status_line()))))
            pane.show()

    def _tell_dropped(self) -> str:
        """The history is bounded in bytes: say (once) when it dropped some."""
        dropped = self.app.event_log.dropped_note()
        if dropped and not self._told_dropped:
            self._told_dropped = True
            self.app.notify(dropped + _("; birth stories say where theirs are cut"), title=_("Live events"),
                            severity="warning")
        return dropped

    def after_showing(self, snapshot: Snapshot, partial: bool) -> None:
        if snapshot.live and not partial and not self.pane.display:
            self._tell_dropped()   # the pane's timer says it while the pane shows

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
            offer_observations(snapshot, self._observations())
            self._note_session_changes(snapshot)

    def _observations(self):
        """What the events proved for the kinds: adoptions seen as they happened. None while there are
        none, and the same object while none is added: the kinds of unchanged rows then carry over
        from the refresh before (psxj.judge.kinds.SnapshotKinds.carry_from)."""
        log = self.app.event_log
        seen, observations = self._observed
        if log.adoptions_seen == seen:
            return observations
        seen = log.adoptions_seen   # read before the list: one added meanwhile makes the next refresh look again
        observations = Observations()
        for adoption in self.app.event_log.adoptions():
            was = adoption.old_parent_command or _("its parent")
            observations.record_adoption(adoption.child, adoption.new_parent,
                                         _("{parent} ({pid}) exited at {time}").format(
                                             parent=was, pid=adoption.old_parent,
                                             time=time.strftime('%H:%M:%S', time.localtime(adoption.time))))
        self._observed = (seen, observations)
        return observations

    def _note_session_changes(self, snapshot: Snapshot) -> None:
        """Rows whose session changed since the last refresh: said in the events pane. A live refresh
        says which rows changed (the others are the very same records): only those are looked at."""
        before = self._sessions_before
        follows = before and snapshot.changed is not None and snapshot.before is self._sessions_of \
            and len(before) <= 2 * len(snapshot) + 1000   # else built again, without the processes gone
        looked_at = snapshot.changed if follows else snapshot.records
        if before:
            pane = self.pane
            for record in looked_at:
                was = before.get(record.identity)
                if was is not None and was != record.sid:
                    pane.note(_("{time}     (refresh) PID {pid} {comm}: SID {was} -> {sid}, its session changed "
                                "since the last refresh").format(time=time.strftime('%H:%M:%S'), pid=record.pid,
                                                                 comm=record.comm, was=was, sid=record.sid))
        if follows:
            before.update((r.identity, r.sid) for r in looked_at)
        else:
            self._sessions_before = {r.identity: r.sid for r in snapshot.records}
        self._sessions_of = snapshot

    def action_events(self) -> None:
        pane = self.pane
        if not self.app.use_events:
            self.app.notify(_("Live events are off (psxj --no-events), or this table is not live."))
            return
        pane.display = not pane.display
        self._watch_pane()
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
        self._watch_pane()
        pane.clear()
        self.app.notify(_("Events of {scope} from now on.").format(scope=_(SCOPE_WORDS[pane.scope])))

    def status_parts(self) -> List[StatusPart]:
        feed = self.app.event_feed
        if feed is None:
            # A live table without them says so (psxj --no-events, or the kernel's connector refused);
            # a loaded file has no events to speak of.
            if self.app.static_source or self.app.use_events and not self._unavailable_because:
                return []
            return [StatusPart(3, _("live events off (psxj --no-events)") if not self.app.use_events
                               else _("live events off: {why}").format(why=self._unavailable_because),
                               _("events off"))]
        live = feed.mode == "events"
        if live:
            return [StatusPart(3, _("live events on (e shows them)"), _("events on"))]
        return [StatusPart(3, _("events polled, no kernel events here (e shows them)"), _("events polled"))]
