"""An unprivileged local user against a root psxj: each attack from the security review, reproduced
with real processes, files and users, and shown to fail safely.

What "safely" means, checked each time: no file outside psxj's run directory changes, no process
psxj did not prove to be the one meant receives a signal, no code outside the installed package is
imported, and no ESC, BEL, CSI or OSC byte from a process, a file or an argument reaches the output.
The tests run as root (as an administrator's psxj would) and act as `nobody` where the attacker acts.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest
from conftest import (
    NOBODY,
    ROOT,
    LiveReader,
    PtySession,
    clean_env,
    gone_or_zombie,
    linux_only,
    pid_reused_by,
    root_only,
    run_psxj,
    select_live_row,
)

from psxj.demo.control import DemoControl

pytestmark = [linux_only, root_only]

# Bytes that let text drive a terminal: C0 controls but newline and tab, DEL, and C1 (also as UTF-8).
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b]2;owned\x07\x1b[2J\x9b31m"  # clipboard, title, clear screen, C1 CSI


def assert_no_control_bytes(data: bytes, where: str) -> None:
    found = _CONTROL.search(data)
    context = data[max(found.start() - 40, 0):found.end() + 20] if found else b""
    assert found is None, f"{where}: control byte at {found.start()}: {context!r}"


def run_as_root_script(code: str, *, cwd, env=None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Python code run by root with psxj's checkout first on sys.path (as an installed psxj would be)."""
    prelude = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], cwd=cwd, env=env or clean_env(),
                          capture_output=True, timeout=timeout)


class TermWatcher:
    """A process that records every SIGTERM, SIGHUP and SIGKILL-free signal it gets in a file: a victim
    or decoy that would show it was signalled."""

    CODE = textwrap.dedent("""
        import os, signal, sys, time
        log = sys.argv[1]
        def note(signum, frame):
            with open(log, "a") as f:
                f.write(f"{signum}\\n")
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1):
            signal.signal(s, note)
        SETUP
        READY()
        while True:
            time.sleep(1)
    """)

    @classmethod
    def start(cls, spawner, log, setup: str = "pass", user=None):
        code = cls.CODE.replace("SETUP", setup)
        if user is None:
            return spawner.python(code, str(log))
        # Another user cannot run root's virtualenv Python (under /root): the system's, as they would.
        python = shutil.which("python3", path="/usr/bin:/bin")
        if python is None:
            pytest.skip("no system python3 for the unprivileged user")

        def become_user():
            os.setgroups([])
            os.setresgid(user, user, user)
            os.setresuid(user, user, user)
        return spawner.python(code, str(log), preexec_fn=become_user, executable=python)


# --- code from the current directory ------------------------------------------------------------

def _plant_package(directory, marker) -> None:
    """A psxj/ package, owned by nobody, that records being imported (as root) in `marker`."""
    package = directory / "psxj"
    (package / "sources").mkdir(parents=True)
    (package / "demo").mkdir()
    evil = f"open({str(marker)!r}, 'a').write('imported by uid %d\\n' % __import__('os').getuid())\n"
    for init in (package / "__init__.py", package / "sources" / "__init__.py", package / "demo" / "__init__.py"):
        init.write_text(evil)
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    os.chmod(directory, 0o777)


def test_helpers_never_import_a_package_planted_in_the_working_directory(tmp_path):
    evil, marker = tmp_path / "evil", tmp_path / "imported"
    evil.mkdir()
    _plant_package(evil, marker)
    # The attack is real: a plain `python -m psxj` from that directory runs the planted code.
    subprocess.run([sys.executable, "-m", "psxj", "--version"], cwd=evil, capture_output=True, timeout=30)
    assert marker.exists(), "the planted package should be importable from its directory (test setup)"
    marker.unlink()
    # Root's psxj from that directory, with an empty PYTHONPATH entry and the attacker's directory on
    # it: the interface's /proc reader and the demo daemon (what `d` starts) are both started.
    rundir = tmp_path / "run"
    env = clean_env(PYTHONPATH=f":{evil}")
    result = run_as_root_script(f"""
        from psxj.sources.reader import SnapshotReader
        from psxj.demo.control import DemoControl
        reader = SnapshotReader()
        snapshot = reader.read()
        reader.close()
        control = DemoControl({str(rundir)!r})
        pid = control.start()
        control.stop()
        print(len(snapshot), pid)
    """, cwd=evil, env=env)
    assert result.returncode == 0, result.stderr.decode()
    count, pid = (int(v) for v in result.stdout.split())
    assert count > 10 and pid > 1
    assert not marker.exists(), marker.read_text()


def test_the_installed_command_ignores_the_working_directory(tmp_path):
    command = shutil.which("psxj", path=os.path.dirname(sys.executable))
    if command is None:
        pytest.skip("psxj is not installed as a command next to this Python")
    evil, marker = tmp_path / "evil", tmp_path / "imported"
    evil.mkdir()
    _plant_package(evil, marker)
    result = subprocess.run([command, "--print", "-p", "1"], cwd=evil, capture_output=True, timeout=60,
                            env=clean_env(PYTHONPATH=""))
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


# --- the demo's run directory -------------------------------------------------------------------

_RUNDIR_ATTACKS = r"""
import json, os, subprocess, sys
NOBODY = 65534
ROOT = sys.argv[1]
subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", "/tmp"], check=True)
os.mkdir("/tmp/rootonly", 0o700)
VICTIMS = {"/tmp/rootonly/shadow": b"precious root data\n", "/tmp/rootonly/log": b"root's own log\n"}

def reset():
    subprocess.run(["rm", "-rf", "/tmp/psxj-0", "/tmp/attacker"], check=True)
    for path, data in VICTIMS.items():
        with open(path, "wb") as f:
            f.write(data)

def as_nobody(script):
    subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "sh", "-c", script],
                   check=True)

def psxj(*args):
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}  # as under su, sudo or cron
    code = (f"import sys; sys.path.insert(0, {ROOT!r}); "
            "from psxj.commands.main import main; sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, env=env, cwd="/", timeout=60)
    return {"status": done.returncode, "out": done.stdout.decode(errors="replace"),
            "err": done.stderr.decode(errors="replace")}

def victims_intact():
    return all(open(path, "rb").read() == data for path, data in VICTIMS.items())

results = {}
# Root lets psxj make its own /tmp/psxj-0 (the control case: the demo works).
reset()
results["own"] = [psxj("demo", "start"), psxj("demo", "stop")]
st = os.lstat("/tmp/psxj-0")
results["own_mode"] = [st.st_uid, oct(st.st_mode & 0o777)]
# nobody made /tmp/psxj-0 first, world-writable, with symlinks to root's files.
reset()
as_nobody("mkdir -m 0777 /tmp/psxj-0 && ln -s /tmp/rootonly/shadow /tmp/psxj-0/psxj-demo.pid "
          "&& ln -s /tmp/rootonly/log /tmp/psxj-0/psxj-demo.log")
results["planted"] = [psxj("demo", cmd) for cmd in ("start", "stop", "status", "log")]
results["planted_intact"] = victims_intact()
# nobody made it private (0700): still not root's.
reset()
as_nobody("mkdir -m 0700 /tmp/psxj-0")
results["private_but_foreign"] = psxj("demo", "start")
# nobody made /tmp/psxj-0 a symlink to a root directory.
reset()
as_nobody("ln -s /tmp/rootonly /tmp/psxj-0")
results["symlinked"] = psxj("demo", "start")
results["symlinked_intact"] = victims_intact() and sorted(os.listdir("/tmp/rootonly")) == ["log", "shadow"]
# --rundir below a directory nobody owns.
reset()
as_nobody("mkdir -m 0777 /tmp/attacker")
results["rundir_under_attacker"] = psxj("demo", "start", "--rundir", "/tmp/attacker/run")
# root's own directory, but writable by everyone.
reset()
os.mkdir("/tmp/psxj-0")
os.chmod("/tmp/psxj-0", 0o777)
results["world_writable"] = psxj("demo", "start")
results["final_intact"] = victims_intact()
print(json.dumps(results))
"""


@pytest.mark.slow
def test_a_run_directory_another_user_made_or_can_write_is_refused(tmp_path):
    """In a private mount namespace with its own /tmp, so the machine's real /tmp/psxj-0 is untouched."""
    if shutil.which("unshare") is None or shutil.which("setpriv") is None:
        pytest.skip("needs unshare and setpriv (util-linux)")
    hidden = [p for p in (str(ROOT), sys.executable) if any(q.startswith("/tmp/") for q in (p, os.path.realpath(p)))]
    if hidden:  # a fresh tmpfs is mounted on /tmp: psxj and its Python must live elsewhere
        pytest.skip(f"{hidden[0]} is under /tmp, which this test mounts over")
    script = tmp_path / "attacks.py"
    script.write_text(_RUNDIR_ATTACKS)
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, str(script), str(ROOT)],
                          capture_output=True, timeout=240)
    if done.returncode != 0 and b"unshare" in done.stderr[:200]:
        pytest.skip(f"no mount namespace here: {done.stderr.decode()[:200]}")
    assert done.returncode == 0, done.stderr.decode()
    results = json.loads(done.stdout)
    started, stopped = results["own"]
    assert started["status"] == 0 and stopped["status"] == 0, (started, stopped)
    assert results["own_mode"] == [0, "0o700"]
    for outcome in results["planted"]:
        assert outcome["status"] == 1 and "belongs to uid 65534" in outcome["err"], outcome
    assert results["planted_intact"]
    assert "belongs to uid 65534" in results["private_but_foreign"]["err"]
    assert "is a symbolic link" in results["symlinked"]["err"] and results["symlinked"]["status"] == 1
    assert results["symlinked_intact"]
    assert "/tmp/attacker belongs to uid 65534" in results["rundir_under_attacker"]["err"]
    assert "writable by other users" in results["world_writable"]["err"]
    assert results["final_intact"]
    for outcome in [*results["planted"], results["symlinked"], results["world_writable"]]:
        assert outcome["err"].count("\n") == 1 and "Traceback" not in outcome["err"]


def test_rundir_that_is_a_file_and_files_in_it_that_are_symlinks(tmp_path):
    result = run_psxj("demo", "log", "--rundir", "/etc/passwd")
    assert result.returncode == 1 and result.stderr.decode() == "psxj: /etc/passwd is not a directory\n"
    # A symlink inside a directory of root's (as if planted earlier): the log is never followed.
    rundir = tmp_path / "run"
    rundir.mkdir(mode=0o700)
    target = tmp_path / "precious"
    target.write_bytes(b"keep me\n")
    (rundir / "psxj-demo.log").symlink_to(target)
    for command in ("start", "log"):
        result = run_psxj("demo", command, "--rundir", str(rundir))
        assert result.returncode == 1 and "psxj-demo.log is a symbolic link" in result.stderr.decode(), result
    assert target.read_bytes() == b"keep me\n"


# --- demo stop signals only the demo -----------------------------------------------------------

def _demo_rundir(tmp_path, mode=0o700):
    rundir = tmp_path / "run"
    rundir.mkdir(mode=mode)
    os.chmod(rundir, mode)
    return rundir


@pytest.fixture
def demo_dir():
    """A run directory of root's that other users may enter (mode 0755, straight under /tmp, as
    `--rundir /var/run/x` would be); every process any run recorded is killed by PID afterwards."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="psxj-test-", dir="/tmp"))
    os.chmod(top, 0o755)
    rundir = _demo_rundir(top, 0o755)
    yield rundir
    control = DemoControl(str(rundir))
    for entries in control.all_runs().values():
        for entry in entries:
            try:
                os.kill(entry["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    shutil.rmtree(top)


def _signals_received(log) -> list:
    return log.read_text().split() if log.exists() else []


def test_stop_does_not_follow_a_pidfile_symlink_to_another_daemons_locked_pidfile(tmp_path, spawner):
    other = tmp_path / "other.pid"
    log = tmp_path / "victim.signals"
    victim = TermWatcher.start(spawner, log, setup=(
        f"import fcntl\nfd = os.open({str(other)!r}, os.O_RDWR | os.O_CREAT, 0o644)\n"
        "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nos.write(fd, b'%d\\n' % os.getpid())"))
    rundir = _demo_rundir(tmp_path)
    (rundir / "psxj-demo.pid").symlink_to(other)
    for command in ("stop", "status"):
        result = run_psxj("demo", command, "--rundir", str(rundir))
        assert "symbolic link" in result.stderr.decode(), result
        assert result.returncode == 1
    time.sleep(0.3)
    assert victim.poll() is None and _signals_received(log) == []


def test_stop_ignores_a_read_only_flock_decoy_and_stops_the_real_demo(demo_dir, spawner):
    started = run_psxj("demo", "start", "--rundir", str(demo_dir))
    assert started.returncode == 0, started.stderr
    demo_pid = int(started.stdout)
    pidfile = demo_dir / "psxj-demo.pid"
    assert oct(os.stat(pidfile).st_mode & 0o777) == "0o644"  # world-readable, as the tutorial's LOCKMODE
    log = demo_dir.parent / "decoy.signals"  # where nobody may write what it receives
    log.touch()
    os.chmod(log, 0o666)
    # nobody opens the pidfile read-only and takes a write flock on it: /proc/locks lists the decoy.
    decoy = TermWatcher.start(spawner, log, user=NOBODY, setup=(
        f"import fcntl\nfd = os.open({str(pidfile)!r}, os.O_RDONLY)\nfcntl.flock(fd, fcntl.LOCK_EX)"))
    with open("/proc/locks") as f:
        assert any(" FLOCK " in line and f" WRITE {decoy.pid} " in line for line in f)
    result = run_psxj("demo", "stop", "--rundir", str(demo_dir))
    assert result.returncode == 0 and f"stopped (pid {demo_pid})" in result.stdout.decode(), result
    for _ in range(100):
        if gone_or_zombie(demo_pid):
            break
        time.sleep(0.02)
    assert gone_or_zombie(demo_pid)
    assert decoy.poll() is None and _signals_received(log) == []


def test_an_inherited_lock_whose_holder_pid_was_reused_signals_nobody(tmp_path, spawner):
    """flock follows the open file into a child; /proc/locks keeps the first holder's PID, which
    is then given to an unrelated process. stop must signal neither, and must not crash."""
    rundir = _demo_rundir(tmp_path)
    pidfile = rundir / "psxj-demo.pid"
    pidfile.write_text("1\n")
    ready = tmp_path / "child.pid"
    first = spawner.python(
        f"import fcntl\nfd = os.open({str(pidfile)!r}, os.O_RDWR)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
        f"child = os.fork()\n"
        f"if child == 0:\n    os.setsid()\n    time.sleep(60)\n    os._exit(0)\n"
        f"open({str(ready)!r}, 'w').write(str(child))\nREADY()\nos._exit(0)")
    first.wait(timeout=10)
    holder_child = int(ready.read_text())
    spawner.track(holder_child)
    log = tmp_path / "unrelated.signals"
    argv = [sys.executable, "-c", TermWatcher.CODE.replace("SETUP", "pass").replace("READY()", "pass"), str(log)]
    unrelated = pid_reused_by(first.pid, argv, spawner)
    if unrelated is None:
        pytest.skip("could not steer the next PID (ns_last_pid) to reuse the holder's PID")
    with open("/proc/locks") as f:
        assert any(" FLOCK " in line and f" WRITE {first.pid} " in line for line in f)
    time.sleep(0.3)  # let the newcomer install its handlers
    result = run_psxj("demo", "stop", "--rundir", str(rundir))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr.decode()
    time.sleep(0.3)
    assert unrelated.poll() is None and _signals_received(log) == []
    assert not gone_or_zombie(holder_child)


def test_a_posix_lock_holder_that_is_not_the_demo_is_refused(tmp_path, spawner):
    rundir = _demo_rundir(tmp_path)
    pidfile = rundir / "psxj-demo.pid"
    log = tmp_path / "impostor.signals"
    impostor = TermWatcher.start(spawner, log, setup=(
        f"import fcntl\nfd = os.open({str(pidfile)!r}, os.O_RDWR | os.O_CREAT, 0o644)\n"
        "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"))
    stop = run_psxj("demo", "stop", "--rundir", str(rundir))
    assert stop.returncode == 1 and "never recorded itself" in stop.stderr.decode() and \
        "nothing was signalled" in stop.stderr.decode()
    status = run_psxj("demo", "status", "--rundir", str(rundir))
    assert status.returncode == 4
    time.sleep(0.2)
    assert impostor.poll() is None and _signals_received(log) == []


async def test_the_interface_hup_and_stop_keys_refuse_an_unproven_lock_holder(tmp_path, spawner):
    from psxj.tui.app import PsxjApp

    rundir = _demo_rundir(tmp_path)
    log = tmp_path / "impostor.signals"
    impostor = TermWatcher.start(spawner, log, setup=(
        f"import fcntl\nfd = os.open({str(rundir / 'psxj-demo.pid')!r}, os.O_RDWR | os.O_CREAT, 0o644)\n"
        "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)"))
    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(rundir), demo_step_delay=0)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("H")
        await pilot.press("d")
        await pilot.pause(0.3)
        messages = [n.message for n in app.notices]
        assert any("never recorded itself" in m for m in messages), messages
        assert app.demo_run is None  # no demo started against a lock it could not prove
    assert impostor.poll() is None and _signals_received(log) == []


@pytest.mark.slow
def test_two_starts_at_the_same_moment_one_wins_and_says_so(demo_dir):
    commands = [[sys.executable, "-m", "psxj", "demo", "start", "--rundir", str(demo_dir)] for _ in range(2)]
    procs = [subprocess.Popen(c, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for c in commands]
    outcomes = [(p.wait(timeout=60), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    winners = [o for o in outcomes if o[0] == 0]
    losers = [o for o in outcomes if o[0] != 0]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    pid = int(winners[0][1])
    assert losers[0][2].strip() == f"psxj: psxj-demo already running (pid {pid})" or \
        losers[0][2].strip() == f"psxj-demo already running (pid {pid})"
    assert DemoControl(str(demo_dir)).running_pid() == pid


# --- escape sequences --------------------------------------------------------------------------

@pytest.fixture
def hostile_process(tmp_path, spawner):
    """A process whose cwd, open file and locked file are named with terminal escape sequences."""
    directory = tmp_path / ("cwd" + HOSTILE)
    directory.mkdir()
    locked = directory / ("lock" + HOSTILE)
    return spawner.python(
        f"import fcntl\nos.chdir({str(directory)!r})\nfd = os.open({str(locked)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.lockf(fd, fcntl.LOCK_EX)\nREADY()\ntime.sleep(120)", comm=HOSTILE.encode()[:15])


def test_audit_evidence_never_carries_escape_sequences(hostile_process):
    for args in (["audit", str(hostile_process.pid)], ["audit", "--json", str(hostile_process.pid)]):
        result = run_psxj(*args, env=clean_env(LANG="C.UTF-8"))
        assert result.returncode in (0, 1), result.stderr
        assert b"cwd" in result.stdout and b"lock" in result.stdout  # the evidence is there, escaped
        assert_no_control_bytes(result.stdout, " ".join(args))
        assert_no_control_bytes(result.stderr, " ".join(args))


def test_audit_survives_a_strict_ascii_stdout(hostile_process):
    """A non-UTF-8 cwd and a stdout that only takes ASCII: escaped output, no UnicodeEncodeError."""
    result = run_psxj("audit", str(hostile_process.pid), env=clean_env(LANG="C", PYTHONIOENCODING="ascii:strict"))
    assert result.returncode in (0, 1) and b"Traceback" not in result.stderr, result.stderr
    assert_no_control_bytes(result.stdout, "audit")


async def test_detail_view_shows_hostile_paths_escaped(hostile_process):
    from rich.console import Console
    from textual.widgets import Static

    from psxj.tui.app import PsxjApp
    from psxj.tui.details import DetailScreen

    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await select_live_row(app, pilot, hostile_process.pid)
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert isinstance(app.screen, DetailScreen)
        console = Console(width=400, record=True, file=open(os.devnull, "w"), color_system=None)
        for widget in app.screen.query(Static):
            console.print(widget.content)
        text = console.export_text().encode("utf-8", "surrogateescape")
        assert b"cwd" in text and b"?]52;c;" in text  # shown, with ESC and BEL as '?'
        assert_no_control_bytes(text, "detail view")


@pytest.mark.parametrize("args", [
    ["-u", HOSTILE], ["-g", HOSTILE], ["-C", "x", "-U", HOSTILE], ["--load", "/nonexistent/" + HOSTILE],
    ["audit", HOSTILE], ["demo", "start", "--rundir", "/tmp/" + HOSTILE + "/run"], ["-p", "1,," + HOSTILE],
    ["--" + HOSTILE],
])
def test_error_messages_escape_what_they_quote(args):
    result = run_psxj(*args)
    assert result.returncode in (1, 2)
    assert result.stderr.startswith(b"psxj: ") and result.stderr.count(b"\n") == 1, result.stderr
    assert_no_control_bytes(result.stderr, "stderr")


async def test_a_process_named_like_markup_or_escapes_can_be_signalled(spawner):
    """A notification quoting `[/]` crashed the interface (Rich markup); ESC in a name is escaped."""
    from psxj.tui.app import PsxjApp

    for name in (b"[/]", b"[bold]x[/x]", HOSTILE.encode()[:15]):
        proc = spawner.sleeper(comm=name)
        app = PsxjApp(reader=LiveReader(), delay=60)
        async with app.run_test(size=(140, 30)) as pilot:
            await select_live_row(app, pilot, proc.pid)
            await pilot.press("x", "enter")  # SIGTERM is preselected
            await pilot.pause(0.3)
            assert app.is_running
            messages = [n.message for n in app.notices]
            assert any(f"PID {proc.pid}" in m for m in messages)
            for message in messages:
                assert_no_control_bytes(message.encode(), "notification")
        assert proc.wait(timeout=10) == -signal.SIGTERM


# --- a reused PID ------------------------------------------------------------------------------

async def test_the_selection_never_follows_a_reused_pid(spawner):
    from psxj.tui.app import PsxjApp
    from psxj.tui.signals import SignalScreen

    first = spawner.sleeper()
    app = PsxjApp(reader=LiveReader(), delay=60)
    async with app.run_test(size=(140, 30)) as pilot:
        await select_live_row(app, pilot, first.pid)
        original = app.snapshot.get(first.pid)
        first.kill()
        first.wait()
        newcomer = pid_reused_by(first.pid, [sys.executable, "-c", "import time; time.sleep(60)"], spawner)
        if newcomer is None:
            pytest.skip("could not steer the next PID (ns_last_pid) to reuse the PID")
        for _ in range(50):  # until a refresh has read the newcomer (slow on a loaded machine)
            app.action_refresh_now()
            await pilot.pause(0.3)
            now = app.snapshot.get(first.pid)
            if now is not None and now.start_ticks != original.start_ticks:
                break
        assert app.snapshot.get(first.pid) is not None  # the PID is in the table again: the newcomer's
        assert app.table.current_is_gone  # but the selection is the exited process, shown as such
        await pilot.press("x")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, SignalScreen)
        assert any("has exited" in n.message for n in app.notices)
    assert newcomer.poll() is None


# --- crashes and hangs --------------------------------------------------------------------------

async def test_filters_that_crashed_the_interface_are_errors_in_place():
    from psxj.model import ProcessRecord, Snapshot
    from psxj.tui.app import PsxjApp

    record = ProcessRecord(pid=7, ppid=1, pgid=7, sid=7, tty="?", tpgid=-1, stat="Ss", euid=0, cpu_seconds=0,
                           command="x", comm="x", state="S", kernel_thread=False, start_time=float("nan"))
    far = record._replace(pid=8, start_time=1e300)
    app = PsxjApp(snapshot=Snapshot([record, far], source="loaded.json", taken_at=0))
    async with app.run_test(size=(120, 30)) as pilot:
        for typed in ("-u ²", "-g " + "9" * 4400, "-p 1,,2"):
            app.query_one("#filter").value = typed
            app.action_filter()
            await pilot.press("enter")
            await pilot.pause(0.1)
            assert app.is_running
            assert app.query_one("#filter-error").display
        # Details of records whose start time is NaN or 1e300: "unknown", no crash.
        for pid in (7, 8):
            app.query_one("#filter").value = ""
            app.action_filter()
            await pilot.press("enter")
            assert app.table.select_pid(pid)
            await pilot.press("enter")
            await pilot.pause(0.2)
            assert app.is_running
            await pilot.press("escape")


async def test_a_steps_line_without_a_pid_is_skipped(tmp_path):
    from psxj.tui.app import PsxjApp

    rundir = _demo_rundir(tmp_path)
    control = DemoControl(str(rundir))
    (rundir / "psxj-demo.abc.steps").write_text('{"step": "start"}\n[1, 2]\nnot json\n'
                                                '{"step": "fork", "pid": "12"}\n{"pid": 5}\n')
    assert control.steps("abc") == []
    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(rundir))
    async with app.run_test(size=(120, 30)) as pilot:
        app._demo_control()
        from psxj.demo.control import Run

        app.demo_run = Run(None, "abc")
        app.follow_demo()
        await pilot.pause(0.2)
        assert app.is_running


def _interface_command(rundir, step_delay=0.05):
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            f"from psxj.tui.run import run_app\n"
            f"sys.exit(run_app(demo_rundir={str(rundir)!r}, demo_step_delay={step_delay}))")
    return [sys.executable, "-c", code]


def _broken_interface(patch: str, key: bytes) -> bytes:
    """psxj's interface in a real pty, broken by `patch` (Python run before it starts), and `key` typed
    once the table shows. It must end by itself, non-zero. What the terminal got, for the message."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + patch +
            "from psxj.tui.run import run_app\nsys.exit(run_app())")
    session = PtySession([sys.executable, "-c", code])
    try:
        assert session.wait_for(b"PPID", 20)
        session.type(key)
        session.proc.wait(timeout=20)
        assert session.proc.returncode not in (0, None)
    finally:
        session.close()
    return bytes(session.output)


@pytest.mark.slow
def test_a_crash_in_the_interface_never_exits_zero(tmp_path):
    _broken_interface("import psxj.tui.app as app\napp.PsxjApp.action_help = lambda self: 1 / 0\n", b"?")


def test_a_failing_read_of_the_table_ends_the_interface_with_an_error(tmp_path):
    """The table is read on a thread of its own: a bug there must end psxj non-zero, as one on the
    interface's thread does, not leave a table that silently never changes again."""
    patch = ("import psxj.sources.reader as reader\n"
             "real, calls = reader.SnapshotReader.read, []\n"
             "def read(self):\n"
             "    calls.append(1)\n"
             "    if len(calls) > 1: raise RuntimeError('the reader broke')\n"
             "    return real(self)\n"
             "reader.SnapshotReader.read = read\n")
    assert b"the reader broke" in _broken_interface(patch, b"r")   # r: the second read


def _wait_for_demo(control, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entries in control.all_runs().values():
            if entries and entries[-1]["step"] == "signals":
                return entries
        time.sleep(0.1)
    raise AssertionError(f"the demo did not get to its main loop: {control.all_runs()}")


@pytest.mark.slow
def test_a_terminal_that_goes_away_without_sighup_ends_psxj_and_its_demo(tmp_path):
    rundir = _demo_rundir(tmp_path)
    control = DemoControl(str(rundir))
    session = PtySession(_interface_command(rundir), new_session=True)  # as under setsid: no SIGHUP comes
    try:
        assert session.wait_for(b"PPID", 20)
        session.type(b"d")
        entries = _wait_for_demo(control)
        session.hang_up()
        session.proc.wait(timeout=15)
        assert session.proc.returncode == 129
        assert control.running_pid() is None
        assert all(gone_or_zombie(e["pid"]) for e in entries)
    finally:
        session.close()


@pytest.mark.slow
def test_kill_9_of_the_interface_ends_its_demo(tmp_path):
    rundir = _demo_rundir(tmp_path)
    control = DemoControl(str(rundir))
    session = PtySession(_interface_command(rundir))
    try:
        assert session.wait_for(b"PPID", 20)
        session.type(b"d")
        entries = _wait_for_demo(control)
        daemon = entries[-1]["pid"]
        session.proc.kill()
        session.proc.wait(timeout=10)
        for _ in range(100):
            if gone_or_zombie(daemon):
                break
            time.sleep(0.05)
        assert gone_or_zombie(daemon)
        assert "has gone: exiting" in control.log()
    finally:
        session.close()


@pytest.mark.parametrize("args, message", [
    (["audit", "²"], "audit: invalid process ID '²'"),
    (["audit", "9" * 4400], "audit: invalid process ID"),
    (["-u", "9" * 4400], "out of range (4400 digits)"),
    (["-U", "9" * 4400], "out of range (4400 digits)"),
    (["-g", "9" * 4400], "out of range (4400 digits)"),
    (["-p", "1,,2"], "improper list"),
    (["demo", "start", "--step-delay", "nan"], "must be between 0 and 60 seconds"),
    (["demo", "start", "--step-delay", "1e400"], "must be between 0 and 60 seconds"),
    (["demo", "start", "--lifetime", "nan"], "must be between"),
    (["demo", "start", "--lifetime", "inf"], "must be between"),
])
def test_command_line_input_that_crashed_or_hung(args, message, tmp_path):
    if args[0] == "demo":
        args = [*args, "--rundir", str(tmp_path / "run")]
    started = time.monotonic()
    result = run_psxj(*args, timeout=30)
    assert time.monotonic() - started < 20
    err = result.stderr.decode()
    assert result.returncode in (1, 2) and err.startswith("psxj: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run" / "psxj-demo.pid").exists()


@pytest.mark.slow
def test_a_hang_up_while_the_help_scrolls_ends_psxj_every_time():
    """tmux kill-session with the help open: closing the terminal and SIGHUP arrive mid-repaint.
    psxj once outlived its terminal there, reparented to init, its input thread spinning."""
    setsid = shutil.which("setsid")
    if setsid is None:
        pytest.skip("no setsid(1)")
    for _ in range(4):
        # setsid -c: the pty is psxj's controlling terminal, so closing it sends SIGHUP, as in tmux.
        session = PtySession([setsid, "-w", "-c", sys.executable, "-m", "psxj", "--lang", "zh", "--no-events"],
                             columns=80, lines=24)
        try:
            assert session.wait_for(b"PPID", 20)
            session.type(b"?")
            time.sleep(1.0)
            session.type(b"\x1b[6~\x1b[F")  # PageDown, End: the help repaints
            session.hang_up()
            session.proc.wait(timeout=15)
            assert session.proc.returncode == 129
        finally:
            session.close()
