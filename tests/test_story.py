"""Birth stories and observed adoptions (psxj.judge.story).

The first tests feed events written here (ProcessEvents as psxj.sources.events makes them), so
they check the story's bookkeeping, not the kernel. The live tests at the end watch real processes:
a subreaper that receives an orphan, and the inferred story of a real classic daemon.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from conftest import ROOT, linux_only

from psxj.judge.story import EventLog, inferred_story
from psxj.model import ProcessRecord
from psxj.sources.event_stream import EventStream
from psxj.sources.events import (
    EXEC,
    EXIT,
    FORK,
    GAP,
    ROW_DERIVED,
    ROW_READ,
    SID,
    Orphan,
    ProcessEvent,
)
from psxj.sources.proc import read_snapshot

T0 = 1_700_000_000.0


def row(pid, ppid, sid, start, command="python3 d.py"):
    return ProcessRecord(pid, ppid, pid if sid == pid else ppid, sid, "?", -1, "S", 0, 0, command, "python3", "S",
                         False, tuple(command.split()), 0, 0, 0, 1, 0, 0, 0, start, start / 100.0)


def event(kind, pid, at, record, **fields):
    return ProcessEvent(T0 + at, kind, pid, record, fields.pop("basis", ROW_DERIVED), T0 + at, **fields)


def double_fork(starter=100, child=101, daemon=102, adopter=1, adopter_command="init", namespace_init=False):
    """The events of the classic detach, as psxj.sources.events reports them."""
    return [
        event(FORK, child, 0.001, row(child, starter, 50, 500), parent_pid=starter, parent_command="python3 d.py"),
        event(SID, child, 0.002, row(child, starter, child, 500)),
        event(FORK, daemon, 0.003, row(daemon, child, child, 500), parent_pid=child, parent_command="python3 d.py"),
        event(EXIT, child, 0.004, row(child, starter, child, 500), parent_pid=starter, born_parent=starter,
              exit_code=0, orphans=(Orphan(daemon, "python3 d.py", adopter, adopter_command, 500, namespace_init),)),
        event(EXIT, starter, 0.005, row(starter, 40, 50, 400), parent_pid=40, born_parent=40, exit_code=0),
    ]


def test_the_daemons_story_tells_each_step_with_its_time():
    log = EventLog(started_at=T0)
    log.add_many(double_fork())
    lines = log.story((102, 500))
    assert [line.inferred for line in lines] == [False, False]
    assert lines[0].text.startswith("forked by PID 101 (python3 d.py) at ")
    assert lines[1].text.startswith("its parent PID 101 (python3 d.py) exited at ")
    assert lines[1].text.endswith("; adopted by PID 1 (init)")
    assert lines[0].time < lines[1].time
    first_child = [line.text.split(" at ")[0] for line in log.story((101, 500))]
    assert first_child == ["forked by PID 100 (python3 d.py)", "setsid()", "exited"]


def test_a_process_seen_only_at_its_exit_says_it_was_already_running():
    log = EventLog(started_at=T0)
    log.add_many(double_fork())
    lines = log.story((100, 400))
    assert lines[0].text.startswith("already running when psxj started listening")
    assert lines[-1].text.startswith("exited at ")


def test_adoption_by_init_is_an_adoption_but_not_a_subreaper():
    log = EventLog(started_at=T0)
    log.add_many(double_fork(adopter=1))
    [adoption] = log.adoptions()
    assert (adoption.child, adoption.old_parent, adoption.new_parent, adoption.at_parent_exit) == ((102, 500), 101, 1,
                                                                                                  True)
    assert adoption.proof.kind == EXIT and adoption.proof.pid == 101
    assert log.observed_subreapers() == []


def test_a_parent_that_received_an_orphan_is_an_observed_subreaper():
    log = EventLog(started_at=T0)
    log.add_many(double_fork(adopter=4242, adopter_command="supervisor --foo"))
    [reaper] = log.observed_subreapers()
    assert (reaper.pid, reaper.command) == (4242, "supervisor --foo")
    assert reaper.adoptions[0].proof.pid == 101  # the EXIT that orphaned the daemon


def test_a_containers_init_is_not_called_a_subreaper():
    log = EventLog(started_at=T0)
    log.add_many(double_fork(adopter=3000, adopter_command="tini", namespace_init=True))
    assert len(log.adoptions()) == 1 and log.observed_subreapers() == []


def test_an_adoption_seen_only_at_the_childs_exit_says_the_moment_was_not_seen():
    log = EventLog(started_at=T0)
    log.add_many([
        event(FORK, 201, 0.1, row(201, 200, 50, 700), parent_pid=200),
        event(EXIT, 201, 9.0, row(201, 7, 50, 700), parent_pid=7, parent_command="reaper", born_parent=200,
              exit_code=0),
    ])
    [adoption] = log.adoptions()
    assert (adoption.old_parent, adoption.new_parent, adoption.at_parent_exit) == (200, 7, False)
    assert any("at a moment psxj did not see" in line.text for line in log.story((201, 700)))
    assert [r.pid for r in log.observed_subreapers()] == [7]


def test_lost_events_are_told_in_the_stories_of_processes_alive_then():
    log = EventLog(started_at=T0)
    log.add_many(double_fork())
    log.add(ProcessEvent(T0 + 5.0, GAP, 0, None, lost=17, since=T0 + 4.0))
    log.add(event(FORK, 300, 6.0, row(300, 1, 300, 900), parent_pid=1))
    daemon_story = [line.text for line in log.story((102, 500))]
    assert any("17 events were lost here" in text for text in daemon_story)  # still alive at the loss
    assert not any("lost" in line.text for line in log.story((101, 500)))  # it had exited before
    assert not any("lost" in line.text for line in log.story((300, 900)))  # born after


def test_a_reused_pid_has_a_story_of_its_own():
    log = EventLog(started_at=T0)
    log.add_many([
        event(FORK, 400, 0.1, row(400, 1, 400, 1000, "first"), parent_pid=1),
        event(EXIT, 400, 0.2, row(400, 1, 400, 1000, "first"), parent_pid=1, born_parent=1, exit_code=0),
        event(FORK, 400, 5.0, row(400, 9, 400, 1500, "second"), parent_pid=9),
        event(EXEC, 400, 5.1, row(400, 9, 400, 1500, "second --now"), basis=ROW_READ),
    ])
    assert [line.text.split(" at ")[0] for line in log.story((400, 1000))] == ["forked by PID 1 (init)", "exited"]
    assert [line.text.split(" at ")[0] for line in log.story((400, 1500))] == ["forked by PID 9", "exec'd"]
    assert log.story((400, 5000)) == []


def test_polled_steps_are_marked_as_such():
    log = EventLog(started_at=T0)
    log.add(ProcessEvent(T0 + 1, FORK, 500, row(500, 1, 500, 100), ROW_READ, T0 + 1, parent_pid=1, polled=True,
                         window=0.05))
    lines = log.story((500, 100))
    assert "seen by a poll at" in lines[0].text and "50 ms earlier" in lines[0].text
    assert "seen by polling" in lines[-1].text


def test_the_log_is_safe_to_feed_from_one_thread_and_read_from_another():
    log = EventLog(started_at=T0, max_lives=500)
    stop = threading.Event()

    def feed():
        for n in range(2000):
            pid = 10000 + n
            log.add_many([event(FORK, pid, n, row(pid, 1, pid, n), parent_pid=1),
                          event(EXIT, pid, n + 0.5, row(pid, 1, pid, n), parent_pid=1, born_parent=1, exit_code=0)])
        stop.set()

    thread = threading.Thread(target=feed)
    thread.start()
    while not stop.is_set():
        log.story((10005, 5))
        log.adoptions()
    thread.join()
    assert log.story((10005, 5)) == []           # forgotten: only the latest 500 lives are kept
    assert len(log.story((11999, 1999))) == 2


# -- without events: what can be inferred, flagged as inferred ------------------------------------

@linux_only
def test_inferred_story_of_a_real_classic_daemon(spawner):
    read_end, write_end = os.pipe()
    starter = spawner.popen([sys.executable, str(ROOT / "tests" / "helpers" / "classic_daemon.py"), str(write_end)],
                            pass_fds=(write_end,))
    os.close(write_end)
    daemon = int(os.read(read_end, 32))
    os.close(read_end)
    spawner.track(daemon)
    starter.wait(timeout=10)
    snapshot = read_snapshot()
    record = snapshot.get(daemon)
    lines = inferred_story(snapshot, record)
    by_start = {line.text.split(" ")[0]: line for line in lines}
    assert by_start["started"].inferred is False
    parent_line = [line for line in lines if line.text.startswith("its parent is")][0]
    assert parent_line.inferred and "no fork event was seen" in parent_line.text
    assert parent_line.display().startswith("inferred: ")
    leaderless = [line for line in lines if "setsid() and exited" in line.text]
    assert leaderless and leaderless[0].inferred
    assert any(line.text == "no controlling terminal (TTY ?)" and not line.inferred for line in lines)


@linux_only
def test_inferred_story_of_an_ordinary_child(spawner):
    child = spawner.sleeper()
    snapshot = read_snapshot()
    lines = inferred_story(snapshot, snapshot.get(child.pid))
    forked = [line for line in lines if line.text.startswith(f"forked by PID {os.getpid()} ")]
    assert forked and forked[0].inferred


# -- a real subreaper ------------------------------------------------------------------------------

SUBREAPER = r"""
import ctypes, os, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
child = os.fork()
if child == 0:
    daemon = os.fork()
    if daemon == 0:
        time.sleep(60)
        os._exit(0)
    os.write(1, b"%d %d\n" % (os.getpid(), daemon))
    os._exit(0)
os.waitpid(child, 0)
sys.stdin.readline()
"""


@linux_only
def test_a_real_subreaper_is_observed_with_the_exit_as_proof(spawner):
    stream = EventStream(follow=os.getpid())
    log = EventLog()
    try:
        if stream.mode != "events":
            pytest.skip(f"the kernel gives no process events here: {stream.reason}")
        reaper = spawner.popen([sys.executable, "-c", SUBREAPER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        child, daemon = map(int, reaper.stdout.readline().split())
        spawner.track(daemon)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not log.observed_subreapers():
            log.add_many(stream.read(0.1))
        reaper.stdin.close()
        reaper.wait(timeout=10)
    finally:
        stream.close()
    [found] = log.observed_subreapers()
    assert found.pid == reaper.pid
    [adoption] = found.adoptions
    assert adoption.child[0] == daemon and adoption.old_parent == child and adoption.proof.pid == child
    story = [line.text for line in log.story((daemon, None))]
    assert any(text.startswith(f"its parent PID {child} ") and f"adopted by PID {reaper.pid} " in text
               for text in story)
