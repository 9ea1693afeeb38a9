"""Which standard a process is audited against, and which rules that standard asks for.

The profile follows the kind unless the user forces one (`psxj audit --profile`):
    daemon, orphan, job,
    leftover                  -> classic    (the tutorial's rules: what it did, or never did)
    service                   -> new-style  (systemd's daemon(7): its supervisor does the detaching)
    worker                    -> worker     (part of a service: its unit's stop reaches it)
    monitor                   -> monitor    (a container runtime's monitor: detached, reaps its container)
    container-init, init      -> container  (PID 1's duties)
Rules a standard does not ask for are still listed, as n/a with the reason, so the classic view
stays visible for teaching and the JSON keeps every rule id.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

from psxj.i18n import N_
from psxj.judge.kinds import CONTAINER_INIT, INIT, MONITOR, SERVICE, WORKER, Kind

CLASSIC, NEW_STYLE, CONTAINER = "classic", "new-style", "container"
WORKER_PROFILE, MONITOR_PROFILE = "worker", "monitor"
PROFILES = (CLASSIC, NEW_STYLE, WORKER_PROFILE, MONITOR_PROFILE, CONTAINER)

CLASSIC_RULES = ("orphaned", "own-session", "no-tty", "not-session-leader", "umask", "cwd-root", "fds-closed",
                 "stdio-devnull", "pidfile-lock", "syslog", "signals")
RULES_OF: Dict[str, Tuple[str, ...]] = {
    CLASSIC: CLASSIC_RULES,
    NEW_STYLE: ("supervised", "no-tty", "fds-closed", "logging", "service-signals", "readiness"),
    WORKER_PROFILE: ("part-of-service", "no-tty", "fds-closed", "logging", "worker-signals"),
    MONITOR_PROFILE: ("own-session", "no-tty", "fds-closed", "reaps-children"),
    CONTAINER: ("reaps-children", "pid1-signals", "forwards-signals"),
}

# Why a classic rule is not needed under the other standards (the supervisor's name goes in {who}).
NOT_NEEDED: Dict[str, Dict[str, str]] = {
    NEW_STYLE: {
        "orphaned": N_("{who} started it and watches it: it need not fork away"),
        "own-session": N_("{who} decides its session: it need not call setsid() itself"),
        "not-session-leader": N_("{who} never gives it a terminal: no second fork needed"),
        "umask": N_("{who} sets its umask (systemd's UMask=)"),
        "cwd-root": N_("{who} sets its working directory"),
        "stdio-devnull": N_("its stdout and stderr are its log here: see logging"),
        "pidfile-lock": N_("{who} knows its PID and runs one instance: no pidfile needed"),
        "syslog": N_("stdout/stderr or the journal serve as its log: see logging"),
        "signals": N_("see service-signals: SIGTERM must end it, SIGHUP reload it or be documented"),
    },
    WORKER_PROFILE: {
        "orphaned": N_("a worker of {who}'s service: its parent, the service's main process, started it"),
        "own-session": N_("its service's main process decides its session"),
        "not-session-leader": N_("its service never gives it a terminal"),
        "umask": N_("its service sets its umask"),
        "cwd-root": N_("its service sets its working directory"),
        "stdio-devnull": N_("its stdout and stderr are its service's log: see logging"),
        "pidfile-lock": N_("its service's main process is the one instance: no pidfile of its own"),
        "syslog": N_("stdout/stderr or the journal serve as its log: see logging"),
        "signals": N_("reloading is its main process's job; see worker-signals for SIGTERM"),
        "supervised": N_("{who} supervises its service as a whole: see part-of-service"),
        "readiness": N_("readiness is its main process's to report"),
    },
    MONITOR_PROFILE: {
        rule: N_("a container monitor: it detaches from whoever started the container, holds its output and "
                 "waits for it; the daemon rules past the four above do not fit it")
        for rule in ("orphaned", "not-session-leader", "umask", "cwd-root", "stdio-devnull", "pidfile-lock",
                     "syslog", "signals")},
    CONTAINER: {rule: N_("PID 1 runs in the foreground and is adopted by nobody: its duties are the three above "
                         "(reaping, SIGTERM, passing signals on)") for rule in CLASSIC_RULES},
}


def profile_for(kind: Kind, forced: Optional[str] = None) -> Optional[str]:
    """The standard to judge by; None for kernel threads and zombies, which have nothing to audit."""
    if kind.name in ("kernel-thread", "zombie"):
        return None
    if forced:
        return forced
    if kind.name == SERVICE:
        return NEW_STYLE
    if kind.name == WORKER:
        return WORKER_PROFILE
    if kind.name == MONITOR:
        return MONITOR_PROFILE
    if kind.name in (CONTAINER_INIT, INIT):
        return CONTAINER
    return CLASSIC
