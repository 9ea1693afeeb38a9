"""Other machines' tables: BSD and macOS ps -axj, procps ps -axjf (forest) and -efj, busybox, CSV.

The BSD, macOS, busybox and shifted-header fixtures are hand-made by this project in the
shapes real machines print (no published output is copied): they show psxj reads those
shapes, not that it has seen every real file. The procps and busybox tests below also
read real output captured on this machine."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest
from conftest import FIXTURES, linux_only, needs_ps, rows_by_pid, run_ps, run_psxj


def _json(*args):
    result = run_psxj("--json", *args)
    assert result.returncode == 0, result.stderr
    return {row["pid"]: row for row in json.loads(result.stdout)}


def test_macos_table_keeps_what_it_has_and_marks_the_rest_unknown():
    rows = _json("--load", str(FIXTURES / "macos-axj.txt"))
    zsh = rows[2001]
    assert (zsh["user"], zsh["ppid"], zsh["pgid"], zsh["tty"], zsh["stat"]) == \
        ("alice", 2000, 2001, "ttys000", "Ss")
    assert zsh["uid"] is None and zsh["tpgid"] is None  # macOS ps -j shows neither: unknown
    # macOS prints SESS 0 for every process: unknown, so the session is inferred from the rows.
    assert zsh["session_key"] == "" and zsh["sid"] == 2001 and rows[2050]["sid"] == 2001
    assert rows[512]["sid"] == 0  # not a leader, adopted by launchd, alone in its group: unknown
    assert rows[1]["uid"] == 0 and rows[1]["user"] == "root"  # root is uid 0 on every Unix
    assert rows[160]["time"] == "12:03" and rows[160]["cpu_seconds"] == 12 * 60 + 3
    # launchd (PID 1) is init; logd and WindowServer lead their sessions (STAT s) under it: daemons.
    # trustd's session is not in the file and it leads none: psxj cannot say it detached.
    assert {pid for pid, row in rows.items() if row["daemon"]} == {1, 101, 160}
    assert rows[1]["kind"] == "init" and rows[512]["kind"] == "orphan"
    printed = rows_by_pid(run_psxj("--print", "--load", str(FIXTURES / "macos-axj.txt"), "-p", "2050").stdout)
    assert printed[2050].split()[3:8] == [b"-", b"ttys000", b"-", b"S+", b"-"]  # SID TTY TPGID STAT UID


def test_freebsd_table_kernel_processes_and_user_selection():
    path = str(FIXTURES / "freebsd-axj.txt")
    rows = _json("--load", path)
    assert {pid for pid, row in rows.items() if row["kernel_thread"]} == {0, 11}
    assert rows[612]["daemon"] is True and rows[900]["tty"] == "ttyv0"
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


def _pids(*args, ok=(0,)):
    result = run_psxj("--print", *args)
    assert result.returncode in ok, result.stderr
    return set(rows_by_pid(result.stdout))


def _printed_ttys(path):
    return {line.split()[4].decode() for line in run_psxj("--print", "--load", path).stdout.splitlines()[1:]}


def test_macos_sessions_terminals_and_users_are_read_as_macos_means_them():
    path = str(FIXTURES / "macos-axj.txt")
    assert _pids("--load", path, "-s", "2001") == {2001, 2050}
    assert run_psxj("--print", "--load", path, "-s", "0").returncode == 2  # refused, as procps does
    assert _pids("--load", path, "-t", "s000") == _pids("--load", path, "-t", "ttys000") == {2001, 2050}
    assert _pids("--load", path, "-t", "??") == _pids("--load", path, "-t", "?") == {1, 101, 160, 512}
    assert _pids("--load", path, "-C", "zsh") == {2001}  # the login shell -zsh
    assert _pids("--load", path, "-u", "0") == _pids("--load", path, "-u", "root") == {1, 101}
    assert _printed_ttys(path) == {"?", "ttys000"}  # never ?? or s000, which procps never prints
    printed = run_psxj("--print", "--load", path).stdout.splitlines()
    assert {line.split()[3] for line in printed[1:]} == {b"-"}  # SID: macOS did not say


def test_a_numeric_user_on_a_table_of_names_says_it_cannot_be_matched():
    result = run_psxj("--print", "--load", str(FIXTURES / "macos-axj.txt"), "-u", "501")
    assert result.returncode == 1
    assert result.stderr.decode() == ("psxj: note: -u 501: this table names its users without their numbers "
                                      "(only root is known to be 0); select them by name\n")


def test_old_macos_session_addresses_are_opaque_keys():
    path = str(FIXTURES / "macos-old-axj.txt")
    rows = _json("--load", path)
    assert rows[402]["session_key"] == "7d29d68" and rows[402]["sid"] == 402  # its leader
    assert rows[455]["sid"] == 402 and rows[77]["sid"] == 31                   # same address
    assert rows[460]["sid"] == 0                                               # no leader: unknown
    assert rows[402]["tty"] == "ttyp1" and rows[402]["comm"] == "bash"
    assert _pids("--load", path, "-s", "402") == {402, 455}
    assert _pids("--load", path, "-C", "bash") == {402}
    printed = rows_by_pid(run_psxj("--print", "--load", path).stdout)
    assert printed[455].split()[3] == b"7d29d68"  # shown as the file named it


def test_freebsd_terminals_login_shells_and_the_console():
    path = str(FIXTURES / "freebsd-pts-axj.txt")
    rows = _json("--load", path)
    assert (rows[812]["tty"], rows[812]["comm"], rows[812]["sid"]) == ("pts/1", "zsh", 812)
    assert rows[850]["tty"] == "pts/2"  # `2-`: pts/2, no longer the controlling terminal
    assert _pids("--load", path, "-t", "1") == _pids("--load", path, "-t", "pts/1") == {812, 840}
    assert _pids("--load", path, "-t", "v0") == _pids("--load", path, "-t", "ttyv0") == {700}
    assert _pids("--load", path, "-t", "con") == _pids("--load", path, "-t", "console") == {701}
    assert _pids("--load", path, "-C", "zsh") == {812} and _pids("--load", path, "-C", "sh") == {850}
    assert _printed_ttys(path) == {"?", "pts/1", "pts/2", "ttyv0", "console"}


def test_a_shifted_procps_header_keeps_the_widths_of_its_rows():
    path = FIXTURES / "procps-shifted-axj.txt"
    printed = run_psxj("--print", "--load", str(path)).stdout.decode().splitlines()
    assert printed[1:] == path.read_text().splitlines()[1:]  # PID width 7, as the rows have it
    assert printed[0].startswith("   PPID     PID")
    assert _pids("--load", str(path), "-C", "bash") == {104240}  # -bash, a login shell


def test_busybox_columns_are_read_with_busybox_meanings():
    path = str(FIXTURES / "busybox-o.txt")
    rows = _json("--load", path)
    assert rows[302]["tty"] == "tty1" and rows[351]["tty"] == "pts/3"   # 4,1 and 136,3
    assert rows[2]["kernel_thread"] is True and rows[2]["stat"] == "S"  # W: no memory of its own
    assert rows[350]["comm"] == "sleeper" and rows[302]["comm"] == "sh"
    assert rows[350]["uid"] == 1000 and rows[350]["user"] is None
    assert rows[1]["cpu_seconds"] is None and rows[1]["tpgid"] is None  # not in the table: unknown
    printed = rows_by_pid(run_psxj("--print", "--load", path).stdout)
    assert printed[350].split()[4:9] == [b"tty1", b"-", b"S", b"1000", b"-"]


@pytest.mark.parametrize("header, name", [
    ("UID          PID    PPID  C STIME TTY          TIME CMD", "`ps -ef` output"),
    ("USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND", "`ps aux` output"),
    ("PID   USER     TIME  COMMAND", "busybox `ps` output"),
    ("PID   USER     COMMAND", "busybox `ps` output"),
    ("    PID TTY          TIME CMD", "`ps` output"),
])
def test_tables_without_sessions_are_refused_by_name(tmp_path, header, name):
    bad = tmp_path / "other.txt"
    bad.write_text(header + "\n")
    result = run_psxj("--print", "--load", str(bad))
    err = result.stderr.decode()
    assert result.returncode == 1 and err.count("\n") == 1
    assert f"line 1: {name} has no" in err and "ps -axj" in err and "JSON and CSV" in err


@needs_ps
@linux_only
def test_real_ps_ef_and_aux_are_refused_by_name(tmp_path):
    for args, name in ((["-ef"], "`ps -ef` output has no PGID, SID column"),
                       (["aux"], "`ps aux` output has no PPID, PGID, SID column")):
        saved = tmp_path / "saved.txt"
        saved.write_bytes(run_ps(*args).stdout)
        result = run_psxj("--print", "--load", str(saved))
        assert result.returncode == 1 and name in result.stderr.decode()


def _stable(rows, pids):
    return {pid: rows[pid] for pid in pids}


@needs_ps
@linux_only
def test_real_ps_efj_reads_as_the_axj_table(tmp_path, spawner):
    sleeper = spawner.sleeper()
    efj = tmp_path / "efj.txt"
    efj.write_bytes(run_ps("-efj").stdout)
    axj = tmp_path / "axj.txt"
    axj.write_bytes(run_ps("-axj").stdout)
    from_efj, from_axj = _json("--load", str(efj)), _json("--load", str(axj))
    for pid in (1, sleeper.pid, os.getpid()):
        for field in ("ppid", "pgid", "sid", "tty", "uid", "command"):
            assert from_efj[pid][field] == from_axj[pid][field], (pid, field)
    assert from_efj[sleeper.pid]["stat"] == "-" and from_efj[sleeper.pid]["tpgid"] is None  # -efj has neither


BUSYBOX = shutil.which("busybox")


@pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed (apt-get install busybox)")
@linux_only
@needs_ps
def test_real_busybox_output_reads_as_procps_would_print_it(tmp_path, spawner):
    sleeper = spawner.sleeper()
    captured = subprocess.run([BUSYBOX, "ps", "-o", "pid,ppid,pgid,sid,tty,stat,user,args"],
                              capture_output=True, check=True).stdout
    saved = tmp_path / "busybox.txt"
    saved.write_bytes(captured)
    axj = tmp_path / "axj.txt"
    axj.write_bytes(run_ps("-axj").stdout)
    from_busybox, from_axj = _json("--load", str(saved)), _json("--load", str(axj))
    for pid in (1, sleeper.pid, os.getpid()):
        for field in ("ppid", "pgid", "sid", "tty", "uid", "command", "kernel_thread"):
            assert from_busybox[pid][field] == from_axj[pid][field], (pid, field)
    kernel = [pid for pid, row in from_axj.items() if row["kernel_thread"] and pid in from_busybox]
    assert kernel and all(from_busybox[pid]["kernel_thread"] for pid in kernel)
    default = saved.with_name("default.txt")
    default.write_bytes(subprocess.run([BUSYBOX, "ps"], capture_output=True, check=True).stdout)
    result = run_psxj("--print", "--load", str(default))
    assert result.returncode == 1 and b"busybox `ps` output has no PPID" in result.stderr
