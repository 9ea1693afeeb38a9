"""The interface's collector thread (psxj.tui.refresh.Collector): reads when asked, never two at once,
keeps no table while it waits, and says when a read fails."""

from __future__ import annotations

import gc
import queue
import threading
import time
import weakref

from psxj.tui.refresh import Collector


class Table:
    """Stands in for a Snapshot: anything the reader returns and a weak reference can follow."""


def _until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_it_keeps_no_table_while_it_waits():
    delivered: "queue.Queue[weakref.ref]" = queue.Queue()
    collector = Collector(Table, lambda table: delivered.put(weakref.ref(table)), lambda error: None)
    try:
        collector.due(0)
        table = delivered.get(timeout=5)
        # Only the thread could still hold it: 50,000 records' worth at 50,000 processes.
        assert _until(lambda: gc.collect() is not None and table() is None)
    finally:
        collector.stop()


def test_a_read_asked_for_during_a_read_is_done_after_it_and_a_cancelled_one_never():
    reading, release = threading.Event(), threading.Event()
    reads = []

    def read() -> Table:
        reads.append(time.monotonic())
        reading.set()
        release.wait(5)
        return Table()

    delivered: "queue.Queue[Table]" = queue.Queue()
    collector = Collector(read, delivered.put, lambda error: None)
    try:
        collector.due(0)
        assert reading.wait(5)
        collector.due(0)            # r pressed while the first read runs
        release.set()
        delivered.get(timeout=5)
        delivered.get(timeout=5)    # the second read came, after the first
        assert len(reads) == 2
        collector.due(0.3)
        collector.cancel()          # p: paused before it was due
        time.sleep(0.6)
        assert len(reads) == 2 and delivered.empty()
    finally:
        collector.stop()


def test_a_failed_read_is_reported_and_ends_the_thread():
    failures: "queue.Queue[BaseException]" = queue.Queue()

    def read() -> Table:
        raise RuntimeError("broken reader")

    collector = Collector(read, lambda table: None, failures.put)
    collector.due(0)
    assert str(failures.get(timeout=5)) == "broken reader"
    assert _until(lambda: not collector._thread.is_alive())
