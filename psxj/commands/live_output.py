"""--print, --json and --csv of the processes running now, on every usable core.

The command line's path for a live table on Linux (psxj.commands.table.run_table calls it). Reading /proc is
most of the work, and what follows is per row too, so both are shared among forked workers
(psxj.sources.parallel); this process only puts the rows in PID order and writes them:

- ps text: a row's line needs nothing but the row, so each worker reads its share of the PIDs,
  keeps the selected rows and lays them out; the selection may not need the whole table (its
  --kind does: then the table is read first).
- JSON and CSV: a row's kind looks at its parent and its session leader, and so needs the whole
  table; its other 27 fields do not. Each worker writes those fields of its rows as it reads
  them, and sends them back with the records; this process makes the snapshot, judges the
  kinds and adds them to the rows.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from psxj.escape import Escaper
from psxj.model import ProcessRecord, Snapshot
from psxj.select import Selection
from psxj.sources.parallel import map_shares, worker_count
from psxj.sources.proc import ProcReader, list_pids, pid_digits, read_records, with_cgroups

_READ_PER_WORKER = 600    # PIDs: below this many per core, forking costs more than it saves

Lines = List[Tuple[int, bytes]]  # (pid, the row's text): sorted, the rows in PID order


def _in_pid_order(lines: Lines) -> List[bytes]:
    lines.sort()  # PIDs are unique: the texts are never compared
    return [text for _, text in lines]


def ps_text(selection: Selection, escaper: Escaper, screen_cols: int) -> Tuple[bytes, int]:
    """The `ps -axj` table of the selected processes, and how many rows it has.

    Without a selector no row needs a record: each worker lays out each process's PsCells, read
    straight from its files (ProcReader.cells). A selector compares records, so then they are made."""
    from psxj.render.psformat import Layout, columns

    if selection.needs_snapshot:
        snapshot = read_snapshot(selection, escaper)
        records = selection.apply(snapshot.records, snapshot)
        layout = Layout(columns(snapshot.pid_width), screen_cols, escaper)
        text = "\n".join([layout.header(), *map(layout.row, records)]) + "\n"
        return text.encode("utf-8", "surrogateescape"), len(records)
    layout = Layout(columns(pid_digits()), screen_cols, escaper)
    reader = ProcReader(escaper, arguments=False)

    def lines_of(pids: Sequence[int]) -> Lines:
        if not selection:
            row, cells = layout.text_row, reader.ps_cells
            return [(pid, row(found)) for pid, found in zip(pids, map(cells, pids)) if found is not None]
        return [(r.pid, layout.row(r).encode("utf-8", "surrogateescape"))
                for r in selection.apply(reader.read_pids(pids))]

    pids = list_pids()
    rows = _in_pid_order(map_shares(lines_of, pids, worker_count(len(pids), _READ_PER_WORKER)))
    return b"\n".join([layout.header().encode("ascii"), *rows]) + b"\n", len(rows)


def read_snapshot(selection: Selection, escaper: Escaper) -> Snapshot:
    """The whole table, read by every core, with the cgroups the kinds need."""
    reader = ProcReader(escaper)
    pids = list_pids()

    def read(share: Sequence[int]) -> List[ProcessRecord]:  # the cgroups too, in the workers
        return with_cgroups(reader.read_pids(share))

    records = read_records(read, pids, worker_count(len(pids), _READ_PER_WORKER))
    return Snapshot(records, source="live", pid_width=pid_digits())


def exported(selection: Selection, escaper: Escaper, as_json: bool) -> Tuple[str, int]:
    """The selected processes as JSON or CSV (psxj.render.export), and how many, in one pass: each
    worker reads its share of the PIDs and writes the head of each selected row (every field its own
    record decides); this process makes the snapshot, judges the kinds, which need the whole table,
    and adds each row's tail (SplicedRows)."""
    from psxj.errors import PsxjError
    from psxj.i18n import _
    from psxj.judge.kinds import kind_of
    from psxj.render.export import SplicedRows

    writer = SplicedRows(as_json)
    reader = ProcReader(escaper)
    by_record = bool(selection) and not selection.needs_snapshot   # a selector a worker can apply itself

    def read_share(pids: Sequence[int]) -> List[Tuple[ProcessRecord, Optional[str]]]:
        records = with_cgroups(reader.read_pids(pids))  # each record says whether the kinds need its cgroup
        wanted = {r.pid for r in selection.apply(records)} if by_record else None
        head = writer.head
        return [(r, head(r) if wanted is None or r.pid in wanted else None) for r in records]

    pids = list_pids()
    try:
        pairs = map_shares(read_share, pids, worker_count(len(pids), _READ_PER_WORKER),
                           send=_as_plain_pairs, receive=_as_record_pairs)
        heads = {r.pid: head for r, head in pairs}
        snapshot = Snapshot([r for r, _ in pairs], source="live", pid_width=pid_digits())
        records = selection.apply(snapshot.records, snapshot)
        tail = writer.tail
        rows = [heads[r.pid] + tail(kind_of(snapshot, r), r.cgroup) for r in records]
    except ValueError:  # the live reader checks every number; this is the last guard, never a traceback
        raise PsxjError(_("cannot write JSON: a number is not finite")) from None
    return writer.document(rows), len(records)


def _as_plain_pairs(pairs: List[Tuple[ProcessRecord, Optional[str]]]) -> List[Tuple[tuple, Optional[str]]]:
    return [(tuple(record), head) for record, head in pairs]


def _as_record_pairs(pairs: List[Tuple[tuple, Optional[str]]]) -> List[Tuple[ProcessRecord, Optional[str]]]:
    make = tuple.__new__
    return [(make(ProcessRecord, row), head) for row, head in pairs]
