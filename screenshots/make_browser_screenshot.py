"""Regenerate screenshots/serve-browser.png: `psxj serve` in a real headless Chromium.

    python screenshots/make_browser_screenshot.py

Starts a small session of its own (a shell and two sleeps, in a new session), `psxj serve` on a
free port of 127.0.0.1, opens it in Debian's chromium (tests/browser.py: the DevTools protocol, a
fresh profile, no network), filters the table to that session (-s SID) in the forest view, and
saves the page as PNG. Every process started is stopped by its PID at the end.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from browser import Served, load_page, stop_tree  # noqa: E402


def main() -> int:
    session = subprocess.Popen(["sh", "-c", "sleep 601 & sleep 602 & wait"], start_new_session=True,
                               stdin=subprocess.DEVNULL)
    time.sleep(0.3)
    served = Served(str(HERE.parent))
    try:
        asyncio.run(load_page(served.url, ["COMMAND", "served on"], keys=f"/-s {session.pid}\rt",
                              screenshot=str(HERE / "serve-browser.png")))
    finally:
        served.close()
        stop_tree(session)
    print(HERE / "serve-browser.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
