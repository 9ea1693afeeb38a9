"""/proc/PID/status parsed in one pass (psxj.sources.proc.parse_status) says what the field-by-field
parse says: on every process of this machine, and on real status files with one line changed to the
shapes this machine may not have (a process in a nested PID namespace, a namespace's init, locked
memory, other users). The field-by-field parse is what the one-pass parse falls back to when a status
is laid out otherwise; it is the reference here, not a copy of the code under test."""

from __future__ import annotations

import os

import pytest
from conftest import linux_only

from psxj.sources.proc import _parse_status_slowly, list_pids, parse_status, read_file

pytestmark = linux_only


def own_status() -> bytes:
    return read_file(f"/proc/{os.getpid()}/status")


def with_line(status: bytes, key: bytes, value: bytes) -> bytes:
    """status with the line `key` replaced (or removed, value None)."""
    start = status.index(b"\n" + key)
    end = status.index(b"\n", start + 1)
    return status[:start] + (b"" if value is None else b"\n" + key + value) + status[end:]


def test_every_process_here_parses_the_same_both_ways():
    checked = 0
    for pid in list_pids():
        try:
            status = read_file(f"/proc/{pid}/status")
        except OSError:
            continue
        assert parse_status(status) == _parse_status_slowly(status), pid
        checked += 1
    assert checked > 10


@pytest.mark.parametrize("nspid, namespace_init, pids", [
    (b"\t812", False, None),
    (b"\t812\t1", True, (812, 1)),
    (b"\t812\t7\t1", True, (812, 7, 1)),
    (b"\t812\t7", False, (812, 7)),
    (b"\t1", False, None),          # PID 1 of psxj's own namespace: not another namespace's init
    (b"\t812\t11", False, (812, 11)),
])
def test_pid_namespaces(nspid, namespace_init, pids):
    status = with_line(own_status(), b"NSpid:", nspid)
    parsed = parse_status(status)
    assert parsed == _parse_status_slowly(status)
    assert parsed[5:] == (namespace_init, pids)


@pytest.mark.parametrize("line, locked", [
    (b"\t       0 kB", 0), (b"\t       4 kB", 4), (b"\t123456789 kB", 123456789), (None, 0),
])
def test_locked_memory(line, locked):
    status = with_line(own_status(), b"VmLck:", line)
    assert parse_status(status) == _parse_status_slowly(status)
    assert parse_status(status)[4] == locked


def test_users_and_groups_and_other_layouts():
    status = own_status()
    setuid = with_line(with_line(status, b"Uid:", b"\t1000\t0\t0\t0"), b"Gid:", b"\t1000\t4\t4\t4")
    assert parse_status(setuid)[:4] == (1000, 0, 1000, 4) == _parse_status_slowly(setuid)[:4]
    # Gid not right after Uid, no Uid at all, nothing at all: the field-by-field parse answers.
    start = status.index(b"\nGid:")
    end = status.index(b"\n", start + 1)
    moved = status[:start] + status[end:] + status[start:end]
    no_uid = with_line(status, b"Uid:", None)
    for shape in (moved, no_uid, b"", b"Name:\tx\n"):
        assert parse_status(shape) == _parse_status_slowly(shape)
