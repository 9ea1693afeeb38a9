"""The proc connector socket: the kernel's live fork, exec, setsid and exit events.

Part of the sources stage. This module only talks to the kernel: it subscribes, proves the
subscription works, reads datagrams, decodes them (psxj.sources.cn_proc) and reports losses.
Turning events into ps rows is psxj.sources.events' job.

Where the kernel will not deliver, opening raises EventsUnavailable with the reason in words:
- a PID or user namespace: the kernel ignores subscriptions from outside the initial
  namespaces (cn_proc_mcast_ctl), and a socket bound there may even receive the host's events
  with host PIDs once someone else listens; so psxj does not listen there at all;
- a network namespace: the connector exists only in the initial one (connection refused);
- a kernel older than 6.6 (or one without CONFIG_PROC_EVENTS): binding needs CAP_NET_ADMIN.
The kernel acknowledges every accepted LISTEN request; no acknowledgement, no events.
"""

from __future__ import annotations

import errno
import os
import random
import re
import select
import socket
import time
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

from psxj.i18n import _
from psxj.sources.cn_proc import (
    CN_IDX_PROC,
    NETLINK_CONNECTOR,
    PROC_CN_MCAST_IGNORE,
    PROC_CN_MCAST_LISTEN,
    PROC_EVENT_ALL,
    PROC_EVENT_NONE,
    KernelEvent,
    control_message,
    decode,
)

SO_RCVBUFFORCE = 33             # asm-generic/socket.h; Python's socket module lacks the name
DEFAULT_RECEIVE_BUFFER = 8 << 20  # 8 MiB: ~10,000 queued events, seconds of a fork storm
ACK_TIMEOUT = 1.0               # the kernel answers in microseconds; this is for a loaded machine
_DATAGRAM = 4096                # one event is 76 bytes; room for a kernel that batches


class EventsUnavailable(Exception):
    """The kernel will not deliver process events here; the message says why, in words."""


class Gap(NamedTuple):
    """Events were lost (the receive buffer overflowed, or a per-CPU sequence number jumped)."""

    time: float                   # wall clock when psxj noticed
    lost: Optional[int]           # how many, when the sequence numbers say; None: unknown
    last_timestamp_ns: Optional[int]  # the kernel time of the last event received before it


# include/linux/proc_ns.h: the initial namespaces have fixed inode numbers (since Linux 3.8).
PROC_USER_INIT_INO = 0xEFFFFFFD
PROC_PID_INIT_INO = 0xEFFFFFFC


def _namespace_inode(link: str) -> Optional[int]:
    try:
        target = os.readlink(link)  # "pid:[4026531836]"
    except OSError:
        return None
    match = re.fullmatch(r"\w+:\[(\d+)\]", target)
    return int(match.group(1)) if match else None


def namespace_reason(status_path: str = "/proc/self/status", uid_map_path: str = "/proc/self/uid_map",
                     ns_dir: str = "/proc/self/ns") -> Optional[str]:
    """Why this process cannot have process events because of its namespaces, or None.

    The namespace links name the initial namespaces by fixed inodes. NSpid (more than one PID: a
    nested namespace seen from outside) and a partial uid_map say the same where the links are
    unreadable; a /proc mounted inside the namespace shows only its own level of NSpid."""
    pid_ns = _namespace_inode(os.path.join(ns_dir, "pid"))
    if pid_ns is not None and pid_ns != PROC_PID_INIT_INO:
        return (_("psxj runs in a PID namespace (a container): the kernel sends process events only to listeners "
                  "in the initial PID namespace"))
    user_ns = _namespace_inode(os.path.join(ns_dir, "user"))
    if user_ns is not None and user_ns != PROC_USER_INIT_INO:
        return (_("psxj runs in a user namespace: the kernel sends process events only to listeners in the "
                  "initial user namespace"))
    try:
        with open(status_path, "rb") as f:
            for line in f:
                if line.startswith(b"NSpid:") and len(line.split()) > 2:
                    return (_("psxj runs in a PID namespace (NSpid has several levels): the kernel sends process "
                              "events only to listeners in the initial PID namespace"))
    except OSError:
        pass
    try:
        with open(uid_map_path, "rb") as f:
            mapping = f.read().split()
        if mapping[:3] != [b"0", b"0", b"4294967295"]:
            return (_("psxj runs in a user namespace: the kernel sends process events only to listeners in the "
                      "initial user namespace"))
    except OSError:
        pass
    return None


def kernel_has_event_filter(release: Optional[str] = None) -> bool:
    """Linux 6.6 added the per-socket event filter (struct proc_input)."""
    match = re.match(r"(\d+)\.(\d+)", release or os.uname().release)
    return bool(match) and (int(match.group(1)), int(match.group(2))) >= (6, 6)


class ConnectorListener:
    """A subscribed proc connector socket.

    `event_mask` asks the kernel (6.6+) to send only those event types; older kernels send all
    and the mask is silently not applied (the caller filters anyway). With the full mask, each
    CPU's sequence numbers count every event, so a jump is a loss and its size is known.
    """

    def __init__(self, event_mask: int = PROC_EVENT_ALL, receive_buffer: int = DEFAULT_RECEIVE_BUFFER,
                 ack_timeout: float = ACK_TIMEOUT) -> None:
        self.event_mask = event_mask
        self.receive_buffer_asked = receive_buffer
        self.receive_buffer = 0          # what the kernel granted (it doubles the request)
        self.filtered = False            # the kernel accepted the event filter
        self.forged = 0                  # datagrams from a sender other than the kernel, dropped
        self.lost = 0                    # events known lost (sequence numbers)
        self.gaps = 0                    # losses noticed
        self._ack_timeout = ack_timeout
        self._last_seq: Dict[int, Tuple[int, int]] = {}  # cpu -> (seq, overflows seen by then)
        self._overflows = 0
        self._last_timestamp: Optional[int] = None
        self._pending: List[KernelEvent] = []
        self._sock: Optional[socket.socket] = None
        self._open()

    # -- subscribing -----------------------------------------------------------------------------
    def _open(self) -> None:
        reason = namespace_reason()
        if reason:
            raise EventsUnavailable(reason)
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        except OSError as exc:
            raise EventsUnavailable(_("no proc connector in this kernel ({strerror}): it needs "
                                      "CONFIG_PROC_EVENTS").format(strerror=exc.strerror)) from None
        try:
            self._size_buffer(sock)
            try:
                sock.bind((0, CN_IDX_PROC))
            except PermissionError:
                raise EventsUnavailable(_("the kernel lets only root (CAP_NET_ADMIN) listen to process events "
                                          "(kernels before 6.6)")) from None
            except OSError as exc:
                raise EventsUnavailable(_("cannot bind the proc connector socket: {strerror}").format(
                                            strerror=exc.strerror)) from None
            self._subscribe(sock)
        except BaseException:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        # wake() ends a read that waits for ever: a thread can wait without waking to look at a clock.
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._poller.register(self._wake_read, select.POLLIN)
        self._woken = False

    def _size_buffer(self, sock: socket.socket) -> None:
        """As large as asked: SO_RCVBUFFORCE passes rmem_max for root; others get SO_RCVBUF's cap."""
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self.receive_buffer_asked)
        except OSError:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer_asked)
            except OSError:
                pass
        self.receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def _subscribe(self, sock: socket.socket) -> None:
        """LISTEN, then wait for the kernel's acknowledgement; events that arrive meanwhile are kept."""
        ack = random.randrange(1, 1 << 30)
        try:
            sock.send(control_message(PROC_CN_MCAST_LISTEN, seq=0, ack=ack))
        except ConnectionRefusedError:
            raise EventsUnavailable(_("the proc connector refuses connections here (a network namespace: it "
                                      "exists only in the initial one)")) from None
        except OSError as exc:
            raise EventsUnavailable(_("cannot subscribe to process events: {strerror}").format(
                strerror=exc.strerror)) from None
        deadline = time.monotonic() + self._ack_timeout
        sock.settimeout(self._ack_timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise EventsUnavailable(_("the kernel did not acknowledge the subscription to process events (a "
                                          "container, or a kernel without CONFIG_PROC_EVENTS)"))
            sock.settimeout(left)
            try:
                data, sender = sock.recvfrom(_DATAGRAM)
            except socket.timeout:
                continue
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    continue
                raise EventsUnavailable(_("cannot read process events: {strerror}").format(
                    strerror=exc.strerror)) from None
            if sender[0] != 0:
                self.forged += 1
                continue
            for event in decode(data):
                self._pending.append(event)
                if event.what == PROC_EVENT_NONE:
                    if event.ack == ack + 1:
                        if event.error:
                            raise EventsUnavailable(_("the kernel refused the subscription: {strerror}").format(
                                                        strerror=os.strerror(event.error)))
                        self._after_ack(sock)
                        return

    def _after_ack(self, sock: socket.socket) -> None:
        """Narrow to the asked event types where the kernel can (6.6+)."""
        if self.event_mask == PROC_EVENT_ALL or not kernel_has_event_filter():
            return
        try:
            sock.send(control_message(PROC_CN_MCAST_LISTEN, self.event_mask))
            self.filtered = True
        except OSError:
            pass  # the unfiltered subscription stands; the caller filters

    # -- reading ---------------------------------------------------------------------------------
    def fileno(self) -> int:
        return self._sock.fileno() if self._sock else -1

    def read(self, timeout: Optional[float] = None, limit: int = 4096,
             linger: float = 0.0) -> List[Union[KernelEvent, Gap]]:
        """The events queued now, waiting up to `timeout` seconds for the first (None: forever).
        A Gap stands where events were lost, in the order psxj noticed it.

        `linger`: once the first event is there, wait this long for more before reading, so a
        fork storm is read in batches, not one wake-up per event (the times are the kernel's)."""
        out: List[Union[KernelEvent, Gap]] = []
        pending, self._pending = self._pending, []
        for event in pending:
            self._check_sequence(event, out)
            if event.what != PROC_EVENT_NONE:
                out.append(event)
        sock = self._sock
        if sock is None:
            return out
        if not out and not self._poller.poll(None if timeout is None else max(timeout, 0) * 1000):
            return out
        if self._woken:
            self._woken = False
            try:
                while os.read(self._wake_read, 512):
                    pass
            except BlockingIOError:
                pass
            return out
        if linger > 0:
            # Only wake() ends it sooner (psxj quitting): select on the wake pipe alone.
            select.select([self._wake_read], [], [], linger)
        recvfrom = sock.recvfrom
        for _datagram in range(limit):
            try:
                data, sender = recvfrom(_DATAGRAM)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                self.gaps += 1
                self._overflows += 1
                out.append(Gap(time.time(), None, self._last_timestamp))
                continue
            if sender[0] != 0:  # only the kernel (port 0) speaks for the kernel
                self.forged += 1
                continue
            for event in decode(data):
                self._check_sequence(event, out)  # acknowledgements use sequence numbers too
                if event.what != PROC_EVENT_NONE:
                    out.append(event)
        return out

    def _check_sequence(self, event: KernelEvent, out: List[Union[KernelEvent, Gap]]) -> None:
        """Each CPU numbers the events it sends; with no filter, a jump counts lost events. A jump
        across a buffer overflow is that overflow's size (added to its Gap while it is still in
        this batch); a jump without one is a loss of its own (the kernel could not queue an event)."""
        self._last_timestamp = event.timestamp_ns
        if self.filtered:
            return
        last = self._last_seq.get(event.cpu)
        self._last_seq[event.cpu] = (event.seq, self._overflows)
        if last is None:
            return
        last_seq, overflows_then = last
        missing = (event.seq - last_seq - 1) & 0xFFFFFFFF
        if not 0 < missing < 1 << 31:  # no jump, or a step back (reordering, not loss)
            return
        self.lost += missing
        if overflows_then < self._overflows:
            for index in range(len(out) - 1, -1, -1):
                gap = out[index]
                if isinstance(gap, Gap):
                    out[index] = gap._replace(lost=(gap.lost or 0) + missing)
                    break
            return  # already marked where the overflow was noticed
        self.gaps += 1
        out.append(Gap(time.time(), missing, self._last_timestamp))

    def wake(self) -> None:
        """End a read() that is waiting, now (from another thread): it returns what it has, maybe
        nothing."""
        if self._sock is not None:
            self._woken = True
            try:
                os.write(self._wake_write, b"x")
            except OSError:
                pass

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        for fd in (self._wake_read, self._wake_write):
            os.close(fd)
        try:
            # Tell the kernel: it counts listeners and stops building events when none remain.
            sock.setblocking(True)
            sock.send(control_message(PROC_CN_MCAST_IGNORE))
        except OSError:
            pass
        sock.close()

    def __enter__(self) -> "ConnectorListener":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

