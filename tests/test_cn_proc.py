"""Decoding the proc connector's frames: every event type, built here byte by byte from the layouts
in the kernel's include/uapi/linux/cn_proc.h, connector.h and netlink.h (not with psxj's encoder).
No socket and no privileges: these are packed frames, not what a kernel sent; the live tests in
test_events.py check the same decoder against real kernel events."""

from __future__ import annotations

import struct

import pytest

from psxj.sources import cn_proc
from psxj.sources.cn_proc import decode, wait_status_text

# enum proc_cn_event, copied from cn_proc.h
FORK, EXEC, UID, GID, SID, PTRACE, COMM = 0x1, 0x2, 0x4, 0x40, 0x80, 0x100, 0x200
COREDUMP, EXIT = 0x40000000, 0x80000000


def frame(what: int, union: bytes, *, cpu: int = 1, seq: int = 7, timestamp_ns: int = 123456789,
          idx: int = 1, val: int = 1, ack: int = 0, nl_type: int = 3) -> bytes:
    """nlmsghdr + cn_msg + proc_event, the union padded to its 24 bytes, as the kernel sends it."""
    union = union.ljust(24, b"\0")
    proc_event = struct.pack("=IIQ", what, cpu, timestamp_ns) + union            # 40 bytes
    cn_msg = struct.pack("=IIIIHH", idx, val, seq, ack, len(proc_event), 0) + proc_event
    return struct.pack("=IHHII", 16 + len(cn_msg), nl_type, 0, 0, 0) + cn_msg


def ints(*values: int) -> bytes:
    return struct.pack(f"={len(values)}i", *values)


def test_fork_names_child_and_parent():
    # struct fork_proc_event { parent_pid, parent_tgid, child_pid, child_tgid }
    [event] = decode(frame(FORK, ints(100, 100, 205, 205), cpu=3, seq=41, timestamp_ns=9_000_000_001))
    assert (event.kind, event.pid, event.tgid, event.related_pid, event.related_tgid) == ("FORK", 205, 205, 100, 100)
    assert (event.cpu, event.seq, event.timestamp_ns) == (3, 41, 9_000_000_001)


def test_thread_creation_keeps_the_thread_id_apart():
    # a new thread: child_pid is the thread's id, child_tgid the process's
    [event] = decode(frame(FORK, ints(101, 100, 300, 100)))  # made by thread 101 of process 100
    assert (event.pid, event.tgid, event.related_pid, event.related_tgid) == (300, 100, 101, 100)


@pytest.mark.parametrize("what,kind", [(EXEC, "EXEC"), (SID, "SID")])
def test_exec_and_sid_name_the_process(what, kind):
    [event] = decode(frame(what, ints(4242, 4240)))
    assert (event.kind, event.pid, event.tgid) == (kind, 4242, 4240)


@pytest.mark.parametrize("what,kind", [(UID, "UID"), (GID, "GID")])
def test_id_changes_carry_real_and_effective(what, kind):
    # struct id_proc_event { pid, tgid, ruid|rgid, euid|egid }; ids are u32: 65534 and 4294967294 stay positive
    [event] = decode(frame(what, struct.pack("=iiII", 77, 77, 65534, 4294967294)))
    assert (event.kind, event.pid, event.real_id, event.effective_id) == (kind, 77, 65534, 4294967294)


def test_ptrace_attach_and_detach():
    [attach] = decode(frame(PTRACE, ints(50, 50, 60, 60)))
    [detach] = decode(frame(PTRACE, ints(50, 50, 0, 0)))
    assert (attach.kind, attach.pid, attach.related_tgid) == ("PTRACE", 50, 60)
    assert detach.related_tgid == 0


def test_comm_is_raw_bytes_cut_at_the_nul():
    name = b"x\x1b[2Jy\xff"
    [event] = decode(frame(COMM, ints(9, 9) + name.ljust(16, b"\0")))
    assert (event.kind, event.pid, event.comm) == ("COMM", 9, name)


def test_comm_of_sixteen_bytes_without_nul_is_kept_whole():
    [event] = decode(frame(COMM, ints(9, 9) + b"A" * 16))
    assert event.comm == b"A" * 16


def test_coredump_names_the_parent():
    [event] = decode(frame(COREDUMP, ints(8, 8, 1, 1)))
    assert (event.kind, event.pid, event.related_tgid) == ("COREDUMP", 8, 1)


def test_exit_carries_wait_status_signal_and_parent_at_exit():
    # struct exit_proc_event { pid, tgid, u32 exit_code, u32 exit_signal, parent_pid, parent_tgid }
    [event] = decode(frame(EXIT, struct.pack("=iiIiii", 31, 31, 3 << 8, 17, 1, 1)))
    assert (event.kind, event.pid, event.exit_code, event.exit_signal, event.related_tgid) == ("EXIT", 31, 768, 17, 1)


def test_thread_exit_has_exit_signal_minus_one():
    [event] = decode(frame(EXIT, struct.pack("=iiIiii", 32, 31, 0, -1, 30, 30)))
    assert (event.pid, event.tgid, event.exit_signal) == (32, 31, -1)


def test_acknowledgement():
    # PROC_EVENT_NONE with ack.err; cn_msg.ack is the request's ack + 1
    [event] = decode(frame(0, struct.pack("=I", 0), ack=1001))
    assert (event.kind, event.ack, event.error) == ("NONE", 1001, 0)


def test_unknown_event_type_is_kept_and_named_by_number():
    [event] = decode(frame(0x400, ints(5, 5)))
    assert event.kind == "0x00000400" and event.pid == 5


def test_several_messages_in_one_datagram():
    data = frame(FORK, ints(1, 1, 2, 2)) + frame(EXIT, struct.pack("=iiIiii", 2, 2, 0, 17, 1, 1))
    assert [e.kind for e in decode(data)] == ["FORK", "EXIT"]


@pytest.mark.parametrize("change", ["other-connector", "other-value", "error-message"])
def test_messages_that_are_not_proc_events_are_skipped(change):
    kwargs = {"other-connector": {"idx": 2}, "other-value": {"val": 2}, "error-message": {"nl_type": 2}}[change]
    assert decode(frame(FORK, ints(1, 1, 2, 2), **kwargs)) == []


def test_truncated_and_lying_lengths_are_not_read_past():
    whole = frame(FORK, ints(1, 1, 2, 2))
    assert decode(whole[:50]) == []
    liar = struct.pack("=I", 4096) + whole[4:]  # nlmsg_len says more than the datagram holds
    assert decode(liar) == []
    short = struct.pack("=I", 8) + whole[4:]    # shorter than a header: stop, never loop
    assert decode(short) == []
    assert decode(b"") == []


def test_short_cn_msg_length_is_skipped():
    data = bytearray(frame(FORK, ints(1, 1, 2, 2)))
    struct.pack_into("=H", data, 16 + 16, 8)  # cn_msg.len: 8 bytes, too short for a proc_event
    assert decode(bytes(data)) == []


def test_constants_match_the_header():
    assert (cn_proc.PROC_EVENT_FORK, cn_proc.PROC_EVENT_EXEC, cn_proc.PROC_EVENT_UID, cn_proc.PROC_EVENT_GID,
            cn_proc.PROC_EVENT_SID, cn_proc.PROC_EVENT_PTRACE, cn_proc.PROC_EVENT_COMM,
            cn_proc.PROC_EVENT_COREDUMP, cn_proc.PROC_EVENT_EXIT) == (FORK, EXEC, UID, GID, SID, PTRACE, COMM,
                                                                        COREDUMP, EXIT)
    assert cn_proc.PROC_EVENT_ALL == 0xE00003C7  # PROC_EVENT_ALL's ten flags, or-ed by hand


def test_listen_request_layout():
    """The 4-byte op every kernel reads, and the 8-byte proc_input of 6.6+."""
    plain = cn_proc.control_message(1, ack=9)
    length, msg_type = struct.unpack_from("=IH", plain)
    idx, val, _, ack, data_len = struct.unpack_from("=IIIIH", plain, 16)
    assert (length, msg_type, idx, val, ack, data_len) == (40, 3, 1, 1, 9, 4)
    assert struct.unpack_from("=I", plain, 36) == (1,)
    filtered = cn_proc.control_message(1, FORK | EXIT)
    assert struct.unpack_from("=H", filtered, 32) == (8,)
    assert struct.unpack_from("=II", filtered, 36) == (1, FORK | EXIT)


@pytest.mark.parametrize("status,text", [
    (0, "exit 0"), (3 << 8, "exit 3"), (255 << 8, "exit 255"),
    (9, "killed by SIGKILL"), (11 | 0x80, "killed by SIGSEGV (core dumped)"), (15, "killed by SIGTERM"),
])
def test_wait_status_in_words(status, text):
    assert wait_status_text(status) == text
