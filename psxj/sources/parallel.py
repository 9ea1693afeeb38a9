"""Work shared among the machine's cores: forked workers, each taking a share of a list.

Part of the sources stage, used by the /proc reader and by the command line's views. Reading
/proc is kernel work plus parsing, one process after another: ps does it on one core. Threads
do not help (the parsing holds the GIL); forked processes do, and they inherit everything the
caller has already read (a snapshot, a compiled layout) without copying it. Each worker sends
its results back through a pipe, marshalled (C-level, and only plain values can pass).

Only a single-threaded caller forks: a lock held by another thread would stay held in the
child. A worker that fails has its share done again here, so the caller never gets less.
"""

from __future__ import annotations

import marshal
import os
import sys
from typing import Callable, List, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_MAX_WORKERS = 16   # past this the merge in the caller costs more than the reading saved


def usable_cores() -> int:
    """The cores this process may run on (its affinity: `taskset -c 0` makes it 1)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    if not hasattr(os, "fork"):
        return False
    threading = sys.modules.get("threading")  # never imported: then there is only one thread
    return threading is None or threading.active_count() == 1


def worker_count(items: int, least_per_worker: int) -> int:
    """How many processes (the caller included) should share `items`: one per usable core, as long
    as each gets at least `least_per_worker` (a fork and a merge cost about that many items' work)."""
    if not can_fork():
        return 1
    return max(1, min(usable_cores(), items // max(least_per_worker, 1), _MAX_WORKERS))


def _same(value):
    return value


def map_shares(work: Callable[[Sequence[Item]], List[Result]], items: Sequence[Item], workers: int,
               send: Callable[[List[Result]], object] = _same,
               receive: Callable[[object], List[Result]] = _same, interleave: bool = True) -> List[Result]:
    """work(share) for each share of `items`, in `workers` processes of which this is one; the
    results, share after share. Interleaved shares (items[i::workers]) get as many cheap and costly
    items each; otherwise each share is a block of consecutive items, so the results of the shares
    follow each other in the items' order. A worker's results travel as send(results)
    (marshallable: tuples, not named tuples) and come back as receive(that)."""
    if workers <= 1:
        return work(items)
    if interleave:
        shares = [items[index::workers] for index in range(workers)]
    else:
        size = -(-len(items) // workers)
        shares = [items[index * size:(index + 1) * size] for index in range(workers)]
    helpers = []
    for index in range(1, workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # a worker: compute, send, and leave without running the caller's cleanup
            status = 1
            try:
                os.close(read_end)
                data = marshal.dumps(send(work(shares[index])))
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        helpers.append((index, pid, read_end))
    results = work(shares[0])
    for index, pid, read_end in helpers:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status == 0:
            results += receive(marshal.loads(data))
        else:  # the worker failed: its share is done here rather than left out
            results += work(shares[index])
    return results
