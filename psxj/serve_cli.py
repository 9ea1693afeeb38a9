"""`psxj serve`: the interface in a web browser, with textual-serve.

    psxj serve [--host 127.0.0.1] [--port 8000] [--delay S] [--allow-signals] [--allow-demo]

textual-serve has no authentication: whoever reaches the port gets an interface running as the
user psxj runs as. So it binds to 127.0.0.1 unless told otherwise, and says loudly (on stderr, in
the page and on the interface's status line) when it listens anywhere else; the safe way to
reach it from another machine is SSH port forwarding (`ssh -L 8000:127.0.0.1:8000 server`).
Signals and the demo are refused in the browser unless started with --allow-signals or
--allow-demo; the interface's choices (theme, columns) are never saved from a browser.
Each browser connection starts its own interface (psxj.tui.served) in an isolated child Python.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import sys
from typing import List

from psxj.errors import PsxjError, UsageError, add_language_argument, cell_wrapping
from psxj.i18n import _, current


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(_("serve: {message} (see psxj serve --help)").format(message=message))


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(_("not a port number: {text!r}").format(text=text))
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="psxj serve", formatter_class=cell_wrapping(argparse.HelpFormatter),
                     description=_("Serve the interface to a web browser (textual-serve). No authentication: keep "
                                   "it on 127.0.0.1 and reach it through `ssh -L`."))
    parser.add_argument("--host", default="127.0.0.1", help=_("address to listen on (default 127.0.0.1, this "
                                                              "machine only; anything else lets whoever reaches "
                                                              "it in, without a password)"))
    parser.add_argument("--port", type=_port, default=8000, help=_("port (default 8000)"))
    parser.add_argument("--delay", default="2", help=_("refresh interval of the interface (default 2)"))
    parser.add_argument("--allow-signals", action="store_true", help=_("let the browser send signals (off by "
                                                                       "default)"))
    parser.add_argument("--allow-demo", action="store_true", help=_("let the browser start the demo (off by "
                                                                    "default)"))
    add_language_argument(parser)
    return parser


def loopback_only(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a name: it may resolve to anything


def child_command(args: argparse.Namespace, banner: str) -> str:
    """The shell command textual-serve runs for each browser: psxj's interface in an isolated Python."""
    from psxj.spawn import module_command

    argv = ["--delay", args.delay, "--banner", banner, "--lang", current()]   # the browser's interface speaks ours
    argv += ["--allow-signals"] if args.allow_signals else []
    argv += ["--allow-demo"] if args.allow_demo else []
    return shlex.join(module_command("psxj.tui.served", *argv))


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    from psxj.cli import _delay

    try:
        _delay(args.delay)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(_("serve: --delay: {exc}").format(exc=exc)) from None
    try:
        from textual_serve.server import Server
    except ImportError:
        raise PsxjError(_("serve needs textual-serve: pip install 'psxj[serve]'")) from None
    where = f"{args.host}:{args.port}"
    if loopback_only(args.host):
        banner = _("served on {where} (this machine only)").format(where=where)
        title = _("psxj on {where}").format(where=where)
    else:
        banner = _("OPEN TO THE NETWORK on {where}, NO PASSWORD").format(where=where)
        title = _("psxj: WARNING, listening on {where} with no authentication").format(where=where)
        print(_("psxj: WARNING: serving on {where}: anyone who can reach it gets psxj as this user, with no "
                "password. Bind to 127.0.0.1 and use `ssh -L 8000:127.0.0.1:8000 THIS-HOST` instead.").format(
                  where=where),
              file=sys.stderr)
    allowed = [what for what, on in ((_("signals"), args.allow_signals), (_("the demo"), args.allow_demo)) if on]
    print(_("psxj: serving the interface on http://{where}/ ({allowed}); Ctrl+C stops").format(
        where=where, allowed=_("{what} allowed").format(what=_(" and ").join(allowed)) if allowed
        else _("signals and the demo off")), file=sys.stderr)
    Server(child_command(args, banner), host=args.host, port=args.port, title=title).serve()
    return 0
