"""--load: saved tables (ps -axj text, psxj JSON) behave like the live table."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, SEED, clean_env, linux_only, needs_ps, rows_by_pid, run_ps, run_psxj

TUTORIAL = FIXTURES / "tutorial-axj.txt"


def test_fixture_is_the_tutorials_own_example():
    if not SEED.exists():
        pytest.skip("the tutorial is not beside this checkout")
    assert TUTORIAL.read_text() in SEED.read_text(encoding="utf-8")


def _json(*args):
    result = run_psxj("--json", *args)
    assert result.returncode == 0, result.stderr
    return {row["pid"]: row for row in json.loads(result.stdout)}


def test_tutorial_table_kernel_threads_and_daemons():
    rows = _json("--load", str(TUTORIAL))
    assert len(rows) == 16
    kernel = {pid for pid, row in rows.items() if row["kernel_thread"]}
    assert kernel == {2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15}
    # okdocd: parent init, no terminal, its own session: the tutorial's daemon. init is daemon-like too.
    assert {pid for pid, row in rows.items() if row["daemon"]} == {1, 1008}
    assert rows[1008]["kind"] == "daemon" and rows[1]["kind"] == "init"
    bash = rows[2389]
    assert (bash["tty"], bash["tpgid"], bash["stat"], bash["uid"]) == ("pts/9", 5100, "Ss", 1000)
    assert rows[2389]["kind"] == "job"


def test_tutorial_rows_print_as_they_were_written():
    printed = run_psxj("--print", "--load", str(TUTORIAL)).stdout.decode().splitlines()
    original = TUTORIAL.read_text().splitlines()
    # The tutorial's copy lost the first column of every line (one space); otherwise it is exact.
    assert printed == [" " + line for line in original]


def test_selectors_work_on_a_loaded_table():
    result = run_psxj("--print", "--load", str(TUTORIAL), "-s", "2389")
    assert list(rows_by_pid(result.stdout)) == [2389]
    result = run_psxj("--print", "--load", str(TUTORIAL), "-t", "pts/9,?", "-p", "1")
    assert 2389 in rows_by_pid(result.stdout) and 1 in rows_by_pid(result.stdout)


@needs_ps
@linux_only
def test_real_ps_text_round_trips_byte_for_byte(tmp_path):
    saved = tmp_path / "host.txt"
    saved.write_bytes(run_ps("-axj").stdout)
    assert run_psxj("--print", "--load", str(saved)).stdout == saved.read_bytes()
    # through psxj's JSON and back
    as_json = tmp_path / "host.json"
    as_json.write_bytes(run_psxj("--json", "--load", str(saved)).stdout)
    assert run_psxj("--print", "--load", str(as_json)).stdout == saved.read_bytes()


@needs_ps
@linux_only
def test_stdin_is_read_with_a_dash():
    text = run_ps("-axj").stdout
    result = run_psxj("--load", "-", "-p", "1", input=text)
    assert result.returncode == 0
    assert rows_by_pid(result.stdout)[1] == rows_by_pid(text)[1]


def test_live_json_loads_back(tmp_path):
    saved = tmp_path / "live.json"
    saved.write_bytes(run_psxj("--json").stdout)
    original = json.loads(saved.read_text())
    again = json.loads(run_psxj("--json", "--load", str(saved)).stdout)
    for row in original + again:
        row.pop("user")
        # The kind is the same; its reasons add that it was judged from a saved row.
        row.pop("kind_reasons")
    assert again == original


def test_hostile_text_in_a_loaded_file_is_escaped(tmp_path):
    saved = tmp_path / "evil.txt"
    saved.write_bytes(
        b" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND\n"
        b"    1   100   100   100 ?           -1 Ss       0   0:00 evil \x1b]0;pwned\x07 \xc2\x9b2J\n")
    result = run_psxj("--print", "--load", str(saved), env=clean_env())
    assert result.returncode == 0
    assert b"\x1b" not in result.stdout and b"\x07" not in result.stdout and b"\xc2\x9b" not in result.stdout


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"USER PID %CPU\nroot 1 0.0\n", "line 1: not a `ps -axj` header"),
    (b" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND\n"
     b"    0     1     1     1 ?           -1 Ss       0   0:00 /sbin/init\n"
     b"    x     2     0     0 ?           -1 S        0   0:00 [kthreadd]\n", "line 3: PPID is not a number"),
    (b" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND\n    0     1\n", "line 2: expected 10"),
    (b"[{\"pid\": 1,", "malformed JSON"),
    (b"[{\"pid\": 1, \"ppid\": 0}]", "item 0: missing field 'pgid'"),
    (b"[{\"pid\": \"one\", \"ppid\": 0, \"pgid\": 1, \"sid\": 1, \"tty\": \"?\", \"tpgid\": -1, \"stat\": \"S\","
     b" \"command\": \"x\", \"uid\": 0}]", "item 0: field 'pid' must be an integer"),
    (b"{\"pid\": 1}", "expected a JSON array"),
])
def test_malformed_files_get_a_one_line_error(tmp_path, content, message):
    bad = tmp_path / "bad"
    bad.write_bytes(content)
    result = run_psxj("--print", "--load", str(bad))
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_unreadable_file(tmp_path):
    result = run_psxj("--print", "--load", str(tmp_path / "missing.txt"))
    assert result.returncode == 1
    assert result.stderr.decode().startswith("psxj: cannot read") and result.stderr.count(b"\n") == 1
    result = run_psxj("--print", "--load", str(tmp_path))
    assert result.returncode == 1 and b"Traceback" not in result.stderr
