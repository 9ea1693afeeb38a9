"""The command line's entry point (`psxj`, `python -m psxj`) and its one argparse tree.

Top of the pipeline, with psxj.tui and psxj.web: every other part of psxj is below and never imports
this package. One module per subcommand, each with its parser (build_parser) and its work (main):

    psxj [SELECTORS] [--print | --json | --csv | --load FILE | --host HOST ...]   psxj.commands.table
    psxj record | diff | audit | events | why | demo | serve ...                  psxj.commands.<name>

build_parser() returns the whole tree, every subcommand's parser a branch of the table's, help texts
included: what a man page and the shell completions are made from. To run a command, main() reads the
first word itself, as psxj always has: a subcommand is named first (`psxj audit 1`), and any other
word goes to the table's parser, where ps's selectors are parsed (`psxj -p 1 audit` is the table's
unrecognised argument, never the audit). Only the parser of the command run is built: `psxj --print`
imports nothing the subcommands need, and no part of the interface.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

from psxj.errors import PsxjError, UsageError
from psxj.i18n import _, install, language_from_argv

# The subcommands, each a module of psxj.commands (its SUMMARY is its line in the tree's list).
SUBCOMMANDS = ("record", "diff", "audit", "events", "why", "demo", "serve")


def build_parser() -> argparse.ArgumentParser:
    """psxj's whole command line: the table's parser, with every subcommand's parser below it."""
    from psxj.commands import table
    from psxj.commands.parsing import new_parser

    root = table.build_parser()
    commands = root.add_subparsers(title=_("subcommands"), dest="command", metavar="COMMAND", parser_class=new_parser)
    for name in SUBCOMMANDS:
        subcommand(name).build_parser(commands)
    return root


def subcommand(name: str):
    """The module of a subcommand (psxj.commands.<name>)."""
    return importlib.import_module(f"psxj.commands.{name}")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        # The language first: every parser's help and every message after this speaks it.
        language, problem, argv = language_from_argv(argv)
        install(None if problem else language)
        if problem:
            raise UsageError(_("--lang: expected en (English) or zh (简体中文), not {value}").format(
                value=repr(language)[:40]) if language is not None else _("--lang: expected en or zh"))
        if argv[:1] and argv[0] in SUBCOMMANDS:
            return subcommand(argv[0]).main(argv[1:])
        from psxj.commands.table import run_table

        return run_table(argv)
    except PsxjError as exc:
        from psxj.escape import safe_text

        # Messages quote arguments, file names and file contents: escaped, and one line always.
        print(f"psxj: {safe_text(str(exc))}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (psxj | head): stop quietly, as ps does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
