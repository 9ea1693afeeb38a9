"""What htop users reach for first (issue 24), on real processes spawned and reaped here: the user picker
(u), folding the forest (- + *), following one process as the rows reorder (F), and the meters line (#).
Each driven with Pilot as a user would press the keys."""

from __future__ import annotations

import os

import pytest
from conftest import NOBODY, LiveReader, linux_only, root_only, select_live_row
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
        await select_live_row(app, pilot, nameless.pid)
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
