"""Live process events: rows event by event, threads left out, losses marked, and the real kernel.

The first tests drive psxj.sources.event_tracker.EventTracker with kernel events and rows written here
(a stand-in /proc reader): they check psxj's bookkeeping, not what a kernel sends. The live tests
further down listen to this machine's kernel and start their own processes; they skip only where
the kernel refuses the socket, and say why.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import subprocess
import sys
import time

import pytest
from conftest import linux_only

from psxj.model import ProcessRecord
from psxj.select import Selection, Selector
from psxj.sources.cn_proc import (
    PROC_EVENT_COMM,
    PROC_EVENT_EXEC,
    PROC_EVENT_EXIT,
    PROC_EVENT_FORK,
    PROC_EVENT_SID,
    PROC_EVENT_UID,
    KernelEvent,
)
from psxj.sources.connector import ConnectorListener, EventsUnavailable, Gap, namespace_reason
from psxj.sources.event_stream import EventStream
from psxj.sources.event_tracker import EventTracker
from psxj.sources.events import (
    EXEC,
    EXIT,
    FORK,
    GAP,
    ROW_LAST,
    ROW_READ,
    SID,
)
from psxj.sources.proc import ProcReader


def record(pid, ppid, pgid, sid, tty="?", tpgid=-1, stat="S", command="cmd", comm="cmd", start=1000,
           argv=("cmd",), euid=0):
    return ProcessRecord(pid, ppid, pgid, sid, tty, tpgid, stat, euid, 0, command, comm, stat[0], False, argv,
                         0 if tty == "?" else 34816, 0, 0, 1, euid, 0, 0, start, start / 100.0)


class FakeProc:
    """A stand-in for ProcReader: rows from a dict, and a count of reads."""

    hertz = 100
    boot = 0.0

    def __init__(self, *rows):
        self.rows = {r.pid: r for r in rows}
        self.reads = []

    def read_process(self, pid):
        self.reads.append(pid)
        return self.rows.get(pid)

    def read_all(self, use_second_core=False):
        return list(self.rows.values())


def kernel(what, pid, tgid=None, related=0, exit_code=None, ts=5_000_000_000, **extra):
    tgid = pid if tgid is None else tgid
    return KernelEvent(what, 0, 0, ts, pid, tgid, related, related, exit_code=exit_code,
                       exit_signal=17 if what == PROC_EVENT_EXIT else None, **extra)


def tracker_with(*rows, follow=None, selection=None, parents=None):
    proc = FakeProc(*rows)
    tracker = EventTracker(proc, follow=follow, selection=selection)
    tracker.parent_now = lambda pid: (parents or {}).get(pid)
    tracker.seed(rows, taken_at=time.time())
    return tracker, proc


# -- psxj's bookkeeping, on events written here ---------------------------------------------------

SHELL = record(100, 50, 100, 50, tty="pts/1", tpgid=100, stat="S+", command="python3 starter.py", comm="python3")


def test_double_fork_rows_follow_each_step():
    """fork, setsid, fork, exit: each row is the one ps would have shown at that moment."""
    tracker, _ = tracker_with(SHELL, parents={102: 1})
    events = tracker.handle([
        kernel(PROC_EVENT_FORK, 101, related=100),
        kernel(PROC_EVENT_SID, 101),
        kernel(PROC_EVENT_FORK, 102, related=101),
        kernel(PROC_EVENT_EXIT, 101, related=100, exit_code=0),
    ])
    fork1, setsid, fork2, exit1 = events
    assert [e.kind for e in events] == [FORK, SID, FORK, EXIT]
    # The child of fork() is its parent's copy: same group, session, terminal, foreground, command.
    assert fork1.row[:6] == (101, 100, 100, 50, "pts/1", 100)
    assert fork1.row.stat == "R+" and fork1.row.command == "python3 starter.py"
    assert (fork1.parent_pid, fork1.parent_command) == (100, "python3 starter.py")
    # setsid(): its own session and group, no terminal; a session leader's STAT has s, never +.
    assert setsid.row[:6] == (101, 100, 101, 101, "?", -1) and setsid.row.stat == "Rs"
    # The grandchild inherits the new session and is not its leader.
    assert fork2.row[:6] == (102, 101, 101, 101, "?", -1) and fork2.row.stat == "R"
    # The first child's exit hands its child to its adopter (PID 1 here), seen as it happens.
    assert exit1.row.stat == "Zs" and exit1.row_basis == ROW_LAST
    assert [(o.pid, o.new_parent) for o in exit1.orphans] == [(102, 1)]
    assert tracker.rows[102].ppid == 1


def test_exit_with_another_parent_than_at_fork_is_an_adoption():
    tracker, _ = tracker_with(SHELL)
    tracker.handle([kernel(PROC_EVENT_FORK, 101, related=100)])
    [exit_event] = tracker.handle([kernel(PROC_EVENT_EXIT, 101, related=1, exit_code=9)])
    assert (exit_event.born_parent, exit_event.parent_pid, exit_event.adopted_by) == (100, 1, 1)
    [normal] = tracker.handle([kernel(PROC_EVENT_FORK, 103, related=100),
                               kernel(PROC_EVENT_EXIT, 103, related=100, exit_code=0)])[1:]
    assert normal.adopted_by is None


def test_thread_events_are_left_out_but_process_wide_ones_kept():
    tracker, _ = tracker_with(SHELL)
    events = tracker.handle([
        kernel(PROC_EVENT_FORK, 150, tgid=100, related=100),   # a new thread of 100
        kernel(PROC_EVENT_COMM, 150, tgid=100, comm=b"worker"),  # a thread's own name
        kernel(PROC_EVENT_EXIT, 150, tgid=100, related=50, exit_code=0),  # the thread ends
        kernel(PROC_EVENT_SID, 150, tgid=100),                 # setsid() from a thread: the process's
    ])
    assert [(e.kind, e.pid) for e in events] == [(SID, 100)]
    assert tracker.stats.thread_events == 3


def test_follow_keeps_the_tree_and_reads_nothing_outside_it():
    other = record(200, 1, 200, 200, command="unrelated")
    tracker, proc = tracker_with(SHELL, other, follow=100)
    proc.reads.clear()
    events = tracker.handle([
        kernel(PROC_EVENT_FORK, 201, related=200), kernel(PROC_EVENT_EXEC, 201),
        kernel(PROC_EVENT_EXIT, 201, related=200, exit_code=0),
        kernel(PROC_EVENT_FORK, 101, related=100), kernel(PROC_EVENT_FORK, 102, related=101),
    ])
    assert [(e.kind, e.pid) for e in events] == [(FORK, 101), (FORK, 102)]
    assert 201 not in proc.reads and 200 not in proc.reads
    assert tracker.followed == {100, 101, 102}


def test_exec_reads_the_new_command_or_keeps_the_last_row_when_gone():
    tracker, proc = tracker_with(SHELL)
    tracker.handle([kernel(PROC_EVENT_FORK, 101, related=100)])
    proc.rows[101] = record(101, 100, 100, 50, tty="pts/1", tpgid=100, stat="S+", command="sleep 5",
                            comm="sleep", start=tracker.rows[101].start_ticks)
    [exec_event] = tracker.handle([kernel(PROC_EVENT_EXEC, 101)])
    assert (exec_event.row.command, exec_event.previous, exec_event.row_basis) == ("sleep 5", "python3 starter.py",
                                                                                   ROW_READ)
    tracker.handle([kernel(PROC_EVENT_FORK, 102, related=100)])
    [gone] = tracker.handle([kernel(PROC_EVENT_EXEC, 102)])  # no /proc row: it exited already
    assert gone.row_basis == ROW_LAST and gone.row.command == "python3 starter.py"


def test_a_pid_reused_by_another_process_is_not_taken_for_the_old_one():
    tracker, proc = tracker_with(SHELL)
    tracker.handle([kernel(PROC_EVENT_FORK, 101, related=100)])
    proc.rows[101] = record(101, 1, 101, 101, command="someone else", start=999999)
    [exec_event] = tracker.handle([kernel(PROC_EVENT_EXEC, 101)])
    assert exec_event.row_basis == ROW_LAST and exec_event.row.command == "python3 starter.py"


def test_selectors_filter_on_the_row_at_the_event():
    selection = Selection((Selector("-u", frozenset({1000})),))
    tracker, _ = tracker_with(SHELL, selection=selection)
    events = tracker.handle([
        kernel(PROC_EVENT_FORK, 101, related=100),                       # uid 0: not shown
        kernel(PROC_EVENT_UID, 101, real_id=1000, effective_id=1000),    # now user 1000: shown
        kernel(PROC_EVENT_EXIT, 101, related=100, exit_code=0),
    ])
    assert [(e.kind, e.row.euid) for e in events] == [("UID", 1000), (EXIT, 1000)]


def test_hostile_comm_is_escaped():
    tracker, _ = tracker_with(SHELL)
    [event] = tracker.handle([kernel(PROC_EVENT_COMM, 100, comm=b"x\x1b]0;pwn\x07\x9b")])
    assert event.comm.isprintable() and "\x1b" not in event.comm and "\x07" not in event.comm
    assert event.row.comm == event.comm


def test_a_gap_is_marked_where_it_happened_then_rescanned():
    tracker, proc = tracker_with(SHELL)
    tracker.handle([kernel(PROC_EVENT_FORK, 101, related=100, ts=5_000_000_000)])
    # While events were lost: 101 exited, 105 was born.
    proc.rows[105] = record(105, 100, 100, 50, command="born in the gap", start=2000)
    events = tracker.handle([Gap(time.time(), 42, 5_000_000_000), kernel(PROC_EVENT_FORK, 106, related=100)])
    assert [(e.kind, e.pid, e.polled) for e in events] == [
        (GAP, 0, False), (EXIT, 101, True), (FORK, 105, True), (FORK, 106, False)]
    assert events[0].lost == 42 and events[0].since is not None
    assert tracker.stats.gaps == 1 and tracker.stats.lost == 42


def test_polled_snapshots_become_polled_events():
    tracker, _ = tracker_with(SHELL, record(101, 100, 100, 50, command="first"),
                              record(102, 101, 101, 101, command="daemon"))
    now = time.time()
    after = [SHELL._replace(command="python3 other.py", argv=("python3", "other.py")),
             record(102, 1, 101, 101, command="daemon"),
             record(103, 100, 103, 103, command="new", start=3000)]
    events = tracker.apply_snapshot(after, now, 0.05)
    assert all(e.polled and e.window == 0.05 for e in events)
    kinds = sorted((e.kind, e.pid) for e in events)
    assert kinds == [(EXEC, 100), (EXIT, 101), (FORK, 103)]
    [exit_event] = [e for e in events if e.kind == EXIT]
    assert [(o.pid, o.new_parent) for o in exit_event.orphans] == [(102, 1)]


def test_a_process_exits_when_it_becomes_a_zombie_not_when_it_is_reaped():
    child = record(101, 100, 100, 50, command="worker", start=1500)
    tracker, _ = tracker_with(SHELL, child)
    zombie = child._replace(stat="Z", state="Z", command="[worker] <defunct>")
    [exit_event] = tracker.apply_snapshot([SHELL, zombie], time.time(), 0.5)
    assert (exit_event.kind, exit_event.pid, exit_event.polled, exit_event.row.stat) == (EXIT, 101, True, "Z")
    assert tracker.apply_snapshot([SHELL], time.time(), 0.5) == []  # reaped: not a second exit


def test_a_rescan_does_not_retell_an_exit_the_kernel_reported():
    tracker, _ = tracker_with(SHELL)
    tracker.handle([kernel(PROC_EVENT_FORK, 101, related=100, ts=5_000_000_000),
                    kernel(PROC_EVENT_EXIT, 101, related=100, exit_code=0, ts=5_000_100_000)])
    zombie = record(101, 100, 100, 50, stat="Z", start=tracker.clock.start_ticks(5_000_000_000))
    assert tracker.apply_snapshot([SHELL, zombie], time.time(), 1.0) == []


# -- the real kernel -------------------------------------------------------------------------------

@pytest.fixture
def listener():
    try:
        sock = ConnectorListener()
    except EventsUnavailable as exc:
        pytest.skip(f"the kernel gives no process events here: {exc}")
    try:
        yield sock
    finally:
        sock.close()


def collect(stream, until, timeout=10.0):
    """Events from `stream` until `until(events)` holds."""
    events = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(events):
        events.extend(stream.read(0.1))
    return events


DOUBLE_FORK = """
import os, time
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork():
        os._exit(0)
    os.write(1, b"daemon %d\\n" % os.getpid())  # one write each: the two lines cannot interleave
    os.close(1)
    time.sleep(60)
    os._exit(0)
os.waitpid(pid, 0)
os.write(1, b"child %d\\n" % pid)
"""


def read_pids(stream) -> dict:
    """{'daemon': PID, 'child': PID} from the double fork's two lines, in whichever order they came."""
    found = {}
    while len(found) < 2:
        word, pid = stream.readline().split()
        found[word.decode()] = int(pid)
    return found


@linux_only
def _double_fork_seen(spawner):
    stream = EventStream(follow=os.getpid())
    try:
        if stream.mode != "events":
            pytest.skip(f"the kernel gives no process events here: {stream.reason}")
        starter = spawner.popen([sys.executable, "-c", DOUBLE_FORK], stdout=subprocess.PIPE)
        pids = read_pids(starter.stdout)
        spawner.track(pids["daemon"])
        starter.wait(timeout=10)
        events = collect(stream, lambda es: any(e.kind == EXIT and e.pid == starter.pid for e in es))
    finally:
        stream.close()
    return events, starter.pid, pids["child"], pids["daemon"]


def test_classic_double_fork_is_seen_step_by_step(spawner):
    for _ in range(3):  # a loss (another process's fork storm filled the buffer) is marked: try again
        events, starter, first_child, daemon = _double_fork_seen(spawner)
        if not any(e.kind == GAP for e in events):
            break
    ours = {starter, first_child, daemon}
    story = [(e.kind, e.pid) for e in events if e.pid in ours]
    expected = [(FORK, first_child), (SID, first_child), (FORK, daemon), (EXIT, first_child), (EXIT, starter)]
    positions = [story.index(step) for step in expected]
    assert positions == sorted(positions), story
    by_step = {(e.kind, e.pid): e for e in events}
    assert by_step[FORK, first_child].parent_pid == starter
    assert by_step[SID, first_child].row.sid == first_child and by_step[SID, first_child].row.tty == "?"
    grandchild = by_step[FORK, daemon].row
    assert (grandchild.ppid, grandchild.pgid, grandchild.sid, grandchild.tty) == (first_child, first_child,
                                                                                  first_child, "?")
    adopter = int(open(f"/proc/{daemon}/stat").read().rsplit(")", 1)[1].split()[1])  # read here, not by psxj
    orphans = by_step[EXIT, first_child].orphans
    assert [(o.pid, o.new_parent) for o in orphans] == [(daemon, adopter)]
    assert by_step[EXIT, first_child].exit_code == 0


@linux_only
def test_only_the_kernel_may_speak_for_the_kernel(listener):
    """A datagram sent to psxj's socket by another process is dropped, however well formed."""
    port = listener._sock.getsockname()[0]
    forger = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 11)
    try:
        forger.bind((0, 0))
        fake = (struct.pack("=IHHII", 76, 3, 0, 0, 0) + struct.pack("=IIIIHH", 1, 1, 0, 0, 40, 0)
                + struct.pack("=IIQ", 1, 0, 1) + struct.pack("=6i", 1, 1, 4242, 4242, 0, 0))
        try:
            forger.sendto(fake, (port, 0))
        except PermissionError:
            pytest.skip("only root may send to another netlink socket; nothing to forge from here")
        deadline = time.monotonic() + 2
        seen = []
        while listener.forged == 0 and time.monotonic() < deadline:
            seen.extend(listener.read(0.1))
    finally:
        forger.close()
    assert listener.forged == 1
    assert not [e for e in seen if getattr(e, "pid", None) == 4242]


@linux_only
def test_event_filter_sends_only_the_kinds_asked(spawner):
    from psxj.sources.cn_proc import PROC_EVENT_EXEC as EXEC_MASK
    from psxj.sources.connector import kernel_has_event_filter

    if not kernel_has_event_filter():
        pytest.skip(f"kernel {os.uname().release} has no per-socket event filter (6.6+)")
    try:
        exec_only = ConnectorListener(event_mask=EXEC_MASK)
    except EventsUnavailable as exc:
        pytest.skip(f"the kernel gives no process events here: {exc}")
    try:
        assert exec_only.filtered
        proc = spawner.popen(["true"])
        proc.wait(timeout=10)
        events = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not any(e.pid == proc.pid for e in events):
            events.extend(e for e in exec_only.read(0.1) if not isinstance(e, Gap))
    finally:
        exec_only.close()
    assert [e.kind for e in events if e.pid == proc.pid] == ["EXEC"]
    assert {e.kind for e in events} == {"EXEC"}


@linux_only
def test_buffer_overflow_is_marked_as_a_gap_with_its_size():
    """Real ENOBUFS: the smallest receive buffer the kernel allows, and a burst of forks not read."""
    try:
        small = ConnectorListener(receive_buffer=1)
    except EventsUnavailable as exc:
        pytest.skip(f"the kernel gives no process events here: {exc}")
    tracker = EventTracker(ProcReader(), follow=os.getpid())
    tracker.seed(tracker.reader.read_all())
    # Sequence numbers are per CPU, and a loss is sized only on a CPU whose number before the loss
    # was read: on one CPU (the children inherit it), the kept events and the later ones share it.
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        assert small.receive_buffer < 16384
        children = []
        for _ in range(200):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        events = []
        for _ in range(5):
            events.extend(tracker.handle(small.read(0.05)))
        # A few more forks from this same process: each CPU's next number shows how many were lost.
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            events.extend(tracker.handle(small.read(0.01)))
    finally:
        os.sched_setaffinity(0, cpus)
        small.close()
    gaps = [e for e in events if e.kind == GAP]
    assert gaps, "400 events into a 2 KiB buffer and no loss noticed"
    assert gaps[0].lost is None or gaps[0].lost > 0
    assert small.lost > 100  # the per-CPU sequence numbers jumped: the size of the loss is known
    seen_forks = {e.pid for e in events if e.kind == FORK and not e.polled}
    assert len(seen_forks & set(children)) < len(children)


def test_namespace_reason_reads_links_nspid_and_uid_map(tmp_path):
    status, uid_map, ns = tmp_path / "status", tmp_path / "uid_map", tmp_path / "ns"
    ns.mkdir()
    status.write_bytes(b"Name:\tx\nNSpid:\t5370\n")
    uid_map.write_bytes(b"         0          0 4294967295\n")
    paths = (str(status), str(uid_map), str(ns))
    assert namespace_reason(*paths) is None
    os.symlink("pid:[4026531836]", ns / "pid")  # the initial PID namespace's fixed inode, 0xEFFFFFFC
    os.symlink("user:[4026531837]", ns / "user")
    assert namespace_reason(*paths) is None
    os.unlink(ns / "pid")
    os.symlink("pid:[4026532301]", ns / "pid")
    assert "PID namespace" in namespace_reason(*paths)
    os.unlink(ns / "pid")
    status.write_bytes(b"Name:\tx\nNSpid:\t5370\t12\n")
    assert "PID namespace" in namespace_reason(*paths)
    status.write_bytes(b"NSpid:\t5370\n")
    uid_map.write_bytes(b"0 1000 1\n")
    assert "user namespace" in namespace_reason(*paths)


@linux_only
def test_this_machine_is_not_mistaken_for_a_namespace():
    if not os.path.exists("/proc/self/ns/pid"):
        pytest.skip("no /proc/self/ns")
    with open("/proc/self/status", "rb") as f:
        nspid = [line for line in f if line.startswith(b"NSpid:")]
    if not nspid or len(nspid[0].split()) != 2:
        pytest.skip("this test runs inside a PID namespace (or a kernel without NSpid)")
    reason = namespace_reason()
    assert reason is None or "user namespace" in reason


@linux_only
def test_prctl_rename_is_seen_escaped(listener):
    """A process naming itself with terminal controls: the COMM event arrives, escaped."""
    libc = ctypes.CDLL(None, use_errno=True)
    stream_tracker = EventTracker(ProcReader(), follow=os.getpid())
    stream_tracker.seed(stream_tracker.reader.read_all())
    pid = os.fork()
    if pid == 0:
        try:
            libc.prctl(15, b"e\x1b[31mvil\x07", 0, 0, 0)  # PR_SET_NAME
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    events = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any(e.kind == EXIT and e.pid == pid for e in events):
        events.extend(stream_tracker.handle(listener.read(0.1)))
    [rename] = [e for e in events if e.pid == pid and e.kind == "COMM"]
    assert "\x1b" not in rename.comm and "\x07" not in rename.comm and rename.comm.startswith("e?[31mvil")



@linux_only
def test_polling_follows_a_subtree_every_50_ms(spawner):
    """The fallback, forced: a child and its grandchild are seen born and gone by polling. The
    grandchild lives until the test has seen it (it reads its stdin until the test closes it), so
    a slow moment of the test cannot make a poll come too late."""
    stream = EventStream(follow=os.getpid(), poll=True)
    try:
        assert stream.mode == "polling" and "every 50 ms" in stream.notice and "may never be seen" in stream.notice
        code = ("import os, sys\n"
                "pid = os.fork()\n"
                "if pid == 0:\n    sys.stdin.buffer.read()\n    os._exit(0)\n"
                "print(pid, flush=True)\nos.waitpid(pid, 0)\n")
        child = spawner.popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        grandchild = int(child.stdout.readline())
        events = collect(stream, lambda es: any(e.kind == FORK and e.pid == grandchild for e in es))
        child.stdin.close()  # the grandchild reads its end of input and exits; then the child does
        events += collect(stream, lambda es: any(e.kind == EXIT and e.pid == child.pid for e in es))
        child.wait(timeout=10)
    finally:
        stream.close()
    mine = [(e.kind, e.pid) for e in events if e.pid in (child.pid, grandchild)]
    assert (FORK, child.pid) in mine and (FORK, grandchild) in mine and (EXIT, grandchild) in mine
    assert all(e.polled and e.window > 0 for e in events)
    # Each event happened within one poll's window: about 50 ms, a few times that on a slow moment.
    windows = sorted(e.window for e in events)
    assert windows[len(windows) // 2] < 0.5, windows
    [born] = [e for e in events if e.kind == FORK and e.pid == grandchild]
    assert born.parent_pid == child.pid


@linux_only
def test_kinds_narrow_what_a_stream_hands_out(spawner):
    stream = EventStream(follow=os.getpid(), kinds={EXIT})
    try:
        if stream.mode != "events":
            pytest.skip(f"the kernel gives no process events here: {stream.reason}")
        proc = spawner.popen(["true"])
        proc.wait(timeout=10)
        events = collect(stream, lambda es: any(e.pid == proc.pid for e in es))
    finally:
        stream.close()
    assert {e.kind for e in events} == {EXIT}
    assert [e.pid for e in events].count(proc.pid) == 1


@linux_only
def test_feed_hands_out_events_from_its_thread_without_blocking():
    from psxj.judge.story import EventLog
    from psxj.sources.event_stream import EventFeed

    log = EventLog()
    feed = EventFeed(follow=os.getpid(), on_events=log.add_many)
    try:
        if feed.mode != "events":
            pytest.skip(f"the kernel gives no process events here: {feed.stream.reason}")
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        os.waitpid(pid, 0)
        drained = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(e.kind == EXIT and e.pid == pid for e in drained):
            drained.extend(feed.drain())
            time.sleep(0.05)
    finally:
        feed.close()
    assert [e.kind for e in drained if e.pid == pid] == [FORK, EXIT]
    assert [e.exit_code for e in drained if e.pid == pid and e.kind == EXIT] == [7 << 8]
    story = [line.text for line in log.story((pid, None))]
    assert story[0].startswith(f"forked by PID {os.getpid()} ") and story[-1].startswith("exited at ")
    assert feed.error is None and not feed._thread.is_alive()


@linux_only
@pytest.mark.parametrize("poll", [False, True])
def test_a_read_that_waits_for_ever_ends_when_woken(spawner, poll):
    """The interface's events thread waits for events without a timeout (an idle machine never wakes
    it); wake() is how it is stopped: a read waiting then returns, and a wake() that came before
    the read began ends that read at once, so a close() can never be missed."""
    import threading

    quiet = spawner.sleeper()
    stream = EventStream(follow=quiet.pid, poll=poll)   # nothing happens in its tree
    try:
        got = []
        waiting = threading.Thread(target=lambda: got.append(stream.read()), daemon=True)
        waiting.start()
        stream.wake()
        waiting.join(30)
        assert not waiting.is_alive() and got == [[]]
        stream.wake()
        assert stream.read() == []
    finally:
        stream.close()


@linux_only
def test_a_quiet_feed_gives_its_events_to_the_log_only_and_in_batches(monkeypatch):
    """With the events pane closed the interface's feed is quiet: events gather before they are read
    (one wake-up for several), go to the event log as before, and are not kept for a pane nobody shows.
    Spoken again, it keeps them for drain() from then on."""
    from psxj.judge.story import EventLog
    from psxj.sources import connector, event_stream
    from psxj.sources.event_stream import EventFeed

    reads = []   # each read of the kernel's events: the pids of its processes' events
    original = connector.ConnectorListener.read

    def counted(self, *args, **kwargs):
        items = original(self, *args, **kwargs)
        reads.append([getattr(item, "tgid", None) for item in items])
        return items

    monkeypatch.setattr(connector.ConnectorListener, "read", counted)
    monkeypatch.setattr(event_stream, "QUIET_LINGER", 1.0)
    log = EventLog()
    feed = EventFeed(follow=os.getpid(), on_events=log.add_many, quiet=True)
    try:
        if feed.mode != "events":
            pytest.skip(f"the kernel gives no process events here: {feed.stream.reason}")
        pid = os.fork()
        if pid == 0:
            time.sleep(0.2)   # its fork and its exit are two events, apart: one read takes both
            os._exit(3)
        os.waitpid(pid, 0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not [line for line in log.story((pid, None)) if "exited" in line.text]:
            time.sleep(0.05)
        story = [line.text for line in log.story((pid, None))]
        assert story[0].startswith(f"forked by PID {os.getpid()} ") and story[-1].startswith("exited at ")
        assert feed.drain() == []
        assert [batch.count(pid) for batch in reads if pid in batch] == [2]   # the fork and the exit, one read
        feed.quiet = False
        second = os.fork()
        if second == 0:
            os._exit(4)
        os.waitpid(second, 0)
        drained = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e.kind == EXIT and e.pid == second for e in drained):
            drained.extend(feed.drain())
            time.sleep(0.05)
        assert [e.kind for e in drained if e.pid == second] == [FORK, EXIT]
    finally:
        feed.close()
    assert feed.error is None and not feed._thread.is_alive()


@linux_only
def test_closing_a_quiet_feed_ends_the_wait_for_more_events_at_once(monkeypatch):
    """A quiet feed lets events gather after the first; close() must not wait for that to end."""
    from psxj.sources import event_stream
    from psxj.sources.event_stream import EventFeed

    monkeypatch.setattr(event_stream, "QUIET_LINGER", 3600.0)
    feed = EventFeed(follow=os.getpid(), quiet=True)
    if feed.mode != "events":
        feed.close()
        pytest.skip(f"the kernel gives no process events here: {feed.stream.reason}")
    pid = os.fork()   # an event: the feed wakes, then lingers for an hour
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    time.sleep(0.3)
    feed.close(timeout=10)
    assert not feed._thread.is_alive()
