"""The meters line above the table, as htop's header in one line: load average, CPU %, memory used and
total, and the processes by kind (daemons, services, jobs, kernel threads) and state (running, sleeping,
stopped, zombie). # hides and shows it, as htop's # hides its meters.

A feature of the main screen (psxj.tui.feature). At each table shown it counts that table's states
(psxj.render.meters) and, for this machine's live table, reads /proc/loadavg, /proc/meminfo and
/proc/stat (psxj.sources.machine): no helper process, no thread. The kinds need a judgement of every
process, which on a large machine costs more than the rest of a refresh: they are counted again only
as often as keeps that under a hundredth of the time (Meters._kinds), so there they lag a few seconds.

Shown by default on this machine's live table; on a loaded file, a recording or other machines' tables
the machine's figures are not that table's, so the line starts hidden there and # shows the counts
alone. The line is painted only when its text changes (MeterLine, as the status line), and nothing is
read or counted while it is hidden.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Optional, Tuple

from textual.binding import Binding

from psxj.model import Snapshot
from psxj.render.meters import Counts, kind_counts, meter_parts, state_counts
from psxj.sources import machine
from psxj.tui.feature import Feature
from psxj.tui.status import StatusLine


class MeterLine(StatusLine):
    """One line; its text is compared with what it shows, and painted only when it changed."""

    DEFAULT_CSS = """
    MeterLine { height: 1; background: $boost; color: $text-muted; padding: 0 1; }
    """


class Meters(Feature):
    BINDINGS = [Binding("number_sign", "meters", "Meters")]
    KIND_SHARE = 0.01   # of the time, at most, spent judging every process for the kinds' counts

    def __init__(self) -> None:
        super().__init__()
        self.wanted: Optional[bool] = None     # None: as the table has it (shown when it is this machine's, live)
        self._cpu_before: Optional[machine.CpuTimes] = None
        self._cpu_percent: Optional[float] = None
        self._counted: Optional[Snapshot] = None
        self._counts = None                    # the counts of the table _counted (a resize does not count again)
        self._kind_counts: Tuple[Optional[Counter], float, float] = (None, 0.0, 0.0)   # counts, when, cost
        self._load: Optional[Tuple[float, float, float]] = None
        self._memory: Optional[machine.Memory] = None

    @property
    def line(self) -> MeterLine:
        return self.screen.query_one("#meters", MeterLine)

    def _shown(self, snapshot: Optional[Snapshot]) -> bool:
        if self.wanted is not None:
            return self.wanted
        return snapshot is not None and snapshot.live and not self.app.static_source

    def action_meters(self) -> None:
        self.wanted = not self._shown(self.app.snapshot)
        self._show(self.app.snapshot, read_machine=False)

    def after_showing(self, snapshot: Snapshot, partial: bool) -> None:
        # The first frame's rows (partial): the machine's figures only, as the first frame painted them.
        self._show(snapshot, read_machine=True, count=not partial)

    def on_resize(self) -> None:
        self._show(self.app.snapshot, read_machine=False)

    def _kinds(self, snapshot: Snapshot) -> Counter:
        """The table's kinds, counted again when that costs at most KIND_SHARE of the time since they
        were last counted: at every refresh of a few thousand processes; on a machine of 50,000, whose
        judgement of every process takes ~0.1 s, every ten seconds or so (the states, load, CPU and
        memory are every refresh's)."""
        now = time.monotonic()
        kinds, counted_at, cost = self._kind_counts
        if kinds is None or not snapshot.live or now - counted_at >= cost / self.KIND_SHARE:
            kinds = kind_counts(snapshot)
            self._kind_counts = (kinds, now, time.monotonic() - now)
        return kinds

    def _show(self, snapshot: Optional[Snapshot], read_machine: bool, count: bool = True) -> None:
        line = self.line
        shown = self._shown(snapshot) and snapshot is not None
        if line.display != shown:
            line.display = shown
        if not shown:
            self._cpu_before = None   # hidden: nothing read; %CPU is measured again from the next reading
            return
        ours = snapshot.live and not self.app.static_source
        if ours and read_machine:
            now = machine.cpu_times()
            self._cpu_percent = machine.cpu_percent(self._cpu_before, now)
            self._cpu_before = now
        if ours and (read_machine or self._counted is not snapshot):
            self._load, self._memory = machine.load_average(), machine.memory()
        if not count or snapshot is self.app.first_snapshot:
            found = None   # the first frame's rows: not the table's counts
        elif self._counted is snapshot and self._counts is not None:
            found = self._counts
        else:
            found = self._counts = Counts(self._kinds(snapshot), state_counts(snapshot))
        self._counted = snapshot
        parts = meter_parts(found, self._load if ours else None, self._cpu_percent if ours else None,
                            self._memory if ours else None, machine=ours)
        line.show(parts, max(self.screen.size.width - 2, 20))   # the status line's width
