"""--load: saved tables (ps -axj text, psxj JSON) behave like the live table."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import FIXTURES, ROOT, SEED, clean_env, linux_only, needs_ps, rows_by_pid, run_ps, run_psxj

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
    (b"USER PID %CPU\nroot 1 0.0\n", "line 1: not a ps table header"),
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


# Bounded input, checked numbers, escaped and valid output (the security issue's cases).
PROCPS_HEADER = b" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND\n"
PROCPS_ROW = b"    1   100   100   100 ?           -1 Ss       0   0:00 sleep 100\n"


def test_a_header_after_a_million_spaces_keeps_the_table_its_size(tmp_path):
    shifted = tmp_path / "shifted.txt"
    shifted.write_bytes(b" " * 1_000_000 + PROCPS_HEADER + PROCPS_ROW * 100)
    result = run_psxj("--print", "--load", str(shifted))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 101 and max(len(line) for line in lines) < 80
    assert lines[1] == PROCPS_ROW.rstrip(b"\n")  # the widths the rows were printed with


def test_a_forest_line_of_a_million_glyphs_is_read_in_one_pass(tmp_path):
    deep = tmp_path / "deep.txt"
    deep.write_bytes(PROCPS_HEADER + PROCPS_ROW[:-1] + b" " + b" |  " * 250_000 + b" \\_ sleep 1\n")
    result = run_psxj("--json", "--load", str(deep), timeout=20)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["comm"] == "sleep"


def test_a_device_is_never_opened():
    """Opening a device can act (a tape rewinds, a watchdog arms): --load never opens one."""
    result = run_psxj("--print", "--load", "/dev/zero", timeout=30)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr == b"psxj: /dev/zero is a character device, not a file psxj reads: refusing to open it\n"


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])   # a pipe of the user's own, by name too: <(ssh host ps)
def test_an_endless_pipe_is_refused_at_the_limit(name):
    writer = subprocess.Popen(["yes", PROCPS_ROW.decode().rstrip()], stdout=subprocess.PIPE)
    try:
        result = subprocess.run([sys.executable, "-m", "psxj", "--print", "--load", name], stdin=writer.stdout,
                                capture_output=True, cwd=ROOT, env=clean_env(), timeout=60)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert result.returncode == 1 and b"more than 64 MiB" in result.stderr


def test_an_empty_file_name_is_an_error_not_the_live_table():
    result = run_psxj("--print", "--load", "")
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr == b"psxj: --load: empty file name\n"


ROW = {"pid": 1, "ppid": 0, "pgid": 1, "sid": 1, "tty": "?", "tpgid": -1, "stat": "S", "command": "x", "uid": 0}


def _json_row(**fields) -> bytes:
    return json.dumps([{**ROW, **fields}]).encode()


@pytest.mark.parametrize("content, message", [
    (b"[" * 100_000, "item 0: JSON nested too deeply"),
    (b'[{"pid": ' + b"1" * 5000 + b"}]", "item 0: a number with more than 4,300 digits"),
    (_json_row().replace(b'"uid": 0', b'"uid": 0, "start_time": NaN'), "item 0: NaN is not a number JSON allows"),
    (_json_row().replace(b'"uid": 0', b'"uid": 0, "start_time": Infinity'), "Infinity is not a number"),
    (_json_row(start_time=1e300), "item 0: field 'start_time' out of range"),
    (_json_row(pid=2 ** 31), "item 0: pid out of range"),
    (_json_row(uid=-5), "item 0: uid out of range"),
    (_json_row(tpgid=-2), "item 0: tpgid out of range"),
    (PROCPS_HEADER + PROCPS_ROW.replace(b"  100   100   100", b"  100 " + b"9" * 5000 + b"   100"),
     "line 2: PGID out of range (5000 digits)"),
    (PROCPS_HEADER + PROCPS_ROW.replace(b"   0:00", b"99999999999999999999:00"), "line 2: TIME is not a time"),
])
def test_numbers_out_of_range_are_one_line_errors(tmp_path, content, message):
    bad = tmp_path / "bad"
    bad.write_bytes(content)
    for view in ("--print", "--json"):
        result = run_psxj(view, "--load", str(bad))
        assert result.returncode == 1 and result.stdout == b""
        err = result.stderr.decode()
        assert err.count("\n") == 1 and message in err and len(err) < 200, err[:300]


def test_csv_cells_cannot_be_formulas_and_load_back_exactly(tmp_path):
    hostile = tmp_path / "hostile.txt"
    hostile.write_bytes(
        PROCPS_HEADER
        + b"    1   200   200   200 ?           -1 Ss       0   0:00 =HYPERLINK(\"http://x\",\"y\")\n"
        + b"    1   201   201   201 ?           -1 Ss       0   0:00 +1+cmd|' /C calc'!A0\n"
        + b"    1   202   202   202 ?           -1 Ss       0   0:00 @SUM(1+1)\n"
        + b"    1   203   203   203 ?           -1 Ss       0   0:00 -bash\n"
        + b"    1   204   204   204 ?           -1 Ss       0   0:00 'quoted\n"
        + b"    1   205   205   205 ?           -1 Ss       0   0:00 \tx\n")
    text = run_psxj("--csv", "--load", str(hostile)).stdout
    rows = list(csv.reader(io.StringIO(text.decode())))
    header = rows[0]
    for row in rows[1:]:
        cells = dict(zip(header, row))
        for column in ("command", "comm", "argv", "user", "tty", "stat", "state"):
            assert cells[column][:1] not in ("=", "+", "-", "@", "\t", "\r"), (column, cells[column])
        assert cells["tpgid"] == "-1"  # a number psxj wrote stays a number
    by_pid = {int(row[1]): dict(zip(header, row)) for row in rows[1:]}
    assert by_pid[200]["command"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert by_pid[204]["command"] == "''quoted"
    # psxj's own CSV loads back to the very same table.
    saved = tmp_path / "saved.csv"
    saved.write_bytes(text)
    assert run_psxj("--json", "--load", str(saved)).stdout == run_psxj("--json", "--load", str(hostile)).stdout
    assert run_psxj("--csv", "--load", str(saved)).stdout == text


@needs_ps
@linux_only
def test_live_csv_loads_back_as_the_same_json(tmp_path):
    saved = tmp_path / "live.csv"
    saved.write_bytes(run_psxj("--csv").stdout)
    as_json = tmp_path / "live.json"
    as_json.write_bytes(run_psxj("--json", "--load", str(saved)).stdout)
    again = tmp_path / "again.csv"
    again.write_bytes(run_psxj("--csv", "--load", str(as_json)).stdout)
    assert again.read_bytes() == saved.read_bytes()
