"""Everyday use of the interface (issue 24), each problem a new user tripped on driven with Pilot at the
sizes people use (160x48, 80x24, 60x20): chosen columns that never appeared at 80 columns, keys typed
ahead of a dialog, notices that covered what they commented on, plurals, wrapped lines that lost their
indent, a first frame that jumped, keys that were off without a word; and what htop users reach for."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import LiveReader, exit_status, linux_only, select_live_row
from test_events_interface import events_ready
from test_tui import FIXED_TIME, opened_help, screen_text, shown_pids, tutorial
from textual import events

from psxj import i18n
from psxj.model import Snapshot
from psxj.render.eventtext import EventLines
from psxj.tui.app import PsxjApp

SIZES = [(160, 48), (80, 24), (60, 20)]


def status_text(app) -> str:
    return screen_text(app.widget("#status")).rstrip("\n")


def notices(app) -> list:
    """Every notice the interface gave, oldest first."""
    return [n.message for n in app.notices]


async def type_ahead(app, pilot, *keys: str) -> None:
    """Keys sent at once, as a terminal delivers a burst (tmux send-keys o Space Enter): each reaches
    the app before the one before it has been handled."""
    for key in keys:
        character = {"space": " ", "enter": "\r"}.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, character))
    await pilot.pause(0.3)


async def choose_columns(app, pilot, *keys: str) -> None:
    """o, then Space on each of `keys` (column keys, whatever their place in the list), then Enter."""
    from textual.widgets import SelectionList

    from psxj.tui.views import ColumnsScreen

    await pilot.press("o")
    assert isinstance(app.screen, ColumnsScreen)
    listed = app.screen.query_one(SelectionList)
    values = [listed.get_option_at_index(i).value for i in range(listed.option_count)]
    at = 0
    for key in keys:
        index = values.index(key)
        await pilot.press(*(["down"] * (index - at) if index >= at else ["up"] * (at - index)), "space")
        at = index
    await pilot.press("enter")


def chosen_columns(app) -> set:
    """The columns the options ask for (the defaults not turned off, and the optional ones chosen)."""
    from psxj.render.views import COLUMNS

    without = set(getattr(app.options, "without", ()))
    return {c.key for c in COLUMNS if (c.key in app.options.columns if c.optional else c.key not in without)}


# --- bug 1: at 80 columns, the columns chosen with o appear, and the status says what gave way --------

@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_chosen_columns_appear_on_a_narrow_terminal_and_the_status_names_what_gave_way(size):
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=size) as pilot:
        await choose_columns(app, pilot, "kind", "cpu")
        header = app.table.header_text()
        assert "KIND" in header and "%CPU" in header   # chosen: never the ones to give way
        status = status_text(app)
        assert "cols hidden" not in status
        hidden = app.table.hidden_columns
        assert hidden
        if size[0] >= 80:   # at 60, with a file's name to show, there is no room to say which
            assert all(column in status for column in hidden), status
        # Sideways, the view reaches the end of COMMAND, the mark column staying put.
        for _ in range(60):
            await pilot.press("right")
        assert "[kthreadd]" in app.table.render_line(2).text or app.table.h_offset == app.table.max_h_offset()


# --- bug 3: keys typed right after o or x reach the dialog, never the table behind it ------------------

async def test_keys_typed_ahead_of_the_columns_dialog_reach_it():
    from textual.widgets import SelectionList

    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(80, 24)) as pilot:
        first = None
        await pilot.press("o")
        listed = app.screen.query_one(SelectionList)
        first = listed.get_option_at_index(0).value
        was_on = first in listed.selected
        await pilot.press("escape")
        await type_ahead(app, pilot, "o", "space", "enter")
        assert not app.table.tagged
        assert type(app.screen).__name__ == "MainScreen"        # Enter applied, the dialog is gone
        assert (first in chosen_columns(app)) != was_on          # Space toggled the first column


@linux_only
async def test_x_9_enter_typed_at_once_kills_the_selected_process(spawner):
    proc = spawner.sleeper()
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await select_live_row(app, pilot, proc.pid)
        await type_ahead(app, pilot, "x", "9", "enter")
        status = await exit_status(pilot, proc)
        assert status == -signal.SIGKILL, (f"not killed; screen {app.screen!r}, selected "
                                           f"{app.table.current and app.table.current.pid} (wanted {proc.pid}), "
                                           f"notices {notices(app)[-3:]}")
        assert app.table.current is not None


# --- bug 6: notices never cover what they comment on ----------------------------------------------

def covered(app, *selectors: str) -> list:
    """Toasts over the given widgets of the main screen."""
    from textual.widgets._toast import Toast

    regions = [app.widget(s, object).region for s in selectors if app.widget(s, object).display]
    return [toast for toast in app.screen.query(Toast) if any(toast.region.overlaps(r) for r in regions)]


@pytest.mark.parametrize("size", SIZES)
async def test_notices_leave_the_table_uncovered(size):
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=size, notifications=True) as pilot:
        await pilot.press("slash", *"kworker", "enter")
        await pilot.press("escape")                 # "Esc closes what is open; the filter stays…"
        await pilot.pause()
        assert not covered(app, "#table")
        assert "Esc closes what is open; the filter stays. Backspace clears it." in notices(app)
        await pilot.press("backspace")              # "Filter cleared (it was: kworker)."
        await pilot.pause()
        assert not covered(app, "#table")
        notice = app.widget("#notice")
        assert notice.display and "Filter cleared (it was: kworker)" in screen_text(notice)
        assert not notice.region.overlaps(app.table.region)
        assert app.table.region.height >= size[1] // 2


# --- bug 7: plurals, in both languages ------------------------------------------------------------

@linux_only
@pytest.mark.parametrize("language", ["en", "zh"])
async def test_one_process_is_one_process_in_the_signal_dialog(spawner, language):
    proc = spawner.sleeper(start_new_session=True)   # a group of its own: one process
    i18n.install(language)
    try:
        app = PsxjApp(reader=LiveReader(), delay=60)
        async with app.run_test(size=(160, 40)) as pilot:
            await select_live_row(app, pilot, proc.pid)
            await pilot.press("x", "g")
            title = app.screen.targets["group"].title
            await pilot.press("escape")
    finally:
        i18n.install("en")
    if language == "en":
        assert f"process group {proc.pid} (1 process: {proc.pid})" in title
    else:   # Chinese has one form; the catalogue has it as the plural's
        assert f"进程组 {proc.pid} (1 个进程：{proc.pid})" in title, title


# --- bug 9: wrapped lines keep their indent -------------------------------------------------------

@pytest.mark.parametrize("text", [
    "  A new session and process group, led by this process: SID and PGID become its PID, TTY becomes ?",
    "  一个新的会话和进程组，由这个进程领导：SID 和 PGID 变成它的 PID，TTY 变成 ?，TPGID 变成 -1，STAT 得到 s",
])
def test_a_wrapped_paragraph_keeps_its_indent_on_every_line(text):
    from rich.console import Console

    from psxj.tui.wrapping import wrapped

    console = Console(width=36, record=True, file=open(os.devnull, "w"))
    console.print(wrapped(text))
    lines = [line for line in console.export_text().splitlines() if line.strip()]
    assert len(lines) > 2
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines), lines


# --- bug 10: the first frame is laid out as the interface will be -----------------------------------

@linux_only
async def test_the_first_frame_has_the_interfaces_column_widths_and_rows():
    """Painted before Textual from a few rows, it is laid out as the table of every process will be."""
    from psxj.sources.proc import read_snapshot
    from psxj.tui.first_frame import frame_lines, read_first_rows

    partial, _count = read_first_rows(3)
    full = read_snapshot()
    if len(str(max(partial.partial_rows))) == len(str(full.records[-1].pid)):
        pytest.skip("every PID here has as many digits as the first ones: no jump to see")
    frame = [re.sub("\x1b\\[[0-9;]*m", "", line) for line in frame_lines(partial, 160, 48, 2.0)]
    app = PsxjApp(reader=LiveReader(), delay=60, first_snapshot=partial)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        while app.first_snapshot is not None:
            await pilot.pause(0.1)
        full_header = app.table.render_line(0).text
        full_rows = [row.record.pid for row in app.table.rows]
    header = next(line for line in frame if "PPID" in line)
    assert header.rstrip() == full_header.rstrip()
    frame_pids = [int(line[2:].split()[1]) for line in frame[frame.index(header) + 1:]   # after the mark
                  if len(line[2:].split()) > 1 and line[2:].split()[1].isdigit()][:3]
    assert frame_pids == full_rows[:3]


# --- bug 12: a key that is off says so -------------------------------------------------------------

@linux_only
async def test_keys_that_are_off_in_a_browser_say_why():
    from psxj.tui.app import DEMO_ACTIONS, SIGNAL_ACTIONS
    from psxj.tui.served import refusal_notes

    app = PsxjApp(reader=LiveReader(), delay=60, refused_actions=SIGNAL_ACTIONS | DEMO_ACTIONS,
                  status_banner="serving on 127.0.0.1:8000", refusal_notes=refusal_notes())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("x")
        await pilot.pause()
        assert any("--allow-signals" in text for text in notices(app)), notices(app)
        await pilot.press("d")
        await pilot.pause()
        assert any("--allow-demo" in text for text in notices(app)), notices(app)
        assert app.demo is None


async def test_live_keys_on_a_loaded_table_say_why():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("x")
        await pilot.pause()
        assert any("loaded from a file" in text for text in notices(app)), notices(app)


__all__ = ["FIXED_TIME", "Snapshot", "shown_pids", "subprocess", "sys", "time"]


# --- the filter line: there while it is typed in, its hint whole at every width -----------------------

@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("size", SIZES)
async def test_the_filter_line_takes_no_row_from_the_table_and_its_hint_fits(size, language):
    """While it is typed in, the filter line stands in the key bar's place (as htop's F4 does): the
    table keeps its rows, and the screen is laid out once, not twice, when the line opens or closes."""
    from psxj.cells import cells

    i18n.install(language)
    try:
        app = PsxjApp(snapshot=tutorial())
        async with app.run_test(size=size) as pilot:
            line, keys = app.widget("#filter", object), app.widget("#keys", object)
            assert not line.display and keys.display
            rows_before = app.table.size.height
            await pilot.press("slash")
            await pilot.pause()
            assert line.display and app.focused is line and not keys.display
            assert app.table.size.height == rows_before
            assert cells(line.placeholder) <= size[0] - 2, line.placeholder   # the whole hint, never cut
            await pilot.press(*"-s 2389", "enter")
            await pilot.pause()
            assert not line.display and keys.display and shown_pids(app) == [2389]
            assert "-s 2389" in status_text(app)            # the filter in force: on the status line
            assert app.table.size.height == rows_before
    finally:
        i18n.install("en")


# --- the first screen: your world first, kernel threads last and still there --------------------------

@linux_only
async def test_the_first_screen_shows_your_processes_first_and_the_kernel_threads_last(spawner):
    from conftest import NOBODY, root_only  # noqa: F401

    from psxj.sources.names import own_uid

    you = own_uid()
    mine = spawner.sleeper()
    if os.geteuid() != 0:
        pytest.skip("a process of another user needs root to start")
    theirs = spawner.popen(["sleep", "120"], preexec_fn=lambda: (os.setgid(NOBODY), os.setuid(NOBODY)))
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_live_row(app, pilot, theirs.pid)
        rows = [row.record for row in app.table.rows if row.kind == "process"]
        band = [0 if not r.kernel_thread and r.euid == you else 2 if r.kernel_thread else 1 for r in rows]
        assert band == sorted(band)                        # yours, then the others', then kernel threads
        assert not rows[0].kernel_thread and rows[0].euid == you
        pids = [r.pid for r in rows]
        assert pids.index(mine.pid) < pids.index(theirs.pid)
        if any(r.kernel_thread for r in rows):
            assert rows[-1].kernel_thread                   # still in the table, at the end
            await pilot.press("end")
            assert app.table.current.kernel_thread and app.table.render_line(app.table.size.height - 1).text[0] == "K"
        status = status_text(app)
        assert "yours first, kernel threads last" in status
        await pilot.press("greater_than_sign")             # another order: plain
        assert app.options.sort_key == "ppid" and "yours first" not in status_text(app)
        await pilot.press("less_than_sign")
        assert app.options.sort_key == "home"


# --- bug 2: the events pane pauses, scrolls back, and reads whole ----------------------------------

def _storm(count: int = 100) -> int:
    """A shell that runs /bin/true `count` times; its PID, once it has ended."""
    shell = subprocess.Popen(["sh", "-c", f"for i in $(seq {count}); do /bin/true; done"])
    assert shell.wait(timeout=60) == 0
    return shell.pid


def _execs_of(pane, parent: int) -> list:
    """The pane's EXEC entries of the children of `parent` (its PPID column)."""
    start = len(EventLines().header()) - len("WHAT")   # where WHAT begins on a line
    return [(line[:start].rstrip(), line[start:].strip()) for line in pane.lines
            if line.split()[1:3] == ["EXEC", str(parent)]]


async def _until(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        await pilot.pause(0.1)


@linux_only
async def test_the_events_pane_pauses_scrolls_back_and_reads_an_exec_storm_whole():
    from psxj.tui.events_pane import EventsPane

    app = PsxjApp(reader=LiveReader(), delay=60, events=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await events_ready(app, pilot)
        await pilot.press("e")
        pane = app.widget("#events", EventsPane)
        shell = _storm()
        trues = lambda: [(c, w) for c, w in _execs_of(pane, shell) if c.split()[8] != "seq"]  # noqa: E731
        await _until(pilot, lambda: len(trues()) >= 100)
        await pilot.pause(0.6)
        execs = trues()
        for columns, what in execs:   # its exec, never its end, and never a kernel thread's [name]
            assert "<defunct>" not in columns and " Z " not in columns and "[true]" not in columns, columns
            assert "true" in columns or "true" in what or "it exited before its new command" in what, what
        # Each sentence whole on screen, however long: it wraps under its row, never cut.
        shown = " ".join(" ".join(line.split()) for line in pane.display_lines())
        assert all(" ".join(what.split()) in shown for _columns, what in execs)
        assert pane.visible_rows() >= 16                  # about 11 before, at 160x48
        # Scroll back: Tab moves into the pane, PgUp goes back, End follows again.
        await pilot.press("tab")
        assert app.focused is pane
        bottom = pane.first_shown()
        await pilot.press("pageup", "pageup")
        assert pane.first_shown() < bottom and not pane.following
        await pilot.press("end")
        assert pane.following
        # p pauses the pane too: what it shows stays, and it says so; p again and it moves on.
        await pilot.press("p")
        await pilot.pause(0.6)
        frozen = pane.visible_text()
        _storm(30)
        await pilot.pause(1.5)
        assert pane.visible_text()[2:] == frozen[2:] and "paused" in pane.visible_text()[0]
        await pilot.press("p")
        await _until(pilot, lambda: pane.visible_text()[2:] != frozen[2:])


# --- bug 4: the demo tells each event under its own step, and its log up to that step ----------------

def _told_events(text: str) -> list:
    return [line.split("event: ", 1)[1] for line in text.splitlines() if "event: " in line]


def _told_log(text: str) -> list:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "This run's log" in line), len(lines))
    return [line.strip() for line in lines[start + 1:]]


@linux_only
async def test_the_demo_tells_each_event_and_log_line_under_its_own_step_and_h_shows_the_reload(tmp_path):
    from psxj.demo.control import DemoControl
    from psxj.demo.steps import RUN_ORDER

    rundir = tmp_path / "run"
    control = DemoControl(str(rundir))
    app = PsxjApp(reader=LiveReader(), delay=60, events=True, demo_rundir=str(rundir), demo_step_delay=30)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await events_ready(app, pilot)
            await pilot.press("d")
            await _until(pilot, lambda: app.demo_run is not None
                         and [e["step"] for e in control.steps(app.demo_run.run_id)][-1:] == ["signals"])
            await pilot.pause(1.0)   # the kernel's events of the run reach the event log
            entries = control.steps(app.demo_run.run_id)
            pid_of = {e["step"]: e["pid"] for e in entries}
            await pilot.press(*["left_square_bracket"] * 3)
            told = {}
            for number in range(1, len(RUN_ORDER) + 1):
                app.follow_demo()
                text = screen_text(app.widget("#demo"))
                assert f"Step {number} of 11" in text, text
                told[number] = text
                await pilot.press("right_square_bracket")
            # setsid() (step 3) and the second fork's FORK and EXIT (step 4), each under its own step alone.
            setsid_under = [n for n, text in told.items() if any(" SID " in e for e in _told_events(text))]
            assert setsid_under == [3], {n: _told_events(t) for n, t in told.items()}
            second_fork = f"forked by {pid_of['setsid']} "
            fork_under = [n for n, text in told.items() if any(second_fork in e for e in _told_events(text))]
            exit_under = [n for n, text in told.items()
                          if any(e.split()[1:2] == ["EXIT"] for e in _told_events(text))
                          and n in (3, 4, 5)]
            assert fork_under == [4] and exit_under == [4], {n: _told_events(t) for n, t in told.items()}
            # A fork is told with its parent as it was, not as the zombie it became a moment later.
            assert not [e for t in told.values() for e in _told_events(t) if "<defunct>" in e], told
            # The run's log at step N: no line of a later step.
            for number, text in told.items():
                later = [f"step {step}:" for step in RUN_ORDER[number:]]
                log = _told_log(text)
                assert not [line for line in log if any(word in line for word in later)], (number, log)
                assert any(f"step {RUN_ORDER[number - 1]}:" in line for line in log), (number, log)
            # H: the notice says the log shows the reload, and the log shown does.
            await pilot.press("H")
            await _until(pilot, lambda: any("reload" in n for n in notices(app)), timeout=10)
            await pilot.pause(0.6)
            assert any("SIGHUP: reloading" in line for line in _told_log(screen_text(app.widget("#demo"))))
    finally:
        if control.running_pid() is not None:
            control.stop(timeout=5)


# --- bug 5: the audit of every daemon on screen reads one line a daemon, and PID 1's report once --------

def _rendered(widget) -> list:
    """A Static's lines as the screen shows them, at its width."""
    from rich.console import Console

    console = Console(width=widget.content_region.width, record=True, file=open(os.devnull, "w"))
    console.print(widget.content)
    return console.export_text().rstrip("\n").split("\n")


@linux_only
@pytest.mark.skipif(os.geteuid() != 0, reason="a PID namespace of its own (unshare --pid) needs root")
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_audit_of_all_reads_one_line_a_daemon_and_pid_1_once(spawner, size):
    from psxj.select import parse_filter
    from psxj.tui.details import AuditScreen

    # A container's init: PID 1 of its own PID namespace, with a long command and no TERM handler.
    unshare = spawner.popen(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "sleep", "600",
                             *["0"] * 90])
    deadline = time.monotonic() + 10
    children = []
    while not children and time.monotonic() < deadline:
        children = [int(p) for p in open(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read().split()]
        time.sleep(0.05)
    [init] = children
    spawner.extra_pids.append(init)
    app = PsxjApp(reader=LiveReader(), selection=parse_filter(f"-p {init},1"), delay=60)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        await pilot.press("D", "a")
        await _until(pilot, lambda: isinstance(app.screen, AuditScreen), timeout=20)
        await pilot.pause(0.3)
        reports = app.screen.reports
        summary = _rendered(app.screen.query_one("#audit-summary"))
        assert len(summary) == len(reports) >= 2, summary           # one line a daemon, never wrapped
        assert summary[[r.pid for r in reports].index(init)].rstrip().endswith("…"), summary
        shown = "\n".join(line for widget in app.screen.query("Static") for line in _rendered(widget))
        said_once = "PID 1 runs in the foreground"   # once in each container init's report
        assert shown.count(said_once) == sum(r.profile == "container" for r in reports) == 2, shown
        for rule in ("orphaned", "own-session", "pidfile-lock", "syslog"):   # the rules it covers, named
            assert rule in shown.split(said_once, 1)[1][:600] or rule in shown.split(said_once, 1)[0][-600:]
        pid1 = " ".join(re.split(r"pid1-signals +FAIL", shown, maxsplit=1)[1].split("\n")[0:3])
        assert "ignores SIGTERM" not in pid1 and "TERM does nothing" in pid1, pid1


# --- help: the keys first, in a first column as wide as the widest key ----------------------------------

@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_help_opens_on_the_keys_in_a_narrow_first_column(size, language):
    from rich.cells import cell_len
    from textual.widgets import Static

    i18n.install(language)
    try:
        app = PsxjApp(snapshot=tutorial())
        async with app.run_test(size=size) as pilot:
            screen = await opened_help(app, pilot)
            texts = ["\n".join(_rendered(widget)) for widget in screen.query(Static)]
            keys_at = next(i for i, text in enumerate(texts) if "Ctrl+C" in text)
            columns_at = next(i for i, text in enumerate(texts) if i18n._("value here") in text)
            assert keys_at < columns_at                       # the keys first, the columns' meanings after
            widest = max(cell_len(key) for key, _action in screen.keys)
            lines = texts[keys_at].split("\n")
            assert all(any(line.startswith(key + " ") for line in lines) for key, _action in screen.keys)
            # The action column starts right after the widest key (and its gap).
            first = lines[0]
            assert cell_len(first[:first.index(i18n._("action"))]) <= max(widest, cell_len(i18n._("key"))) + 2
    finally:
        i18n.install("en")


# --- the status line says what it means: no `ev`, no bare `cols hidden` ---------------------------------

@pytest.mark.parametrize("chosen", [(), ("kind", "cpu")])
async def test_the_status_line_names_the_hidden_columns(chosen):
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        if chosen:
            await choose_columns(app, pilot, *chosen)
        hidden = app.table.hidden_columns
        assert hidden, "the tutorial's table is wider than this terminal"
        status = status_text(app)
        assert ("hidden: " + ", ".join(hidden)) in status, status


@linux_only
@pytest.mark.parametrize("events_on", [True, False])
async def test_the_status_line_says_events_on_or_off_in_words(events_on):
    app = PsxjApp(reader=LiveReader(), delay=60, events=events_on)
    async with app.run_test(size=(160, 48)) as pilot:
        if events_on:
            await events_ready(app, pilot)
        await _until(pilot, lambda: "events" in status_text(app))   # once the first table is shown
        words = status_text(app).replace("│", " ").split()
        assert "ev" not in words and "ev~" not in words
        if events_on:
            assert "live events on" in status_text(app)
        else:
            assert "live events off" in status_text(app)


# --- a recording's keys are in the key bar, not only in the status line ---------------------------------

@linux_only
@pytest.mark.parametrize("size", [(160, 48), (80, 24), (60, 20)])
async def test_a_recordings_keys_are_in_the_key_bar(tmp_path, size):
    from conftest import ROOT, clean_env

    from psxj.sources.recording import open_recording

    recording = tmp_path / "rec"
    subprocess.run([sys.executable, "-m", "psxj", "record", str(recording), "--interval", "0.2", "--count", "2"],
                   cwd=ROOT, env=clean_env(), check=True, timeout=60, capture_output=True)
    opened = open_recording(str(recording))
    app = PsxjApp(snapshot=opened.latest(), recording=opened)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.2)
        bar = screen_text(app.widget("#keys"))
        assert "[ ]" in bar and " T " in f" {bar}", bar
        await pilot.press("left_square_bracket")
        assert "table 1 of 2" in status_text(app)
