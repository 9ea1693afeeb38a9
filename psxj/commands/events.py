"""`psxj events [SELECTORS] [--follow PID] [--json]`: a live log of fork, exec, setsid and exit.

The command line for psxj.sources.events: one line per event with the time to the millisecond,
the event, the ps columns of the process then, and what happened in words. Where the kernel
gives no events (a container, an old kernel) it says so once on stderr and polls, marking each
polled event with `~`.

Exit status: 0 after --duration or at the end of input, 130 on Ctrl-C, 143 on SIGTERM, 1 when
--follow names no process, 2 for a usage error. A subcommand of the command line (psxj.commands).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import List, Optional

from psxj.commands.parsing import command_parser
from psxj.errors import PsxjError, UsageError
from psxj.i18n import N_, _
from psxj.select import add_selector_arguments, selection_from_arguments
from psxj.sources.events import GAP, KINDS

_KIND_WORDS = {kind.lower(): kind for kind in KINDS if kind != GAP}
_KIND_WORDS["setsid"] = "SID"
SUMMARY = N_("a live log of fork, exec, setsid and exit")


def build_parser(commands: Optional[argparse._SubParsersAction] = None) -> argparse.ArgumentParser:
    """This command's parser: alone, or a branch of the tree (psxj.commands.main.build_parser)."""
    parser = command_parser(
        commands, "events", _(SUMMARY),
        description=_("A live log of process events (fork, exec, setsid, exit...) with each process's ps columns "
                      "at that moment, from the kernel's proc connector; by polling where it gives none."),
        epilog=_("EVENT~ marks an event seen by polling (inexact: short-lived processes may be missed). Exit "
                 "status: 0 after --duration, 130 on Ctrl-C, 1 when --follow names no process, 2 usage error."),
    )
    add_selector_arguments(parser)
    parser.add_argument("--follow", metavar="PID", type=_pid,
                        help=_("only this process and its descendants, including those born later"))
    parser.add_argument("--json", action="store_true", help=_("one JSON object per line"))
    parser.add_argument("--event", metavar="LIST", type=_kinds, default=None,
                        help=_("only these events: fork,exec,uid,gid,sid,ptrace,comm,coredump,exit"))
    parser.add_argument("--duration", metavar="SECONDS", type=_duration, default=None,
                        help=_("stop after this many seconds (default: until Ctrl-C)"))
    parser.add_argument("--poll", action="store_true",
                        help=_("poll /proc instead of listening to the kernel (what psxj does where it must)"))
    return parser


def _pid(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 0x7FFFFFFF:
        raise argparse.ArgumentTypeError(_("not a process ID"))
    return int(text)


def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("not a number")) from None
    if not 0 < value <= 7 * 86400:
        raise argparse.ArgumentTypeError(_("must be between 0 and a week"))
    return value


def _kinds(text: str) -> frozenset:
    kinds = set()
    for word in text.replace(",", " ").split():
        kind = _KIND_WORDS.get(word.lower())
        if kind is None:
            raise argparse.ArgumentTypeError(_("no event kind {word!r}").format(word=word[:20]))
        kinds.add(kind)
    if not kinds:
        raise argparse.ArgumentTypeError(_("name at least one event kind"))
    return frozenset(kinds)


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated()


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    selection = selection_from_arguments(args)
    if any(selector.flag == "--kind" for selector in selection.selectors):
        # A process's kind is judged over a whole table; an event carries one row.
        raise UsageError(_("events: --kind selects processes in a table; for kinds of event use --event fork,exit"))
    if not os.path.exists("/proc/self/stat"):
        raise PsxjError(_("events: needs Linux /proc"))
    from psxj.escape import Escaper, safe_text
    from psxj.render.eventtext import EventLines, json_line
    from psxj.sources.event_stream import EventStream
    from psxj.sources.proc import pid_digits

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    stream: Optional[EventStream] = None
    try:
        stream = EventStream(follow=args.follow, selection=selection, poll=args.poll, kinds=args.event,
                             escaper=Escaper.for_environment())
        if stream.notice:
            print(f"psxj: {safe_text(stream.notice)}", file=sys.stderr, flush=True)
        out = sys.stdout.buffer
        lines = EventLines(pid_digits())
        if not args.json:
            out.write((lines.header() + "\n").encode())
            out.flush()
        render = json_line if args.json else lines.line
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return 0
            events = stream.read(left)
            if events:
                out.write("".join(render(e) + "\n" for e in events).encode("utf-8", "surrogateescape"))
                out.flush()
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
        if stream is not None:
            stream.close()

