"""All hosts at once: one FleetSnapshot per refresh, and each host's state in words.

Hosts are asked concurrently, on an asyncio loop in a thread of its own (never the interface's).
Each host has its own timeout (--host-timeout), which covers its answer and the decoding of it:
past it, its ssh is killed by PID and reaped (within HostSession's grace, whatever the host still
sends), and the host shows as timed out; the others are shown all the same. Answers are decoded one
at a time in a thread of their own, so the loop keeps reading the others meanwhile, and waiting for
that thread does not count against a host's time. All hosts' answers and tables together are held
to one memory bound (psxj.sources.fleet.budget). For the interface a refresh waits
at most `patience` seconds: a host still answering then shows as slow, with its last table, and
its answer is taken by the next refresh. For --print, --json and --csv (patience None) the table
waits for every host's answer or timeout.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, NamedTuple, Optional

from psxj.escape import Escaper, safe_text
from psxj.i18n import _, ngettext
from psxj.model import FleetSnapshot, Snapshot
from psxj.sources.fleet.budget import FleetMemory, table_cost
from psxj.sources.fleet.decode import BadAnswer, ps_snapshot, table_snapshot
from psxj.sources.fleet.ssh import FAILED, TIMEOUT, Answer, HostError, HostSession, ssh_command

OK, PS, SLOW, WAITING, FAILING = "ok", "ps", "slow", "waiting", "failing"
CONNECTING_AT_ONCE = 50   # SSH handshakes in flight at a time: more only thrash the CPU
CLOSE_GRACE = 1.0         # seconds for each host's ssh to end by itself when psxj quits (then it is killed)
CLOSE_SECONDS = 5.0       # closing never takes longer: what is left then is killed by its PID


class _OutOfTime(Exception):
    """A host's answer took longer than its time left to decode, or psxj is closing."""


class _DecodeGuard:
    """One decode's limits (psxj.sources.fleet.decode.DecodeGuard): the host's time left, counted from
    when the decoder takes the answer up, psxj closing, and the fleet's memory."""

    def __init__(self, reader: "FleetReader", seconds: float) -> None:
        self.reader = reader
        self.seconds = max(seconds, 0.0)
        self.deadline = float("inf")
        self.counted = 0   # the table's bytes in the fleet's memory, once its rows are known

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def rows(self, answer_bytes: int, count: int) -> None:
        cost = table_cost(answer_bytes, count)
        if not self.reader.memory.take(cost):
            memory = self.reader.memory
            raise BadAnswer(_("its table ({count} rows) would take all hosts' tables past psxj's memory bound "
                              "({limit} MiB)").format(count=count, limit=memory.limit >> 20))
        self.counted = cost

    def tick(self) -> None:
        if self.reader.closing or time.monotonic() > self.deadline:
            raise _OutOfTime()


class HostState(NamedTuple):
    """One host, as the status list shows it."""
    host: str                    # as the user wrote it (escaped)
    status: str                  # ok, ps (ps -axj answered: fewer facts), slow, waiting (never answered yet), failing
    detail: str                  # in words: "python3: 412 processes in 0.21 s", "authentication failed ..."
    method: Optional[str] = None     # "python3" or "ps -axj" of the table shown
    processes: int = 0
    seconds: Optional[float] = None  # how long its last answer took
    problem: Optional[str] = None    # the kind of failure (psxj.sources.fleet.ssh), when failing
    age: Optional[float] = None      # seconds since the table shown was read

    @property
    def failing(self) -> bool:
        return self.status == FAILING


class _Host:
    def __init__(self, name: str, session: HostSession) -> None:
        self.name = name
        self.session = session
        self.task: Optional[asyncio.Future] = None
        self.started = 0.0
        self.snapshot: Optional[Snapshot] = None
        self.answered_at: Optional[float] = None
        self.took: Optional[float] = None
        self.method: Optional[str] = None
        self.why_ps: Optional[str] = None
        self.error: Optional[HostError] = None
        self.counted = 0   # the bytes its table is counted as in the fleet's memory


class FleetReader:
    """The interface's reader for --host (same calls as psxj.sources.reader.SnapshotReader)."""

    def __init__(self, hosts: List[str], ssh_config: Optional[str] = None, timeout: float = 10.0,
                 patience: Optional[float] = 1.5, escaper: Optional[Escaper] = None,
                 memory: Optional[FleetMemory] = None) -> None:
        self.timeout = timeout
        self.patience = patience
        self.escaper = escaper or Escaper.for_environment()
        self.memory = memory or FleetMemory()
        self.closing = False
        self._hosts: Dict[str, _Host] = {
            host: _Host(host, HostSession(host, ssh_command(host, ssh_config, timeout), self.memory))
            for host in hosts}
        _enough_descriptors(len(hosts))
        self._connecting: Optional[asyncio.Semaphore] = None   # made on the loop (Python 3.9 binds it there)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="psxj-fleet", daemon=True)
        self._thread.start()
        self._decoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="psxj-fleet-decode")
        self._lock = threading.Lock()

    # the interface's calls -----------------------------------------------------------
    def prefetch(self) -> None:
        pass

    def read(self) -> FleetSnapshot:
        with self._lock:
            return asyncio.run_coroutine_threadsafe(self._round(), self._loop).result()

    def close(self) -> None:
        """End every session and the loop, within CLOSE_SECONDS whatever the hosts do (q must quit)."""
        locked = self._lock.acquire(timeout=CLOSE_SECONDS)   # a read in progress ends within the patience
        try:
            if self._loop.is_closed() or self.closing:
                return
            self.closing = True   # a decode in progress stops at its next rows
            try:
                asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(CLOSE_SECONDS)
            except Exception:  # noqa: BLE001 -- a timeout, or a session that failed to close: kill below
                pass
            self._kill_by_pid()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CLOSE_SECONDS)
            if not self._thread.is_alive():
                self._loop.close()
            self._decoder.shutdown(wait=False)
        finally:
            if locked:
                self._lock.release()

    def _kill_by_pid(self) -> None:
        """The ssh processes still running after the close: killed by their PIDs (asyncio reaps them)."""
        for pid in self.ssh_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def ssh_pids(self) -> List[int]:
        """The ssh processes running now (tests check that each is reaped)."""
        return [h.session.pid for h in self._hosts.values() if h.session.pid is not None]

    # on the loop ---------------------------------------------------------------------
    async def _round(self) -> FleetSnapshot:
        if self._connecting is None:
            self._connecting = asyncio.Semaphore(CONNECTING_AT_ONCE)
        now = time.monotonic()
        for host in self._hosts.values():
            if host.task is None or host.task.done():
                host.started = now
                host.task = asyncio.ensure_future(self._fetch(host))
        pending = [h.task for h in self._hosts.values() if not h.task.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.patience)
        return self._snapshot()

    async def _fetch(self, host: _Host) -> None:
        connecting = host.session.process is None
        if connecting:  # waiting for a turn to connect does not count against the host's timeout
            await self._connecting.acquire()
        started = time.monotonic()
        answer: Optional[Answer] = None
        guard: Optional[_DecodeGuard] = None
        try:
            try:
                answer = await asyncio.wait_for(host.session.request(b"table"), self.timeout)
            finally:
                if connecting:
                    self._connecting.release()
            guard = _DecodeGuard(self, self.timeout - (time.monotonic() - started))
            snapshot = await asyncio.get_running_loop().run_in_executor(self._decoder, self._decode, host.name,
                                                                        answer, guard)
        except (asyncio.TimeoutError, _OutOfTime):
            self._failed(host, guard, HostError(TIMEOUT, _("no answer within {timeout:g} s (--host-timeout)").format(
                                                             timeout=self.timeout)))
            await host.session.kill()
            return
        except (HostError, BadAnswer, Exception) as exc:  # noqa: B014 -- any failure is this host's alone
            self._failed(host, guard, exc if isinstance(exc, HostError) else HostError(
                                                 FAILED, _("bad answer: {error}").format(error=exc)))
            await host.session.kill()
            return
        finally:
            if answer is not None:
                self.memory.give(answer.counted)   # the answer's bytes: its table is counted now
        self.memory.give(host.counted)
        host.counted = guard.counted
        host.error = None
        host.snapshot, host.method, host.why_ps = snapshot, answer.method, answer.why_ps
        host.answered_at, host.took = time.monotonic(), time.monotonic() - started

    def _decode(self, name: str, answer: Answer, guard: _DecodeGuard) -> Snapshot:
        """In the decoder's thread: the host's table, stopped by the guard."""
        guard.start()
        if answer.method == "python3":
            return table_snapshot(answer.data, name, self.escaper, guard)
        return ps_snapshot(answer.data.decode("utf-8", "surrogateescape"), name, self.escaper, guard)

    def _failed(self, host: _Host, guard: Optional[_DecodeGuard], error: HostError) -> None:
        """The host gave no table this time: its last one and what it was counted as go."""
        self.memory.give(host.counted + (guard.counted if guard is not None else 0))
        host.counted = 0
        host.error, host.snapshot = error, None

    def _state(self, host: _Host, now: float) -> HostState:
        name = safe_text(host.name)
        running = host.task is not None and not host.task.done()
        age = now - host.answered_at if host.answered_at is not None and host.snapshot is not None else None
        if running and (host.snapshot is None or host.error is not None):
            if host.error is not None:
                return HostState(name, FAILING, _("{error} (trying again)").format(error=host.error),
                                 problem=host.error.problem)
            return HostState(name, WAITING, _("connecting: no answer yet after {seconds:.1f} s").format(
                                                seconds=now - host.started))
        if running:
            return HostState(name, SLOW, _("slow: no answer for {seconds:.1f} s; showing the table of {age:.0f} s "
                                           "ago").format(seconds=now - host.started,
                                             age=age), host.method, len(host.snapshot), host.took, age=age)
        if host.error is not None or host.snapshot is None:
            error = host.error or HostError(FAILED, _("no answer"))
            return HostState(name, FAILING, safe_text(str(error)), problem=error.problem)
        count = len(host.snapshot)
        if host.method == "ps -axj":
            return HostState(name, PS, ngettext("ps -axj ({why}): {count} process in {took:.2f} s; no flags, start "
                                                "times or cgroups, kinds inferred from the rows",
                                                "ps -axj ({why}): {count} processes in {took:.2f} s; no flags, start "
                                                "times or cgroups, kinds inferred from the rows", count).format(
                                           why=host.why_ps,
                                           count=count,
                                           took=host.took), host.method, count, host.took,
                             age=age)
        return HostState(name, OK, ngettext("python3: {count} process in {took:.2f} s",
                                            "python3: {count} processes in {took:.2f} s", count).format(
                             count=count, took=host.took),
                         host.method, count,
                         host.took, age=age)

    def _snapshot(self) -> FleetSnapshot:
        now = time.monotonic()
        states = [self._state(h, now) for h in self._hosts.values()]
        parts = {h.name: h.snapshot for h, s in zip(self._hosts.values(), states)
                 if h.snapshot is not None and s.status in (OK, PS, SLOW)}
        return FleetSnapshot(parts, tuple(states), taken_at=time.time())

    async def _close_all(self) -> None:
        for host in self._hosts.values():
            if host.task is not None and not host.task.done():
                host.task.cancel()
        await asyncio.gather(*(h.session.close(CLOSE_GRACE) for h in self._hosts.values()), return_exceptions=True)
        await asyncio.gather(*(h.session.kill() for h in self._hosts.values()), return_exceptions=True)


def _enough_descriptors(hosts: int) -> None:
    """Each open session holds three pipes: raise the soft limit on open files (never past the hard
    limit) so that hundreds of hosts do not fail with "too many open files"."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 4 * hosts + 256
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else
                                                        min(wanted, hard), hard))
    except (ImportError, ValueError, OSError):
        pass


def read_fleet(hosts: List[str], ssh_config: Optional[str] = None, timeout: float = 10.0,
               escaper: Optional[Escaper] = None) -> FleetSnapshot:
    """Every host's table once, waiting for each answer or its timeout (the command line's way)."""
    reader = FleetReader(hosts, ssh_config, timeout, patience=None, escaper=escaper)
    try:
        return reader.read()
    finally:
        reader.close()
