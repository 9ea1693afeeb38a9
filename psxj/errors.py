"""The one exception type the command line turns into a one-line message and an exit status,
and the argument parser every command uses, whose errors are that exception."""

from __future__ import annotations

import argparse

from psxj.i18n import LANGUAGES, OPTION, _


class PsxjError(Exception):
    """A problem the user can fix: bad input, a missing process, an unreadable file.

    `status` follows the command line's contract: 1 for bad data or a failed check,
    2 for a usage error (an unknown flag, a malformed value).
    """

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class UsageError(PsxjError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=2)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (a UsageError, printed escaped by the command line)
    instead of argparse's usage block: `audit: argument --profile: invalid choice ... (see psxj audit --help)`.
    Every command takes --lang (psxj.cli reads it before any parser is built: see psxj.i18n)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["formatter_class"] = cell_wrapping(kwargs.get("formatter_class", argparse.HelpFormatter))
        super().__init__(*args, **kwargs)
        add_language_argument(self)

    def error(self, message: str):
        command = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        raise UsageError(_("{command}{message} (see {prog} --help)").format(command=command, message=message,
                                                                            prog=self.prog))


def add_language_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(OPTION, choices=sorted(LANGUAGES), metavar="|".join(sorted(LANGUAGES)),
                        help=_("the language of messages and of the interface: en (English) or zh (简体中文); "
                               "default: the locale's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)"))


def cell_wrapping(formatter: type) -> type:
    """argparse's help formatter, wrapping by terminal cells: Chinese help has no spaces to break at and
    each character takes two cells. English is wrapped exactly as argparse wraps it (textwrap)."""
    from psxj.render.cells import wrap

    class CellWrapping(formatter):
        def _split_lines(self, text: str, width: int):
            text = self._whitespace_matcher.sub(" ", text).strip()
            return wrap(text, width) if text else []

        if not issubclass(formatter, argparse.RawDescriptionHelpFormatter):
            def _fill_text(self, text: str, width: int, indent: str) -> str:
                text = self._whitespace_matcher.sub(" ", text).strip()
                return "\n".join(wrap(text, width, indent)) if text else ""

    return CellWrapping
