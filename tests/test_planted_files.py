"""Files another user plants for a root psxj (issue 21): the recorder's directory, FIFOs and devices
where psxj reads recordings, tables, hosts files, and an ssh config that would run commands.

Each attack is made by `nobody` (conftest.as_nobody: a forked child that became uid and gid 65534)
in a directory of theirs, against root's psxj run as a real subprocess, and each test asserts that
psxj refuses or skips what was planted, at once and in one line, and that nothing lands where the
attacker pointed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import NOBODY, ROOT, as_nobody, clean_env, linux_only, root_only, run_psxj

pytestmark = [linux_only, root_only]


@pytest.fixture
def nobodys_dir():
    """A directory of nobody's in /tmp (mode 0755), where nobody plants things for root to meet."""
    path = tempfile.mkdtemp(prefix="psxj-planted-")
    os.chmod(path, 0o755)
    os.chown(path, NOBODY, NOBODY)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def root_target(tmp_path):
    """A directory of root's the attacker would like root to write into."""
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    return target


def psxj_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "psxj", *args], cwd=ROOT, env=clean_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(process: subprocess.Popen, timeout: float = 30) -> tuple:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"psxj {process.args[3:]} still ran after {timeout} s: it blocked") from None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


# --- the recorder ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_recorder_refuses_a_directory_under_one_another_user_controls(nobodys_dir, root_target):
    """The swap: root records into nobody's P/rec; nobody renames rec away and puts a symlink to a
    directory of root's in its place, so that root's next segment (and --max-size's deletions) happen
    there. psxj now refuses P at the start, as --rundir does."""
    recording = os.path.join(nobodys_dir, "rec")
    recorder = psxj_process("record", recording, "--interval", "0.1", "--max-size", "64K", "--count", "400")

    def swap():
        deadline = time.monotonic() + 3   # psxj refuses at once; before, it had made rec within a second
        while time.monotonic() < deadline and not os.path.isdir(recording):
            time.sleep(0.01)
        if os.path.isdir(recording):
            os.rename(recording, os.path.join(nobodys_dir, "moved"))
            os.symlink(str(root_target), recording)

    as_nobody(swap)
    status, _out, err = finished(recorder, timeout=120)
    assert status == 1 and err.count("\n") == 1, err
    assert f"{nobodys_dir} belongs to uid {NOBODY}, not to root or you" in err
    assert os.listdir(root_target) == []
    assert not os.path.exists(os.path.join(nobodys_dir, "moved"))   # psxj made nothing there to move


def test_the_recorder_keeps_writing_into_the_directory_it_opened(tmp_path, root_target):
    """Through its descriptor: a recording directory renamed and replaced by a symlink while psxj
    records (by a user who could, here root itself) leads nowhere; new segments, and --max-size's
    deletions, go on in the directory it opened."""
    from psxj.model import ProcessRecord, Snapshot
    from psxj.sources.recording import RecordWriter

    def table(n: int) -> Snapshot:   # rows that do not compress, all new each time: a segment each
        rows = [ProcessRecord(pid, 1, pid, pid, "?", -1, "S", 0, 0, os.urandom(2048).hex(), "x", "S", False, (),
                              0, 0, 0, 1, 0, 0, 0, pid, float(pid)) for pid in range(100 * n + 2, 100 * n + 10)]
        return Snapshot(rows, source="test", taken_at=1_700_000_000.0 + n)

    recording, moved = tmp_path / "rec", tmp_path / "moved"
    writer = RecordWriter(str(recording), max_size=64 * 1024)
    try:
        for n in range(3):
            writer.write(table(n))
        os.rename(recording, moved)
        recording.symlink_to(root_target)
        for n in range(3, 12):
            writer.write(table(n))
    finally:
        writer.close()
    assert os.listdir(root_target) == []
    segments = sorted(p.name for p in moved.iterdir())
    assert segments[-1] == "00000012.psxjrec" and "00000001.psxjrec" not in segments   # made and deleted there
    assert sum(p.stat().st_size for p in moved.iterdir()) <= 64 * 1024


# --- FIFOs and devices where psxj reads ----------------------------------------------------------------

@pytest.fixture
def planted_recording(nobodys_dir, tmp_path):
    """A real recording of root's, copied into nobody's directory, with a FIFO named like its next segment."""
    made = run_psxj("record", str(tmp_path / "rec"), "--interval", "0.3", "--count", "5")
    assert made.returncode == 0, made.stderr
    planted = os.path.join(nobodys_dir, "rec")
    segments = {path.name: path.read_bytes() for path in (tmp_path / "rec").iterdir()}

    def plant():
        os.mkdir(planted, 0o755)
        for name, data in segments.items():
            with open(os.path.join(planted, name), "wb") as f:
                f.write(data)
        os.mkfifo(os.path.join(planted, "00000002.psxjrec"), 0o644)

    assert as_nobody(plant) == 0
    return planted


@pytest.mark.parametrize("args", [("--load", "{rec}", "--print", "-p", "1"),
                                  ("--load", "{rec}", "--print", "--at=-1s", "-p", "1"),
                                  ("diff", "{rec}@-1s", "{rec}")])
def test_a_fifo_in_a_recording_is_skipped_never_opened_blocking(planted_recording, args):
    process = psxj_process(*(a.format(rec=planted_recording) for a in args))
    status, out, err = finished(process)
    assert status == 0, err
    assert "00000002.psxjrec: skipped: not a regular file" in err
    assert args[0] == "diff" or out.splitlines()[1].split()[1] == "1"


@pytest.mark.parametrize("args", [("--print", "--load"), ("--print", "--hosts-file"),
                                  ("demo", "quiz", "--rundir", "{tmp}/lab", "--answers")])
def test_a_fifo_or_a_device_planted_where_psxj_reads_is_refused_at_once(nobodys_dir, tmp_path, args):
    fifo, device = os.path.join(nobodys_dir, "table"), os.path.join(nobodys_dir, "device")

    def plant():
        os.mkfifo(fifo, 0o644)
        os.symlink("/dev/zero", device)   # (a watchdog or a tape would act when opened)

    assert as_nobody(plant) == 0
    for path, what in ((fifo, "a FIFO"), (device, "a character device")):
        process = psxj_process(*(a.format(tmp=tmp_path) for a in args), path)
        status, out, err = finished(process)
        assert status == 1 and out == "", err
        assert err == f"psxj: {path} is {what}, not a file psxj reads: refusing to open it\n"


def test_an_ssh_config_another_user_can_write_is_refused_before_ssh_runs(nobodys_dir, tmp_path):
    """ssh runs a config's ProxyCommand as the user psxj runs as; it checks ~/.ssh/config's owner and
    mode, but not those of `ssh -F FILE`. psxj does, for --ssh-config."""
    if shutil.which("ssh") is None:
        pytest.skip("needs OpenSSH's client")
    marker = tmp_path / "owned"
    config = os.path.join(nobodys_dir, "ssh_config")

    def plant():
        with open(config, "w") as f:
            f.write(f"Host *\n  ProxyCommand touch {marker}\n")

    assert as_nobody(plant) == 0
    for args in (("--host", "victim", "--print"), ("audit", "--host", "victim", "1")):
        command = [*args[:1], "--ssh-config", config, *args[1:]] if args[0] == "audit" else \
            ["--ssh-config", config, *args]
        result = run_psxj(*command, timeout=60)
        assert result.returncode == 1, result.stderr
        assert result.stderr.decode() == (f"psxj: --ssh-config: {nobodys_dir} belongs to uid {NOBODY}, not to root "
                                          "or you: refusing to use it\n")   # nobody could swap the file
    # In a directory of root's: the file itself is judged.
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    moved = shared / "ssh_config"
    shutil.copy(config, moved)
    os.chown(moved, NOBODY, NOBODY)
    result = run_psxj("--ssh-config", str(moved), "--host", "victim", "--print", timeout=60)
    assert result.returncode == 1 and result.stderr.decode() == (
        f"psxj: --ssh-config: {moved} belongs to uid {NOBODY}, not to root or you: the commands it names would run "
        "as you; refusing to use it\n")
    os.chown(moved, 0, 0)
    os.chmod(moved, 0o666)
    result = run_psxj("--ssh-config", str(moved), "--host", "victim", "--print", timeout=60)
    assert result.returncode == 1 and "is writable by other users (mode 0666)" in result.stderr.decode()
    assert not marker.exists()
