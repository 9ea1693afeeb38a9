"""What kind of process each record is, with the reasons, in plain sentences.

    kernel-thread   a worker of the kernel itself (PF_KTHREAD)
    zombie          exited; only its exit status waits for its parent
    init            PID 1 of the machine: started by the kernel, adopts every orphan
    container-init  PID 1 of another PID namespace (a container's init)
    service         started and watched by a live service manager or supervisor
    daemon          detached itself the tutorial's way and was adopted
    orphan          adopted, but never detached (a nohup job whose shell is gone...)
    job             everything else: terminal jobs, children of a live parent

Daemon-like kinds (init, container-init, service, daemon) get the table's daemon mark.

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
KINDS = (KERNEL_THREAD, ZOMBIE, INIT, CONTAINER_INIT, SERVICE, DAEMON, ORPHAN, JOB)
DAEMON_LIKE = frozenset({INIT, CONTAINER_INIT, SERVICE, DAEMON})

# The table's first column: one character per kind, none of them a STAT letter (STAT D means
# uninterruptible sleep, so the daemon mark is not D). Shared by the table, the legend and help.
MARKS: Dict[str, str] = {
    KERNEL_THREAD: "K", ZOMBIE: "x", INIT: "#", CONTAINER_INIT: "#", SERVICE: "@", DAEMON: "*", ORPHAN: "~", JOB: "",
}
MEANINGS: Dict[str, str] = {
    KERNEL_THREAD: N_("a worker of the kernel itself, shown in [brackets]"),
    ZOMBIE: N_("exited; waits for its parent to collect its exit status"),
    INIT: N_("PID 1: started by the kernel, adopts every orphan"),
    CONTAINER_INIT: N_("PID 1 of a container's own PID namespace"),
    SERVICE: N_("started and watched by a live service manager or supervisor"),
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
    unit: Optional[str] = None          # "nginx.service", a container's id
    adopted: Optional[bool] = None      # True known, False started by its live parent, None unknown
    inferred: bool = False              # judged from a saved row, without /proc

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
                return False, _("PPID 0: the kernel started it")
            return None, _("its parent {ppid} is not in the table").format(ppid=r.ppid)
        return False, _("its parent {parent} is alive: psxj cannot tell whether it started it or adopted it").format(
                          parent=_label(parent))

    def classify(self, r: ProcessRecord) -> Kind:
        saved = self.snapshot.saved_kinds.get(r.pid)
        if saved is not None and saved[0] in KINDS:  # judged when the table was saved, with /proc at hand
            name, reasons, supervisor, unit = saved
            return Kind(name, reasons, supervisor, unit)
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
        if r.namespace_init:
            where = container_of(r.cgroup)
            reasons = [_("PID 1 of its own PID namespace (NSpid ends in 1): a container's init")]
            if where:
                reasons.append(_("its cgroup says {where}").format(where=where))
            return Kind(CONTAINER_INIT, tuple(reasons), unit=where)
        parent = self.snapshot.get(r.ppid, r.host)   # on its own machine: PIDs of hosts never mix
        service = self._service(r, parent)
        if service is not None:
            return service
        detached, why_session = session_detached(self.snapshot, r)
        adopted, why_parent = self.adoption(r, parent)
        reasons = [why_session, why_parent]
        if inferred:
            reasons.append(_("judged from the saved row: psxj could not look at /proc"))
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

    def _service(self, r: ProcessRecord, parent: Optional[ProcessRecord]) -> Optional[Kind]:
        unit = unit_of(r.cgroup)
        if unit is not None and parent is not None and "systemd" in program_names(parent):
            manager = "systemd" if r.ppid == 1 else _("the user manager {parent}").format(parent=_label(parent))
            return Kind(SERVICE, (_("systemd unit {unit}: its cgroup is {cgroup}").format(unit=unit, cgroup=r.cgroup),
                                  _("started by {manager}, which is alive and supervises it").format(manager=manager)),
                        supervisor="systemd" if r.ppid == 1 else f"systemd --user (pid {parent.pid})",
                        unit=unit, adopted=False)
        if unit is not None and r.ppid == 1 and self.systemd_is_init(r.host):
            return Kind(SERVICE, (_("systemd unit {unit}: its cgroup is {cgroup}; systemd tracks every process "
                                    "of the unit, forked ones too").format(unit=unit, cgroup=r.cgroup),),
                        supervisor="systemd", unit=unit)
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
    (observed adoptions do: with observations nothing is taken over)."""

    def __init__(self, snapshot: Snapshot, observations: Optional[Observations] = None) -> None:
        # The snapshot holds this object: a weak reference back, so that no cycle keeps a table
        # of 50,000 records alive until a full garbage collection.
        self.records = snapshot.by_pid
        self.judge = _Judge(weakref.proxy(snapshot), observations)
        self.judged: Dict[int, _Judged] = {}
        self._before: Dict[int, _Judged] = {}
        self._observed = observations is not None

    def carry_from(self, before: "SnapshotKinds") -> None:
        """Offer `before`'s kinds (only its own: the chain of snapshots is not kept alive)."""
        same_init = before.judge.systemd_is_init(None) == self.judge.systemd_is_init(None)
        if not self._observed and not before._observed and same_init:
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
