"""The one exception type the command line turns into a one-line message and an exit status, and the
check of a number of seconds given on a command line (psxj's and its helpers').

Foundation: every layer may raise these; this module imports nothing of psxj but psxj.i18n. The parser that
turns a usage error into one line is the command line's (psxj.commands.parsing).
"""

from __future__ import annotations

import argparse
import math

from psxj.i18n import _


def finite_seconds(text: str, highest: float, lowest: float = 0.0, quote: bool = False) -> float:
    """A number of seconds from the command line: finite and within [lowest, highest] (nan would
    never compare, inf would never end, 1e400 is inf). quote: name the text that is not a number."""
    try:
        value = float(text)
    except ValueError:
        message = _("not a number: {text!r}").format(text=text) if quote else _("not a number")
        raise argparse.ArgumentTypeError(message) from None
    if not math.isfinite(value) or not lowest <= value <= highest:
        raise argparse.ArgumentTypeError(_("must be between {lowest:g} and {highest:g} seconds").format(
                                             lowest=lowest,
                                             highest=highest))
    return value


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
