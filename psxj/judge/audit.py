"""The daemon checklist: judge a running process, from the outside, against the classic daemon rules.

The rules are the tutorial's (and systemd's daemon(7) for SysV daemons): fork so init
adopts you, setsid(), fork again, umask(0), chdir("/"), close inherited descriptors,
0/1/2 on /dev/null, a pidfile write lock for a single instance, syslog, SIGHUP and
SIGTERM handled. Each verdict is pass, fail or unknown, with the evidence read from
/proc. What psxj accepts, rule by rule, is in RULE_HELP: it is also the help text.
When a fact cannot be read (another user's process, no root) the verdict is unknown
with the reason, never a guess.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Dict, List, NamedTuple, Optional, Tuple

from psxj.judge.locks import proc_locks
from psxj.judge.rules import adopts_orphans, is_daemon
from psxj.model import ProcessRecord, Snapshot
from psxj.render.escape import safe_text

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"

RULE_HELP: Dict[str, str] = {
    "orphaned": "fork() and let the parent exit, so init adopts the daemon. Pass: the parent is PID 1, "
                "a PID namespace's init, or a known subreaper.",
    "own-session": "setsid(): a session of its own, free of the terminal it was started from. Pass: the "
                   "session has no terminal and is not the parent's session (or the process leads it).",
    "no-tty": "No controlling terminal, so no terminal can send it SIGHUP or SIGINT. Pass: TTY ?.",
    "not-session-leader": "Fork again after setsid(), so it can never acquire a terminal by opening one "
                          "(System V rule). Pass: SID differs from PID.",
    "umask": "umask(0), so files get exactly the modes the daemon asks for. The classic rule wants 0000; "
             "psxj also passes a umask that only removes group/other bits (0022, 0027, 0077), which "
             "modern guidance recommends. Fail: the umask removes the owner's own bits.",
    "cwd-root": "chdir(\"/\"), so the daemon keeps no filesystem busy. Pass: cwd is /.",
    "fds-closed": "Close every inherited descriptor. Fail: a descriptor above 2 on a terminal, or a pipe "
                  "whose other end a process outside the daemon's own family holds (inherited from "
                  "whoever started it). Files, sockets and its own pipes are its business.",
    "stdio-devnull": "0, 1 and 2 reopened on /dev/null. Pass: all three on /dev/null; also a socket on "
                     "stdout/stderr under systemd (the journal's stream, a systemd service's normal "
                     "logging). Fail: closed, a terminal, or a file or pipe.",
    "pidfile-lock": "A write lock on a pidfile so only one instance runs. Pass: the process holds a "
                    "POSIX (fcntl/lockf) or flock write lock, shown with the file's path.",
    "syslog": "Log through syslog. Pass: a unix socket connected to /dev/log. Unknown when this machine "
              "has no /dev/log to connect to.",
    "signals": "Handle SIGHUP (reload) and SIGTERM (clean exit). Pass: both caught (SigCgt).",
}

_SIGNAL_NAMES = {1: "HUP", 2: "INT", 3: "QUIT", 10: "USR1", 12: "USR2", 13: "PIPE", 15: "TERM", 17: "CHLD"}


class Verdict(NamedTuple):
    id: str
    verdict: str
    evidence: str


class Report(NamedTuple):
    pid: int
    command: str
    daemon: bool
    gone: bool
    rules: Tuple[Verdict, ...]

    @property
    def ok(self) -> bool:
        return not self.gone and all(rule.verdict != FAIL for rule in self.rules)

    def counts(self) -> Dict[str, int]:
        return {v: sum(1 for rule in self.rules if rule.verdict == v) for v in (PASS, FAIL, UNKNOWN)}

    def as_json(self) -> dict:
        return {"pid": self.pid, "daemon": self.daemon, "gone": self.gone,
                "rules": [{"id": r.id, "verdict": r.verdict, "evidence": r.evidence} for r in self.rules]}


class Unreadable(Exception):
    """A fact the user may not read; the message says which."""


class Gone(Exception):
    """The process exited while it was being audited."""


class ProcFacts:
    """The /proc files the rules read, for one process. Errors become Unreadable or Gone here, once."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.base = f"/proc/{pid}"

    def _guard(self, what: str, action):
        try:
            return action()
        except PermissionError:
            raise Unreadable(f"{what}: permission denied (another user's process; run as root to see it)") from None
        except (FileNotFoundError, ProcessLookupError):
            if not os.path.exists(self.base):
                raise Gone() from None
            raise Unreadable(f"{what}: not available") from None

    def status(self) -> Dict[str, str]:
        def read() -> Dict[str, str]:
            with open(f"{self.base}/status", encoding="utf-8", errors="replace") as f:
                return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        return self._guard("status", read)

    def cwd(self) -> str:
        return self._guard("cwd", lambda: os.readlink(f"{self.base}/cwd"))

    def fds(self) -> Dict[int, str]:
        def read() -> Dict[int, str]:
            found = {}
            for name in os.listdir(f"{self.base}/fd"):
                try:
                    found[int(name)] = os.readlink(f"{self.base}/fd/{name}")
                except FileNotFoundError:
                    continue  # closed between listing and reading; anything else is not ours to see
            return found
        return self._guard("open descriptors", read)

    def fd_identity(self, fd: int) -> Optional[Tuple[int, int]]:
        try:
            st = os.stat(f"{self.base}/fd/{fd}")
        except OSError:
            return None
        return st.st_dev, st.st_ino


def _mask_names(hex_mask: str) -> List[str]:
    mask = int(hex_mask.strip(), 16)
    return [_SIGNAL_NAMES.get(n, str(n)) for n in range(1, 65) if mask & (1 << (n - 1))]


def _describe_fd(fd: int, target: str) -> str:
    return f"fd {fd} -> {target}"


def _is_terminal(target: str) -> bool:
    return target.startswith(("/dev/pts/", "/dev/tty", "/dev/console"))


# --- shared system facts: one read per audit run, however many processes -------------------

class SystemFacts:
    """Facts that belong to the whole machine, read once per audit run: pipe holders, unix sockets."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._pipe_holders: Optional[Dict[str, List[int]]] = None
        self._unix: Optional[Dict[int, Tuple[int, str, int]]] = None

    def pipe_holders(self, target: str) -> List[int]:
        """PIDs holding a descriptor on this pipe (`pipe:[N]`)."""
        if self._pipe_holders is None:
            holders: Dict[str, List[int]] = {}
            for record in self.snapshot.records:
                try:
                    names = os.listdir(f"/proc/{record.pid}/fd")
                except OSError:
                    continue
                for name in names:
                    try:
                        link = os.readlink(f"/proc/{record.pid}/fd/{name}")
                    except OSError:
                        continue
                    if link.startswith("pipe:"):
                        holders.setdefault(link, []).append(record.pid)
            self._pipe_holders = holders
        return self._pipe_holders.get(target, [])

    def unix_sockets(self) -> Dict[int, Tuple[int, str, int]]:
        """inode -> (type, bound path, peer inode), from the kernel's sock_diag (ss -x uses it)."""
        if self._unix is None:
            try:
                self._unix = _unix_sockets_by_netlink()
            except OSError:
                self._unix = {}
        return self._unix


def _unix_sockets_by_netlink() -> Dict[int, Tuple[int, str, int]]:
    netlink_sock_diag, sock_diag_by_family = 4, 20
    show_name, show_peer = 0x01, 0x04
    attr_name, attr_peer = 0, 2
    request = struct.pack("=BBHIII8x", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, show_name | show_peer)
    header = struct.pack("=IHHII", 16 + len(request), sock_diag_by_family, 0x1 | 0x300, 1, 0)
    found: Dict[int, Tuple[int, str, int]] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, netlink_sock_diag) as nl:
        nl.sendall(header + request)
        while True:
            data = nl.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind == 3:  # NLMSG_DONE
                    return found
                if kind == 2 or length < 16:  # NLMSG_ERROR
                    raise OSError("sock_diag refused")
                sock_type, inode = struct.unpack_from("=xBxxI", data, offset + 16)
                name, peer = "", 0
                attr = offset + 16 + 16
                while attr + 4 <= offset + length:
                    attr_len, attr_type = struct.unpack_from("=HH", data, attr)
                    if attr_len < 4:
                        break
                    value = data[attr + 4:attr + attr_len]
                    if attr_type == attr_name:
                        name = value.rstrip(b"\0").decode("utf-8", "replace").replace("\0", "@")
                    elif attr_type == attr_peer:
                        peer = struct.unpack("=I", value[:4])[0]
                    attr += (attr_len + 3) & ~3
                found[inode] = (sock_type, name, peer)
                offset += (length + 3) & ~3


# --- the rules ------------------------------------------------------------------------------

def _rule(rule_id: str, judge) -> Verdict:
    """Run one rule. Evidence quotes paths and names another user controls (a cwd, a descriptor's
    target, a lock's file): it is escaped here, once, like COMMAND, for every output."""
    try:
        verdict, evidence = judge()
    except Unreadable as exc:
        return Verdict(rule_id, UNKNOWN, safe_text(str(exc)))
    return Verdict(rule_id, verdict, safe_text(evidence))


def _orphaned(snapshot: Snapshot, r: ProcessRecord):
    parent = snapshot.parent(r)
    name = parent.comm if parent else "not in the table"
    if adopts_orphans(parent):
        return PASS, f"PPID {r.ppid} ({name}): its starter exited and {name} adopted it"
    return FAIL, f"PPID {r.ppid} ({name}) is the process that started it, still alive: it never forked away"


def _own_session(snapshot: Snapshot, r: ProcessRecord):
    parent = snapshot.parent(r)
    if r.has_terminal:
        return FAIL, f"SID {r.sid} has terminal {r.tty}: it is still in the session it was started from"
    if parent is not None and parent.sid == r.sid and not r.session_leader:
        return FAIL, f"SID {r.sid} is its parent's session ({parent.pid} {parent.comm}): it never called setsid()"
    return PASS, f"SID {r.sid}, no terminal" + (f"; parent's SID {parent.sid}" if parent else "")


def _no_tty(r: ProcessRecord):
    if r.has_terminal:
        return FAIL, f"TTY {r.tty}, TPGID {r.tpgid}"
    return PASS, f"TTY ?, TPGID {r.tpgid}"


def _not_session_leader(r: ProcessRecord):
    if r.session_leader:
        return FAIL, f"SID {r.sid} == PID: a session leader acquires a terminal when it opens one (no second fork)"
    return PASS, f"SID {r.sid} != PID {r.pid}: the second fork happened"


def _umask(facts: ProcFacts):
    status = facts.status()
    if "Umask" not in status:
        raise Unreadable("umask: this kernel does not show it (Linux 4.7+ does)")
    umask = int(status["Umask"].strip(), 8)
    shown = f"Umask {umask:04o}"
    if umask == 0:
        return PASS, f"{shown}: the classic umask(0)"
    if umask & 0o700:
        return FAIL, f"{shown}: removes the owner's own permission bits"
    return PASS, f"{shown}: not the classic 0000, but it only removes group/other bits (accepted)"


def _cwd_root(facts: ProcFacts):
    cwd = facts.cwd()
    if cwd == "/":
        return PASS, "cwd /"
    return FAIL, f"cwd {cwd}: keeps that filesystem busy"


def _family(snapshot: Snapshot, pid: int) -> set:
    """The process and its descendants."""
    members, frontier = {pid}, [pid]
    children: Dict[int, List[int]] = {}
    for record in snapshot.records:
        children.setdefault(record.ppid, []).append(record.pid)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in members:
                members.add(child)
                frontier.append(child)
    return members


def _fds_closed(snapshot: Snapshot, system: SystemFacts, facts: ProcFacts):
    fds = facts.fds()
    problems, kept = [], []
    family = None
    for fd, target in sorted(fds.items()):
        if fd <= 2:
            continue
        if _is_terminal(target):
            problems.append(_describe_fd(fd, target) + " (a terminal)")
        elif target.startswith("pipe:"):
            family = family if family is not None else _family(snapshot, facts.pid)
            outsiders = [p for p in system.pipe_holders(target) if p not in family]
            if outsiders:
                holder = snapshot.get(outsiders[0])
                who = f"{outsiders[0]} {holder.comm}" if holder else str(outsiders[0])
                problems.append(_describe_fd(fd, target) + f" (other end held by {who}, outside the daemon)")
            else:
                kept.append(_describe_fd(fd, target))
        else:
            kept.append(_describe_fd(fd, target))
    if problems:
        return FAIL, "; ".join(problems)
    return PASS, ("descriptors above 2: " + ", ".join(kept)) if kept else "no descriptors above 2"


def _stdio_devnull(snapshot: Snapshot, facts: ProcFacts):
    fds = facts.fds()
    init = snapshot.get(1)
    under_systemd = init is not None and init.comm == "systemd"
    shown, bad = [], False
    for fd in (0, 1, 2):
        target = fds.get(fd)
        if target is None:
            shown.append(f"fd {fd} closed (the next open() would get it)")
            bad = True
        elif target == "/dev/null":
            shown.append(_describe_fd(fd, target))
        elif fd > 0 and target.startswith("socket:") and under_systemd:
            shown.append(_describe_fd(fd, target) + " (systemd's journal stream: accepted)")
        else:
            shown.append(_describe_fd(fd, target))
            bad = True
    return (FAIL if bad else PASS), "; ".join(shown)


def _pidfile_lock(facts: ProcFacts):
    mine = [lock for lock in proc_locks() if lock.pid == facts.pid and lock.mode == "WRITE"]
    if not mine:
        return FAIL, "holds no write lock (/proc/locks): nothing stops a second instance"
    by_identity = {}
    for fd, target in facts.fds().items():
        identity = facts.fd_identity(fd)
        if identity is not None:
            by_identity[identity] = target
    described = []
    for lock in mine:
        path = by_identity.get((lock.device, lock.inode), f"inode {lock.inode} (no open descriptor names it)")
        described.append(f"{lock.kind} {lock.mode} lock on {path} held by {lock.pid}")
    return PASS, "; ".join(described)


def _syslog(system: SystemFacts, facts: ProcFacts):
    if not os.path.exists("/dev/log"):
        raise Unreadable("no /dev/log on this machine: no syslog daemon to connect to")
    names = {"/dev/log", os.path.realpath("/dev/log")}
    sockets = system.unix_sockets()
    if not sockets:
        raise Unreadable("the kernel's socket table (sock_diag) is not available")
    servers = {inode for inode, (_, name, _) in sockets.items() if name in names}
    mine = []
    for fd, target in facts.fds().items():
        if target.startswith("socket:["):
            inode = int(target[8:-1])
            info = sockets.get(inode)
            if info and info[2] in servers:
                return PASS, f"fd {fd} -> {target} connected to /dev/log"
            mine.append(target)
    return FAIL, "no socket connected to /dev/log" + (f" (its sockets: {', '.join(mine[:4])})" if mine else "")


def _signals(facts: ProcFacts):
    status = facts.status()
    caught = set(_mask_names(status.get("SigCgt", "0")))
    ignored = set(_mask_names(status.get("SigIgn", "0")))
    blocked = set(_mask_names(status.get("SigBlk", "0")))
    wanted = ["HUP", "TERM"]
    evidence = f"SigCgt has {' '.join(n for n in wanted if n in caught) or 'neither HUP nor TERM'}"
    missing = [n for n in wanted if n not in caught]
    notes = [f"{n} ignored" for n in missing if n in ignored] + [f"{n} blocked" for n in wanted if n in blocked]
    if notes:
        evidence += "; " + ", ".join(notes)
    if missing:
        return FAIL, evidence + f"; not caught: {' '.join(missing)}"
    return PASS, evidence


def audit_process(snapshot: Snapshot, record: ProcessRecord, system: Optional[SystemFacts] = None) -> Report:
    system = system or SystemFacts(snapshot)
    facts = ProcFacts(record.pid)
    try:
        rules = (
            _rule("orphaned", lambda: _orphaned(snapshot, record)),
            _rule("own-session", lambda: _own_session(snapshot, record)),
            _rule("no-tty", lambda: _no_tty(record)),
            _rule("not-session-leader", lambda: _not_session_leader(record)),
            _rule("umask", lambda: _umask(facts)),
            _rule("cwd-root", lambda: _cwd_root(facts)),
            _rule("fds-closed", lambda: _fds_closed(snapshot, system, facts)),
            _rule("stdio-devnull", lambda: _stdio_devnull(snapshot, facts)),
            _rule("pidfile-lock", lambda: _pidfile_lock(facts)),
            _rule("syslog", lambda: _syslog(system, facts)),
            _rule("signals", lambda: _signals(facts)),
        )
    except Gone:
        return Report(record.pid, record.command, False, True, ())
    daemon = is_daemon(record, snapshot.parent(record))
    return Report(record.pid, record.command, daemon, False, rules)


def format_report(report: Report) -> str:
    lines = [f"PID {report.pid}  {report.command}"]
    if report.gone:
        lines.append("  gone: the process exited during the audit")
        return "\n".join(lines)
    lines.append(f"  qualifies as a daemon: {'yes' if report.daemon else 'no'}")
    for rule in report.rules:
        lines.append(f"  {rule.verdict.upper():8} {rule.id:19} {rule.evidence}")
    counts = report.counts()
    lines.append(f"  {counts[PASS]} pass, {counts[FAIL]} fail, {counts[UNKNOWN]} unknown")
    return "\n".join(lines)


def summary_line(report: Report) -> str:
    if report.gone:
        return f"{report.pid:>7}  gone"
    counts = report.counts()
    failed = [r.id for r in report.rules if r.verdict == FAIL]
    unknown = [r.id for r in report.rules if r.verdict == UNKNOWN]
    text = f"{report.pid:>7}  {counts[PASS]:2} pass {counts[FAIL]:2} fail {counts[UNKNOWN]:2} unknown"
    if failed:
        text += f"  fail: {','.join(failed)}"
    if unknown:
        text += f"  unknown: {','.join(unknown)}"
    return f"{text}  {report.command[:60]}"
