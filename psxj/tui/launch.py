"""Starting the interface on a terminal, quickly: the reader helper is asked for the first snapshot
and the first frame is painted (psxj.tui.first_frame) before Textual is imported at all.
Textual-free until the last step.
"""

from __future__ import annotations

import os
from typing import Optional

from psxj.select import Selection


def tune_collector() -> None:
    """Python's cyclic garbage collector, set for a table of tens of thousands of rows.

    Every record and every table row is a named tuple, which the collector never untracks (it
    untracks only plain tuples), and a refresh or a key can make a row per process: at the default
    thresholds (700, 10, 10) that is ~70 young collections and a full one per refresh, and a full
    collection walks every row and record (0.2-0.3 s of the interface's thread at 50,000
    processes). Nothing in a row or a record can form a cycle, so collecting less often loses
    nothing: a young collection every 100,000 allocations (by then most rows made since the last
    one were replaced and freed, and are never walked), an older one every 20 of those, a full one
    every 100 of those."""
    import gc

    gc.set_threshold(100_000, 20, 100)


def start_interface(selection: Selection, load: Optional[str], delay: float, keep_demo: bool,
                    events: bool = True) -> int:
    from psxj.tui import first_frame

    tune_collector()
    fd = first_frame.terminal_fd()
    reader, painted, saved = None, None, None
    if load is None and not selection and fd is not None and os.path.exists("/proc/self/stat"):
        from psxj.sources.reader import SnapshotReader

        reader = SnapshotReader()
        reader.prefetch()  # the helper reads all of /proc while this process starts the interface
        saved = first_frame.quiet_terminal(fd)
        try:
            painted = first_frame.paint(fd, delay)
        except OSError:
            painted = None
    started = False
    try:
        from psxj.tui.run import run_app

        started = True
        return run_app(selection=selection, load=load, delay=delay, keep_demo=keep_demo, reader=reader,
                       first_snapshot=painted, events=events and load is None)
    finally:
        if fd is not None:
            first_frame.restore_terminal(fd, saved)
            if painted is not None and not started:
                first_frame.leave(fd)
