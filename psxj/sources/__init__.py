"""Sources of process records: live /proc (Linux), psutil (elsewhere), or a saved file."""

from __future__ import annotations

import os

from psxj.model import Snapshot


def live_snapshot() -> Snapshot:
    """The processes running now, read the fastest exact way this system allows."""
    if os.path.exists("/proc/self/stat"):
        from psxj.sources.proc import read_snapshot
    else:
        from psxj.sources.psutil_source import read_snapshot
    return read_snapshot()
