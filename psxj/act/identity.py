"""Is this still the process I mean? Proof of a process's identity before psxj signals it.

A PID alone names whichever process has it now: between the moment a row was read and the moment
a key is pressed, the process may have exited and its PID gone to another. psxj therefore names
a process by (PID, start time) and proves it before any signal:

1. open a pidfd on the PID (Linux 5.3+): from then on the descriptor refers to one process only;
2. read that PID's start time from /proc and compare it with the one psxj recorded: equal means
   the pidfd was opened on the process psxj meant (a reused PID starts later);
3. run any further checks the caller asks for (its executable, arguments, user, descriptors);
4. send the signal through the pidfd, which can never reach a newcomer.

Where pidfds are missing, psutil compares the creation time just before signalling: a narrow
race remains there, and the message says the check was weaker.
Part of the acts (psxj.act): above the sources, whose /proc readers it uses; the demo, the lab and the
interface prove a process here before they signal it.
"""

from __future__ import annotations

import os
import signal
from typing import Callable, List, Optional

from psxj.i18n import _

_HAS_PIDFD = hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


class NotThatProcess(Exception):
    """The PID does not (or no longer) belong to the process meant; the message says why."""


def start_ticks(pid: int) -> Optional[int]:
    """The process's start time in clock ticks after boot (field 22 of /proc/PID/stat), or None."""
    from psxj.sources.proc import parse_stat, read_file

    try:
        return int(parse_stat(read_file(f"/proc/{pid}/stat"))[1][19])
    except (OSError, IndexError, ValueError):
        return None


class ProvenProcess:
    """A process proven to be the one meant; signals go through its pidfd. Close it when done."""

    def __init__(self, pid: int, pidfd: Optional[int]) -> None:
        self.pid = pid
        self._pidfd = pidfd

    @classmethod
    def prove(cls, pid: int, expected_start_ticks: Optional[int], label: str,
              checks: List[Callable[[int], Optional[str]]] = ()) -> "ProvenProcess":
        """Open and prove PID `pid`. Each check gets the pid and returns None (fine) or the reason
        the process is not the one meant. Raises NotThatProcess with that reason."""
        if pid <= 0:
            raise NotThatProcess(_("{label}: no such process").format(label=label))
        if expected_start_ticks is None:
            raise NotThatProcess(_("{label}: its start time is unknown, so psxj cannot prove it is the same "
                                   "process").format(label=label))
        pidfd = None
        if _HAS_PIDFD:
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                raise NotThatProcess(_("{label} has exited").format(label=label)) from None
            except OSError as exc:
                raise NotThatProcess(f"{label}: {exc.strerror}") from None
        try:
            now = start_ticks(pid)
            if now is None:
                raise NotThatProcess(_("{label} has exited").format(label=label))
            if now != expected_start_ticks:
                raise NotThatProcess(_("{label} has exited; its PID now belongs to another process").format(
                                         label=label))
            for check in checks:
                reason = check(pid)
                if reason:
                    raise NotThatProcess(f"{label}: {reason}")
        except BaseException:
            if pidfd is not None:
                os.close(pidfd)
            raise
        return cls(pid, pidfd)

    def send(self, signum: int) -> None:
        """Signal the proven process. PermissionError and ProcessLookupError pass to the caller."""
        if self._pidfd is not None:
            signal.pidfd_send_signal(self._pidfd, signum)
        else:
            os.kill(self.pid, signum)  # no pidfd on this system: the start time was checked just before

    def wait_exit(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the process to exit; True once it has (a zombie counts)."""
        import select
        import time

        if self._pidfd is not None:
            poller = select.poll()
            poller.register(self._pidfd, select.POLLIN)
            return bool(poller.poll(max(timeout, 0) * 1000))
        deadline = time.monotonic() + timeout
        while True:
            from psxj.sources.proc import parse_stat, read_file

            try:
                state = parse_stat(read_file(f"/proc/{self.pid}/stat"))[1][0]
            except (OSError, IndexError):
                return True
            if state == b"Z":
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def __enter__(self) -> "ProvenProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def command_line(pid: int) -> List[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read(65536)
    except OSError:
        return []
    return raw.decode("utf-8", "surrogateescape").split("\0")[:-1]


def holds_open(pid: int, device: int, inode: int) -> bool:
    """Does the process have a descriptor open on the file (device, inode)?"""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            st = os.stat(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (device, inode):
            return True
    return False


def owner_uid(pid: int) -> Optional[int]:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
