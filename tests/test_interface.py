"""The interface's handling, each reported problem driven with Pilot: the cursor row always visible,
sideways scrolling to the end of COMMAND with the mark column fixed, htop's keys, search, PID jump,
tags and group signals, Esc and Backspace, small terminals, remembered choices, optional columns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, LiveReader, PtySession, clean_env, exit_status, linux_only, select_live_row
from test_recording import start_recorder
from test_tui import FIXED_TIME, screen_text, shown_pids, tutorial
from textual.widgets import Input

from psxj.model import ProcessRecord, Snapshot
from psxj.tui.app import PsxjApp
from psxj.tui.details import DetailScreen
from psxj.tui.screens import HelpScreen
from psxj.tui.signals import SignalScreen
from psxj.tui.views import ColumnsScreen


def many(count: int = 120, long_command: str = "") -> Snapshot:
    """A table of `count` sleeping jobs of one session, the last with a long command line."""
    records = []
    for pid in range(100, 100 + count):
        command = f"job {pid}" + (long_command if pid == 99 + count else "")
        records.append(ProcessRecord(pid=pid, ppid=99, pgid=100, sid=99, tty="pts/1", tpgid=100, stat="S",
                                     euid=1000, cpu_seconds=pid % 7, command=command, comm="job", state="S",
                                     kernel_thread=False, start_ticks=pid))
    return Snapshot(records, source="many.json", taken_at=FIXED_TIME)


def cursor_on_screen(app) -> bool:
    table = app.table
    top = int(table.scroll_y)
    return top <= table.cursor < top + table._visible_rows()


def painted(app) -> str:
    """What the table's lines say on screen, as plain text."""
    table = app.table
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


@pytest.mark.parametrize("size", [(160, 48), (80, 24), (60, 20)])
async def test_the_cursor_row_is_always_on_screen(size):
    app = PsxjApp(snapshot=many())
    async with app.run_test(size=size) as pilot:
        await pilot.press("home", "pagedown")
        assert cursor_on_screen(app) and app.table.cursor > 0
        for _ in range(40):
            await pilot.press("down")
            assert cursor_on_screen(app)
        await pilot.press("end")
        assert cursor_on_screen(app) and app.table.cursor == len(app.table.rows) - 1
        # The last row is painted, not hidden under a scrollbar: the table's last line shows it.
        assert f"job {app.table.current.pid}" in painted(app).splitlines()[-1]


async def test_sideways_scrolling_reaches_the_end_of_the_longest_command_and_keeps_the_mark_column():
    long = " --option" * 40 + " THE-END"
    snapshot = many(30, long)
    daemon = snapshot.records[0]._replace(pid=90, ppid=1, pgid=90, sid=90, tty="?", tpgid=-1, stat="Ss",
                                          command="/usr/sbin/daemond", comm="daemond")
    init = daemon._replace(pid=1, ppid=0, pgid=1, sid=1, command="/sbin/init", comm="init")
    app = PsxjApp(snapshot=Snapshot([init, daemon, *snapshot.records], source="x", taken_at=FIXED_TIME))
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.table
        assert "THE-END" not in painted(app)
        for _ in range(80):
            await pilot.press("right")
        assert table.h_offset == table.max_h_offset() > 0
        await pilot.press("end")
        assert "THE-END" in painted(app)
        await pilot.press("home", "down")
        line = table.render_line(2).text
        assert line.startswith("*") and "daemond" not in line  # the mark stays; the row scrolled away
        for _ in range(80):
            await pilot.press("left")
        assert table.h_offset == 0 and "daemond" in table.render_line(2).text


async def test_keys_of_the_table_do_nothing_under_another_screen():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 40)) as pilot:
        app.table.select_pid(2389)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("k", "D", "t", "g")
        assert app.options.show_kernel_threads and not app.options.daemons_only and app.options.mode == "table"
        await pilot.press("escape")
        assert len(shown_pids(app)) == 16


async def test_a_loaded_table_hides_what_it_cannot_do_and_says_where_its_time_comes_from(tmp_path):
    from psxj.sources.loaded import load_snapshot

    saved = tmp_path / "saved.txt"
    saved.write_text((ROOT / "tests" / "fixtures" / "tutorial-axj.txt").read_text())
    os.utime(saved, (FIXED_TIME, FIXED_TIME))
    app = PsxjApp(snapshot=load_snapshot(str(saved)))
    async with app.run_test(size=(240, 30)) as pilot:
        status = screen_text(app.widget("#status"))
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(FIXED_TIME))
        assert f"taken {stamp}, from the file's modification time, read-only" in status
        keys = screen_text(app.widget("#keys"))
        for hidden in ("Signal", "Demo", "Pause", "Refresh", "Audit"):
            assert hidden not in keys
        await pilot.press("x", "d", "p", "r")
        assert isinstance(app.screen, type(app.main)) and not app.paused and app.demo is None
        palette = [c.title for c in app.get_system_commands(app.screen)]
        assert not any(t.startswith(("Signal", "Demo", "Pause", "Refresh")) for t in palette)
    stdin = Snapshot(tutorial().records, source="stdin")
    app = PsxjApp(snapshot=stdin)
    async with app.run_test(size=(160, 30)):
        assert "time unknown, read-only" in screen_text(app.widget("#status"))


async def test_a_filter_that_matches_nothing_says_so():
    from psxj.select import parse_filter

    app = PsxjApp(snapshot=tutorial(), selection=parse_filter("-s 999999"))
    async with app.run_test(size=(100, 24)):
        assert shown_pids(app) == []
        assert "No process matches the filter -s 999999" in painted(app)


@linux_only
def test_psxj_s_999999_on_a_terminal_says_so_and_exits_1():
    command = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                                     "from psxj.commands.main import main; sys.exit(main(['-s', '999999']))"]
    session = PtySession(command, env=clean_env(XDG_CONFIG_HOME="/nonexistent"))
    try:
        assert session.wait_for(b"No process matches the filter -s 999999", 20)
        session.type(b"q")
        assert session.proc.wait(timeout=15) == 1
    finally:
        session.close()


async def test_the_sessions_view_follows_the_sort_and_its_headers_answer():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        headers = [r.text.split()[1] for r in app.table.rows if r.kind == "session"]
        assert headers == ["1", "0", "1008", "2389"]
        await pilot.press("i")  # descending PID: the session of the highest PID first
        headers = [r.text.split()[1] for r in app.table.rows if r.kind == "session"]
        assert headers == ["2389", "1008", "0", "1"]
        # Enter on a session header opens its leader's details.
        app.table.move_to(0)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen) and app.screen.record.pid == 2389
        await pilot.press("escape")
        # On a header whose leader is not in the table, it says so instead of doing nothing.
        index = next(i for i, r in enumerate(app.table.rows) if r.kind == "session" and r.text.split()[1] == "0")
        app.table.move_to(index)
        await pilot.press("enter")
        assert any("leader of session 0 is not in the table" in n.message for n in app.notices)


async def test_htop_keys_and_how_they_are_shown():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.keys)
        assert keys["/, \\, F4"] == "Filter" and keys["F3"] == "Search" and keys["?, F1"] == "Help"
        assert keys["q, F10, Ctrl+C"] == "Quit" and not any("slash" in k or "less_than" in k for k in keys)
        assert "Signal" not in keys.values()  # a loaded table: F9 and x are not offered
        await pilot.press("escape", "f5")
        assert app.options.mode == "forest"
        await pilot.press("f4")
        assert app.focused is app.widget("#filter", Input)
        palette = [c.title for c in app.get_system_commands(app.screen)]
        assert len(palette) == len(set(palette))
        assert "Filter (/, \\, F4)" in palette and not any("slash" in t for t in palette)
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f10")
        await pilot.pause()
    assert not app.is_running


async def test_search_jumps_without_hiding_and_digits_jump_to_a_pid():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("f3", *"rcuo")
        assert app.table.current.pid == 8 and len(shown_pids(app)) == 16  # the first match; nothing hidden
        await pilot.press("enter")
        assert app.table.current.pid == 9
        await pilot.press("f3")
        assert app.table.current.pid == 11
        await pilot.press("shift+f3")
        assert app.table.current.pid == 9
        app.widget("#search", Input).value = "rcuob/1"
        await pilot.press("enter")
        assert app.table.current.pid == 12  # and again: wraps round to the only match
        await pilot.press("escape")
        assert not app.widget("#search", Input).display and app.table.match is None
        await pilot.press("1", "0", "0", "8")
        assert app.table.current.pid == 1008
        await pilot.pause(1.2)
        await pilot.press("2", "3")  # a fresh number after a pause: the first PID that starts with 23
        assert app.table.current.pid == 2389


async def test_esc_keeps_the_filter_and_backspace_clears_it():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("slash", *"-s 1008", "enter")
        assert shown_pids(app) == [1008]
        await pilot.press("slash", "backspace", "backspace", "backspace", "backspace", *"2389", "escape")
        assert shown_pids(app) == [1008]  # the half-typed change was not applied, and the filter stays
        assert app.widget("#filter", Input).value == "-s 1008"
        assert any("Not applied" in n.message for n in app.notices)
        await pilot.press("escape")
        assert shown_pids(app) == [1008]
        await pilot.press("backspace")
        assert len(shown_pids(app)) == 16


async def test_the_filter_line_reads_dashes_as_text_and_explains_errors():
    extra = tutorial().records[-1]._replace(pid=3000, command="python3 -m http.server 8000", comm="python3")
    app = PsxjApp(snapshot=Snapshot([*tutorial().records, extra], source="x", taken_at=FIXED_TIME))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("slash", *"python3 -m http.server", "enter")
        assert shown_pids(app) == [3000]
        app.widget("#filter", Input).value = "-p"
        app.action_filter()
        await pilot.press("enter")
        error = screen_text(app.widget("#filter-error"))
        assert "-p needs process IDs, as in -p 1234,5678" in error and "argument" not in error


@linux_only
async def test_tag_several_and_signal_them_together_and_a_whole_group(spawner):
    first, second = spawner.sleeper(), spawner.sleeper()
    group = spawner.python("import subprocess\nos.setpgid(0, 0)\n"
                           "kids = [subprocess.Popen(['sleep', '120']) for _ in range(2)]\n"
                           "print(' '.join(str(k.pid) for k in kids), flush=True)\nREADY()\n"
                           "[k.wait() for k in kids]", stdout=subprocess.PIPE)
    kids = [int(p) for p in group.stdout.readline().split()]
    for kid in kids:
        spawner.track(kid)
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(160, 40)) as pilot:
        await select_live_row(app, pilot, first.pid)
        await pilot.press("space")
        await select_live_row(app, pilot, second.pid)
        await pilot.press("space")
        assert len(app.table.tagged) == 2
        await pilot.press("x")
        assert isinstance(app.screen, SignalScreen) and app.screen.scope == "tagged"
        await pilot.press("enter")
        assert await exit_status(pilot, first) == -signal.SIGTERM
        assert await exit_status(pilot, second) == -signal.SIGTERM
        # A whole process group, kill -- -PGID style: each member proven and signalled.
        await select_live_row(app, pilot, kids[0])
        await pilot.press("x", "g")
        assert app.screen.scope == "group" and f"process group {group.pid}" in app.screen.targets["group"].title
        await pilot.press("9", "enter")  # typed signal number: KILL
        for kid in kids:
            for _ in range(100):
                try:
                    with open(f"/proc/{kid}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                            break
                except OSError:
                    break
                await pilot.pause(0.05)
        assert await exit_status(pilot, group) == -signal.SIGKILL


async def test_small_terminals_keep_the_key_bar_on_one_line_and_the_status_usable():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(80, 24)):
        keys = screen_text(app.widget("#keys")).rstrip("\n")
        assert "\n" not in keys and len(keys) <= 80 and "Help" in keys and "Filter" in keys
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(60, 20)):
        status = screen_text(app.widget("#status")).rstrip("\n")
        assert "\n" not in status and len(status) <= 60 and "16/16" in status and "read-only" in status
        row = app.table.render_line(2).text
        assert "[kthreadd]" in row  # COMMAND is on screen at 60 columns


async def test_optional_columns_are_chosen_and_remembered_with_the_theme(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    app = PsxjApp(snapshot=tutorial(), remember=True)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.press("o")
        assert isinstance(app.screen, ColumnsScreen)
        listed = app.screen.query_one("#columns-list")
        keys = [listed.get_option_at_index(i).value for i in range(listed.option_count)]
        kind, start = keys.index("kind"), keys.index("start")
        await pilot.press(*["down"] * kind, "space", *["down"] * (start - kind), "space", "enter")  # KIND, START
        assert app.options.columns == ("kind", "start")
        assert "KIND" in app.table.header_text() and "START" in app.table.header_text()
        app.theme = "textual-light"
        await pilot.pause()
    saved = json.loads((tmp_path / "psxj" / "config.json").read_text())
    assert saved == {"columns": ["kind", "start"], "without": [], "theme": "textual-light"}
    app = PsxjApp(snapshot=tutorial(), remember=True)
    async with app.run_test(size=(200, 30)):
        assert app.theme == "textual-light" and app.options.columns == ("kind", "start")
        assert "daemon" in app.table.row_text(next(r for r in app.table.rows if r.record.pid == 1008))


@linux_only
def test_choices_are_not_saved_through_another_users_directory(tmp_path):
    """Root with another user's HOME (sudo -E): the config directory is refused, nothing written."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    from psxj.tui import config

    home = tmp_path / "alice"
    (home / ".config").mkdir(parents=True)
    os.chown(home / ".config", 1000, 1000)
    problem = config.save({"theme": "x"}, env={"HOME": str(home)})
    assert problem is not None and "belongs to uid 1000" in problem
    assert not (home / ".config" / "psxj").exists()


@linux_only
def test_the_first_frame_is_the_table_and_the_terminal_is_restored():
    """Painted before Textual is imported: the header and PID 1's row; after q the terminal echoes again."""
    command = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                                     "from psxj.commands.main import main; r = main([]); import termios; "
                                     "a = termios.tcgetattr(2); "
                                     "print('ECHO' if a[3] & termios.ECHO else 'NOECHO', flush=True); sys.exit(r)"]
    session = PtySession(command, env=clean_env(XDG_CONFIG_HOME="/nonexistent"))
    try:
        assert session.wait_for(b"reading /proc", 20)  # the first frame's status, before the interface
        assert session.wait_for(b"yours first", 20)    # the interface itself
        session.type(b"q")
        assert session.wait_for(b"ECHO", 20)
        assert b"NOECHO" not in session.output
        assert session.proc.wait(timeout=10) == 0
    finally:
        session.close()


@linux_only
async def test_a_recording_steps_back_and_forward_and_goes_to_a_time(tmp_path, spawner):
    """psxj --load DIR of a recording: [ and ] step, T goes to a time, the status line says which."""
    from psxj.sources.recording import open_recording

    recording = tmp_path / "rec"
    recorder = start_recorder(str(recording), "--count", "4", interval="0.5")  # its first table is written
    newcomer = spawner.sleeper()  # appears in the later tables only
    assert recorder.wait(timeout=60) == 0
    recorder.stderr.close()
    opened = open_recording(str(recording))
    times = opened.times()
    app = PsxjApp(snapshot=opened.latest(), recording=opened)
    async with app.run_test(size=(200, 30)) as pilot:
        status = screen_text(app.widget("#status"))
        assert f"table {len(times)} of {len(times)}" in status
        assert app.snapshot.get(newcomer.pid) is not None
        for _ in range(len(times)):
            await pilot.press("left_square_bracket")
        assert "table 1 of" in screen_text(app.widget("#status"))
        assert app.snapshot.get(newcomer.pid) is None  # not yet born in the first table
        await pilot.press("right_square_bracket")
        assert "table 2 of" in screen_text(app.widget("#status"))
        stamp = time.strftime("%H:%M:%S", time.localtime(times[-1] + 1))  # the table shown a second after the last
        await pilot.press("T")
        await pilot.press(*stamp, "enter")
        assert f"table {len(times)} of {len(times)}" in screen_text(app.widget("#status"))
        await pilot.press("T")
        await pilot.press(*"nonsense", "enter")
        assert any("No such time" in (n.title or "") for n in app.notices)
        assert not any("Signal" in k for k in screen_text(app.widget("#keys")).split("  "))
