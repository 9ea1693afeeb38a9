"""What kind of process each record is, with the reasons, in plain sentences.

    kernel-thread   a worker of the kernel itself (PF_KTHREAD)
    zombie          exited; only its exit status waits for its parent
    init            PID 1 of the machine: started by the kernel, adopts every orphan
    container-init  PID 1 of another PID namespace (a container's init)
    service         started and watched by a live service manager or supervisor (a unit's main process)
    worker          part of a service: a descendant of a systemd unit's main process, in its cgroup
    monitor         a container runtime's monitor (conmon, containerd-shim, systemd-nspawn)
    leftover        left in a unit's cgroup, which systemd neither started nor watches
    daemon          detached itself the tutorial's way and was adopted
    orphan          adopted, but never detached (a nohup job whose shell is gone...)
    job             everything else: terminal jobs, children of a live parent

Daemon-like kinds (init, container-init, service, daemon) get the table's daemon mark.

Units and roles come from systemd's own facts (psxj.judge.units: the cgroup names the unit, systemd
names its MainPID and ControlPID), containers from the cgroup, the PID namespace and the monitor's
arguments (psxj.judge.containers).

Adoption is evidence, never a name: psxj says a process was adopted only when its parent is PID 1
or a PID namespace's init (which adopt every orphan), or when an adoption was observed (events).
A process whose live parent started it is never described as adopted. Supervisors are recognised
by the program their process runs (runsv, supervisord, tini, ...), and systemd units by the
process's cgroup. Without /proc (a loaded file) the kind is judged from what the row says, and the
reasons say what was inferred.
"""

from __future__ import annotations

import os
import weakref
from typing import Dict, Iterable, NamedTuple, Optional, Tuple

from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot

KERNEL_THREAD, ZOMBIE, INIT, CONTAINER_INIT = "kernel-thread", "zombie", "init", "container-init"
SERVICE, DAEMON, ORPHAN, JOB = "service", "daemon", "orphan", "job"
WORKER, MONITOR, LEFTOVER = "worker", "monitor", "leftover"
KINDS = (KERNEL_THREAD, ZOMBIE, INIT, CONTAINER_INIT, SERVICE, WORKER, MONITOR, DAEMON, LEFTOVER, ORPHAN, JOB)
DAEMON_LIKE = frozenset({INIT, CONTAINER_INIT, SERVICE, DAEMON})

# The table's first column: one character per kind, none of them a STAT letter (STAT D means
# uninterruptible sleep, so the daemon mark is not D). Shared by the table, the legend and help.
MARKS: Dict[str, str] = {
    KERNEL_THREAD: "K", ZOMBIE: "x", INIT: "#", CONTAINER_INIT: "#", SERVICE: "@", WORKER: "&", MONITOR: "%",
    DAEMON: "*", LEFTOVER: "!", ORPHAN: "~", JOB: "",
}
MEANINGS: Dict[str, str] = {
    KERNEL_THREAD: N_("a worker of the kernel itself, shown in [brackets]"),
    ZOMBIE: N_("exited; waits for its parent to collect its exit status"),
    INIT: N_("PID 1: started by the kernel, adopts every orphan"),
    CONTAINER_INIT: N_("PID 1 of a container's own PID namespace"),
    SERVICE: N_("started and watched by a live service manager or supervisor"),
    WORKER: N_("part of a service: a descendant of its main process, in its unit, stopped with it"),
    MONITOR: N_("a container runtime's monitor: it holds the container's output and exit status"),
    LEFTOVER: N_("left in a unit's cgroup: systemd neither started it nor watches it"),
    DAEMON: N_("detached itself (setsid, no terminal) and was adopted, the tutorial's way"),
    ORPHAN: N_("adopted, but never detached: still in a session it did not create"),
    JOB: N_("a terminal's job, or a child of a live parent"),
}

# Programs that start processes and watch them, by the name of what they run -> what they are.
SUPERVISORS: Dict[str, str] = {
    "systemd": "systemd", "runsv": "runit", "runsvdir": "runit", "runit": "runit", "supervisord": "supervisord",
    "s6-supervise": "s6", "s6-svscan": "s6", "tini": "tini", "docker-init": "tini (docker --init)",
    "dumb-init": "dumb-init", "catatonit": "catatonit", "daemon": "libslack daemon", "conmon": "conmon",
    "containerd-shim": "containerd", "containerd-shim-runc-v2": "containerd", "monit": "monit",
    "podman-init": "catatonit (podman --init)",
    "circusd": "circus", "immortal": "immortal", "openrc-run": "OpenRC", "supervise-daemon": "OpenRC",
}
# Supervisors that make themselves subreapers (PR_SET_CHILD_SUBREAPER): orphans below them go to them.
_SUBREAPER_SUPERVISORS = frozenset({"runsv", "daemon"})
_INTERPRETERS = ("python", "python2", "python3", "perl", "ruby", "sh", "bash", "node")
_CONTAINER_SCOPES = (("docker-", "docker container"), ("libpod-", "podman container"),
                     ("machine-", "systemd-nspawn machine"), ("lxc.payload.", "LXC container"),
                     ("lxc/", "LXC container"), ("crio-", "CRI-O container"),
                     ("cri-containerd-", "containerd container"))


class Kind(NamedTuple):
    name: str
    reasons: Tuple[str, ...]
    supervisor: Optional[str] = None    # "supervisord (pid 812)", "systemd"
    unit: Optional[str] = None          # "nginx.service"; a container's label for a container's init
    adopted: Optional[bool] = None      # True known, False started by its live parent, None unknown
    inferred: bool = False              # judged from a saved row, without /proc
    role: Optional[str] = None          # its role in its unit: main, control, worker, leftover, member
    container: Optional[str] = None     # "podman container web (3f2a1b4c5d6e)", seen from the host
    placement: Optional[object] = None  # psxj.judge.units.Placement: systemd's facts, for the rules

    @property
    def daemon_like(self) -> bool:
        return self.name in DAEMON_LIKE

    @property
    def mark(self) -> str:
        return MARKS[self.name]


class Observations:
    """What live events showed (psxj.sources.events feeds it): adoptions seen as they happened.
    Empty without events; the judgement then relies on PID 1 and namespace inits alone."""

    def __init__(self) -> None:
        self._adopted_by: Dict[Tuple[int, Optional[int]], Tuple[int, str]] = {}

    def record_adoption(self, identity: Tuple[int, Optional[int]], adopter: int, proof: str) -> None:
        self._adopted_by[identity] = (adopter, proof)

    def adoption(self, record: ProcessRecord) -> Optional[Tuple[int, str]]:
        return self._adopted_by.get(record.identity)


def adopts_every_orphan(record: Optional[ProcessRecord]) -> bool:
    """PID 1 and a PID namespace's init adopt every orphan: the only adopters known without events."""
    return record is not None and (record.pid == 1 or record.namespace_init)


def program_names(record: Optional[ProcessRecord]) -> Tuple[str, ...]:
    """The names a process goes by: its comm, its argv[0], and the script an interpreter runs."""
    if record is None:
        return ()
    names = [record.comm]
    argv = record.argv if record.argv else tuple(record.command.split()[:2])
    if argv:
        names.append(os.path.basename(argv[0]).lstrip("-"))
        if len(argv) > 1 and names[-1].rstrip("0123456789.") in _INTERPRETERS and not argv[1].startswith("-"):
            names.append(os.path.basename(argv[1]))
    return tuple(names)


def supervisor_of(record: Optional[ProcessRecord]) -> Optional[str]:
    """What supervisor this process is, by the program it runs; None when it is none."""
    for name in program_names(record):
        if name in SUPERVISORS:
            return SUPERVISORS[name]
    return None


def _label(record: ProcessRecord) -> str:
    return f"{record.pid} ({record.comm})"


def unit_of(cgroup: Optional[str]) -> Optional[str]:
    """The systemd unit a cgroup path names: the last `NAME.service` component."""
    if not cgroup:
        return None
    for part in reversed(cgroup.split("/")):
        if part.endswith(".service"):
            return part
    return None


def container_of(cgroup: Optional[str]) -> Optional[str]:
    """"docker container 3f2a…" and the like, when the cgroup path says."""
    if not cgroup:
        return None
    for part in cgroup.split("/"):
        for prefix, what in _CONTAINER_SCOPES:
            if part.startswith(prefix):
                name = part[len(prefix):]
                name = name[:-len(".scope")] if name.endswith(".scope") else name
                return f"{what} {name[:12]}" if name else what
    return None


def session_detached(snapshot: Snapshot, r: ProcessRecord) -> Tuple[bool, str]:
    """Did it make the session it is in (no terminal): it leads it, or the leader has exited and it
    is still in the leader's process group, as after the second fork. (answer, why)"""
    if r.has_terminal:
        return False, _("it has a controlling terminal, {tty}: it is still in a terminal's session").format(tty=r.tty)
    if r.session_leader:
        return True, _("it leads its own session {sid}, which has no terminal (setsid())").format(sid=r.sid)
    if not snapshot.from_proc and r.sid == 0 and r.pid != 0:
        # BSD and macOS tables print 0 (or a kernel address) where they do not know the session.
        if "s" in r.stat[1:]:
            return True, _("its STAT has s: it leads its own session, which has no terminal (setsid())")
        return False, _("the saved table does not say which session it is in, and its STAT has no s: psxj cannot "
                        "tell that it ever called setsid()")
    leader = snapshot.get(r.sid, r.host)
    if leader is not None and leader.sid == r.sid and leader.state != "Z":
        return False, (_("it is in session {sid}, which {leader} leads and which is alive: it never called "
                         "setsid()").format(
                           sid=r.sid,
                           leader=_label(leader)))
    if leader is None:
        missing = _("has exited") if snapshot.from_proc else _("is not in the saved table (taken to have exited)")
    elif leader.sid != r.sid:
        missing = _("has exited (its PID now belongs to another process)")
    else:
        missing = _("has exited (a zombie)")
    if r.sid == 0:
        return False, _("it is in session 0, the kernel's: it never called setsid()")
    if r.pgid == r.sid:
        return True, (_("its session {sid}'s leader {missing} and it is still in that leader's process group: "
                        "the shape the second fork leaves").format(sid=r.sid, missing=missing))
    return False, (_("its session {sid}'s leader {missing}, but it is in process group {pgid}, not the leader's: "
                     "it was a job of that session and never called setsid()").format(
                       sid=r.sid,
                       missing=missing,
                       pgid=r.pgid))


class _Judge:
    """Classifies the records of one snapshot; looks each parent and session leader up once."""

    def __init__(self, snapshot: Snapshot, observations: Optional[Observations]) -> None:
        self.snapshot = snapshot
        self.observations = observations or Observations()
        self.live = snapshot.from_proc  # read from a /proc, here or on another host: judged, not inferred
        self._systemd_is_init: Dict[Optional[str], bool] = {}   # per host: a fleet holds several machines
        self._supervisors: Dict[Tuple[Optional[str], int], Optional[str]] = {}  # thousands of children share one
        self._units = None
        self._containers = None

    @property
    def units(self):
        """psxj.judge.units.UnitJudge, made when a record first needs it. systemd is asked only about
        this machine's live table (a saved table, or another host's, is judged from its cgroups)."""
        if self._units is None:
            from psxj.judge.units import UnitJudge
            from psxj.sources.systemd import SystemdSource

            local = self.snapshot.live and getattr(self.snapshot, "parts", None) is None
            self._units = UnitJudge(self.snapshot, SystemdSource() if local else None)
        return self._units

    @property
    def containers(self):
        if self._containers is None:
            from psxj.judge.containers import ContainerJudge

            self._containers = ContainerJudge(self.snapshot)
        return self._containers

    def systemd_is_init(self, host: Optional[str]) -> bool:
        known = self._systemd_is_init.get(host)
        if known is None:
            init = self.snapshot.get(1, host)
            known = self._systemd_is_init[host] = init is not None and "systemd" in program_names(init)
        return known

    def supervisor(self, parent: ProcessRecord) -> Optional[str]:
        """supervisor_of(parent), worked out once per parent (by host and PID) of this snapshot."""
        key = (parent.host, parent.pid)
        try:
            return self._supervisors[key]
        except KeyError:
            what = self._supervisors[key] = supervisor_of(parent)
            return what

    def adoption(self, r: ProcessRecord, parent: Optional[ProcessRecord]) -> Tuple[Optional[bool], str]:
        """Was it adopted? True only when known; False when its live parent started it (or may have)."""
        observed = self.observations.adoption(r)
        if observed is not None:
            adopter, proof = observed
            return True, _("it was seen being adopted by {adopter}: {proof}").format(adopter=adopter, proof=proof)
        if r.ppid == 1:
            name = parent.comm if parent is not None else _("init, not in the table")
            return True, _("its parent is PID 1 ({name}), which adopts every orphan (and may have started it)").format(
                             name=name)
        if adopts_every_orphan(parent):
            return True, _("its parent {parent} is the init of its PID namespace, which adopts orphans").format(
                             parent=_label(parent))
        if parent is None:
            if r.ppid == 0:
                if r.pid != 1 and not r.kernel_thread:
                    return False, _("PPID 0, and it is not PID 1: it was entered from another PID namespace "
                                    "(nsenter, podman or docker exec), where its parent runs")
                return False, _("PPID 0: the kernel started it")
            return None, _("its parent {ppid} is not in the table").format(ppid=r.ppid)
        return False, _("its parent {parent} is alive: psxj cannot tell whether it started it or adopted it").format(
                          parent=_label(parent))

    def classify(self, r: ProcessRecord) -> Kind:
        saved = self.snapshot.saved_kinds.get(r.pid)
        if saved is not None and saved[0] in KINDS:  # judged when the table was saved, with /proc at hand
            name, reasons, supervisor, unit = saved[:4]
            role, container = (tuple(saved[4:6]) + (None, None))[:2]
            return Kind(name, reasons, supervisor, unit, role=role, container=container)
        kind = self._classify(r)
        if kind.container is None and self.live and (r.nspid is not None or r.namespace_init):
            container = self.containers.of(r)
            if container is not None:
                kind = kind._replace(container=container.label(),
                                     reasons=kind.reasons + (_("it belongs to {container}: {evidence}").format(
                                         container=container.label(), evidence="; ".join(container.evidence)),))
        return kind

    def _classify(self, r: ProcessRecord) -> Kind:
        inferred = not self.live
        if r.kernel_thread:
            return Kind(KERNEL_THREAD, (_("PF_KTHREAD: the kernel runs it; the daemon rules do not apply"),),
                        inferred=inferred)
        if r.state == "Z":
            return Kind(ZOMBIE, (_("it has exited; its parent {ppid} has not yet collected its exit status").format(
                                     ppid=r.ppid),),
                        inferred=inferred)
        if r.pid == 1 and r.ppid == 0:
            return Kind(INIT, (_("PID 1: the kernel started it, and it adopts every orphan"),), inferred=inferred)
        parent = self.snapshot.get(r.ppid, r.host)   # on its own machine: PIDs of hosts never mix
        if r.namespace_init:
            return self._container_init(r, parent)
        from psxj.judge.containers import monitor_runtime

        if self.live and monitor_runtime(r) is not None:
            return self._monitor(r, parent)
        placement = self.units.place(r) if self.live or r.cgroup else None
        if placement is not None:
            kind = self._in_unit(r, parent, placement)
            if kind is not None:
                return kind
        service = self._service(r, parent)
        if service is not None:
            return self._with_placement(service, placement)
        return self._with_placement(self._classic(r, parent, placement), placement)

    def _with_placement(self, kind: Kind, placement) -> Kind:
        if placement is None:
            return kind
        return kind._replace(unit=kind.unit or placement.unit, role=kind.role or placement.role, placement=placement,
                             reasons=kind.reasons + tuple(placement.reasons))

    def _container_init(self, r: ProcessRecord, parent: Optional[ProcessRecord]) -> Kind:
        from psxj.judge.containers import monitor_runtime

        container = self.containers.of(r) if self.live else None
        where = container.label() if container is not None else container_of(r.cgroup)
        reasons = [_("PID 1 of its own PID namespace (NSpid ends in 1): a container's init")]
        if container is not None:
            reasons.append(_("it is the init of {container}: {evidence}").format(
                container=container.label(), evidence="; ".join(container.evidence) or "-"))
        elif where:
            reasons.append(_("its cgroup says {where}").format(where=where))
        supervisor = None
        if parent is not None and monitor_runtime(parent) is not None:
            supervisor = f"{parent.comm} (pid {parent.pid})"
            reasons.append(_("started by {parent}, its runtime's monitor, which waits for it and keeps its "
                             "output and exit status").format(parent=_label(parent)))
        elif r.ppid == 0:
            reasons.append(_("PPID 0 here: its parent is outside this PID namespace"))
        return Kind(CONTAINER_INIT, tuple(reasons), supervisor=supervisor, unit=where, adopted=False,
                    container=container.label() if container is not None else None)

    def _monitor(self, r: ProcessRecord, parent: Optional[ProcessRecord]) -> Kind:
        from psxj.judge.containers import from_monitor

        runtime, name, container_id, exec_session = from_monitor(r)
        container = self.containers.of(r)
        label = container.label() if container is not None else runtime
        what = _("the monitor of an exec session in {container}") if exec_session else _("the monitor of {container}")
        adopted, why_parent = self.adoption(r, parent)
        reasons = (_("{comm} is {runtime}'s container monitor: its arguments name the container").format(
            comm=r.comm, runtime=runtime), what.format(container=label), why_parent)
        return Kind(MONITOR, reasons, adopted=adopted, container=label)

    def _in_unit(self, r: ProcessRecord, parent: Optional[ProcessRecord], placement) -> Optional[Kind]:
        """The kind of a process in a unit, from its role there (None: judged as if in no unit)."""
        from psxj.judge import units

        role, manager, facts = placement.role, placement.manager, placement.facts
        label = manager.label()
        reasons = tuple(placement.reasons)
        is_manager_child = parent is not None and parent.pid == manager.record.pid
        if role in (units.MAIN, units.CONTROL):
            if facts is not None and facts.type == "forking" and role == units.MAIN:
                adopted, how = True, _("Type=forking: systemd ran ExecStart, which forked this process and exited; "
                                       "systemd adopted it (as {manager_role}) and follows it as MainPID").format(
                    manager_role=_("PID 1") if manager.record.pid == 1 or manager.container_init else
                    _("a subreaper"))
            elif is_manager_child:
                adopted, how = False, _("started by {manager} (Type={type}), which watches it").format(
                    manager=label, type=(facts.type if facts is not None else "?") or "?")
            else:
                adopted, how = self.adoption(r, parent)
            what = self.supervisor(parent) if parent is not None and not is_manager_child else None
            supervisor = f"{what} (pid {parent.pid})" if what and what != "systemd" else label
            return Kind(SERVICE, reasons + (how,), supervisor=supervisor, unit=placement.unit, adopted=adopted,
                        role=role, placement=placement)
        if role == units.WORKER:
            what = self.supervisor(parent) if parent is not None else None
            if what and what != "systemd":  # libslack daemon, supervisord... under a unit
                return Kind(SERVICE, reasons + (_("started by {parent}, a {what} supervisor, which is alive and "
                                                  "watches it; the unit's manager {manager} stops it with the "
                                                  "unit").format(parent=_label(parent), what=what, manager=label),),
                            supervisor=f"{what} (pid {parent.pid})", unit=placement.unit, adopted=False, role=role,
                            placement=placement)
            forked = _("forked by {parent}, which is alive: part of the service, which {manager} supervises as a "
                       "whole (it stops the unit's cgroup)").format(
                parent=_label(parent) if parent is not None else r.ppid, manager=label)
            return Kind(WORKER, reasons + (forked,), supervisor=label, unit=placement.unit, adopted=False, role=role,
                        placement=placement)
        if role == units.LEFTOVER:
            adopted, why_parent = self.adoption(r, parent)
            return Kind(LEFTOVER, reasons + (why_parent, _("systemd neither started it nor watches it: it is not "
                                                           "supervised")),
                        unit=placement.unit, adopted=adopted, role=role, placement=placement)
        if role == units.MEMBER and not placement.scope:   # a service without a MainPID: its cgroup is it
            if is_manager_child:
                adopted, how = self.adoption(r, parent)
                return Kind(SERVICE, reasons + (how,), supervisor=label, unit=placement.unit, adopted=adopted,
                            role=role, placement=placement)
            if parent is not None and parent.cgroup == r.cgroup:
                return Kind(WORKER, reasons + (_("forked by {parent}, of the same unit").format(
                    parent=_label(parent)),), supervisor=label, unit=placement.unit, adopted=False, role=role,
                    placement=placement)
        if role == units.UNKNOWN_ROLE and is_manager_child:
            return Kind(SERVICE, reasons + (_("its parent is {manager}: started (or adopted) by it").format(
                manager=label),), supervisor=label, unit=placement.unit, role=role, placement=placement)
        return None   # a scope's process, or a role the cgroup cannot tell: judged by what it did

    def _classic(self, r: ProcessRecord, parent: Optional[ProcessRecord], placement) -> Kind:
        inferred = not self.live
        detached, why_session = session_detached(self.snapshot, r)
        adopted, why_parent = self.adoption(r, parent)
        reasons = [why_session, why_parent]
        if inferred:
            reasons.append(_("judged from the saved row: psxj could not look at /proc"))
        if adopted and detached and not r.session_leader:
            doubt = self._shell_session(r, placement)
            if doubt is not None:
                return Kind(ORPHAN, tuple(reasons) + (doubt,), adopted=True, inferred=inferred)
        if adopted and detached:
            return Kind(DAEMON, tuple(reasons), adopted=True, inferred=inferred)
        if adopted:
            return Kind(ORPHAN, tuple(reasons), adopted=True, inferred=inferred)
        if r.has_terminal:
            group = _("the foreground") if r.tpgid == r.pgid else _("a background")
            reasons = [_("a job of terminal {tty}: in {group} process group ({pgid})").format(
                           tty=r.tty,
                           group=group,
                           pgid=r.pgid), why_parent]
            if inferred:
                reasons.append(_("judged from the saved row: psxj could not look at /proc"))
        return Kind(JOB, tuple(reasons), adopted=adopted, inferred=inferred)

    def _shell_session(self, r: ProcessRecord, placement) -> Optional[str]:
        """Why "the leader exited and it stayed in its group" is no proof of setsid() here, or None.
        A login (sshd's session process, login) and `podman exec`/`docker exec` make a new session for
        what they start, so a non-interactive shell's background job there has exactly that shape."""
        if placement is not None and placement.login_session is not None:
            source = self.units.source
            leader = source.session_leader(placement.manager.ref, placement.login_session) \
                if source is not None else None
            if leader is not None and placement.manager.depth == 0 and leader == r.sid:  # logind's PIDs: psxj's
                return _("logind says login session {session} was made by {leader}, the leader of its session "
                         "{sid}: it is a job of that login (a nohup or background job of a shell that exited), "
                         "not a process that called setsid()").format(session=placement.login_session,
                                                                     leader=leader, sid=r.sid)
            return _("it is in login session scope {unit}: a login's shell leads a session of its own (sshd and "
                     "login make one for it), so a job of that shell has this shape once the shell has exited, "
                     "without ever calling setsid(): psxj does not take it as proof there").format(unit=placement.unit)
        if r.nspid is not None and self.live:
            container = self.containers.of(r)
            if container is not None and container.init is not None and container.init != r.pid:
                return _("in a container, `podman exec` and `docker exec` make each entered process lead a "
                         "session of its own, so a background job of an exec'd shell has this shape without "
                         "ever calling setsid(): psxj does not take it as proof there")
        return None

    def _service(self, r: ProcessRecord, parent: Optional[ProcessRecord]) -> Optional[Kind]:
        if parent is None or parent.state == "Z":
            return None
        what = self.supervisor(parent)
        if parent.pid == 1 or parent.namespace_init:
            # An init adopts orphans too: only a child still in the init's own session is taken as
            # one it started (tini's child is; a daemon that detached is judged as adopted).
            if (what is None and not parent.namespace_init) or what == "systemd" or r.sid != parent.sid:
                return None
            role = _("a {what} supervisor").format(what=what) if what else _("its container's init")
            return Kind(SERVICE, (_("started by {parent}, {role}, and still in that init's session {sid}").format(
                                      parent=_label(parent),
                                      role=role,
                                      sid=parent.sid),), supervisor=f"{what or 'container init'} (pid {parent.pid})",
                        adopted=False, inferred=not self.live)
        if what is None or what == "systemd":  # systemd is recognised by its units' cgroups, not by name
            return None
        reasons = [_("started by {parent}, a {what} supervisor, which is alive and watches it").format(
                       parent=_label(parent),
                       what=what)]
        if r.session_leader and set(program_names(parent)) & _SUBREAPER_SUPERVISORS:
            reasons.append(_("{comm} is a subreaper: a process that detached under it may also have been adopted "
                             "by it (events would tell)").format(comm=parent.comm))
        return Kind(SERVICE, tuple(reasons), supervisor=f"{what} (pid {parent.pid})", adopted=False,
                    inferred=not self.live)


def classify_all(snapshot: Snapshot, observations: Optional[Observations] = None,
                 records: Optional[Iterable[ProcessRecord]] = None) -> Dict[int, Kind]:
    """The kind of every record (or of `records`), by PID; of a FleetSnapshot (several machines),
    by (host, PID), each judged against its own machine's table."""
    judge = _Judge(snapshot, observations)
    chosen = snapshot.records if records is None else records
    if getattr(snapshot, "parts", None) is not None:
        return {(r.host, r.pid): judge.classify(r) for r in chosen}
    return {r.pid: judge.classify(r) for r in chosen}


# What a kind was judged from: (kind, the record, its parent's record, its session leader's record).
_Judged = Tuple[Kind, ProcessRecord, Optional[ProcessRecord], Optional[ProcessRecord]]


class SnapshotKinds:
    """The kinds of one snapshot's records, each judged when first asked for: the table paints a
    screenful, not 50,000 rows. A live table refreshed every few seconds changes few rows, so the
    kinds of the snapshot before are offered (carry_from): a record's kind is taken over when the
    record, its parent's and its session leader's are the very same objects as then (the reader
    keeps an unchanged row's object) and PID 1 is still what it was. Nothing else goes into a kind
    but observed adoptions: kinds are taken over only when both snapshots were offered the very same
    Observations object (or none), which the interface keeps while no adoption is added."""

    def __init__(self, snapshot: Snapshot, observations: Optional[Observations] = None) -> None:
        # The snapshot holds this object: a weak reference back, so that no cycle keeps a table
        # of 50,000 records alive until a full garbage collection.
        self.records = snapshot.by_pid
        self.judge = _Judge(weakref.proxy(snapshot), observations)
        self.judged: Dict[int, _Judged] = {}
        self._before: Dict[int, _Judged] = {}
        self._observations = observations

    def followed_by(self, snapshot: Snapshot) -> "SnapshotKinds":
        """The kinds of `snapshot`, a live refresh of this one (Snapshot.follows), offered these."""
        kinds = SnapshotKinds(snapshot, snapshot.observations)
        kinds.carry_from(self)
        return kinds

    def carry_from(self, before: "SnapshotKinds") -> None:
        """Offer `before`'s kinds (only its own: the chain of snapshots is not kept alive)."""
        same_init = before.judge.systemd_is_init(None) == self.judge.systemd_is_init(None)
        if self._observations is before._observations and same_init:
            self._before = before.judged

    def of(self, record: ProcessRecord) -> Kind:
        judged = self.judged.get(record.pid)
        if judged is not None and judged[1] is record:
            return judged[0]
        get = self.records.get
        parent, leader = get(record.ppid), get(record.sid)
        old = self._before.get(record.pid)
        if old is not None and old[1] is record and old[2] is parent and old[3] is leader:
            kind = old[0]
        else:
            kind = self.judge.classify(record)
        self.judged[record.pid] = (kind, record, parent, leader)
        return kind


def offer_observations(snapshot: Snapshot, observations: Optional[Observations]) -> None:
    """What live events proved, for this snapshot's kinds. A live refresh made its kinds already (when it
    followed the table before, in the reader: Snapshot.follows) without them: made again with them,
    before any is asked for, still taking over what the snapshot before judged when it can."""
    snapshot.observations = observations
    kinds = snapshot.judgement
    if kinds is not None and kinds._observations is not observations:
        before = snapshot.before.judgement if snapshot.before is not None else None
        snapshot.judgement = before.followed_by(snapshot) if before is not None else None


def kinds_of(snapshot: Snapshot) -> SnapshotKinds:
    """The kinds of a snapshot's records, judged when asked and kept with the snapshot."""
    if snapshot.judgement is None:
        snapshot.judgement = SnapshotKinds(snapshot, snapshot.observations)
    return snapshot.judgement


def kind_of(snapshot: Snapshot, record: ProcessRecord) -> Kind:
    """The record's kind in this snapshot: daemon, service, orphan, job..., with reasons. In a table of
    several machines (a FleetSnapshot) each record is judged against its own machine's table."""
    parts = getattr(snapshot, "parts", None)
    if parts is not None:
        part = parts.get(record.host) if record.host is not None else None
        if part is None:  # not one of these machines' records: judged alone
            part = Snapshot([record], source="fleet", from_proc=False)
        return kind_of(part, record)
    if snapshot.by_pid.get(record.pid) is not record:  # a record from another snapshot
        return classify_all(snapshot, snapshot.observations, [record])[record.pid]
    return kinds_of(snapshot).of(record)


def daemon_like(snapshot: Snapshot, record: ProcessRecord) -> bool:
    """init, container-init, service or daemon: what the table marks and `audit --all` audits."""
    return kind_of(snapshot, record).daemon_like
