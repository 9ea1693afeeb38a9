"""Shared fixtures: real processes spawned and reaped, and the real `ps` as the oracle."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "000_8e7a19e4a857a030.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

PS = shutil.which("ps")
J_COLUMNS = "ppid,pid,pgid,sid,tname,tpgid,stat,uid,bsdtime,args"  # what -j prints, for -o

needs_ps = pytest.mark.skipif(PS is None, reason="no ps on this machine")
linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")


def clean_env(**extra: str) -> Dict[str, str]:
    """An environment both ps and psxj see identically: no COLUMNS unless asked for."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "LC_ALL", "LC_CTYPE")}
    env.setdefault("LANG", "C.UTF-8")
    env.update(extra)
    return env


def run_psxj(*args: str, env: Optional[Dict[str, str]] = None, input: Optional[bytes] = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "psxj", *args], capture_output=True,
                          env=env or clean_env(), input=input, timeout=timeout, cwd=ROOT)


def run_ps(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([PS, *args], capture_output=True, env=env or clean_env(), timeout=60)


def rows_by_pid(text: bytes) -> Dict[int, bytes]:
    rows = {}
    for line in text.split(b"\n")[1:]:
        fields = line.split()
        if len(fields) > 1:
            rows[int(fields[1])] = line
    return rows


class Spawner:
    """Starts processes for a test and kills and reaps every one of them afterwards."""

    def __init__(self) -> None:
        self.procs: List[subprocess.Popen] = []
        self.extra_pids: List[int] = []

    def popen(self, argv, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, **kwargs)
        self.procs.append(proc)
        return proc

    def python(self, code: str, *args, comm: Optional[bytes] = None, **kwargs) -> subprocess.Popen:
        """A Python process that sets its name (optional), says it is ready, and sleeps."""
        prelude = (
            "import os, sys, time\n"
            "comm = os.environ.pop('PSXJ_TEST_COMM', None)\n"
            "if comm is not None:\n"
            "    open('/proc/self/comm', 'wb').write(bytes.fromhex(comm))\n"
        )
        env = dict(kwargs.pop("env", os.environ))
        if comm is not None:
            env["PSXJ_TEST_COMM"] = comm.hex()
        ready_r, ready_w = os.pipe()
        body = prelude + code.replace("READY()", f"os.write({ready_w}, b'x'); os.close({ready_w})")
        pass_fds = (ready_w, *kwargs.pop("pass_fds", ()))
        proc = self.popen([sys.executable, "-c", body, *args], env=env, pass_fds=pass_fds, **kwargs)
        os.close(ready_w)
        try:
            os.read(ready_r, 1)  # wait until it has done its setup
        finally:
            os.close(ready_r)
        return proc

    def sleeper(self, *args, comm: Optional[bytes] = None, **kwargs) -> subprocess.Popen:
        return self.python("READY()\ntime.sleep(120)", *args, comm=comm, **kwargs)

    def track(self, pid: int) -> None:
        """A process that is not our child (a daemon after its double fork)."""
        self.extra_pids.append(pid)

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    proc.kill()
                except ProcessLookupError:
                    pass
            proc.wait(timeout=10)
        for pid in self.extra_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            for _ in range(100):  # init reaps it; wait until it is gone
                if gone_or_zombie(pid):
                    break
                time.sleep(0.02)


def stat_fields(pid: int) -> Optional[List[bytes]]:
    """/proc/PID/stat after the name (state first), read here rather than by psxj; None once gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None


def gone_or_zombie(pid: int) -> bool:
    fields = stat_fields(pid)
    return fields is None or fields[0] == b"Z"


def wait_for_zombie(pid: int, timeout: float = 3.0) -> None:
    """Until a child that exited, and that nobody has reaped yet, shows as a zombie."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = stat_fields(pid)
        if fields is not None and fields[0] == b"Z":
            return
        time.sleep(0.01)


class LiveReader:
    """The interface's reader, in process: live snapshots without the helper process."""

    def read(self):
        from psxj.sources.proc import read_snapshot

        return read_snapshot()

    def close(self):
        pass


@pytest.fixture
def spawner():
    spawned = Spawner()
    try:
        yield spawned
    finally:
        spawned.cleanup()
