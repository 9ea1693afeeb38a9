"""The one exception type the command line turns into a one-line message and an exit status,
and the argument parser every command uses, whose errors are that exception."""

from __future__ import annotations

import argparse


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
    instead of argparse's usage block: `audit: argument --profile: invalid choice ... (see psxj audit --help)`."""

    def error(self, message: str):
        command = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        raise UsageError(f"{command}{message} (see {self.prog} --help)")
