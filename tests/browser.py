"""A real headless Chromium (Debian's), driven over the DevTools protocol, for psxj serve's test and
screenshot (screenshots/make_browser_screenshot.py).

No browser download and no Playwright: the DevTools protocol over a WebSocket, with aiohttp (which
textual-serve already brings). The terminal in the page is drawn on a canvas by xterm.js, so the
text is read where the page itself gets it: the WebSocket frames the page receives from psxj
(Network.webSocketFrameReceived), with the terminal's escape sequences removed. A fresh profile
directory, no network but 127.0.0.1; the browser is killed by its PID and reaped at the end.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
have_chromium = os.path.exists(CHROMIUM)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--remote-debugging-port=0",
         "--remote-allow-origins=http://127.0.0.1", "--window-size=1280,800", "--hide-scrollbars"]
_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def terminal_text(data: bytes) -> str:
    """What a stream of terminal output says, without its escape sequences."""
    return _ESCAPES.sub(b"", data).decode("utf-8", "replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> List[int]:
    found, queue = [], [pid]
    while queue:
        parent = queue.pop()
        try:
            for task in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    kids = [int(p) for p in f.read().split()]
                found += kids
                queue += kids
        except OSError:
            continue
    return found


def stop_tree(process: subprocess.Popen) -> None:
    """End a process we started and everything under it, each by its PID; reap what is ours."""
    below = descendants(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for pid in below:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Served:
    """`psxj serve` on 127.0.0.1:port, started and stopped by the test; `url` is the one it printed (with
    its secret), `said` what it wrote on stderr until then."""

    def __init__(self, root: str, *args: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.process = subprocess.Popen([sys.executable, "-m", "psxj", "serve", "--port", str(self.port), *args],
                                        cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        self.said = ""
        self.url = ""
        deadline = time.monotonic() + 30
        while not self.url and time.monotonic() < deadline:   # it prints the URL once it listens
            line = self.process.stderr.readline().decode(errors="replace")
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"psxj serve exited: {self.said}{self.process.stderr.read().decode()}")
            self.said += line
            found = re.search(r"open (http://\S+/) ", line)
            if found:
                self.url = found.group(1)
        if not self.url:
            raise RuntimeError(f"psxj serve printed no URL: {self.said}")
        socket.create_connection(("127.0.0.1", self.port), timeout=5).close()

    @property
    def secret(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def close(self) -> str:
        stop_tree(self.process)
        return self.said + self.process.stderr.read().decode(errors="replace")


async def load_page(url: str, until: List[str], screenshot: Optional[str] = None, timeout: float = 60,
                    keys: str = "", requests: Optional[List[str]] = None) -> str:
    """Open `url` in headless Chromium; wait until the terminal text has every string of `until`; type
    `keys` (then wait for the screen to settle); save a PNG screenshot; return the terminal text.
    `requests`, when given, gets the URL of every request the page made (WebSockets included)."""
    async with _devtools() as ws:
        return await _drive(ws, url, until, screenshot, timeout, keys, requests)


async def page_text(url: str, extra_flags: List[str] = (), script: str = "document.body.innerText",
                    timeout: float = 30) -> str:
    """What a page says (its text, or what `script` evaluates to once it has loaded)."""
    async with _devtools(extra_flags) as ws:
        counter = iter(range(1, 1 << 30))

        async def send(method: str, **params) -> dict:
            ident = next(counter)
            await ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                message = json.loads((await asyncio.wait_for(ws.receive(), timeout)).data)
                if message.get("id") == ident:
                    return message.get("result", message.get("error"))

        await send("Page.enable")
        await send("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while True:
            state = await send("Runtime.evaluate", expression="document.readyState")
            if state.get("result", {}).get("value") == "complete" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        found = await send("Runtime.evaluate", expression=script, awaitPromise=True)
        return str(found.get("result", {}).get("value", ""))


class _devtools:
    """A fresh headless Chromium and a DevTools connection to its page; the browser is killed and
    reaped, its profile removed, on the way out."""

    def __init__(self, extra_flags: List[str] = ()) -> None:
        self.extra_flags = list(extra_flags)

    async def __aenter__(self):
        import aiohttp

        self.profile = tempfile.mkdtemp(prefix="psxj-chromium-")
        self.browser = subprocess.Popen([CHROMIUM, *FLAGS, *self.extra_flags, f"--user-data-dir={self.profile}",
                                         "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        try:
            devtools = None
            deadline = time.monotonic() + 30
            while devtools is None and time.monotonic() < deadline:
                line = self.browser.stderr.readline().decode(errors="replace")
                if not line and self.browser.poll() is not None:
                    raise RuntimeError("chromium exited")
                match = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
                if match:
                    devtools = int(match.group(1))
            self.http = aiohttp.ClientSession()
            async with self.http.get(f"http://127.0.0.1:{devtools}/json/list") as reply:
                pages = [t for t in await reply.json() if t["type"] == "page"]
            self.ws = await self.http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
            return self.ws
        except BaseException:
            await self._end()
            raise

    async def __aexit__(self, *exc) -> None:
        await self._end()

    async def _end(self) -> None:
        if getattr(self, "ws", None) is not None:
            await self.ws.close()
        if getattr(self, "http", None) is not None:
            await self.http.close()
        stop_tree(self.browser)
        shutil.rmtree(self.profile, ignore_errors=True)


async def _drive(ws, url: str, until: List[str], screenshot: Optional[str], timeout: float, keys: str,
                 requests: Optional[List[str]]) -> str:
    counter = iter(range(1, 1 << 30))
    replies = {}
    received = bytearray()

    async def send(method: str, **params) -> dict:
        ident = next(counter)
        await ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while ident not in replies:
            await pump()
        return replies.pop(ident)

    async def pump() -> None:
        message = json.loads((await ws.receive()).data)
        if "id" in message:
            replies[message["id"]] = message.get("result", message.get("error"))
        elif message.get("method") in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            if requests is not None:
                params = message["params"]
                requests.append(params["request"]["url"] if "request" in params else params["url"])
        elif message.get("method") == "Network.webSocketFrameReceived":
            frame = message["params"]["response"]
            payload = frame["payloadData"]
            received.extend(base64.b64decode(payload) if frame.get("opcode") == 2 else payload.encode())

    await send("Network.enable")
    await send("Page.enable")
    await send("Page.navigate", url=url)
    deadline = time.monotonic() + timeout
    while not all(word in terminal_text(bytes(received)) for word in until):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the page never showed {until}: {terminal_text(bytes(received))[-2000:]!r}")
        try:
            await asyncio.wait_for(pump(), 1.0)
        except asyncio.TimeoutError:
            pass
    if keys:  # the terminal takes keys once it has the focus, as after a click
        for kind in ("mousePressed", "mouseReleased"):
            await send("Input.dispatchMouseEvent", type=kind, x=600, y=300, button="left", clickCount=1)
    for key in keys:
        if key == "\r":
            await send("Input.dispatchKeyEvent", type="keyDown", key="Enter", text="\r", windowsVirtualKeyCode=13)
            await send("Input.dispatchKeyEvent", type="keyUp", key="Enter", windowsVirtualKeyCode=13)
        else:
            await send("Input.insertText", text=key)
        pause = time.monotonic() + 0.3   # one key at a time, as a person types: each acted on first
        while time.monotonic() < pause:
            try:
                await asyncio.wait_for(pump(), 0.05)
            except asyncio.TimeoutError:
                pass
    settle = time.monotonic() + 2.0   # let the table paint fully before the picture
    while time.monotonic() < settle:
        try:
            await asyncio.wait_for(pump(), 0.2)
        except asyncio.TimeoutError:
            pass
    if screenshot:
        shot = await send("Page.captureScreenshot", format="png")
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    return terminal_text(bytes(received))
