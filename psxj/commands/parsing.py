"""The argument parser every subcommand uses: a usage error is one line, help is wrapped by terminal cells.

Part of the command line (psxj.commands). Each subcommand's module makes its parser with
command_parser(): alone, to parse that subcommand's words, or as a branch of the whole tree that
psxj.commands.main.build_parser() assembles (what a man page or a shell completion is made from).
"""

from __future__ import annotations

import argparse
from typing import Optional

from psxj.errors import UsageError, finite_seconds
from psxj.i18n import N_, _, add_language_argument, ngettext

# argparse's own words (its help's headings, its usage errors) come from the gettext functions it
# imported; pointed at psxj's, they are in the language psxj speaks, and a Chinese usage error is Chinese
# throughout. psxj's catalogue has them, as the Pythons psxj supports (3.9 to 3.13) write them; a
# message argparse gains in a later Python stays English until it is added here. English is unchanged:
# psxj's _() returns a message it has no translation for as it is.
argparse._ = _
argparse.ngettext = ngettext
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("optional arguments"), N_("%(heading)s:"),
    N_("show this help message and exit"), N_("show program's version number and exit"),
    N_("argument %(argument_name)s: %(message)s"), N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"),
    N_("the following arguments are required: %s"), N_("one of the arguments %s is required"),
    N_("expected one argument"), N_("expected at most one argument"), N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"), N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (a UsageError, printed escaped by the command line)
    instead of argparse's usage block: `audit: argument --profile: invalid choice ... (see psxj audit --help)`.
    Every command takes --lang (psxj.commands.main reads it before any parser is built: see psxj.i18n)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["formatter_class"] = cell_wrapping(kwargs.get("formatter_class", argparse.HelpFormatter))
        super().__init__(*args, **kwargs)
        self.add_language_option()

    def add_language_option(self) -> None:
        add_language_argument(self)

    def error(self, message: str):
        command = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        raise UsageError(_("{command}{message} (see {prog} --help)").format(command=command, message=message,
                                                                            prog=self.prog))


def new_parser(parser_class: type = OneLineParser, **kwargs) -> argparse.ArgumentParser:
    """The tree's parser_class: a subcommand may name a parser class of its own (`psxj serve` does)."""
    return parser_class(**kwargs)


def command_parser(commands: Optional[argparse._SubParsersAction], name: str, summary: str,
                   **kwargs) -> argparse.ArgumentParser:
    """The parser of subcommand `name`: a branch of the tree when `commands` (the tree's subcommands)
    is given, else on its own. `summary` is its line in the tree's list of subcommands."""
    kwargs.setdefault("prog", f"psxj {name}")
    if commands is None:
        return new_parser(**kwargs)
    return commands.add_parser(name, help=summary, **kwargs)


def refresh_delay(text: str) -> float:
    """--delay: the interface's refresh interval, 0.1 s to an hour."""
    return finite_seconds(text, 3600, 0.1, quote=True)


def cell_wrapping(formatter: type) -> type:
    """argparse's help formatter, wrapping by terminal cells: Chinese help has no spaces to break at and
    each character takes two cells. English is wrapped exactly as argparse wraps it (textwrap).

    argparse makes a formatter for each argument it is given (to check its metavar), help or not:
    what only help needs (psxj.cells, with textwrap; the terminal's width, with shutil) is
    brought in when help or usage is written, not at every start of psxj."""

    class CellWrapping(formatter):
        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: Optional[int] = None, **more) -> None:
            super().__init__(prog, indent_increment, max_help_position, width=width or _NOT_ASKED_YET, **more)
            self._asked_width, self._asked_help_position = width, max_help_position

        def format_help(self) -> str:
            if self._asked_width is None:  # as argparse sizes itself: the terminal's columns less 2
                import shutil

                width = self._asked_width = shutil.get_terminal_size().columns - 2
                self._width = width
                self._max_help_position = min(self._asked_help_position, max(width - 20, self._indent_increment * 2))
            return super().format_help()

        def _format_usage(self, usage, actions, groups, prefix):
            from psxj.cells import cells

            # argparse indents the usage's next lines by len("usage: "): in characters, which is short
            # of the cells "用法：" takes. Wrap that much narrower, and indent that much further.
            label = _("usage: ") if prefix is None else prefix
            extra = cells(label) - len(label)
            self._width -= extra
            try:
                text = super()._format_usage(usage, actions, groups, prefix)
            finally:
                self._width += extra
            lines = text.split("\n")
            return "\n".join(lines[:1] + [" " * extra + line if line.startswith(" ") else line
                                           for line in lines[1:]])

        def _split_lines(self, text: str, width: int):
            from psxj.cells import wrap

            text = self._whitespace_matcher.sub(" ", text).strip()
            return wrap(text, width) if text else []

        if not issubclass(formatter, argparse.RawDescriptionHelpFormatter):
            def _fill_text(self, text: str, width: int, indent: str) -> str:
                from psxj.cells import wrap

                text = self._whitespace_matcher.sub(" ", text).strip()
                return "\n".join(wrap(text, width, indent)) if text else ""

    return CellWrapping


_NOT_ASKED_YET = 1 << 16   # a formatter's width until it writes help (CellWrapping.format_help)
