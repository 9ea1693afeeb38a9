"""The meters line above the table: load, CPU, memory, and how many processes there are by kind and by
state, in parts that a narrow line shortens, then leaves out (as the status line does).

Part of the views (psxj.render): pure functions of a snapshot and of the machine's readings
(psxj.sources.machine); the interface shows the parts (psxj.tui.meters). The counts come from the
table the interface shows, the kinds from the judgement it already holds for it (psxj.judge.kinds).
"""

from __future__ import annotations

from collections import Counter
from typing import List, NamedTuple, Optional, Tuple

from psxj.i18n import _, ngettext
from psxj.judge import kinds as judged
from psxj.model import Snapshot
from psxj.sources.machine import Memory

# The kinds, counted in the groups a person glances at (zombies are counted by their state).
KIND_GROUPS = {
    judged.INIT: "daemons", judged.CONTAINER_INIT: "daemons", judged.DAEMON: "daemons",
    judged.SERVICE: "services", judged.WORKER: "services", judged.MONITOR: "services", judged.LEFTOVER: "services",
    judged.JOB: "jobs", judged.ORPHAN: "orphans", judged.KERNEL_THREAD: "kernel threads", judged.ZOMBIE: None,
}
# STAT's first letter, in the states htop counts: D (disk wait) and I (idle kernel thread) sleep too.
STATE_GROUPS = {"R": "running", "S": "sleeping", "D": "sleeping", "I": "sleeping", "T": "stopped",
                "t": "stopped", "Z": "zombie"}


class MeterPart(NamedTuple):
    """As a status line part (psxj.tui.feature.StatusPart): the least needed (highest) go first."""
    priority: int
    long: str
    short: str


class Counts(NamedTuple):
    kinds: Counter     # "daemons", "services", "jobs", "orphans", "kernel threads"
    states: Counter    # "running", "sleeping", "stopped", "zombie"


def kind_counts(snapshot: Snapshot) -> Counter:
    """Every process of the table by kind group: the judgement of each (taken over from the table
    before for a record that did not change, judged again for the others)."""
    found: Counter = Counter()
    kinds = judged.kinds_of(snapshot).of if getattr(snapshot, "parts", None) is None else \
        (lambda record: judged.kind_of(snapshot, record))   # several machines: each against its own
    get = KIND_GROUPS.get
    for record in snapshot.records:
        group = get(kinds(record).name)
        if group is not None:
            found[group] += 1
    return found


def state_counts(snapshot: Snapshot) -> Counter:
    """Every process of the table by state (STAT's first letter), in one pass."""
    letters = Counter(record.state[:1] for record in snapshot.records)
    found: Counter = Counter()
    for letter, count in letters.items():
        state = STATE_GROUPS.get(letter)
        if state is not None:
            found[state] += count
    return found


def counts(snapshot: Snapshot) -> Counts:
    """Every process of the table, by kind group and by state."""
    return Counts(kind_counts(snapshot), state_counts(snapshot))


def joined(parts: List[MeterPart], width: int) -> str:
    """The parts' long forms on one line, as the status line separates them (the first frame's line)."""
    return ("  │  " if width >= 100 else " │ ").join(part.long for part in parts)


def _size(kib: int) -> str:
    """KiB as htop prints memory: M below a GiB, G with one decimal above."""
    return f"{kib / 1048576:.1f}G" if kib >= 1048576 else f"{kib // 1024}M"


def meter_parts(found: Optional[Counts], load: Optional[Tuple[float, float, float]] = None, cpu: Optional[float] = None,
                memory: Optional[Memory] = None, machine: bool = True) -> List[MeterPart]:
    """The line's parts: the machine's (when the table is this machine's live one), then the counts (none
    while the table is still being read: `found` None).
    Numbers are as coarse as a glance needs (whole %CPU, a tenth of a GiB): the line changes, and is
    painted again, only when what it says does."""
    parts: List[MeterPart] = []
    if machine:
        if load is not None:
            parts.append(MeterPart(2, _("load {one:.2f} {five:.2f} {fifteen:.2f}").format(
                one=load[0], five=load[1], fifteen=load[2]),
                                   _("load {one:.2f}").format(one=load[0])))
        cpu_text = _("CPU {percent:.0f}%").format(percent=cpu) if cpu is not None else _("CPU …")
        parts.append(MeterPart(1, cpu_text, cpu_text))
        if memory is not None:
            used, total = _size(memory.used_kib), _size(memory.total_kib)
            parts.append(MeterPart(1, _("mem {used}/{total}").format(used=used, total=total), f"{used}/{total}"))
    if found is None:
        return parts
    n, s = found.kinds, found.states
    kinds = [ngettext("{count} daemon", "{count} daemons", n["daemons"]).format(count=n["daemons"]),
             ngettext("{count} service", "{count} services", n["services"]).format(count=n["services"]),
             ngettext("{count} job", "{count} jobs", n["jobs"]).format(count=n["jobs"])]
    if n["orphans"]:
        kinds.append(ngettext("{count} orphan", "{count} orphans", n["orphans"]).format(count=n["orphans"]))
    kinds.append(ngettext("{count} kernel thread", "{count} kernel threads",
                          n["kernel threads"]).format(count=n["kernel threads"]))
    comma = _(", ")   # i18n: between the counts of the meters line
    parts.append(MeterPart(4, comma.join(kinds), comma.join(kinds[:2])))
    states = [_("{count} running").format(count=s["running"]), _("{count} sleeping").format(count=s["sleeping"]),
              _("{count} stopped").format(count=s["stopped"]),
              ngettext("{count} zombie", "{count} zombies", s["zombie"]).format(count=s["zombie"])]
    parts.append(MeterPart(3, comma.join(states),
                           f"R{s['running']} S{s['sleeping']} T{s['stopped']} Z{s['zombie']}"))
    return parts
