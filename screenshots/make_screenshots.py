"""Regenerate the screenshots in this folder: psxj's real screens, live, in states the application reaches.

    python screenshots/make_screenshots.py        (as root on Linux, for the demo and the audit)

The script starts a small cast of real processes (a classic double-forked daemon, a terminal session
with a foreground job, a stopped job and a background job, an orphaned nohup job, a zombie), shows
them in the live interface, and kills and reaps every one by PID at the end. The tutorial's own
`ps -axj` example is shown loaded from its file. Each screen is saved as SVG (Textual's own
screenshot) and, where `rsvg-convert` is installed (Debian: librsvg2-bin), as PNG. The live
pictures differ from machine to machine: they are what psxj showed when they were taken.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from psxj.select import parse_filter  # noqa: E402
from psxj.sources.loaded import load_snapshot  # noqa: E402
from psxj.tui.app import PsxjApp  # noqa: E402

TUTORIAL = ROOT / "tests" / "fixtures" / "tutorial-axj.txt"
DAEMON = ROOT / "tests" / "helpers" / "classic_daemon.py"
SIZE = (120, 34)


class LiveReader:
    """The interface's reader, in process (the screenshots need no helper process)."""

    def read(self):
        from psxj.sources.proc import read_snapshot

        return read_snapshot()

    def close(self):
        pass


class Cast:
    """The processes the pictures show; every one killed and reaped by PID at the end."""

    def __init__(self) -> None:
        self.pids: list = []
        self.children: list = []

    def start(self) -> dict:
        cast = {}
        read_end, write_end = os.pipe()
        launcher = subprocess.Popen([sys.executable, str(DAEMON), str(write_end)], pass_fds=(write_end,))
        os.close(write_end)
        cast["daemon"] = int(os.read(read_end, 32))
        os.close(read_end)
        launcher.wait()
        self.pids.append(cast["daemon"])
        # A terminal session: a shell on a pty with a foreground job, a stopped job and a background job.
        shell, master = pty.fork()
        if shell == 0:
            os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
        self.children.append(shell)
        self.master = master
        for line in (b"sleep 1001 &\n", b"sleep 1002\n", b"\x1a", b"sleep 1003 | cat\n"):
            os.write(master, line)
            time.sleep(0.4)
        cast["shell"] = shell
        # A second terminal, idle at its prompt: the events picture watches what is typed into it.
        idle, self.idle_master = pty.fork()
        if idle == 0:
            os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
        self.children.append(idle)
        cast["idle_shell"] = idle
        # An orphaned nohup job: the shell that started it has exited.
        out = subprocess.run(["setsid", "bash", "-c", "set -m; nohup sleep 1004 >/dev/null 2>&1 & echo $!"],
                             capture_output=True, text=True).stdout
        cast["orphan"] = int(out.split()[-1])
        self.pids.append(cast["orphan"])
        zombie = subprocess.Popen(["true"])
        self.zombie = zombie
        cast["zombie"] = zombie.pid
        time.sleep(0.5)
        return cast

    def stop(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(os.getpgid(self.children[0]), signal.SIGKILL)  # the pty's jobs: each its group
        except (ProcessLookupError, IndexError):
            pass
        for name in os.listdir("/proc"):  # the shells' jobs, by their sessions
            if name.isdigit():
                try:
                    if os.getsid(int(name)) in self.children:
                        os.kill(int(name), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    continue
        for child in self.children:
            try:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.zombie.wait()
        os.close(self.master)
        os.close(self.idle_master)


async def shoot(name: str, app: PsxjApp, steps, size=SIZE) -> Path:
    async with app.run_test(size=size) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            if app.snapshot is not None:
                break
        for step in steps:
            if callable(step):
                result = step(app)
                if asyncio.iscoroutine(result):
                    await result
            else:
                await pilot.press(step)
            await pilot.pause(0.2)
        await pilot.pause(0.5)
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(HERE)))


_TEXT = re.compile(r'(<text[^>]*? x=")([\d.]+)("[^>]*? textLength=")([\d.]+)("[^>]*>)((?:&#160;)+)([^<]*)(</text>)')


def _shift_leading_spaces(match: re.Match) -> str:
    """Move a text element's leading spaces into its x position (see to_png)."""
    start, x, middle, length, head, spaces, rest, end = match.groups()
    leading = spaces.count("&#160;")
    chars = leading + len(re.sub(r"&[^;]+;", "_", rest))
    width = float(length) / chars if chars else 0.0
    return (f"{start}{float(x) + leading * width:.2f}{middle}{float(length) - leading * width:.2f}{head}"
            f"{rest}{end}")


def to_png(svg: Path) -> None:
    """PNG through rsvg-convert, which drops the spaces that begin a text element (browsers keep
    them): it converts a copy in which those spaces became the element's x offset."""
    converter = shutil.which("rsvg-convert")
    if not converter:
        return
    fixed_text = _TEXT.sub(_shift_leading_spaces, svg.read_text(encoding="utf-8"))
    with tempfile.NamedTemporaryFile("w", suffix=".svg", encoding="utf-8") as copy:
        copy.write(fixed_text)
        copy.flush()
        subprocess.run([converter, "-o", str(svg.with_suffix(".png")), copy.name], check=True)


def select(pid: int):
    async def run(app: PsxjApp) -> None:
        for _ in range(30):
            if app.table.select_pid(pid):
                return
            app.action_refresh_now()
            await asyncio.sleep(0.2)
    return run


def wait_for_demo_step(step: str, seconds: float = 30.0):
    async def run(app: PsxjApp) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            app.follow_demo()
            entries = app.demo.steps(app.demo_run.run_id) if app.demo and app.demo_run else []
            if entries and entries[-1]["step"] == step:
                app.action_refresh_now()
                await asyncio.sleep(0.6)
                app.table.select_pid(entries[-1]["pid"])
                return
            await asyncio.sleep(0.1)
    return run


def live(cast: dict, rundir: str, **options) -> PsxjApp:
    interesting = f"-s {cast['shell']} -p 1,{cast['daemon']},{cast['orphan']},{cast['zombie']}"
    options.setdefault("selection", parse_filter(interesting))
    options.setdefault("demo_step_delay", 2.5)
    options.setdefault("events", True)   # as psxj runs by default (the demo's picture: --no-events, a step at a time)
    return PsxjApp(reader=LiveReader(), delay=3600, demo_rundir=rundir, **options)


async def main() -> None:
    cast_processes = Cast()
    cast = cast_processes.start()
    rundir = tempfile.mkdtemp(prefix="psxj-shots-")
    try:
        tutorial = load_snapshot(str(TUTORIAL))
        shots = [
            ("main-table", live(cast, rundir), [select(cast["daemon"])]),
            ("tutorial-table", PsxjApp(snapshot=tutorial), []),
            ("session-filter", live(cast, rundir, selection=parse_filter(f"-s {cast['shell']}")), ["down"]),
            ("forest", live(cast, rundir), ["t", select(cast["shell"])]),
            ("sessions", live(cast, rundir), ["g"]),
            ("detail-checklist", live(cast, rundir),
             [select(cast["daemon"]), "enter", lambda app: asyncio.sleep(0.5),  # the checklist is audited
              lambda app: app.screen.query_one("#checklist-section").scroll_visible(top=True, animate=False)]),
            # The demo's processes alone (/ psxj.demo, then d), and the events of one terminal's shell and
            # what is typed into it (its session's filter, e, then E for the selected shell's subtree): what
            # a user types, and on a busy machine not a screenful of everyone else's processes.
            ("demo", live(cast, rundir, selection=parse_filter("psxj.demo"), events=False),
             ["d", wait_for_demo_step("setsid")]),
            ("events", live(cast, rundir, selection=parse_filter(f"-s {cast['idle_shell']}"), events=True),
             [select(cast["idle_shell"]), "e", "E", lambda app: asyncio.sleep(1.0),
              lambda app: os.write(cast_processes.idle_master, b"set +m; sleep 0.1 & setsid sleep 0.2 & wait\n"),
              lambda app: asyncio.sleep(2.0)]),
            ("help", live(cast, rundir), [select(cast["daemon"]), "question_mark"]),
        ]
        for name, app, steps in shots:
            size = (120, 50) if name in ("help", "detail-checklist", "demo", "events") else SIZE
            svg = await shoot(name, app, steps, size)
            to_png(svg)
            print(f"wrote {svg.relative_to(ROOT)}")
    finally:
        cast_processes.stop()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
