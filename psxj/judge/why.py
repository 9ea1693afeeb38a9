"""Why a process runs: its chain from PID 1, the one thing responsible for it (its source), its
context and its warnings, every fact with where it came from (judgement).

The source is the nearest thing up the chain that answers "why": walking from the process towards
PID 1, the first of these wins, at each step in this order:
  its parent is cron's or atd's job runner (cron, at: the crontab line, the job file);
  its parent is a login (sshd's session process, login(1)): login, with the user, terminal, remote;
  it is started by a supervisor other than systemd (runit, supervisord, tini, libslack daemon...);
  it is where a systemd unit starts (the unit's main or control process);
  it leads a session with a terminal (a shell): a job of that terminal's shell;
  it detached itself (kind daemon): a self-detached daemon;
  it is an init (PID 1, a PID namespace's init): init.
Before the walk, facts of the process itself decide: a kernel thread and PID 1 are the kernel's; a
process in a container seen from the host is the container's; a process in a login session's scope
is that login's (logind says whose). An orphan whose starter is gone is `unknown`, with the reason:
nothing left on the machine says what started it.

Every fact is a Fact: its value, where it came from, and when the value is None, why it is unknown.
Links of the chain say how each process came under its parent: `started` (forked by it), `adopted`
(handed to it when its parent exited), or None with the reason. The system is read through a
`look` object (psxj.judge.evidence.SystemLook on a live machine), so the decisions here are pure
and tested with tables of cases.
"""

from __future__ import annotations

import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from psxj.i18n import _
from psxj.judge.kinds import kind_of
from psxj.model import ProcessRecord, Snapshot

STARTED, ADOPTED = "started", "adopted"
KERNEL, UNIT, SUPERVISOR, CRON, AT, LOGIN = "kernel", "systemd-unit", "supervisor", "cron", "at", "login"
CONTAINER, SHELL_JOB, DAEMON, INIT, UNKNOWN = "container", "shell-job", "daemon", "init", "unknown"
SOURCE_KINDS = (KERNEL, UNIT, SUPERVISOR, CRON, AT, LOGIN, CONTAINER, SHELL_JOB, DAEMON, INIT, UNKNOWN)

CRON_PROGRAMS = ("cron", "crond")
AT_PROGRAMS = ("atd",)
SSHD_PROGRAMS = ("sshd", "sshd-session")
LOGIN_PROGRAMS = ("login",)
DANGEROUS_CAPABILITIES = {21: "CAP_SYS_ADMIN", 19: "CAP_SYS_PTRACE", 13: "CAP_NET_RAW", 1: "CAP_DAC_OVERRIDE",
                          2: "CAP_DAC_READ_SEARCH", 3: "CAP_FOWNER", 16: "CAP_SYS_MODULE", 17: "CAP_SYS_RAWIO"}
RESTARTS_MANY = 5                   # more than this: "restarted many times" (witr's threshold too)
HIGH_MEMORY_KIB = 1 << 20           # 1 GiB resident
HIGH_CPU_SECONDS = 2 * 3600
LONG_RUNNING_SECONDS = 90 * 86400


class Fact(NamedTuple):
    """A value and where it came from. Value None: there is none (no terminal) when `unknown` is None,
    else it is unknown and `unknown` says why."""
    value: object
    origin: str
    unknown: Optional[str] = None

    def as_json(self) -> dict:
        found = {"value": self.value, "from": self.origin}
        if self.unknown is not None:
            found["unknown"] = self.unknown
        return found


def missing(origin: str, why: str) -> Fact:
    return Fact(None, origin, why)


class Link(NamedTuple):
    pid: int
    comm: str
    command: str
    how: Optional[str]       # STARTED or ADOPTED by the link before; None: not known (evidence says why)
    evidence: str

    def as_json(self) -> dict:
        return {"pid": self.pid, "comm": self.comm, "command": self.command, "how": self.how,
                "evidence": self.evidence}


class Source(NamedTuple):
    kind: str
    name: Optional[str]
    summary: str                                  # the answer in one line
    origin: str                                   # how psxj knows kind and name
    details: Tuple[Tuple[str, Fact], ...] = ()
    unknown: Optional[str] = None                 # for kind unknown: why nothing can be said

    def detail(self, key: str) -> Optional[Fact]:
        return dict(self.details).get(key)

    def as_json(self) -> dict:
        found = {"kind": self.kind, "name": self.name, "summary": self.summary, "from": self.origin}
        if self.unknown:
            found["unknown"] = self.unknown
        found.update({key: fact.as_json() for key, fact in self.details})
        return found


class Warning(NamedTuple):
    id: str
    text: str
    origin: str

    def as_json(self) -> dict:
        return {"id": self.id, "text": self.text, "from": self.origin}


class Why(NamedTuple):
    pid: int
    comm: str
    command: str
    start_ticks: Optional[int]
    chain: Tuple[Link, ...]
    source: Source
    context: Tuple[Tuple[str, Fact], ...]
    warnings: Tuple[Warning, ...]

    def fact(self, key: str) -> Optional[Fact]:
        return dict(self.context).get(key)

    def as_json(self) -> dict:
        return {"pid": self.pid, "comm": self.comm, "command": self.command, "start_ticks": self.start_ticks,
                "chain": [link.as_json() for link in self.chain], "source": self.source.as_json(),
                "context": {key: fact.as_json() for key, fact in self.context},
                "warnings": [warning.as_json() for warning in self.warnings]}


def _label(record: ProcessRecord) -> str:
    return f"{record.pid} ({record.comm})"


# --- the chain: started or adopted ------------------------------------------------------------

def link_how(child: ProcessRecord, parent: Optional[ProcessRecord], kind, observed: Optional[Tuple[int, str]]
             ) -> Tuple[Optional[str], str]:
    """How `child` came under `parent`: (STARTED, ADOPTED or None, the evidence). `kind`: the child's
    psxj.judge.kinds.Kind; `observed`: an adoption live events saw, (adopter, proof)."""
    if parent is None:
        if child.pid == 1 and child.ppid == 0:
            return STARTED, _("PID 1: the kernel starts it at boot")
        if child.ppid == 0 and not child.kernel_thread:
            return None, _("PPID 0 though it is not PID 1: it was entered from another PID namespace (nsenter, "
                           "podman or docker exec), where its parent runs")
        if child.kernel_thread or child.ppid == 0:
            return STARTED, _("started by the kernel (PPID 0)")
        return None, _("its parent {ppid} is not in the table").format(ppid=child.ppid)
    if observed is not None:
        return ADOPTED, _("seen by psxj's live events: adopted by {adopter} ({proof})").format(
            adopter=observed[0], proof=observed[1])
    placement = getattr(kind, "placement", None)
    facts = placement.facts if placement is not None else None
    if placement is not None and placement.role == "main" and facts is not None and facts.type == "forking":
        return ADOPTED, _("Type=forking: the command systemd ran forked it and exited, and systemd adopted it "
                          "(systemd says so: MainPID)")
    manager = placement.manager.record if placement is not None else None
    if manager is not None and manager.pid == parent.pid and placement.role in ("main", "control"):
        return STARTED, _("systemd ran it for {unit} (its {role} process, Type={type})").format(
            unit=placement.unit, role=placement.role, type=(facts.type if facts is not None else "?") or "?")
    if kind is not None and kind.supervisor and kind.adopted is False and f"(pid {parent.pid})" in kind.supervisor:
        return STARTED, _("{parent} is its supervisor: it started it and watches it").format(parent=_label(parent))
    if child.sid != parent.sid and not child.session_leader and child.sid > 0:
        return ADOPTED, _("it is in session {sid}, which its parent {parent} is not in, and it does not lead it: "
                          "a forked child starts in its parent's session, so another process forked it and "
                          "exited, and the kernel handed it to {parent}").format(sid=child.sid,
                                                                                 parent=_label(parent))
    orphan_adopter = parent.pid == 1 or parent.namespace_init
    if not orphan_adopter:
        if child.session_leader:
            return STARTED, _("forked by {parent}, which is alive, then it called setsid() (psxj cannot see a "
                              "subreaper's adoptions without live events)").format(parent=_label(parent))
        return STARTED, _("forked by {parent}: it is in its parent's session {sid}").format(
            parent=_label(parent), sid=child.sid)
    if kind is not None and kind.name == "daemon":
        return ADOPTED, _("its session {sid}'s leader has exited and it stayed in that leader's group: the "
                          "second fork's shape; init adopted it").format(sid=child.sid)
    return None, _("{parent} adopts every orphan, and it also starts processes: without live events psxj "
                   "cannot tell which happened").format(parent=_label(parent))


def build_chain(snapshot: Snapshot, record: ProcessRecord) -> Tuple[Link, ...]:
    records = list(reversed(snapshot.ancestry(record)))
    observations = snapshot.observations
    links = []
    for index, current in enumerate(records):
        parent = records[index - 1] if index else None
        observed = observations.adoption(current) if observations is not None else None
        how, evidence = link_how(current, parent, kind_of(snapshot, current), observed)
        links.append(Link(current.pid, current.comm, current.command, how, evidence))
    return tuple(links)


# --- the source -------------------------------------------------------------------------------

def _trusted(program, names: Sequence[str]) -> bool:
    """It runs one of these system programs: its executable says so (a file of root's that nobody else
    may write). A name alone is not enough: where the executable may not be read, it is not trusted."""
    return program.name in names and program.system


def _cron_source(runner: ProcessRecord, daemon: Optional[ProcessRecord], job: ProcessRecord, look) -> Source:
    """A job cron runs: `runner` is cron's per-job child (CRON), `job` what it started (/bin/sh -c)."""
    from psxj.sources.names import user_name

    argv = job.argv or ()
    command = argv[2] if len(argv) >= 3 and argv[1] == "-c" else " ".join(argv)
    user = user_name(job.euid)
    crontabs, origin = look.crontabs(daemon or runner)
    from psxj.sources.cron import matching

    found = matching(crontabs, command, user) or matching(crontabs, command, None)
    daemon_pid = daemon.pid if daemon is not None else runner.ppid
    details: List[Tuple[str, Fact]] = [
        ("daemon", Fact(daemon_pid, _("{runner}'s parent, the cron daemon ({program})").format(
            runner=_label(runner), program=look.program(daemon or runner).evidence))),
        ("runner", Fact(runner.pid, _("cron's child for this job (/proc/{pid}/stat)").format(pid=runner.pid))),
        ("command", Fact(command, _("/proc/{pid}/cmdline: what cron gave the shell").format(pid=job.pid))),
        ("user", Fact(user, _("/proc/{pid}/status: the job's effective user").format(pid=job.pid))
         if user else missing("/proc/{pid}/status".format(pid=job.pid), _("uid {uid} has no name here").format(
             uid=job.euid))),
    ]
    if found:
        entry, tab = found[0]
        where = _("{path}, read now: the line whose command is the job's").format(path=entry.path)
        if len(found) > 1:
            where += _(" (and {count} more lines with the same command)").format(count=len(found) - 1)
        details += [("crontab", Fact(entry.path, where)), ("line", Fact(entry.line, where)),
                    ("text", Fact(entry.text, where)), ("schedule", Fact(entry.schedule, where))]
        if tab.refused:
            details.append(("refused", Fact(tab.refused, _("{path}'s type, owner and mode").format(path=entry.path))))
        summary = _("cron job: {path} line {line} ({schedule}), as {user}").format(
            path=entry.path, line=entry.line, schedule=entry.schedule, user=entry.user)
    else:
        why = _("no crontab line runs this command now ({origin}): it was edited since the job started, or its "
                "shell exec'd the command").format(origin=origin)
        details += [("crontab", missing(origin, why)), ("line", missing(origin, why))]
        summary = _("cron job (its crontab line is not found): {command}").format(command=command)
    return Source(CRON, found[0][0].path if found else None, summary,
                  _("{runner} is cron's job runner: {evidence}").format(runner=_label(runner),
                                                                       evidence=look.program(runner).evidence),
                  tuple(details))


def _at_source(runner: ProcessRecord, job: ProcessRecord, look) -> Source:
    from psxj.sources.names import user_name

    path, origin, problem = look.job_script(job)
    user = user_name(job.euid)
    name = path.rsplit("/", 1)[-1] if path else None
    details = (("daemon", Fact(runner.ppid, _("{runner}'s parent, the at daemon").format(runner=_label(runner)))),
               ("runner", Fact(runner.pid, look.program(runner).evidence)),
               ("job", Fact(path, origin) if path else missing(origin, problem or _("not read"))),
               ("user", Fact(user or job.euid, _("/proc/{pid}/status: the job's effective user").format(pid=job.pid))))
    summary = _("at job {job}, as {user}").format(job=name or "?", user=user or job.euid)
    return Source(AT, name, summary, _("{runner} is atd's job runner: {evidence}").format(
        runner=_label(runner), evidence=look.program(runner).evidence), details)


def _login_source(snapshot: Snapshot, record: ProcessRecord, first: ProcessRecord, gates: List[ProcessRecord],
                  look, logind: Optional[dict], logind_origin: str) -> Source:
    """A login: `first` is the login's first process (its shell, or the command ssh ran); `gates` the
    login programs above it, nearest first: sshd's session process (and its monitor, up to the
    listening sshd), or login(1); empty when only logind knows the login."""
    from psxj.sources.names import user_name

    gate = gates[0] if gates else None
    sshd = gate is not None and look.program(gate).name in SSHD_PROGRAMS
    details: List[Tuple[str, Fact]] = []
    if logind and logind.get("Name"):
        details.append(("user", Fact(str(logind["Name"]), logind_origin + ": Name")))
    else:
        details.append(("user", Fact(user_name(first.euid) or first.euid, _(
            "/proc/{pid}/status: the effective user of the login's first process {first}").format(
                pid=first.pid, first=_label(first)))))
    holder = record if record.has_terminal else first
    if holder.has_terminal:
        details.append(("terminal", Fact(holder.tty, _("/proc/{pid}/stat: its controlling terminal").format(
            pid=holder.pid))))
    elif logind and logind.get("TTY"):
        details.append(("terminal", Fact(str(logind["TTY"]), logind_origin + ": TTY")))
    else:
        details.append(("terminal", Fact(None, "/proc/{pid}/stat: tty_nr".format(pid=first.pid))))
    connection = look.ssh_connection(gates) if sshd else None
    if connection is not None:
        details.append(("remote", Fact(connection.remote.text(), _(
            "the kernel's TCP table: the connection {holder} holds, accepted on {local}, where sshd {listener} "
            "listens").format(holder=connection.session_pid, local=connection.local.text(),
                              listener=connection.listener_pid))))
    elif logind and logind.get("RemoteHost"):
        details.append(("remote", Fact(str(logind["RemoteHost"]), logind_origin + ": RemoteHost")))
    elif sshd or logind and logind.get("Remote"):
        from psxj.sources.logins import utmp_for

        records, path, problem = look.utmp()
        entry = utmp_for(records, first.sid, holder.tty if holder.has_terminal else None) if path else None
        if entry is not None and entry.host:
            details.append(("remote", Fact(entry.host, _("{path}: ut_host of the session's record (written by "
                                                         "sshd, and by anything in group utmp)").format(path=path))))
        else:
            details.append(("remote", missing(_("the kernel's TCP table, logind, utmp"), _(
                "sshd's connection could not be read, and neither logind nor utmp records it ({problem})").format(
                    problem=problem or _("no record")))))
    if sshd:
        service, said = "sshd", look.program(gate).evidence
    elif gate is not None:
        service, said = look.program(gate).name, look.program(gate).evidence
    else:
        service, said = str((logind or {}).get("Service") or "login"), logind_origin + ": Service"
    details.append(("service", Fact(service, said)))
    if gate is not None:
        details.append(("session_process", Fact(gate.pid, _("the parent of {first}").format(first=_label(first)))))
    facts = dict(details)
    remote = facts.get("remote")
    if service == "sshd":
        summary = _("ssh login of {user} from {remote}").format(
            user=facts["user"].value, remote=remote.value if remote is not None and remote.value else _("an unknown "
                                                                                                      "address"))
    else:
        summary = _("{service} login of {user}").format(service=service, user=facts["user"].value)
    if facts["terminal"].value:
        summary += _(" on {tty}").format(tty=facts["terminal"].value)
    if record.pid != first.pid:
        summary += _(", through {first}").format(first=_label(first))
    origin = _("{gate} runs {program} and started the login's first process {first}").format(
        gate=_label(gate), program=look.program(gate).path, first=_label(first)) if gate is not None else logind_origin
    return Source(LOGIN, service, summary, origin, tuple(details))


def _unit_source(record: ProcessRecord, placement, look) -> Source:
    facts = placement.facts
    details: List[Tuple[str, Fact]] = []
    where = "/proc/{pid}/cgroup: {cgroup}".format(pid=record.pid, cgroup=record.cgroup)
    details.append(("manager", Fact(placement.manager.label(), _("the systemd whose init.scope is above the "
                                                                 "cgroup"))))
    details.append(("role", Fact(placement.role, facts.source if facts is not None else _("the cgroup alone"))))
    trigger, trigger_fact = unit_trigger(placement, look)
    details.append(("trigger", trigger_fact))
    summary = _("systemd unit {unit}").format(unit=placement.unit)
    if facts is not None and facts.description and facts.description != placement.unit:
        summary += f' ("{facts.description}")'
    if trigger:
        summary += ", " + trigger
    if placement.role in ("leftover", "worker", "control"):
        summary += _(" (it is its {role})").format(role=placement.role)
    return Source(UNIT, placement.unit, summary, where, tuple(details))


def unit_trigger(placement, look) -> Tuple[str, Fact]:
    """What started the unit, in words, and as a Fact: a timer, a socket or a path (TriggeredBy),
    systemd-run (a transient unit), a dependency (WantedBy, RequiredBy)."""
    facts = placement.facts
    if facts is None:
        return "", missing(_("systemd"), placement.why_no_facts or _("systemd could not be asked"))
    origin = "{source}: TriggeredBy".format(source=facts.source)
    if facts.triggered_by:
        parts = []
        for name in facts.triggered_by:
            kind = name.rsplit(".", 1)[-1]
            detail = describe_trigger(name, look.trigger(placement, name))
            parts.append("{kind} {name}".format(kind={"timer": _("timer"), "socket": _("socket"),
                                                         "path": _("path")}.get(kind, kind), name=name)
                         + (f" ({detail})" if detail else ""))
        text = _("started by {triggers}").format(triggers=", ".join(parts))
        return text, Fact(list(facts.triggered_by), origin + (_(" and the trigger's own properties")
                                                               if any(look.trigger(placement, n)
                                                                      for n in facts.triggered_by) else ""))
    if facts.transient or placement.unit.startswith("run-"):
        return _("made by systemd-run (a transient unit)"), Fact("systemd-run", "{source}: Transient=yes".format(
            source=facts.source) if facts.transient else _("its name: systemd-run names its units run-*"))
    wanting = facts.wanted_by + facts.required_by
    if wanting:
        return _("a dependency of {units}").format(units=", ".join(wanting[:3])), Fact(
            list(wanting), "{source}: WantedBy, RequiredBy".format(source=facts.source))
    return "", missing("{source}: TriggeredBy, Transient, WantedBy, RequiredBy".format(source=facts.source),
                       _("no timer, socket or path triggers it and no unit wants it: started on request "
                         "(systemctl start, or another unit's Wants=)"))


def describe_trigger(name: str, properties: Dict[str, object]) -> str:
    """A trigger unit's settings in a few words, from systemd's own properties."""
    if not properties:
        return ""
    words = []
    for base, spec, _next in properties.get("TimersCalendar") or ():
        words.append(f"{base}={spec}")
    for base, usec, _next in properties.get("TimersMonotonic") or ():
        words.append(f"{base.replace('USec', 'Sec')}={_seconds(usec)}")
    for kind, address in properties.get("Listen") or ():
        words.append(f"{kind} {address}")
    for kind, path in properties.get("Paths") or ():
        words.append(f"{kind} {path}")
    last = properties.get("LastTriggerUSec")
    if isinstance(last, int) and 0 < last < (1 << 63):
        words.append(_("last at {clock}").format(clock=time.strftime("%Y-%m-%d %H:%M:%S",
                                                                        time.localtime(last / 1e6))))
    return "; ".join(words)


def _seconds(usec: object) -> str:
    try:
        value = int(usec) / 1e6
    except (TypeError, ValueError):
        return "?"
    return f"{value:g}s"


def _supervisor_source(current: ProcessRecord, parent: ProcessRecord, kind) -> Source:
    name = kind.supervisor.rsplit(" (pid ", 1)[0]
    details = (("supervisor", Fact(kind.supervisor, _("the program its parent runs (psxj.judge.kinds)"))),
               ("pid", Fact(parent.pid, "/proc/{pid}/stat: PPID".format(pid=current.pid))))
    return Source(SUPERVISOR, name, _("supervised by {name}: {parent}").format(name=name, parent=_label(parent)),
                  kind.reasons[0] if kind.reasons else _("its parent"), details)


def _shell_job_source(record: ProcessRecord, leader: ProcessRecord, snapshot: Snapshot) -> Source:
    foreground = record.has_terminal and record.tpgid == record.pgid
    stat_of = "/proc/{pid}/stat".format(pid=record.pid)
    details = [
        ("terminal", Fact(leader.tty, _("/proc/{pid}/stat: the session leader's controlling terminal").format(
            pid=leader.pid))),
        ("session_leader", Fact(leader.pid, stat_of + ": session")),
        ("process_group", Fact(record.pgid, stat_of + ": pgrp")),
        ("foreground", Fact(foreground, stat_of + _(": tpgid, the terminal's foreground group")) if record.has_terminal
         else missing(stat_of, _("it left the terminal (it has none of its own)"))),
    ]
    if record.pid == leader.pid:
        summary = _("the shell of terminal {tty}").format(tty=leader.tty)
    else:
        summary = _("a job of {leader} on terminal {tty}").format(leader=_label(leader), tty=leader.tty)
        if record.has_terminal:
            summary += _(", in the foreground") if foreground else _(", in the background")
    provider = snapshot.parent(leader)
    if provider is not None:
        details.append(("terminal_owner", Fact(_label(provider), _("/proc/{pid}/stat: the shell's parent").format(
            pid=leader.pid))))
    origin = _("{leader} leads session {sid}, whose terminal is {tty}").format(leader=_label(leader), sid=leader.sid,
                                                                               tty=leader.tty)
    return Source(SHELL_JOB, leader.tty, summary, origin, tuple(details))


def _container_source(record: ProcessRecord, snapshot: Snapshot, look) -> Optional[Source]:
    from psxj.judge.containers import ContainerJudge

    container = ContainerJudge(snapshot).of(record)
    if container is None:
        return None
    evidence = "; ".join(container.evidence)
    details: List[Tuple[str, Fact]] = [
        ("runtime", Fact(container.runtime, evidence)),
        ("container_name", Fact(container.name, evidence) if container.name else missing(
            evidence, _("neither its cgroup nor its monitor's arguments name it"))),
        ("id", Fact(container.id, evidence) if container.id else missing(evidence, _("not in its cgroup or "
                                                                                     "monitor's arguments"))),
    ]
    state = look.container_state(container, snapshot)
    if state is not None and state.problem is None:
        details.append(("image", Fact(state.image, state.origin) if state.image else missing(
            state.origin, _("the runtime's state names no image"))))
        if not container.name and state.name:
            details[1] = ("container_name", Fact(state.name, state.origin))
    else:
        details.append(("image", missing(state.origin if state is not None else container.runtime,
                                         state.problem if state is not None else
                                         _("psxj does not read {runtime}'s state").format(runtime=container.runtime))))
    if container.monitor is not None:
        details.append(("monitor", Fact(container.monitor, _("the init's parent, a runtime's monitor"))))
    if container.init is not None:
        details.append(("init", Fact(container.init, _("PID 1 of its PID namespace (NSpid)"))))
    name = dict(details)["container_name"].value
    image = dict(details)["image"].value
    summary = container.label() if not name or container.name else _("{runtime} container {name}").format(
        runtime=container.runtime, name=name)
    if image:
        summary += _(", image {image}").format(image=image)
    return Source(CONTAINER, name or container.id, summary, evidence, tuple(details))


def find_source(snapshot: Snapshot, record: ProcessRecord, look) -> Source:
    """The one thing responsible for `record` (see the module's doc for the order)."""
    kind = kind_of(snapshot, record)
    if record.kernel_thread:
        return Source(KERNEL, "kthreadd", _("a kernel thread: the kernel runs it"),
                      "/proc/{pid}/stat: PF_KTHREAD".format(pid=record.pid))
    if record.pid == 1 and record.ppid == 0:
        return Source(KERNEL, "kernel", _("PID 1, started by the kernel at boot"),
                      "/proc/1/stat: PID 1, PPID 0")
    if kind.container is not None or record.namespace_init:
        container = _container_source(record, snapshot, look)
        if container is not None:
            return container
    placement = kind.placement
    if placement is not None and placement.login_session is not None:
        return _logind_login(snapshot, record, placement, look)
    if placement is not None and placement.scope:
        return _unit_source(record, placement, look)
    chain = list(reversed(snapshot.ancestry(record)))
    for index in range(len(chain) - 1, -1, -1):
        found = _source_at(snapshot, record, chain, index, look)
        if found is not None:
            return found
    return _unknown(chain[0] if chain else record, kind_of(snapshot, chain[0]) if chain else kind,
                    _("its chain ends at {top}, whose parent is not in the table").format(
                        top=_label(chain[0] if chain else record)))


def _unit_starts_here(current: ProcessRecord, parent: Optional[ProcessRecord], placement, is_record: bool) -> bool:
    """Is `current` where its unit begins: the unit's main or control process, a process systemd itself
    forked for it, or (for the process asked about) one the unit holds in another role."""
    if placement.role in ("main", "control"):
        return True
    if parent is not None and parent.pid == placement.manager.record.pid:
        return True
    return is_record and placement.role in ("leftover", "unknown", "member")


def _source_at(snapshot: Snapshot, record: ProcessRecord, chain: List[ProcessRecord], index: int,
               look) -> Optional[Source]:
    current = chain[index]
    parent = chain[index - 1] if index else None
    kind = kind_of(snapshot, current)
    if parent is not None and parent.pid > 1 and not parent.namespace_init:
        program = look.program(parent)
        grandparent = chain[index - 2] if index >= 2 else None
        if _trusted(program, CRON_PROGRAMS) and grandparent is not None and \
                look.program(grandparent).path == program.path:
            return _cron_source(parent, grandparent, current, look)
        if _trusted(program, AT_PROGRAMS) and grandparent is not None and \
                look.program(grandparent).path == program.path:
            return _at_source(parent, current, look)
        if _trusted(program, SSHD_PROGRAMS + LOGIN_PROGRAMS):
            return _login_source(snapshot, record, current, _gates(chain[:index], look), look, None, "")
    if kind.supervisor and kind.adopted is False and not kind.supervisor.startswith("systemd") and \
            parent is not None and f"(pid {parent.pid})" in kind.supervisor:
        return _supervisor_source(current, parent, kind)
    placement = kind.placement
    if placement is not None and _unit_starts_here(current, parent, placement, current is record):
        own = kind_of(snapshot, record).placement if current is not record else None
        source = _unit_source(record, own if own is not None and own.unit == placement.unit else placement, look)
        if current is not record:
            source = source._replace(summary=source.summary + _(", through its {role} process {pid}").format(
                role=placement.role, pid=_label(current)))
        return source
    if current.session_leader and current.has_terminal:
        return _shell_job_source(record, current, snapshot)
    if kind.name == "daemon":
        return _daemon_source(record, current, kind)
    if current.pid == 1 or current.namespace_init:
        if current is record:
            return None
        top = chain[index + 1]
        top_kind = kind_of(snapshot, top)
        if top_kind.name == "orphan" and top.sid != current.sid:
            leader = snapshot.get(top.sid, top.host)
            if leader is not None and leader.sid == top.sid and leader.state != "Z" and leader.pid != top.pid:
                return _session_job_source(record, top, leader, current)
            return _unknown(top, top_kind, _("{top} was adopted by {init}").format(top=_label(top),
                                                                                   init=_label(current)))
        return _init_source(record, current, top)
    return None


def _session_job_source(record: ProcessRecord, top: ProcessRecord, leader: ProcessRecord,
                        init: ProcessRecord) -> Source:
    """`top` was adopted by init, but it is still in the session of `leader`, which lives: a job of that
    session (a shell's, a script's) whose parent exited."""
    stat_of = "/proc/{pid}/stat".format(pid=top.pid)
    details = (("session_leader", Fact(leader.pid, stat_of + ": session")),
               ("terminal", Fact(leader.tty if leader.has_terminal else None, "/proc/{pid}/stat: tty_nr".format(
                   pid=leader.pid))),
               ("process_group", Fact(top.pgid, stat_of + ": pgrp")))
    summary = _("a job of the session of {leader}, whose parent exited: {init} adopted {top}").format(
        leader=_label(leader), init=_label(init), top=_label(top))
    if leader.has_terminal:
        summary += _(" (terminal {tty})").format(tty=leader.tty)
    return Source(SHELL_JOB, leader.comm, summary, _("{top} is in session {sid}, which {leader} leads and which is "
                                                     "alive").format(top=_label(top), sid=top.sid,
                                                                     leader=_label(leader)), details)


def _gates(above: List[ProcessRecord], look) -> List[ProcessRecord]:
    """The login programs directly above a login's first process, nearest first: sshd's session process
    (and, with privilege separation, its monitor), up to the listening sshd; or login(1)."""
    gates = []
    for ancestor in reversed(above):
        if not _trusted(look.program(ancestor), SSHD_PROGRAMS + LOGIN_PROGRAMS):
            break
        gates.append(ancestor)
    return gates


def _daemon_source(record: ProcessRecord, daemon: ProcessRecord, kind) -> Source:
    details = (("pid", Fact(daemon.pid, "/proc/{pid}/stat".format(pid=daemon.pid))),)
    if daemon.session_leader:
        what = _("it called setsid(): it leads session {sid}, which has no terminal, and its starter has "
                 "exited").format(sid=daemon.sid)
    else:
        what = _("daemon-shaped: no terminal, and its session {sid}'s leader has exited while it stayed in that "
                 "leader's process group. A double fork leaves this shape, and so does the job of a shell that "
                 "led its own session and exited (cron's, a login's, podman exec's): without live events psxj "
                 "cannot tell which").format(sid=daemon.sid)
    if daemon.pid == record.pid:
        summary = _("a daemon: {what}").format(what=what)
    else:
        summary = _("a child of the daemon {daemon}: {what}").format(daemon=_label(daemon), what=what)
    return Source(DAEMON, daemon.comm, summary, "; ".join(kind.reasons[:2]), details)


def _init_source(record: ProcessRecord, init: ProcessRecord, top: ProcessRecord) -> Source:
    """`top`, the process of the chain just below init, was started by init or handed to it."""
    what = _("PID 1") if init.pid == 1 else _("the init of its PID namespace")
    if record.pid == top.pid:
        summary = _("started by {init}, {what}, or handed to it when its starter exited (init adopts "
                    "orphans)").format(init=_label(init), what=what)
    else:
        summary = _("descends from {init}, {what}, through {top}: nothing between them supervises it").format(
            init=_label(init), what=what, top=_label(top))
    return Source(INIT, init.comm, summary, _("/proc/{pid}/stat: the PPID chain up to {init}").format(
        pid=record.pid, init=init.pid), (("pid", Fact(init.pid, "/proc/{pid}/stat".format(pid=init.pid))),))


def _unknown(top: ProcessRecord, kind, what: str) -> Source:
    reasons = "; ".join(kind.reasons[:3])
    return Source(UNKNOWN, None, _("unknown: what started it has exited and left no trace psxj can read"),
                  "psxj.judge.kinds: {pid} is {kind}".format(pid=top.pid, kind=kind.name),
                  unknown=_("{what}: {reasons}. Only live events seen when it started (the interface records "
                            "them) could say what started it").format(what=what, reasons=reasons))


def _logind_login(snapshot: Snapshot, record: ProcessRecord, placement, look) -> Source:
    logind = look.login_session(placement)
    origin = _("logind (D-Bus): session {session}").format(session=placement.login_session)
    chain = list(reversed(snapshot.ancestry(record)))
    first, gates = None, []
    for index in range(len(chain) - 1, 0, -1):
        if _trusted(look.program(chain[index - 1]), SSHD_PROGRAMS + LOGIN_PROGRAMS):
            first, gates = chain[index], _gates(chain[:index], look)
            break
    if first is None:
        leader = snapshot.get(record.sid)
        first = leader if leader is not None else record
    source = _login_source(snapshot, record, first, gates, look, logind, origin)
    details = source.details + (("session", Fact(placement.login_session, "/proc/{pid}/cgroup: {unit}".format(
        pid=record.pid, unit=placement.unit))),)
    if logind is None:
        details += (("logind", missing(origin, _("logind could not be asked"))),)
    return source._replace(details=details)


# --- context and warnings ---------------------------------------------------------------------

def _status_fact(facts, key: str, origin: str, convert=lambda v: v) -> Fact:
    from psxj.judge.facts import Gone, Unreadable

    try:
        value = facts.status().get(key)
    except (Unreadable, Gone) as exc:
        return missing(origin, str(exc) or _("the process has exited"))
    return Fact(convert(value.strip()), origin) if value is not None else missing(origin, _("not in the file"))


def gather_context(snapshot: Snapshot, record: ProcessRecord, source: Source, look) -> Tuple[Tuple[str, Fact], ...]:
    from psxj.judge.facts import Gone, Unreadable
    from psxj.sources.names import user_name

    proc = look.proc(record)
    stat_origin = "/proc/{pid}/stat".format(pid=record.pid)
    status_origin = "/proc/{pid}/status".format(pid=record.pid)
    context: List[Tuple[str, Fact]] = []
    context.append(("user", Fact(f"{user_name(record.euid) or record.euid} ({record.euid})", status_origin + ": Uid")
                    if record.euid is not None else missing(status_origin, _("not read"))))
    if record.start_time is not None:
        context.append(("started", Fact(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.start_time)),
                                        stat_origin + _(": starttime, after the boot time in /proc/stat"))))
    if not record.kernel_thread:
        program = look.program(record)
        context.append(("executable", Fact(program.path + (_(" (deleted)") if program.deleted else ""),
                                           program.evidence)
                        if program.path else missing(f"/proc/{record.pid}/exe", program.evidence)))
        try:
            context.append(("cwd", Fact(proc.cwd(), f"/proc/{record.pid}/cwd")))
        except (Unreadable, Gone) as exc:
            context.append(("cwd", missing(f"/proc/{record.pid}/cwd", str(exc) or _("the process has exited"))))
    context.append(("terminal", Fact(record.tty if record.has_terminal else None, stat_origin + ": tty_nr")))
    leader = snapshot.get(record.sid)
    if record.sid == 0:
        session_text = _("0, the kernel's (it never called setsid(), nor did its ancestors)")
    elif record.session_leader:
        session_text = _("{sid}, which it leads").format(sid=record.sid)
    elif leader is not None and leader.sid == record.sid and leader.state != "Z":
        session_text = _("{sid}, led by {leader}").format(sid=record.sid, leader=_label(leader))
    else:
        session_text = _("{sid}, whose leader has exited").format(sid=record.sid)
    context.append(("session", Fact(session_text, stat_origin + ": session")))
    group = snapshot.get(record.pgid)
    if record.pgid == 0:
        group_text = "0"
    elif record.group_leader:
        group_text = _("{pgid}, which it leads").format(pgid=record.pgid)
    elif group is not None:
        group_text = _("{pgid}, led by {leader}").format(pgid=record.pgid, leader=_label(group))
    else:
        group_text = _("{pgid}, whose leader has exited").format(pgid=record.pgid)
    if record.has_terminal:
        group_text += _(", the terminal's foreground group") if record.tpgid == record.pgid else \
            _(", in the background")
    context.append(("process_group", Fact(group_text, stat_origin + ": pgrp, tpgid")))
    if record.kernel_thread:
        return tuple(context)
    try:
        held = look.sockets(record)
    except OSError as exc:
        context.append(("listening", missing("/proc/{pid}/fd and /proc/{pid}/net".format(pid=record.pid),
                                             exc.strerror or str(exc))))
        held = None
    if held is not None:
        listening = sorted({entry.label() for entry, _fds in held if entry.listening})
        context.append(("listening", Fact(listening, _("the kernel's tables in its network namespace "
                                                       "(/proc/{pid}/net/tcp, udp, tcp6, udp6), joined to its "
                                                       "descriptors").format(pid=record.pid))))
    kind = kind_of(snapshot, record)
    placement = kind.placement
    if placement is not None:
        facts = placement.facts
        said = facts.source if facts is not None else ""
        context.append(("unit", Fact(placement.unit, "/proc/{pid}/cgroup".format(pid=record.pid))))
        if facts is None:
            why = placement.why_no_facts or _("systemd could not be asked")
            for key in ("unit_description", "unit_file", "unit_state", "restarts"):
                context.append((key, missing(_("systemd"), why)))
        else:
            context.append(("unit_description", Fact(facts.description or None, said + ": Description",
                                                     None if facts.description else _("the unit has none"))))
            fragment = facts.fragment_path or None
            context.append(("unit_file", Fact(fragment, said + ": FragmentPath", None if fragment else
                                              _("none: a transient unit, or a scope"))))
            context.append(("unit_state", Fact(f"{facts.active_state}/{facts.sub_state}",
                                               said + ": ActiveState, SubState")))
            context.append(("restarts", Fact(facts.n_restarts, said + ": NRestarts") if facts.n_restarts is not None
                            else missing(said + ": NRestarts", _("only a service counts restarts"))))
    if source.kind != CONTAINER and kind.container:
        context.append(("container", Fact(kind.container, "psxj.judge.containers")))
    rss = _status_fact(proc, "VmRSS", status_origin + ": VmRSS")
    context.append(("memory", rss))
    if record.cpu_seconds is not None:
        context.append(("cpu_time", Fact(record.cpu_seconds, stat_origin + _(": utime + stime, seconds"))))
    return tuple(context)


def find_warnings(snapshot: Snapshot, record: ProcessRecord, source: Source,
                  context: Tuple[Tuple[str, Fact], ...], look, now: Optional[float] = None) -> Tuple[Warning, ...]:
    from psxj.judge.facts import Gone, Unreadable

    now = time.time() if now is None else now
    facts = dict(context)
    found: List[Warning] = []
    status_origin = "/proc/{pid}/status".format(pid=record.pid)
    kind = kind_of(snapshot, record)
    if record.state == "Z":
        found.append(Warning("zombie", _("a zombie: it has exited and its parent {ppid} has not collected its "
                                         "status").format(ppid=record.ppid), status_origin + ": State"))
    if record.state in ("T", "t"):
        found.append(Warning("stopped", _("stopped (STAT {stat}): it runs no code until it gets SIGCONT").format(
            stat=record.stat), status_origin + ": State"))
    if record.euid == 0 and not record.kernel_thread:
        found.append(Warning("root", _("it runs as root"), status_origin + ": Uid"))
    elif record.euid is not None and not record.kernel_thread:
        try:
            effective = int(look.proc(record).status().get("CapEff", "0").strip() or "0", 16)
        except (Unreadable, Gone, ValueError):
            effective = 0
        dangerous = [name for bit, name in sorted(DANGEROUS_CAPABILITIES.items()) if effective & (1 << bit)]
        if dangerous:
            found.append(Warning("capabilities", _("not root, but it holds {caps}").format(caps=", ".join(dangerous)),
                                 status_origin + ": CapEff"))
    listening = facts.get("listening")
    if listening is not None and listening.value:
        exposed = [label for label in listening.value if not _loopback_label(label)]
        if exposed:
            found.append(Warning("public-listener", _("it listens beyond this machine's loopback: {sockets}").format(
                sockets=", ".join(exposed)), listening.origin))
    restarts = facts.get("restarts")
    if restarts is not None and isinstance(restarts.value, int) and restarts.value > RESTARTS_MANY:
        found.append(Warning("restarts", _("its unit was restarted {count} times").format(count=restarts.value),
                             restarts.origin))
    memory = facts.get("memory")
    kib = _kib(memory.value) if memory is not None else None
    if kib is not None and kib > HIGH_MEMORY_KIB:
        found.append(Warning("high-memory", _("it holds {gib:.1f} GiB of memory (resident)").format(
            gib=kib / (1 << 20)), memory.origin))
    if record.cpu_seconds is not None and record.cpu_seconds > HIGH_CPU_SECONDS:
        found.append(Warning("high-cpu", _("it has used {hours:.1f} hours of CPU time").format(
            hours=record.cpu_seconds / 3600), "/proc/{pid}/stat: utime + stime".format(pid=record.pid)))
    if record.start_time is not None and now - record.start_time > LONG_RUNNING_SECONDS:
        found.append(Warning("long-running", _("it has run for {days} days").format(
            days=int((now - record.start_time) // 86400)), "/proc/{pid}/stat: starttime".format(pid=record.pid)))
    program = look.program(record)
    if program.deleted:
        found.append(Warning("deleted-executable", _("its executable was deleted or replaced since it started (an "
                                                     "upgrade it has not been restarted for, or an intruder)"),
                             program.evidence))
    cwd = facts.get("cwd")
    mode = look.cwd_mode(record) if cwd is not None and cwd.value is not None else None
    if mode is not None and mode & 0o002:
        found.append(Warning("scratch-cwd", _("it works in {cwd}, a directory every user may write to (mode "
                                              "{mode:04o})").format(cwd=cwd.value, mode=mode & 0o7777),
                             "stat of /proc/{pid}/cwd".format(pid=record.pid)))
    preload = _preload(look, record)
    if preload is not None:
        found.append(preload)
    if kind.name == "daemon" and not record.session_leader and not record.has_terminal:
        found.append(Warning("daemon-shape", _("it may be an orphaned job that only looks like a daemon: it never "
                                               "led a session of its own, so it may never have called setsid()"),
                             "; ".join(kind.reasons[:2])))
    if kind.name == "orphan" and not record.has_terminal:
        found.append(Warning("orphan", _("an orphaned job that may look like a daemon: it was adopted but never "
                                         "detached itself, and nothing supervises it"),
                             "; ".join(kind.reasons[:2])))
    placement = kind.placement
    if placement is not None and placement.role == "leftover":
        facts_of_unit = placement.facts
        if facts_of_unit is not None and not facts_of_unit.running:
            text = _("left behind in {unit}'s cgroup: the unit is {state}, and systemd no longer watches it").format(
                unit=placement.unit, state=facts_of_unit.active_state)
        else:
            text = _("left in {unit}'s cgroup by a job the unit ran: systemd neither started nor watches "
                     "it").format(unit=placement.unit)
        found.append(Warning("leftover", text, "; ".join(placement.reasons[:2])))
    if record.has_terminal and not record.kernel_thread:
        try:
            ignored = int(look.proc(record).status().get("SigIgn", "0").strip() or "0", 16) & 1
        except (Unreadable, Gone, ValueError):
            ignored = 0
        text = _("still in the session of terminal {tty}: when the terminal hangs up, its session gets "
                 "SIGHUP").format(tty=record.tty)
        if ignored:
            text += _(" (it ignores SIGHUP: nohup)")
        found.append(Warning("terminal-session", text, "/proc/{pid}/stat: tty_nr; /proc/{pid}/status: SigIgn".format(
            pid=record.pid)))
    return tuple(found)


def _loopback_label(label: str) -> bool:
    """tcp 127.0.0.1:80, tcp6 [::1]:80 are loopback; the any-address and real addresses are not."""
    import ipaddress

    address = label.split(" ", 1)[-1].rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _kib(value: object) -> Optional[int]:
    try:
        return int(str(value).split()[0])
    except (ValueError, IndexError):
        return None


def _preload(look, record: ProcessRecord) -> Optional[Warning]:
    from psxj.judge.facts import Gone, Unreadable

    try:
        environment = look.proc(record).environ()
    except (Unreadable, Gone):
        return None
    preload = environment.get("LD_PRELOAD")
    if preload:
        return Warning("ld-preload", _("LD_PRELOAD={value}: a library is loaded into it before its own").format(
            value=preload), "/proc/{pid}/environ".format(pid=record.pid))
    return None


# --- the whole answer -------------------------------------------------------------------------

def explain(snapshot: Snapshot, record: ProcessRecord, look) -> Why:
    """Why `record` runs, from this snapshot and what `look` reads of the system now."""
    chain = build_chain(snapshot, record)
    source = find_source(snapshot, record, look)
    context = gather_context(snapshot, record, source, look)
    warnings = find_warnings(snapshot, record, source, context, look)
    return Why(record.pid, record.comm, record.command, record.start_ticks, chain, source, context, warnings)
