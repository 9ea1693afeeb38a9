"""What makes a process a daemon. One place, reused by the table's flag, the audit and the demo."""

from __future__ import annotations

from typing import Optional

from psxj.model import ProcessRecord

# Processes that adopt orphans besides PID 1: service managers and container inits that
# call prctl(PR_SET_CHILD_SUBREAPER) or run as PID 1 of a container. /proc does not say
# which processes are subreapers, so psxj recognises them by name.
KNOWN_SUBREAPERS = frozenset({
    "systemd", "init", "tini", "docker-init", "dumb-init", "catatonit", "s6-svscan",
    "runsvdir", "containerd-shim", "containerd-shim-runc-v2", "conmon", "supervisord",
})


def adopts_orphans(process: Optional[ProcessRecord]) -> bool:
    """Is this the process an orphan is re-parented to: init, a namespace's init, a subreaper?"""
    if process is None:
        return False
    return process.pid == 1 or process.namespace_init or process.comm in KNOWN_SUBREAPERS


def is_daemon(process: ProcessRecord, parent: Optional[ProcessRecord]) -> bool:
    """Does `process` look like a daemon from the outside?

    - Not a kernel thread: those are the kernel's own workers, shown in brackets, never
      started by anyone's daemon() call.
    - Not a zombie: it has exited and only waits for its parent to reap it.
    - No controlling terminal (TTY `?`, TPGID -1): the session it runs in has none, so no
      terminal can send it SIGHUP or SIGINT. Every process of a session shares the
      session's terminal, so this holds for session leaders and members alike.
    - Its parent adopts orphans (PID 1, a PID namespace's init, or a known subreaper): the
      process that started it has exited, the first fork of the classic recipe.
    """
    if process.kernel_thread or process.state == "Z":
        return False
    if process.has_terminal or (process.tpgid is not None and process.tpgid != -1):
        return False
    return adopts_orphans(parent)
