"""psxj serve: the interface in a real headless Chromium, over textual-serve, for the holder of the
secret URL it prints, and for nobody else: not another local user (a plain WebSocket client run as
`nobody`), not a page from another site (a cross-site WebSocket), not a name of someone else's that
resolves to 127.0.0.1 (DNS rebinding, done with Chromium's own resolver rules). At most
--max-sessions interfaces at once; the page asks nothing of any host but this one."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

import pytest
from browser import Served, descendants, have_chromium, load_page, page_text, terminal_text
from conftest import NOBODY, ROOT, LiveReader, linux_only, root_only

from psxj.tui.app import PsxjApp
from psxj.tui.served import ServedApp, refused
from psxj.web.guard import Guard, split_host

textual_serve = pytest.importorskip("textual_serve.server",
                                    reason="psxj serve needs textual-serve (pip install '.[serve]')")
needs_chromium = pytest.mark.skipif(not have_chromium, reason="needs Debian's chromium")


# --- the guard: who may open it (pure) -------------------------------------------------------------

@pytest.mark.parametrize("host, loopback, allowed", [
    ("127.0.0.1:8000", True, True), ("127.0.0.1", True, True), ("localhost:9000", True, True),
    ("[::1]:8000", True, True), ("127.1.2.3:8000", True, True),
    ("rebind.example:8000", True, False),      # DNS rebinding: a name of the attacker's
    ("192.168.1.4:8000", True, False),         # listening on loopback: only loopback addresses
    ("myhost:8000", True, False), ("", True, False), (None, True, False), ("127.0.0.1:80x", True, False),
    ("192.168.1.4:8000", False, True), ("myhost:8000", False, True), ("myhost.example.org", False, True),
    ("rebind.example:8000", False, False), ("[fe80::1]:8000", False, True),
])
def test_the_host_must_name_this_machine(host, loopback, allowed):
    guard = Guard("s3cret", loopback, own_names=["myhost", "myhost.example.org"])
    assert guard.host_allowed(host) == allowed


@pytest.mark.parametrize("path, host, origin, refusal", [
    ("/s3cret/", "127.0.0.1:8000", None, None),
    ("/s3cret/ws", "127.0.0.1:8000", "http://127.0.0.1:8000", None),
    ("/s3cret/static/js/textual.js", "localhost:8000", "http://localhost:8000", None),
    ("/", "127.0.0.1:8000", None, "secret"),
    ("/s3cre/ws", "127.0.0.1:8000", None, "secret"), ("/s3cretx/ws", "127.0.0.1:8000", None, "secret"),
    ("/S3CRET/ws", "127.0.0.1:8000", None, "secret"), ("/ws", "127.0.0.1:8000", None, "secret"),
    ("/s3cret/ws", "127.0.0.1:8000", "http://evil.example", "origin"),
    ("/s3cret/ws", "127.0.0.1:8000", "null", "origin"),
    ("/s3cret/ws", "127.0.0.1:8000", "http://localhost:8000", "origin"),   # another origin, same machine
    ("/s3cret/ws", "127.0.0.1:8000", "https://127.0.0.1:8000", "origin"),
    ("/s3cret/ws", "evil.example:8000", "http://evil.example:8000", "host"),
    ("/caf\udce9/ws", "127.0.0.1:8000", None, "secret"),
])
def test_a_request_needs_the_secret_its_own_host_and_its_own_origin(path, host, origin, refusal):
    assert Guard("s3cret", True).refusal(path, host, origin) == refusal


def test_without_a_secret_only_host_and_origin_are_checked():
    guard = Guard(None, True)
    assert guard.refusal("/ws", "127.0.0.1:8000", None) is None
    assert guard.refusal("/ws", "127.0.0.1:8000", "http://evil.example") == "origin"


@pytest.mark.parametrize("host, parts", [("a:1", ("a", "1")), ("[::1]:80", ("::1", "80")), ("a", ("a", None)),
                                         ("[::1]", ("::1", None))])
def test_host_headers_are_split_as_browsers_write_them(host, parts):
    assert split_host(host) == parts


def test_each_run_has_its_own_long_secret():
    from psxj.web.guard import new_secret

    secrets_made = {new_secret() for _ in range(100)}
    assert len(secrets_made) == 100 and all(len(s) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", s) for s in secrets_made)


# --- the command line ----------------------------------------------------------------------------

def test_serve_binds_to_loopback_prints_one_secret_url_and_warns_loudly_elsewhere(monkeypatch, capsys):
    from psxj.commands import serve as serve_cli
    from psxj.web import server as serve_web

    started = []
    monkeypatch.setattr(serve_web.GuardedServer, "serve", lambda self, debug=False: started.append(self))
    assert serve_cli.main([]) == 0
    server = started[-1]
    assert (server.host, server.port, server.max_sessions) == ("127.0.0.1", 8000, 4)
    assert server.guard.secret and server.prefix == f"/{server.guard.secret}" and server.guard.loopback
    assert server.announce.startswith(f"psxj: open http://127.0.0.1:8000/{server.guard.secret}/ ")
    assert server.guard.secret not in server.command   # a command line: everyone can read it
    assert "WARNING" not in capsys.readouterr().err
    assert serve_cli.main(["--host", "192.0.2.7", "--port", "8123"]) == 0   # documentation address: never bound
    err = capsys.readouterr().err
    assert "WARNING: serving on 192.0.2.7:8123" in err and "ssh -L" in err and "unencrypted" in err
    assert "TO THE NETWORK" in started[-1].command and "--allow-signals" not in started[-1].command
    assert started[-1].guard.secret != server.guard.secret
    assert serve_cli.main(["--host", "localhost", "--max-sessions", "2"]) == 0
    assert started[-1].announce.startswith("psxj: open http://127.0.0.1:8000/")   # never a name: ::1 may be another's
    assert started[-1].max_sessions == 2


@pytest.mark.parametrize("args, message", [
    (["--no-secret", "--allow-signals"], "--allow-signals and --allow-demo need the secret"),
    (["--no-secret", "--allow-demo"], "--allow-signals and --allow-demo need the secret"),
    (["--no-secret", "--host", "0.0.0.0"], "--no-secret only on 127.0.0.1"),
    (["--max-sessions", "0"], "a number of sessions from 1 to 64"),
])
def test_signals_and_the_demo_need_the_secret(args, message, capsys):
    from psxj.commands.main import main

    assert main(["serve", *args]) == 2
    assert message in capsys.readouterr().err


def test_without_a_secret_it_says_who_can_open_it(monkeypatch, capsys):
    from psxj.commands import serve as serve_cli
    from psxj.web import server as serve_web

    started = []
    monkeypatch.setattr(serve_web.GuardedServer, "serve", lambda self, debug=False: started.append(self))
    assert serve_cli.main(["--no-secret"]) == 0
    assert started[-1].guard.secret is None and started[-1].prefix == ""
    assert "every user of this machine can open http://127.0.0.1:8000/" in capsys.readouterr().err
    assert "NO secret" in started[-1].command


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.4", False), ("myhost", False)])
def test_what_counts_as_this_machine_only(host, loopback):
    from psxj.commands.serve import loopback_only

    assert loopback_only(host) == loopback


def test_the_served_interface_starts_isolated():
    """textual-serve runs a shell command per browser: psxj's own module, in python -I, every argument quoted."""
    import argparse

    from psxj.commands.serve import child_command

    command = child_command(argparse.Namespace(delay="2", allow_signals=False, allow_demo=False), "a'b; rm -rf /")
    assert " -I " in command and "psxj.tui.served" in command and "'a'\"'\"'b; rm -rf /'" in command
    assert os.path.dirname(os.path.dirname(os.path.abspath(__file__))) in command


def test_the_page_uses_only_files_textual_serve_ships():
    from textual_serve.server import Server

    from psxj.web.server import STATIC

    base = Server("true").statics_path
    assert all((base / name).is_file() for name in STATIC)


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


# --- the real server: the page, a real browser, other users ------------------------------------------

@pytest.fixture
def served():
    server = Served(str(ROOT))
    try:
        yield server
    finally:
        server.close()


async def _http(url: str, **headers) -> tuple:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers=headers, allow_redirects=False) as reply:
            return reply.status, dict(reply.headers), await reply.text()


_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]*)""")


@pytest.mark.slow
@linux_only
def test_the_page_refers_to_no_host_but_this_one(served):
    status, headers, page = asyncio.run(_http(served.url))
    assert status == 200 and "fonts.googleapis" not in page
    css = asyncio.run(_http(served.url + "static/css/xterm.css"))[2]
    references = [a or b for a, b in _REFERENCES.findall(page + css)]
    assert references and all(not urlsplit(r).netloc and urlsplit(r).scheme in ("", "data") for r in references), \
        references
    [websocket] = re.findall(r'data-session-websocket-url="([^"]+)"', page)
    assert websocket == f"ws://127.0.0.1:{served.port}/{served.secret}/ws"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "http" not in policy.replace(f"ws://127.0.0.1:{served.port}", "")
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    assert asyncio.run(_http(served.url + "static/../../server.py"))[0] in (403, 404)
    assert asyncio.run(_http(served.url + "static/images/background.png"))[0] == 404   # only what the page uses
    assert asyncio.run(_http(f"http://127.0.0.1:{served.port}/download/x"))[0] == 403
    assert served.close().count(served.secret) == 1   # said once, in the URL; no access log repeats it


@pytest.mark.slow
@linux_only
@needs_chromium
def test_the_table_in_a_real_browser_with_the_printed_url(spawner, tmp_path):
    marker = f"psxj-browser-{uuid.uuid4().hex[:8]}"
    sleeper = spawner.sleeper(marker)
    served = Served(str(ROOT))
    requests: list = []
    try:
        text = asyncio.run(load_page(served.url, ["COMMAND", "served on"], keys=f"/{marker}\r",
                                     screenshot=str(tmp_path / "browser.png"), requests=requests))
    finally:
        log = served.close()
    assert f"served on 127.0.0.1:{served.port} (secret URL)" in text
    assert "PPID" in text and "STAT" in text and f"filter: {marker}" in text
    assert str(sleeper.pid) in text and f"-c READY() {marker}"[:20] in text or marker in text
    assert "Signal" not in text and "Demo" not in text      # not offered in a browser by default
    assert "WARNING" not in log
    assert (tmp_path / "browser.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Everything the page asked for came from this server: no font, no script from elsewhere.
    assert requests and {urlsplit(r).netloc for r in requests} == {f"127.0.0.1:{served.port}"}, requests
    assert any(r.startswith("ws://") for r in requests)


class _OtherSite:
    """A page of another origin on this machine (another local port), as a site in the browser would be."""

    def __init__(self) -> None:
        class Page(BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"<html><body>another site</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _open_websocket_js(url: str) -> str:
    """Evaluated in a page: open a WebSocket to `url`, say whether it opened."""
    return ("new Promise(done => { const ws = new WebSocket(%s); ws.onopen = () => { done('opened'); ws.close(); };"
            " ws.onerror = () => done('refused'); setTimeout(() => done('no answer'), 15000); })" % json.dumps(url))


@pytest.mark.slow
@linux_only
@needs_chromium
def test_a_real_browser_is_refused_without_the_secret_from_another_site_or_another_name(served):
    base = f"http://127.0.0.1:{served.port}"
    websocket = f"ws://127.0.0.1:{served.port}/{served.secret}/ws?width=80&height=24"
    assert "open the address psxj serve printed" in asyncio.run(page_text(base + "/"))
    assert "open the address psxj serve printed" in asyncio.run(page_text(f"{base}/{served.secret[:-1]}x/"))
    # DNS rebinding: a name of the attacker's that resolves to 127.0.0.1, secret and all.
    rebinding = ["--host-resolver-rules=MAP rebind.example 127.0.0.1"]
    said = asyncio.run(page_text(f"http://rebind.example:{served.port}/{served.secret}/", extra_flags=rebinding))
    assert "Host refused" in said, said
    # A page of another site that knows the secret still cannot open the interface's WebSocket ...
    other = _OtherSite()
    try:
        assert asyncio.run(page_text(other.url, script=_open_websocket_js(websocket))) == "refused"
    finally:
        other.close()
    assert not descendants(served.process.pid)   # no interface was started for any of them
    # ... while the page psxj served, with the same script, can (the check above could fail).
    assert asyncio.run(page_text(served.url, script=_open_websocket_js(websocket))) == "opened"


def _as_nobody_in_a_child(action) -> dict:
    """Run action() (returning a dict) in a forked child that became nobody; its result as JSON."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.close(reading)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            os.write(writing, json.dumps(action()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(writing)
    with os.fdopen(reading, "rb") as f:
        data = f.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, data
    return json.loads(data)


async def _websocket_status(url: str, **headers) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        try:
            async with http.ws_connect(url, headers=headers) as ws:
                message = await asyncio.wait_for(ws.receive(), 20)
                return f"opened: {message.type.name}"
        except aiohttp.WSServerHandshakeError as exc:
            return f"refused {exc.status}"


@pytest.mark.slow
@linux_only
@root_only
@pytest.mark.parametrize("flags", [(), ("--allow-signals", "--allow-demo")])
def test_another_local_user_cannot_open_it_nor_find_its_secret(flags):
    """Issue 21's attack: as nobody, a plain WebSocket to root's psxj serve got a root interface (its
    detail view, and with --allow-signals, signals as root). Without the secret: refused. And the
    secret is in no command line nobody can read (/proc/PID/cmdline of every process)."""
    served = Served(str(ROOT), *flags)
    try:
        port, secret = served.port, served.secret

        def attack() -> dict:
            found_in = [name for name in os.listdir("/proc") if name.isdigit() and _readable_has(name, secret)]
            results = {"found": found_in}
            for key, url, headers in (
                    ("plain", f"ws://127.0.0.1:{port}/ws", {}),
                    ("guess", f"ws://127.0.0.1:{port}/{secret[:-2]}aa/ws", {}),
                    ("origin", f"ws://127.0.0.1:{port}/{secret}/ws", {"Origin": "http://evil.example"}),
                    ("host", f"ws://127.0.0.1:{port}/{secret}/ws", {"Host": f"evil.example:{port}"})):
                results[key] = asyncio.run(_websocket_status(url, **headers))
            return results

        results = _as_nobody_in_a_child(attack)
        assert results["found"] == []
        for key in ("plain", "guess", "origin", "host"):
            assert results[key] == "refused 403", (key, results)
        assert not descendants(served.process.pid)   # no root interface was started for nobody
    finally:
        served.close()


def _readable_has(pid: str, secret: str) -> bool:
    for name in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                if secret.encode() in f.read():
                    return True
        except OSError:
            continue
    return False


@pytest.mark.slow
@linux_only
def test_sessions_past_the_cap_are_refused_with_a_clear_message():
    served = Served(str(ROOT), "--max-sessions", "2")
    websocket = served.url.replace("http://", "ws://") + "ws?width=100&height=30"

    async def sessions() -> list:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            first = await http.ws_connect(websocket)
            second = await http.ws_connect(websocket)
            for ws in (first, second):   # each has its interface: wait for its first screen
                await asyncio.wait_for(ws.receive(), 30)
            async with http.ws_connect(websocket) as third:
                refused_with = (await asyncio.wait_for(third.receive(), 10)).data
                closed = await asyncio.wait_for(third.receive(), 10)
            await first.close()
            await asyncio.sleep(2)   # its interface ends, and its place is free again
            async with http.ws_connect(websocket) as fourth:
                again = await asyncio.wait_for(fourth.receive(), 30)
            await second.close()
            return [refused_with, closed.type.name, getattr(closed, "extra", None), again.type.name]

    try:
        refused_with, closed, why, again = asyncio.run(sessions())
    finally:
        log = served.close()
    text = terminal_text(refused_with)
    assert "2 sessions are open already, the most this server allows (--max-sessions 2)" in text
    assert closed == "CLOSE" and why == "too many sessions"
    assert again == "BINARY"   # the fourth, once one closed: an interface again
    assert "psxj: refused a browser session: 2 are open" in log
    assert served.secret not in log.replace(served.url, "")
