"""Login sessions: the user, the terminal and, for ssh, the remote address (a source), each from
where it can be proven, in this order of trust:

- the kernel's TCP table: sshd's per-connection process holds the client's connection, accepted on a
  port its parent (the listening sshd) listens on; the remote end of that connection is the client.
  Nothing a user writes can change it (SSH_CLIENT in an environment can be set by anyone).
- logind (over D-Bus, psxj.sources.systemd): a session's Name, TTY, RemoteHost, Service, Leader. It
  records what PAM told it: right, as far as sshd and login told PAM.
- utmp (/run/utmp): ut_user, ut_line, ut_host of the session's leader. Written by sshd and login,
  but also by anything in group utmp (screen, tmux, terminal emulators): a claim, said as one.
"""

from __future__ import annotations

import struct
from typing import List, NamedTuple, Optional

from psxj.sources.sockets import ESTABLISHED, LISTEN, Endpoint, KernelSocket, sockets_of

UTMP_PATHS = ("/run/utmp", "/var/run/utmp")
USER_PROCESS = 7
# glibc's struct utmp on Linux (x86-64 and most 64-bit ports): 384 bytes, 32-bit times.
_UTMP = struct.Struct("=h2xi32s4s32s256shhii i16s20x")
_MAX_UTMP = 4 << 20


class SshConnection(NamedTuple):
    session_pid: int          # the sshd process holding the connection
    listener_pid: int         # the sshd that listens on the port it came in on
    local: Endpoint
    remote: Endpoint
    inode: int


class UtmpRecord(NamedTuple):
    type: int
    pid: int
    line: str                 # "pts/3"
    user: str
    host: str
    session: int
    seconds: int


def ssh_connection(session_pid: int, listener_pid: int) -> Optional[SshConnection]:
    """The client connection `session_pid` (an sshd) holds, accepted on a port `listener_pid` (its
    parent sshd) listens on; None when there is none, or the descriptors may not be read."""
    try:
        held = [entry for entry, _fds in sockets_of(session_pid) if entry.proto == "tcp"]
        listening = {(entry.local.port) for entry, _fds in sockets_of(listener_pid) if entry.state == LISTEN}
    except OSError:
        return None
    return pick_connection(held, listening, session_pid, listener_pid)


def pick_connection(held: List[KernelSocket], listening_ports, session_pid: int,
                    listener_pid: int) -> Optional[SshConnection]:
    for entry in held:
        if entry.state == ESTABLISHED and entry.local.port in listening_ports:
            return SshConnection(session_pid, listener_pid, entry.local, entry.remote, entry.inode)
    return None


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def parse_utmp(data: bytes) -> List[UtmpRecord]:
    """The records of a utmp file (glibc's layout); a torn last record is left out."""
    records = []
    for offset in range(0, len(data) - _UTMP.size + 1, _UTMP.size):
        (kind, pid, line, _ident, user, host, _term, _exit, session, seconds, _micro,
         _address, ) = _UTMP.unpack_from(data, offset)
        records.append(UtmpRecord(kind, pid, _text(line), _text(user), _text(host), session, seconds))
    return records


def read_utmp() -> tuple:
    """(records, the file read, or None and why not). Read like any file another user may plant."""
    from psxj.safefs import UnsafePath, open_to_read, read_descriptor

    problems = []
    for path in UTMP_PATHS:
        try:
            data, _st = read_descriptor(open_to_read(path, follow=False), _MAX_UTMP)
        except (OSError, UnsafePath) as exc:
            problems.append(f"{path}: {getattr(exc, 'strerror', None) or exc}")
            continue
        return parse_utmp(data), path, None
    return [], None, "; ".join(problems)


def utmp_for(records: List[UtmpRecord], leader: int, tty: Optional[str]) -> Optional[UtmpRecord]:
    """The login record of a session: its leader's PID (sshd and login record it), else its terminal."""
    live = [r for r in records if r.type == USER_PROCESS]
    for record in live:
        if record.pid == leader:
            return record
    if tty and tty != "?":
        for record in live:
            if record.line == tty:
                return record
    return None
