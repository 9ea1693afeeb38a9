"""psxj diff: what appeared, vanished and changed between two tables of any kind."""

from __future__ import annotations

import json
import signal

from conftest import linux_only, needs_ps, run_ps, run_psxj
from test_recording import T0, history, proc, table

from psxj.render.diff import column_changes, diff_tables
from psxj.sources.recording import RecordWriter


def test_changes_are_named_as_the_demo_names_them():
    before = {"PID": "9120", "SID": "1435", "TTY": "pts/0", "TPGID": "2210", "STAT": "S+"}
    after = {"PID": "9120", "SID": "9119", "TTY": "?", "TPGID": "-1", "STAT": "Ss"}
    assert column_changes(before, after, ("PID", "SID", "TTY", "TPGID", "STAT")) == [
        "SID 1435 -> 9119", "TTY pts/0 -> ?", "TPGID 2210 -> -1", "STAT S+ -> Ss"]
    assert column_changes(None, after, ("SID",)) == []


def test_identity_is_pid_and_start_time_so_a_reused_pid_is_a_new_process():
    old = [proc(100), proc(200, ticks=5), proc(300)]
    new = [proc(100)._replace(sid=9119, tty="pts/0"), proc(200, ticks=77, command="another program"), proc(400)]
    result = diff_tables(old, new)
    assert result.identity == "pid and start time"
    assert [r.pid for r in result.appeared] == [200, 400] and [r.pid for r in result.vanished] == [200, 300]
    assert [(c.after.pid, c.changes) for c in result.changed] == [(100, ["SID 100 -> 9119", "TTY ? -> pts/0"])]
    # Without start times (ps text), the PID alone decides: the reused PID is a change.
    strip = [r._replace(start_ticks=None, start_time=None) for r in old], \
        [r._replace(start_ticks=None, start_time=None) for r in new]
    by_pid = diff_tables(*strip)
    assert by_pid.identity == "pid" and [c.after.pid for c in by_pid.changed] == [100, 200]
    assert "COMMAND worker-200 --serve -> another program" in by_pid.changed[1].changes


def test_time_changes_only_when_asked():
    old, new = [proc(100, cpu=0)], [proc(100, cpu=75)]
    assert not diff_tables(old, new)
    assert diff_tables(old, new, ("TIME",)).changed[0].changes == ["TIME 0:00 -> 1:15"]


def test_diff_of_a_recording_at_two_times(tmp_path):
    tables = history(40)
    writer = RecordWriter(str(tmp_path / "rec"))
    for snapshot in tables:
        writer.write(snapshot)
    writer.close()
    path = str(tmp_path / "rec")
    # Step 20 moved 151 into session 9119 on pts/0 (tables are 2 s apart from 03:00:00 UTC).
    result = run_psxj("diff", f"{path}@2024-05-01T03:00:39Z", f"{path}@2024-05-01T03:00:40Z", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["identity"] == "pid and start time"
    changed = {c["pid"]: c["changes"] for c in body["changed"]}
    assert {"column": "SID", "before": "151", "after": "9119"} in changed[151]
    assert {"column": "TTY", "before": "?", "after": "pts/0"} in changed[151]
    text = run_psxj("diff", f"{path}@2024-05-01T03:00:39Z", f"{path}@2024-05-01T03:00:40Z").stdout.decode()
    assert "~ 151 worker-151: SID 151 -> 9119  TTY ? -> pts/0  TPGID -1 -> 151  STAT S -> S+" in text
    # The latest table (step 39) against one 40 s before it (step 19); a selector restricts
    # both sides. Step 30 gave PID 160 to a new process.
    assert tables[19].get(160) is not None and tables[39].get(160).start_ticks == 99999
    result = run_psxj("diff", f"{path}@-40s", path, "-p", "160")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[3] == "1 appeared, 1 vanished, 0 changed"  # 160 was reused by a new process
    assert "+ 160 newcomer with the same pid" in lines and "- 160 worker-160 --serve" in lines


def test_diff_between_saved_json_and_csv_tables(tmp_path):
    before = tmp_path / "before.json"
    after = tmp_path / "after.csv"
    rec = tmp_path / "rec"
    writer = RecordWriter(str(rec))
    writer.write(table(T0, [proc(1, ppid=0), proc(2389, tty="pts/9", stat="Ss")]))
    writer.write(table(T0 + 2, [proc(1, ppid=0), proc(2389, tty="pts/9", stat="Ss+"), proc(5100, sid=2389)]))
    writer.close()
    before.write_bytes(run_psxj("--json", "--load", str(rec), "--at", "2024-05-01T03:00:00Z").stdout)
    after.write_bytes(run_psxj("--csv", "--load", str(rec)).stdout)
    text = run_psxj("diff", str(before), str(after)).stdout.decode().splitlines()
    assert text[2] == "identity: pid and start time"
    assert text[4:] == ["+ 5100 worker-5100 --serve", "~ 2389 worker-2389: STAT Ss -> Ss+"]


def test_bad_arguments_are_one_line_errors(tmp_path):
    for args, status in ((["diff", "only-one"], 2), (["diff", "-", "-"], 2),
                         (["diff", str(tmp_path / "missing"), str(tmp_path / "missing")], 1),
                         (["diff", f"{tmp_path}/nothing@03:00", "x"], 1)):
        result = run_psxj(*args)
        assert result.returncode == status and result.stderr.count(b"\n") == 1, result.stderr


@needs_ps
@linux_only
def test_diff_of_real_ps_text_sees_the_process_started_and_the_one_killed(tmp_path, spawner):
    doomed = spawner.sleeper()
    first = tmp_path / "first.txt"
    first.write_bytes(run_ps("-axj").stdout)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    newcomer = spawner.sleeper()
    second = tmp_path / "second.txt"
    second.write_bytes(run_ps("-axj").stdout)
    result = run_psxj("diff", str(first), str(second), "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["identity"] == "pid"  # ps text has no start times: said, not hidden
    assert newcomer.pid in {r["pid"] for r in body["appeared"]}
    assert doomed.pid in {r["pid"] for r in body["vanished"]}
    assert 1 not in {r["pid"] for r in body["appeared"] + body["vanished"]}
    appeared = next(r for r in body["appeared"] if r["pid"] == newcomer.pid)
    assert appeared["ppid"] == str(newcomer_parent()) and appeared["command"].startswith(newcomer.args[0])


def newcomer_parent() -> int:
    import os

    return os.getpid()
