"""What changed between two tables: processes that appeared, vanished, or changed columns.

A view over two snapshots (from /proc, a file, or a recording at two times). Changes are
named as the demo's narration names them, `SID 1435 -> 9119`, with the values as the
ps table prints them.

Identity: a process is the same in both tables when its PID and start time are; where a
table has no start times (ps text), the PID alone decides, and the output says so.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot
from psxj.render.psformat import cells

PS_COLUMNS = ("PPID", "PID", "PGID", "SID", "TTY", "TPGID", "STAT", "UID", "TIME", "COMMAND")
# Compared by default: every ps column but PID (the identity) and TIME (it moves on every
# busy process; --time adds it).
COMPARED = ("PPID", "PGID", "SID", "TTY", "TPGID", "STAT", "UID", "COMMAND")


def column_changes(before: Optional[dict], after: dict, columns: Sequence[str]) -> List[str]:
    """`SID 1435 -> 9120` for each column that differs between two rows (dicts by header).
    The demo's steps.changes() is this with its own columns."""
    if not before:
        return []
    return [f"{column} {before[column]} -> {after[column]}" for column in columns
            if before.get(column) != after.get(column)]


def ps_row(record: ProcessRecord) -> Dict[str, str]:
    """A record's cells as `ps -axj` prints them, by header."""
    return {header: value.strip() for header, value in zip(PS_COLUMNS, cells(record))}


class Changed(NamedTuple):
    before: ProcessRecord
    after: ProcessRecord
    changes: List[str]


class TableDiff(NamedTuple):
    identity: str                   # "pid and start time" or "pid"
    appeared: List[ProcessRecord]
    vanished: List[ProcessRecord]
    changed: List[Changed]
    columns: Tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.appeared or self.vanished or self.changed)


def _start(record: ProcessRecord, use_ticks: bool) -> object:
    return record.start_ticks if use_ticks else round(record.start_time or 0.0)


def diff_tables(before: Iterable[ProcessRecord], after: Iterable[ProcessRecord],
                columns: Sequence[str] = COMPARED) -> TableDiff:
    old, new = list(before), list(after)
    both = old + new
    use_ticks = bool(both) and all(r.start_ticks is not None for r in both)
    use_time = not use_ticks and bool(both) and all(r.start_time is not None for r in both)
    if use_ticks or use_time:
        key = lambda r: (r.pid, _start(r, use_ticks))  # noqa: E731
        identity = N_("pid and start time")   # translated in the text, as it is in JSON
    else:
        key = lambda r: (r.pid,)  # noqa: E731
        identity = "pid"
    old_by = {key(r): r for r in old}
    new_by = {key(r): r for r in new}
    appeared = [r for k, r in new_by.items() if k not in old_by]
    vanished = [r for k, r in old_by.items() if k not in new_by]
    changed = []
    for k, r in new_by.items():
        previous = old_by.get(k)
        if previous is not None:
            changes = column_changes(ps_row(previous), ps_row(r), columns)
            if changes:
                changed.append(Changed(previous, r, changes))
    by_pid = lambda r: r.pid  # noqa: E731
    return TableDiff(identity, sorted(appeared, key=by_pid), sorted(vanished, key=by_pid),
                     sorted(changed, key=lambda c: c.after.pid), tuple(columns))


def diff_snapshots(before: Snapshot, after: Snapshot, columns: Sequence[str] = COMPARED) -> TableDiff:
    return diff_tables(before.records, after.records, columns)


def render_text(result: TableDiff, before_name: str, after_name: str) -> str:
    lines = [f"--- {before_name}", f"+++ {after_name}",
             _("identity: {identity}").format(identity=_(result.identity)) + ("" if result.identity != "pid" else
                                                                               _(" (a table without start times: a "
                                                                                 "reused PID looks like a change)")),
             _("{appeared} appeared, {vanished} vanished, {changed} changed").format(
                 appeared=len(result.appeared), vanished=len(result.vanished), changed=len(result.changed))]
    for record in result.appeared:
        lines.append(f"+ {record.pid} {record.command}")
    for record in result.vanished:
        lines.append(f"- {record.pid} {record.command}")
    for change in result.changed:
        lines.append(f"~ {change.after.pid} {change.after.comm or change.after.command}: " + "  ".join(change.changes))
    return "\n".join(lines) + "\n"


def _brief(record: ProcessRecord) -> dict:
    row = ps_row(record)
    return {"pid": record.pid, "start_time": record.start_time, "start_ticks": record.start_ticks,
            **{header.lower(): row[header] for header in PS_COLUMNS if header != "PID"}}


def render_json(result: TableDiff, before_name: str, after_name: str) -> str:
    body = {
        "before": before_name, "after": after_name, "identity": result.identity,
        "columns": list(result.columns),
        "appeared": [_brief(r) for r in result.appeared],
        "vanished": [_brief(r) for r in result.vanished],
        "changed": [{"pid": c.after.pid, "command": c.after.command, "changes": [
            {"column": col, "before": ps_row(c.before)[col], "after": ps_row(c.after)[col]}
            for col in result.columns if ps_row(c.before)[col] != ps_row(c.after)[col]]}
            for c in result.changed],
    }
    return json.dumps(body, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
