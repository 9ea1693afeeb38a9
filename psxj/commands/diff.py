"""`psxj diff A B`: what appeared, vanished and changed between two tables.

    psxj diff A B [--json] [--time] [SELECTORS]

A and B are any tables --load reads (ps text, psxj JSON or CSV, a recording's latest
table), or a recording at a moment: `DIR@03:00`, `DIR@2024-05-01T03:00Z`, `DIR@-10m`.
A subcommand of the command line (psxj.commands); the comparison itself is psxj.render.diff.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Tuple

from psxj.commands.parsing import command_parser
from psxj.errors import PsxjError, UsageError
from psxj.escape import Escaper, safe_text
from psxj.i18n import N_, _
from psxj.model import Snapshot
from psxj.select import add_selector_arguments, selection_from_arguments

SUMMARY = N_("compare two tables: what appeared, vanished and changed")


def build_parser(commands: Optional[argparse._SubParsersAction] = None) -> argparse.ArgumentParser:
    """This command's parser: alone, or a branch of the tree (psxj.commands.main.build_parser)."""
    parser = command_parser(commands, "diff", _(SUMMARY), description=_("Compare two process tables: what appeared, "
                                                                        "what vanished, and which columns changed "
                                                                        "(SID 1435 -> 9119). A table is a file "
                                                                        "--load reads, or a recording at a time: "
                                                                        "DIR@03:00, DIR@2024-05-01T03:00Z, DIR@-10m "
                                                                        "(before its last table)."))
    parser.add_argument("before", metavar="A", help=_("the table before: a file, or a recording at a time"))
    parser.add_argument("after", metavar="B", help=_("the table after, the same way"))
    parser.add_argument("--json", action="store_true", help=_("print the differences as JSON"))
    parser.add_argument("--time", action="store_true", help=_("also compare TIME (CPU time)"))
    add_selector_arguments(parser)
    return parser


def table(spec: str, escaper: Escaper) -> Tuple[Snapshot, str]:
    """The table a diff argument names, and the name to show for it."""
    from psxj.sources.loaded import load_snapshot

    if spec == "":
        raise UsageError(_("diff: empty table name"))
    if spec == "-" or os.path.exists(spec) or "@" not in spec:
        return load_snapshot(spec, escaper), spec
    path, when = spec.rsplit("@", 1)
    return load_snapshot(path, escaper, at=when), spec


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.before == "-" and args.after == "-":
        raise UsageError(_("diff: only one table can come from standard input"))
    selection = selection_from_arguments(args, strict_names=False)
    escaper = Escaper.for_environment()
    before, before_name = table(args.before, escaper)
    after, after_name = table(args.after, escaper)
    from psxj.commands.table import say_notes

    say_notes(before)
    say_notes(after)
    from psxj.render.diff import COMPARED, diff_tables, render_json, render_text

    columns = COMPARED + (("TIME",) if args.time else ())
    result = diff_tables(selection.apply(before.records), selection.apply(after.records), columns)
    names = (safe_text(before_name), safe_text(after_name))
    out = render_json(result, *names) if args.json else render_text(result, *names)
    sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()
    return 0


__all__ = ["main", "table", "PsxjError"]
