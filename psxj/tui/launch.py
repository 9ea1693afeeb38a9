"""Starting the interface on a terminal, quickly: the reader helper is asked for the first snapshot
and the first frame is painted (psxj.tui.first_frame) before Textual is imported at all.
Textual-free until the last step.
"""

from __future__ import annotations

import os
from typing import Optional

from psxj.select import Selection


def start_interface(selection: Selection, load: Optional[str], delay: float, keep_demo: bool,
                    events: bool = True) -> int:
    from psxj.tui import first_frame

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
        from psxj.tui.app import run_app

        started = True
        return run_app(selection=selection, load=load, delay=delay, keep_demo=keep_demo, reader=reader,
                       first_snapshot=painted, events=events and load is None)
    finally:
        if fd is not None:
            first_frame.restore_terminal(fd, saved)
            if painted is not None and not started:
                first_frame.leave(fd)
