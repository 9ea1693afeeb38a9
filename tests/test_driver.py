"""psxj.tui.driver: Textual's input thread, on a real pty, sleeps until there is input, and every key still
arrives, a lone Escape (which waits for the parser's deadline) and a whole escape sequence included."""

import sys
import time

from conftest import ROOT, PtySession, clean_env, linux_only

# A Textual app on psxj's driver that writes each key it gets, one a line, to argv[1].
KEY_LOGGER = r"""
import sys
sys.path.insert(0, sys.argv[2])
from textual.app import App
from textual.widgets import Static
from psxj.tui.driver import QuietLinuxDriver

class KeyLogger(App):
    def compose(self):
        yield Static("READY")

    def on_mount(self):
        import threading
        (thread,) = [t for t in threading.enumerate() if t.name == "textual-input"]
        with open(sys.argv[1] + ".tid", "w") as f:
            f.write(str(thread.native_id))

    def on_key(self, event):
        with open(sys.argv[1], "a") as f:
            f.write(event.key + "\n")
        if event.key == "q":
            self.exit()

app = KeyLogger(driver_class=QuietLinuxDriver)
app.run()
print("ENDED", flush=True)
"""


def _wake_ups(pid: int, tid: int) -> int:
    """How many times the thread went to sleep of its own accord and woke (the kernel counts them)."""
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def _quiet_wake_ups(pid: int, tid: int, hold: float = 0.3, timeout: float = 5.0) -> int:
    """The count once the thread has not woken for `hold` seconds (the key just handled may still be
    passing through it on a slow machine). A thread that never stops waking returns its count after
    `timeout`, and the measurement that follows then fails as it should."""
    deadline = time.monotonic() + timeout
    count = _wake_ups(pid, tid)
    while time.monotonic() < deadline:
        time.sleep(hold)
        now = _wake_ups(pid, tid)
        if now == count:
            break
        count = now
    return count


def _keys(path) -> list:
    return path.read_text().split() if path.exists() else []


def _wait_for_keys(path, count: int, timeout: float = 15.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(_keys(path)) < count:
        time.sleep(0.05)
    return _keys(path)


@linux_only
def test_keys_arrive_and_the_input_thread_sleeps_between_them(tmp_path):
    log = tmp_path / "keys"
    session = PtySession([sys.executable, "-c", KEY_LOGGER, str(log), str(ROOT)], env=clean_env())
    try:
        assert session.wait_for(b"READY", 20)
        session.type(b"a")
        assert _wait_for_keys(log, 1) == ["a"]
        thread = int((tmp_path / "keys.tid").read_text())
        # Idle: Textual's own driver wakes ten times a second here (select with a 0.1 s timeout).
        before = _quiet_wake_ups(session.proc.pid, thread)
        time.sleep(1.5)
        assert _wake_ups(session.proc.pid, thread) - before <= 2
        # A lone Escape is told only when the parser's wait for the rest of a sequence runs out: the
        # thread must wake for that deadline, with no other key to wake it.
        session.type(b"\x1b")
        assert _wait_for_keys(log, 2) == ["a", "escape"]
        # A whole sequence at once is one key; then q ends the app, and the input thread with it.
        session.type(b"\x1b[A")
        assert _wait_for_keys(log, 3) == ["a", "escape", "up"]
        session.type(b"q")
        assert session.wait_for(b"ENDED", 20)
        assert session.proc.wait(timeout=10) == 0
    finally:
        session.close()


def test_the_interface_runs_on_this_driver_unless_textual_is_told_another(monkeypatch):
    from textual import constants

    from psxj.tui.app import PsxjApp
    from psxj.tui.driver import QuietLinuxDriver

    monkeypatch.setattr(constants, "DRIVER", None)
    assert PsxjApp().driver_class is QuietLinuxDriver
    # psxj serve: textual-serve names its web driver in TEXTUAL_DRIVER; that one is kept.
    monkeypatch.setattr(constants, "DRIVER", "textual.drivers.headless_driver:HeadlessDriver")
    assert PsxjApp().driver_class.__name__ == "HeadlessDriver"
