"""The live table repaints only the lines that changed: it must still paint every change, on real processes.

psxj.tui.table.ProcessTable.repaint_changed compares what each screen line would show now with what was
painted there, and asks Textual to repaint only the lines that differ; Textual keeps the others' strips.
Each test changes a real process between two refreshes of the interface (read by its helper process, as
psxj runs) and checks the line on screen, as Textual's cache holds it, against a fresh paint of the table:
a name, arguments, user, terminal or state changed, a reused PID, a row changed while off screen.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from conftest import NOBODY, linux_only, pid_reused_by, root_only, stat_fields
from test_live_changes import asleep, fresh, obedient, tell, until
from textual.geometry import Region

from psxj.sources.reader import SnapshotReader
from psxj.tui.app import PsxjApp
from psxj.tui.table import MARK_WIDTH

pytestmark = linux_only


def live_app(**options) -> PsxjApp:
    """The interface on its own /proc reader (the helper process: an unchanged row keeps its object),
    refreshed only when the test says."""
    return PsxjApp(reader=SnapshotReader(), delay=3600, events=False, **options)


async def refreshed(app, pilot) -> None:
    """One more refresh shown, and painted."""
    count = app.refresh_count
    app.action_refresh_now()
    deadline = time.monotonic() + 15
    while app.refresh_count == count:
        assert time.monotonic() < deadline, "no refresh came"
        await pilot.pause(0.05)
    await pilot.pause()


async def select_row(app, pilot, pid: int) -> None:
    """Refresh until the row of `pid` is in the table, then select it (on screen). Each refresh is
    waited for: on a machine of 10,000 processes a read takes longer than conftest's 0.3 s between asks."""
    for _ in range(30):
        await refreshed(app, pilot)
        if app.table.select_pid(pid):
            await pilot.pause()
            return
    raise AssertionError(f"PID {pid} never appeared in the interface's table")


def on_screen(table) -> list:
    """The table's lines as Textual holds them for the screen: its cached strips, painted again only
    where a repaint was asked for (what the compositor writes to the terminal)."""
    size = table.outer_size
    return [strip.text.rstrip() for strip in table.render_lines(Region(0, 0, size.width, size.height))]


def painted_afresh(table) -> list:
    """Every line painted from the rows as they are now, leaving the table's record of what it painted
    as it was (so that this look changes nothing the next refresh compares against)."""
    saved = dict(table._painted), table._painted_scroll
    try:
        return [table.render_line(y).text.rstrip() for y in range(table.size.height)]
    finally:
        table._painted, table._painted_scroll = saved


def line_of(table, pid: int) -> str:
    """The line on screen of the row of `pid` (it must be on screen)."""
    index = next(i for i, row in enumerate(table.rows) if row.record is not None and row.record.pid == pid)
    y = index - int(table.scroll_y) + 1
    assert 1 <= y < table.size.height, "the row is not on screen"
    return on_screen(table)[y]


def cell(table, line: str, key: str) -> str:
    """The text of column `key` (psxj.render.views.COLUMNS) in a line of the table."""
    table.header_text()
    start, end = next((start, end) for start, end, column in table._spans if column == key)
    return line[MARK_WIDTH + start:MARK_WIDTH + end].strip()


CHANGES = {
    # what is done to the process, and what its line on screen shows afterwards
    "exec": (lambda proc: tell(proc, "exec second run"), lambda table, line: line.endswith("second run")),
    "terminal": (lambda proc: tell(proc, "terminal"), lambda table, line: cell(table, line, "tty").startswith("pts/")),
    "stop": (lambda proc: (proc.send_signal(signal.SIGSTOP), until(lambda: stat_fields(proc.pid)[0] == b"T")),
             lambda table, line: cell(table, line, "stat").startswith("T")),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_row_that_changed_is_painted_again(spawner, change):
    proc = obedient(spawner)
    asleep(proc.pid)
    do, shows = CHANGES[change]
    app = live_app()
    async with app.run_test(size=(220, 48)) as pilot:
        await select_row(app, pilot, proc.pid)
        await refreshed(app, pilot)
        before = line_of(app.table, proc.pid)
        assert not shows(app.table, before)
        do(proc)
        if change != "stop":
            asleep(proc.pid)
        await refreshed(app, pilot)
        after = line_of(app.table, proc.pid)
        assert shows(app.table, after), (before, after)
        assert on_screen(app.table) == painted_afresh(app.table)
        if change == "stop":
            proc.send_signal(signal.SIGCONT)


@root_only
async def test_a_change_of_user_is_painted_again(spawner):
    proc = obedient(spawner)
    asleep(proc.pid)
    app = live_app()
    async with app.run_test(size=(220, 48)) as pilot:
        await select_row(app, pilot, proc.pid)
        await refreshed(app, pilot)
        assert cell(app.table, line_of(app.table, proc.pid), "uid") == "0"
        tell(proc, f"setuid {NOBODY}")
        asleep(proc.pid)
        await refreshed(app, pilot)
        assert cell(app.table, line_of(app.table, proc.pid), "uid") == str(NOBODY)
        assert on_screen(app.table) == painted_afresh(app.table)


async def test_a_renamed_process_is_the_renamed_one_in_the_table(spawner):
    """A new name shows in no column of the default table (COMMAND is the arguments): the row holds the
    renamed process, and its kind is judged from it; the screen is what the rows paint."""
    proc = obedient(spawner)
    asleep(proc.pid)
    app = live_app()
    async with app.run_test(size=(220, 48)) as pilot:
        await select_row(app, pilot, proc.pid)
        await refreshed(app, pilot)
        tell(proc, "rename renamed-now")
        asleep(proc.pid)
        await refreshed(app, pilot)
        assert app.table.current.comm == "renamed-now" and app.table.current == fresh(proc.pid)
        assert on_screen(app.table) == painted_afresh(app.table)


@root_only
async def test_a_reused_pid_is_painted_as_a_new_process(spawner):
    old = spawner.sleeper("old")
    asleep(old.pid)
    time.sleep(0.05)   # a start time in another clock tick than the newcomer's
    app = live_app()
    async with app.run_test(size=(220, 48)) as pilot:
        await select_row(app, pilot, old.pid)
        await refreshed(app, pilot)
        pid, old_start = old.pid, app.snapshot.get(old.pid).start_ticks
        old.kill()
        old.wait()
        new = pid_reused_by(pid, ["sleep", "100"], spawner)
        if new is None:
            pytest.skip("another process took the PID first every time")
        until(lambda: b"sleep" in open(f"/proc/{pid}/cmdline", "rb").read())
        asleep(pid)
        await refreshed(app, pilot)
        record = app.snapshot.get(pid)
        assert record.start_ticks != old_start and record.identity in app.table.new_identities
        app.table.select_pid(pid)
        await pilot.pause()
        assert line_of(app.table, pid).endswith("sleep 100")
        assert on_screen(app.table) == painted_afresh(app.table)


async def test_a_row_changed_off_screen_is_right_when_scrolled_to(spawner):
    proc = obedient(spawner)
    asleep(proc.pid)
    app = live_app()
    async with app.run_test(size=(220, 8)) as pilot:   # five rows on screen: the process is off it
        await select_row(app, pilot, proc.pid)
        table = app.table

        def shown() -> bool:   # is the process's row among the lines on screen (line 0 is the header)?
            index = next(i for i, row in enumerate(table.rows) if row.record is not None and row.record.pid == proc.pid)
            top = int(table.scroll_y)
            return top <= index < top + table.size.height - 1

        # Where its row falls depends on its PID among the others' (PIDs wrap): the top of the table,
        # else its end (the kernel threads, last in the home order), puts it off screen.
        for key in ("home", "end"):
            await pilot.press(key)
            await refreshed(app, pilot)
            if not shown():
                break
        assert not shown(), "the process's row is on screen at both ends: this test needs it off"
        tell(proc, "exec changed off screen")
        asleep(proc.pid)
        await refreshed(app, pilot)
        assert on_screen(table) == painted_afresh(table)
        table.select_pid(proc.pid)
        await pilot.pause()
        assert line_of(table, proc.pid).endswith("changed off screen")
        assert on_screen(table) == painted_afresh(table)


class Unchanging:
    """A reader whose machine never changes: the processes read once from /proc, then every refresh
    the same table again, through the interface's own LiveTable (so unchanged rows keep their objects)."""

    def __init__(self) -> None:
        from psxj.sources.incremental import LiveTable
        from psxj.sources.proc import ProcReader

        self.records = ProcReader().read_all()
        self.table = LiveTable()
        self.first = True

    def read(self):
        from psxj.sources.incremental import Changes

        changes = Changes(time.time(), 5, self.records if self.first else [], [], self.first)
        self.first = False
        return self.table.apply(changes)

    def close(self) -> None:
        pass


async def test_a_refresh_that_changed_nothing_paints_nothing():
    """The same processes, the same objects (a table read again with no change): no line of the table,
    nor the status line, nor the key bar, is painted again."""
    app = PsxjApp(reader=Unchanging(), delay=3600, events=False)
    async with app.run_test(size=(220, 48)) as pilot:
        await refreshed(app, pilot)
        await refreshed(app, pilot)   # the second table, with %CPU measured: the one compared against
        table = app.table
        painted = []
        original = type(table).render_line

        def counting(self, y):
            painted.append(y)
            return original(self, y)

        type(table).render_line = counting
        try:
            status, keys = app.query_one("#status"), app.query_one("#keys")
            status_repaints, keys_repaints = status._repaint_required, keys._repaint_required
            await refreshed(app, pilot)
            await refreshed(app, pilot)
            assert painted == []
            assert not status._repaint_required and not keys._repaint_required
        finally:
            type(table).render_line = original
        assert (status_repaints, keys_repaints) == (False, False)
        assert on_screen(table) == painted_afresh(table)


def bar_on_screen(bar) -> list:
    """Each line's cells with their styles: the thumb's middle is a space too, drawn reversed."""
    lines = bar.render_lines(Region(0, 0, bar.outer_size.width, bar.outer_size.height))
    return [[(segment.text, segment.style) for segment in strip] for strip in lines]


def bar_afresh(bar) -> list:
    bar.refresh()   # every line dirty: drawn again from the bar's sizes as they are now
    return bar_on_screen(bar)


async def test_the_scrollbar_follows_processes_that_come_and_go(spawner):
    """Only the cells its thumb's ends left or reached are repainted: whatever came and went, the bar
    on screen (cells and styles) is the bar drawn afresh, for the table's height as it is."""
    app = live_app()
    async with app.run_test(size=(160, 20)) as pilot:
        await refreshed(app, pilot)
        table, bar = app.table, app.table.vertical_scrollbar
        for step in ("one more", "forty more", "three more", "one less", "ten less", "all gone"):
            if step in ("one more", "three more"):
                for _ in range(1 if step == "one more" else 3):
                    spawner.sleeper()
            elif step == "forty more":
                for _ in range(40):
                    spawner.sleeper()
            elif step == "ten less":
                for proc in spawner.procs[-10:]:
                    proc.kill()
                    proc.wait()
                del spawner.procs[-10:]
            else:
                keep = 0 if step == "all gone" else len(spawner.procs) - 1
                for proc in spawner.procs[keep:]:
                    proc.kill()
                    proc.wait()
                del spawner.procs[keep:]
            await refreshed(app, pilot)
            assert bar.window_virtual_size == table.virtual_size.height == len(table.rows) + 1, step
            assert bar_on_screen(bar) == bar_afresh(bar), step


async def test_columns_read_from_the_snapshot_are_painted_again_for_an_unchanged_row(spawner):
    """%CPU and ELAPSED come from the snapshot, not the row: a process that stopped running keeps its
    row (the same object) but its %CPU falls to 0.0, and its ELAPSED grows, both shown."""
    # It runs until told to stop (its stdin closed), not for a fixed time a slow start could use up.
    busy = spawner.python("READY()\nimport select\nwhile not select.select([sys.stdin], [], [], 0)[0]:\n"
                          "    pass\ntime.sleep(120)", stdin=subprocess.PIPE)
    app = live_app()
    app.options = app.options._replace(columns=("cpu", "elapsed"))
    async with app.run_test(size=(220, 48)) as pilot:
        await select_row(app, pilot, busy.pid)
        await refreshed(app, pilot)
        percents = []
        for _ in range(60):
            line = line_of(app.table, busy.pid)
            percents.append(float(cell(app.table, line, "cpu")))
            assert on_screen(app.table) == painted_afresh(app.table)
            if percents[-1] > 0 and not busy.stdin.closed:
                busy.stdin.close()  # seen running: now let it sleep
            elif busy.stdin.closed and percents[-1] == 0.0:
                break
            await refreshed(app, pilot)
        assert busy.stdin.closed and percents[-1] == 0.0, percents
        record = app.snapshot.get(busy.pid)
        elapsed = cell(app.table, line_of(app.table, busy.pid), "elapsed")
        time.sleep(1.1)
        await refreshed(app, pilot)
        assert app.snapshot.get(busy.pid) is record   # not read again: the very same row
        assert cell(app.table, line_of(app.table, busy.pid), "elapsed") != elapsed
        assert on_screen(app.table) == painted_afresh(app.table)
