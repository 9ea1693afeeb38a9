"""The default command, `psxj [SELECTORS]`: arguments become a source, a selection and a view.

    psxj [SELECTORS] [--print | --json | --csv] [--load FILE [--at TIME]] [--delay SECONDS]
    psxj --host HOST[,HOST...] [--hosts-file FILE] [--host-timeout S] [--ssh-config FILE] [SELECTORS] [...]
    psxj serve [--host 127.0.0.1] [--port 8000] [--max-sessions N] [--allow-signals] [--allow-demo] [--no-secret]
    psxj record DIR [--interval S] [--max-size SIZE] [SELECTORS]
    psxj diff A B [--json]
    psxj audit PID ... | --all
    psxj events [SELECTORS] [--follow PID] [--json]
    psxj demo start|stop|restart|status|log|init-script|unit|jobs|quiz

On a terminal psxj starts the interface; into a pipe, or with --print, it prints the
table as `ps -axj` does. Errors are one line on stderr: status 2 for usage errors,
1 for everything else that went wrong, as for a selector that matched nothing.

Part of the command line (psxj.commands): its parser is the root of the whole tree
(psxj.commands.main.build_parser), the subcommands' parsers hang below it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import List, Union

from psxj import __version__
from psxj.commands.fleet import add_fleet_arguments, hosts_of
from psxj.commands.parsing import OneLineParser, refresh_delay
from psxj.errors import UsageError
from psxj.i18n import _, untranslated
from psxj.select import add_selector_arguments, selection_from_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="psxj",
        description=_("Explore processes the way `ps -axj` shows them: parent, process group, "
                      "session, controlling terminal, foreground group, state."),
        epilog=_("Subcommands: `psxj record DIR` records the table over time; `psxj diff A B` compares "
                 "two tables; `psxj audit PID...` checks processes against the daemon rules; `psxj events` logs "
                 "fork, exec, setsid and exit as they happen; `psxj why TARGET` tells why a process, a port's "
                 "listener or a file's holder runs; `psxj demo start|stop|...|jobs|quiz` runs the "
                 "teaching daemon and its lab; `psxj serve` runs the interface in a web browser. "
                 "Exit status: 0 ok, 1 nothing matched or bad data, 2 usage error."),
    )
    add_selector_arguments(parser)
    view = parser.add_argument_group(_("output")).add_mutually_exclusive_group()
    view.add_argument("--print", action="store_true",
                      help=_("print the table as ps -axj does (the default when stdout is not a terminal)"))
    view.add_argument("--json", action="store_true", help=_("print the rows as a JSON array"))
    view.add_argument("--csv", action="store_true", help=_("print the rows as CSV"))
    parser.add_argument("--load", metavar="FILE",
                        help=_("read a saved table (ps text, psxj JSON or CSV, a recording; - for stdin), not /proc"))
    parser.add_argument("--at", metavar="TIME",
                        help=_("with --load of a recording: the table as it was at TIME (2024-05-01T03:00[Z], "
                               "HH:MM[:SS] today, or -10m before the last table)"))
    parser.add_argument("--delay", metavar="SECONDS", type=refresh_delay, default=2.0,
                        help=_("refresh interval of the interface (default 2)"))
    parser.add_argument("--no-events", action="store_true",
                        help=_("in the interface, do not listen to fork/exec/setsid/exit events"))
    parser.add_argument("--keep-demo", action="store_true",
                        help=_("leave a demo started in the interface running when psxj quits"))
    parser.add_argument("--version", action="version", version=f"psxj {__version__}",
                        help=_("show psxj's version and exit"))
    add_fleet_arguments(parser)
    return parser


def _write(text: Union[str, bytes]) -> None:
    sys.stdout.buffer.write(text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()


def say_notes(snapshot) -> None:
    """What reading a file skipped (a quoted table's `...` lines), a line each on stderr."""
    from psxj.escape import safe_text

    for note in snapshot.notes:
        print(_("psxj: note: {note}").format(note=safe_text(note)), file=sys.stderr)


def run_table(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.load == "":
        raise UsageError(_("--load: empty file name"))
    hosts = hosts_of(args)
    # Other machines' users need not exist here: a name unknown here selects by name there.
    selection = selection_from_arguments(args, strict_names=args.load is None and not hosts)
    if args.at is not None and args.load is None:
        raise UsageError(_("--at needs --load of a recording"))
    want_text = args.print or not (args.json or args.csv) and not sys.stdout.isatty()
    if not (want_text or args.json or args.csv):
        if args.at is not None:
            raise UsageError(_("--at works with --print, --json or --csv; the interface opens a recording "
                               "at its latest table"))
        if hosts:
            from psxj.commands.fleet import fleet_reader
            from psxj.tui.app import LOCAL_ONLY
            from psxj.tui.run import run_app

            return run_app(selection=selection, delay=args.delay, reader=fleet_reader(args, hosts),
                           refused_actions=LOCAL_ONLY, events=False)  # this machine's events: not theirs
        from psxj.tui.launch import start_interface

        return start_interface(selection, args.load, args.delay, args.keep_demo, events=not args.no_events)

    from psxj.escape import Escaper

    escaper = Escaper.for_environment()
    failed_hosts = False
    if hosts:
        from psxj.commands.fleet import fleet_reader, report_failures

        reader = fleet_reader(args, hosts, patience=None)
        try:
            snapshot = reader.read()
        finally:
            reader.close()
        failed_hosts = report_failures(snapshot)
    elif args.load is None and os.path.exists("/proc/self/stat"):
        from psxj.commands import live_output  # every core reads, selects and formats

        if args.json or args.csv:
            with untranslated():  # machine output: kinds judged for --kind are the ones printed, in English
                text, count = live_output.exported(selection, escaper, as_json=args.json)
        else:
            from psxj.render.psformat import screen_columns

            text, count = live_output.ps_text(selection, escaper, screen_columns())
        _write(text)
        return 1 if selection and not count else 0
    elif args.load is not None:
        from psxj.sources.loaded import load_snapshot

        snapshot = load_snapshot(args.load, escaper, at=args.at)
        say_notes(snapshot)
    else:
        from psxj.sources import live_snapshot

        snapshot = live_snapshot(escaper=escaper)
    # Machine output is English in every language: kinds judged for --kind are the ones --json prints.
    with untranslated() if args.json or args.csv else contextlib.nullcontext():
        records = selection.apply(snapshot.records, snapshot)
    if args.load is not None and selection:
        from psxj.escape import safe_text
        from psxj.select import unanswerable

        for note in unanswerable(selection, snapshot.records):
            print(_("psxj: note: {note}").format(note=safe_text(note)), file=sys.stderr)
    if args.json or args.csv:
        from psxj.render.export import to_csv, to_json

        _write(to_json(snapshot, records) if args.json else to_csv(snapshot, records))
    else:
        from psxj.render.psformat import render_lines, screen_columns

        many_hosts = len(getattr(snapshot, "hosts", ())) > 1
        lines = render_lines(snapshot, records, screen_columns(), escaper, with_host=many_hosts)
        _write("\n".join(lines) + "\n")
    return 1 if selection and not records or failed_hosts else 0
