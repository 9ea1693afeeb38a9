"""Each process's birth story: forked by whom, exec'd, setsid(), orphaned, adopted by whom.

Part of the judge stage: it reads ProcessEvents (psxj.sources.events) and snapshots, and
decides nothing about the screen. Two kinds of story:

- EventLog.story(identity): what psxj saw happen, event by event, since it started listening.
  Where events were lost (a GAP) while the process lived, the story says so at that point.
- inferred_story(snapshot, record): without events, what /proc says now and what can be
  inferred from it, each inference flagged as one (StoryLine.inferred).

It also collects observed adoptions: a live process whose parent changed (same PID and start
time) because its parent exited, with that EXIT event as proof. A process that received such an
orphan and is not PID 1 (nor a container's init) is a subreaper, observed, not guessed by name.

EventLog is thread-safe: a feed thread adds, the interface asks. It is bounded in bytes, not only in
lives (another user can exec 30 KB command lines thousands of times a second): each event is kept
slim (the escaped command, once per life while it does not change; no raw arguments, no orphan
list), the oldest ended lives go first and then the middle of the biggest lives, and it says what
it dropped (dropped_note, and a line in the stories it cut).
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Deque, Dict, Iterable, List, NamedTuple, Optional, Tuple

from psxj.i18n import _, ngettext
from psxj.judge.kinds import adopts_every_orphan
from psxj.model import ProcessRecord, Snapshot
from psxj.sources.cn_proc import wait_status_text
from psxj.sources.events import (
    COMM,
    COREDUMP,
    EVENT_OVERHEAD,
    EXEC,
    EXIT,
    FORK,
    GAP,
    GID,
    PTRACE,
    ROW_LAST,
    ROW_OVERHEAD,
    ROW_READ,
    SID,
    UID,
    Orphan,
    ProcessEvent,
    text_bytes,
)

Identity = Tuple[int, Optional[int]]  # (pid, start ticks), as ProcessRecord.identity


class StoryLine(NamedTuple):
    time: Optional[float]                # None: the moment is not known
    text: str                            # escaped, ready to print
    inferred: bool                       # True: a guess from what /proc shows now, not something seen
    event: Optional[ProcessEvent] = None  # the event it tells, when one was seen

    def display(self) -> str:
        """The text with its status: an inference says it is one."""
        return _("inferred: {text}").format(text=self.text) if self.inferred else self.text


class Adoption(NamedTuple):
    """A live process's parent changed: its parent exited and the kernel gave it a new one."""

    child: Identity
    child_command: str
    old_parent: Optional[int]
    old_parent_command: Optional[str]
    new_parent: int
    new_parent_command: str
    time: float                  # the moment it was seen (the old parent's exit, or the child's own exit)
    proof: ProcessEvent          # the EXIT event that shows it
    at_parent_exit: bool         # True: seen as the parent exited; False: only at the child's own exit
    new_parent_namespace_init: bool = False


class ObservedSubreaper(NamedTuple):
    pid: int
    command: str
    adoptions: Tuple[Adoption, ...]  # the proof: orphans it received


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return time.strftime("%H:%M:%S", time.localtime(whole)) + f".{int((seconds - whole) * 1000):03d}"


def _name(pid: Optional[int], command: Optional[str]) -> str:
    if pid is None:
        return "?"
    if pid == 1:
        return "PID 1 (init)"
    return f"PID {pid} ({command})" if command else f"PID {pid}"


class Life:
    """One process from its first event to its exit. Identity: PID and start ticks."""

    MAX_EVENTS = 200  # a process that execs or renames itself forever keeps its first and last ones
    KEEP_FIRST = MAX_EVENTS // 4   # dropped from the middle: the first ones and the latest stay

    def __init__(self, pid: int, first_seen: float, start_ticks: Optional[int], start_exact: bool = False,
                 born: Optional[ProcessEvent] = None) -> None:
        self.pid = pid
        self.born = born  # its FORK, when psxj saw it
        self.first_seen = first_seen
        self.start_ticks = start_ticks
        self.start_exact = start_exact
        self.events: List[ProcessEvent] = []
        self.costs: List[int] = []   # what each event is counted as in EventLog's bound
        self.text_cost = 0           # its commands, each counted once (events share them)
        self.command: Optional[str] = None   # its command now, the one text its events share
        self.row_in: Optional[ProcessRecord] = None     # the last row an event brought, and the slim copy kept
        self.row_kept: Optional[ProcessRecord] = None   # of it: events that bring the same row share the copy
        self.skipped = 0
        self.adoptions: List[Adoption] = []
        self.ended: Optional[ProcessEvent] = None

    @property
    def identity(self) -> Identity:
        return (self.pid, self.start_ticks)

    @property
    def cost(self) -> int:
        return sum(self.costs) + self.text_cost

    def add(self, event: ProcessEvent, cost: int) -> int:
        """Keep the event; the bytes this frees (an event from the middle, past MAX_EVENTS)."""
        if event.row is not None and event.row.start_ticks is not None and not self.start_exact \
                and event.row_basis == ROW_READ:
            self.start_ticks, self.start_exact = event.row.start_ticks, True
        freed = 0
        if len(self.events) >= self.MAX_EVENTS:
            freed = self._drop(self.KEEP_FIRST, 1)
        self.events.append(event)
        self.costs.append(cost)
        if event.kind == EXIT:
            self.ended = event
        return freed

    def thin(self) -> Tuple[int, int]:
        """Drop half of the events in the middle (the first ones and the last stay): (bytes, events)."""
        keep_first = min(self.KEEP_FIRST, len(self.events) // 4)
        count = max((len(self.events) - keep_first - 1) // 2, 0)   # the last event stays
        return self._drop(keep_first, count), count

    def _drop(self, at: int, count: int) -> int:
        freed = sum(self.costs[at:at + count])
        del self.events[at:at + count]
        del self.costs[at:at + count]
        self.skipped += count
        return freed

    def matches(self, start_ticks: Optional[int]) -> bool:
        if start_ticks is None or self.start_ticks is None:
            return True
        return abs(self.start_ticks - start_ticks) <= (0 if self.start_exact else 1)

    def spans(self, moment: float) -> bool:
        begin = self.born.time if self.born is not None else float("-inf")
        end = self.ended.time if self.ended is not None else float("inf")
        return begin <= moment <= end


class EventLog:
    """Events by process, for stories and adoptions. Memory is bounded twice: `max_lives` lives, and
    `max_bytes` for everything kept (see the module's doc); the oldest ended lives go first."""

    MAX_ADOPTIONS = 10000

    def __init__(self, max_lives: int = 50000, started_at: Optional[float] = None,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self.started_at = time.time() if started_at is None else started_at
        self.max_lives = max_lives
        self.max_bytes = max_bytes
        self.bytes = 0                # what everything kept is counted as
        self.dropped_events = 0       # kept no longer, to stay within max_bytes or max_lives
        self.dropped_since: Optional[float] = None   # when the first was dropped
        self._lock = threading.Lock()
        self._current: Dict[int, Life] = {}
        self._ended: Deque[Life] = collections.deque()   # oldest first, for forgetting
        self._ended_by_pid: Dict[int, List[Life]] = {}   # for finding
        self._adoptions: Deque[Tuple[Adoption, int]] = collections.deque()   # with what each is counted as
        self.adoptions_seen = 0   # adoptions ever remembered: the list is the same while this is
        self._gaps: Deque[ProcessEvent] = collections.deque(maxlen=1000)
        self.polled = False  # some events came from polling: stories may miss short steps

    # -- adding ----------------------------------------------------------------------------------
    def add(self, event: ProcessEvent) -> None:
        self.add_many((event,))

    def add_many(self, events: Iterable[ProcessEvent]) -> None:
        with self._lock:
            for event in events:
                self._add(event)
            if self.bytes > self.max_bytes:
                self._shrink()

    def _add(self, event: ProcessEvent) -> None:
        if event.kind == GAP:
            self._gaps.append(event)
            return
        if event.polled:
            self.polled = True
        life = self._current.get(event.pid)
        if event.kind == FORK or life is None or \
                (event.row is not None and not life.matches(event.row.start_ticks)):
            if life is not None:
                self._end(life)  # its exit was not seen (lost, or before a rescan)
            row = event.row
            life = Life(event.pid, event.time, row.start_ticks if row is not None else None,
                        event.row_basis == ROW_READ and row is not None)
            self._current[event.pid] = life
        kept, cost = self._kept(life, event)
        if event.kind == FORK:
            life.born = kept
        self.bytes += cost - life.add(kept, cost)   # past MAX_EVENTS: told in the story, not a full history
        if event.kind == EXIT:
            self._adopted_at_own_exit(life, kept)
            for orphan in event.orphans:
                self._orphaned(orphan, kept)
            self._end(life)

    def _kept(self, life: Life, event: ProcessEvent) -> Tuple[ProcessEvent, int]:
        """The event as the log keeps it, and what it is counted as: the life's command shared while
        it does not change, no raw arguments (stories quote the escaped command) and no orphan list
        (each orphan is an adoption of its own)."""
        cost = EVENT_OVERHEAD + text_bytes(event.parent_command)
        previous = event.previous
        if previous is not None and previous == life.command:
            previous = life.command
        else:
            cost += text_bytes(previous)
        row = event.row
        if row is not None and row is life.row_in:   # unchanged since its last event (the tracker's own row)
            row = life.row_kept
        elif row is not None:
            if row.command != life.command:
                life.command = row.command
                life.text_cost += text_bytes(row.command)
                self.bytes += text_bytes(row.command)
            life.row_in, row = row, row._replace(command=life.command, argv=())
            life.row_kept = row
            cost += ROW_OVERHEAD
        return event._replace(row=row, previous=previous, orphans=()), cost

    def _note_dropped(self, freed: int, events: int = 1) -> int:
        """Count what the bounds dropped; the bytes freed."""
        self.dropped_events += events
        if self.dropped_since is None:
            self.dropped_since = time.time()
        return freed

    def _end(self, life: Life) -> None:
        if self._current.get(life.pid) is life:
            del self._current[life.pid]
        life.row_in = None   # the tracker's row, with its raw arguments: not kept past the life
        self._ended.append(life)
        self._ended_by_pid.setdefault(life.pid, []).append(life)
        while len(self._ended) + len(self._current) > self.max_lives and self._ended:
            self._forget_oldest_ended()

    def _forget_oldest_ended(self) -> None:
        oldest = self._ended.popleft()
        same_pid = self._ended_by_pid[oldest.pid]
        same_pid.remove(oldest)
        if not same_pid:
            del self._ended_by_pid[oldest.pid]
        self.bytes -= self._note_dropped(oldest.cost, len(oldest.events))

    def _shrink(self) -> None:
        """Back under seven eighths of max_bytes (so that this runs rarely): the oldest ended lives,
        then the oldest adoptions, then the middle of the biggest lives, then whole lives."""
        goal = self.max_bytes * 7 // 8
        while self.bytes > goal and self._ended:
            self._forget_oldest_ended()
        while self.bytes > goal and len(self._adoptions) > self.MAX_ADOPTIONS // 10:
            self.bytes -= self._note_dropped(self._adoptions.popleft()[1], 0)
        while self.bytes > goal and self._current:
            biggest = max(self._current.values(), key=lambda life: life.cost)
            freed, count = biggest.thin() if len(biggest.events) > 2 else (0, 0)
            if count:
                self.bytes -= self._note_dropped(freed, count)
                continue
            del self._current[biggest.pid]   # two events of megabytes each: the whole life goes
            self.bytes -= self._note_dropped(biggest.cost, len(biggest.events))

    def _remember(self, adoption: Adoption) -> None:
        self.adoptions_seen += 1
        cost = EVENT_OVERHEAD + ROW_OVERHEAD + sum(text_bytes(t) for t in (
            adoption.child_command, adoption.old_parent_command, adoption.new_parent_command))
        self._adoptions.append((adoption, cost))
        self.bytes += cost
        if len(self._adoptions) > self.MAX_ADOPTIONS:
            self.bytes -= self._adoptions.popleft()[1]

    def _orphaned(self, orphan: Orphan, proof: ProcessEvent) -> None:
        life = self._current.get(orphan.pid)
        if life is None or not life.matches(orphan.start_ticks):
            life = Life(orphan.pid, proof.time, orphan.start_ticks)
            self._current[orphan.pid] = life
        adoption = Adoption((orphan.pid, life.start_ticks if life.start_ticks is not None else orphan.start_ticks),
                            orphan.command, proof.pid, proof.row.command if proof.row is not None else None,
                            orphan.new_parent, orphan.new_parent_command, proof.time, proof, True,
                            orphan.new_parent_namespace_init)
        life.adoptions.append(adoption)
        self._remember(adoption)

    def _adopted_at_own_exit(self, life: Life, event: ProcessEvent) -> None:
        """An EXIT whose parent is not the one at birth: an adoption psxj did not see happen."""
        adopter = event.adopted_by
        if adopter is None or any(a.new_parent == adopter for a in life.adoptions):
            return
        adoption = Adoption(life.identity, event.row.command if event.row is not None else "?", event.born_parent,
                            None, adopter, event.parent_command or "?", event.time, event, False)
        life.adoptions.append(adoption)
        self._remember(adoption)

    def dropped_note(self) -> str:
        """What the log dropped to stay within its bound, in words; "" while it dropped nothing."""
        if not self.dropped_events:
            return ""
        return ngettext("event history full ({mib} MiB at most): {count} older event dropped",
                        "event history full ({mib} MiB at most): {count} older events dropped",
                        self.dropped_events).format(mib=self.max_bytes >> 20, count=self.dropped_events)

    # -- asking ----------------------------------------------------------------------------------
    def life(self, identity: Identity) -> Optional[Life]:
        pid, start_ticks = identity
        with self._lock:
            current = self._current.get(pid)
            if current is not None and current.matches(start_ticks):
                return current
            for life in reversed(self._ended_by_pid.get(pid, ())):
                if life.matches(start_ticks):
                    return life
        return None

    def story(self, identity: Identity) -> List[StoryLine]:
        """What psxj saw of this process, in time order; empty when it saw nothing."""
        life = self.life(identity)
        if life is None:
            return []
        with self._lock:
            events = list(life.events)
            adoptions = list(life.adoptions)
            gaps = [g for g in self._gaps if life.spans(g.time)]
            skipped = life.skipped
        lines: List[StoryLine] = []
        if life.born is None:
            lines.append(StoryLine(self.started_at, _("already running when psxj started listening at {clock}").format(
                                                        clock=_clock(self.started_at)), False))
        for event in events:
            text = _event_text(event)
            if text:
                lines.append(StoryLine(event.time, text, False, event))
        for adoption in adoptions:
            adopter = _name(adoption.new_parent, adoption.new_parent_command)
            if adoption.at_parent_exit:
                text = (_("its parent {old_parent} exited at {clock}; adopted by {adopter}").format(
                            old_parent=_name(adoption.old_parent, adoption.old_parent_command),
                            clock=_clock(adoption.time),
                            adopter=adopter))
            else:
                text = (_("adopted by {adopter} at a moment psxj did not see: it was born to {old_parent}").format(
                            adopter=adopter,
                            old_parent=_name(adoption.old_parent, None)))
            lines.append(StoryLine(adoption.time, text, False, adoption.proof))
        for gap in gaps:
            lost = _("events were lost") if gap.lost is None else \
                ngettext("{lost} event was lost", "{lost} events were lost", gap.lost).format(lost=gap.lost)
            lines.append(StoryLine(gap.time, _("{lost} here (psxj's receive buffer overflowed): steps of this "
                                               "story may be missing").format(lost=lost), False, gap))
        if skipped:
            lines.append(StoryLine(None, ngettext("{skipped} event in the middle is not kept",
                                                  "{skipped} events in the middle are not kept",
                                                  skipped).format(skipped=skipped), False))
        lines.sort(key=lambda line: float("inf") if line.time is None else line.time)
        if self.polled and any(line.event is not None and line.event.polled for line in lines):
            lines.append(StoryLine(None, _("some steps were seen by polling: a step shorter than a poll may be "
                                           "missing, and times are when a poll noticed it"), False))
        return lines

    def story_or_inferred(self, snapshot: Snapshot, record: ProcessRecord) -> List[StoryLine]:
        """The story seen, with what must be inferred for the part before psxj listened."""
        seen = self.story(record.identity)
        life = self.life(record.identity)
        if life is not None and life.born is not None:
            return seen
        dropped = []
        if life is None and self.dropped_since is not None:
            dropped = [StoryLine(None, _("psxj dropped older events to keep its history within {mib} MiB: any it saw "
                                         "of this process are gone").format(mib=self.max_bytes >> 20), False)]
        return inferred_story(snapshot, record) + seen + dropped

    def adoptions(self) -> List[Adoption]:
        with self._lock:
            return [adoption for adoption, _cost in self._adoptions]

    def observed_subreapers(self) -> List[ObservedSubreaper]:
        """Processes other than PID 1 (and a container's init) that received an orphan."""
        by_parent: Dict[int, List[Adoption]] = collections.defaultdict(list)
        for adoption in self.adoptions():
            if adoption.new_parent > 1 and not adoption.new_parent_namespace_init:
                by_parent[adoption.new_parent].append(adoption)
        return [ObservedSubreaper(pid, found[-1].new_parent_command, tuple(found))
                for pid, found in sorted(by_parent.items())]

    def gaps(self) -> List[ProcessEvent]:
        with self._lock:
            return list(self._gaps)


def _event_text(event: ProcessEvent) -> Optional[str]:
    row = event.row
    kind = event.kind
    at = _clock(event.time)
    if event.polled:
        seen = _("seen by a poll at {at} (it happened up to {ms:.0f} ms earlier)").format(
                   at=at,
                   ms=event.window * 1000)
        texts = {
            FORK: _("appeared, child of {parent}: {seen}").format(
                      parent=_name(event.parent_pid, event.parent_command),
                      seen=seen),
            EXEC: _("its command changed to {command}: {seen}").format(command=row.command if row else '?', seen=seen),
            SID: _("now in session {sid}: {seen}").format(sid=row.sid if row else '?', seen=seen),
            EXIT: _("gone: {seen}").format(seen=seen),
        }
        return texts.get(kind, _("{kind} changed: {seen}").format(kind=kind.lower(), seen=seen))
    if kind == FORK:
        return _("forked by {parent} at {at}").format(
                   parent=_name(event.parent_pid, event.parent_command),
                   at=at)
    if kind == EXEC:
        if event.row_basis == ROW_LAST:
            return _("exec'd at {at} (the new command was not read in time)").format(at=at)
        return _("exec'd at {at}: {command}").format(at=at, command=row.command if row else '?')
    if kind == SID:
        return _("setsid() at {at}: new session {sid}, no terminal").format(
                   at=at,
                   sid=row.sid if row else event.pid)
    if kind in (UID, GID):
        real, effective = event.ids or (None, None)
        return _("{kind} changed at {at}: real {real}, effective {effective}").format(
                   kind=kind.lower(),
                   at=at,
                   real=real,
                   effective=effective)
    if kind == COMM:
        return _("renamed itself at {at}: '{comm}' (was '{previous}')").format(
                   at=at,
                   comm=event.comm,
                   previous=event.previous)
    if kind == PTRACE:
        if not event.tracer_pid:
            return _("ptrace detached at {at}").format(at=at)
        return _("traced by {tracer} at {at}").format(
                   tracer=_name(event.tracer_pid, event.parent_command),
                   at=at)
    if kind == COREDUMP:
        return _("dumped core at {at}").format(at=at)
    if kind == EXIT:
        text = _("exited at {at}: {status}").format(
                   at=at,
                   status=wait_status_text(event.exit_code or 0))
        return text + _("; its parent then {parent}").format(
                          parent=_name(event.parent_pid, event.parent_command))
    return None


def inferred_story(snapshot: Snapshot, record: ProcessRecord) -> List[StoryLine]:
    """What /proc says of a process's origin now (facts), and what follows from it (inferences)."""
    lines: List[StoryLine] = []
    if record.start_time is not None:
        lines.append(StoryLine(record.start_time, _("started at {clock} (its start time in /proc)").format(
                                                      clock=_clock(record.start_time)), False))
    parent = snapshot.parent(record)
    if record.ppid == 0 and record.pid != 1 and not record.kernel_thread:
        lines.append(StoryLine(None, _("entered from another PID namespace (nsenter, podman or docker exec): its "
                                       "parent runs outside this one, so it shows PPID 0"), False))
    elif record.ppid == 0:
        lines.append(StoryLine(None, _("started by the kernel itself (PPID 0)"), False))
    elif record.kernel_thread:
        lines.append(StoryLine(None, _("a kernel thread, started by {parent}").format(
                                         parent=_name(record.ppid, 'kthreadd')), False))
    elif adopts_every_orphan(parent) or record.ppid == 1:
        lines.append(StoryLine(None, _("its parent is {parent}, which adopts orphans: either it started this "
                                       "process, or the process that forked it exited (no fork event was seen)").format(
                                         parent=_name(record.ppid, parent.command if parent else None)), True))
    elif parent is not None:
        lines.append(StoryLine(None, _("forked by {parent}, its parent now (no fork event was seen; a parent "
                                       "that exits passes its children on)").format(
                                         parent=_name(parent.pid, parent.command)),
                               True))
    else:
        lines.append(StoryLine(None, _("its parent {parent} is not in the table").format(
            parent=_name(record.ppid, None)), False))
    leader = snapshot.get(record.sid)
    if record.sid == record.pid:
        lines.append(StoryLine(None, _("called setsid(): it leads session {sid}").format(sid=record.sid), True))
    elif record.sid > 0 and (leader is None or leader.state == "Z"):
        gone = _("has lost its leader") if leader is None else _("has a leader that exited (a zombie not yet reaped)")
        lines.append(StoryLine(None, _("its session {sid} {gone}: a process called setsid() and exited, as a "
                                       "double fork's first child does").format(sid=record.sid, gone=gone), True))
    elif leader is not None:
        lines.append(StoryLine(None, _("in session {sid} of {leader}").format(
                                         sid=record.sid,
                                         leader=_name(leader.pid, leader.command)), False))
    if not record.has_terminal:
        lines.append(StoryLine(None, _("no controlling terminal (TTY ?)"), False))
    if record.pgid == record.pid and record.sid != record.pid:
        lines.append(StoryLine(None, _("leads process group {pgid}: it called setpgid(), or a shell made it a "
                                       "job of its own").format(pgid=record.pgid), True))
    return lines
