"""What `psxj why` reads of the live system, behind one object (the judgement's thin edge): programs,
/proc facts, sockets, crontabs, at jobs, ssh connections, utmp, logind, systemd's trigger units and a
container runtime's state. psxj.judge.why decides from what these return and never reads the system itself,
so its decisions are tested with tables of cases; this object is tested on real things.

Each read is made once per process (or per daemon, unit, session) and kept for the answer.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

from psxj.i18n import _
from psxj.judge.kinds import kinds_of
from psxj.model import ProcessRecord, Snapshot
from psxj.sources.programs import Program, program_of

AT_SPOOL = ("/var/spool/cron/atjobs/", "/var/spool/at/")


class SystemLook:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._programs: Dict[int, Program] = {}
        self._proc: Dict[int, object] = {}
        self._crontabs: Dict[int, tuple] = {}
        self._utmp: Optional[tuple] = None

    def program(self, record: ProcessRecord) -> Program:
        found = self._programs.get(record.pid)
        if found is None:
            found = self._programs[record.pid] = program_of(record.pid, record.comm)
        return found

    def proc(self, record: ProcessRecord):
        """psxj.judge.facts.ProcFacts of the process (its status, cwd, environment), read when asked."""
        found = self._proc.get(record.pid)
        if found is None:
            from psxj.judge.facts import ProcFacts

            found = self._proc[record.pid] = ProcFacts(record.pid)
        return found

    def cwd_mode(self, record: ProcessRecord) -> Optional[int]:
        """The mode of its working directory (through the kernel's link: no path is walked)."""
        try:
            return os.stat(f"/proc/{record.pid}/cwd").st_mode
        except OSError:
            return None

    def sockets(self, record: ProcessRecord):
        from psxj.sources.sockets import sockets_of

        return sockets_of(record.pid)

    def crontabs(self, daemon: ProcessRecord) -> tuple:
        """(every crontab the cron daemon reads, below its own root; where they were read)."""
        if daemon.pid not in self._crontabs:
            from psxj.sources.cron import read_crontabs

            root = f"/proc/{daemon.pid}/root"
            self._crontabs[daemon.pid] = (read_crontabs(root), _("the crontabs below {root} (cron's root)").format(
                root=root))
        return self._crontabs[daemon.pid]

    def job_script(self, job: ProcessRecord) -> Tuple[Optional[str], str, Optional[str]]:
        """An at job's script: atd runs the job's shell with the script as its standard input (and
        deletes it once started). (path, where that comes from, why not)."""
        origin = f"/proc/{job.pid}/fd/0"
        try:
            target = os.readlink(origin)
        except OSError as exc:
            return None, origin, exc.strerror or str(exc)
        path = target[:-len(" (deleted)")] if target.endswith(" (deleted)") else target
        if not path.startswith(AT_SPOOL):
            return None, origin, _("its input is {target}, not a file in atd's spool").format(target=target)
        return path, origin + _(": the job's input, its script in atd's spool"), None

    def ssh_connection(self, gates: List[ProcessRecord]):
        """The client's connection held by one of these sshd processes (nearest first), accepted on a
        port one of them listens on."""
        from psxj.sources.logins import pick_connection
        from psxj.sources.sockets import LISTEN, sockets_of

        held: Dict[int, list] = {}
        for gate in gates:
            try:
                held[gate.pid] = [entry for entry, _fds in sockets_of(gate.pid) if entry.proto == "tcp"]
            except OSError:
                held[gate.pid] = []
        for listener in gates:
            ports = {entry.local.port for entry in held[listener.pid] if entry.state == LISTEN}
            if not ports:
                continue
            for gate in gates:
                found = pick_connection(held[gate.pid], ports, gate.pid, listener.pid)
                if found is not None:
                    return found
        return None

    def utmp(self) -> tuple:
        if self._utmp is None:
            from psxj.sources.logins import read_utmp

            self._utmp = read_utmp()
        return self._utmp

    def _systemd(self):
        judge = kinds_of(self.snapshot).judge
        units = getattr(judge, "units", None) if judge is not None else None
        return getattr(units, "source", None)

    def login_session(self, placement) -> Optional[dict]:
        source = self._systemd()
        if source is None or placement.manager.depth != 0:   # logind's PIDs are in its own namespace
            return None
        return source.login_session(placement.manager.ref, placement.login_session)

    def socket_unit(self, record: ProcessRecord, address: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
        """When `record` is a systemd manager: its socket unit listening on `address`, and what that
        unit starts (socket activation: systemd holds the socket until the service takes it)."""
        judge = kinds_of(self.snapshot).judge
        units = getattr(judge, "units", None) if judge is not None else None
        if units is None or units.source is None:
            return None
        for manager in units.managers:
            if manager.record.pid == record.pid:
                return units.source.socket_units(manager.ref).get(address)
        return None

    def trigger(self, placement, name: str) -> dict:
        source = self._systemd()
        return source.trigger(placement.manager.ref, name) if source is not None else {}

    def container_state(self, container, snapshot: Snapshot):
        """The runtime's own record of the container (psxj.sources.runtimes), from its monitor."""
        from psxj.judge.containers import _option as option
        from psxj.sources.runtimes import docker_state, podman_state

        monitor = snapshot.get(container.monitor) if container.monitor is not None else None
        if container.runtime == "podman" and monitor is not None and container.id:
            bundle = option(monitor.argv or (), "-b", "--bundle")
            if bundle:
                return podman_state(bundle, container.id, monitor.ruid if monitor.ruid is not None else 0)
        if container.runtime == "docker" and container.id:
            return docker_state(container.id)
        return None
