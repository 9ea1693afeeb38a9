"""A helper process that reads /proc for the interface, so the interface's interpreter never does.

Reading 10,000 processes is ~1 s of Python that would hold the GIL and stall key
presses if it ran in a thread of the interface. Here it runs in its own process
(`python -m psxj.sources.reader`), which answers each request line on stdin with what changed
since its last answer (psxj.sources.incremental.ChangeReader; the first answer holds every
process), marshalled, on stdout. The interface's worker thread waits on the pipe (no GIL held),
unmarshals the reply in C and applies it to its table (LiveTable), so a refresh carries, and
costs the interface, only the processes that changed.

The protocol, all of it here: a request is one line. A reply is frames, each an 8-byte length
and a marshalled value: lists of changed records (as plain tuples, _CHUNK at most in a frame,
so neither side holds a whole table's worth of bytes), then the end: the tuple (PID width, time
taken, [gone PIDs], first reply of this helper). Within a frame, equal names, arguments and
numbers are one object (_shared): marshal writes them once, and the interface gets them shared.
"""

from __future__ import annotations

import marshal
import struct
import subprocess
import sys
import threading
from typing import List, Optional

from psxj.model import ProcessRecord, Snapshot
from psxj.sources.incremental import Changes, LiveTable
from psxj.spawn import popen_module

_LENGTH = struct.Struct("!Q")
_CHUNK = 4096
# Fields that many processes share (a parent, a session, a name, a command line, the flags).
_SHARED = tuple(ProcessRecord._fields.index(name) for name in (
    "ppid", "pgid", "sid", "tty", "tpgid", "stat", "euid", "command", "comm", "argv", "flags", "nice", "ruid",
    "rgid", "egid", "start_time", "cgroup"))


def _shared(records: List[ProcessRecord]) -> List[tuple]:
    """The records as plain tuples in which equal values of a field are one object (one dict per
    field: 1, 1.0 and True are equal keys, and must not stand for each other)."""
    seen = [{} for _ in _SHARED]
    rows = []
    for record in records:
        row = list(record)
        for same, index in zip(seen, _SHARED):
            value = row[index]
            row[index] = same.setdefault(value, value)
        rows.append(tuple(row))
    return rows


def _frame(data: bytes) -> bytes:
    return _LENGTH.pack(len(data)) + data


def serve() -> int:
    """The helper's loop: the changes since the last reply per request line, until stdin closes."""
    from psxj.sources.incremental import ChangeReader

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    reader = ChangeReader()  # the locale is the helper's for its whole life: probed once
    try:
        while stdin.readline():
            for chunk in reader.scan(_CHUNK):
                stdout.write(_frame(marshal.dumps(_shared(chunk))))
            changes = reader.last
            end = (changes.pid_width, changes.taken_at, changes.gone, changes.full)
            stdout.write(_frame(marshal.dumps(end)))
            stdout.flush()
    finally:
        reader.close()
    return 0


class SnapshotReader:
    """The interface's side: starts the helper once, asks it for snapshots, stops it at the end."""

    def __init__(self) -> None:
        self._helper: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()
        self._asked = False   # a request is on its way: prefetch() sent it before the interface was up
        self._closed = False
        self._table = LiveTable()

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
                changed: List[ProcessRecord] = []
                make = tuple.__new__
                while True:
                    value = marshal.loads(self._frame(helper))
                    if isinstance(value, tuple):  # the end of the reply
                        break
                    changed += [make(ProcessRecord, row) for row in value]
                self._asked = False
            except (OSError, ValueError, EOFError, TypeError):  # it stopped, or the reply is not ours
                if self._closed:  # psxj is quitting: nobody wants this snapshot
                    self._helper = None
                    return Snapshot([], source="live")
                self._discard()
                self._table = LiveTable()  # a new helper starts with the whole table
                from psxj.sources import live_snapshot

                return live_snapshot()  # read it here, slower, rather than show nothing
        width, taken_at, gone, full = value
        return self._table.apply(Changes(taken_at, width, changed, gone, full))

    def _discard(self) -> None:
        """Stop a helper that failed (by its PID: it is our child), so the next read starts another."""
        helper, self._helper = self._helper, None
        if helper is not None:
            _end(helper)

    @staticmethod
    def _frame(helper: subprocess.Popen) -> bytes:
        header = helper.stdout.read(_LENGTH.size)
        if len(header) != _LENGTH.size:
            raise OSError("the /proc reader stopped")
        size = _LENGTH.unpack(header)[0]
        data = helper.stdout.read(size)
        if len(data) != size:
            raise OSError("the /proc reader stopped")
        return data

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
            _end(helper)


def _end(helper: subprocess.Popen) -> None:
    """Kill our helper (if it still runs), reap it and close its pipes."""
    if helper.poll() is None:
        helper.kill()
    helper.wait()
    for pipe in (helper.stdin, helper.stdout):
        try:
            pipe.close()
        except OSError:
            pass


if __name__ == "__main__":
    raise SystemExit(serve())
