"""--print, --json and --csv of the processes running now, on every usable core.

The command line's path for a live table on Linux (cli.run_table calls it). Reading /proc is
most of the work, and what follows is per row too, so both are shared among forked workers
(psxj.sources.parallel); this process only puts the rows in PID order and writes them:

- ps text: a row's line needs nothing but the row, so each worker reads its share of the PIDs,
  keeps the selected rows and lays them out; the selection may not need the whole table (its
  --kind does: then the table is read first, as for JSON).
- JSON and CSV: a row's kind looks at its parent and its session leader, so the workers read
  the table first; this process makes the snapshot and selects, and workers forked again with
  the snapshot in hand write a share of the rows each.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

from psxj.model import ProcessRecord, Snapshot
from psxj.render.escape import Escaper
from psxj.select import Selection
from psxj.sources.parallel import map_shares, worker_count
from psxj.sources.proc import ProcReader, list_pids, pid_digits, read_records, with_cgroups

_READ_PER_WORKER = 600    # PIDs: below this many per core, forking costs more than it saves
_WRITE_PER_WORKER = 1500  # rows to encode: cheaper than reading one, so a worker needs more of them

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
    records = read_records(reader.read_pids, pids, worker_count(len(pids), _READ_PER_WORKER))
    return Snapshot(with_cgroups(records), source="live", pid_width=pid_digits())


def exported(selection: Selection, escaper: Escaper, as_json: bool) -> Tuple[str, int]:
    """The selected processes as JSON (psxj.render.export.json_document) or CSV, and how many."""
    from psxj.render.export import CSV_HEADER, csv_rows, json_document, json_rows

    snapshot = read_snapshot(selection, escaper)
    records = selection.apply(snapshot.records, snapshot)

    def block_of(block: Sequence[ProcessRecord]) -> List[str]:
        return [json_rows(snapshot, block) if as_json else csv_rows(snapshot, block)]

    # Blocks of consecutive records, one per worker: their texts follow each other in PID order.
    blocks = map_shares(block_of, records, worker_count(len(records), _WRITE_PER_WORKER), interleave=False)
    return (json_document(blocks) if as_json else CSV_HEADER + "".join(blocks)), len(records)
