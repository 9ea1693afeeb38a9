"""The demo daemon, checked from the outside through /proc, and its init-script-style control."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import LiveReader, gone_or_zombie, linux_only, run_psxj, stat_fields

from psxj.demo.control import DemoControl
from psxj.demo.steps import narrate

pytestmark = linux_only


@pytest.fixture
def rundir(tmp_path):
    """A run directory whose demo is stopped, and killed by PID if need be, after the test."""
    path = tmp_path / "run"
    yield path
    control = DemoControl(str(path))
    pid = control.running_pid()
    if pid is not None:
        control.stop(timeout=5)
    for entry in [e for entries in control.all_runs().values() for e in entries]:  # every demo process
        try:
            os.kill(entry["pid"], signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def demo(rundir, *args):
    return run_psxj("demo", *args, "--rundir", str(rundir))


def status_line(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()


def test_the_daemon_keeps_every_promise_of_the_tutorial(rundir):
    result = demo(rundir, "start")
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout)
    ppid, pgid, sid, tty_nr, tpgid = (int(v) for v in stat_fields(pid)[1:6])
    with open(f"/proc/{ppid}/status") as f:
        assert ppid == 1 or "NSpid" in f.read()  # adopted by init (or a namespace's init)
    assert sid != pid and pgid != pid                   # second fork: not a leader
    assert tty_nr == 0 and tpgid == -1                  # no controlling terminal
    assert status_line(pid, "Umask") == "0000"
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    fds = {int(n): os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd")}
    assert fds[0] == fds[1] == fds[2] == "/dev/null"
    others = {fd: target for fd, target in fds.items() if fd > 2}
    # The pidfile, and a socket to /dev/log where the machine runs a syslog daemon.
    assert [t for t in others.values() if not t.startswith("socket:")] == [str(rundir / "psxj-demo.pid")]
    st = os.stat(rundir / "psxj-demo.pid")
    with open("/proc/locks") as f:
        locks = [line.split() for line in f]
    assert any(lk[1] == "POSIX" and lk[3] == "WRITE" and int(lk[4]) == pid and lk[5].endswith(f":{st.st_ino}")
               for lk in locks)
    caught = int(status_line(pid, "SigCgt"), 16)
    assert caught & (1 << (signal.SIGHUP - 1)) and caught & (1 << (signal.SIGTERM - 1))
    assert (rundir / "psxj-demo.pid").read_text().strip() == str(pid)


def test_second_start_is_refused_and_touches_nothing(rundir):
    pid = int(demo(rundir, "start").stdout)
    pidfile = rundir / "psxj-demo.pid"
    before = (pidfile.read_bytes(), os.stat(pidfile).st_mtime_ns, (rundir / "psxj-demo.log").read_bytes())
    result = demo(rundir, "start")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"psxj-demo already running (pid {pid})"
    assert (pidfile.read_bytes(), os.stat(pidfile).st_mtime_ns, (rundir / "psxj-demo.log").read_bytes()) == before


def test_the_daemon_itself_refuses_a_second_instance(rundir):
    """Even started directly, past the control's check, running()'s lock refuses it."""
    control = DemoControl(str(rundir))
    pid = int(demo(rundir, "start").stdout)
    run = control.launch()
    run.launcher.wait(timeout=10)
    outcome = None
    for _ in range(200):
        refused = [e for e in control.steps(run.run_id) if e["step"] == "refused"]
        if refused:
            outcome = refused[0]
            break
        time.sleep(0.02)
    assert outcome is not None and outcome["holder"] == pid
    assert control.running_pid() == pid
    assert f"psxj-demo already running (pid {pid}): refusing" in control.log()


def test_status_codes_stop_restart_and_kill_9(rundir):
    assert demo(rundir, "status").returncode == 3
    pid = int(demo(rundir, "start").stdout)
    result = demo(rundir, "status")
    assert result.returncode == 0 and f"(pid {pid})" in result.stdout.decode()
    restarted = demo(rundir, "restart")
    new_pid = int(restarted.stdout)
    assert new_pid != pid and gone_or_zombie(pid)
    os.kill(new_pid, signal.SIGKILL)  # dies without cleaning up: the pidfile stays
    for _ in range(100):
        if DemoControl(str(rundir)).running_pid() is None:
            break
        time.sleep(0.02)
    assert (rundir / "psxj-demo.pid").exists()
    assert demo(rundir, "status").returncode == 1
    again = demo(rundir, "start")  # the stale pidfile does not block: the lock decides
    assert again.returncode == 0
    assert demo(rundir, "stop").returncode == 0
    assert demo(rundir, "status").returncode == 3
    assert not (rundir / "psxj-demo.pid").exists()
    assert demo(rundir, "stop").returncode == 0  # stopping what is not running is fine


def test_start_returns_once_the_daemon_handles_its_signals(rundir):
    """An init script's start returns when the service is ready: with a pause after each step (the
    last two being syslog and the handlers), a SIGHUP sent right after `start` finds the handler,
    not the default action that would kill the daemon."""
    result = demo(rundir, "start", "--step-delay", "0.3")
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout)
    caught = int(status_line(pid, "SigCgt"), 16)
    assert caught & (1 << (signal.SIGHUP - 1)) and caught & (1 << (signal.SIGTERM - 1))


def test_sighup_is_logged_and_sigterm_cleans_up(rundir):
    pid = int(demo(rundir, "start").stdout)
    os.kill(pid, signal.SIGHUP)
    for _ in range(100):
        if "SIGHUP: reloading" in demo(rundir, "log").stdout.decode():
            break
        time.sleep(0.05)
    assert "SIGHUP: reloading" in demo(rundir, "log").stdout.decode()
    assert demo(rundir, "status").returncode == 0  # still running after the reload
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not (rundir / "psxj-demo.pid").exists():
            break
        time.sleep(0.05)
    assert not (rundir / "psxj-demo.pid").exists()
    assert "SIGTERM: removing the pidfile" in demo(rundir, "log").stdout.decode()


def test_lifetime_ends_a_forgotten_demo(rundir):
    demo(rundir, "start", "--lifetime", "1")
    for _ in range(100):
        if demo(rundir, "status").returncode == 3:
            break
        time.sleep(0.05)
    assert demo(rundir, "status").returncode == 3
    assert "lifetime of 1s reached" in demo(rundir, "log").stdout.decode()


def test_steps_record_each_change_as_proc_showed_it(rundir):
    pid = int(demo(rundir, "start").stdout)
    (entries,) = DemoControl(str(rundir)).all_runs().values()
    names = [e["step"] for e in entries]
    assert names == ["start", "fork", "setsid", "second-fork", "umask", "chdir", "close", "devnull", "running",
                     "syslog", "signals"]
    told = {step_id: changes for step_id, _, changes in narrate(entries)}
    start, fork, setsid, second = (entries[i]["row"] for i in range(4))
    assert f"PID {start['PID']} -> {fork['PID']}" in told["fork"]
    assert f"SID {fork['SID']} -> {fork['PID']}" in told["setsid"]
    assert (setsid["TTY"], setsid["TPGID"], setsid["STAT"]) == ("?", -1, "Ss")
    assert (second["PID"], second["SID"], second["STAT"]) == (pid, setsid["SID"], "S")
    assert told["umask"] == []  # invisible in ps, as the narration says


def test_init_script_and_unit(rundir):
    script = demo(rundir, "init-script").stdout.decode()
    assert script.startswith("#! /bin/sh") and "### BEGIN INIT INFO" in script
    assert "PIDFILE=$RUNDIR/psxj-demo.pid" in script and "start-stop-daemon --start" in script
    unit = demo(rundir, "unit").stdout.decode()
    assert "Type=forking" in unit and f"PIDFile={rundir}/psxj-demo.pid" in unit


def test_bad_demo_usage():
    result = run_psxj("demo", "launch")
    assert result.returncode == 2 and result.stderr.count(b"\n") == 1 and b"invalid choice" in result.stderr


def _panel_text(app):
    from rich.console import Console

    console = Console(width=300, record=True, file=open(os.devnull, "w"))
    console.print(app.query_one("#demo").content)
    return console.export_text()


async def test_step_mode_in_the_interface_narrates_the_real_values(rundir):
    from psxj.tui.app import PsxjApp

    control = DemoControl(str(rundir))
    # A step every second: long enough that a loaded machine still catches each one between polls.
    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(rundir), demo_step_delay=1.0)
    seen = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("d")
        for _ in range(200):
            await pilot.pause(0.1)
            app.follow_demo()
            entries = control.steps(app.demo_run.run_id)
            if entries:
                # The panel as it last stood while this step was the newest: the step's line reaches the
                # file before the panel has told it, so its first look may still show the step before.
                seen[entries[-1]["step"]] = _panel_text(app)
            if entries and entries[-1]["step"] == "signals":
                break
        entries = control.steps(app.demo_run.run_id)
        assert [e["step"] for e in entries][-1] == "signals"
        rows = {e["step"]: e["row"] for e in entries}
        # Each step's panel named it and showed the columns that really changed, old -> new.
        fork, setsid, second = rows["fork"], rows["setsid"], rows["second-fork"]
        assert "Step 3 of 11: setsid()" in seen["setsid"]
        assert f"SID {fork['SID']} -> {setsid['SID']}" in seen["setsid"] and setsid["SID"] == setsid["PID"]
        assert f"STAT {fork['STAT']} -> Ss" in seen["setsid"]
        assert f"PID {setsid['PID']} -> {second['PID']}" in seen["second-fork"]
        assert "开启一个新会话" in seen["setsid"]  # the tutorial's own words
        # The table shows the daemon with the values the last step recorded, highlighted.
        # Read it once it sleeps: caught writing its log, its STAT is R, which no step recorded.
        for _ in range(20):
            await pilot.pause(0.2)
            app.action_refresh_now()
            await pilot.pause(0.3)
            daemon = app.snapshot.get(second["PID"])
            if daemon is not None and not daemon.stat.startswith("R"):
                break
        last = entries[-1]["row"]
        assert (daemon.pid, daemon.ppid, daemon.pgid, daemon.sid, daemon.tty, daemon.tpgid, daemon.stat) == \
            (last["PID"], last["PPID"], last["PGID"], last["SID"], last["TTY"], last["TPGID"], last["STAT"])
        assert {e["pid"] for e in entries} <= app.table.highlighted_pids
        # SIGHUP: the log shows the reload. A second instance: refused.
        await pilot.press("H")
        await pilot.press("I")
        for _ in range(100):
            await pilot.pause(0.1)
            app.follow_demo()
            second_run = control.steps(app.demo_second_run.run_id) if app.demo_second_run else []
            if "refused" in [e["step"] for e in second_run] and "SIGHUP: reloading" in control.log():
                break
        assert "SIGHUP: reloading" in control.log()
        assert any(e["step"] == "refused" and e["holder"] == second["PID"] for e in second_run)
        # The panel keeps the first run's steps and says what became of the second instance, apart.
        panel = _panel_text(app)
        assert f"Second instance (pid {second_run[-1]['pid']}): refused" in panel
        assert "Steps 11/11" in panel
    # Quitting stopped the demo psxj started, and nothing of it is left.
    assert control.status() == 3
    for entries in control.all_runs().values():
        for entry in entries:
            assert gone_or_zombie(entry["pid"])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_start_on_a_terminal_says_what_the_pid_is_and_what_next(rundir, language):
    """Issue 24: a bare PID told a person nothing. On a terminal, a sentence with the PID and the next
    commands; into a pipe the PID alone, as the tests above and scripts read it."""
    import sys

    from conftest import PtySession, clean_env

    session = PtySession([sys.executable, "-m", "psxj", "--lang", language, "demo", "start", "--rundir",
                          str(rundir)], env=clean_env())
    try:
        assert session.proc.wait(timeout=30) == 0
        pid = int((rundir / "psxj-demo.pid").read_text())
        said = f"psxj -p {pid}" if language == "en" else f"psxj audit {pid}"
        assert session.wait_for(said.encode()), bytes(session.output)
    finally:
        session.close()
    text = bytes(session.output).decode()
    assert text.count("\n") == 1 and f"psxj demo stop --rundir {rundir}" in text, text
    if language == "en":
        assert text.startswith(f"psxj-demo started: the daemon is PID {pid}. See its row with `psxj -p {pid}`, "
                               f"audit it with `psxj audit {pid}`"), text
