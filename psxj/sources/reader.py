"""A helper process that reads /proc for the interface, so the interface's interpreter never does.

Reading 10,000 processes is ~1 s of Python that would hold the GIL and stall key
presses if it ran in a thread of the interface. Here it runs in its own process
(`python -m psxj.sources.reader`), which answers each request line on stdin with one
marshalled snapshot on stdout; the interface's worker thread waits on the pipe (no
GIL held) and unmarshals the reply in C.
"""

from __future__ import annotations

import marshal
import struct
import subprocess
import sys
import threading
import time
from typing import Optional

from psxj.i18n import _
from psxj.model import ProcessRecord, Snapshot
from psxj.spawn import popen_module

_LENGTH = struct.Struct("!Q")


def serve() -> int:
    """The helper's loop: one snapshot per request line, until stdin closes."""
    from psxj.render.escape import Escaper
    from psxj.sources.proc import ProcReader, pid_digits

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    width = pid_digits()
    escaper = Escaper.for_environment()  # the locale is the helper's for its whole life: probe it once
    while stdin.readline():
        records = ProcReader(escaper).read_all(use_second_core=True)
        data = marshal.dumps((width, time.time(), [tuple(r) for r in records]))
        stdout.write(_LENGTH.pack(len(data)) + data)
        stdout.flush()
    return 0


class SnapshotReader:
    """The interface's side: starts the helper once, asks it for snapshots, stops it at the end."""

    def __init__(self) -> None:
        self._helper: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()
        self._asked = False   # a request is on its way: prefetch() sent it before the interface was up
        self._closed = False

    def _start(self) -> subprocess.Popen:
        return popen_module("psxj.sources.reader", stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def _ask(self) -> subprocess.Popen:
        if self._helper is None or self._helper.poll() is not None:
            self._helper = self._start()
            self._asked = False
        if not self._asked:
            self._helper.stdin.write(b"snapshot\n")
            self._helper.stdin.flush()
            self._asked = True
        return self._helper

    def prefetch(self) -> None:
        """Start the helper and ask for the first snapshot now, so /proc is read while the interface
        is still importing and starting."""
        with self._lock:
            try:
                self._ask()
            except OSError:
                self._helper = None

    def read(self) -> Snapshot:
        with self._lock:
            try:
                helper = self._ask()
                header = helper.stdout.read(_LENGTH.size)
                if len(header) != _LENGTH.size:
                    raise OSError(_("the /proc reader stopped"))
                data = helper.stdout.read(_LENGTH.unpack(header)[0])
                self._asked = False
            except OSError:
                self._helper = None
                if self._closed:  # psxj is quitting: nobody wants this snapshot
                    return Snapshot([], source="live")
                from psxj.sources import live_snapshot

                return live_snapshot()  # read it here, slower, rather than show nothing
        width, taken_at, rows = marshal.loads(data)
        make = ProcessRecord._make
        return Snapshot([make(row) for row in rows], source="live", taken_at=taken_at, pid_width=width)

    def close(self) -> None:
        """Stop the helper at once. Not under the lock: a read in progress (seconds, with 50,000
        processes) holds it, and quitting must not wait for a table nobody will see. The helper is
        this process's own child, not yet reaped: its PID cannot belong to anyone else."""
        self._closed = True
        helper = self._helper
        if helper is None:
            return
        if helper.poll() is None:
            helper.kill()
        with self._lock:  # the read, if one was waiting, has now seen the end of the pipe
            self._helper = None
            helper.wait()
            for pipe in (helper.stdin, helper.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass


if __name__ == "__main__":
    raise SystemExit(serve())
