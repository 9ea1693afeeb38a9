"""The interface, driven headless with Textual's Pilot over a loaded table (deterministic)."""

from __future__ import annotations

import os
import signal

import pytest
from conftest import FIXTURES, LiveReader, exit_status, linux_only, select_live_row

from psxj.model import Snapshot
from psxj.sources.loaded import load_snapshot
from psxj.tui.app import PsxjApp
from psxj.tui.details import DetailScreen
from psxj.tui.screens import HelpScreen
from psxj.tui.signals import SignalScreen

TUTORIAL = FIXTURES / "tutorial-axj.txt"
FIXED_TIME = 1_700_000_000.0


def tutorial() -> Snapshot:
    loaded = load_snapshot(str(TUTORIAL))
    return Snapshot(loaded.records, source="tutorial-axj.txt", taken_at=FIXED_TIME, pid_width=5)


def screen_text(widget) -> str:
    """What a Static shows, as plain text."""
    from rich.console import Console

    console = Console(width=200, record=True, file=open(os.devnull, "w"))
    console.print(widget.content)
    return console.export_text()


async def opened_help(app, pilot) -> HelpScreen:
    """? on the main screen: the help screen, once it has laid itself out."""
    await pilot.press("question_mark")
    await pilot.pause(0.2)
    assert isinstance(app.screen, HelpScreen)
    return app.screen


def shown_pids(app):
    return [row.record.pid for row in app.table.rows if row.kind == "process"]


async def test_navigation_moves_the_cursor_and_keeps_it_in_view():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.table
        assert table.current.pid == 1
        await pilot.press("down", "down")
        assert table.current.pid == 3
        await pilot.press("end")
        assert table.current.pid == 2389
        assert table.scroll_y > 0  # scrolled to show the last row
        await pilot.press("home")
        assert table.current.pid == 1 and table.scroll_y == 0
        await pilot.press("pagedown")
        assert table.current.pid not in (1, 2)


async def test_filter_with_selectors_text_and_errors():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash")
        await pilot.press(*"-s 2389,1008")
        await pilot.press("enter")
        assert shown_pids(app) == [1008, 2389]
        assert "-s 2389,1008" in screen_text(app.query_one("#status"))
        # A bad filter shows an error and keeps the last good one.
        await pilot.press("slash")
        app.query_one("#filter").value = ""
        await pilot.press(*"-p abc", "enter")
        assert app.query_one("#filter-error").display
        assert "process ID list syntax error" in screen_text(app.query_one("#filter-error"))
        assert shown_pids(app) == [1008, 2389]
        # Free text matches the command.
        app.query_one("#filter").value = ""
        await pilot.press(*"kworker", "enter")
        assert shown_pids(app) == [4, 5]
        # Escape closes what is open but never drops the filter; Backspace clears it and says so.
        await pilot.press("escape")
        assert shown_pids(app) == [4, 5]
        await pilot.press("backspace")
        await pilot.pause()
        assert len(shown_pids(app)) == 16
        assert any("Filter cleared (it was: kworker)" in n.message for n in app.notices)


async def test_toggles_kernel_threads_daemons_forest_sessions():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("k")
        assert shown_pids(app) == [1, 1008, 2389]
        await pilot.press("k", "D")
        assert shown_pids(app) == [1, 1008]  # init and the daemon: daemon-like kinds
        await pilot.press("D", "t")
        rows = app.table.rows
        by_pid = {r.record.pid: r for r in rows}
        assert by_pid[1].prefix == "" and by_pid[1008].prefix == " \\_ "
        assert by_pid[3].prefix == " \\_ " and [r.record.pid for r in rows][:3] == [1, 1008, 2]
        await pilot.press("g")
        headers = [r.text for r in app.table.rows if r.record is None]
        assert any(h.startswith("Session 2389") and "terminal pts/9, foreground group 5100" in h for h in headers)
        assert any("Process group 2389 (bash)  [background]" in h for h in headers)
        await pilot.press("g")
        assert all(r.kind == "process" and r.prefix == "" for r in app.table.rows)


async def test_sorting_by_keys_and_by_clicking_a_header():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("greater_than_sign")  # PID -> PGID
        assert app.options.sort_key == "pgid"
        pids = shown_pids(app)
        assert pids[-2:] == [1008, 2389]
        await pilot.press("i")
        assert shown_pids(app)[0] == 2389 and "PGID▼" in app.table.header_text()
        # Click the TIME header: sort by TIME; click again: reverse.
        start, _, _ = next(span for span in app.table._spans if span[2] == "time")
        await pilot.click("#table", offset=(start + 2, 0))
        assert app.options.sort_key == "time" and not app.options.descending
        await pilot.click("#table", offset=(start + 2, 0))
        assert app.options.descending
        assert shown_pids(app)[:3] == [7, 8, 9]  # the ones with 0:02, highest first, PID order among ties


async def test_selection_follows_the_pid_and_a_vanished_process_says_so():
    first = tutorial()
    app = PsxjApp(snapshot=first)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("end")
        assert app.table.current.pid == 2389
        # New rows above: the selection stays on 2389.
        extra = first.records[1]._replace(pid=1500, ppid=1, command="newcomer", comm="newcomer")
        app.apply_snapshot(Snapshot(list(first.records) + [extra], source="x", taken_at=FIXED_TIME))
        assert app.table.current.pid == 2389
        assert extra.identity in app.table.new_identities
        # 2389 exits: its row stays, marked, until the cursor moves.
        app.apply_snapshot(Snapshot([r for r in first.records if r.pid != 2389], source="x", taken_at=FIXED_TIME))
        assert app.table.current.pid == 2389 and app.table.current_is_gone
        assert "(exited)" in app.table.row_text(app.table.rows[app.table.cursor])
        await pilot.press("up")
        assert 2389 not in [r.record.pid for r in app.table.rows]


async def test_detail_view_and_help_show_the_selected_process():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 40)) as pilot:
        app.table.select_pid(2389)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen) and app.screen.record.pid == 2389
        text = screen_text(app.screen.query_one("#detail-facts"))
        assert "session leader" in text and "pts/9" in text
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen) and app.screen.selected.pid == 2389


async def test_signals_are_refused_on_a_loaded_table():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("x")
        assert not isinstance(app.screen, SignalScreen)


async def test_command_palette_lists_every_action():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 30)):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for binding in PsxjApp.BINDINGS:
            if binding.description:
                assert any(binding.description in title for title in titles)


@linux_only
async def test_signal_needs_confirmation_and_reaches_the_process(spawner):
    proc = spawner.sleeper()
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(140, 30)) as pilot:
        await select_live_row(app, pilot, proc.pid)
        # The dialog names the process and the signal: SIGTERM, preselected. Esc: nothing is sent.
        await pilot.press("x")
        assert isinstance(app.screen, SignalScreen)
        assert app.screen.chosen == "TERM"
        assert f"PID {proc.pid}" in str(app.screen.query_one("#signal-target").render())
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert proc.poll() is None
        # Two keys after choosing the process: x, Enter. The process gets SIGTERM.
        await pilot.press("x", "enter")
        assert await exit_status(pilot, proc) == -signal.SIGTERM


@linux_only
async def test_signal_is_not_sent_to_a_reused_pid(spawner):
    from psxj.act.signals import SignalError, send_signal

    proc = spawner.sleeper()
    from psxj.sources.proc import read_one

    record = read_one(proc.pid)
    stale = record._replace(start_ticks=record.start_ticks - 1)  # as if the PID had been reused
    with pytest.raises(SignalError, match="another process"):
        send_signal(stale, "KILL")
    assert proc.poll() is None
    os.kill(proc.pid, 0)


# Screens as a user sees them: SVG snapshots (regenerate with --snapshot-update after a deliberate change).

def test_snapshot_main_table(snap_compare):
    assert snap_compare(PsxjApp(snapshot=tutorial()), terminal_size=(110, 24))


def test_snapshot_forest(snap_compare):
    assert snap_compare(PsxjApp(snapshot=tutorial()), terminal_size=(110, 24), press=["t"])


def test_snapshot_sessions(snap_compare):
    assert snap_compare(PsxjApp(snapshot=tutorial()), terminal_size=(110, 40), press=["g"])


def test_snapshot_help(snap_compare):
    assert snap_compare(PsxjApp(snapshot=tutorial()), terminal_size=(110, 50), press=["end", "question_mark"])
