"""Sockets from the kernel's own tables, joined to the descriptors that hold them (a source).

The kernel lists a network namespace's TCP and UDP sockets in /proc/PID/net/{tcp,tcp6,udp,udp6},
PID being any process in that namespace: the local and remote address, the state, the socket's
owner (uid) and its inode. A process holds a socket when one of its descriptors links to
`socket:[INODE]`. `ss -tulpn` joins the same two; so does psutil.net_connections, which psxj does
not use here for two reasons it cannot work around: psutil reads /proc/net, the tables of psxj's own
network namespace only (a container's sockets are missing, and so its holders), and it drops the
socket's owner and inode, so that a socket no readable descriptor holds (a protected PID 1, another
user's process when psxj is not root) is nobody's, where the kernel still says whose it is. The
tests compare this reader with psutil on psxj's own namespace.

Everything here is bounded: a table is read line by line and only the sockets asked for are kept
(another user can open tens of thousands), and a process's descriptors are read only when its
namespace has a socket that is asked for.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

TCP, UDP = "tcp", "udp"
PROTOCOLS = (TCP, UDP)
# include/net/tcp_states.h
STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
          7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}
LISTEN, ESTABLISHED, BOUND = "LISTEN", "ESTABLISHED", "bound"   # BOUND: a UDP socket bound, not connected
_TABLES = ((TCP, 4, "tcp"), (TCP, 6, "tcp6"), (UDP, 4, "udp"), (UDP, 6, "udp6"))
MAX_KEPT = 100_000          # sockets kept from one table, whatever it holds
_MAX_LINE = 512
_LITTLE_ENDIAN = sys.byteorder == "little"


class Endpoint(NamedTuple):
    address: str
    port: int

    def text(self) -> str:
        """127.0.0.1:22, [::]:22, as ss prints them."""
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


class KernelSocket(NamedTuple):
    proto: str          # tcp or udp
    family: int         # 4 or 6
    local: Endpoint
    remote: Endpoint
    state: str          # LISTEN, ESTABLISHED... for TCP; bound or ESTABLISHED (connected) for UDP
    uid: int            # the socket's owner, as the kernel's table says
    inode: int

    @property
    def listening(self) -> bool:
        return self.state in (LISTEN, BOUND)

    @property
    def every_interface(self) -> bool:
        """Bound to the any-address (0.0.0.0 or ::): reachable on every interface."""
        return self.local.address in ("0.0.0.0", "::")

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.local.address).is_loopback
        except ValueError:
            return False

    def label(self) -> str:
        """tcp 0.0.0.0:22, udp6 [::]:53."""
        return f"{self.proto}{'6' if self.family == 6 else ''} {self.local.text()}"


class Held(NamedTuple):
    """A socket, the network namespace whose table lists it, and the (pid, fd) that hold it."""
    socket: KernelSocket
    namespace: Optional[str]           # "net:[4026531833]"; None: not readable
    own_namespace: bool                # psxj's own network namespace
    holders: Tuple[Tuple[int, int], ...]


def decode_address(text: str, family: int) -> str:
    """An address as the kernel's table prints it: the bytes of each 32-bit word in host order (x86:
    little-endian), so 0100007F is 127.0.0.1."""
    raw = bytes.fromhex(text)
    native = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)) if _LITTLE_ENDIAN else raw
    return socket.inet_ntop(socket.AF_INET if family == 4 else socket.AF_INET6, native)


def parse_line(line: bytes, proto: str, family: int) -> Optional[KernelSocket]:
    """One line of /proc/net/tcp (udp, tcp6, udp6); None for the header or a line it cannot read."""
    fields = line.split()
    if len(fields) < 10 or not fields[0].endswith(b":"):
        return None
    try:
        local_address, local_port = fields[1].decode().split(":")
        remote_address, remote_port = fields[2].decode().split(":")
        state = int(fields[3], 16)
        uid, inode = int(fields[7]), int(fields[9])
        local = Endpoint(decode_address(local_address, family), int(local_port, 16))
        remote = Endpoint(decode_address(remote_address, family), int(remote_port, 16))
    except (ValueError, UnicodeDecodeError, OSError):
        return None
    if proto == UDP:
        name = BOUND if state == 7 and remote.port == 0 else ESTABLISHED if state == 1 else STATES.get(state, "?")
    else:
        name = STATES.get(state, str(state))
    return KernelSocket(proto, family, local, remote, name, uid, inode)


def parse_table(lines: Iterable[bytes], proto: str, family: int,
                keep: Callable[[KernelSocket], bool] = lambda s: True) -> List[KernelSocket]:
    """The sockets of one table that `keep` accepts, at most MAX_KEPT."""
    found: List[KernelSocket] = []
    for line in lines:
        entry = parse_line(line[:_MAX_LINE], proto, family)
        if entry is not None and keep(entry):
            found.append(entry)
            if len(found) >= MAX_KEPT:
                break
    return found


def read_tables(pid: Optional[int], keep: Callable[[KernelSocket], bool] = lambda s: True,
                protocols: Iterable[str] = PROTOCOLS) -> List[KernelSocket]:
    """The sockets `keep` accepts in the network namespace of `pid` (None: psxj's own). A table
    the kernel does not have (no IPv6) is skipped."""
    base = "/proc/self/net" if pid is None else f"/proc/{pid}/net"
    found: List[KernelSocket] = []
    wanted = set(protocols)
    for proto, family, name in _TABLES:
        if proto not in wanted:
            continue
        try:
            with open(f"{base}/{name}", "rb") as table:
                found += parse_table(table, proto, family, keep)
        except FileNotFoundError:
            continue
    return found


def network_namespace(pid: Optional[int]) -> Optional[str]:
    """net:[INODE] of the process (None: psxj itself), None when it may not be read."""
    try:
        return os.readlink("/proc/self/ns/net" if pid is None else f"/proc/{pid}/ns/net")
    except OSError:
        return None


def socket_descriptors(pid: int, limit: int = 1 << 20) -> Dict[int, List[int]]:
    """inode -> the process's descriptors on that socket. Raises OSError when its descriptors may
    not be read (another user's process, or a protected one)."""
    found: Dict[int, List[int]] = {}
    base = f"/proc/{pid}/fd"
    for count, name in enumerate(os.listdir(base)):
        if count >= limit:
            break
        try:
            link = os.readlink(f"{base}/{name}")
        except FileNotFoundError:
            continue   # closed meanwhile
        if link.startswith("socket:[") and link.endswith("]"):
            found.setdefault(int(link[8:-1]), []).append(int(name))
    return found


def listening_on(pids: Iterable[int], port: Optional[int], proto: Optional[str] = None) -> List[Held]:
    """Every socket listening on `port` (None: on any port; TCP, or UDP bound and not connected), in
    every network namespace of these processes, with the descriptors that hold it among them. A
    namespace is read through its first process; a process whose namespace may not be read counts in
    psxj's own (a socket of its then shows with the holders psxj can see, perhaps none)."""
    own = network_namespace(None)
    by_namespace: Dict[Optional[str], List[int]] = {}
    for pid in pids:
        space = network_namespace(pid)
        by_namespace.setdefault(space if space is not None else own, []).append(pid)
    by_namespace.setdefault(own, [])

    def keep(entry: KernelSocket) -> bool:
        return entry.listening and (port is None or entry.local.port == port) and (proto is None or
                                                                                 entry.proto == proto)

    found: List[Held] = []
    for space, members in by_namespace.items():
        through = None if space == own else members[0]
        try:
            sockets = read_tables(through, keep, (proto,) if proto else PROTOCOLS)
        except OSError:
            continue
        if not sockets:
            continue
        holders = holders_of({s.inode for s in sockets}, members)
        for entry in sockets:
            found.append(Held(entry, space, space == own, tuple(holders.get(entry.inode, ()))))
    return found


def holders_of(inodes: Set[int], pids: Iterable[int]) -> Dict[int, List[Tuple[int, int]]]:
    """inode -> (pid, fd) of every descriptor on those sockets among `pids` (those psxj may read)."""
    found: Dict[int, List[Tuple[int, int]]] = {}
    for pid in pids:
        try:
            descriptors = socket_descriptors(pid)
        except OSError:
            continue
        for inode in inodes.intersection(descriptors):
            found.setdefault(inode, []).extend((pid, fd) for fd in descriptors[inode])
    return found


def sockets_of(pid: int) -> List[Tuple[KernelSocket, Tuple[int, ...]]]:
    """The TCP and UDP sockets this process holds, each with its descriptors, from the tables of its
    own network namespace. Raises OSError when its descriptors may not be read."""
    descriptors = socket_descriptors(pid)
    if not descriptors:
        return []
    wanted = set(descriptors)
    sockets = read_tables(pid, lambda entry: entry.inode in wanted)
    return [(entry, tuple(descriptors[entry.inode])) for entry in sockets]
