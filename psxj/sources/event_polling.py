"""The fallback where the kernel gives no process events: compare fast snapshots.

Part of the sources stage, beside psxj.sources.connector. A followed subtree is small, so it is
polled every 50 ms: each poll lists /proc, reads the followed processes, and reads only the stat
of PIDs that appeared since the last list, to find new children. Everything else is polled as
whole snapshots every half second, or more slowly when a snapshot itself takes long, so polling
never costs more than about a fifth of a core.

What polling cannot see it says: a process that lives less than one interval may never appear,
several changes between two polls show as one, and each event's time is the poll that noticed
it (`window` says how much earlier it may have happened).
"""

from __future__ import annotations

import os
import time
from typing import List, Optional, Set, Tuple

from psxj.i18n import _
from psxj.model import ProcessRecord
from psxj.sources.proc import parse_stat, read_file

SUBTREE_INTERVAL = 0.05
ALL_INTERVAL = 0.5
MAX_SHARE = 0.2  # slow down so that scanning takes at most this share of the time


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


class Poller:
    """Polls for the tracker (psxj.sources.event_tracker.EventTracker) and hands back polled events."""

    def __init__(self, tracker, interval: Optional[float] = None, scan_seconds: float = 0.0) -> None:
        """`scan_seconds`: how long a whole snapshot took, to pick an interval it fits in."""
        self.tracker = tracker
        self.subtree = tracker.followed is not None
        self.interval = interval or (SUBTREE_INTERVAL if self.subtree else max(ALL_INTERVAL, scan_seconds / MAX_SHARE))
        self._listed: Set[int] = set(int(n) for n in os.listdir("/proc") if n.isdigit())
        self._last = time.monotonic()
        self._last_wall = time.time()

    def describe(self) -> str:
        what = _("the followed processes") if self.subtree else _("all processes")
        return (_("{what} every {ms}: a process that lives less than about {ms} may never be seen, several "
                  "changes between two polls show as one, and what is shown is not complete (polled events are "
                  "marked)").format(what=what, ms=_ms(self.interval)))

    def read(self, timeout: Optional[float]) -> List:
        """Waits for the next poll (at most `timeout` seconds) and returns what it found."""
        due = self._last + self.interval
        now = time.monotonic()
        if due > now:
            wait = due - now if timeout is None else min(due - now, timeout)
            time.sleep(wait)
            if time.monotonic() < due:
                return []
        started = time.monotonic()
        records, scope = self._scan_subtree() if self.subtree else (self.tracker.reader.read_all(), None)
        wall = time.time()
        events = self.tracker.apply_snapshot(records, wall, wall - self._last_wall, scope)
        took = time.monotonic() - started
        if took > self.interval * MAX_SHARE:  # a huge process table: poll less often, and say so
            self.interval = took / MAX_SHARE
        self._last, self._last_wall = started, wall
        return events

    def _scan_subtree(self) -> Tuple[List[ProcessRecord], Set[int]]:
        followed = self.tracker.followed
        listed = set(int(n) for n in os.listdir("/proc") if n.isdigit())
        appeared = sorted(listed - self._listed)
        self._listed = listed
        reader = self.tracker.reader
        records = [r for r in reader.read_pids(sorted(followed & listed))]
        inside = {r.pid for r in records} | set(followed)
        # New PIDs: one stat read each to see whether its parent is in the tree. A child can
        # appear in the same poll as its parent, so go round until nothing more joins.
        parents = {}
        for pid in appeared:
            try:
                parents[pid] = int(parse_stat(read_file(f"/proc/{pid}/stat"))[1][1])
            except (OSError, IndexError, ValueError):
                continue
        joined = True
        while joined:
            joined = False
            for pid, ppid in list(parents.items()):
                if ppid in inside:
                    inside.add(pid)
                    del parents[pid]
                    joined = True
                    record = reader.read_process(pid)
                    if record is not None:
                        records.append(record)
        return records, set(followed) | {r.pid for r in records}
