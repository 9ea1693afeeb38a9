"""What the daemon rules read from /proc about one process, and about the machine.

One boundary for the errors of a vanishing or forbidden process (as psutil's _pslinux.py does):
a fact that cannot be read becomes Unreadable with the reason (another user's process without
root, a kernel that does not show it), and a process that exits mid-audit becomes Gone. The rules
turn Unreadable into an `unknown` verdict, never a guess.

Paths and names here are raw (a cwd may hold escape sequences); the audit escapes its evidence.
Part of the judgement (psxj.judge): the facts the rules (rules.py) and the audit (audit.py) judge.
"""

from __future__ import annotations

import ctypes
import functools
import os
import socket
import struct
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

from psxj.i18n import N_, _
from psxj.model import Snapshot

SIGNAL_NAMES = {1: "HUP", 2: "INT", 3: "QUIT", 9: "KILL", 10: "USR1", 12: "USR2", 13: "PIPE", 14: "ALRM",
                15: "TERM", 17: "CHLD"}
O_CLOEXEC = 0o2000000


class Unreadable(Exception):
    """A fact the user may not read; the message says which."""


class Overwritten(Unreadable):
    """A fact the process wrote over (a process title over its environment)."""


class Gone(Exception):
    """The process exited while it was being audited."""


class Descriptor(NamedTuple):
    fd: int
    target: str                    # what /proc/PID/fd/N links to: a path, pipe:[N], socket:[N], anon_inode:...
    flags: Optional[int] = None    # from fdinfo: the open flags, O_CLOEXEC included
    position: Optional[int] = None
    locks: Tuple[str, ...] = ()    # fdinfo "lock:" lines: locks held through this very open file
    sigmask: Optional[int] = None  # a signalfd's signals
    identity: Optional[Tuple[int, int]] = None  # (st_dev, st_ino) of what it points at

    @property
    def close_on_exec(self) -> Optional[bool]:
        return None if self.flags is None else bool(self.flags & O_CLOEXEC)


def mask_names(mask: int) -> List[str]:
    return [SIGNAL_NAMES.get(n, str(n)) for n in range(1, 65) if mask & (1 << (n - 1))]


def signal_bit(name: str) -> int:
    number = {v: k for k, v in SIGNAL_NAMES.items()}[name]
    return 1 << (number - 1)


class ProcFacts:
    """The /proc files the rules read, for one process, each read at most once."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.base = f"/proc/{pid}"
        self._cache: Dict[str, object] = {}

    def _guard(self, what: str, action):
        if what in self._cache:
            cached = self._cache[what]
            if isinstance(cached, Exception):
                raise cached
            return cached
        try:
            value = action()
        except Overwritten as exc:
            error: Exception = exc
        except PermissionError:
            error = Unreadable(_("{what}: permission denied (another user's process; run as root to "
                                            "see it)").format(what=_(what)))
        except (FileNotFoundError, ProcessLookupError):
            if not os.path.exists(self.base):
                raise Gone() from None
            error = Unreadable(_("{what}: not available").format(what=_(what)))
        else:
            self._cache[what] = value
            return value
        self._cache[what] = error
        raise error

    def status(self) -> Dict[str, str]:
        def read() -> Dict[str, str]:
            with open(f"{self.base}/status", encoding="utf-8", errors="surrogateescape") as f:
                return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
        return self._guard("status", read)

    def signal_mask(self, key: str) -> int:
        """SigCgt, SigIgn, SigBlk or SigPnd as a bit mask."""
        return int(self.status().get(key, "0").strip() or "0", 16)

    def cwd(self) -> str:
        return self._guard("cwd", lambda: os.readlink(f"{self.base}/cwd"))

    def root(self) -> str:
        """Its root directory: / unless it chroot()ed."""
        return self._guard(N_("root directory"), lambda: os.readlink(f"{self.base}/root"))

    def same_filesystem_as_root(self) -> Optional[bool]:
        """Is its cwd on the filesystem its root directory is on (same st_dev)? None if unreadable."""
        try:
            return os.stat(f"{self.base}/cwd").st_dev == os.stat(f"{self.base}/root").st_dev
        except OSError:
            return None

    def wchan(self) -> str:
        def read() -> str:
            with open(f"{self.base}/wchan") as f:
                return f.read().strip()
        return self._guard(N_("wait channel"), read)

    def environ(self) -> Dict[str, str]:
        """Its environment as the kernel keeps it. A process title written over it (sshd, redis, avahi,
        postgres do: setproctitle) makes it unreadable, never read as if it were one."""
        def read() -> Dict[str, str]:
            with open(f"{self.base}/environ", "rb") as f:
                data = f.read(1 << 20)
            items = [item for item in data.split(b"\0") if item]
            overwritten = [item for item in items if b"=" not in item or item.startswith(b"=")]
            if overwritten:
                title = overwritten[0][:60].decode("utf-8", "replace")
                raise Overwritten(_("environment: overwritten by a process title ({title!r}): what it was "
                                    "started with cannot be read").format(title=title))
            if not items:
                raise Overwritten(_("environment: empty (wiped, or overwritten with zeros by a process title)"))
            pairs = (item.partition(b"=") for item in items)
            return {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape") for k, _, v in pairs}
        return self._guard(N_("environment"), read)

    def fds(self) -> Dict[int, str]:
        def read() -> Dict[int, str]:
            found = {}
            for name in os.listdir(f"{self.base}/fd"):
                try:
                    found[int(name)] = os.readlink(f"{self.base}/fd/{name}")
                except FileNotFoundError:
                    continue  # closed between listing and reading; anything else is not ours to see
            return found
        return self._guard(N_("open descriptors"), read)

    def descriptor(self, fd: int) -> Descriptor:
        """One descriptor with what fdinfo says of it (flags, locks held through it, a signalfd's mask)."""
        target = self.fds().get(fd, "")
        flags = position = sigmask = None
        locks: List[str] = []
        try:
            with open(f"{self.base}/fdinfo/{fd}") as f:
                for line in f.read().splitlines():
                    key, _, value = line.partition(":")
                    value = value.strip()
                    if key == "flags":
                        flags = int(value, 8)
                    elif key == "pos":
                        position = int(value)
                    elif key == "lock":
                        locks.append(value)
                    elif key == "sigmask":
                        sigmask = int(value, 16)
        except (OSError, ValueError):
            pass
        try:
            st = os.stat(f"{self.base}/fd/{fd}")
            identity: Optional[Tuple[int, int]] = (st.st_dev, st.st_ino)
        except OSError:
            identity = None
        return Descriptor(fd, target, flags, position, tuple(locks), sigmask, identity)

    def descriptors(self) -> List[Descriptor]:
        """Every descriptor (descriptor()), read once: several rules look at them."""
        found = self._cache.get("descriptors")
        if found is None:
            found = self._cache["descriptors"] = [self.descriptor(fd) for fd in sorted(self.fds())]
        return found


# --- machine-wide facts: one read per audit run, however many processes --------------------

class SystemFacts:
    """Pipe and file holders and unix sockets, read once per audit run."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._holders: Optional[Dict[str, List[Tuple[int, int]]]] = None
        self._unix: Dict[Optional[str], Dict[int, Tuple[int, str, int]]] = {}
        self._children: Optional[Dict[int, List[int]]] = None

    def family(self, pid: int) -> Set[int]:
        """The process and its descendants (the children index is made once per audit run: made
        per audited process, `audit --all` at 5,000 services took ~20 s)."""
        if self._children is None:
            children: Dict[int, List[int]] = {}
            for record in self.snapshot.records:
                if record.pid != record.ppid:
                    children.setdefault(record.ppid, []).append(record.pid)
            self._children = children
        members, frontier = {pid}, [pid]
        while frontier:
            for child in self._children.get(frontier.pop(), ()):
                if child not in members:
                    members.add(child)
                    frontier.append(child)
        return members

    def holders(self, target: str) -> List[Tuple[int, int]]:
        """(PID, fd) of every process with a descriptor on this target (a path, pipe:[N], socket:[N])."""
        if self._holders is None:
            found: Dict[str, List[Tuple[int, int]]] = {}
            for record in self.snapshot.records:
                if record.kernel_thread:
                    continue
                try:
                    names = os.listdir(f"/proc/{record.pid}/fd")
                except OSError:
                    continue
                for name in names:
                    try:
                        link = os.readlink(f"/proc/{record.pid}/fd/{name}")
                    except OSError:
                        continue
                    found.setdefault(link, []).append((record.pid, int(name)))
            self._holders = found
        return self._holders.get(target, [])

    def read_all(self) -> None:
        """Read every machine-wide fact now (before forking workers that would each read them)."""
        self.holders("")
        self.unix_sockets()
        self.family(0)

    def unix_sockets(self, pid: Optional[int] = None) -> Dict[int, Tuple[int, str, int]]:
        """inode -> (type, bound path, peer inode), from the kernel's sock_diag (ss -x uses it), in the
        network namespace of `pid` (a container's has its own sockets; None: psxj's own)."""
        space = _network_namespace(pid) if pid is not None else None
        if space is not None and space == _network_namespace(os.getpid()):
            space = None
        if space not in self._unix:
            try:
                self._unix[space] = _unix_sockets_by_netlink() if space is None else _in_namespace_of(
                    pid, _unix_sockets_by_netlink)
            except OSError:
                self._unix[space] = {}
        return self._unix[space]


def _network_namespace(pid: int) -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def _in_namespace_of(pid: int, action):
    """action() run in a thread that has joined `pid`'s network namespace (setns: root only). A
    thread's network namespace is its own: psxj's other threads never leave theirs."""
    import threading

    result: Dict[str, object] = {}

    def run() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _syscall_setns()(fd, 0x40000000) != 0:  # CLONE_NEWNET
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            result["value"] = action()
        except OSError as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    if "value" not in result:
        raise result.get("error") or OSError("timed out")  # type: ignore[misc]
    return result["value"]


@functools.lru_cache(maxsize=None)
def _syscall_setns():
    return ctypes.CDLL(None, use_errno=True).setns


_KCMP_FILE = 0
_SYS_KCMP = {"x86_64": 312, "aarch64": 272, "i686": 349, "armv7l": 378, "ppc64le": 354, "s390x": 343,
             "riscv64": 272}.get(os.uname().machine)


@functools.lru_cache(maxsize=None)
def _syscall():
    """libc's syscall(), loaded once: a CDLL per call cost ~10 us, and an audit makes thousands."""
    return ctypes.CDLL(None, use_errno=True).syscall


def same_open_file(pid_a: int, fd_a: int, pid_b: int, fd_b: int) -> Optional[bool]:
    """Do two descriptors share one open file description (kcmp(2), KCMP_FILE)? None when the
    kernel will not say (no kcmp, or no ptrace access to both processes)."""
    if _SYS_KCMP is None:
        return None
    result = _syscall()(_SYS_KCMP, pid_a, pid_b, _KCMP_FILE, fd_a, fd_b)
    if result < 0:
        return None
    return result == 0


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
                        name = value.rstrip(b"\0").decode("utf-8", "surrogateescape").replace("\0", "@")
                    elif attr_type == attr_peer:
                        peer = struct.unpack("=I", value[:4])[0]
                    attr += (attr_len + 3) & ~3
                found[inode] = (sock_type, name, peer)
                offset += (length + 3) & ~3
