"""Real podman containers, seen from the host (tests/podmanlab.py): every process of a container is
named with its runtime, name and id; container inits (catatonit, a shell) have their monitor (conmon)
as supervisor; conmon is a monitor, not a classic daemon; exec'd processes and the jobs they leave
are told apart from services and daemons. podman's own `inspect` is the truth for names, ids and PIDs.
"""

from __future__ import annotations

import json
import os
import time
from typing import Dict, List

import podmanlab
import pytest
from conftest import run_psxj

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.skipif(podmanlab.why_not() is not None,
                                                     reason=podmanlab.why_not() or "")]


def _children(pid: int) -> List[int]:
    found: List[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


def _by_argv(text: str) -> int:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if f.read().replace(b"\0", b" ").strip() == text.encode():
                        found.append(int(name))
            except OSError:
                continue
    assert len(found) == 1, (text, found)
    return found[0]


def _wait_for(text: str, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return _by_argv(text)
        except AssertionError:
            time.sleep(0.05)
    return _by_argv(text)


class Pods:
    def __init__(self, lab: podmanlab.PodmanLab) -> None:
        self.lab = lab
        self.info: Dict[str, dict] = {}

    def label_parts(self, name: str) -> tuple:
        return name, self.info[name]["Id"][:12]


@pytest.fixture(scope="module")
def pods():
    lab = podmanlab.PodmanLab()
    try:
        lab.build_image()
        pods = Pods(lab)
        pods.info["psxj-init"] = lab.run("psxj-init", "sleep", "2000", init=True)
        pods.info["psxj-shell"] = lab.run("psxj-shell", "sh", "-c", "sleep 2001 & sleep 2002 & wait")
        lab.exec("psxj-init", "sh", "-c", "nohup sleep 2003 >/dev/null 2>&1 &")
        lab.exec("psxj-init", "sleep", "2004")
        for text in ("sleep 2000", "sleep 2001", "sleep 2002", "sleep 2003", "sleep 2004"):
            lab.watch(_wait_for(text))
        pods.table = {r["pid"]: r for r in json.loads(run_psxj("--json").stdout)}
        yield pods
    finally:
        lab.close()


def _row(pods: Pods, pid: int) -> dict:
    row = pods.table.get(pid)
    assert row is not None, pid
    return row


def test_every_process_of_a_container_is_named_with_its_runtime_name_and_id(pods):
    for name in ("psxj-init", "psxj-shell"):
        info = pods.info[name]
        init = info["State"]["Pid"]
        members = [init] + [r["pid"] for r in pods.table.values() if r["pid"] != init and
                            _pid_namespace(r["pid"]) == _pid_namespace(init)]
        assert len(members) >= 2
        for pid in members + [info["State"]["ConmonPid"]]:
            row = _row(pods, pid)
            assert row["container"] == f"podman container {name} ({info['Id'][:12]})", row
            assert row["supervisor"] is None or "--user" not in row["supervisor"], row


def _pid_namespace(pid: int):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def test_container_inits_are_supervised_by_their_monitor_and_catatonit_is_known(pods):
    for name in ("psxj-init", "psxj-shell"):
        info = pods.info[name]
        init, conmon = info["State"]["Pid"], info["State"]["ConmonPid"]
        row = _row(pods, init)
        assert (row["kind"], row["ppid"], row["supervisor"]) == ("container-init", conmon, f"conmon (pid {conmon})")
        monitor = _row(pods, conmon)
        assert monitor["kind"] == "monitor" and monitor["daemon"] is False
    catatonit = pods.info["psxj-init"]["State"]["Pid"]
    child = _row(pods, _by_argv("sleep 2000"))
    assert child["ppid"] == catatonit and child["kind"] == "service"
    assert child["supervisor"] == f"catatonit (podman --init) (pid {catatonit})"
    audit = json.loads(run_psxj("audit", "--json", str(catatonit), str(pods.info["psxj-shell"]["State"]["Pid"]))
                       .stdout)
    verdicts = [{r["id"]: r["verdict"] for r in a["rules"]} for a in audit]
    assert verdicts[0]["forwards-signals"] == "pass"   # catatonit passes signals on
    assert verdicts[1]["forwards-signals"] == "fail"   # a shell as PID 1 does not


def test_conmon_is_audited_as_a_monitor_not_a_classic_daemon(pods):
    conmon = pods.info["psxj-init"]["State"]["ConmonPid"]
    audit = json.loads(run_psxj("audit", "--json", str(conmon)).stdout)[0]
    assert audit["profile"] == "monitor"
    checked = {r["id"] for r in audit["rules"] if r["verdict"] != "n/a"}
    assert checked == {"own-session", "no-tty", "fds-closed", "reaps-children"}


def test_exec_d_processes_and_the_jobs_they_leave(pods):
    info = pods.info["psxj-init"]
    exec_d = _row(pods, _by_argv("sleep 2004"))
    assert exec_d["container"] == f"podman container psxj-init ({info['Id'][:12]})"
    parent = _row(pods, exec_d["ppid"])
    assert parent["comm"] == "conmon" and parent["kind"] == "monitor"
    job = _row(pods, _by_argv("sleep 2003"))   # nohup'd by an exec'd shell that exited
    assert job["ppid"] == info["State"]["Pid"]  # adopted by catatonit
    assert job["kind"] == "orphan" and job["supervisor"] is None, job
    assert any("exec" in r and "setsid" in r for r in job["kind_reasons"]), job
    audit = json.loads(run_psxj("audit", "--json", "--profile", "new-style", str(job["pid"])).stdout)[0]
    assert {r["id"]: r["verdict"] for r in audit["rules"]}["supervised"] == "fail"


def test_children_a_shell_init_started_are_its_own(pods):
    shell = pods.info["psxj-shell"]["State"]["Pid"]
    for text in ("sleep 2001", "sleep 2002"):
        row = _row(pods, _by_argv(text))
        assert row["ppid"] == shell and row["sid"] == shell
        assert row["kind"] == "service" and row["supervisor"] == f"container init (pid {shell})", row


def test_why_a_container_s_process_names_its_runtime_name_id_and_image(pods):
    info = pods.info["psxj-init"]
    child = _by_argv("sleep 2000")
    done = run_psxj("why", "--json", str(child))
    assert done.returncode == 0, done
    [found] = json.loads(done.stdout)
    source = found["source"]
    assert (source["kind"], source["runtime"]["value"], source["container_name"]["value"], source["id"]["value"]) == \
        ("container", "podman", "psxj-init", info["Id"]), source
    # The image, from podman's own storage (containers.json, found from conmon's bundle), as podman says it.
    assert source["image"]["value"] == info["ImageName"] == podmanlab.IMAGE
    assert source["image"]["from"].endswith("/overlay-containers/containers.json")
    assert (source["monitor"]["value"], source["init"]["value"]) == (info["State"]["ConmonPid"], info["State"]["Pid"])
    text = run_psxj("why", str(child)).stdout.decode()
    assert f"podman container psxj-init ({info['Id'][:12]}), image {podmanlab.IMAGE}" in text
