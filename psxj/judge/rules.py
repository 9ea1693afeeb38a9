"""The rules a daemon is judged by, each a small function from facts to (verdict, evidence).

Three standards, chosen per process by psxj.judge.profiles:
- classic: the tutorial's rules (fork, setsid, fork again, umask, chdir, close descriptors, /dev/null,
  a pidfile lock, syslog, SIGHUP/SIGTERM), as a SysV daemon must do them itself;
- new-style: systemd's daemon(7) for a process a service manager or supervisor runs in the
  foreground: it needs no fork, no pidfile; it logs to stdout/stderr or the journal, exits on SIGTERM;
- container: PID 1 of a container, which must reap orphans, handle SIGTERM (a PID 1 without a
  handler ignores it) and pass signals on.

Evidence says only what was seen. A rule that cannot see (another user's process) says unknown and
why; a rule the process's supervisor makes unnecessary says n/a and why.
"""

from __future__ import annotations

import functools
import os
import stat
import time
from typing import Callable, Dict, NamedTuple, Optional, Set, Tuple

from psxj.i18n import N_, _, ngettext
from psxj.judge.facts import ProcFacts, SystemFacts, Unreadable, same_open_file, signal_bit
from psxj.judge.kinds import Kind, program_names, session_detached
from psxj.judge.locks import proc_locks
from psxj.model import ProcessRecord, Snapshot

PASS, FAIL, UNKNOWN, NOT_NEEDED = "pass", "fail", "unknown", "n/a"


class Context(NamedTuple):
    """Everything a rule may look at for one process."""
    snapshot: Snapshot
    record: ProcessRecord
    kind: Kind
    facts: ProcFacts
    system: SystemFacts


Judgement = Tuple[str, str]


class Rule(NamedTuple):
    id: str
    help: str                                   # what it asks and what passes: also `psxj audit --help`
    judge: Callable[[Context], Judgement]


def _label(record: Optional[ProcessRecord], pid: int) -> str:
    return f"{pid} ({record.comm})" if record is not None else _("{pid} (not in the table)").format(pid=pid)


# --- the tutorial's rules (classic) ----------------------------------------------------------

def orphaned(c: Context) -> Judgement:
    r, parent = c.record, c.snapshot.parent(c.record)
    if r.ppid == 0:
        return NOT_NEEDED, _("PPID 0: the kernel started it; it has no parent to leave")
    if c.kind.adopted:
        return PASS, f"PPID {r.ppid}: {c.kind.reasons[1] if len(c.kind.reasons) > 1 else _('adopted')}"
    if parent is None:
        return UNKNOWN, _("PPID {ppid} is not in the table: psxj cannot tell who it is").format(ppid=r.ppid)
    if c.kind.supervisor:
        return FAIL, (_("PPID {parent}, its supervisor, started it and is alive: it never forked away (its "
                        "supervisor makes that unnecessary: see --profile new-style)").format(
                          parent=_label(parent, r.ppid)))
    return FAIL, _("PPID {parent} is alive: it never forked away from it").format(parent=_label(parent, r.ppid))


def _shape_in_doubt(c: Context, detached: bool) -> bool:
    """Adopted, with the shape a double fork leaves, and judged an orphan all the same: in a login's
    scope or a container, where a shell's session makes that shape (psxj.judge.kinds says why)."""
    return detached and c.kind.name == "orphan" and bool(c.kind.adopted) and not c.record.session_leader


def own_session(c: Context) -> Judgement:
    detached, why = session_detached(c.snapshot, c.record)
    if _shape_in_doubt(c, detached):
        doubt = c.kind.reasons[2] if len(c.kind.reasons) > 2 else ""
        raise Unreadable(_("SID {sid}: {why}; but {doubt}").format(sid=c.record.sid, why=why, doubt=doubt))
    return (PASS if detached else FAIL), f"SID {c.record.sid}: {why}"


def no_tty(c: Context) -> Judgement:
    r = c.record
    facts = _unit_facts(c)
    if facts is not None and (facts.standard_input.startswith("tty") or facts.tty_path) and \
            c.kind.role in ("main", "control"):
        return NOT_NEEDED, _("its unit gives it a terminal (StandardInput={input}, TTYPath={path}): serving a "
                             "terminal is its job (a getty)").format(input=facts.standard_input,
                                                                    path=facts.tty_path or "-")
    if r.has_terminal:
        return FAIL, _("TTY {tty}, TPGID {tpgid}: a terminal can send it SIGHUP and SIGINT").format(
                         tty=r.tty,
                         tpgid=r.tpgid)
    return PASS, _("TTY ?, TPGID {tpgid}: no controlling terminal").format(tpgid=r.tpgid)


def not_session_leader(c: Context) -> Judgement:
    r = c.record
    if r.session_leader:
        return FAIL, _("SID {sid} == PID: a session leader acquires a terminal when it opens one "
                       "(no second fork)").format(sid=r.sid)
    leader = c.snapshot.get(r.sid)
    if leader is not None and leader.sid == r.sid and leader.state != "Z":
        return PASS, (_("SID {sid} != PID {pid}: not a session leader, so it cannot acquire a terminal; but the "
                        "session is {leader}'s (see own-session)").format(
                          sid=r.sid,
                          pid=r.pid,
                          leader=_label(leader, r.sid)))
    if r.pgid == r.sid and r.sid != 0 and not _shape_in_doubt(c, True):
        return PASS, (_("SID {sid} != PID {pid}, and the session's leader has exited while it stayed in the "
                        "leader's group: the shape the second fork leaves").format(sid=r.sid, pid=r.pid))
    return PASS, _("SID {sid} != PID {pid}: not a session leader, so it cannot acquire a terminal").format(
                     sid=r.sid,
                     pid=r.pid)


def umask(c: Context) -> Judgement:
    status = c.facts.status()
    if "Umask" not in status:
        raise Unreadable(_("umask: this kernel does not show it (Linux 4.7+ does)"))
    value = int(status["Umask"].strip(), 8)
    shown = f"Umask {value:04o}"
    if value == 0:
        return PASS, _("{shown}: the classic umask(0)").format(shown=shown)
    if value & 0o700:
        return FAIL, _("{shown}: removes the owner's own permission bits").format(shown=shown)
    return PASS, _("{shown}: not the classic 0000, but it only removes group/other bits (accepted)").format(
                     shown=shown)


def cwd_root(c: Context) -> Judgement:
    cwd = c.facts.cwd()
    if cwd == "/":
        return PASS, "cwd /"
    try:
        root = c.facts.root()
    except Unreadable:
        root = "/"
    if root != "/" and cwd == root:
        return PASS, _("cwd is the root of its chroot ({root}): it keeps only that directory, its own root").format(
                         root=root)
    # The rule is there so that no other filesystem is kept busy (it could not be unmounted). A
    # spool or data directory on the root filesystem keeps none: accepted, like umask 0022.
    same = c.facts.same_filesystem_as_root()
    if same:
        return PASS, (_("cwd {cwd}: not /, but on its root filesystem (the same device as its /), so it keeps no "
                        "other filesystem busy (accepted)").format(cwd=cwd))
    if same is None:
        raise Unreadable(_("cwd {cwd}: which filesystem it is on is not readable").format(cwd=cwd))
    return FAIL, _("cwd {cwd}: on another filesystem than /, which it keeps busy (it cannot be unmounted)").format(
                     cwd=cwd)


def _is_terminal(target: str) -> bool:
    return target.startswith(("/dev/pts/", "/dev/tty", "/dev/console"))


def _socket_activation(c: Context) -> range:
    """The descriptors systemd passed it (LISTEN_FDS, for this LISTEN_PID), if readable. LISTEN_PID is
    its PID in its own PID namespace (NSpid), as the systemd that started it knows it."""
    try:
        env = c.facts.environ()
    except Unreadable:
        return range(0)
    if env.get("LISTEN_PID") != str(c.record.inner_pid) or not env.get("LISTEN_FDS", "").isdigit():
        return range(0)
    return range(3, 3 + min(int(env["LISTEN_FDS"]), 65536))


def _unit_facts(c: Context):
    """systemd's facts about the process's unit (psxj.sources.systemd.UnitFacts), when it answered."""
    placement = c.kind.placement
    return getattr(placement, "facts", None)


def _manager_pid(c: Context) -> Optional[int]:
    placement = c.kind.placement
    return placement.manager.record.pid if placement is not None else None


def _shared_within(c: Context, pid: int) -> Optional[str]:
    """Why sharing a descriptor with `pid` is expected: it is the unit's manager (a socket it passed,
    or its fd store), or a process of the same unit (a service's master and its workers)."""
    placement = c.kind.placement
    if placement is None:
        return None
    facts = placement.facts
    if pid == placement.manager.record.pid:
        # Sockets passed at start are LISTEN_FDS (fds_closed keeps them first); what else systemd
        # holds is the fd store's, where there is one, or a socket unit's.
        if facts is not None and facts.fd_store_max:
            return _("kept by {manager} in the unit's fd store (FileDescriptorStoreMax={max}, {count} stored)").format(
                manager=placement.manager.label(), max=facts.fd_store_max, count=facts.fd_store_count)
        sockets = [t for t in (facts.triggered_by if facts else ()) if t.endswith(".socket")]
        if sockets:
            return _("passed by {manager} from {sockets} (socket activation)").format(
                manager=placement.manager.label(), sockets=", ".join(sockets))
        return _("held by {manager}, the unit's manager, too").format(manager=placement.manager.label())
    other = c.snapshot.get(pid)
    if other is not None and other.cgroup and other.cgroup == c.record.cgroup:
        return _("shared with {process} of the same unit").format(process=_label(other, pid))
    return None


def fds_closed(c: Context) -> Judgement:
    descriptors = [d for d in c.facts.descriptors() if d.fd > 2]
    if not descriptors:
        return PASS, _("no descriptors above 2")
    family = c.system.family(c.record.pid)
    activated = _socket_activation(c)
    problems, kept = [], []
    for d in descriptors:
        shown = f"fd {d.fd} -> {d.target}"
        if _is_terminal(d.target):
            problems.append(_("{shown} (a terminal)").format(shown=shown))
            continue
        if d.fd in activated:
            kept.append(_("{shown} (socket activation: LISTEN_FDS)").format(shown=shown))
            continue
        if _harmless_device(d):
            kept.append(_("{shown} (not compared: nothing reaches the starter through it)").format(shown=shown))
            continue
        sharer = _outside_sharer(c, d, family)
        if isinstance(sharer, tuple):  # expected: its manager's socket or fd store, its own unit's
            kept.append(f"{shown} ({sharer[1]})")
            continue
        if sharer is not None:
            problems.append(_("{shown} ({sharer}: inherited, never closed)").format(shown=shown, sharer=sharer))
            continue
        note = _(" (not close-on-exec)") if d.close_on_exec is False and not d.target.startswith(("socket:", "pipe:")) \
            else ""
        kept.append(shown + note)
    if problems:
        return FAIL, "; ".join(problems + kept)
    return PASS, _("descriptors above 2, none shared with a process outside it: ") + ", ".join(kept)


# Inherited or not, these carry nothing from whoever started the process: comparing them (kcmp)
# with every other holder on the machine would cost an audit of 5,000 daemons minutes.
_HARMLESS_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"})


def _harmless_device(d) -> bool:
    """One of those devices, proven by what the descriptor points at, not by its name: in another
    mount namespace (a container) "/dev/null" can be any file. Anything else is compared."""
    return d.target in _HARMLESS_DEVICES and d.identity is not None and d.identity == _device_identity(d.target)


@functools.lru_cache(maxsize=None)
def _device_identity(path: str) -> Optional[Tuple[int, int]]:
    """(st_dev, st_ino) of this machine's own device node, if it is a character device."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISCHR(st.st_mode) else None


def _outside_sharer(c: Context, d, family: Set[int]):
    """Who outside the process and its descendants shares this open file, if anyone: the other end
    of a pipe, or (kcmp) the very same open file description, as a starter's log left on fd 3 is.
    A sharer that is expected (its unit's manager, its own unit) comes back as (None, why)."""
    # Lazily: thousands of processes can share one pipe; the first outsider answers for a pipe.
    others = ((pid, fd) for pid, fd in c.system.holders(d.target) if pid not in family)
    expected = None
    for pid, fd in others:
        if not d.target.startswith("pipe:") and not same_open_file(c.record.pid, d.fd, pid, fd):
            continue
        why = _shared_within(c, pid)
        if why is not None:
            expected = expected or (None, why)
            continue
        if d.target.startswith("pipe:"):
            return _("other end held by {process}, outside it").format(process=_label(c.snapshot.get(pid), pid))
        return _("the same open file as {process}'s fd {fd}, outside it").format(
                   process=_label(c.snapshot.get(pid), pid),
                   fd=fd)
    return expected


def stdio_devnull(c: Context) -> Judgement:
    fds = c.facts.fds()
    journal = c.kind.supervisor == "systemd"
    shown, bad = [], False
    for fd in (0, 1, 2):
        target = fds.get(fd)
        if target is None:
            shown.append(_("fd {fd} closed (the next open() would get it)").format(fd=fd))
            bad = True
        elif target == "/dev/null":
            shown.append(f"fd {fd} -> {target}")
        elif fd > 0 and target.startswith("socket:") and journal:
            shown.append(_("fd {fd} -> {target} (systemd's journal stream: accepted)").format(fd=fd, target=target))
        else:
            shown.append(f"fd {fd} -> {target}")
            bad = True
    return (FAIL if bad else PASS), "; ".join(shown)


def pidfile_lock(c: Context) -> Judgement:
    """A write lock held through the process's own descriptors (fdinfo), which is right even when
    /proc/locks names another PID (cron takes its flock before its last fork). Without the
    descriptors, /proc/locks (world-readable) still shows locks taken under its own PID."""
    try:
        descriptors = c.facts.descriptors()
    except Unreadable:
        descriptors = None
    if descriptors is not None and any(d.flags is not None for d in descriptors):
        held = [_("{lock_words} lock on {target}, held through its fd {fd}").format(
                    lock_words=_lock_words(line),
                    target=d.target,
                    fd=d.fd)
                for d in descriptors for line in d.locks if " WRITE " in f" {line} "]
        if held:
            return PASS, "; ".join(held)
        return FAIL, (_("holds no write lock through any of its descriptors (other guards, such as an O_EXCL "
                        "pidfile or a port only one process can bind, are not checked)"))
    mine = [lock for lock in proc_locks() if lock.pid == c.record.pid and lock.mode == "WRITE"]
    if mine:
        return PASS, "; ".join(_("{kind} WRITE lock on inode {inode} held by {pid} (its descriptors are not "
                                 "readable, so the file is not named)").format(
                                   kind=lock.kind,
                                   inode=lock.inode,
                                   pid=lock.pid) for lock in mine)
    raise Unreadable(_("pidfile-lock: no write lock in /proc/locks under its PID, but its descriptors are not "
                       "readable, and a lock taken before a fork shows the taker's PID"))


def _lock_words(line: str) -> str:
    """`1: FLOCK  ADVISORY  WRITE 1234 08:01:1234 0 EOF` -> `FLOCK WRITE`."""
    fields = line.split()
    return " ".join(fields[1:2] + fields[3:4]) if len(fields) > 3 else line


def _dev_log_names(c: Context) -> Set[str]:
    """What /dev/log is called where the process runs: in its own mount namespace (a container's
    /dev/log is a link to its own journal's socket), read as a link, never followed."""
    names = {"/dev/log"}
    try:
        target = os.readlink(f"/proc/{c.record.pid}/root/dev/log")
    except OSError:
        return names
    names.add(target if target.startswith("/") else os.path.normpath(os.path.join("/dev", target)))
    return names


def syslog(c: Context) -> Judgement:
    if not os.path.lexists(f"/proc/{c.record.pid}/root/dev/log") and not os.path.exists("/dev/log"):
        raise Unreadable(_("no /dev/log where it runs: no syslog daemon to connect to"))
    connected = _connected_to_dev_log(c)
    if connected:
        return PASS, connected
    raise Unreadable(_("no socket connected to /dev/log now; many daemons open it for each message (sshd, atd) "
                       "or send unconnected datagrams (haproxy in a chroot): psxj cannot tell"))


def _connected_to_dev_log(c: Context) -> Optional[str]:
    """A socket of the process connected to the syslog daemon: /dev/log, or a chroot's own dev/log
    that the syslog daemon binds for it (Debian's rsyslog does, for postfix and haproxy)."""
    names = _dev_log_names(c)
    sockets = c.system.unix_sockets(c.record.pid)
    if not sockets:
        return None
    servers = {inode for inode, (_kind, name, _peer) in sockets.items()
               if name in names or name.endswith("/dev/log")}
    for fd, target in sorted(c.facts.fds().items()):
        if target.startswith("socket:["):
            info = sockets.get(int(target[8:-1]))
            if info and info[2] in servers:
                return _("fd {fd} -> {target} connected to /dev/log").format(fd=fd, target=target)
    return None


def _taken_synchronously(c: Context, name: str) -> Optional[str]:
    """Taken by signalfd or sigtimedwait (tini, sd-event daemons): handled, and how."""
    try:
        waiting = "sigtimedwait" in c.facts.wchan()
    except Unreadable:
        waiting = False
    if waiting:
        # While it waits the kernel unblocks the awaited signals (SigBlk shows them clear), and which
        # ones it awaits is not shown: the wait itself is the evidence.
        return _("{name} taken by sigtimedwait(), which it is waiting in now").format(name=name)
    if not c.facts.signal_mask("SigBlk") & signal_bit(name):
        return None
    try:
        descriptors = c.facts.descriptors()
    except Unreadable:
        descriptors = []
    for d in descriptors:
        if d.target == "anon_inode:[signalfd]" and (d.sigmask is None or d.sigmask & signal_bit(name)):
            return _("{name} blocked and read from a signalfd (fd {fd})").format(name=name, fd=d.fd)
    return None


def _handled(c: Context, name: str) -> Tuple[Optional[bool], str]:
    if c.facts.signal_mask("SigCgt") & signal_bit(name):
        return True, _("{name} caught (SigCgt)").format(name=name)
    synchronous = _taken_synchronously(c, name)
    if synchronous:
        return True, synchronous
    if c.facts.signal_mask("SigIgn") & signal_bit(name):
        return False, _("{name} ignored").format(name=name)
    if c.facts.signal_mask("SigBlk") & signal_bit(name):
        return False, _("{name} blocked, and no signalfd or sigtimedwait takes it").format(name=name)
    return None, _("{name} not handled (its default action: terminate)").format(name=name)


def signals(c: Context) -> Judgement:
    """Classic: SIGHUP reloads and SIGTERM exits cleanly, both handled."""
    results = [_handled(c, name) for name in ("HUP", "TERM")]
    evidence = "; ".join(text for _ok, text in results)
    missing = [name for name, (ok, _text) in zip(("HUP", "TERM"), results) if not ok]
    if missing:
        return FAIL, _("{evidence}; not handled: {missing}").format(evidence=evidence, missing=' '.join(missing))
    return PASS, evidence


# --- new-style (daemon(7)) ------------------------------------------------------------------

def supervised(c: Context) -> Judgement:
    if c.kind.name == "leftover":
        return FAIL, _("left over in {unit}'s cgroup: systemd neither started it nor watches it ({reason})").format(
            unit=c.kind.unit, reason=c.kind.reasons[1] if len(c.kind.reasons) > 1 else c.kind.reasons[0])
    if not c.kind.supervisor:
        parent = c.snapshot.parent(c.record)
        return FAIL, _("no service manager or supervisor started it (its parent is {parent})").format(
                         parent=_label(parent, c.record.ppid))
    evidence = c.kind.reasons[0]
    try:
        invocation = c.facts.environ().get("INVOCATION_ID")
    except Unreadable:
        invocation = None
    if invocation:
        evidence += _("; INVOCATION_ID={invocation} (systemd set it)").format(invocation=invocation[:32])
    return PASS, evidence


_LOGGERS = frozenset({"svlogd", "multilog", "s6-log", "logger", "systemd-journald", "supervisord", "runsv",
                      "rotatelogs", "cronolog", "tini", "daemon", "conmon", "containerd-shim"})


def _is_the_journal(c: Context) -> Optional[str]:
    """The process holds the journal's own stdout socket (/run/systemd/journal/stdout): it is the
    journal, which writes its log itself."""
    sockets = c.system.unix_sockets(c.record.pid)
    for fd, target in sorted(c.facts.fds().items()):
        if target.startswith("socket:["):
            info = sockets.get(int(target[8:-1]))
            if info and info[1] == "/run/systemd/journal/stdout":
                return _("fd {fd} -> {target} is bound to /run/systemd/journal/stdout: it is the journal, which "
                         "stores its own messages").format(fd=fd, target=target)
    return None


def logging(c: Context) -> Judgement:
    """daemon(7): log to stdout/stderr (the journal, a supervisor's pipe) or syslog. stderr kept is
    enough: a daemon that discards its stdout and writes its errors to a file or the journal logs."""
    journal = _is_the_journal(c)
    if journal:
        return NOT_NEEDED, journal
    facts = _unit_facts(c)
    if facts is not None and facts.standard_output.startswith("tty") and c.kind.role in ("main", "control"):
        return NOT_NEEDED, _("its unit sends its output to its terminal (StandardOutput={output}): serving "
                             "that terminal is its job").format(output=facts.standard_output)
    fds = c.facts.fds()
    shown = []
    verdicts = []
    for fd in (1, 2):
        target = fds.get(fd)
        if target is None:
            shown.append(_("fd {fd} closed").format(fd=fd))
            verdicts.append(FAIL)
        elif _is_terminal(target):
            shown.append(_("fd {fd} -> {target} (a terminal: lost when it goes)").format(fd=fd, target=target))
            verdicts.append(FAIL)
        elif target == "/dev/null":
            shown.append(f"fd {fd} -> /dev/null")
            verdicts.append(UNKNOWN)
        elif target.startswith(("socket:", "pipe:")):
            reader = _reader_of(c, target)
            shown.append(f"fd {fd} -> {target}" + (_(" (read by {reader})").format(reader=reader) if reader else ""))
            verdicts.append(PASS)
        else:
            shown.append(_("fd {fd} -> {target} (a file)").format(fd=fd, target=target))
            verdicts.append(PASS)
    if FAIL in verdicts:
        return FAIL, "; ".join(shown)
    if verdicts and verdicts[-1] == PASS:  # stderr is kept: where its errors go
        return PASS, "; ".join(shown)
    if UNKNOWN in verdicts:
        syslog_socket = _connected_to_dev_log(c)
        if syslog_socket:
            return PASS, "; ".join(shown) + _("; logs to syslog: {syslog_socket}").format(syslog_socket=syslog_socket)
        raise Unreadable("; ".join(shown) + _(": output is discarded; it may log through syslog per message or "
                                              "to its own files"))
    return PASS, "; ".join(shown)


def _reader_of(c: Context, target: str) -> Optional[str]:
    family = c.system.family(c.record.pid)
    for pid, _fd in c.system.holders(target):
        if pid not in family:
            return _label(c.snapshot.get(pid), pid)
    if target.startswith("socket:["):
        info = c.system.unix_sockets(c.record.pid).get(int(target[8:-1]))
        if info and info[2]:
            for inode, (_kind, name, _peer) in c.system.unix_sockets(c.record.pid).items():
                if inode == info[2] and name:
                    return name
    return None


def service_signals(c: Context) -> Judgement:
    """daemon(7): SIGTERM ends it cleanly; SIGHUP reloads (or the documentation says otherwise)."""
    term_ok, term = _handled(c, "TERM")
    hup_ok, hup = _handled(c, "HUP")
    if term_ok is False:
        return FAIL, _("{term}: its manager's stop would have to kill it; {hup}").format(term=term, hup=hup)
    if term_ok is None:
        term += _(" (its manager counts that as a clean stop)")
    if hup_ok is None:
        raise Unreadable(_("{term}; {hup}: SIGHUP would end it, which is right only if its documentation "
                           "says so").format(
                             term=term,
                             hup=hup))
    if hup_ok is False and c.facts.signal_mask("SigIgn") & signal_bit("HUP"):
        # Ignored, not blocked: a hang-up cannot end it. It does not reload on it either; some
        # supervisors (libslack daemon) ignore it for their client by design.
        who = _(", as its supervisor {supervisor} arranges").format(supervisor=c.kind.supervisor) \
            if c.kind.supervisor else ""
        return PASS, _("{term}; HUP ignored{who}: a hang-up cannot end it (it does not reload on it)").format(
                         term=term,
                         who=who)
    return (PASS if hup_ok else FAIL), f"{term}; {hup}"


def readiness(c: Context) -> Judgement:
    facts = _unit_facts(c)
    if facts is not None and c.kind.role == "main":
        sockets = [t for t in facts.triggered_by if t.endswith(".socket")]
        up = facts.active_state in ("active", "reloading")
        if facts.type.startswith("notify") and up:
            return PASS, _("Type={type}: systemd waited for its READY=1 (sd_notify), and the unit is {state}: it "
                           "came ({source})").format(type=facts.type, state=facts.active_state, source=facts.source)
        if facts.type == "dbus" and up:
            return PASS, _("Type=dbus: systemd waited for it to take its bus name, and the unit is {state} "
                           "({source})").format(state=facts.active_state, source=facts.source)
        if sockets:
            return PASS, _("socket activation: {sockets} listen for it (TriggeredBy, {source})").format(
                sockets=", ".join(sockets), source=facts.source)
        if facts.type in ("simple", "exec", "forking", "oneshot", "idle"):
            return NOT_NEEDED, _("Type={type}: systemd takes it as ready when it starts ({how}); no readiness "
                                 "protocol is asked of it ({source})").format(
                type=facts.type, source=facts.source,
                how=_("when ExecStart= has forked and exited") if facts.type == "forking" else _("at once"))
    env = c.facts.environ()
    said = []
    if env.get("NOTIFY_SOCKET"):
        said.append(_("NOTIFY_SOCKET={notify_socket}: it can tell its manager when it is ready (sd_notify)").format(
                        notify_socket=env['NOTIFY_SOCKET']))
    activated = _socket_activation(c)
    if activated:
        said.append(ngettext("socket activation: {count} listening socket passed (LISTEN_FDS, LISTEN_PID)",
                             "socket activation: {count} listening sockets passed (LISTEN_FDS, LISTEN_PID)",
                             len(activated)).format(count=len(activated)))
    if said:
        return PASS, "; ".join(said)
    return NOT_NEEDED, _("no readiness protocol or socket activation in use: fine for a service of Type=simple "
                         "or exec")


# --- a service's worker ----------------------------------------------------------------------

def part_of_service(c: Context) -> Judgement:
    """A worker belongs to a running unit, and the unit's stop reaches it (its whole cgroup)."""
    placement = c.kind.placement
    if placement is None or c.kind.name != "worker":
        return FAIL, _("it is not a descendant of a unit's main process")
    if placement.role == "member":
        facts = placement.facts
        return PASS, _("a process of {unit} ({active}/{sub}), which has no MainPID: systemd watches its cgroup as a "
                       "whole, and its stop reaches every process there (KillMode={mode})").format(
            unit=placement.unit, active=facts.active_state, sub=facts.sub_state, mode=facts.kill_mode or "?")
    facts = placement.facts
    if facts is None:
        raise Unreadable(_("{unit}: systemd's facts are unknown ({why}); its cgroup alone shows it in the unit").format(
            unit=placement.unit, why=placement.why_no_facts))
    evidence = _("a descendant of {unit}'s MainPID {main}; the unit is {active}/{sub}").format(
        unit=placement.unit, main=facts.main_pid, active=facts.active_state, sub=facts.sub_state)
    if facts.kill_mode in ("process", "none"):
        return FAIL, evidence + _("; KillMode={mode}: stopping the unit leaves it running").format(mode=facts.kill_mode)
    return PASS, evidence + _("; KillMode={mode}: stopping the unit ends it too").format(
        mode=facts.kill_mode or "control-group")


def worker_signals(c: Context) -> Judgement:
    """systemd stops a unit by sending SIGTERM to every process of its cgroup: a worker must end on it
    (handled, or its default action). Reloading is the main process's business."""
    facts = _unit_facts(c)
    ok, term = _handled(c, "TERM")
    if facts is not None and facts.kill_mode == "mixed":
        return NOT_NEEDED, _("{term}; KillMode=mixed: systemd sends SIGTERM to the main process only, which stops "
                             "its workers itself (SIGKILL reaches the rest only if they outstay the timeout)").format(
            term=term)
    if ok is False and facts is not None and facts.exec_stop:
        return NOT_NEEDED, _("{term}; the unit has ExecStop=, which systemd runs first: its main process shuts "
                             "the service down, and SIGTERM reaches only what is left").format(term=term)
    if ok is False:
        return FAIL, _("{term}: the unit's stop would have to kill it").format(term=term)
    return PASS, term


# --- container (PID 1) -----------------------------------------------------------------------

def reaps_children(c: Context) -> Judgement:
    """Zombies that stay under it: checked twice, so a child caught between exit and wait() is not blamed."""
    children = c.snapshot.children(c.record.pid)
    zombies = {z.identity for z in children if z.state == "Z"}
    if zombies:
        time.sleep(0.2)
        still = []
        from psxj.sources.proc import read_one

        for pid, start in zombies:
            now = read_one(pid)
            if now is not None and now.state == "Z" and now.start_ticks == start:
                still.append(pid)
        if still:
            return FAIL, (ngettext("{count} zombie child not reaped: {pids}; as PID 1 it inherits every orphan "
                                   "and must wait() for them",
                                   "{count} zombie children not reaped: {pids}; as PID 1 it inherits every orphan "
                                   "and must wait() for them", len(still)).format(
                              count=len(still),
                              pids=', '.join(map(str, sorted(still)[:10]))))
    return PASS, ngettext("no zombie children ({count} child): it reaps what it inherits",
                          "no zombie children ({count} children): it reaps what it inherits",
                          len(children)).format(count=len(children))


def pid1_signals(c: Context) -> Judgement:
    ok, term = _handled(c, "TERM")
    if ok:
        return PASS, term
    # The kernel delivers to a PID 1 only the signals it has a handler for (pid_namespaces(7)): without
    # one, TERM's default action (terminate) never happens. Said plainly, not as "default: terminate".
    why = _("no handler for TERM") if ok is None else term
    if c.record.namespace_init:
        return FAIL, _("{why}: the kernel does not deliver TERM to a PID 1 without a handler, so TERM does "
                       "nothing; `docker stop` waits its timeout, then kills it").format(why=why)
    return FAIL, _("{why}: the kernel does not deliver TERM to a PID 1 without a handler, so TERM does nothing "
                   "and cannot stop it").format(why=why)


_FORWARDERS = frozenset({"tini", "docker-init", "dumb-init", "catatonit", "podman-init", "s6-svscan", "runit",
                         "systemd", "init"})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox"})


def forwards_signals(c: Context) -> Judgement:
    names = set(program_names(c.record))
    children = c.snapshot.children(c.record.pid)
    if names & _FORWARDERS:
        return PASS, _("{comm} passes SIGTERM and other signals on to its children").format(comm=c.record.comm)
    if not children:
        return NOT_NEEDED, _("it has no children to pass signals to")
    if names & _SHELLS:
        return FAIL, _("a shell ({comm}) as PID 1 does not pass SIGTERM on to its children (use exec, or tini)").format(
                         comm=c.record.comm)
    raise Unreadable(_("psxj cannot see whether it passes signals on to its children"))


RULES: Dict[str, Rule] = {rule.id: rule for rule in (
    Rule("orphaned", N_("fork() and let the parent exit, so init adopts the daemon. Pass: its parent is PID 1 or "
                        "a PID namespace's init (which adopt every orphan), or an adoption was observed."), orphaned),
    Rule("own-session", N_("setsid(): a session of its own, without a terminal. Pass: it leads its session, or "
                           "the leader has exited and it stayed in the leader's group (after the second fork). "
                           "Fail: a session another live process leads (dbus-activated services, nohup jobs)."),
         own_session),
    Rule("no-tty", N_("No controlling terminal, so no terminal can send it SIGHUP or SIGINT. Pass: TTY ?."), no_tty),
    Rule("not-session-leader", N_("Fork again after setsid(), so it can never acquire a terminal by opening one "
                                  "(System V rule). Pass: SID differs from PID."), not_session_leader),
    Rule("umask", N_("umask(0), so files get exactly the modes the daemon asks for. The classic rule wants 0000; "
                     "psxj also passes a umask that only removes group/other bits (0022, 0027, 0077), which "
                     "modern guidance recommends. Fail: the umask removes the owner's own bits."), umask),
    Rule("cwd-root", N_("chdir(\"/\"), so the daemon keeps no filesystem busy. Pass: cwd is /, or the root of "
                        "its chroot."), cwd_root),
    Rule("fds-closed", N_("Close every inherited descriptor. Every descriptor above 2 is named. Fail: a "
                          "terminal, a pipe whose other end a process outside the daemon holds, or an open file "
                          "it shares with a process outside it (kcmp: a starter's log left on fd 3). "
                          "Socket-activation descriptors (LISTEN_FDS) are expected."), fds_closed),
    Rule("stdio-devnull", N_("0, 1 and 2 reopened on /dev/null. Pass: all three on /dev/null; also a socket on "
                             "stdout/stderr of a systemd service (the journal's stream). Fail: closed, a "
                             "terminal, or a file or pipe."), stdio_devnull),
    Rule("pidfile-lock", N_("A write lock on a pidfile so only one instance runs. Pass: a write lock held "
                            "through one of its own open files (fdinfo), whichever PID /proc/locks names; "
                            "without root, a lock under its own PID in /proc/locks."), pidfile_lock),
    Rule("syslog", N_("Log through syslog. Pass: a unix socket connected to /dev/log. No socket now is unknown, "
                      "not fail: many daemons connect for each message."), syslog),
    Rule("signals", N_("Handle SIGHUP (reload) and SIGTERM (clean exit). Pass: caught (SigCgt), or blocked and "
                       "taken synchronously through a signalfd or sigtimedwait()."), signals),
    Rule("supervised", N_("new-style: a service manager or supervisor started it and watches it (systemd unit, "
                          "runit, supervisord, s6, tini, dumb-init, libslack daemon, a container's init)."),
         supervised),
    Rule("logging", N_("new-style: stdout and stderr go where they are kept (the journal, a supervisor's or "
                       "logger's pipe, a file), or it logs to syslog. Fail: a terminal or closed."), logging),
    Rule("service-signals", N_("new-style: SIGTERM ends it cleanly (handled, or its default action, which its "
                               "manager counts as a clean stop); SIGHUP reloads, or ending on it must be "
                               "documented."), service_signals),
    Rule("readiness", N_("new-style: readiness notification (NOTIFY_SOCKET, sd_notify) or socket activation "
                         "(LISTEN_FDS/LISTEN_PID), where used; neither is required."), readiness),
    Rule("part-of-service", N_("worker: a descendant of its unit's main process, the unit is running, and the "
                               "unit's stop reaches it (KillMode is not process or none)."), part_of_service),
    Rule("worker-signals", N_("worker: SIGTERM, which systemd sends to every process of the unit when it stops "
                              "it, ends it (handled, or its default action)."), worker_signals),
    Rule("reaps-children", N_("container: as PID 1 it inherits every orphan of its namespace and must wait() for "
                              "them. Fail: zombie children that stay."), reaps_children),
    Rule("pid1-signals", N_("container: SIGTERM handled. The kernel delivers to a PID 1 only the signals it "
                            "handles: without a handler TERM does nothing, and `docker stop` waits, then kills."),
         pid1_signals),
    Rule("forwards-signals", N_("container: signals passed on to its children (tini, dumb-init and the like do; "
                                "a shell does not)."), forwards_signals),
)}
