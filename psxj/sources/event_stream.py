"""Where process events come from: the kernel's proc connector, or polling where it gives none.

Part of the sources stage. EventStream is what `psxj events` reads; EventFeed runs one in a
thread for the interface, which drains it without ever blocking.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Callable, Deque, Dict, Iterable, List, Optional, Tuple

from psxj.escape import Escaper, safe_text
from psxj.i18n import _, ngettext
from psxj.model import ProcessRecord
from psxj.sources.event_tracker import EventTracker, parent_now
from psxj.sources.events import EXEC, EXIT, FORK, GAP, EventStats, ProcessEvent, RecordFilter, event_bytes
from psxj.sources.proc import ProcReader

LINGER = 0.02        # in a storm, seconds to let events gather after the first: 50 wake-ups a second
QUIET_LINGER = 0.5   # a feed nobody watches (EventFeed.quiet): at most two wake-ups a second, whatever the rate
STORM_RATE = 200     # kernel events a second from which psxj lingers; below it each is handled at once
_POLLED_WAIT = 0.2   # polling, a read waiting for ever looks at wake() this often (it wakes to poll anyway)


class EventStream:
    """Process events from the kernel, or by polling where the kernel gives none.

    `follow`: a PID, its process and descendants only. `selection`: anything with
    matches(record) (a psxj.select.Selection). `kinds`: only these event kinds are handed out
    (the kernel filters by type from Linux 6.6). `notice` is set once when psxj had to poll: the
    reason, and how short-lived a process may be and still be missed; polled events carry
    polled=True. Opening subscribes (up to a second when the kernel does not answer) and reads
    the processes alive now: call it off the interface's thread.
    """

    def __init__(self, follow: Optional[int] = None, selection: Optional[RecordFilter] = None, poll: bool = False,
                 kinds: Optional[Iterable[str]] = None, receive_buffer: Optional[int] = None,
                 escaper: Optional[Escaper] = None,
                 initial_rows: Optional[Callable[[], List[ProcessRecord]]] = None) -> None:
        from psxj.sources.cn_proc import MASK_OF, PROC_EVENT_ALL
        from psxj.sources.connector import DEFAULT_RECEIVE_BUFFER, ConnectorListener, EventsUnavailable

        self.reader = ProcReader(escaper)
        self.tracker = EventTracker(self.reader, follow=follow, selection=selection)
        self.kinds = frozenset(kinds) if kinds else None
        self.listener: Optional[ConnectorListener] = None
        self.poller = None
        self.notice: Optional[str] = None
        self.reason: Optional[str] = None
        self._rate_since = time.monotonic()
        self._rate_count = 0
        self._storm = False
        self._woken = False
        mask = PROC_EVENT_ALL
        if self.kinds is not None:
            # EXIT and FORK are always needed inside: they keep the rows and the followed tree right.
            mask = sum({MASK_OF[k] for k in self.kinds | {FORK, EXIT, EXEC}})
        if poll:
            self.reason = _("polling was asked for (--poll)")
        else:
            try:
                self.listener = ConnectorListener(mask, receive_buffer or DEFAULT_RECEIVE_BUFFER)
            except EventsUnavailable as exc:
                self.reason = str(exc)
        started = time.monotonic()
        try:
            # After subscribing, so nothing falls between the snapshot and the first event.
            self.tracker.seed(initial_rows() if initial_rows is not None else self._initial_rows())
        except BaseException:
            self.close()
            raise
        if self.listener is None:
            from psxj.sources.event_polling import Poller

            self.poller = Poller(self.tracker, scan_seconds=time.monotonic() - started)
            self.notice = (_("process events unavailable: {reason}; polling instead, {polling}").format(
                               reason=self.reason,
                               polling=self.poller.describe()))

    def _initial_rows(self) -> List[ProcessRecord]:
        """Every process's row; with --follow only the followed tree's, found from each process's
        stat alone (a fifth of the cost of a whole row, on a machine with 10,000 processes)."""
        follow = self.tracker.follow
        if follow is None:
            return self.reader.read_all()
        children: Dict[int, List[int]] = collections.defaultdict(list)
        for name in os.listdir("/proc"):
            if name.isdigit():
                ppid = parent_now(int(name))
                if ppid is not None:
                    children[ppid].append(int(name))
        tree, pending = {follow}, [follow]
        while pending:
            for child in children.get(pending.pop(), ()):
                if child not in tree:
                    tree.add(child)
                    pending.append(child)
        return self.reader.read_pids(sorted(tree))

    @property
    def mode(self) -> str:
        return "events" if self.listener is not None else "polling"

    @property
    def stats(self) -> EventStats:
        return self.tracker.stats

    def status_line(self) -> str:
        """One line for a status bar: where events come from and what was lost."""
        if self.listener is None:
            return _("polling every {ms:.0f} ms (not complete)").format(ms=self.poller.interval * 1000)
        text = _("kernel events (receive buffer {kib} KiB").format(kib=self.listener.receive_buffer >> 10)
        text += _(", filtered by type)") if self.listener.filtered else ")"
        stats = self.stats
        if stats.gaps:
            losses = ngettext("{gaps} loss", "{gaps} losses", stats.gaps).format(gaps=stats.gaps)
            lost = _("an unknown number of events lost") if stats.lost is None else \
                ngettext("{lost} event lost", "{lost} events lost", stats.lost).format(lost=stats.lost)
            text += _("; {losses}, {lost}").format(losses=losses, lost=lost)
        return text

    def fileno(self) -> int:
        return self.listener.fileno() if self.listener is not None else -1

    def read(self, timeout: Optional[float] = None, linger: float = 0.0) -> List[ProcessEvent]:
        """The next events, waiting up to `timeout` seconds (None: until there are some, or wake()).
        `linger`: once the first event is there, let more gather this long before reading them (as in a
        storm, whatever the rate): fewer wake-ups, but a process's exec is read from /proc that much later."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if self.listener is not None:
                items = self.listener.read(left, linger=max(linger, LINGER if self._storm else 0.0))
                self._measure_rate(len(items))
                events = self.tracker.handle(items)
            else:
                events = self.poller.read(_POLLED_WAIT if left is None else min(left, _POLLED_WAIT))
            if self.kinds is not None:
                events = [e for e in events if e.kind in self.kinds or e.kind == GAP]
            if events or self._woken or (deadline is not None and time.monotonic() >= deadline):
                self._woken = False  # a wake() before this read began ends it too, at once
                return events

    def wake(self) -> None:
        """End a read() that is waiting (from another thread): it returns, maybe with nothing."""
        self._woken = True
        if self.listener is not None:
            self.listener.wake()

    def _measure_rate(self, count: int) -> None:
        """Linger only in a storm: otherwise an EXEC is read from /proc as soon as it comes, while the
        process (often a short one) still runs its new command."""
        self._rate_count += count
        now = time.monotonic()
        if now - self._rate_since >= 0.5:
            self._storm = self._rate_count / (now - self._rate_since) >= STORM_RATE
            self._rate_since, self._rate_count = now, 0

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()


class EventFeed:
    """Events for the interface: a background thread reads the stream into a deque bounded in events
    and in bytes (the interface drains it twice a second, but may stall), and `drain()` hands out
    what came since the last call without ever blocking the caller.

    `on_events`, if given, is called from the thread with each batch (an EventLog's add_many).
    Opening blocks as EventStream's does (up to a second): start it from a worker.

    `quiet`: nobody shows the events as they come (the interface's events pane is closed): they are
    read in batches, at most two wake-ups a second (QUIET_LINGER), and only given to `on_events`, not
    kept for drain(). A process's exec is then read from /proc up to half a second late: one that has
    exited by then keeps the command it had before (its event says its row is the last one read).
    """

    def __init__(self, follow: Optional[int] = None, selection: Optional[RecordFilter] = None, capacity: int = 10000,
                 on_events: Optional[Callable[[List[ProcessEvent]], None]] = None, poll: bool = False,
                 initial_rows: Optional[Callable[[], List[ProcessRecord]]] = None,
                 max_bytes: int = 16 * 1024 * 1024, quiet: bool = False) -> None:
        self._events: Deque[Tuple[ProcessEvent, int]] = collections.deque()   # each with its event_bytes
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._on_events = on_events
        self.dropped = 0  # events pushed out of the deque before anyone drained them
        self._quiet = quiet
        self.error: Optional[str] = None
        # initial_rows: the interface already has a table (read by its helper process); seeding from it
        # spares its own interpreter a second read of all of /proc.
        self.stream = EventStream(follow=follow, selection=selection, poll=poll, initial_rows=initial_rows)
        self._thread = threading.Thread(target=self._run, name="psxj-events", daemon=True)
        self._thread.start()

    @property
    def quiet(self) -> bool:
        return self._quiet

    @quiet.setter
    def quiet(self, quiet: bool) -> None:
        was, self._quiet = self._quiet, quiet
        if was and not quiet:
            self.stream.wake()   # events gathering for a quiet read: read them now, at once from then on

    @property
    def notice(self) -> Optional[str]:
        return self.stream.notice

    @property
    def mode(self) -> str:
        return self.stream.mode

    def status_line(self) -> str:
        text = self.stream.status_line()
        if self.dropped:
            text += ngettext("; {dropped} event not drained in time", "; {dropped} events not drained in time",
                             self.dropped).format(dropped=self.dropped)
        return _("{text}; stopped: {error}").format(text=text, error=self.error) if self.error else text

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                # Until there are some: an idle machine never wakes this thread.
                events = self.stream.read(linger=QUIET_LINGER if self._quiet else 0.0)
                if not events:
                    continue
                if not self._quiet:   # as it is now: a pane opened while they gathered shows them
                    self._keep(events)
                if self._on_events is not None:
                    self._on_events(events)
        except Exception as exc:  # the interface shows it; the thread must not die silently
            self.error = safe_text(f"{type(exc).__name__}: {exc}")
        finally:
            self.stream.close()

    def _keep(self, events: List[ProcessEvent]) -> None:
        """For drain(), within the bounds."""
        with self._lock:
            for event in events:
                cost = event_bytes(event)
                self._events.append((event, cost))
                self._bytes += cost
            while self._events and (len(self._events) > self.capacity or self._bytes > self.max_bytes):
                self._bytes -= self._events.popleft()[1]
                self.dropped += 1

    def drain(self) -> List[ProcessEvent]:
        with self._lock:
            events = [event for event, _cost in self._events]
            self._events.clear()
            self._bytes = 0
        return events

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self.stream.wake()
        self._thread.join(timeout)
