"""psxj's command line as data, read from its one argparse tree (psxj.commands.main.build_parser) and from
the interface's key bindings: what tools/manpage.py and tools/completions.py write from, so that the man
page and the shell completions say what the parsers parse and never drift from them.

Used by tools/cli_files.py, which writes the files, and by tests/test_cli_files.py, which checks that the
shipped ones are what a fresh generation writes.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import os
import sys
from typing import Iterator, List, NamedTuple, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)   # this checkout's psxj, whichever is installed

# What completes an option's value, by its metavar: (what, a comma-separated list?). The values psxj takes
# as lists (ps's selectors, --kind, --event, --host) complete their last item.
VALUES_BY_METAVAR = {
    "PIDLIST": ("pids", True), "PID": ("pids", False), "SIDLIST": ("sessions", True),
    "USERLIST": ("users", True), "GROUPLIST": ("groups", True), "TTYLIST": ("ttys", True),
    "CMDLIST": ("commands", True), "KINDLIST": ("kinds", True), "FILE": ("files", False), "DIR": ("dirs", False),
    "HOST[,HOST...]": ("hosts", True), "HOST": ("hosts", False),
}
# Where the metavar does not say it: (command, dest) -> what completes the value.
VALUES_BY_DEST = {
    ("demo", "rundir"): ("dirs", False), ("diff", "before"): ("files", False), ("diff", "after"): ("files", False),
    ("events", "event"): ("events", True), ("why", "target"): ("targets", False),
}
# "targets": what psxj why takes: a PID, a command name, :PORT (tcp:PORT, udp:PORT) of a listening socket,
# or a path (a word with a /).
KINDS_OF_VALUES = ("", "pids", "sessions", "users", "groups", "ttys", "commands", "kinds", "events", "files", "dirs",
                   "hosts", "targets", "words")


class Option(NamedTuple):
    flags: Tuple[str, ...]       # ("-p", "--pid")
    metavar: str                 # "" for a flag that takes no value
    help: str
    values: str                  # what completes the value (KINDS_OF_VALUES); "words": `words`
    words: Tuple[str, ...]       # the words a value may be (choices, kinds, events)
    listed: bool                 # a comma-separated list
    repeatable: bool             # may be given again (ps's selectors)
    exclusive: Tuple[str, ...]   # the options it may not be given with
    group: str                   # its heading in --help
    ends: bool = False           # --help, --version: nothing follows


class Positional(NamedTuple):
    metavar: str
    help: str
    values: str
    words: Tuple[str, ...]
    many: bool                   # nargs * or +


class Command(NamedTuple):
    name: str                    # "" for psxj itself (the table)
    summary: str                 # its line in the list of subcommands
    usage: str                   # argparse's usage, on one line, without "usage: "
    description: str
    epilog: str
    raw_epilog: bool             # laid out by hand (RawDescriptionHelpFormatter): keep its lines
    options: Tuple[Option, ...]
    positionals: Tuple[Positional, ...]

    @property
    def prog(self) -> str:
        return f"psxj {self.name}" if self.name else "psxj"


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """psxj's messages in `language` inside, and the language it spoke before after."""
    from psxj.i18n import current, install

    before = current()
    install(language)
    try:
        yield
    finally:
        install(before)


def commands(language: str = "en") -> List[Command]:
    """psxj's commands in `language`: the table first, then every subcommand of the tree, in its order."""
    from psxj.commands.main import build_parser

    with speaking(language):
        tree = build_parser()
        [branch] = [a for a in tree._actions if isinstance(a, argparse._SubParsersAction)]
        summaries = {action.dest: action.help for action in branch._choices_actions}
        result = [_command("", "", tree)]
        for name, parser in branch.choices.items():
            result.append(_command(name, summaries.get(name, ""), parser))
    return result


def _command(name: str, summary: str, parser: argparse.ArgumentParser) -> Command:
    formatter = parser._get_formatter()
    exclusive = {}
    for group in parser._mutually_exclusive_groups:
        flags = [flag for action in group._group_actions for flag in action.option_strings]
        for action in group._group_actions:
            exclusive[id(action)] = tuple(flag for flag in flags if flag not in action.option_strings)
    heading = {id(action): group.title for group in parser._action_groups for action in group._group_actions}
    options, positionals = [], []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        text = normalised(formatter._expand_help(action) if action.help else "")
        values, listed = VALUES_BY_DEST.get((name, action.dest)) or VALUES_BY_METAVAR.get(action.metavar or "",
                                                                                          ("", False))
        words: Tuple[str, ...] = ()
        if action.choices:
            values, words = "words", tuple(action.choices)
        elif values == "kinds":
            words = kind_names()
        elif values == "events":
            words = event_names()
        takes_value = action.nargs != 0
        metavar = (action.metavar or (f"{{{','.join(action.choices)}}}" if action.choices else action.dest.upper())
                   if takes_value else "")
        if not action.option_strings:
            positionals.append(Positional(metavar, text, values, words, action.nargs in ("*", "+")))
            continue
        options.append(Option(tuple(action.option_strings), metavar, text, values, words, listed,
                              isinstance(action, argparse._AppendAction), exclusive.get(id(action), ()),
                              heading.get(id(action), "") or "",
                              isinstance(action, (argparse._HelpAction, argparse._VersionAction))))
    usage = _one_line_usage(parser)
    epilog = normalised(parser.epilog or "")
    raw = issubclass(parser.formatter_class, argparse.RawDescriptionHelpFormatter)
    return Command(name, normalised(summary or ""), usage, normalised(parser.description or ""), epilog, raw,
                   tuple(options), tuple(positionals))


def _one_line_usage(parser: argparse.ArgumentParser) -> str:
    """argparse's usage on one line; the root's without `COMMAND ...` (each subcommand has its own)."""
    formatter = parser.formatter_class(prog=parser.prog, width=100_000)
    actions = [action for action in parser._actions if not isinstance(action, argparse._SubParsersAction)]
    formatter.add_usage(parser.usage, actions, parser._mutually_exclusive_groups, prefix="")
    return " ".join(formatter.format_help().split())


def normalised(text: str) -> str:
    """Help as every machine writes it: the demo's default run directory names this user's
    (/tmp/psxj-0 for root); the shipped files say whose it is."""
    from psxj.demo.control import default_rundir

    return text.replace(default_rundir(), "$XDG_RUNTIME_DIR/psxj or /tmp/psxj-UID")


def kind_names() -> Tuple[str, ...]:
    from psxj.judge.kinds import KINDS

    return (*KINDS, "daemon-like")


def event_names() -> Tuple[str, ...]:
    from psxj.commands import events

    return tuple(sorted(events._KIND_WORDS))


class Key(NamedTuple):
    keys: str            # "F9, x"
    action: str          # what it does, the binding's own description


def interface_keys(language: str = "en") -> List[Key]:
    """The interface's keys, as its help lists them (psxj.tui.keys.help_lines), every one offered: the main
    screen's, its features' (in the order the screen nests them), the app's and the table's."""
    from psxj.tui import main_screen
    from psxj.tui.app import PsxjApp
    from psxj.tui.keys import help_lines
    from psxj.tui.table import ProcessTable

    owners = [main_screen.MainScreen, *_features_of(main_screen)]
    ranked = []
    order = main_screen.KEY_ORDER
    for owner in owners:   # as MainScreen.key_bindings ranks them
        rank = float(len(order))
        for binding in owner.BINDINGS:
            rank = float(order.index(binding.action)) if binding.action in order else rank
            ranked.append((rank, binding))
    bindings = [binding for _rank, binding in sorted(ranked, key=lambda item: item[0])]
    with speaking(language):
        lines = help_lines([*bindings, *PsxjApp.BINDINGS, *ProcessTable.BINDINGS], lambda action: True)
    seen, keys = set(), []
    for typed, what in lines:
        if (typed, what) not in seen:
            seen.add((typed, what))
            keys.append(Key(typed, what))
    return keys


def _features_of(main_screen) -> List[type]:
    """The features MainScreen.compose nests (`with Refresh(), Views(), ...:`), outermost first, read from
    its source: the screen makes them when it is composed, and no list of them exists before."""
    from psxj.tui.feature import Feature

    tree = ast.parse(inspect.getsource(main_screen.MainScreen.compose).strip())
    features: List[type] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                    found: Optional[type] = getattr(main_screen, call.func.id, None)
                    if isinstance(found, type) and issubclass(found, Feature) and found not in features:
                        features.append(found)
    return features
