"""Why it runs, in the interface (driven with Pilot on the live table): the detail view opens with the
story `psxj why` tells, told in a worker; the sockets view (n) lists the listening ports with their
processes, read from the kernel's tables, and Enter opens a process's details from there. In English
and in Chinese; a loaded table offers neither."""

from __future__ import annotations

import os
import pwd
import subprocess
import time

import pytest
from conftest import LiveReader, linux_only, select_live_row
from test_tui import screen_text, tutorial

from psxj.i18n import install
from psxj.tui.app import PsxjApp
from psxj.tui.details import DetailScreen
from psxj.tui.sockets_screen import SocketsScreen
from psxj.tui.why_story import WhyStory

pytestmark = linux_only

LISTENER = """import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
READY()
time.sleep(120)
"""


async def _wait(pilot, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("the interface did not get there in time")


async def _story(app, pilot) -> str:
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    story = screen.query_one(WhyStory)
    await _wait(pilot, lambda: story.why is not None)
    return screen_text(story)


@pytest.mark.parametrize("language, words", [("en", ("why", "chain", "source", "listening")),
                                             ("zh", ("原因", "进程链", "来源", "监听"))])
async def test_the_detail_view_opens_with_why_it_runs(spawner, language, words):
    proc = spawner.python(LISTENER, stdout=subprocess.PIPE)
    port = int(proc.stdout.readline())
    install(language)
    try:
        app = PsxjApp(reader=LiveReader(), delay=60)
        async with app.run_test(size=(120, 40)) as pilot:
            await select_live_row(app, pilot, proc.pid)
            await pilot.press("enter")
            text = await _story(app, pilot)
            assert all(word in text for word in words), text
            assert f"tcp 127.0.0.1:{port}" in text and f"{proc.pid} python" in text
            # The story is the first thing in the view, above the facts.
            body = app.screen.query_one("#detail-body")
            assert body.children[0] is app.screen.query_one(WhyStory)
            assert app.screen.query_one(WhyStory).why.pid == proc.pid
            await pilot.press("escape")
            assert not isinstance(app.screen, DetailScreen)
    finally:
        install("en")


async def test_the_sockets_view_lists_listening_ports_and_opens_details(spawner):
    proc = spawner.python(LISTENER, stdout=subprocess.PIPE)
    port = int(proc.stdout.readline())
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await select_live_row(app, pilot, proc.pid)   # the table is there
        assert "sockets" in {binding.action for binding in app.screen.ordered_keys()}   # in the help and palette
        await pilot.press("n")
        assert isinstance(app.screen, SocketsScreen)
        screen = app.screen
        await _wait(pilot, lambda: any(row.port == port for row in screen.rows))
        [row] = [row for row in screen.rows if row.port == port]
        assert (row.proto, row.address, row.pid, row.user) == ("tcp", f"127.0.0.1:{port}", proc.pid,
                                                                pwd.getpwuid(os.geteuid()).pw_name)
        assert f"Listening ports: {len({(r.proto, r.address) for r in screen.rows})}" in \
            screen_text(screen.query_one("#sockets-title"))
        table = screen.query_one("#sockets-table")
        table.move_cursor(row=screen.rows.index(row))
        await pilot.press("enter")
        await _wait(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.record.pid == proc.pid
        assert f"tcp 127.0.0.1:{port}" in await _story(app, pilot)
        await pilot.press("escape")
        assert app.screen is screen   # back to the ports
        await pilot.press("escape")
        assert not isinstance(app.screen, SocketsScreen)


async def test_a_loaded_table_offers_no_sockets_view_and_no_story():
    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        assert not isinstance(app.screen, SocketsScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen) and not app.screen.query(WhyStory)
