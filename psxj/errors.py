"""The one exception type the command line turns into a one-line message and an exit status."""


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
