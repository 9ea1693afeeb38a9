"""psxj audit: real processes that pass and fail each daemon rule, judged from /proc."""

from __future__ import annotations

import json
import os
import pty
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, LiveReader, clean_env, linux_only, run_psxj, stat_fields, wait_for_zombie

pytestmark = linux_only
HELPER = Path(__file__).parent / "helpers" / "classic_daemon.py"


def start_daemon(spawner, *options, pass_fds=()):
    """Run the classic daemon helper; return the PID of the process it ends up as."""
    read_end, write_end = os.pipe()
    launcher = spawner.popen([sys.executable, str(HELPER), str(write_end), *options],
                             pass_fds=(write_end, *pass_fds))
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 32):
        data += chunk
    os.close(read_end)
    launcher.wait(timeout=10)
    pid = int(data)
    spawner.track(pid)
    for _ in range(100):  # the middle process exits; wait until init has adopted the daemon
        if int(stat_fields(pid)[1]) != launcher.pid:
            break
        time.sleep(0.02)
    return pid


def audit(pid, *extra):
    result = run_psxj("audit", "--json", str(pid), *extra)
    assert b"Traceback" not in result.stderr
    report = json.loads(result.stdout)[0]
    return result.returncode, {r["id"]: (r["verdict"], r["evidence"]) for r in report["rules"]}, report


def test_a_proper_daemon_passes_every_rule_it_can_check(spawner, tmp_path):
    pidfile = tmp_path / "good.pid"
    pid = start_daemon(spawner, "--pidfile", str(pidfile))
    status, rules, report = audit(pid)
    assert report["daemon"] is True and report["kind"] == "daemon" and report["profile"] == "classic"
    for rule_id, (verdict, evidence) in rules.items():
        # No syslog socket now is unknown, not a pass: the helper does not log.
        assert verdict == ("unknown" if rule_id == "syslog" else "pass"), (rule_id, evidence)
    assert rules["pidfile-lock"][1] == f"POSIX WRITE lock on {pidfile}, held through its fd 3"
    assert rules["umask"][1].startswith("Umask 0000")
    assert rules["signals"][1] == "HUP caught (SigCgt); TERM caught (SigCgt)"
    assert "the shape the second fork leaves" in rules["not-session-leader"][1]
    assert rules["stdio-devnull"][1] == "fd 0 -> /dev/null; fd 1 -> /dev/null; fd 2 -> /dev/null"
    assert status == 0


def test_a_plain_process_on_a_terminal_fails_the_session_rules(spawner):
    pid, master = pty.fork()
    if pid == 0:
        os.execvp("sleep", ["sleep", "120"])
    spawner.track(pid)
    try:
        time.sleep(0.2)
        status, rules, report = audit(pid)
        assert status == 1 and report["daemon"] is False and report["kind"] == "job"
        assert rules["orphaned"][0] == "fail" and f"PPID {os.getpid()}" in rules["orphaned"][1]
        assert "adopt" not in rules["orphaned"][1]
        assert rules["no-tty"][0] == "fail" and "pts/" in rules["no-tty"][1]
        assert rules["own-session"][0] == "fail"
        assert rules["not-session-leader"][0] == "fail"
        assert rules["stdio-devnull"][0] == "fail" and "/dev/pts/" in rules["stdio-devnull"][1]
        assert rules["signals"][0] == "fail" and "not handled: HUP TERM" in rules["signals"][1]
        assert rules["pidfile-lock"][0] == "fail"
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(master)


def on_root_filesystem(path) -> bool:
    return os.stat(path).st_dev == os.stat("/").st_dev


def test_a_setsid_child_in_another_filesystem(spawner):
    if on_root_filesystem("/dev/shm"):
        pytest.skip("/dev/shm is on the root filesystem here")
    proc = spawner.python("os.setsid()\nos.chdir('/dev/shm')\nREADY()\ntime.sleep(120)")
    status, rules, _ = audit(proc.pid)
    assert rules["own-session"][0] == "pass" and rules["no-tty"][0] == "pass"
    assert rules["not-session-leader"] == ("fail", f"SID {proc.pid} == PID: a session leader acquires a terminal "
                                                   "when it opens one (no second fork)")
    assert rules["cwd-root"] == ("fail", "cwd /dev/shm: on another filesystem than /, which it keeps busy (it "
                                         "cannot be unmounted)")
    assert rules["orphaned"][0] == "fail"
    assert status == 1


def test_one_fork_only_is_a_session_leader(spawner):
    pid = start_daemon(spawner, "--no-second-fork")
    _, rules, report = audit(pid)
    assert rules["orphaned"][0] == "pass" and rules["own-session"][0] == "pass"
    assert rules["not-session-leader"][0] == "fail"


def test_an_inherited_pipe_fails_fds_closed(spawner):
    read_end, write_end = os.pipe()
    try:
        pid = start_daemon(spawner, "--keep-fd", str(read_end), pass_fds=(read_end,))
        status, rules, _ = audit(pid)
        verdict, evidence = rules["fds-closed"]
        inode = os.fstat(read_end).st_ino
        assert verdict == "fail"
        assert f"fd {read_end} -> pipe:[{inode}] (other end held by {os.getpid()}" in evidence
        assert "inherited, never closed" in evidence
        assert status == 1
    finally:
        os.close(read_end)
        os.close(write_end)


def test_stdout_on_a_file_fails_stdio_devnull(spawner, tmp_path):
    log = tmp_path / "out.log"
    pid = start_daemon(spawner, "--stdout", str(log))
    _, rules, _ = audit(pid)
    assert rules["stdio-devnull"] == ("fail", f"fd 0 -> /dev/null; fd 1 -> {log}; fd 2 -> /dev/null")


def test_umask_cwd_and_signals_verdicts(spawner, tmp_path):
    pid = start_daemon(spawner, "--umask", "022", "--cwd", str(tmp_path), "--no-signals")
    _, rules, _ = audit(pid)
    assert rules["umask"][0] == "pass" and "0022" in rules["umask"][1] and "accepted" in rules["umask"][1]
    if on_root_filesystem(tmp_path):  # a spool or data directory on / keeps no other filesystem busy
        assert rules["cwd-root"][0] == "pass" and "(accepted)" in rules["cwd-root"][1]
    else:
        assert rules["cwd-root"][0] == "fail"
    assert rules["signals"][0] == "fail"
    pid = start_daemon(spawner, "--umask", "0277")
    _, rules, _ = audit(pid)
    assert rules["umask"][0] == "fail" and "owner" in rules["umask"][1]


def test_syslog_connection_to_dev_log(spawner):
    """Needs a /dev/log: made here for the test when the machine has none and we are root."""
    made_here = False
    listener = None
    if not os.path.exists("/dev/log"):
        if os.geteuid() != 0:
            pytest.skip("no /dev/log and not root to make one")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind("/dev/log")
        made_here = True
    try:
        pid = start_daemon(spawner, "--devlog")
        _, rules, _ = audit(pid)
        assert rules["syslog"][0] == "pass" and "connected to /dev/log" in rules["syslog"][1]
        # sshd and atd connect for each message: no socket now is unknown, never a failure.
        other = start_daemon(spawner, "--syslog-per-message")
        _, rules, _ = audit(other)
        assert rules["syslog"][0] == "unknown" and "for each message" in rules["syslog"][1]
    finally:
        if listener is not None:
            listener.close()
        if made_here:
            os.unlink("/dev/log")


def test_unreadable_facts_are_unknown_not_guessed(spawner, tmp_path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to audit as another user")
    proc = spawner.python("os.chdir('/tmp')\nREADY()\ntime.sleep(120)")
    command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               sys.executable, "-m", "psxj", "audit", "--json", str(proc.pid)]
    probe = subprocess.run(command[:5] + ["-c", "import psxj"], cwd=ROOT, capture_output=True, env=clean_env())
    if probe.returncode != 0:
        pytest.skip("user nobody cannot read this checkout or its Python")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, env=clean_env())
    assert b"Traceback" not in result.stderr
    rules = {r["id"]: (r["verdict"], r["evidence"]) for r in json.loads(result.stdout)[0]["rules"]}
    for rule_id in ("cwd-root", "fds-closed", "stdio-devnull"):
        assert rules[rule_id][0] == "unknown" and "permission denied" in rules[rule_id][1]
    assert rules["no-tty"][0] == "pass"  # what /proc/PID/stat shows everyone is still judged


def test_all_lists_the_daemons_and_usage_errors(spawner):
    pid = start_daemon(spawner)
    result = run_psxj("audit", "--all")
    assert result.returncode in (0, 1)
    lines = result.stdout.decode().splitlines()
    assert lines[0].endswith("daemon-like processes (init, container-init, service, daemon)")
    assert any(line.split()[0] == str(pid) for line in lines[1:])
    for args, status, message in [(["audit"], 2, "name at least one PID"),
                                  (["audit", "abc"], 2, "invalid process ID 'abc'"),
                                  (["audit", str(2**22 + 9)], 1, f"no process with PID {2**22 + 9}")]:
        result = run_psxj(*args)
        assert result.returncode == status and message in result.stderr.decode()
        assert result.stderr.count(b"\n") == 1


def test_help_says_what_passes():
    text = run_psxj("audit", "--help").stdout.decode()
    for rule_id in ("orphaned", "own-session", "no-tty", "not-session-leader", "umask", "cwd-root",
                    "fds-closed", "stdio-devnull", "pidfile-lock", "syslog", "signals", "supervised", "logging",
                    "service-signals", "readiness", "reaps-children", "pid1-signals", "forwards-signals"):
        assert rule_id in text
    for profile in ("classic", "new-style", "container"):
        assert profile in text
    assert "0022" in text and "journal" in text


async def test_interface_audits_the_daemons_on_screen_and_shows_the_checklist(spawner, tmp_path):
    from psxj.select import parse_filter
    from psxj.tui.app import PsxjApp
    from psxj.tui.details import AuditScreen, DetailScreen

    pid = start_daemon(spawner, "--pidfile", str(tmp_path / "x.pid"))
    app = PsxjApp(reader=LiveReader(), selection=parse_filter(f"-p {pid}"), delay=60)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("a")
        for _ in range(50):
            await pilot.pause(0.1)
            if isinstance(app.screen, AuditScreen):
                break
        assert isinstance(app.screen, AuditScreen)
        [report] = app.screen.reports
        assert report.pid == pid and report.daemon and report.ok and report.profile == "classic"
        await pilot.press("escape", "enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.query_one("#checklist") is not None


# --- verdicts that were wrong on real daemons, each rebuilt in its shape ---------------------

def test_flock_taken_before_the_last_fork_is_the_daemons_lock(spawner, tmp_path):
    """cron's shape: /proc/locks names the exited parent; the lock is held through the daemon's own fd."""
    lockfile = tmp_path / "cron.pid"
    pid = start_daemon(spawner, "--flock-before-fork", str(lockfile))
    with open("/proc/locks") as f:
        holders = [int(line.split()[4]) for line in f if f":{os.stat(lockfile).st_ino} " in line + " "]
    assert holders and pid not in holders  # the kernel lists the PID that took it
    _, rules, _ = audit(pid)
    verdict, evidence = rules["pidfile-lock"]
    assert verdict == "pass" and f"FLOCK WRITE lock on {lockfile}, held through its fd" in evidence


def test_a_chrooted_daemon_whose_cwd_is_its_root_passes_cwd_root(spawner, tmp_path):
    jail = tmp_path / "jail"
    jail.mkdir()
    pid = start_daemon(spawner, "--chroot", str(jail))
    _, rules, _ = audit(pid)
    assert rules["cwd-root"] == ("pass", f"cwd is the root of its chroot ({jail}): it keeps only that directory, "
                                         "its own root")


@pytest.mark.parametrize("how, words", [("--sigtimedwait", "taken by sigtimedwait(), which it is waiting in now"),
                                        ("--signalfd", "blocked and read from a signalfd")])
def test_signals_taken_synchronously_are_handled(spawner, how, words):
    pid = start_daemon(spawner, how)
    _, rules, _ = audit(pid)
    verdict, evidence = rules["signals"]
    assert verdict == "pass", evidence
    assert f"HUP {words}" in evidence and f"TERM {words}" in evidence


def test_an_inherited_log_file_is_named_and_fails(spawner, tmp_path):
    """A starter's log on fd 3, shared with the starter (still alive): inherited, never closed."""
    log = tmp_path / "starter.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        pid = start_daemon(spawner, "--keep-fd", str(fd), pass_fds=(fd,))
        _, rules, _ = audit(pid)
        verdict, evidence = rules["fds-closed"]
        assert verdict == "fail", evidence
        assert f"fd {fd} -> {log} (the same open file as {os.getpid()}" in evidence
    finally:
        os.close(fd)


def test_an_inherited_dev_null_is_kept_and_a_log_beside_it_still_fails(spawner, tmp_path):
    """/dev/null shared with the starter carries nothing from it: kept, not a failure (comparing it
    with every holder on the machine made an audit of 1,000 such daemons take 35 s). The same
    daemon's inherited log on another descriptor is still found."""
    null = os.open(os.devnull, os.O_RDWR)
    log = tmp_path / "starter.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        pid = start_daemon(spawner, "--keep-fd", str(null), pass_fds=(null,))
        _, rules, _ = audit(pid)
        assert rules["fds-closed"] == ("pass", f"descriptors above 2, none shared with a process outside it: "
                                               f"fd {null} -> /dev/null (not compared: nothing reaches the "
                                               "starter through it)"), rules["fds-closed"]
        pid = start_daemon(spawner, "--keep-fd", str(null), "--keep-fd", str(fd), pass_fds=(null, fd))
        verdict, evidence = audit(pid)[1]["fds-closed"]
        assert verdict == "fail" and f"fd {fd} -> {log} (the same open file as {os.getpid()}" in evidence, evidence
        assert f"fd {null} -> /dev/null (not compared" in evidence
    finally:
        os.close(null)
        os.close(fd)


def test_evidence_never_claims_what_did_not_happen(spawner):
    # A background job in a live session: not a session leader, but no second fork happened.
    sleeper = spawner.popen(["sleep", "120"])
    _, rules, report = audit(sleeper.pid)
    assert "second fork" not in rules["not-session-leader"][1]
    assert "adopt" not in rules["orphaned"][1] and report["kind"] == "job"
    # PID 1 and kthreadd: started by the kernel, never "still alive" parents.
    for pid in (1, 2):
        result = run_psxj("audit", str(pid))
        assert b"still alive" not in result.stdout and b"Traceback" not in result.stderr
    kthreadd = json.loads(run_psxj("audit", "--json", "2").stdout)[0]
    if kthreadd["kind"] == "kernel-thread":
        assert kthreadd["rules"] == [] and kthreadd["profile"] is None  # no umask pass for a kernel thread
    # A zombie: not audited, and no "this kernel does not show it" about its umask.
    zombie = spawner.popen(["true"])
    wait_for_zombie(zombie.pid)
    report = json.loads(run_psxj("audit", "--json", str(zombie.pid)).stdout)[0]
    assert report["kind"] == "zombie" and report["rules"] == []
    text = run_psxj("audit", str(zombie.pid)).stdout.decode()
    assert "do not apply to a zombie" in text and "Umask" not in text


def test_profile_can_be_forced_and_lists_every_rule_id(spawner):
    pid = start_daemon(spawner)
    report = json.loads(run_psxj("audit", "--json", "--profile", "new-style", str(pid)).stdout)[0]
    verdicts = {r["id"]: r["verdict"] for r in report["rules"]}
    assert report["profile"] == "new-style"
    assert verdicts["supervised"] == "fail"  # a classic daemon has no supervisor
    assert set(verdicts) >= {"orphaned", "pidfile-lock", "syslog", "signals"}  # the classic ids stay, as n/a
    assert verdicts["pidfile-lock"] == "n/a"
    container = json.loads(run_psxj("audit", "--json", "--profile", "container", str(pid)).stdout)[0]
    assert {r["id"] for r in container["rules"]} >= {"reaps-children", "pid1-signals", "forwards-signals"}
    bad = run_psxj("audit", "--profile", "modern", str(pid))
    assert bad.returncode == 2 and b"invalid choice" in bad.stderr


def test_a_file_named_dev_null_is_not_taken_for_the_device(tmp_path):
    """In another mount namespace "/dev/null" can be any file: only the real device node is
    spared the comparison with other holders."""
    from psxj.judge.facts import Descriptor
    from psxj.judge.rules import _harmless_device

    impostor = tmp_path / "null"
    impostor.write_bytes(b"")
    real, fake = os.stat(os.devnull), os.stat(impostor)
    assert _harmless_device(Descriptor(5, "/dev/null", identity=(real.st_dev, real.st_ino)))
    assert not _harmless_device(Descriptor(5, "/dev/null", identity=(fake.st_dev, fake.st_ino)))
    assert not _harmless_device(Descriptor(5, "/dev/null", identity=None))
