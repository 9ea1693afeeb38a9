"""psxj serve: the interface in a real headless Chromium, over textual-serve, on 127.0.0.1 only unless
told otherwise, with signals and the demo refused unless allowed."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from browser import Served, have_chromium, load_page
from conftest import ROOT, LiveReader, linux_only

from psxj.tui.app import PsxjApp
from psxj.tui.served import ServedApp, refused

textual_serve = pytest.importorskip("textual_serve.server",
                                    reason="psxj serve needs textual-serve (pip install '.[serve]')")


@pytest.mark.slow
@linux_only
@pytest.mark.skipif(not have_chromium, reason="needs Debian's chromium")
def test_the_table_in_a_real_browser(spawner, tmp_path):
    marker = f"psxj-browser-{uuid.uuid4().hex[:8]}"
    sleeper = spawner.sleeper(marker)
    served = Served(str(ROOT))
    try:
        text = asyncio.run(load_page(served.url, ["COMMAND", "served on"], keys=f"/{marker}\r",
                                     screenshot=str(tmp_path / "browser.png")))
    finally:
        log = served.close()
    assert f"served on 127.0.0.1:{served.port} (this machine only)" in text
    assert "PPID" in text and "STAT" in text and f"filter: {marker}" in text
    assert str(sleeper.pid) in text and f"-c READY() {marker}"[:20] in text or marker in text
    assert "Signal" not in text and "Demo" not in text      # not offered in a browser by default
    assert "WARNING" not in log
    assert (tmp_path / "browser.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("allow_signals, allow_demo", [(False, False), (True, False), (False, True)])
async def test_signals_and_the_demo_are_refused_unless_allowed(allow_signals, allow_demo):
    app = ServedApp(reader=LiveReader(), delay=60, remember=False, refused_actions=refused(allow_signals, allow_demo))
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(300):
            await pilot.pause(0.1)
            if app.snapshot is not None and app.table.rows:
                break
        assert app.key_is_offered("app.signal") == app.check_action("signal", ()) == allow_signals
        assert app.key_is_offered("app.demo") == app.check_action("demo", ()) == allow_demo
        assert app.check_action("demo_hangup", ()) == allow_demo
        keys = str(app.widget("#keys").render())
        assert ("Signal" in keys) == allow_signals
        await pilot.press("x")
        assert (app.screen.__class__.__name__ == "SignalScreen") == allow_signals
    assert PsxjApp  # the same app class underneath: nothing else changes


def test_serve_binds_to_loopback_and_warns_loudly_elsewhere(monkeypatch, capsys):
    from psxj import serve_cli

    started = []
    monkeypatch.setattr(textual_serve.Server, "serve", lambda self, debug=False: started.append(self))
    assert serve_cli.main([]) == 0
    assert (started[-1].host, started[-1].port) == ("127.0.0.1", 8000)
    assert "WARNING" not in capsys.readouterr().err
    assert serve_cli.main(["--host", "192.0.2.7", "--port", "8123"]) == 0   # documentation address: never bound
    err = capsys.readouterr().err
    assert "WARNING: serving on 192.0.2.7:8123" in err and "ssh -L" in err
    assert "WARNING" in started[-1].title and "NO PASSWORD" in started[-1].command
    assert "--allow-signals" not in started[-1].command


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.4", False), ("myhost", False)])
def test_what_counts_as_this_machine_only(host, loopback):
    from psxj.serve_cli import loopback_only

    assert loopback_only(host) == loopback


def test_the_served_interface_starts_isolated():
    """textual-serve runs a shell command per browser: psxj's own module, in python -I, every argument quoted."""
    import argparse

    from psxj.serve_cli import child_command

    command = child_command(argparse.Namespace(delay="2", allow_signals=False, allow_demo=False), "a'b; rm -rf /")
    assert " -I " in command and "psxj.tui.served" in command and "'a'\"'\"'b; rm -rf /'" in command
    assert os.path.dirname(os.path.dirname(os.path.abspath(__file__))) in command
