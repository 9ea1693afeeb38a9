"""Sources of process records: live /proc (Linux), psutil (elsewhere), a saved file or a recording,
other machines (fleet/), the kernel's events. The source box of the pipeline: above the model and the
foundation, below everything else; a source never imports the judge, the views or the interface."""

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
