"""Sending a signal to the process a row showed, and never to a process that reused its PID.

The proof is psxj.act.identity's: a pidfd opened first, the start time compared with the row's,
the signal sent through the pidfd. Elsewhere (no /proc, no pidfd) psutil compares the start
time just before it signals.
Part of the acts (psxj.act); the interface's signal dialog (psxj.tui.signals) sends through here.
"""

from __future__ import annotations

import os
import signal

from psxj.act.identity import NotThatProcess, ProvenProcess
from psxj.i18n import N_, _
from psxj.model import ProcessRecord

# The interface's menu, SIGTERM first (preselected), with what each does, in plain words.
MENU = ("TERM", "HUP", "INT", "KILL", "STOP", "CONT", "USR1", "USR2")
MEANINGS = {"HUP": N_("hang up: daemons reload"), "INT": N_("interrupt, as Ctrl-C does"),
            "TERM": N_("ask it to end (the polite stop)"), "KILL": N_("end it now; it cannot refuse"),
            "STOP": N_("pause it; it cannot refuse"), "CONT": N_("let a paused process go on"),
            "USR1": N_("user-defined 1"), "USR2": N_("user-defined 2")}


class SignalError(Exception):
    """Why a signal was not sent, in words for a notification."""


def signal_number(name: str) -> int:
    return int(getattr(signal, f"SIG{name}"))


def send_signal(record: ProcessRecord, name: str) -> None:
    """Send SIG<name> to the process of `record`; raise SignalError with the reason if not sent."""
    number = signal_number(name)
    label = f"PID {record.pid} ({record.comm})"
    if os.path.exists("/proc/self/stat"):
        try:
            with ProvenProcess.prove(record.pid, record.start_ticks, label) as process:
                process.send(number)
        except NotThatProcess as exc:
            raise SignalError(str(exc)) from None
        except PermissionError:
            raise SignalError(_("not allowed to signal {process} (permission denied)").format(process=label)) from None
        except ProcessLookupError:
            raise SignalError(_("{process} has exited").format(process=label)) from None
        return
    import psutil

    try:
        process = psutil.Process(record.pid)
        if record.start_time is None or abs(process.create_time() - record.start_time) > 0.05:
            raise SignalError(_("{process} has exited; its PID now belongs to another process").format(process=label))
        process.send_signal(number)
    except psutil.NoSuchProcess:
        raise SignalError(_("{process} has exited").format(process=label)) from None
    except psutil.AccessDenied:
        raise SignalError(_("not allowed to signal {process} (permission denied)").format(process=label)) from None
