"""--json and --csv of the live table are written in two parts: each row's head where its record is
read, its kind and cgroup (the tail) once the whole table is known. Spliced, they must be the very
rows psxj.render.export writes from a whole snapshot: checked here on real processes with hostile
names and arguments, and on records missing what the live reader always fills."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, clean_env, linux_only, wait_for_zombie

from psxj.i18n import untranslated
from psxj.judge.kinds import kind_of
from psxj.render.export import CSV_HEADER, SplicedRows, csv_rows, json_rows
from psxj.sources.proc import read_snapshot

pytestmark = linux_only

HOSTILE_ARGUMENTS = [
    ["=cmd|' /C calc'!A0", "+1", "@SUM(1)", "-bash", "\ttab", "'quoted'"],
    ["comma,separated", 'double"quote', "back\\slash", "new\nline", "cr\rhere"],
    ["进程组", "naïve", "\U0001f600", os.fsdecode(b"\xff\xfe bad"), "\x1b[31mred\x07"],
    [],
]


@pytest.fixture
def zoo(spawner):
    pids = [spawner.sleeper(*arguments).pid for arguments in HOSTILE_ARGUMENTS]
    pids.append(spawner.sleeper(comm=b'=evil,"c"').pid)
    pids.append(spawner.sleeper(comm=b"-\x1bname").pid)
    stopped = spawner.sleeper()
    os.kill(stopped.pid, signal.SIGSTOP)
    zombie = spawner.popen(["true"])
    wait_for_zombie(zombie.pid)
    pids += [stopped.pid, zombie.pid, os.getpid(), 1, 2]
    if shutil.which("tini"):  # a supervised process: its row names its supervisor (.ci/run installs tini)
        tini = spawner.popen(["tini", "-s", "--", "sleep", "120"])
        supervised = child_of(tini.pid)
        spawner.track(supervised)   # killed by its PID: tini's death would leave it to init
        pids += [tini.pid, supervised]
    return pids


def child_of(pid: int) -> int:
    for _ in range(500):
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
        if children:
            return int(children[0])
        time.sleep(0.01)
    raise AssertionError(f"{pid} started no child")


def spliced(writer: SplicedRows, snapshot, record) -> str:
    return writer.head(record) + writer.tail(kind_of(snapshot, record), record.cgroup)


@pytest.mark.parametrize("as_json", [True, False])
def test_head_and_tail_are_the_row_the_snapshot_writer_writes(zoo, as_json):
    snapshot = read_snapshot()
    writer = SplicedRows(as_json)
    records = [snapshot.get(pid) for pid in zoo]
    assert None not in records
    if shutil.which("tini"):
        assert any(kind_of(snapshot, r).supervisor for r in records)
    # A cgroup where the kinds look for units (this machine may have no systemd to give one).
    records.append(records[0]._replace(cgroup="/system.slice/psxj-test.service"))
    with untranslated():
        for record in records + list(snapshot.records):
            whole = json_rows(snapshot, [record]) if as_json else csv_rows(snapshot, [record])
            assert spliced(writer, snapshot, record) == whole


@pytest.mark.parametrize("as_json", [True, False])
def test_records_without_the_live_readers_facts_take_the_long_way(zoo, as_json):
    """A record missing what the live reader always fills (a uid, the flags, the arguments) is
    written field by field, as as_dict writes it: null, or an empty cell."""
    snapshot = read_snapshot()
    writer = SplicedRows(as_json)
    with untranslated():
        for pid in zoo:
            record = snapshot.get(pid)
            for missing in ({"euid": None}, {"argv": None}, {"flags": None, "nice": None}, {"tpgid": None}):
                changed = record._replace(**missing)
                whole = json_rows(snapshot, [changed]) if as_json else csv_rows(snapshot, [changed])
                assert spliced(writer, snapshot, changed) == whole


def test_the_document_is_what_the_snapshot_writer_makes():
    snapshot = read_snapshot()
    with untranslated():
        for as_json in (True, False):
            writer = SplicedRows(as_json)
            rows = [spliced(writer, snapshot, r) for r in snapshot.records]
            expected = ("[\n" + json_rows(snapshot, snapshot.records) + "\n]\n" if as_json
                        else CSV_HEADER + csv_rows(snapshot, snapshot.records))
            assert writer.document(rows) == expected
        assert SplicedRows(True).document([]) == "[]\n"
        assert SplicedRows(False).document([]) == CSV_HEADER


def test_psxj_json_and_csv_of_sleeping_processes_match_a_fresh_read(zoo):
    """The command end to end (workers, snapshot, kinds): the sleeping zoo's rows as --json and --csv
    print them are the rows of a snapshot read right after."""
    asleep = zoo[:6]
    selector = ["-p", ",".join(map(str, asleep))]
    env = clean_env()
    printed_json = subprocess.run([sys.executable, "-m", "psxj", "--json", *selector], capture_output=True,
                                  env=env, cwd=ROOT, check=True).stdout
    printed_csv = subprocess.run([sys.executable, "-m", "psxj", "--csv", *selector], capture_output=True,
                                 env=env, cwd=ROOT, check=True).stdout
    snapshot = read_snapshot()
    records = [snapshot.get(pid) for pid in asleep]
    with untranslated():
        assert json.loads(printed_json) == json.loads("[\n" + json_rows(snapshot, records) + "\n]\n")
        assert printed_csv.decode("utf-8", "surrogateescape") == CSV_HEADER + csv_rows(snapshot, records)
