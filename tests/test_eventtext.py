"""Events in words, log lines and JSON (psxj.render.eventtext), on events written here."""

from __future__ import annotations

import json

import pytest

from psxj.model import ProcessRecord
from psxj.render.eventtext import EventLines, as_json, describe, json_line
from psxj.sources.events import (
    COMM,
    COREDUMP,
    EXEC,
    EXIT,
    FORK,
    GAP,
    GID,
    PTRACE,
    ROW_LAST,
    SID,
    UID,
    Orphan,
    ProcessEvent,
)

T = 1_700_000_000.25
ROW = ProcessRecord(18155, 18154, 18154, 18154, "?", -1, "R", 0, 0, "python3 d.py", "python3", "R", False,
                    ("python3", "d.py"), 0, 0, 0, 1, 0, 0, 0, 500, 5.0)


@pytest.mark.parametrize("event,words", [
    (ProcessEvent(T, FORK, 18155, ROW, parent_pid=18154, parent_command="python3 d.py"),
     "forked by 18154 (python3 d.py)"),
    (ProcessEvent(T, SID, 18154, ROW._replace(pid=18154, sid=18154)), "setsid(): new session 18154, no terminal"),
    (ProcessEvent(T, EXEC, 18155, ROW, previous="bash -c x"), "exec (was: bash -c x)"),
    (ProcessEvent(T, EXEC, 18155, ROW, ROW_LAST), "exec; it exited before its new command could be read"),
    (ProcessEvent(T, EXEC, 18155, ROW, ROW_LAST, comm="true"), "exec of true; it exited before its arguments "
                                                               "could be read"),
    (ProcessEvent(T, UID, 18155, ROW, ids=(1000, 0)), "uid: real 1000, effective 0"),
    (ProcessEvent(T, GID, 18155, ROW, ids=(50, 50)), "gid: real 50, effective 50"),
    (ProcessEvent(T, COMM, 18155, ROW, comm="worker", previous="python3"), "name now 'worker' (was 'python3')"),
    (ProcessEvent(T, PTRACE, 18155, ROW, tracer_pid=77, parent_command="gdb -p 18155"),
     "ptrace: traced by 77 (gdb -p 18155)"),
    (ProcessEvent(T, PTRACE, 18155, ROW, tracer_pid=0), "ptrace: detached"),
    (ProcessEvent(T, COREDUMP, 18155, ROW), "dumping core"),
    (ProcessEvent(T, EXIT, 18155, ROW, ROW_LAST, parent_pid=1, born_parent=18154, exit_code=0),
     "exit 0; parent was 18154, adopted by 1 (init)"),
    (ProcessEvent(T, EXIT, 18154, ROW, ROW_LAST, parent_pid=900, born_parent=900, exit_code=9,
                  orphans=(Orphan(18155, "python3 d.py", 4242, "supervisord"),)),
     "killed by SIGKILL; its child 18155 (python3 d.py) adopted by 4242 (supervisord)"),
    (ProcessEvent(T, EXIT, 18155, ROW, ROW_LAST, parent_pid=18154, born_parent=18154, polled=True, window=0.05),
     "gone, exited within 50 ms before (polled: exit status unknown)"),
    (ProcessEvent(T, GAP, 0, None, lost=12, since=T - 1), "12 events lost after "),
    (ProcessEvent(T, GAP, 0, None), "events lost (the receive buffer overflowed)"),
])
def test_each_event_in_words(event, words):
    assert words in describe(event)


def test_a_log_line_has_the_ps_columns_then_the_words():
    line = EventLines(5).line(ProcessEvent(T, SID, 18154, ROW._replace(pid=18154, ppid=1, sid=18154, stat="Rs")))
    fields = line.split()
    assert fields[1:8] == ["SID", "1", "18154", "18154", "18154", "?", "Rs"]
    assert line.endswith("setsid(): new session 18154, no terminal")
    header = EventLines(5).header()
    assert header.index("PPID") < header.index("COMMAND") < header.index("WHAT")


def test_polled_events_are_marked_in_the_event_column():
    line = EventLines(5).line(ProcessEvent(T, FORK, 18155, ROW, parent_pid=1, polled=True, window=0.5))
    assert line.split()[1] == "FORK~"


def test_a_gap_line_and_its_json():
    gap = ProcessEvent(T, GAP, 0, None, lost=3, since=T - 2)
    assert EventLines(5).line(gap).split()[1] == "GAP"
    data = json.loads(json_line(gap))
    assert (data["event"], data["lost"], data["pid"]) == ("GAP", 3, None)


def test_json_has_the_columns_on_top_and_the_exit_in_words():
    data = as_json(ProcessEvent(T, EXIT, 18155, ROW, ROW_LAST, parent_pid=1, born_parent=18154, exit_code=3 << 8))
    assert (data["pid"], data["ppid"], data["sid"], data["tty"], data["command"]) == (18155, 18154, 18154, "?",
                                                                                     "python3 d.py")
    assert data["exit"] == {"status": 768, "text": "exit 3"} and data["adopted_by"] == 1
    assert data["clock"].endswith(".250") and data["row_basis"] == "last"


def test_hostile_text_that_slipped_into_an_event_is_escaped_again():
    hostile = ProcessEvent(T, FORK, 5, ROW, parent_pid=4, parent_command="x\x1b]0;owned\x07")
    text = describe(hostile)
    assert "\x1b" not in text and "\x07" not in text
