"""The web server of `psxj serve`: textual-serve's, behind psxj's guard, with a page of its own.

Part of the browser view. textual-serve (Textualize/textual-serve) runs one interface per WebSocket
and serves a page that loads its terminal (xterm.js). It has no authentication, serves every file
of its static folder, logs every URL, and its page loads a font from fonts.googleapis.com. psxj
keeps what it does well, the WebSocket handler and the interface it runs (AppService), and
replaces the rest:

- every route is under the run's secret, and a middleware refuses, before any handler runs, a
  request whose Host, Origin or secret psxj.web.guard.Guard refuses;
- at most `max_sessions` interfaces at once (each is a root psxj of about 55 MiB): the next one is
  told so in its terminal and closed;
- psxj's own page: textual-serve's terminal script and the font it ships, nothing from elsewhere,
  and a Content-Security-Policy that lets the browser fetch nothing but from this server;
- no access log (the URLs carry the secret), and no download route (psxj delivers no files).
"""

from __future__ import annotations

import asyncio
import html
import logging
import signal
import sys

from aiohttp import web
from textual_serve.server import Server

from psxj.i18n import _, current, ngettext
from psxj.web.guard import Guard

# The files of textual-serve's static folder the page uses: no other path is served.
STATIC = {
    "css/xterm.css": "text/css",
    "js/textual.js": "text/javascript",
    "fonts/RobotoMono-VariableFont_wght.ttf": "font/ttf",
    "fonts/RobotoMono-Italic-VariableFont_wght.ttf": "font/ttf",
}
_SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",          # a link opened from the page never carries the secret away
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="static/css/xterm.css">
<style>
@font-face {{ font-family: "Roboto Mono"; font-weight: 100 700;
  src: url("static/fonts/RobotoMono-VariableFont_wght.ttf") format("truetype"); }}
@font-face {{ font-family: "Roboto Mono"; font-weight: 100 700; font-style: italic;
  src: url("static/fonts/RobotoMono-Italic-VariableFont_wght.ttf") format("truetype"); }}
html, body {{ margin: 0; height: 100%; background: #0c181f; overflow: hidden; }}
.ended {{ display: none; position: fixed; left: 0; right: 0; bottom: 0; padding: 6px 12px;
  background: #5e0ba7; color: #fff; font: 15px "Roboto Mono", monospace; }}
body.-closed .ended {{ display: block; }}
</style>
<script src="static/js/textual.js"></script>
</head>
<body>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{websocket}" data-font-size="{font_size}">
</div>
<div class="ended">{ended}</div>
</body>
</html>
"""


class GuardedServer(Server):
    """textual-serve's Server, every request checked by `guard`, `max_sessions` interfaces at most."""

    def __init__(self, command: str, guard: Guard, *, host: str, port: int, title: str, max_sessions: int,
                 announce: str = "") -> None:
        super().__init__(command, host=host, port=port, title=title)
        self.guard = guard
        self.max_sessions = max_sessions
        self.sessions = 0
        self.refused_sessions = 0
        self.announce = announce   # said once on stderr when listening: the URL with the secret
        self.prefix = f"/{guard.secret}" if guard.secret is not None else ""

    # the application ------------------------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._check], client_max_size=64 * 1024)
        app.add_routes([
            web.get(f"{self.prefix}/", self.handle_index),
            web.get(f"{self.prefix}/ws", self.handle_websocket),
            web.get(f"{self.prefix}/static/{{name:.+}}", self.handle_static),
        ])
        app.on_startup.append(self.on_startup)
        app.on_response_prepare.append(self._headers)
        return app

    @web.middleware
    async def _check(self, request: web.Request, handler) -> web.StreamResponse:
        refusal = self.guard.refusal(request.path, request.headers.get("Host"), request.headers.get("Origin"))
        if refusal == "host":
            raise web.HTTPForbidden(text=_("psxj serve: this address does not name this machine (Host "
                                           "refused)") + "\n")
        if refusal == "origin":
            raise web.HTTPForbidden(text=_("psxj serve: a page from another site may not use this "
                                           "interface (Origin refused)") + "\n")
        if refusal == "secret":
            raise web.HTTPForbidden(text=_("psxj serve: open the address psxj serve printed, secret "
                                           "included") + "\n")
        return await handler(request)

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(_SECURITY_HEADERS)
        if response.content_type == "text/html" or request.path.endswith("/"):
            response.headers["Cache-Control"] = "no-store"
            host = request.headers.get("Host", "")
            # Nothing from anywhere but here: the page, its script, styles, font, and its WebSocket.
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; "
                f"img-src 'self' data:; connect-src 'self' ws://{host}; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'")

    # routes ----------------------------------------------------------------------------------------
    async def handle_index(self, request: web.Request) -> web.Response:
        size = request.query.get("fontsize", "16")
        font_size = int(size) if size.isascii() and size.isdigit() and 6 <= int(size) <= 64 else 16
        websocket = f"ws://{request.headers['Host']}{self.prefix}/ws"   # the Host the guard accepted
        page = _PAGE.format(lang="zh-CN" if current() == "zh" else "en", title=html.escape(self.title),
                            websocket=html.escape(websocket, quote=True), font_size=font_size,
                            ended=html.escape(_("Session ended: reload the page for a new one.")))
        return web.Response(text=page, content_type="text/html")

    async def handle_static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        response = web.FileResponse(self.statics_path / name)
        response.content_type = STATIC[name]
        return response

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        if self.sessions >= self.max_sessions:
            return await self._refuse_session(request)
        self.sessions += 1
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions -= 1

    async def _refuse_session(self, request: web.Request) -> web.StreamResponse:
        """Each interface is a root psxj of its own: past the cap, say so in the page's terminal."""
        self.refused_sessions += 1
        print(_("psxj: refused a browser session: {count} are open, the most --max-sessions allows").format(
                  count=self.sessions), file=sys.stderr)
        websocket = web.WebSocketResponse()
        await websocket.prepare(request)
        text = ngettext("psxj serve: {count} session is open already, the most this server allows "
                        "(--max-sessions {count}). Close it and reload this page.",
                        "psxj serve: {count} sessions are open already, the most this server allows "
                        "(--max-sessions {count}). Close one and reload this page.",
                        self.max_sessions).format(count=self.max_sessions)
        await websocket.send_bytes(("\r\n  " + text + "\r\n").encode("utf-8"))
        await websocket.close(code=1013, message=b"too many sessions")
        return websocket

    # running ----------------------------------------------------------------------------------------
    async def on_startup(self, app: web.Application) -> None:
        pass   # textual-serve prints its logo and the URL here; psxj says it once it listens (serve)

    def _listening(self, *_what) -> None:
        if self.announce:
            print(self.announce, file=sys.stderr, flush=True)

    def initialize_logging(self) -> None:
        """Warnings and errors only, on stderr: never a request's URL, which carries the secret."""
        logging.basicConfig(level=logging.WARNING, format="psxj serve: %(message)s", stream=sys.stderr)
        logging.getLogger("aiohttp.access").disabled = True
        # At Ctrl+C the loop closes while interfaces are still ending: asyncio's warning about it says nothing
        # the user can act on (they end when their input closes).
        logging.getLogger("asyncio").setLevel(logging.ERROR)

    def serve(self, debug: bool = False) -> None:
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop,
                    print=self._listening, access_log=None, shutdown_timeout=5)

