"""The pure parts of the systemd and container judgement, on tables of the shapes real machines make
(the shapes were read from the real systemd and podman of tests/test_systemd.py and test_podman.py;
the tables themselves are written here, so they test the parsing, not what machines do), and the
boundaries that face hostile input: a socket reached without following links, an environment
overwritten by a process title, a container name that holds escape sequences."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import linux_only, run_psxj

from psxj.judge.containers import from_cgroup, from_monitor
from psxj.judge.kinds import kind_of
from psxj.judge.units import _unit_below, find_managers
from psxj.model import ProcessRecord, Snapshot


def _row(pid, ppid, comm, argv, cgroup=None, nspid=None, namespace_init=False):
    return ProcessRecord(pid=pid, ppid=ppid, pgid=pid, sid=pid, tty="?", tpgid=-1, stat="Ss", euid=0, cpu_seconds=0,
                         command=" ".join(argv), comm=comm, state="S", kernel_thread=False, argv=tuple(argv),
                         start_ticks=pid, cgroup=cgroup, nspid=nspid, namespace_init=namespace_init, ruid=0)


@pytest.mark.parametrize("cgroup, expected", [
    ("/libpod_parent/libpod-05d0d75b011e693e1829f1889b240263bfef02823a7e629b872a51e49e1e9e40",
     ("podman", None, "05d0d75b011e693e1829f1889b240263bfef02823a7e629b872a51e49e1e9e40")),
    ("/machine.slice/libpod-3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70.scope/container",
     ("podman", None, "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70")),
    ("/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
     ("docker", None, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")),
    ("/docker/0123456789abcdef0123456789abcdef", ("docker", None, "0123456789abcdef0123456789abcdef")),
    ("/machine.slice/machine-web\\x2d1.scope/payload/system.slice/nginx.service", ("systemd-nspawn", "web-1", None)),
    ("/lxc.payload.box/init.scope", ("lxc", "box", None)),
    ("/system.slice/nginx.service", None),
    ("/user.slice/user-1000.slice/session-3.scope", None),
    (None, None),
])
def test_containers_named_by_their_cgroup(cgroup, expected):
    assert from_cgroup(cgroup) == expected


def test_monitors_name_their_containers_by_their_own_arguments():
    conmon = _row(10, 1, "conmon", ["/usr/bin/conmon", "--api-version", "1", "-c", "ab" * 32, "-u", "ab" * 32,
                                    "-r", "/usr/bin/runc", "-n", "web", "--exit-dir", "/run/libpod/exits"])
    assert from_monitor(conmon) == ("podman", "web", "ab" * 32, False)
    exec_session = _row(11, 1, "conmon", ["/usr/bin/conmon", "-c", "ab" * 32, "-u", "cd" * 32, "-n", "web", "-e",
                                          "--exec-attach"])
    assert from_monitor(exec_session)[3] is True
    nspawn = _row(12, 1, "systemd-nspawn", ["systemd-nspawn", "-q", "-D", "/var/lib/machines/box", "--boot"])
    assert from_monitor(nspawn) == ("systemd-nspawn", "box", None, False)
    assert from_monitor(_row(13, 1, "conmonx", ["/usr/bin/sleep", "-c", "x"])) is None


def test_units_below_a_manager_s_root():
    assert _unit_below("", "/system.slice/system-postgresql.slice/postgresql@15-main.service") == \
        "postgresql@15-main.service"
    assert _unit_below("/lab/payload", "/lab/payload/system.slice/nginx.service") == "nginx.service"
    assert _unit_below("", "/user.slice/user-0.slice/user@0.service/init.scope") == "user@0.service"
    assert _unit_below("", "/machine.slice/libpod-ab.scope/container") == "libpod-ab.scope"
    assert _unit_below("", "/") is None and _unit_below("", "/../..") is None


def test_managers_are_systemds_in_an_init_scope_of_their_own():
    table = Snapshot([
        _row(1, 0, "systemd", ["/sbin/init"], cgroup="/init.scope"),
        _row(900, 1, "systemd", ["/lib/systemd/systemd", "--user"],
             cgroup="/user.slice/user-1000.slice/user@1000.service/init.scope"),
        _row(950, 1, "systemd", ["/bin/systemd"], cgroup="/user.slice/user-1000.slice/session-3.scope"),  # a fake
        _row(7000, 6990, "systemd", ["/usr/lib/systemd/systemd"], cgroup="/lab/payload/init.scope",
             nspid=(7000, 1), namespace_init=True),
    ], source="loaded", from_proc=False)
    found = {m.record.pid: (m.root, m.user, m.depth) for m in find_managers(table)}
    assert found == {1: ("", False, 0), 900: ("/user.slice/user-1000.slice/user@1000.service", True, 0),
                     7000: ("/lab/payload", False, 1)}


def test_a_saved_table_is_placed_by_its_cgroups_alone_and_says_so():
    table = Snapshot([
        _row(1, 0, "systemd", ["/sbin/init"], cgroup="/init.scope"),
        _row(600, 1, "nginx", ["nginx: master process"], cgroup="/system.slice/nginx.service"),
        _row(601, 600, "nginx", ["nginx: worker process"], cgroup="/system.slice/nginx.service"),
    ], source="loaded", from_proc=False)
    master, worker = kind_of(table, table.get(600)), kind_of(table, table.get(601))
    assert (master.name, master.unit, master.supervisor) == ("service", "nginx.service", "systemd")
    assert (worker.name, worker.unit, worker.role) == ("worker", "nginx.service", "worker")
    assert any("did not ask systemd" in r for r in worker.reasons)


@linux_only
def test_a_socket_is_reached_without_following_a_link(tmp_path):
    from psxj.safefs import socket_beneath

    real = tmp_path / "run" / "real.sock"
    real.parent.mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(real))
    try:
        os.symlink(str(real), tmp_path / "run" / "planted.sock")
        os.symlink(str(tmp_path / "run"), tmp_path / "linkdir")
        fd = socket_beneath(str(tmp_path), "run/real.sock")
        os.close(fd)
        for planted in ("run/planted.sock", "linkdir/real.sock", "run/../run/real.sock"):
            with pytest.raises(OSError):
                socket_beneath(str(tmp_path), planted)
        (tmp_path / "run" / "file").write_text("x")
        with pytest.raises(OSError):
            socket_beneath(str(tmp_path), "run/file")
    finally:
        server.close()


@linux_only
def test_an_environment_overwritten_by_a_process_title_is_unknown_not_read(spawner):
    if not os.path.exists("/usr/bin/perl"):
        pytest.skip("no perl to write a process title over its environment")
    proc = spawner.popen(["/usr/bin/perl", "-e", '$0 = "psxj-title: " . ("x" x 300); print "ok\\n"; '
                          '$| = 1; sleep 120'], stdout=subprocess.PIPE, env={"LISTEN_PID": "1", "LISTEN_FDS": "1"})
    assert proc.stdout.readline() == b"ok\n"
    with open(f"/proc/{proc.pid}/environ", "rb") as f:
        assert b"LISTEN_PID" not in f.read()  # perl's title is really there, over the environment
    from psxj.judge.facts import Overwritten, ProcFacts

    with pytest.raises(Overwritten, match="overwritten by a process title"):
        ProcFacts(proc.pid).environ()
    audit = json.loads(run_psxj("audit", "--json", "--profile", "new-style", str(proc.pid)).stdout)[0]
    readiness = next(r for r in audit["rules"] if r["id"] == "readiness")
    assert readiness["verdict"] == "unknown" and "process title" in readiness["evidence"]


def test_a_container_name_with_escape_sequences_is_escaped_in_the_audit():
    """conmon's arguments are the container owner's: a name with a terminal escape reaches the screen
    only escaped."""
    code = (
        "import sys\n"
        "from psxj.judge.audit import Report, format_report\n"
        "from psxj.judge.kinds import Kind\n"
        "kind = Kind('monitor', ('x',), container='podman container \\x1b]0;pwned\\x07 (ab)', unit='a\\x1bb')\n"
        "sys.stdout.write(format_report(Report(5, 'conmon', kind, None, False, ())))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert b"\x1b" not in out and b"\x07" not in out and b"pwned" in out
