"""`psxj record DIR`: the live table every few seconds, into a recording (psxj.sources.recording).

    psxj record DIR [--interval S] [--max-size SIZE] [--count N] [SELECTORS]

Runs until interrupted (Ctrl-C, SIGTERM, SIGHUP), or for --count tables. Selectors
restrict what is recorded, as they restrict the table. A subcommand of the command line
(psxj.commands); the recording's format is psxj.sources.recording's.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Callable, List, Optional

from psxj.commands.parsing import command_parser
from psxj.errors import PsxjError, finite_seconds
from psxj.escape import safe_text
from psxj.i18n import N_, _, ngettext
from psxj.select import Selection, add_selector_arguments, selection_from_arguments
from psxj.sources.recording import RecordWriter, parse_size

SUMMARY = N_("record the table over time, into a directory")


def build_parser(commands: Optional[argparse._SubParsersAction] = None) -> argparse.ArgumentParser:
    """This command's parser: alone, or a branch of the tree (psxj.commands.main.build_parser)."""
    parser = command_parser(commands, "record", _(SUMMARY),
                            description=_("Record the process table over time: keyframes plus changes, "
                                          "append-only, readable after a crash. Read it back with psxj --load "
                                          "DIR [--at TIME] or psxj diff DIR@TIME DIR@TIME."))
    parser.add_argument("path", metavar="DIR", help=_("the recording: a directory psxj makes (mode 0700)"))
    parser.add_argument("--interval", metavar="S", type=lambda text: finite_seconds(text, 86400, 0.1), default=2.0,
                        help=_("seconds between tables (default 2)"))
    parser.add_argument("--max-size", metavar="SIZE", type=_size, default=None,
                        help=_("bound the recording (e.g. 300M, 2G): the oldest data is deleted first"))
    parser.add_argument("--count", metavar="N", type=_count, default=None,
                        help=_("stop after N tables (default: until interrupted)"))
    add_selector_arguments(parser)
    return parser


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except PsxjError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 0 < len(text) < 10 and int(text) > 0):
        raise argparse.ArgumentTypeError(_("must be a positive whole number"))
    return int(text)


def record(writer: RecordWriter, read: Callable, selection: Selection, interval: float,
           count: Optional[int] = None, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep, stopped: Callable[[], bool] = lambda: False,
           tally: Optional[List[int]] = None) -> int:
    """The loop: read, select, write, wait for the next tick. Ticks are kept on a fixed
    grid, so a slow table delays the next one without drifting the rest. Returns the
    number of tables written; `tally`, a one-item list, holds it as it grows (a signal may end the loop)."""
    written = 0
    next_tick = clock()
    while not stopped() and (count is None or written < count):
        snapshot = read()
        if selection:
            from psxj.model import Snapshot

            snapshot = Snapshot(selection.apply(snapshot.records), source=snapshot.source,
                                taken_at=snapshot.taken_at, pid_width=snapshot.pid_width, system=snapshot.system)
        writer.write(snapshot)
        written += 1
        if tally is not None:
            tally[0] = written
        next_tick += interval
        now = clock()
        if next_tick < now:  # we fell behind (a suspended machine): start the grid again
            next_tick = now
        if count is not None and written >= count:
            break
        if not stopped():
            sleep(next_tick - now)
    return written


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    selection = selection_from_arguments(args)
    from psxj.sources.incremental import IncrementalReader

    writer = RecordWriter(args.path, max_size=args.max_size,
                          info={"interval": args.interval, "selection": selection.describe()})
    reader = IncrementalReader()
    stop = {"now": False}
    tally = [0]
    # Said to a person watching (stderr a terminal); a recorder in a pipe, under cron or systemd stays quiet.
    chatty = sys.stderr.isatty()
    if chatty:
        print(starting(args, selection), file=sys.stderr)

    def request_stop(signum, frame):
        stop["now"] = True
        raise _Interrupted()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        record(writer, reader.read, selection, args.interval, args.count,
               sleep=_interruptible_sleep, stopped=lambda: stop["now"], tally=tally)
    except _Interrupted:
        pass  # the entry being written when the signal came is complete or torn: both read back
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        writer.close()
        reader.close()
    if chatty:
        print(ngettext("psxj: {count} table written to {path}", "psxj: {count} tables written to {path}",
                       tally[0]).format(count=tally[0], path=safe_text(args.path)), file=sys.stderr)
    return 0


def starting(args: argparse.Namespace, selection: Selection) -> str:
    """What the recorder is about to do, in a line: where, how often, what, until when."""
    details = []
    if selection:
        details.append(_("only what {selection} selects").format(selection=safe_text(selection.describe())))
    if args.max_size is not None:
        details.append(_("at most {size}, the oldest deleted first").format(size=_size_text(args.max_size)))
    details.append(ngettext("{count} table", "{count} tables", args.count).format(count=args.count)
                   if args.count is not None else _("until Ctrl-C"))
    return _("psxj: recording the table every {interval:g} s into {path} ({details})").format(
        interval=args.interval, path=safe_text(args.path), details="; ".join(details))


def _size_text(size: int) -> str:
    for unit, factor in (("G", 1024 ** 3), ("M", 1024 ** 2), ("K", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return _("{count} bytes").format(count=size)


class _Interrupted(Exception):
    pass


def _interruptible_sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)
