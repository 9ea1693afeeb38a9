"""JSON facts against /proc and psutil; the kernel-thread and daemon flags on real processes."""

from __future__ import annotations

import json
import os
import time

import psutil
import pytest
from conftest import linux_only, run_psxj

from psxj.model import PF_KTHREAD

pytestmark = linux_only


def _rows(*args):
    result = run_psxj("--json", *args)
    assert result.returncode == 0, result.stderr
    return {row["pid"]: row for row in json.loads(result.stdout)}


def test_fields_agree_with_proc_and_psutil(spawner):
    proc = spawner.python("os.setpgid(0, 0)\nos.nice(3)\nREADY()\ntime.sleep(120)", "arg one", "two")
    row = _rows("-p", str(proc.pid))[proc.pid]
    ps = psutil.Process(proc.pid)
    assert row["ppid"] == os.getpid() == ps.ppid()
    assert row["pgid"] == proc.pid == os.getpgid(proc.pid)
    assert row["sid"] == os.getsid(proc.pid)
    assert (row["ruid"], row["euid"]) == tuple(ps.uids())[:2]
    assert (row["rgid"], row["egid"]) == tuple(ps.gids())[:2]
    assert row["nice"] == 3 == ps.nice()
    assert row["threads"] == ps.num_threads()
    assert row["argv"] == ps.cmdline()
    assert row["argv"][-2:] == ["arg one", "two"]
    assert abs(row["start_time"] - ps.create_time()) < 0.05
    assert row["kernel_thread"] is False and row["daemon"] is False
    assert row["user"] == ps.username()
    assert row["state"] == "S" and row["stat"] == "SN"


def test_kernel_threads_are_the_pf_kthread_processes():
    rows = _rows()
    kernel = [row for row in rows.values() if row["kernel_thread"]]
    assert kernel, "a Linux machine always has kernel threads"
    for row in rows.values():
        assert row["kernel_thread"] == bool(row["flags"] & PF_KTHREAD)
    for row in kernel:
        assert row["command"] == f"[{row['comm']}]"
        assert row["argv"] == [] and row["tty"] == "?" and row["daemon"] is False


def _double_fork_daemon(spawner):
    """The tutorial's daemon(): fork, setsid, fork; returns the grandchild's pid."""
    read_end, write_end = os.pipe()
    launcher = spawner.python(
        "if os.fork(): os._exit(0)\n"
        "os.setsid()\n"
        "if os.fork(): os._exit(0)\n"
        f"os.write({write_end}, str(os.getpid()).encode()); os.close({write_end})\n"
        "READY()\ntime.sleep(120)", pass_fds=(write_end,))
    os.close(write_end)
    pid = int(os.read(read_end, 32))
    os.close(read_end)
    spawner.track(pid)
    launcher.wait(timeout=10)
    for _ in range(100):
        if psutil.Process(pid).ppid() != launcher.pid:
            break
        time.sleep(0.02)
    return pid


def test_a_double_forked_process_is_flagged_as_daemon(spawner):
    pid = _double_fork_daemon(spawner)
    row = _rows("-p", str(pid))[pid]
    parent = _rows("-p", str(row["ppid"]))[row["ppid"]]
    assert row["tty"] == "?" and row["tpgid"] == -1
    assert row["sid"] != row["pid"]  # the second fork: not a session leader
    if parent["pid"] != 1 and not parent["namespace_init"] and parent["comm"] not in ("systemd",):
        pytest.skip(f"orphans here are adopted by {parent['comm']}, not a known subreaper")
    assert row["daemon"] is True


def test_a_setsid_child_of_a_living_parent_is_not_a_daemon(spawner):
    proc = spawner.python("os.setsid()\nREADY()\ntime.sleep(120)")
    row = _rows("-p", str(proc.pid))[proc.pid]
    assert row["tty"] == "?" and row["stat"].endswith("s")
    assert row["daemon"] is False  # its parent (this test) is alive: it was never orphaned
