"""Regenerate the screenshots in this folder: real screens of psxj over fixed tables.

    python screenshots/make_screenshots.py

The tables are files (the tutorial's own `ps -axj` example, and a workstation), so the
pictures are the same on every machine. Each screen is saved as SVG (Textual's own
screenshot) and, where `rsvg-convert` is installed (Debian: librsvg2-bin), as PNG.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from psxj.judge.audit import Report, Verdict  # noqa: E402
from psxj.model import Snapshot  # noqa: E402
from psxj.sources.loaded import load_snapshot  # noqa: E402
from psxj.tui.app import PsxjApp  # noqa: E402
from psxj.tui.screens import checklist_widget  # noqa: E402

FIXTURES = HERE / "fixtures"
TUTORIAL = HERE.parent / "tests" / "fixtures" / "tutorial-axj.txt"
TAKEN = 1_700_000_000.0  # a fixed "taken at", so the header never changes
SIZE = (120, 34)


def fixed(path: Path, name: str) -> Snapshot:
    loaded = load_snapshot(str(path))
    return Snapshot(loaded.records, source=name, taken_at=TAKEN, pid_width=5)


class ScreenshotApp(PsxjApp):
    """psxj with one thing a fixed table cannot give: a saved audit for the detail view."""

    def __init__(self, *args, audit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved_audit = audit or {}

    def detail_sections(self, record):
        report = self.saved_audit.get(record.pid)
        return [lambda: checklist_widget(report)] if report else super().detail_sections(record)


def saved_audit(path: Path) -> Report:
    data = json.loads(path.read_text())
    rules = tuple(Verdict(r["id"], r["verdict"], r["evidence"]) for r in data["rules"])
    return Report(data["pid"], "/usr/sbin/cron -f", data["daemon"], data["gone"], rules)


async def shoot(name: str, app: PsxjApp, steps, size=SIZE) -> Path:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for step in steps:
            if callable(step):
                result = step(app)
                if asyncio.iscoroutine(result):
                    await result
            else:
                await pilot.press(step)
            await pilot.pause()
        await pilot.pause(0.3)
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


def start_demo_from_fixture(rundir: Path):
    def run(app: PsxjApp) -> None:
        shutil.copy(FIXTURES / "demo.steps", rundir / "psxj-demo.steps")
        shutil.copy(FIXTURES / "demo.log", rundir / "psxj-demo.log")
        app.demo_rundir = str(rundir)
        app._demo_control()
        app._show_demo_panel()
        app.table.select_pid(9119)
    return run


def filter_line(text: str):
    async def run(app: PsxjApp) -> None:
        app.query_one("#filter").value = text
        await app.query_one("#filter").action_submit()
    return run


async def main() -> None:
    workstation = FIXTURES / "workstation-axj.txt"
    cron = saved_audit(FIXTURES / "cron-audit.json")
    with tempfile.TemporaryDirectory() as rundir:
        shots = [
            ("main-table", ScreenshotApp(snapshot=fixed(workstation, "workstation-axj.txt")), ["down"]),
            ("tutorial-table", ScreenshotApp(snapshot=fixed(TUTORIAL, "tutorial-axj.txt")), []),
            ("session-filter", ScreenshotApp(snapshot=fixed(workstation, "workstation-axj.txt")),
             ["slash", filter_line("-s 1435")]),
            ("forest", ScreenshotApp(snapshot=fixed(workstation, "workstation-axj.txt")), ["t"]),
            ("sessions", ScreenshotApp(snapshot=fixed(workstation, "workstation-axj.txt")), ["k", "g"]),
            ("detail-checklist", ScreenshotApp(snapshot=fixed(workstation, "workstation-axj.txt"),
                                               audit={640: cron}),
             [lambda app: app.table.select_pid(640), "enter"]),
            ("demo", ScreenshotApp(snapshot=fixed(workstation, "workstation-axj.txt")),
             [start_demo_from_fixture(Path(rundir))]),
            ("help", ScreenshotApp(snapshot=fixed(workstation, "workstation-axj.txt")),
             [lambda app: app.table.select_pid(1435), "question_mark"]),
        ]
        for name, app, steps in shots:
            size = (120, 50) if name in ("help", "detail-checklist") else SIZE
            svg = await shoot(name, app, steps, size)
            to_png(svg)
            print(f"wrote {svg.relative_to(HERE.parent)}")


if __name__ == "__main__":
    asyncio.run(main())
