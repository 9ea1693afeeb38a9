"""Hostile hosts against psxj --host (issue 21): each answers through a real sshd on 127.0.0.1 and
the real ssh client, with a `python3` on that host's PATH that misbehaves (tests/hostile_host.py)
instead of running psxj's reader. Every wait on such a host is bounded: psxj gives up after
--host-timeout plus a small grace, reaps its ssh, holds a bounded amount of memory for all hosts
together, and `q` quits the interface whatever the hosts do.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest
from conftest import ROOT, PtySession, clean_env
from sshlab import SshLab
from test_fleet import needs_sshd, psxj, ssh_processes_of

pytestmark = [pytest.mark.slow, needs_sshd]

GRACE = 8.0   # starting two Pythons and ssh, and the session's own grace: what a host may cost past its timeout


@pytest.fixture
def lab():
    made = SshLab()
    try:
        yield made
    finally:
        made.close()


def hostile(lab: SshLab, name: str, mode: str) -> None:
    """Host `name`: a real sshd whose sessions find a `python3` that answers in `mode`."""
    bindir = os.path.join(lab.dir, f"bin-{mode}")
    if not os.path.isdir(bindir):
        os.makedirs(bindir)
        with open(os.path.join(bindir, "python3"), "w") as f:
            f.write(f"#!/bin/sh\nexec {sys.executable} -I {ROOT}/tests/hostile_host.py {mode}\n")
        os.chmod(os.path.join(bindir, "python3"), 0o755)
    lab.start(name, path=f"{bindir}:/usr/bin:/bin")


@pytest.mark.parametrize("mode, said", [
    ("error-then-flood", "did not start psxj's reader; it printed: Traceback"),
    ("endless-length", "a line longer than 64 KiB"),
    ("trickle", "no answer within 3 s"),
    ("big-answer", "no answer within 3 s"),   # read in a second, decoding it takes longer than the rest of 3 s
])
def test_a_hostile_host_costs_at_most_its_timeout_and_its_ssh_is_reaped(lab, mode, said):
    hostile(lab, "evil", mode)
    lab.start("good", setup="sleep 1001 &")
    started = time.monotonic()
    result = psxj(lab, "--host", "evil,good", "--host-timeout", "3", "--print", timeout=60)
    took = time.monotonic() - started
    errors = result.stderr.decode()
    assert result.returncode == 1 and "sleep 1001" in result.stdout.decode()   # the good host shows all the same
    assert "psxj: evil: " in errors and said in errors, errors
    assert "Traceback (most recent" not in errors.replace("it printed: Traceback (most recent", "")
    assert "Exception ignored" not in errors
    assert took < 3 + GRACE, took
    assert not ssh_processes_of(lab)


def test_all_hosts_together_hold_at_most_the_fleets_memory_bound(lab):
    """The bound is the fleet's, not each host's: with room for one table, the second host to answer
    is refused with the reason, and the first still shows. (A smaller bound than psxj's, real hosts.)"""
    from psxj.sources.fleet.budget import FleetMemory, table_cost
    from psxj.sources.fleet.reader import FleetReader

    lab.start("alpha", setup="sleep 1001 &")
    lab.start("beta", setup="sleep 1002 &")
    reader = FleetReader(["alpha"], lab.config, timeout=20, patience=None)
    try:
        one = reader.read()
        cost = reader.memory.used
    finally:
        reader.close()
    assert one.hosts == ("alpha",) and cost >= table_cost(0, len(one)) and cost > 0
    memory = FleetMemory(limit=int(cost * 1.5))
    reader = FleetReader(["alpha", "beta"], lab.config, timeout=20, patience=None, memory=memory)
    try:
        table = reader.read()
        states = {s.host: s for s in table.host_states}
        shown = [s for s in states.values() if s.status == "ok"]
        refused = [s for s in states.values() if s.failing]
        assert len(shown) == 1 and len(refused) == 1, states
        assert "memory bound" in refused[0].detail
        assert memory.used <= memory.limit
    finally:
        reader.close()


@pytest.mark.skipif(not shutil.which("ssh"), reason="needs ssh")
def test_q_quits_the_interface_whatever_the_hosts_do(lab):
    for name, mode in (("flood", "error-then-flood"), ("length", "endless-length"), ("big", "big-answer"),
                       ("slow", "trickle")):
        hostile(lab, name, mode)
    session = PtySession([sys.executable, "-m", "psxj", "--ssh-config", lab.config, "--host",
                          "flood,length,big,slow", "--host-timeout", "30"], env=clean_env())
    try:
        assert session.wait_for(b"4 hosts", timeout=30), bytes(session.output[-2000:])
        time.sleep(2)   # the big answer is being decoded, the trickle is still trickling
        started = time.monotonic()
        session.type(b"q")
        session.proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        session.close()
    assert session.proc.returncode == 0
    assert took < 10, took   # psxj.sources.fleet.reader.CLOSE_SECONDS, and Textual's own exit
    assert not ssh_processes_of(lab)
