"""Sending a signal to the process a row showed, and never to a process that reused its PID.

With a pidfd (Linux 5.3+) the check is race-free: the pidfd is opened first, then the
start time read through /proc must still be the row's, and the signal goes through the
pidfd, which can only reach the process it was opened on. Elsewhere psutil compares
the start time before it signals.
"""

from __future__ import annotations

import os
import signal
from typing import Optional

from psxj.model import ProcessRecord

MENU = ("HUP", "INT", "TERM", "KILL", "STOP", "CONT", "USR1", "USR2")


class SignalError(Exception):
    """Why a signal was not sent, in words for a notification."""


def signal_number(name: str) -> int:
    return int(getattr(signal, f"SIG{name}"))


def _start_ticks(pid: int) -> Optional[int]:
    from psxj.sources.proc import parse_stat, read_file

    try:
        return int(parse_stat(read_file(f"/proc/{pid}/stat"))[1][19])
    except (OSError, IndexError, ValueError):
        return None


def send_signal(record: ProcessRecord, name: str) -> None:
    """Send SIG<name> to the process of `record`; raise SignalError with the reason if not sent."""
    number = signal_number(name)
    label = f"PID {record.pid} ({record.comm})"
    if hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal") and record.start_ticks is not None:
        try:
            pidfd = os.pidfd_open(record.pid)
        except ProcessLookupError:
            raise SignalError(f"{label} has exited") from None
        except OSError as exc:
            raise SignalError(f"{label}: {exc.strerror}") from None
        try:
            if _start_ticks(record.pid) != record.start_ticks:
                raise SignalError(f"{label} has exited; its PID now belongs to another process")
            signal.pidfd_send_signal(pidfd, number)
        except PermissionError:
            raise SignalError(f"not allowed to signal {label} (permission denied)") from None
        except ProcessLookupError:
            raise SignalError(f"{label} has exited") from None
        finally:
            os.close(pidfd)
        return
    import psutil

    try:
        process = psutil.Process(record.pid)
        if record.start_time is not None and abs(process.create_time() - record.start_time) > 0.05:
            raise SignalError(f"{label} has exited; its PID now belongs to another process")
        process.send_signal(number)
    except psutil.NoSuchProcess:
        raise SignalError(f"{label} has exited") from None
    except psutil.AccessDenied:
        raise SignalError(f"not allowed to signal {label} (permission denied)") from None
