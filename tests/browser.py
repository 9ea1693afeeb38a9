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
    """`psxj serve` on 127.0.0.1:port, started and stopped by the test."""

    def __init__(self, root: str, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.process = subprocess.Popen([sys.executable, "-m", "psxj", "serve", "--port", str(self.port), *args],
                                        cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"psxj serve exited: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("psxj serve did not listen")

    def close(self) -> str:
        stop_tree(self.process)
        return self.process.stderr.read().decode(errors="replace")


async def load_page(url: str, until: List[str], screenshot: Optional[str] = None, timeout: float = 60,
                    keys: str = "") -> str:
    """Open `url` in headless Chromium; wait until the terminal text has every string of `until`; type
    `keys` (then wait for the screen to settle); save a PNG screenshot; return the terminal text."""
    import aiohttp

    profile = tempfile.mkdtemp(prefix="psxj-chromium-")
    browser = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        devtools = None
        deadline = time.monotonic() + 30
        while devtools is None and time.monotonic() < deadline:
            line = browser.stderr.readline().decode(errors="replace")
            if not line and browser.poll() is not None:
                raise RuntimeError("chromium exited")
            match = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                devtools = int(match.group(1))
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{devtools}/json/list") as reply:
                pages = [t for t in await reply.json() if t["type"] == "page"]
            async with http.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                return await _drive(ws, url, until, screenshot, timeout, keys)
    finally:
        stop_tree(browser)
        shutil.rmtree(profile, ignore_errors=True)


async def _drive(ws, url: str, until: List[str], screenshot: Optional[str], timeout: float, keys: str) -> str:
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
