"""The proc connector's wire format: kernel process events decoded from netlink datagrams.

Part of the sources stage, below psxj.sources.events (which owns the socket). Pure: bytes in,
tuples out, so every event type is tested on packed frames without privileges.

Layouts, all in the machine's byte order:
- include/uapi/linux/netlink.h   struct nlmsghdr  { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
- include/uapi/linux/connector.h struct cn_msg    { u32 idx; u32 val; u32 seq; u32 ack; u16 len;
                                                    u16 flags; u8 data[]; }
- include/uapi/linux/cn_proc.h   struct proc_event { u32 what; u32 cpu; u64 timestamp_ns;
                                                     union event_data (24 bytes); }
  The union: fork {parent_pid, parent_tgid, child_pid, child_tgid}; exec/sid {pid, tgid};
  id {pid, tgid, ruid|rgid, euid|egid}; ptrace {pid, tgid, tracer_pid, tracer_tgid};
  comm {pid, tgid, char comm[16]}; coredump {pid, tgid, parent_pid, parent_tgid};
  exit {pid, tgid, exit_code, exit_signal, parent_pid, parent_tgid}; ack {err}.
The kernel's timestamp is CLOCK_MONOTONIC (ktime_get_ns); cn_msg.seq counts events per CPU.
"""

from __future__ import annotations

import struct
from typing import List, NamedTuple, Optional

from psxj.i18n import _

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3    # every connector message is sent with this type
NLMSG_OVERRUN = 4

# enum proc_cn_event
PROC_EVENT_NONE = 0x00000000  # the kernel's acknowledgement of a LISTEN/IGNORE request
PROC_EVENT_FORK = 0x00000001
PROC_EVENT_EXEC = 0x00000002
PROC_EVENT_UID = 0x00000004
PROC_EVENT_GID = 0x00000040
PROC_EVENT_SID = 0x00000080
PROC_EVENT_PTRACE = 0x00000100
PROC_EVENT_COMM = 0x00000200
PROC_EVENT_NONZERO_EXIT = 0x20000000  # a filter flag only: "exits with a non-zero status"
PROC_EVENT_COREDUMP = 0x40000000
PROC_EVENT_EXIT = 0x80000000
PROC_EVENT_ALL = (PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_UID | PROC_EVENT_GID | PROC_EVENT_SID
                  | PROC_EVENT_PTRACE | PROC_EVENT_COMM | PROC_EVENT_NONZERO_EXIT | PROC_EVENT_COREDUMP
                  | PROC_EVENT_EXIT)

# psxj's names for the kernel's event types (the KIND of psxj.sources.events.ProcessEvent).
KIND_OF = {
    PROC_EVENT_FORK: "FORK", PROC_EVENT_EXEC: "EXEC", PROC_EVENT_UID: "UID", PROC_EVENT_GID: "GID",
    PROC_EVENT_SID: "SID", PROC_EVENT_PTRACE: "PTRACE", PROC_EVENT_COMM: "COMM",
    PROC_EVENT_COREDUMP: "COREDUMP", PROC_EVENT_EXIT: "EXIT",
}
MASK_OF = {kind: what for what, kind in KIND_OF.items()}

NLMSGHDR = struct.Struct("=IHHII")
CN_MSG = struct.Struct("=IIIIHH")
PROC_EVENT_HEAD = struct.Struct("=IIQ")
_UNION_SIZE = 24
PROC_EVENT_SIZE = PROC_EVENT_HEAD.size + _UNION_SIZE  # 40
# One unpack for a whole message: nlmsghdr, cn_msg, proc_event head, the union as six ints.
_FRAME = struct.Struct("=IHHII" "IIIIHH" "IIQ" "iiiiii")
_COMM = struct.Struct("=ii16s")
FRAME_SIZE = _FRAME.size  # 76: what the kernel sends for every event


class KernelEvent(NamedTuple):
    """One decoded proc_event. Which fields mean something depends on `what`:

    - FORK: pid/tgid = the child, related_pid/tgid = the parent
    - EXEC, SID: pid/tgid
    - UID, GID: pid/tgid, real_id and effective_id (uids or gids)
    - PTRACE: pid/tgid = the tracee, related_pid/tgid = the tracer (0 on detach)
    - COMM: pid/tgid, comm (raw bytes, up to 15, NUL stripped: untrusted)
    - COREDUMP: pid/tgid, related_pid/tgid = the parent
    - EXIT: pid/tgid, exit_code (the wait status), exit_signal (sent to the parent; -1 for a thread),
      related_pid/tgid = the parent at exit (after any adoption)
    - NONE (an acknowledgement): ack (cn_msg.ack, the request's ack + 1) and error (errno, 0 = ok)
    """

    what: int
    cpu: int
    seq: int
    timestamp_ns: int
    pid: int
    tgid: int
    related_pid: int = 0
    related_tgid: int = 0
    exit_code: Optional[int] = None
    exit_signal: Optional[int] = None
    real_id: Optional[int] = None
    effective_id: Optional[int] = None
    comm: Optional[bytes] = None
    ack: int = 0
    error: int = 0

    @property
    def kind(self) -> str:
        return KIND_OF.get(self.what, "NONE" if self.what == PROC_EVENT_NONE else f"0x{self.what:08x}")


def _event(what: int, cpu: int, seq: int, ts: int, ack: int, u: tuple, message: bytes, at: int) -> KernelEvent:
    a, b, c, d, e, f = u
    if what == PROC_EVENT_FORK:
        return KernelEvent(what, cpu, seq, ts, c, d, a, b)
    if what == PROC_EVENT_EXIT:
        return KernelEvent(what, cpu, seq, ts, a, b, e, f, c & 0xFFFFFFFF, d)
    if what in (PROC_EVENT_EXEC, PROC_EVENT_SID):
        return KernelEvent(what, cpu, seq, ts, a, b)
    if what in (PROC_EVENT_UID, PROC_EVENT_GID):
        return KernelEvent(what, cpu, seq, ts, a, b, real_id=c & 0xFFFFFFFF, effective_id=d & 0xFFFFFFFF)
    if what in (PROC_EVENT_PTRACE, PROC_EVENT_COREDUMP):
        return KernelEvent(what, cpu, seq, ts, a, b, c, d)
    if what == PROC_EVENT_COMM:
        _, _, comm = _COMM.unpack_from(message, at)
        return KernelEvent(what, cpu, seq, ts, a, b, comm=comm.split(b"\0", 1)[0])
    if what == PROC_EVENT_NONE:
        return KernelEvent(what, cpu, seq, ts, 0, 0, ack=ack, error=a & 0xFFFFFFFF)
    return KernelEvent(what, cpu, seq, ts, a, b)  # a type this psxj does not know: kept, named by number


def decode(datagram: bytes) -> List[KernelEvent]:
    """Every proc event in one netlink datagram. Anything that is not a well-formed proc
    connector message (another connector index, a short or oversized length) is skipped, never
    guessed at: the bytes come from a socket."""
    events: List[KernelEvent] = []
    size = len(datagram)
    offset = 0
    while offset + NLMSGHDR.size <= size:
        length, msg_type = NLMSGHDR.unpack_from(datagram, offset)[:2]
        if length < NLMSGHDR.size or offset + length > size:
            break  # a length that would run past the datagram: the rest cannot be trusted
        if msg_type == NLMSG_DONE and length >= FRAME_SIZE:
            (_, _, _, _, _, idx, val, seq, ack, data_len, _, what, cpu, ts,
             a, b, c, d, e, f) = _FRAME.unpack_from(datagram, offset)
            if idx == CN_IDX_PROC and val == CN_VAL_PROC and data_len >= PROC_EVENT_SIZE:
                union_at = offset + NLMSGHDR.size + CN_MSG.size + PROC_EVENT_HEAD.size
                events.append(_event(what, cpu, seq, ts, ack, (a, b, c, d, e, f), datagram, union_at))
        offset += (length + 3) & ~3  # NLMSG_ALIGN
    return events


def control_message(op: int, event_mask: Optional[int] = None, seq: int = 0, ack: int = 0,
                    port: int = 0) -> bytes:
    """A LISTEN or IGNORE request. Without a mask it is the 4-byte op every kernel understands;
    with one, the 8-byte struct proc_input that kernels from 6.6 read as a per-socket filter
    (older kernels ignore a request of that size, so it is sent only after the plain one)."""
    payload = struct.pack("=I", op) if event_mask is None else struct.pack("=II", op, event_mask)
    body = CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, seq, ack, len(payload), 0) + payload
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), NLMSG_DONE, 0, seq, port) + body


def wait_status_text(status: int) -> str:
    """A wait status as words: 'exit 0', 'killed by SIGKILL', 'killed by SIGSEGV (core dumped)'."""
    signal_number = status & 0x7F
    if signal_number == 0:
        return _("exit {status}").format(status=(status >> 8) & 0xFF)
    text = _("killed by {signal_name}").format(signal_name=signal_name(signal_number))
    return text + _(" (core dumped)") if status & 0x80 else text


def signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
