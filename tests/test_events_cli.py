"""`psxj events` as a user runs it: a subprocess against process trees the tests spawn.

psxj prints nothing until something happens, so each test first makes harmless "probe" events
until psxj shows one: then it is surely listening. Tests that need the kernel's events skip, with
psxj's own reason, where it had to poll; the namespace tests check that fallback itself.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, List, Optional

import pytest
from conftest import ROOT, clean_env, linux_only, run_psxj

pytestmark = linux_only

TREE = r"""
import os, sys, time
READY()
for line in sys.stdin:
    if line.startswith("probe"):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    elif line.startswith("go"):
        r, w = os.pipe()
        child = os.fork()
        if child == 0:
            os.setsid()
            grandchild = os.fork()
            if grandchild == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)",
                                          "esc\x1b[31mred\x07bell"])
            os.write(w, b"%d %d\n" % (os.getpid(), grandchild))
            os._exit(0)
        os.waitpid(child, 0)
        os.write(1, os.read(r, 100))
"""


class EventsRun:
    """`psxj events ARGS` in the background, its output lines collected by threads."""

    def __init__(self, spawner, *args: str, argv: Optional[List[str]] = None, env=None) -> None:
        command = argv or [sys.executable, "-m", "psxj", "events", *args]
        self.proc = spawner.popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                                  env=env or clean_env())
        self.lines: "queue.Queue[bytes]" = queue.Queue()
        self.stdout: List[bytes] = []
        self.stderr: List[bytes] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        self._errors: "queue.Queue[bytes]" = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self._errors), daemon=True).start()

    @staticmethod
    def _pump(stream, into) -> None:
        for line in iter(stream.readline, b""):
            into.put(line)

    def _drain(self) -> None:
        while True:
            try:
                self.stdout.append(self.lines.get_nowait())
            except queue.Empty:
                break
        while True:
            try:
                self.stderr.append(self._errors.get_nowait())
            except queue.Empty:
                break

    def events(self) -> List[dict]:
        self._drain()
        return [json.loads(line) for line in self.stdout if line.startswith(b"{")]

    def wait_for(self, found: Callable[[List[dict]], bool], timeout: float = 10.0,
                 poke: Optional[Callable[[], None]] = None) -> List[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if poke is not None:
                poke()
            events = self.events()
            if found(events):
                return events
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self._drain()
        raise AssertionError(f"not seen in time; stderr: {b''.join(self.stderr)[-500:]!r}; "
                             f"last lines: {self.stdout[-5:]!r}")

    def polling_reason(self) -> Optional[str]:
        self._drain()
        text = b"".join(self.stderr).decode("utf-8", "replace")
        return text.strip() if "polling instead" in text else None

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        status = self.proc.wait(timeout=30)   # a hang guard: a loaded machine may take seconds
        time.sleep(0.1)  # let the pump threads take the last lines
        self._drain()
        return status


def _listening(run: EventsRun, tree) -> None:
    """Poke the tree until psxj shows one of its probes: from then on it sees everything."""
    def poke():
        tree.stdin.write(b"probe\n")
        tree.stdin.flush()

    time.sleep(0.3)
    if run.polling_reason():
        pytest.skip(f"the kernel gives no process events here: {run.polling_reason()}")
    run.wait_for(lambda es: any(e["event"] == "FORK" and e.get("ppid") == tree.pid for e in es), poke=poke)


def test_follow_shows_a_tree_and_its_later_grandchild_as_json(spawner):
    tree = spawner.python(TREE, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    outsider = spawner.sleeper()
    run = EventsRun(spawner, "--follow", str(tree.pid), "--json")
    _listening(run, tree)
    tree.stdin.write(b"go\n")
    tree.stdin.flush()
    child, grandchild = map(int, tree.stdout.readline().split())
    spawner.track(grandchild)
    adopter = int(open(f"/proc/{grandchild}/stat").read().rsplit(")", 1)[1].split()[1])  # read here
    os.kill(outsider.pid, signal.SIGKILL)  # an exit outside the tree: never shown
    outsider.wait()
    events = run.wait_for(lambda es: any(e["event"] == "EXEC" and e["pid"] == grandchild for e in es)
                          and any(e["event"] == "EXIT" and e["pid"] == child for e in es))
    os.kill(grandchild, signal.SIGKILL)
    events = run.wait_for(lambda es: any(e["event"] == "EXIT" and e["pid"] == grandchild for e in es))
    assert run.stop() == 130
    assert b"Traceback" not in b"".join(run.stderr)

    steps = [(e["event"], e["pid"]) for e in events if e["pid"] in (child, grandchild)]
    expected = [("FORK", child), ("SID", child), ("FORK", grandchild), ("EXIT", child), ("EXIT", grandchild)]
    assert [s for s in steps if s in expected] == expected
    by = {(e["event"], e["pid"]): e for e in events}
    assert by["FORK", child]["parent"]["pid"] == tree.pid
    assert by["SID", child]["what"] == f"setsid(): new session {child}, no terminal"
    assert (by["SID", child]["sid"], by["SID", child]["tty"]) == (child, "?")
    assert (by["FORK", grandchild]["ppid"], by["FORK", grandchild]["sid"]) == (child, child)
    [orphan] = by["EXIT", child]["orphans"]
    assert (orphan["pid"], orphan["adopted_by"]) == (grandchild, adopter)
    last = by["EXIT", grandchild]
    assert last["exit"]["text"] == "killed by SIGKILL" and last["adopted_by"] == adopter
    assert ("adopted by 1 (init)" in last["what"]) == (adopter == 1)
    # COMMAND is escaped as ps escapes it: the ESC and BEL of the arguments are gone.
    command = by["EXEC", grandchild]["command"]
    assert "esc?[31mred?bell" in command and "\x1b" not in command and "\x07" not in command
    assert outsider.pid not in {e["pid"] for e in events}
    assert all(not e["polled"] for e in events)


def test_text_lines_never_carry_control_bytes(spawner):
    tree = spawner.python(TREE, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    run = EventsRun(spawner, "--follow", str(tree.pid))
    time.sleep(0.3)
    if run.polling_reason():
        pytest.skip(f"the kernel gives no process events here: {run.polling_reason()}")

    def probe_seen(_):
        run._drain()
        return any(b" FORK " in line and b"forked by %d " % tree.pid in line for line in run.stdout)

    run.wait_for(probe_seen, poke=lambda: (tree.stdin.write(b"probe\n"), tree.stdin.flush()))
    tree.stdin.write(b"go\n")
    tree.stdin.flush()
    child, grandchild = map(int, tree.stdout.readline().split())
    spawner.track(grandchild)
    run.wait_for(lambda _: any(b" EXEC " in line and b" %d " % grandchild in line for line in run.stdout))
    run.stop()
    text = b"".join(run.stdout)
    header = run.stdout[0].decode()
    assert header.split()[:9] == ["TIME", "EVENT", "PPID", "PID", "PGID", "SID", "TTY", "STAT", "COMMAND"]
    assert b"\x1b" not in text and b"\x07" not in text
    assert b"setsid(): new session %d, no terminal" % child in text


def test_selectors_filter_as_everywhere_else(spawner):
    """-C matches the kernel's name at each event: a process shows once it has renamed itself."""
    run = EventsRun(spawner, "-C", "psxjready,psxjprobe", "--json")
    time.sleep(0.3)
    if run.polling_reason():
        pytest.skip(f"the kernel gives no process events here: {run.polling_reason()}")
    ready_code = "open('/proc/self/comm', 'w').write('psxjready')"
    run.wait_for(lambda es: any(e.get("comm") == "psxjready" for e in es),
                 poke=lambda: subprocess.run([sys.executable, "-c", ready_code], check=True))
    probe = spawner.python("open('/proc/self/comm', 'w').write('psxjprobe')\nREADY()")
    probe.wait(timeout=10)
    events = run.wait_for(lambda es: any(e["event"] == "EXIT" and e["pid"] == probe.pid for e in es))
    run.stop()
    mine = [e["event"] for e in events if e["pid"] == probe.pid]
    # Its FORK was as its parent, "python": not selected. Its EXEC may show, when psxj read the
    # row after the rename (a loaded machine): the row is read when psxj handles the event.
    assert mine[-2:] == ["COMM", "EXIT"] and "FORK" not in mine
    assert {e.get("comm") for e in events} <= {"psxjready", "psxjprobe"}


def test_closed_pipe_ends_quietly(spawner):
    proc = spawner.popen([sys.executable, "-m", "psxj", "events"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=ROOT, env=clean_env())
    assert proc.stdout.readline().startswith(b"TIME")
    proc.stdout.close()  # as `psxj events | head -n 1` does
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        subprocess.run(["true"])  # events to write into the closed pipe
        time.sleep(0.05)
    assert proc.wait(timeout=5) == 0
    assert proc.stderr.read() == b""


def test_sigterm_ends_cleanly(spawner):
    run = EventsRun(spawner, "--json")
    # Its handler is in place before it writes anything: wait for an event (or the polling notice),
    # not for a fixed time a slow start-up could overrun (then SIGTERM's default action ends it).
    run.wait_for(lambda events: bool(events) or run.polling_reason() is not None,
                 poke=lambda: subprocess.run(["true"]))
    assert run.stop(signal.SIGTERM) == 143
    assert b"Traceback" not in b"".join(run.stderr)


def test_duration_ends_with_status_zero():
    result = run_psxj("events", "--duration", "0.3", "--json")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args,status,words", [
    (["--follow", "abc"], 2, "not a process ID"),
    (["--follow", "0"], 2, "not a process ID"),
    (["--event", "fork,nope"], 2, "no event kind 'nope'"),
    (["--duration", "-1"], 2, "between 0 and a week"),
    (["-p", "1,,2"], 2, "improper list"),
    (["--follow", "2147483647"], 1, "no process with PID 2147483647"),
])
def test_bad_arguments_are_one_line(args, status, words):
    result = run_psxj("events", *args, "--duration", "1")
    assert result.returncode == status
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("psxj: ")
    assert result.stdout == b""


# -- unprivileged, and in namespaces where the kernel gives nothing ---------------------------------

def _interpreter_for(user_args: List[str]) -> Optional[str]:
    """A Python that the other user may run (a virtualenv under /root is out of its reach)."""
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if candidate and subprocess.run([*user_args, candidate, "-c", "import json"], capture_output=True,
                                        timeout=20).returncode == 0:
            return candidate
    return None


@pytest.mark.slow
def test_unprivileged_user_listens_or_says_why(spawner):
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run psxj as nobody")
    as_nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    python = _interpreter_for(as_nobody)
    if python is None:
        pytest.skip("no Python interpreter that user 65534 may run")
    env = clean_env(PYTHONPATH=str(ROOT))
    run = EventsRun(spawner, argv=[*as_nobody, python, "-m", "psxj", "events", "--json"], env=env)
    time.sleep(0.5)
    reason = run.polling_reason()
    if reason:
        # The fallback must say why, once, and mark what it shows.
        assert reason.count("process events unavailable") == 1
        events = run.wait_for(lambda es: bool(es), timeout=5, poke=lambda: subprocess.run(["sleep", "0.7"]))
        assert all(e["polled"] for e in events)
    else:
        probes: List[int] = []

        def poke():
            probe = subprocess.Popen(["true"])
            probe.wait()
            probes.append(probe.pid)

        events = run.wait_for(lambda es: any(e["event"] == "EXIT" and e["pid"] in probes for e in es), poke=poke)
        assert all(not e["polled"] for e in events)
    assert run.stop() == 130
    assert b"Traceback" not in b"".join(run.stderr)


NAMESPACES = {  # flags, the reason psxj must give, what psxj watches
    "pid": (["--pid", "--fork", "--mount-proc"], "PID namespace", []),  # its own small /proc: everything
    "user": (["--user", "--map-root-user"], "user namespace", ["--follow", "$$"]),
    "net": (["--net"], "refuses connections", ["--follow", "$$"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("namespace", sorted(NAMESPACES))
def test_in_a_namespace_it_says_so_once_and_marks_polled_events(namespace):
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1)")
    flags, reason, watch = NAMESPACES[namespace]
    check = subprocess.run([unshare, *flags, "true"], capture_output=True, timeout=20)
    if check.returncode != 0:
        pytest.skip(f"cannot create a {namespace} namespace here: {check.stderr.decode().strip()[:200]}")
    # Inside: psxj runs 5 s; a `sleep 1` starts 0.8 s in, so polls (every 0.5 s for everything, every
    # 50 ms for the shell's tree) see it come and go, with time to spare on a loaded machine.
    script = (f"{sys.executable} -m psxj events --json --duration 5 {' '.join(watch)} & events=$!; "
              "sleep 0.8; sleep 1; wait $events")
    result = subprocess.run([unshare, *flags, "bash", "-c", script], capture_output=True, timeout=30,
                            cwd=ROOT, env=clean_env(PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr.decode()[-500:]
    notices = result.stderr.decode().splitlines()
    assert len(notices) == 1 and reason in notices[0] and "polling instead" in notices[0]
    assert ("every 50 ms" if watch else "every 500 ms") in notices[0]
    assert "may never be seen" in notices[0] and "not complete" in notices[0]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events and all(e["polled"] and e["window_ms"] > 0 for e in events)
    # A poll may land between bash's fork and its exec: then the FORK carries bash's command and an
    # EXEC the new one. Either way the process is seen born, and seen gone.
    (pid,) = {e["pid"] for e in events if e.get("command") == "sleep 1"}
    sleeps = [e for e in events if e["pid"] == pid]
    kinds = [e["event"] for e in sleeps]
    assert kinds in (["FORK", "EXIT"], ["FORK", "EXEC", "EXIT"]), sleeps
    assert sleeps[-1]["command"] == "sleep 1"
    assert sleeps[-1]["exit"] is None  # a poll cannot know the exit status
