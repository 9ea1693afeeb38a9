"""Recordings: written append-only, read back at any time, after a crash, within a size bound."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from conftest import ROOT, clean_env, linux_only, run_psxj

from psxj.commands.record import record
from psxj.errors import PsxjError
from psxj.model import ProcessRecord, Snapshot
from psxj.select import Selection
from psxj.sources.recording import HEADER_SIZE, Recording, RecordWriter, parse_size, parse_when

T0 = datetime(2024, 5, 1, 3, 0, tzinfo=timezone.utc).timestamp()


def proc(pid, ppid=1, sid=None, tty="?", stat="S", cpu=0, command=None, ticks=None, user=None):
    sid = pid if sid is None else sid
    command = command or f"worker-{pid} --serve"
    return ProcessRecord(pid=pid, ppid=ppid, pgid=pid, sid=sid, tty=tty, tpgid=-1, stat=stat, euid=1000,
                         cpu_seconds=cpu, command=command, comm=command.split()[0][:15], state=stat[:1],
                         kernel_thread=False, argv=tuple(command.split()), nice=0, threads=1, ruid=1000,
                         rgid=1000, egid=1000, start_ticks=ticks if ticks is not None else pid * 10,
                         start_time=1.7e9 + (ticks if ticks is not None else pid * 10) / 100, user=user)


def table(when, records):
    return Snapshot(records, source="live", taken_at=when, pid_width=7)


def history(count=60, seed=1):
    """Tables that change as real ones do: CPU time moves, processes come and go, one
    changes session and terminal, one PID is reused by a new process."""
    rng = random.Random(seed)
    procs = {pid: proc(pid) for pid in range(100, 400)}
    tables = []
    for step in range(count):
        for pid in rng.sample(sorted(procs), 5):
            procs[pid] = procs[pid]._replace(cpu_seconds=procs[pid].cpu_seconds + 1)
        if step % 7 == 3:
            victim = rng.choice(sorted(procs))
            del procs[victim]
        if step % 5 == 1:
            new = 1000 + step
            procs[new] = proc(new, command=f"job {step}")
        if step == 20:
            procs[150] = procs[150]._replace(sid=150, tty="?", stat="Ss", tpgid=-1)
            procs[151] = procs[151]._replace(sid=9119, tty="pts/0", stat="S+", tpgid=151)
        if step == 30:
            procs[160] = proc(160, ticks=99999, command="newcomer with the same pid")
        tables.append(table(T0 + 2 * step, list(procs.values())))
    return tables


def test_every_table_reads_back_as_it_was_written(tmp_path):
    tables = history()
    writer = RecordWriter(str(tmp_path / "rec"), keyframe_every=30)
    for snapshot in tables:
        writer.write(snapshot)
    writer.write_events(tables[-1].taken_at, [{"time": tables[-1].taken_at - 1, "kind": "exit", "pid": 160}])
    writer.close()
    assert writer.entries_written["keyframe"] >= 4 and writer.entries_written["delta"] > 40
    recording = Recording(str(tmp_path / "rec"))
    assert recording.warnings == []
    assert recording.times() == [s.taken_at for s in tables]
    for snapshot in tables:
        again = recording.snapshot_at(snapshot.taken_at + 1)  # between two tables: the earlier one
        assert again.records == snapshot.records and again.taken_at == snapshot.taken_at
    assert recording.latest().records == tables[-1].records
    assert [e["pid"] for e in recording.events()] == [160]
    # Stepping backwards too (no cached state may leak from a later table).
    for snapshot in reversed(tables[::7]):
        assert recording.snapshot_at(snapshot.taken_at).records == snapshot.records
    with pytest.raises(PsxjError, match="before the recording starts"):
        recording.snapshot_at(T0 - 1)


def test_changes_are_small_and_keyframes_bound_the_replay(tmp_path):
    tables = history(200)
    writer = RecordWriter(str(tmp_path / "rec"), keyframe_every=10 ** 9)
    for snapshot in tables:
        writer.write(snapshot)
    writer.close()
    segment = tmp_path / "rec" / "00000001.psxjrec"
    # 300 processes, 200 tables: the whole is a few keyframes' worth, not 200 of them.
    assert segment.stat().st_size < 12 * writer._keyframe_bytes
    # A keyframe again once the deltas since the last one outweigh it.
    assert writer.entries_written["keyframe"] >= 2


def test_a_torn_or_damaged_tail_is_ignored_with_a_warning(tmp_path):
    tables = history(12)
    writer = RecordWriter(str(tmp_path / "rec"))
    for snapshot in tables:
        writer.write(snapshot)
    writer.close()
    segment = tmp_path / "rec" / "00000001.psxjrec"
    whole = segment.read_bytes()
    last_entry = Recording(str(tmp_path / "rec")).frames[-1].offset - HEADER_SIZE
    segment.write_bytes(whole[:last_entry])  # a clean end: nothing to warn about
    assert Recording(str(tmp_path / "rec")).warnings == []
    for cut in sorted({last_entry + 1, last_entry + HEADER_SIZE - 1, last_entry + HEADER_SIZE,
                       (last_entry + len(whole)) // 2, len(whole) - 1}):
        segment.write_bytes(whole[:cut])
        recording = Recording(str(tmp_path / "rec"))
        assert recording.times() == [s.taken_at for s in tables[:-1]]
        assert recording.latest().records == tables[-2].records
        assert len(recording.warnings) == 1 and "a torn entry" in recording.warnings[0]
    damaged = bytearray(whole)
    damaged[-3] ^= 0xFF  # a flipped bit in the last entry: its checksum fails
    segment.write_bytes(bytes(damaged))
    recording = Recording(str(tmp_path / "rec"))
    assert recording.latest().records == tables[-2].records and "checksum" in recording.warnings[0]
    # The command line warns and goes on: never an error for a torn tail.
    result = run_psxj("--print", "--load", str(tmp_path / "rec"))
    assert result.returncode == 0 and result.stderr.startswith(b"psxj: warning: ")


def test_hostile_segments_are_errors_or_warnings_never_tracebacks(tmp_path):
    tables = history(6)
    writer = RecordWriter(str(tmp_path / "rec"))
    for snapshot in tables:
        writer.write(snapshot)
    writer.close()
    segment = tmp_path / "rec" / "00000001.psxjrec"
    whole = segment.read_bytes()
    rng = random.Random(7)
    for _ in range(300):
        data = bytearray(whole)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        segment.write_bytes(bytes(data))
        try:
            Recording(str(tmp_path / "rec")).latest()
        except PsxjError:
            pass


@pytest.mark.parametrize("bound", [256 * 1024, 1024 * 1024])
def test_max_size_drops_the_oldest_data_first(tmp_path, bound):
    """A day of tables with a fake clock: the recording never passes its bound, keeps the
    newest tables, and every table it keeps reads back."""
    clock = {"now": T0}
    rng = random.Random(3)
    procs = {pid: proc(pid) for pid in range(100, 600)}
    written = []

    def read():
        for pid in rng.sample(sorted(procs), 20):
            procs[pid] = procs[pid]._replace(cpu_seconds=procs[pid].cpu_seconds + 1)
        victim = rng.choice(sorted(procs))
        del procs[victim]
        newcomer = max(procs) + 1
        procs[newcomer] = proc(newcomer, command=f"short-lived {newcomer}")
        snapshot = table(clock["now"], list(procs.values()))
        written.append(snapshot)
        return snapshot

    def sleep(seconds):
        clock["now"] += seconds

    sizes = []
    writer = RecordWriter(str(tmp_path / "rec"), max_size=bound, keyframe_every=600)
    real_append = writer._append

    def watched_append(data, what):
        real_append(data, what)
        sizes.append(sum(f.stat().st_size for f in (tmp_path / "rec").iterdir()))

    writer._append = watched_append
    count = record(writer, read, Selection(), 2.0, count=43200 // 20, clock=lambda: clock["now"], sleep=sleep)
    writer.close()
    assert count == 43200 // 20
    assert max(sizes) <= bound
    recording = Recording(str(tmp_path / "rec"))
    kept = recording.times()
    assert kept[0] > written[0].taken_at          # the oldest went first
    assert kept == [s.taken_at for s in written[-len(kept):]]  # and only the oldest: no gap
    assert sum(f.stat().st_size for f in (tmp_path / "rec").iterdir()) >= bound * 0.7
    for snapshot in written[-len(kept)::97] + [written[-1]]:
        assert recording.snapshot_at(snapshot.taken_at).records == snapshot.records


def test_a_recording_directory_must_be_ours(tmp_path):
    other = tmp_path / "open"
    other.mkdir(mode=0o777)
    os.chmod(other, 0o777)
    with pytest.raises(PsxjError, match="writable by other users"):
        RecordWriter(str(other))
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    with pytest.raises(PsxjError, match="is a symbolic link"):
        RecordWriter(str(link))
    with pytest.raises(PsxjError, match="at least 64 KiB"):
        RecordWriter(str(tmp_path / "tiny"), max_size=1000)


def test_times_and_sizes_on_the_command_line():
    now = datetime(2024, 5, 1, 9, 30).timestamp()  # local time
    latest = now - 5
    assert parse_when("03:00", latest, now) == datetime(2024, 5, 1, 3, 0).timestamp()
    assert parse_when("23:15:30", latest, now) == datetime(2024, 4, 30, 23, 15, 30).timestamp()  # yesterday
    assert parse_when("2024-05-01T03:00Z", latest, now) == T0
    assert parse_when("2024-05-01T05:00+02:00", latest, now) == T0
    assert parse_when("2024-05-01 03:00", latest, now) == datetime(2024, 5, 1, 3, 0).timestamp()
    assert parse_when("-10m", latest, now) == latest - 600
    assert parse_when("-2h", latest, now) == latest - 7200
    for bad in ("soon", "25:00", "-10x", "nan", "1" * 50, "2024-13-01"):
        with pytest.raises(PsxjError, match="--at"):
            parse_when(bad, latest, now)
    assert parse_size("300M") == 300 * 1024 ** 2 and parse_size("2G") == 2 * 1024 ** 3
    assert parse_size("65536") == 65536 and parse_size("512KiB") == 512 * 1024
    for bad in ("", "-1M", "1.5G", "10X", "9" * 30):
        with pytest.raises(PsxjError):
            parse_size(bad)


def _recorded(tmp_path):
    tables = history(30)
    writer = RecordWriter(str(tmp_path / "rec"))
    for snapshot in tables:
        writer.write(snapshot)
    writer.close()
    return str(tmp_path / "rec"), tables


def test_load_at_prints_the_table_as_it_was(tmp_path):
    path, tables = _recorded(tmp_path)
    latest = run_psxj("--print", "--load", path)
    assert latest.returncode == 0 and latest.stderr == b""
    lines = latest.stdout.splitlines()
    assert len(lines) == len(tables[-1]) + 1
    at = run_psxj("--print", "--load", path, "--at", "2024-05-01T03:00:05Z")  # tables at :00, :02, :04
    assert at.returncode == 0
    assert {int(line.split()[1]) for line in at.stdout.splitlines()[1:]} == {r.pid for r in tables[2]}
    relative = run_psxj("--json", "--load", path, "--at=-4s")
    assert b'"pid": ' in relative.stdout and relative.returncode == 0
    before = run_psxj("--print", "--load", path, "--at", "2024-05-01T02:00Z")
    assert before.returncode == 1 and b"before the recording starts" in before.stderr
    assert run_psxj("--print", "--at", "03:00").returncode == 2  # --at without --load
    single = tmp_path / "one.txt"
    single.write_bytes(run_psxj("--print", "--load", path).stdout)
    result = run_psxj("--print", "--load", str(single), "--at", "03:00")
    assert result.returncode == 2 and b"a time (--at, or FILE@TIME) needs a recording" in result.stderr


def recorded_tables(path) -> int:
    """How many whole tables the recording at `path` holds now (0 before the first)."""
    try:
        return len(Recording(path).times())
    except PsxjError:
        return 0


def start_recorder(path, *extra, interval="0.1"):
    """A recorder, once it has written a table more than the recording had (a slow machine takes a
    while to start one). Counted as a reader counts them: a table half written is not one."""
    before = recorded_tables(path)
    recorder = subprocess.Popen([sys.executable, "-m", "psxj", "record", path, "--interval", interval, *extra],
                                cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and recorder.poll() is None and recorded_tables(path) <= before:
        time.sleep(0.02)
    return recorder


@linux_only
@pytest.mark.slow
def test_a_recorder_killed_at_any_moment_reads_back(tmp_path):
    path = str(tmp_path / "rec")
    rng = random.Random()
    seen = 0
    for round_number in range(6):
        recorder = start_recorder(path)
        try:
            time.sleep(rng.random())
        finally:
            recorder.send_signal(signal.SIGKILL)
            recorder.wait()
            recorder.stderr.close()
        recording = Recording(path)  # never an error; a torn tail is a warning
        assert len(recording.segment_paths) == round_number + 1  # a restart starts a new segment
        times = recording.times()
        assert times == sorted(times) and len(times) > seen
        seen = len(times)
        latest = recording.latest()
        assert latest.get(1) is not None and len(latest) > 10
        result = run_psxj("--print", "--load", path, "-p", "1")
        assert result.returncode == 0 and b"Traceback" not in result.stderr


@linux_only
def test_a_recorder_stops_cleanly_on_sigterm(tmp_path):
    path = str(tmp_path / "rec")
    recorder = start_recorder(path)
    try:
        time.sleep(1.0)
    finally:
        recorder.terminate()
        status = recorder.wait(timeout=10)
        errors = recorder.stderr.read()
        recorder.stderr.close()
    assert status == 0 and errors == b""
    recording = Recording(path)
    assert recording.warnings == [] and len(recording.times()) >= 3


@linux_only
def test_record_count_and_selectors(tmp_path, spawner):
    sleeper = spawner.sleeper()
    path = str(tmp_path / "rec")
    result = subprocess.run([sys.executable, "-m", "psxj", "record", path, "--interval", "0.1", "--count", "3",
                             "-p", f"1,{sleeper.pid}"], cwd=ROOT, env=clean_env(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    recording = Recording(path)
    assert len(recording.times()) == 3
    assert {r.pid for r in recording.latest()} == {1, sleeper.pid}
    for bad in (["--interval", "nan"], ["--interval", "0"], ["--max-size", "lots"], ["--count", "-1"]):
        result = run_psxj("record", path, *bad)
        assert result.returncode == 2 and result.stderr.count(b"\n") == 1


@linux_only
@pytest.mark.parametrize("keep_open", [True, False])
def test_the_recorders_reader_sees_what_the_proc_reader_sees(spawner, keep_open):
    from psxj.sources.incremental import IncrementalReader
    from psxj.sources.proc import ProcReader, with_cgroups

    reader = IncrementalReader(refresh_every=10 ** 6)  # no rotation: changes must be seen from stat alone
    if not keep_open:
        reader.open_limit = 0
    try:
        stopped = spawner.sleeper()
        execer = spawner.popen(["sh", "-c", "read line; exec sleep 100"], stdin=subprocess.PIPE)
        doomed = spawner.sleeper()
        reader.read()
        stopped.send_signal(signal.SIGSTOP)
        execer.stdin.write(b"go\n")
        execer.stdin.flush()
        doomed.kill()
        doomed.wait()
        newcomer = spawner.sleeper()
        for _ in range(100):  # until the exec has happened
            if ProcReader().read_process(execer.pid).comm == "sleep":
                break
            time.sleep(0.02)
        for _ in range(100):
            if ProcReader().read_process(stopped.pid).state == "T":
                break
            time.sleep(0.02)
        table = reader.read()
        truth = ProcReader()
        for pid in (stopped.pid, execer.pid, newcomer.pid, 1):
            # CPU ticks and resident memory move between the two reads of a running process (PID 1).
            steady = {"cpu_ticks": None, "rss_kb": None}
            # The table has the cgroups the kinds need (of PID 1 and its children): so must the truth.
            expected = with_cgroups([truth.read_process(pid)])[0]
            assert table.get(pid)._replace(**steady) == expected._replace(**steady), pid
        assert table.get(stopped.pid).stat.startswith("T")
        assert table.get(execer.pid).command == "sleep 100"
        assert table.get(doomed.pid) is None
    finally:
        reader.close()


def _tables_in(path) -> int:
    """How many tables a recording being written holds so far: its directory comes before its first
    table, and a reader refuses a recording with none (the race a full run once lost)."""
    try:
        return len(Recording(str(path)).times()) if path.is_dir() else 0
    except PsxjError:
        return 0


@linux_only
@pytest.mark.parametrize("language", ["en", "zh"])
def test_on_a_terminal_the_recorder_says_where_how_often_and_at_the_end_how_many(tmp_path, language):
    """Issue 24: `psxj record` printed nothing. On a terminal it says what it does and, at Ctrl-C, how
    many tables it wrote; into a pipe it stays quiet (the SIGTERM test above)."""
    from conftest import PtySession

    path = tmp_path / "rec"
    session = PtySession([sys.executable, "-m", "psxj", "--lang", language, "record", str(path), "--interval",
                          "0.2", "--max-size", "300M", "-p", "1"], env=clean_env())
    try:
        started = "psxj: recording the table every 0.2 s into" if language == "en" else "每 0.2 秒"
        assert session.wait_for(started.encode()), bytes(session.output)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _tables_in(path) < 3:
            time.sleep(0.1)
        session.proc.send_signal(signal.SIGINT)   # what Ctrl-C on its terminal sends
        assert session.proc.wait(timeout=20) == 0
        written = len(Recording(str(path)).times())
        ending = (f"psxj: {written} tables written to {path}" if language == "en" else f"{written} 个表")
        assert session.wait_for(ending.encode()), bytes(session.output)
    finally:
        session.close()
    text = bytes(session.output).decode()
    if language == "en":
        assert f"into {path} (only what -p 1 selects; at most 300M, the oldest deleted first; until Ctrl-C)" in text
    assert text.count("\n") == 2 and "Traceback" not in text, text


@linux_only
def test_a_counted_recording_says_its_count_on_a_terminal(tmp_path):
    from conftest import PtySession

    path = tmp_path / "rec"
    session = PtySession([sys.executable, "-m", "psxj", "record", str(path), "--interval", "0.1", "--count", "1"],
                         env=clean_env())
    try:
        assert session.proc.wait(timeout=30) == 0
        assert session.wait_for(f"psxj: 1 table written to {path}".encode()), bytes(session.output)
    finally:
        session.close()
    assert f"every 0.1 s into {path} (1 table)" in bytes(session.output).decode()
