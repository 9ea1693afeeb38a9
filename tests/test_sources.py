"""The psutil source (used where there is no /proc) agrees with /proc on what both can know.

Also: the core never imports the interface, so the command line stays fast and testable.
"""

from __future__ import annotations

import subprocess
import sys
import time

from conftest import ROOT, linux_only

from psxj.sources import proc, psutil_source


@linux_only
def test_psutil_source_agrees_with_proc(spawner):
    mine = spawner.python("os.setsid()\nREADY()\ntime.sleep(120)", "x y")
    from_proc = {r.pid: r for r in proc.read_snapshot()}
    from_psutil = {r.pid: r for r in psutil_source.read_snapshot()}
    for pid in (1, mine.pid):
        a, b = from_proc[pid], from_psutil[pid]
        assert (a.ppid, a.pgid, a.sid, a.tty, a.euid, a.ruid, a.egid, a.command) == \
               (b.ppid, b.pgid, b.sid, b.tty, b.euid, b.ruid, b.egid, b.command)
        assert b.tpgid is None  # psutil cannot know it: unknown, not invented
        assert _states_agree(pid)


def _states_agree(pid: int, tries: int = 20) -> bool:
    """STAT is a moment's: PID 1 may be running (R) in one read and asleep (S) in the next.
    Two reads taken at a moment the state held still must agree; a wrong mapping never does."""
    for _ in range(tries):
        a = proc.read_one(pid)
        b = {r.pid: r for r in psutil_source.read_snapshot()}[pid]
        if a.stat.rstrip("+").replace("L", "") == b.stat:
            return True
        time.sleep(0.02)
    return False


def test_core_modules_do_not_import_textual():
    code = ("import sys, psxj.commands.main, psxj.commands.table, psxj.sources.proc, psxj.sources.loaded, psxj.select, "
            "psxj.render.psformat, psxj.render.export, psxj.judge.rules; sys.exit('textual' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


@linux_only
def test_the_interfaces_reader_helper_serves_the_same_records(spawner):
    """The interface reads /proc through a helper process; its records are /proc's."""
    from psxj.sources.reader import SnapshotReader

    mine = spawner.python("os.setsid()\nREADY()\ntime.sleep(120)", "helper test")
    reader = SnapshotReader()
    try:
        first = reader.read()
        second = reader.read()  # the same helper answers again
        helper = reader._helper
        assert helper is not None and helper.poll() is None
    finally:
        reader.close()
    assert helper.poll() is not None  # closing stops the helper
    direct = proc.read_one(mine.pid)
    for snapshot in (first, second):
        assert snapshot.live and snapshot.get(mine.pid) == direct
