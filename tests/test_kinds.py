"""Every shape a process takes, built with real processes and judged through `psxj --json`:
classic daemons, `setsid -f`, orphaned jobs that only look like daemons, supervised services
(real runit, supervisord, tini and libslack daemon where installed), a subreaper, a PID namespace.

These tests assume what a test machine gives them: nothing between the test and PID 1 makes itself
a subreaper, so an orphan goes to PID 1 (the demo's tests assume the same).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, gone_or_zombie, linux_only, root_only, run_psxj, stat_fields, wait_for_zombie
from test_audit import start_daemon

pytestmark = linux_only


def kinds(*pids: int) -> dict:
    """pid -> the JSON row psxj prints for it."""
    result = run_psxj("--json", "-p", ",".join(map(str, pids)))
    assert b"Traceback" not in result.stderr, result.stderr
    return {row["pid"]: row for row in json.loads(result.stdout)}


def wait_for_parent(pid: int, parent: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = stat_fields(pid)
        if fields is not None and int(fields[1]) == parent:
            return
        time.sleep(0.02)
    raise AssertionError(f"{pid} was not reparented to {parent}: {stat_fields(pid)}")


def shell_pid(spawner, script: str, **kwargs) -> int:
    """Run a shell snippet that prints a PID (echo $!) and exits; track that PID for cleanup."""
    proc = spawner.popen(["sh", "-c", script], stdout=subprocess.PIPE, **kwargs)
    out, _ = proc.communicate(timeout=10)
    pid = int(out.split()[-1])
    spawner.track(pid)
    return pid


def no_false_adoption(row: dict) -> None:
    for reason in row["kind_reasons"]:
        assert "adopted by" not in reason and "starter exited" not in reason, reason


# --- daemons ---------------------------------------------------------------------------------

def test_a_double_forked_daemon_is_a_daemon(spawner):
    pid = start_daemon(spawner)
    row = kinds(pid)[pid]
    assert row["kind"] == "daemon" and row["daemon"] is True
    assert any("second fork" in r for r in row["kind_reasons"])
    assert any("PID 1" in r for r in row["kind_reasons"])


def test_setsid_f_makes_a_daemon_that_leads_its_session(spawner, tmp_path):
    marker = tmp_path / "setsid.pid"
    subprocess.run(["setsid", "-f", "sh", "-c", f'echo $$ > {marker}; exec sleep 300'], check=True, timeout=10)
    for _ in range(100):
        if marker.exists() and marker.read_text().strip():
            break
        time.sleep(0.02)
    pid = int(marker.read_text())
    spawner.track(pid)
    wait_for_parent(pid, 1)
    row = kinds(pid)[pid]
    assert row["kind"] == "daemon"
    assert any("leads its own session" in r for r in row["kind_reasons"])
    # What setsid -f leaves undone shows in its audit: it is a session leader, cwd is not /.
    audit = json.loads(run_psxj("audit", "--json", str(pid)).stdout)[0]
    verdicts = {r["id"]: r["verdict"] for r in audit["rules"]}
    assert audit["profile"] == "classic" and verdicts["not-session-leader"] == "fail"


# --- orphans that only look like daemons ------------------------------------------------------

def test_a_nohup_job_whose_shell_exited_is_an_orphan(spawner):
    pid = shell_pid(spawner, "setsid bash -c 'set -m; nohup sleep 301 >/dev/null 2>&1 & echo $!'")
    wait_for_parent(pid, 1)
    row = kinds(pid)[pid]
    assert row["kind"] == "orphan" and row["daemon"] is False
    assert row["tty"] == "?" and row["sid"] != pid and row["pgid"] == pid
    assert any("never called setsid" in r for r in row["kind_reasons"])


def test_a_background_job_of_an_exited_non_interactive_shell_is_an_orphan(spawner):
    leader = spawner.python(
        "import subprocess\nos.setsid()\n"
        "out = subprocess.run(['sh', '-c', 'sleep 302 >/dev/null 2>&1 & echo $!'], capture_output=True).stdout\n"
        "print(out.decode().strip(), flush=True)\nREADY()\ntime.sleep(120)", stdout=subprocess.PIPE)
    pid = int(leader.stdout.readline())
    spawner.track(pid)
    wait_for_parent(pid, 1)
    row = kinds(pid)[pid]
    assert row["kind"] == "orphan" and row["daemon"] is False
    assert row["sid"] == leader.pid
    assert any(f"which {leader.pid}" in r and "alive" in r for r in row["kind_reasons"])


def test_a_child_left_in_another_live_process_session_is_an_orphan(spawner):
    """dbus-daemon's shape: a session leader whose helper forks the service and exits."""
    leader = spawner.python(
        "os.setsid()\nos.chdir('/')\n"
        "helper = os.fork()\n"
        "if helper == 0:\n"
        "    service = os.fork()\n"
        "    if service == 0:\n        time.sleep(120)\n        os._exit(0)\n"
        "    print(service, flush=True)\n    os._exit(0)\n"
        "os.waitpid(helper, 0)\nREADY()\ntime.sleep(120)", stdout=subprocess.PIPE)
    pid = int(leader.stdout.readline())
    spawner.track(pid)
    wait_for_parent(pid, 1)
    rows = kinds(pid, leader.pid)
    assert rows[pid]["kind"] == "orphan" and rows[pid]["daemon"] is False
    assert rows[leader.pid]["kind"] == "job"  # its live parent (this test) started it
    audit = json.loads(run_psxj("audit", "--json", str(pid)).stdout)[0]
    own = next(r for r in audit["rules"] if r["id"] == "own-session")
    assert own["verdict"] == "fail" and str(leader.pid) in own["evidence"]


def test_nothing_without_a_terminal_is_a_daemon_just_for_having_no_terminal(spawner):
    """A CI job: no terminal anywhere. Its orphaned background jobs are orphans, never daemons."""
    pids = [shell_pid(spawner, "sleep 305 >/dev/null 2>&1 & echo $!"),
            shell_pid(spawner, "setsid bash -c 'set -m; sleep 306 >/dev/null 2>&1 & echo $!'")]
    for pid in pids:
        wait_for_parent(pid, 1)
    result = run_psxj("--json")
    rows = {row["pid"]: row for row in json.loads(result.stdout)}
    for pid in pids:
        assert rows[pid]["kind"] == "orphan" and rows[pid]["daemon"] is False, rows[pid]
    # And every daemon psxj reports really detached: it leads its session, or the leader is gone
    # and it stayed in the leader's group; and its parent adopts orphans.
    for row in rows.values():
        if row["kind"] == "daemon":
            assert row["tty"] == "?" and (row["sid"] == row["pid"] or
                                          (row["pgid"] == row["sid"] and row["sid"] not in rows))


# --- children of live parents: supervised or not ---------------------------------------------

def test_a_child_of_an_unknown_live_supervisor_is_never_called_adopted(spawner):
    supervisor = spawner.python(
        "import subprocess\nos.setsid()\n"
        "child = subprocess.Popen(['sleep', '307'])\nprint(child.pid, flush=True)\nREADY()\nchild.wait()",
        stdout=subprocess.PIPE, comm=b"mysupervisor")
    child = int(supervisor.stdout.readline())
    spawner.track(child)
    row = kinds(child)[child]
    assert row["kind"] == "job" and row["daemon"] is False
    assert any(f"its parent {supervisor.pid} (mysupervisor) is alive" in r for r in row["kind_reasons"])
    no_false_adoption(row)
    audit = json.loads(run_psxj("audit", "--json", str(child)).stdout)[0]
    orphaned = next(r for r in audit["rules"] if r["id"] == "orphaned")
    assert orphaned["verdict"] == "fail" and "adopt" not in orphaned["evidence"]


def _set_child_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER


def test_a_subreaper_adopts_without_psxj_claiming_it_knows(spawner):
    """/proc does not show PR_SET_CHILD_SUBREAPER: without events, the parent is just alive."""
    helper = Path(__file__).parent / "helpers" / "classic_daemon.py"
    reaper = spawner.python(
        "import ctypes, subprocess\n"
        "assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0\n"
        "r, w = os.pipe()\n"
        f"launcher = subprocess.Popen([sys.executable, {str(helper)!r}, str(w)], pass_fds=(w,))\n"
        "os.close(w)\nprint(os.read(r, 32).decode(), flush=True)\nlauncher.wait()\nREADY()\n"
        "while True:\n    try:\n        os.wait()\n    except ChildProcessError:\n        time.sleep(0.2)",
        stdout=subprocess.PIPE, comm=b"reaper")
    pid = int(reaper.stdout.readline())
    spawner.track(pid)
    wait_for_parent(pid, reaper.pid)
    row = kinds(pid)[pid]
    assert row["ppid"] == reaper.pid
    assert row["kind"] == "job" and row["daemon"] is False
    assert any("cannot tell whether it started it or adopted it" in r for r in row["kind_reasons"])
    no_false_adoption(row)


@root_only
def test_a_pid_namespace_init_and_its_child(spawner):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    code = ("import subprocess, time\nchild = subprocess.Popen(['sleep', '308'])\n"
            "print('ready', flush=True)\nchild.wait()")
    proc = spawner.popen(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.stdout.readline().strip() != b"ready":
        pytest.skip(f"no PID namespace here: {proc.stderr.read(300)!r}")
    rows = json.loads(run_psxj("--json", "--kind", "container-init,service").stdout)
    init = next(r for r in rows if r["kind"] == "container-init" and r["ppid"] == proc.pid)
    child = next(r for r in rows if r["ppid"] == init["pid"])
    assert child["kind"] == "service" and child["daemon"] is True
    assert any("container's init" in r for r in child["kind_reasons"])
    spawner.track(child["pid"])
    spawner.track(init["pid"])


# --- real supervisors from Debian packages ------------------------------------------------------

def _needs(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/run installs runit, supervisor, tini, daemon)")


def _child_of(parent: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in os.listdir("/proc"):
            if name.isdigit():
                fields = stat_fields(int(name))
                if fields is not None and int(fields[1]) == parent and fields[0] != b"Z":
                    return int(name)
        time.sleep(0.05)
    raise AssertionError(f"no child of {parent}")


@pytest.mark.slow
def test_runsv_supervises_a_service(spawner, tmp_path):
    _needs("runsv")
    service = tmp_path / "svc"
    service.mkdir()
    run = service / "run"
    run.write_text("#!/bin/sh\nexec sleep 309\n")
    run.chmod(0o755)
    runsv = spawner.popen(["runsv", str(service)])
    child = _child_of(runsv.pid)
    spawner.track(child)  # killed by PID even if runsv is killed first and it outlives it
    row = kinds(child)[child]
    assert row["kind"] == "service" and row["supervisor"] == f"runit (pid {runsv.pid})"
    no_false_adoption(row)
    audit = json.loads(run_psxj("audit", "--json", str(child)).stdout)[0]
    verdicts = {r["id"]: r["verdict"] for r in audit["rules"]}
    assert audit["profile"] == "new-style"
    assert verdicts["supervised"] == "pass" and verdicts["orphaned"] == "n/a" and verdicts["pidfile-lock"] == "n/a"
    runsv.send_signal(signal.SIGTERM)  # runsv ends its service, then itself
    runsv.wait(timeout=10)


@pytest.mark.slow
def test_supervisord_tini_and_libslack_daemon_supervise(spawner, tmp_path):
    _needs("supervisord", "tini", "daemon")
    config = tmp_path / "supervisord.conf"
    config.write_text(f"[supervisord]\nnodaemon=true\nlogfile={tmp_path}/sd.log\npidfile={tmp_path}/sd.pid\n"
                      f"[program:sleeper]\ncommand=sleep 310\n")
    supervisord = spawner.popen(["supervisord", "-c", str(config)])
    tini = spawner.popen(["tini", "-s", "--", "sleep", "311"])
    children = {"supervisord": (_child_of(supervisord.pid), supervisord.pid),
                "tini": (_child_of(tini.pid), tini.pid)}
    for child, _ in children.values():
        spawner.track(child)
    daemon_name = f"psxj-test-{os.getpid()}"
    subprocess.run(["daemon", "--name", daemon_name, "--pidfiles", str(tmp_path), "--", "sleep", "312"],
                   check=True, timeout=10)
    client_file, daemon_file = (tmp_path / f"{daemon_name}.clientpid", tmp_path / f"{daemon_name}.pid")
    for _ in range(200):  # daemon returns before it has written its pidfiles
        if client_file.exists() and client_file.read_text().strip() and daemon_file.exists():
            break
        time.sleep(0.02)
    libslack = int(daemon_file.read_text())
    spawner.track(libslack)
    client = int(client_file.read_text())
    spawner.track(client)
    children["libslack daemon"] = (client, libslack)
    rows = kinds(*(child for child, _ in children.values()))
    for what, (child, parent) in children.items():
        spawner.track(child)
        row = rows[child]
        assert row["kind"] == "service", (what, row)
        assert row["supervisor"].endswith(f"(pid {parent})") and what in row["supervisor"], (what, row)
        no_false_adoption(row)
    # The libslack daemon process itself detached the classic way: a daemon.
    assert kinds(libslack)[libslack]["kind"] == "daemon"
    supervisord.send_signal(signal.SIGTERM)
    supervisord.wait(timeout=20)


# --- the rest, and saved tables -------------------------------------------------------------

def test_kernel_threads_zombies_and_init(spawner):
    zombie = spawner.popen(["true"])
    wait_for_zombie(zombie.pid)
    rows = kinds(1, 2, zombie.pid)
    assert rows[1]["kind"] == "init" and rows[1]["daemon"] is True
    if 2 in rows and rows[2]["kernel_thread"]:
        assert rows[2]["kind"] == "kernel-thread"
    assert rows[zombie.pid]["kind"] == "zombie" and rows[zombie.pid]["daemon"] is False
    zombie.wait()
    assert gone_or_zombie(zombie.pid)


def test_kind_selector_on_the_command_line_and_in_the_filter(spawner):
    pid = start_daemon(spawner)
    shown = json.loads(run_psxj("--json", "--kind", "daemon").stdout)
    assert pid in {row["pid"] for row in shown} and {row["kind"] for row in shown} == {"daemon"}
    like = json.loads(run_psxj("--json", "--kind", "daemon-like").stdout)
    assert {row["kind"] for row in like} <= {"init", "container-init", "service", "daemon"}
    bad = run_psxj("--kind", "demon")
    assert bad.returncode == 2 and b"unknown kind 'demon'" in bad.stderr and b"daemon-like" in bad.stderr
    from psxj.select import parse_filter

    assert parse_filter("--kind orphan,job").describe() == "--kind job,orphan"


def test_partial_saved_tables_are_judged_from_the_row_and_say_so(tmp_path):
    """`ps -axj | grep sshd`: no PID 1 row. PPID 1, no terminal, its own session: a daemon, inferred.
    A WSL /init as PID 1 is init by being PID 1, not by its name."""
    text = (" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND\n"
            "    1   812   812   812 ?           -1 Ss       0   0:00 sshd: /usr/sbin/sshd -D\n"
            "  812  4410  4410  4410 ?           -1 Ss       0   0:00 sshd: alice [priv]\n"
            "    1  5000  4990  4990 ?           -1 S     1000   0:00 sleep 1000\n")
    path = tmp_path / "partial.txt"
    path.write_text(text)
    rows = {row["pid"]: row for row in json.loads(run_psxj("--json", "--load", str(path)).stdout)}
    assert rows[812]["kind"] == "daemon" and rows[812]["daemon"] is True
    assert any("saved row" in r for r in rows[812]["kind_reasons"])
    assert rows[4410]["kind"] == "job"
    assert rows[5000]["kind"] == "daemon"  # its session's leader is not in the file: taken to have exited
    assert any("not in the saved table" in r for r in rows[5000]["kind_reasons"])
    wsl = tmp_path / "wsl.txt"
    wsl.write_text(" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND\n"
                   "    0     1     0     0 ?           -1 Sl       0   0:00 /init\n"
                   "    1     7     7     7 ?           -1 Ss       0   0:00 /init\n")
    rows = {row["pid"]: row for row in json.loads(run_psxj("--json", "--load", str(wsl)).stdout)}
    assert rows[1]["kind"] == "init" and rows[7]["kind"] == "daemon"
    tutorial = {row["pid"]: row for row in json.loads(run_psxj("--json", "--load",
                                                                str(FIXTURES / "tutorial-axj.txt")).stdout)}
    assert {row["kind"] for row in tutorial.values()} >= {"kernel-thread", "daemon", "job"}


def _row(pid, ppid, comm, argv, sid=None, pgid=None, cgroup=None):
    from psxj.model import ProcessRecord

    return ProcessRecord(pid=pid, ppid=ppid, pgid=pgid or sid or pid, sid=sid or pid, tty="?", tpgid=-1, stat="Ss",
                         euid=0, cpu_seconds=0, command=" ".join(argv), comm=comm, state="S",
                         kernel_thread=False, argv=tuple(argv), start_ticks=pid, cgroup=cgroup)


SESSION_SCOPE = "/user.slice/user-1000.slice/session-3.scope"


def test_systemd_units_from_cgroup_paths():
    """This machine has no systemd: the table is one we wrote, with cgroup paths in the shapes
    systemd makes (a system unit, a user unit under user@.service, a unit's forked child). It is no
    evidence of what a real systemd machine shows; it checks the judgement on those shapes."""
    from psxj.judge.kinds import classify_all, unit_of
    from psxj.model import Snapshot

    assert unit_of("/system.slice/nginx.service") == "nginx.service"
    assert unit_of("/user.slice/user-1000.slice/user@1000.service/app.slice/gpg-agent.service") \
        == "gpg-agent.service"
    assert unit_of("/user.slice/user-1000.slice/session-3.scope") is None
    table = Snapshot([
        _row(1, 0, "systemd", ["/sbin/init"], cgroup="/init.scope"),
        _row(600, 1, "nginx", ["nginx: master process /usr/sbin/nginx"], cgroup="/system.slice/nginx.service"),
        _row(700, 1, "sleep", ["sleep", "100"], sid=650, cgroup="/system.slice/backup.service"),
        _row(900, 1, "systemd", ["/lib/systemd/systemd", "--user"],
             cgroup="/user.slice/user-1000.slice/user@1000.service/init.scope"),
        _row(950, 900, "gpg-agent", ["gpg-agent", "--supervised"],
             cgroup="/user.slice/user-1000.slice/user@1000.service/app.slice/gpg-agent.service"),
        _row(980, 970, "bash", ["-bash"], cgroup=SESSION_SCOPE),
        _row(990, 1, "sleep", ["sleep", "100"], sid=980, pgid=990, cgroup=SESSION_SCOPE),
    ], source="live")
    kinds = classify_all(table)
    assert (kinds[600].name, kinds[600].supervisor, kinds[600].unit) == ("service", "systemd", "nginx.service")
    # A unit's process forked away from its main one is still the unit's: systemd tracks its cgroup.
    assert (kinds[700].name, kinds[700].unit) == ("service", "backup.service")
    assert (kinds[950].name, kinds[950].supervisor, kinds[950].unit) == \
        ("service", "systemd --user (pid 900)", "gpg-agent.service")
    assert not kinds[950].adopted
    # A nohup job of a login session whose shell lives on: adopted by init, never detached: an orphan,
    # not a service; named with its login's scope, where it is a member (a scope's processes were
    # started elsewhere and moved in).
    assert (kinds[990].name, kinds[990].unit, kinds[990].role) == ("orphan", "session-3.scope", "member")
