"""`psxj serve`: the interface in a web browser, with textual-serve, for whoever has its secret URL.

    psxj serve [--host 127.0.0.1] [--port 8000] [--delay S] [--max-sessions 4] [--allow-signals] [--allow-demo]
               [--no-secret]

127.0.0.1 is reachable by every user of this machine, and by the web pages any of their browsers
opens; textual-serve has no authentication. So each run makes a secret and prints, once, on stderr,
the one URL that carries it; the server refuses any request without it, or whose Host or Origin is
not its own (psxj.web.guard), and runs at most --max-sessions interfaces at once (psxj.web.server).
The secret is never in a command line (ps shows those to everyone) nor in a log. Signals and the
demo stay off in the browser unless started with --allow-signals or --allow-demo, which need the
secret; the interface's choices (theme, columns) are never saved from a browser. Each browser
connection starts its own interface (psxj.tui.served) in an isolated child Python.
A subcommand of the command line (psxj.commands); the browser view itself is psxj.web.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys
from typing import List, Optional

from psxj.commands.parsing import OneLineParser, command_parser, refresh_delay
from psxj.errors import PsxjError, UsageError
from psxj.i18n import N_, _, add_language_argument, current

DEFAULT_SESSIONS = 4
SUMMARY = N_("the interface in a web browser, for whoever has its secret URL")


class _Parser(OneLineParser):
    """serve's own: its --lang comes last in its help, and its usage errors say `serve:` in their own words."""

    def add_language_option(self) -> None:
        pass   # build_parser adds it after the others

    def error(self, message: str):
        raise UsageError(_("serve: {message} (see psxj serve --help)").format(message=message))


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(_("not a port number: {text!r}").format(text=text))
    return int(text)


def _sessions(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 64):
        raise argparse.ArgumentTypeError(_("a number of sessions from 1 to 64, not {text!r}").format(text=text))
    return int(text)


def build_parser(commands: Optional[argparse._SubParsersAction] = None) -> argparse.ArgumentParser:
    """This command's parser: alone, or a branch of the tree (psxj.commands.main.build_parser)."""
    parser = command_parser(commands, "serve", _(SUMMARY), parser_class=_Parser,
                            description=_("Serve the interface to a web browser (textual-serve). psxj prints "
                                          "one URL with a secret made for this run: it is the password. Keep it "
                                          "on 127.0.0.1 and reach it from elsewhere through `ssh -L`."))
    parser.add_argument("--host", default="127.0.0.1", help=_("address to listen on (default 127.0.0.1, this "
                                                              "machine only; anything else sends the secret "
                                                              "over the network unencrypted)"))
    parser.add_argument("--port", type=_port, default=8000, help=_("port (default 8000)"))
    parser.add_argument("--delay", default="2", help=_("refresh interval of the interface (default 2)"))
    parser.add_argument("--max-sessions", type=_sessions, default=DEFAULT_SESSIONS,
                        help=_("browser sessions at once, each an interface of its own (default {count})").format(
                            count=DEFAULT_SESSIONS))
    parser.add_argument("--allow-signals", action="store_true", help=_("let the browser send signals (off by "
                                                                       "default; needs the secret)"))
    parser.add_argument("--allow-demo", action="store_true", help=_("let the browser start the demo (off by "
                                                                    "default; needs the secret)"))
    parser.add_argument("--no-secret", action="store_true",
                        help=_("no secret in the URL: every user of this machine can open the interface and "
                               "see what psxj sees as you (127.0.0.1 only; read-only)"))
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
    """The shell command textual-serve runs for each browser: psxj's interface in an isolated Python.
    Everyone can read a command line (ps): it never carries the secret."""
    from psxj.spawn import module_command

    argv = ["--delay", args.delay, "--banner", banner, "--lang", current()]   # the browser's interface speaks ours
    argv += ["--allow-signals"] if args.allow_signals else []
    argv += ["--allow-demo"] if args.allow_demo else []
    return shlex.join(module_command("psxj.tui.served", *argv))


def url_host(host: str) -> str:
    """The host part of the printed URL: the address psxj listens on, never a name another user's server
    could answer for (`localhost` may go to ::1 first, where anyone may listen)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return socket.gethostname()
    return f"[{address}]" if address.version == 6 else str(address)


def own_names(host: str) -> List[str]:
    """The names the Host header may carry when psxj listens beyond loopback: this machine's own."""
    names = [socket.gethostname(), socket.getfqdn()]
    return names + ([host] if not loopback_only(host) else [])


def missing_extra() -> str:
    """Why serve cannot run, and the command that adds the extra to this psxj from where it came
    (`pip install 'psxj[serve]'` would ask the index, whatever this psxj was installed from)."""
    from psxj.commands.installed import extra_command, in_pipx, running_origin

    origin = running_origin()
    where = {
        "index": _("a package index"),
        "directory": _("the checkout {path} (editable)") if origin.editable else _("the checkout {path}"),
        "source": _("the source tree {path}, not installed"),
        "archive": _("the file {path}"),
    }.get(origin.kind, "{path}").format(path=origin.location)   # vcs: its URL says it
    return _("serve needs textual-serve (psxj's serve extra). This psxj came from {where}; add the extra "
             "with: {command}").format(where=where, command=extra_command("serve", origin, sys.executable,
                                                                           pipx=in_pipx()))


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        refresh_delay(args.delay)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(_("serve: --delay: {exc}").format(exc=exc)) from None
    loopback = loopback_only(args.host)
    if args.no_secret and (args.allow_signals or args.allow_demo):
        raise UsageError(_("serve: --allow-signals and --allow-demo need the secret: leave out --no-secret"))
    if args.no_secret and not loopback:
        raise UsageError(_("serve: --no-secret only on 127.0.0.1: elsewhere anyone on the network would get in"))
    try:
        from psxj.web.server import GuardedServer
    except ImportError:
        raise PsxjError(missing_extra()) from None
    from psxj.web.guard import Guard, new_secret

    secret = None if args.no_secret else new_secret()
    where = f"{args.host}:{args.port}"
    url = f"http://{url_host(args.host)}:{args.port}/" + (f"{secret}/" if secret else "")
    if args.no_secret:
        banner = _("served on {where} with NO secret: every local user can open it").format(where=where)
        print(_("psxj: WARNING: no secret: every user of this machine can open {url} and see what psxj sees "
                "as you").format(url=url), file=sys.stderr)
    elif loopback:
        banner = _("served on {where} (secret URL)").format(where=where)
    else:
        banner = _("served on {where} TO THE NETWORK (secret URL, unencrypted)").format(where=where)
        print(_("psxj: WARNING: serving on {where}: the secret URL crosses the network unencrypted (http), and "
                "whoever sees it gets psxj as this user. Bind to 127.0.0.1 and use `ssh -L "
                "8000:127.0.0.1:8000 THIS-HOST` instead.").format(where=where), file=sys.stderr)
    allowed = [what for what, on in ((_("signals"), args.allow_signals), (_("the demo"), args.allow_demo)) if on]
    announce = _("psxj: open {url} (its secret is the password: do not share it); {allowed}, at most {count} "
                 "sessions; Ctrl+C stops").format(
        url=url, allowed=_("{what} allowed").format(what=_(" and ").join(allowed)) if allowed
        else _("signals and the demo off"), count=args.max_sessions)
    server = GuardedServer(child_command(args, banner), Guard(secret, loopback, own_names(args.host)),
                           host=args.host, port=args.port, title=_("psxj on {where}").format(where=where),
                           max_sessions=args.max_sessions, announce=announce)
    try:
        server.serve()
    except OSError as exc:
        raise PsxjError(_("serve: cannot listen on {where}: {reason}").format(
                            where=where, reason=exc.strerror or exc)) from None
    return 0
