"""Other machines' tables: BSD and macOS ps -axj, procps ps -axjf (forest), and CSV export."""

from __future__ import annotations

import csv
import io
import json

from conftest import FIXTURES, linux_only, needs_ps, rows_by_pid, run_ps, run_psxj


def _json(*args):
    result = run_psxj("--json", *args)
    assert result.returncode == 0, result.stderr
    return {row["pid"]: row for row in json.loads(result.stdout)}


def test_macos_table_keeps_what_it_has_and_marks_the_rest_unknown():
    rows = _json("--load", str(FIXTURES / "macos-axj.txt"))
    zsh = rows[2001]
    assert (zsh["user"], zsh["ppid"], zsh["pgid"], zsh["sid"], zsh["tty"], zsh["stat"]) == \
        ("alice", 2000, 2001, 0, "s000", "Ss")
    assert zsh["uid"] is None and zsh["tpgid"] is None  # macOS ps -j shows neither: unknown
    assert rows[160]["time"] == "12:03" and rows[160]["cpu_seconds"] == 12 * 60 + 3
    # launchd (PID 1) is init; logd and WindowServer lead their sessions (STAT s) under it: daemons.
    # trustd's session is not in the file and it leads none: psxj cannot say it detached.
    assert {pid for pid, row in rows.items() if row["daemon"]} == {1, 101, 160}
    assert rows[1]["kind"] == "init" and rows[512]["kind"] == "orphan"
    printed = rows_by_pid(run_psxj("--print", "--load", str(FIXTURES / "macos-axj.txt"), "-p", "2050").stdout)
    assert printed[2050].split()[5:8] == [b"-", b"S+", b"-"]  # TPGID, STAT, UID


def test_freebsd_table_kernel_processes_and_user_selection():
    path = str(FIXTURES / "freebsd-axj.txt")
    rows = _json("--load", path)
    assert {pid for pid, row in rows.items() if row["kernel_thread"]} == {0, 11}
    assert rows[612]["daemon"] is True and rows[900]["tty"] == "v0"
    # Users of the other machine need not exist here: selected by name.
    picked = rows_by_pid(run_psxj("--print", "--load", path, "-u", "alice").stdout)
    assert set(picked) == {900, 950}


def test_unreadable_bsd_row_names_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text((FIXTURES / "freebsd-axj.txt").read_text().replace("0:00.02", "soon"))
    result = run_psxj("--print", "--load", str(bad))
    assert result.returncode == 1 and b"line 5: TIME is not a time: 'soon'" in result.stderr


@needs_ps
@linux_only
def test_procps_forest_text_loads_as_the_plain_table(tmp_path, spawner):
    parent = spawner.python("import subprocess\nchild = subprocess.Popen(['sleep', '120'])\n"
                            "READY()\ntime.sleep(120)\n")
    forest = tmp_path / "forest.txt"
    forest.write_bytes(run_ps("-axjf").stdout)
    plain = rows_by_pid(run_ps("-axj").stdout)
    loaded = rows_by_pid(run_psxj("--print", "--load", str(forest)).stdout)
    assert b"\\_ " in forest.read_bytes()
    child = next(pid for pid, row in loaded.items() if row.split()[0] == str(parent.pid).encode())
    spawner.track(child)  # killing the parent would orphan it: it is killed by its own PID
    for pid in (1, parent.pid, child):
        assert loaded[pid] == plain[pid]


def test_csv_carries_the_flags():
    text = run_psxj("--csv", "--load", str(FIXTURES / "tutorial-axj.txt")).stdout.decode()
    rows = {int(r["pid"]): r for r in csv.DictReader(io.StringIO(text))}
    assert rows[2]["kernel_thread"] == "true" and rows[1008]["daemon"] == "true"
    assert rows[2389]["kernel_thread"] == "false" and rows[2389]["command"] == "bash"
    assert rows[2389]["tty"] == "pts/9" and rows[2389]["tpgid"] == "5100"
