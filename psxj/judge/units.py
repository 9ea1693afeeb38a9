"""Which systemd unit a process belongs to, and its role in it, from systemd's own facts (judgement).

Every process's cgroup names its unit, whoever its parent is. Which systemd instance manages that
cgroup is found from the managers themselves: a systemd keeps itself in `<root>/init.scope`, and
manages the tree below `<root>` (PID 1: the whole machine; a user manager: its user@UID.service;
a container's systemd, seen from the host: its container's subtree). The longest root that holds
a process's cgroup is its manager's, and the first component below it that is not a slice is the
unit (nspawn's `payload`, podman's `container` and other subtrees below a unit stay in the unit).

The role then comes from what the manager says (psxj.sources.systemd): the unit's MainPID (main),
its ControlPID (control), a descendant of either (worker of the main process, or part of the
control process), or anything else (leftover: the unit is not running, or neither systemd nor its
main process started it: a cron job's background command whose shell exited). PIDs are compared in
the manager's own PID namespace (NSpid). When systemd cannot be asked, the role says what the cgroup
alone proves: the unit, and whether the process's parent is in it.
"""

from __future__ import annotations

import re
from typing import Dict, List, NamedTuple, Optional, Tuple

from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot
from psxj.sources.systemd import ManagerRef, SystemdSource, Unavailable, UnitFacts

MAIN, CONTROL, WORKER, LEFTOVER, MEMBER, UNKNOWN_ROLE = "main", "control", "worker", "leftover", "member", "unknown"
ROLES = (MAIN, CONTROL, WORKER, LEFTOVER, MEMBER, UNKNOWN_ROLE)
ROLE_MEANINGS = {
    MAIN: N_("the unit's main process (MainPID)"),
    CONTROL: N_("the unit's control process (ControlPID: a start, reload or stop command), or its child"),
    WORKER: N_("a worker: a descendant of the unit's main process"),
    LEFTOVER: N_("left over in the unit's cgroup: systemd neither started it nor watches it"),
    MEMBER: N_("a process of a scope unit (started elsewhere and moved into it), or of a service whose main "
               "process systemd does not follow (MainPID=0)"),
    UNKNOWN_ROLE: N_("in the unit's cgroup; its role is unknown without systemd's facts"),
}
_UNIT_SUFFIXES = (".service", ".scope", ".socket", ".mount", ".swap")
_LOGIN_SCOPE = re.compile(r"^session-(.+)\.scope$")


class Manager(NamedTuple):
    record: ProcessRecord
    root: str                 # the cgroup it manages ("" for the whole hierarchy)
    user: bool                # systemd --user
    container_init: bool      # PID 1 of another PID namespace (a container's systemd)
    depth: int                # how many PID namespaces below psxj's own it runs (0: psxj's own)

    @property
    def ref(self) -> ManagerRef:
        r = self.record
        return ManagerRef(r.pid, r.start_ticks, self.user, r.ruid if r.ruid is not None else -1, self.depth == 0)

    def label(self) -> str:
        """How the supervisor column names it: "systemd", "systemd --user (pid 900)", and for a
        container's: "systemd (pid 7821, a container's init)"."""
        if self.user:
            return f"systemd --user (pid {self.record.pid})"
        if self.depth == 0 and self.record.pid == 1:
            return "systemd"
        return _("systemd (pid {pid}, a container's init)").format(pid=self.record.pid)

    def pid_of(self, record: ProcessRecord) -> Optional[int]:
        """The record's PID as this manager sees it (None: not in its PID namespace or below)."""
        if self.depth == 0:
            return record.pid
        if record.nspid is None or len(record.nspid) <= self.depth:
            return None
        return record.nspid[self.depth]


class Placement(NamedTuple):
    """Where a process sits: its manager, its unit, its role there, and the evidence."""
    manager: Manager
    unit: str
    role: str
    facts: Optional[UnitFacts]           # None: systemd could not be asked
    why_no_facts: Optional[str]          # the reason, when facts is None
    reasons: Tuple[str, ...]
    login_session: Optional[str] = None  # "3" for session-3.scope

    @property
    def scope(self) -> bool:
        return self.unit.endswith(".scope")


def _depth(record: ProcessRecord) -> int:
    return len(record.nspid) - 1 if record.nspid else 0


def is_manager(record: ProcessRecord) -> bool:
    """A systemd instance: named systemd, in an init.scope of its own, and PID 1 of psxj's or of a
    container's PID namespace, or run with --user. A user cannot make such an init.scope outside the
    subtree systemd delegated to them, so a look-alike can only mislead psxj about its own processes."""
    if record.comm != "systemd" or not record.cgroup:
        return False
    if not (record.cgroup == "/init.scope" or record.cgroup.endswith("/init.scope")):
        return False
    return (record.pid == 1 and record.ppid == 0) or record.namespace_init or \
        "--user" in (record.argv or ())


def find_managers(snapshot: Snapshot) -> List[Manager]:
    found = []
    for record in snapshot.records:
        if record.kernel_thread or not is_manager(record):
            continue
        root = record.cgroup[:-len("/init.scope")]
        user = "--user" in (record.argv or ()) and not record.namespace_init and record.pid != 1
        found.append(Manager(record, root, user, record.namespace_init, _depth(record)))
    return found


def _unit_below(root: str, cgroup: str) -> Optional[str]:
    """The first component of `cgroup` below `root` that is a unit (not a slice)."""
    rest = cgroup[len(root):] if root else cgroup
    for part in rest.split("/"):
        if not part or part.endswith(".slice"):
            continue
        return part if part.endswith(_UNIT_SUFFIXES) else None
    return None


def _managing(managers: List[Manager], cgroup: str, skip: Optional[Manager] = None) -> Optional[Manager]:
    best = None
    for manager in managers:
        if manager is skip:
            continue
        root = manager.root
        if cgroup == root or cgroup.startswith(root + "/"):
            if best is None or len(root) > len(best.root):
                best = manager
    return best


class UnitJudge:
    """Places the records of one snapshot in their units; asks systemd once per unit."""

    def __init__(self, snapshot: Snapshot, source: Optional[SystemdSource]) -> None:
        self.snapshot = snapshot
        self.managers = find_managers(snapshot)
        self.source = source
        self._cache: Dict[Tuple[int, str], Tuple[Optional[UnitFacts], Optional[str]]] = {}

    def manager_of(self, record: ProcessRecord) -> Optional[Manager]:
        """The systemd that manages this record's cgroup (for a manager itself: the one above it)."""
        cgroup = record.cgroup
        if not cgroup or not self.managers:
            return None
        manager = _managing(self.managers, cgroup)
        if manager is not None and _unit_below(manager.root, cgroup) == "init.scope":
            # The manager itself and what it forked for itself ((sd-pam)): the unit that holds the
            # manager, in the manager above it (user@UID.service for a user manager).
            manager = _managing(self.managers, manager.root, skip=manager)
        return manager

    def facts(self, manager: Manager, unit: str) -> Tuple[Optional[UnitFacts], Optional[str]]:
        key = (manager.record.pid, unit)
        if key not in self._cache:
            if self.source is None:
                found: Tuple[Optional[UnitFacts], Optional[str]] = (
                    None, _("psxj did not ask systemd (a saved table, or another machine's)"))
            else:
                try:
                    found = (self.source.unit(manager.ref, unit), None)
                except Unavailable as exc:
                    found = (None, exc.reason())
            self._cache[key] = found
        return self._cache[key]

    def place(self, record: ProcessRecord) -> Optional[Placement]:
        if record.kernel_thread or not record.cgroup:
            return None
        manager = self.manager_of(record)
        if manager is None or manager.record is record and manager.record.pid == 1:
            return None
        unit = _unit_below(manager.root, record.cgroup)
        if unit is None:
            return None
        facts, why = self.facts(manager, unit)
        session = _LOGIN_SCOPE.match(unit)
        role, reasons = self._role(record, manager, unit, facts, why)
        return Placement(manager, unit, role, facts, why, reasons, session.group(1) if session else None)

    # --- the role ---------------------------------------------------------------------------
    def _ancestor_at(self, record: ProcessRecord, manager: Manager, pid_there: int) -> Optional[ProcessRecord]:
        """The ancestor of `record` (not itself) whose PID in the manager's namespace is pid_there."""
        seen = {record.pid}
        current = self.snapshot.get(record.ppid, record.host)
        while current is not None and current.pid not in seen:
            if manager.pid_of(current) == pid_there:
                return current
            seen.add(current.pid)
            current = self.snapshot.get(current.ppid, current.host)
        return None

    def _role(self, record: ProcessRecord, manager: Manager, unit: str, facts: Optional[UnitFacts],
              why: Optional[str]) -> Tuple[str, Tuple[str, ...]]:
        where = _("its cgroup {cgroup} is in unit {unit} of {manager}").format(
            cgroup=record.cgroup, unit=unit, manager=manager.label())
        mine = manager.pid_of(record)
        if facts is None:
            return self._role_from_cgroup(record, manager, unit, where, why)
        said = _("{source} says: {unit} is {active}/{sub}").format(
            source=facts.source, unit=unit, active=facts.active_state, sub=facts.sub_state)
        if unit.endswith(".scope"):
            return MEMBER, (where, said, _("a scope's processes were started elsewhere and moved into it "
                                           "(a login, systemd-run --scope, a container)"))
        if not facts.running:
            return LEFTOVER, (where, said + _(": its processes should be gone; this one was left behind "
                                              "(KillMode={kill_mode})").format(kill_mode=facts.kill_mode or "?"))
        if not facts.main_pid and unit.endswith(".service"):
            return MEMBER, (where, said + _(", MainPID=0: systemd follows no main process of it (GuessMainPID=no, "
                                            "no PIDFile=) and watches the unit's cgroup as a whole"))
        if mine is not None and mine == facts.main_pid:
            return MAIN, (where, said + _(", MainPID={pid}: its main process").format(pid=facts.main_pid))
        if mine is not None and mine == facts.control_pid:
            return CONTROL, (where, said + _(", ControlPID={pid}: its control process").format(pid=facts.control_pid))
        if facts.main_pid and self._ancestor_at(record, manager, facts.main_pid) is not None:
            return WORKER, (where, said + _(", MainPID={pid}: a descendant of its main process").format(
                pid=facts.main_pid))
        if facts.control_pid and self._ancestor_at(record, manager, facts.control_pid) is not None:
            return CONTROL, (where, said + _(", ControlPID={pid}: a child of its control process").format(
                pid=facts.control_pid))
        return LEFTOVER, (where, said + _(", MainPID={main}: neither its main process nor a descendant of it; "
                                          "started by a job the unit ran, whose parent has exited").format(
                                              main=facts.main_pid or _("none")))

    def _role_from_cgroup(self, record: ProcessRecord, manager: Manager, unit: str, where: str,
                          why: Optional[str]) -> Tuple[str, Tuple[str, ...]]:
        unknown = _("systemd's own facts (MainPID, ActiveState) are unknown: {why}").format(why=why)
        if unit.endswith(".scope"):
            return MEMBER, (where, unknown)
        parent = self.snapshot.get(record.ppid, record.host)
        if parent is not None and parent.cgroup == record.cgroup and parent is not manager.record:
            return WORKER, (where, unknown, _("its parent {pid} ({comm}) is in the same unit: the cgroup alone "
                                              "proves it is part of the unit, not that the unit is running")
                            .format(pid=parent.pid, comm=parent.comm))
        return UNKNOWN_ROLE, (where, unknown, _("the cgroup alone proves which unit holds it, not its role in it "
                                                "nor whether systemd started it"))
