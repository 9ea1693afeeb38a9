"""What htop users reach for first (issue 24), on real processes spawned and reaped here: the user picker
(u), folding the forest (- + *), following one process as the rows reorder (F), and the meters line (#).
Each driven with Pilot as a user would press the keys."""

from __future__ import annotations

import os

import pytest
from conftest import NOBODY, LiveReader, linux_only, root_only
from test_live_repaint import Unchanging, refreshed, select_row
from test_tui import screen_text

from psxj.tui.app import PsxjApp

pytestmark = linux_only
NAMELESS_UID = 54321   # no entry in the password database (checked by the test that uses it)


def status_text(app) -> str:
    return screen_text(app.widget("#status")).rstrip("\n")


def shown_records(app) -> list:
    return [row.record for row in app.table.rows if row.kind == "process"]


def as_user(uid: int):
    def become() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return become


# --- u: one user's processes ----------------------------------------------------------------------

@root_only
async def test_u_lists_the_users_with_counts_and_enter_shows_only_that_users_processes(spawner):
    import pwd

    with pytest.raises(KeyError):
        pwd.getpwuid(NAMELESS_UID)
    theirs = spawner.popen(["sleep", "120"], preexec_fn=as_user(NOBODY))
    nameless = spawner.popen(["sleep", "120"], preexec_fn=as_user(NAMELESS_UID))
    mine = spawner.sleeper()
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await select_row(app, pilot, nameless.pid)
        from textual.widgets import OptionList

        from psxj.tui.users import UserScreen

        await pilot.press("u")
        assert isinstance(app.screen, UserScreen)
        listed = [str(option.prompt) for option in app.screen.query_one(OptionList)._options]
        assert listed[0].startswith("all users")
        nobodys = sum(1 for r in app.snapshot.records if r.euid == NOBODY)
        assert any(line.split()[0] == "nobody" and line.split()[1] == str(nobodys) for line in listed)
        assert any(line.split()[0] == str(NAMELESS_UID) for line in listed)   # no name: the number
        await pilot.press(*"nob")                      # typed ahead: the list narrows to nobody
        listed = [str(option.prompt) for option in app.screen.query_one(OptionList)._options]
        assert [line.split()[0] for line in listed] == ["nobody"]
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, UserScreen)
        assert "filter: -u nobody" in status_text(app)
        shown = shown_records(app)
        assert theirs.pid in [r.pid for r in shown] and mine.pid not in [r.pid for r in shown]
        assert {r.euid for r in shown} == {NOBODY}

        await pilot.press("u", *str(NAMELESS_UID), "enter")   # a UID without a name, by its number
        await pilot.pause()
        assert f"filter: -u {NAMELESS_UID}" in status_text(app)
        assert [r.pid for r in shown_records(app)] == [nameless.pid]

        await pilot.press("u", "enter")                # the first entry: all users
        await pilot.pause()
        assert "filter:" not in status_text(app) and not app.options.selection
        assert mine.pid in [r.pid for r in shown_records(app)]

        await pilot.press("u", *"nobody", "enter", "backspace")   # Backspace on the table undoes it
        await pilot.pause()
        assert not app.options.selection and mine.pid in [r.pid for r in shown_records(app)]


async def test_u_keeps_the_words_of_the_filter_and_replaces_its_selectors(spawner):
    from psxj.render.owners import Owner, filter_for_owner

    alice = Owner("alice", "-u alice", 3)
    assert filter_for_owner("-s 12 python", alice) == "-u alice python"
    assert filter_for_owner("-u bob --kind daemon 'my prog'", None) == "--kind daemon 'my prog'"
    assert filter_for_owner("-ubob", None) == ""


# --- - + *: folding the forest ----------------------------------------------------------------------

FAMILY = "import subprocess\nkids = [subprocess.Popen(['sleep', '120']) for _ in range(3)]\nREADY()\ntime.sleep(120)"


def children_of(pid: int) -> list:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(word) for word in f.read().split()]


def family(spawner, argv=None):
    """A parent with three children, every one of them killed and reaped by the spawner."""
    parent = spawner.python(FAMILY) if argv is None else spawner.popen(argv)
    for _ in range(100):
        kids = children_of(parent.pid)
        if len(kids) == 3:
            break
        import time
        time.sleep(0.02)
    for kid in kids:
        spawner.track(kid)
    return parent, kids


def row_of(app, pid: int):
    return next((row for row in app.table.rows if row.kind == "process" and row.record.pid == pid), None)


async def test_minus_folds_the_subtree_under_the_cursor_and_plus_unfolds_it_across_refreshes(spawner):
    parent, kids = family(spawner)
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await select_row(app, pilot, parent.pid)
        assert all(row_of(app, kid) is not None for kid in kids)
        await pilot.press("minus")
        await pilot.pause()
        assert all(row_of(app, kid) is None for kid in kids)
        line = app.table.row_text(row_of(app, parent.pid))
        assert "[+3] " in line and line.index("[+3] ") < line.index("import subprocess")
        assert "- Fold" in screen_text(app.widget("#keys"))
        await refreshed(app, pilot)
        await refreshed(app, pilot)   # folded it stays, refresh after refresh
        assert all(row_of(app, kid) is None for kid in kids) and app.table.current.pid == parent.pid
        await pilot.press("plus")
        await pilot.pause()
        assert all(row_of(app, kid) is not None for kid in kids)
        assert "[+" not in app.table.row_text(row_of(app, parent.pid))

        await pilot.press("minus", "asterisk")       # * unfolds every fold
        await pilot.pause()
        assert all(row_of(app, kid) is not None for kid in kids) and not app.options.folded

        await pilot.press("down", "minus")           # a child without children: nothing to fold
        await pilot.pause()
        assert "nothing to fold" in app.notices[-1].message


@root_only
async def test_a_fold_is_its_process_s_and_not_that_of_a_newcomer_with_its_pid(spawner):
    from conftest import pid_reused_by

    parent, kids = family(spawner)
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        await select_row(app, pilot, parent.pid)
        await pilot.press("minus")
        await pilot.pause()
        assert row_of(app, kids[0]) is None
        pid = parent.pid
        parent.kill()
        parent.wait()
        again = pid_reused_by(pid, ["sh", "-c", "sleep 120 & sleep 120 & sleep 120 & wait"], spawner)
        if again is None:
            pytest.skip("another process took the PID first")
        for _ in range(100):
            new_kids = children_of(pid)
            if len(new_kids) == 3:
                break
            await pilot.pause(0.02)
        for kid in new_kids:
            spawner.track(kid)
        await select_row(app, pilot, pid)
        await refreshed(app, pilot)
        assert all(row_of(app, kid) is not None for kid in new_kids)   # the newcomer is not folded
        assert "[+" not in app.table.row_text(row_of(app, pid))


async def test_plus_and_minus_outside_the_forest_say_what_they_are_for(spawner):
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        await pilot.press("minus")
        await pilot.pause()
        assert "forest" in app.notices[-1].message and "t (or F5)" in app.notices[-1].message
        assert "Fold" not in screen_text(app.widget("#keys"))   # the bar offers it in the forest
        await pilot.press("question_mark")                  # the help lists them all the same
        await pilot.pause()
        assert {("-", "Fold"), ("+, =", "Unfold"), ("*", "Unfold all")} <= set(app.screen.keys)


# --- F: following one process -----------------------------------------------------------------------

async def test_f_keeps_the_cursor_on_the_process_as_rows_reorder_come_and_go_and_ends_when_it_exits(spawner):
    hostile = b"\x1b[2Jfollow\x07me"   # a name is the process's to choose: escaped wherever it shows
    followed = spawner.sleeper(comm=hostile)
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await select_row(app, pilot, followed.pid)
        await pilot.press("F")
        await pilot.pause()
        status = status_text(app)
        assert f"following PID {followed.pid} (" in status and "\x1b" not in status and "\x07" not in status
        await pilot.press("i")                                # the order reversed
        await pilot.pause()
        newcomers = [spawner.sleeper() for _ in range(3)]     # rows come before it
        await refreshed(app, pilot)
        assert app.table.current.pid == followed.pid
        assert {n.pid for n in newcomers} <= {r.pid for r in shown_records(app)[:app.table.cursor]}
        newcomers[0].kill()
        newcomers[0].wait()                                   # and go
        await refreshed(app, pilot)
        assert app.table.current.pid == followed.pid

        app.main.query_one("Filter").post_message(type(app.main.query_one("Filter")).Use(f"-p {newcomers[1].pid}"))
        await pilot.pause()                                   # a filter hides it: still followed
        assert "following" in status_text(app) and app.table.current.pid != followed.pid
        await pilot.press("backspace")                        # shown again: the cursor is back on it
        await pilot.pause()
        assert app.table.current.pid == followed.pid and "following" in status_text(app)

        await pilot.press("down")                             # moved by hand: following ends
        await pilot.pause()
        assert "following" not in status_text(app) and "moved off" in app.notices[-1].message

        await pilot.press("up", "F")
        await pilot.pause()
        assert f"following PID {followed.pid}" in status_text(app)
        followed.kill()
        followed.wait()
        await refreshed(app, pilot)
        assert "following" not in status_text(app)
        assert f"PID {followed.pid}" in app.notices[-1].message and "exited" in app.notices[-1].message
        assert "\x1b" not in app.notices[-1].message


# --- #: the meters line -----------------------------------------------------------------------------

def meters_text(app) -> str:
    return screen_text(app.widget("#meters")).strip()


def proc_loadavg() -> str:
    with open("/proc/loadavg") as f:
        one, five, fifteen = f.read().split()[:3]
    return f"load {one} {five} {fifteen}"


async def test_the_meters_line_counts_the_table_by_kind_and_state_and_reads_the_machine(spawner, monkeypatch):
    import re
    import signal
    import time

    from conftest import stat_fields, wait_for_zombie

    stopped = spawner.sleeper()
    os.kill(stopped.pid, signal.SIGSTOP)
    while stat_fields(stopped.pid)[0] != b"T":
        time.sleep(0.01)
    zombie = spawner.popen(["true"])
    wait_for_zombie(zombie.pid)
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(260, 30)) as pilot:
        from psxj.sources import machine

        seen = []   # /proc/loadavg as this test reads it, the moment the meters read it (a busy machine's
        real = machine.load_average   # changes during one refresh of 50,000 processes)

        def reading():
            seen.append(proc_loadavg())
            return real()

        monkeypatch.setattr(machine, "load_average", reading)
        from psxj.tui.meters import Meters

        monkeypatch.setattr(Meters, "KIND_SHARE", 1.0)   # kinds counted at every refresh (a big machine's lag)
        await select_row(app, pilot, zombie.pid)
        await refreshed(app, pilot)                     # two readings of /proc/stat: a %CPU between them
        before = after = seen[-1]
        text = meters_text(app)
        assert app.widget("#meters").display and app.widget("#meters").region.y == 0   # above the table
        assert before in text or after in text
        assert 0 <= int(re.search(r"CPU (\d+)%", text).group(1)) <= 100
        with open("/proc/meminfo") as f:
            total_kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
        shown_total = float(re.search(r"mem [\d.]+[MG]/([\d.]+)G", text).group(1))
        assert abs(shown_total - total_kib / 1048576) <= 0.05
        records = app.snapshot.records
        states = {"stopped": sum(r.state in ("T", "t") for r in records),
                  "zombie": sum(r.state == "Z" for r in records)}
        assert states["stopped"] >= 1 and states["zombie"] >= 1
        assert f"{states['stopped']} stopped" in text
        assert re.search(rf"\b{states['zombie']} zombies?\b", text)
        kinds = re.search(r"(\d+) daemons?, (\d+) services?, (\d+) jobs?(?:, (\d+) orphans?)?, (\d+) kernel threads?",
                          text)
        counted = sum(int(n) for n in kinds.groups() if n)
        assert counted + states["zombie"] == len(records)   # every process in one kind, zombies by their state
        kernel = sum(r.kernel_thread for r in records)
        assert int(kinds.group(5)) == kernel


async def test_number_sign_hides_and_shows_the_meters_and_a_loaded_table_starts_without_them():
    from test_tui import tutorial

    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        height = app.table.size.height
        assert app.widget("#meters").display
        await pilot.press("number_sign")
        await pilot.pause()
        assert not app.widget("#meters").display and app.table.size.height == height + 1
        await pilot.press("number_sign")
        await pilot.pause()
        assert app.widget("#meters").display and "CPU" in meters_text(app) and "load" in meters_text(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert ("#", "Meters") in app.screen.keys
    loaded = PsxjApp(snapshot=tutorial())
    async with loaded.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert not loaded.widget("#meters").display      # this machine's figures are not the file's
        await pilot.press("number_sign")
        await pilot.pause()
        text = meters_text(loaded)
        assert loaded.widget("#meters").display and "load" not in text and "mem" not in text
        assert "kernel thread" in text and "sleeping" in text


async def test_the_meters_line_is_not_painted_again_when_its_text_is_the_same(monkeypatch):
    """Fixed readings of the machine stand in for a machine that did not change (its real load and
    memory move at every refresh): the refresh that changes nothing paints nothing of the line."""
    from psxj.sources import machine

    load = [(0.5, 0.25, 0.125)]
    monkeypatch.setattr(machine, "load_average", lambda: load[0])
    monkeypatch.setattr(machine, "memory", lambda: machine.Memory(8 * 1048576, 6 * 1048576))
    monkeypatch.setattr(machine, "cpu_times", lambda: machine.CpuTimes(100, 1000))
    app = PsxjApp(reader=Unchanging(), delay=3600, events=False)
    async with app.run_test(size=(220, 40)) as pilot:
        await refreshed(app, pilot)
        await refreshed(app, pilot)
        line = app.widget("#meters")
        assert "load 0.50 0.25 0.12" in meters_text(app) and "mem 2.0G/8.0G" in meters_text(app)
        await pilot.pause()
        assert not line._repaint_required
        await refreshed(app, pilot)
        assert not line._repaint_required            # the same text: not painted again
        load[0] = (1.5, 0.25, 0.125)
        await refreshed(app, pilot)
        assert "load 1.50" in meters_text(app)


async def test_u_with_a_name_and_enter_typed_at_once_reaches_the_picker_not_the_table():
    """tmux send-keys u r o o t Enter: every key after u is the picker's, in order."""
    from textual import events

    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        for key in ("u", "r", "o", "o", "t", "enter"):
            app.post_message(events.Key(key, "\r" if key == "enter" else key))
        await pilot.pause(0.5)
        assert "filter: -u root" in status_text(app)
        assert {r.euid for r in shown_records(app)} == {0}
        assert app.options.mode == "table" and app.screen is app.main   # t (tree) and o (columns) were the picker's
