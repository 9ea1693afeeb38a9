"""Sources of process records: live /proc (Linux), psutil (elsewhere), or a saved file."""

from __future__ import annotations

import os
from typing import Optional

from psxj.escape import Escaper
from psxj.model import Snapshot


def live_snapshot(parallel: bool = False, escaper: Optional[Escaper] = None) -> Snapshot:
    """The processes running now, read the fastest exact way this system allows.

    parallel lets the /proc reader fork workers, one per usable core; only single-threaded callers ask.
    """
    if os.path.exists("/proc/self/stat"):
        from psxj.sources.proc import read_snapshot

        return read_snapshot(parallel, escaper)
    from psxj.sources.psutil_source import read_snapshot as read_with_psutil

    return read_with_psutil(escaper)
