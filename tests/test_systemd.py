"""Real systemd: this machine's own systemd booted as PID 1 of a container (tests/systemdlab.py), with
units of every shape psxj must judge, checked against what systemd itself says (systemctl show,
/proc/PID/cgroup), inside the container and from the host.

One container serves the whole module (booting takes about a second here); psxj's answers inside
and outside are read once, after every unit is up, and each test checks one shape.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

import pytest
import systemdlab
from conftest import run_psxj

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.skipif(systemdlab.why_not() is not None,
                                                     reason=systemdlab.why_not() or "")]

LAB = "/usr/local/lib/psxj-lab"
VENV_PYTHON = sys.executable

WORKER = """import os, sys, time
if os.fork() == 0:
    time.sleep(100000)
    os._exit(0)
time.sleep(100000)
"""
FORKING = """import os, sys, time
# The classic double fork, with a pidfile for systemd (PIDFile=), then a worker.
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
os.chdir("/")
null = os.open("/dev/null", os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
with open("/run/lab-forking.pid", "w") as f:
    f.write(f"{os.getpid()}\\n")
if os.fork() == 0:
    time.sleep(100000)
    os._exit(0)
time.sleep(100000)
"""
NOTIFY = """import os, socket
# Ready (sd_notify), then a process title written over the environment, as sshd and redis do,
# with a worker.
address = os.environ["NOTIFY_SOCKET"]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.connect("\\0" + address[1:] if address.startswith("@") else address)
sock.send(b"READY=1")
os.execv("/usr/bin/perl", ["perl", "-e",
         'if (fork() == 0) { sleep 100000; exit 0 } $0 = "lab-notify: serving " . ("-" x 200); sleep 100000'])
"""
BUSNAME = """import time
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
bus = open_dbus_connection(bus="SYSTEM")
bus_object = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
bus.send_and_get_reply(new_method_call(bus_object, "RequestName", "su", ("org.psxj.Lab", 4)))
time.sleep(100000)
"""
ACTIVATED = """import os, socket, time
assert os.environ.get("LISTEN_FDS") == "1", os.environ
listener = socket.socket(fileno=3)
time.sleep(100000)
"""
BUS_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy user="root"><allow own="org.psxj.Lab"/></policy></busconfig>
"""
SUPERVISORD = """[supervisord]
nodaemon=true
logfile=/run/lab-supervisord.log
pidfile=/run/lab-supervisord.pid
[program:lab]
command=/bin/sleep 100006
"""


def _service(exec_start: str, **extra: str) -> str:
    lines = [f"[Service]\nExecStart={exec_start}"] + [f"{key}={value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


UNITS = {
    "lab-simple.service": _service(f"/usr/bin/python3 {LAB}/worker.py"),
    "lab-forking.service": _service(f"/usr/bin/python3 {LAB}/forking.py", Type="forking",
                                    PIDFile="/run/lab-forking.pid"),
    "lab-notify.service": _service(f"/usr/bin/python3 {LAB}/notify.py", Type="notify"),
    "lab-dbus.service": _service(f"{VENV_PYTHON} {LAB}/busname.py", Type="dbus", BusName="org.psxj.Lab"),
    "lab-activated.socket": "[Socket]\nListenStream=/run/psxj-lab.sock\nService=lab-activated.service\n",
    "lab-activated.service": _service(f"/usr/bin/python3 {LAB}/activated.py"),
    "lab-timer.timer": "[Timer]\nOnActiveSec=1\nUnit=lab-timed.service\n",
    "lab-timed.service": _service("/bin/sleep 100001"),
    "lab-leftover.service": _service("/bin/sh -c 'sleep 100002 & exit 0'", KillMode="process"),
    "lab-job.service": _service("/bin/sh -c 'sh -c \"nohup sleep 100003 >/dev/null 2>&1 &\"; exec sleep 100004'"),
    # libslack daemon stays in the foreground when its parent is PID 1: Type=simple.
    "lab-libslack.service": _service("/usr/bin/daemon --name=lab --pidfiles=/run -- /bin/sleep 100005"),
    "lab-supervisord.service": _service(f"/usr/bin/supervisord -n -c {LAB}/supervisord.conf"),
    # psxj why: a TCP socket systemd holds until the first connection starts its service, and a service
    # that failed and was restarted 7 times before it stayed up.
    "lab-port.socket": "[Socket]\nListenStream=127.0.0.1:7782\n",
    "lab-port.service": _service(f"/usr/bin/python3 {LAB}/activated.py"),
    "lab-restarts.service": "[Unit]\nDescription=psxj lab: restarted until it stays\nStartLimitIntervalSec=0\n"
                            + _service(f"/bin/sh {LAB}/restarts.sh", Restart="on-failure", RestartSec="50ms"),
}
RESTARTS = """n=$(cat /run/lab-restarts 2>/dev/null || echo 0)
echo $((n + 1)) > /run/lab-restarts
[ "$n" -ge 7 ] && exec sleep 100013
exit 1
"""
FILES = {
    f"{LAB}/worker.py": (WORKER, 0o644), f"{LAB}/forking.py": (FORKING, 0o644), f"{LAB}/notify.py": (NOTIFY, 0o644),
    f"{LAB}/busname.py": (BUSNAME, 0o644), f"{LAB}/activated.py": (ACTIVATED, 0o644),
    f"{LAB}/supervisord.conf": (SUPERVISORD, 0o644), "/etc/dbus-1/system.d/org.psxj.Lab.conf": (BUS_POLICY, 0o644),
    f"{LAB}/restarts.sh": (RESTARTS, 0o644),
}
WANTED = ["lab-simple.service", "lab-forking.service", "lab-notify.service", "lab-dbus.service", "lab-activated.socket",
          "lab-timer.timer", "lab-leftover.service", "lab-job.service", "user@0.service", "lab-port.socket",
          "lab-restarts.service"]
if shutil.which("daemon"):
    WANTED.append("lab-libslack.service")
if shutil.which("supervisord"):
    WANTED.append("lab-supervisord.service")
if shutil.which("nginx"):
    WANTED.append("nginx.service")
CGROUPS = """import json, os
found = {}
for name in os.listdir("/proc"):
    try:
        with open(f"/proc/{name}/cgroup") as f:
            found[name] = next((line[3:].strip() for line in f if line.startswith("0::")), None)
    except (OSError, NotADirectoryError):
        continue
print(json.dumps({k: v for k, v in found.items() if k.isdigit()}))
"""
SSH = shutil.which("sshd") is not None and shutil.which("ssh") is not None and shutil.which("ssh-keygen") is not None
if SSH:
    WANTED += ["ssh.service", "systemd-logind.service"]
LOGIN_JOBS = ("nohup sleep 100010 >/dev/null 2>&1 & setsid -f sleep 100011 >/dev/null 2>&1; "
              "sleep 100012 >/dev/null 2>&1 &")
PROPERTIES = ("MainPID", "ControlPID", "Type", "ActiveState", "SubState", "TriggeredBy", "NRestarts", "KillMode")


class Seen:
    """What the lab's systemd says, and what psxj says inside and outside, read once."""

    def __init__(self, lab: systemdlab.SystemdLab) -> None:
        self.lab = lab
        units = [u for u in WANTED if u.endswith(".service")] + ["lab-activated.service", "lab-timed.service",
                                                                 "lab-transient.service", "console-getty.service",
                                                                 "systemd-journald.service"]
        self.show = {unit: lab.show(unit, *PROPERTIES) for unit in units}
        self.inside = {r["pid"]: r for r in json.loads(lab.psxj("--json").stdout)}
        self.outside = {r["pid"]: r for r in json.loads(run_psxj("--json").stdout)}
        # Every process's cgroup as the kernel shows it inside, read by a program of the test's own.
        self.cgroups = {int(pid): cgroup for pid, cgroup in json.loads(lab.run([sys.executable, "-c", CGROUPS])
                                                                        .stdout).items()}
        self._audits: Dict[tuple, dict] = {}

    def main(self, unit: str) -> int:
        return int(self.show[unit]["MainPID"])

    def unit_of(self, pid: int) -> Optional[str]:
        """The unit systemd's own cgroup for the process names (inside the container)."""
        cgroup = self.cgroups.get(pid) or ""
        parts = [p for p in cgroup.split("/") if p and not p.endswith(".slice")]
        return parts[0] if parts else None

    def children(self, pid: int) -> List[dict]:
        return [r for r in self.inside.values() if r["ppid"] == pid]

    def by_argv(self, text: str) -> dict:
        found = [r for r in self.inside.values() if text in r["command"]]
        assert len(found) == 1, (text, found)
        return found[0]

    def audit_inside(self, *pids: int, profile: Optional[str] = None) -> Dict[int, dict]:
        args = ["audit", "--json"] + (["--profile", profile] if profile else []) + [str(p) for p in pids]
        key = ("inside",) + tuple(args)
        if key not in self._audits:
            self._audits[key] = {a["pid"]: a for a in json.loads(self.lab.psxj(*args).stdout)}
        return self._audits[key]

    def audit_outside(self, *pids: int) -> Dict[int, dict]:
        key = ("outside",) + pids
        if key not in self._audits:
            self._audits[key] = {a["pid"]: a for a in json.loads(run_psxj("audit", "--json", *map(str, pids)).stdout)}
        return self._audits[key]

    def host(self, inner: int) -> int:
        pid = self.lab.host_pid(inner)
        assert pid is not None, inner
        return pid


def _wait_active(lab: systemdlab.SystemdLab, unit: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.show(unit, "ActiveState", "MainPID")["ActiveState"] == "active":
            return
        time.sleep(0.1)
    raise AssertionError(f"{unit} did not become active: {lab.show(unit, *PROPERTIES)}")


def _login_key(directory: str) -> dict:
    """A throw-away key pair for root's ssh logins inside the container (written into its overlay only)."""
    key = os.path.join(directory, "key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "psxj-lab", "-f", key], check=True,
                   stdin=subprocess.DEVNULL, timeout=30)
    with open(key) as f:
        private = f.read()
    with open(key + ".pub") as f:
        public = f.read()
    return {"/root/.ssh/psxj_lab_key": (private, 0o600), "/root/.ssh/authorized_keys": (public, 0o600)}


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    files = dict(FILES)
    if SSH:
        files.update(_login_key(str(tmp_path_factory.mktemp("sshkey"))))
    lab = systemdlab.SystemdLab(UNITS, files, wanted=WANTED)
    nsentered = None
    try:
        lab.start()
        if SSH:  # a login whose shell leaves a nohup job, a setsid -f daemon and a background job
            lab.run(["ssh", "-i", "/root/.ssh/psxj_lab_key", "-o", "StrictHostKeyChecking=no", "-o",
                     "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                     "root@127.0.0.1", LOGIN_JOBS], timeout=120)
        lab.run(["systemctl", "start", "lab-activated.service"])
        lab.run(["systemd-run", "--unit=lab-transient", "--description=psxj lab transient", "/bin/sleep", "100007"])
        lab.run(["systemd-run", "--unit=lab-runner", "/bin/sh", "-c",
                 "exec systemd-run --scope --unit=lab-scope /bin/sleep 100008"])
        nsentered = subprocess.Popen(lab.enter() + ["/bin/sleep", "100009"], stdin=subprocess.DEVNULL)
        for unit in ("lab-timed.service", "lab-transient.service", "lab-activated.service"):
            _wait_active(lab, unit)
        # Until every process the units start is there (a loaded machine is slow): the leftovers (their
        # unit gone, or their shell), the supervised programs, the scope's and the nsenter'd commands.
        expected = [b"sleep 100002", b"sleep 100003", b"sleep 100008", b"sleep 100009", b"sleep 100013"]
        expected += [b"sleep 100010", b"sleep 100011", b"sleep 100012"] if SSH else []
        expected += [b"sleep 100005"] if "lab-libslack.service" in WANTED else []
        expected += [b"sleep 100006"] if "lab-supervisord.service" in WANTED else []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            running = lab.run(["ps", "-eo", "args"]).stdout
            if lab.show("lab-leftover.service", "ActiveState")["ActiveState"] == "inactive" and \
                    all(text in running for text in expected):
                break
            time.sleep(0.2)
        yield Seen(lab)
    finally:
        if nsentered is not None:
            nsentered.kill()
            nsentered.wait(timeout=10)
        lab.close()


# --- inside the container: what a server's administrator sees ---------------------------------

def test_a_simple_service_and_its_worker(seen):
    main = seen.main("lab-simple.service")
    row = seen.inside[main]
    assert (row["kind"], row["unit"], row["unit_role"], row["supervisor"]) == \
        ("service", "lab-simple.service", "main", "systemd")
    assert seen.unit_of(main) == "lab-simple.service"
    [worker] = seen.children(main)
    assert seen.unit_of(worker["pid"]) == "lab-simple.service"
    assert (worker["kind"], worker["unit"], worker["unit_role"], worker["supervisor"]) == \
        ("worker", "lab-simple.service", "worker", "systemd")
    audit = seen.audit_inside(main, worker["pid"])
    assert audit[main]["profile"] == "new-style"
    verdicts = {r["id"]: r["verdict"] for r in audit[worker["pid"]]["rules"]}
    assert audit[worker["pid"]]["profile"] == "worker"
    assert verdicts["part-of-service"] == "pass" and verdicts["orphaned"] == "n/a" and "fail" not in \
        {verdicts[r] for r in ("fds-closed", "no-tty", "worker-signals")}, audit[worker["pid"]]


def test_a_forking_service_was_adopted_not_started(seen):
    main = seen.main("lab-forking.service")
    assert seen.show["lab-forking.service"]["Type"] == "forking"
    row = seen.inside[main]
    assert (row["kind"], row["unit_role"], row["ppid"]) == ("service", "main", 1)
    assert any("Type=forking" in r and "adopted" in r for r in row["kind_reasons"]), row["kind_reasons"]
    [worker] = seen.children(main)
    assert (worker["kind"], worker["unit_role"]) == ("worker", "worker")


def test_notify_and_dbus_services_are_ready_by_systemd_s_word_and_a_title_is_not_an_environment(seen):
    main = seen.main("lab-notify.service")
    assert seen.show["lab-notify.service"]["Type"] == "notify"
    audit = seen.audit_inside(main, seen.main("lab-dbus.service"))
    rules = {r["id"]: r for r in audit[main]["rules"]}
    assert rules["readiness"]["verdict"] == "pass" and "READY=1" in rules["readiness"]["evidence"]
    dbus_rules = {r["id"]: r for r in audit[seen.main("lab-dbus.service")]["rules"]}
    assert dbus_rules["readiness"]["verdict"] == "pass" and "Type=dbus" in dbus_rules["readiness"]["evidence"]
    # Its environment holds the title written over it, never read as an environment.
    environ = seen.lab.run(["cat", f"/proc/{main}/environ"]).stdout
    assert b"=" not in environ.split(b"\0")[0] and b"NOTIFY_SOCKET" not in environ
    assert not any("NOTIFY_SOCKET" in r["evidence"] for r in audit[main]["rules"])
    worker = seen.children(main)[0]
    assert (worker["kind"], worker["unit"]) == ("worker", "lab-notify.service")


def test_socket_activation_and_timer_are_told_by_systemd(seen):
    main = seen.main("lab-activated.service")
    assert seen.show["lab-activated.service"]["TriggeredBy"] == "lab-activated.socket"
    assert seen.show["lab-timed.service"]["TriggeredBy"] == "lab-timer.timer"
    audit = seen.audit_inside(main)[main]
    rules = {r["id"]: r for r in audit["rules"]}
    assert rules["readiness"]["verdict"] == "pass" and "lab-activated.socket" in rules["readiness"]["evidence"]
    assert rules["fds-closed"]["verdict"] == "pass", rules["fds-closed"]
    timed = seen.inside[seen.main("lab-timed.service")]
    assert (timed["kind"], timed["unit"], timed["unit_role"]) == ("service", "lab-timed.service", "main")


def test_a_transient_unit_and_a_scope(seen):
    transient = seen.inside[seen.main("lab-transient.service")]
    assert (transient["kind"], transient["unit"], transient["unit_role"]) == \
        ("service", "lab-transient.service", "main")
    scoped = seen.by_argv("sleep 100008")
    assert seen.unit_of(scoped["pid"]) == "lab-scope.scope"
    assert (scoped["unit"], scoped["unit_role"]) == ("lab-scope.scope", "member")
    assert scoped["kind"] not in ("service", "worker")


def test_leftovers_are_never_supervised(seen):
    assert seen.show["lab-leftover.service"]["ActiveState"] == "inactive"
    left = seen.by_argv("sleep 100002")
    assert seen.unit_of(left["pid"]) == "lab-leftover.service"
    assert (left["kind"], left["unit"], left["unit_role"], left["supervisor"]) == \
        ("leftover", "lab-leftover.service", "leftover", None)
    job = seen.by_argv("sleep 100003")   # a job's nohup'd command, in an active unit
    assert seen.show["lab-job.service"]["ActiveState"] == "active"
    assert int(seen.show["lab-job.service"]["MainPID"]) != job["pid"]
    assert (job["kind"], job["unit"], job["unit_role"]) == ("leftover", "lab-job.service", "leftover")
    audit = seen.audit_inside(left["pid"], job["pid"], profile="new-style")
    for pid in (left["pid"], job["pid"]):
        supervised = next(r for r in audit[pid]["rules"] if r["id"] == "supervised")
        assert supervised["verdict"] == "fail", supervised


def test_supervisors_under_units(seen):
    if "lab-libslack.service" in WANTED:
        libslack = seen.main("lab-libslack.service")
        client = seen.children(libslack)[0]
        assert seen.unit_of(client["pid"]) == "lab-libslack.service"
        assert client["kind"] == "service" and client["supervisor"] == f"libslack daemon (pid {libslack})"
        assert (client["unit"], client["unit_role"]) == ("lab-libslack.service", "worker")
    if "lab-supervisord.service" in WANTED:
        supervisord = seen.main("lab-supervisord.service")
        program = seen.by_argv("sleep 100006")
        assert program["ppid"] == supervisord
        assert program["supervisor"] == f"supervisord (pid {supervisord})"
        assert program["unit"] == "lab-supervisord.service"


def test_nginx_master_and_workers(seen):
    if "nginx.service" not in WANTED:
        pytest.skip("nginx is not installed (.ci/run installs it)")
    master = seen.main("nginx.service")
    assert seen.show["nginx.service"]["Type"] == "forking"
    workers = [r for r in seen.children(master)]
    assert workers and all(seen.unit_of(w["pid"]) == "nginx.service" for w in workers)
    assert {(w["kind"], w["unit_role"], w["supervisor"]) for w in workers} == {("worker", "worker", "systemd")}
    audit = seen.audit_inside(master, workers[0]["pid"])
    assert {r["id"]: r["verdict"] for r in audit[master]["rules"]}["logging"] == "pass"
    worker_rules = {r["id"]: r["verdict"] for r in audit[workers[0]["pid"]]["rules"]}
    assert worker_rules["part-of-service"] == "pass" and worker_rules["fds-closed"] == "pass", worker_rules


def test_journald_getty_and_the_user_manager(seen):
    journald = seen.main("systemd-journald.service")
    getty = seen.main("console-getty.service")
    user = seen.main("user@0.service")
    sd_pam = [r for r in seen.children(user) if r["comm"] == "(sd-pam)"]
    audit = seen.audit_inside(journald, getty, user, *[r["pid"] for r in sd_pam])
    journal = {r["id"]: r for r in audit[journald]["rules"]}
    assert journal["fds-closed"]["verdict"] == "pass" and "fd store" in journal["fds-closed"]["evidence"]
    assert journal["logging"]["verdict"] == "n/a" and "journal" in journal["logging"]["evidence"]
    tty = {r["id"]: r["verdict"] for r in audit[getty]["rules"]}
    assert tty["no-tty"] == "n/a" and tty["logging"] == "n/a", audit[getty]
    assert (seen.inside[user]["kind"], seen.inside[user]["unit"]) == ("service", "user@0.service")
    for row in sd_pam:  # it inherited NOTIFY_SOCKET; readiness is its main process's
        assert (row["kind"], row["unit"]) == ("worker", "user@0.service")
        assert "readiness" not in {r["id"] for r in audit[row["pid"]]["rules"] if r["verdict"] != "n/a"}


def test_a_process_entered_with_nsenter_was_not_started_by_the_kernel(seen):
    entered = seen.by_argv("sleep 100009")
    assert entered["ppid"] == 0
    assert any("entered from another PID namespace" in r for r in entered["kind_reasons"]), entered
    assert not any("the kernel started it" in r for r in entered["kind_reasons"])


def test_jobs_a_login_s_shell_left_are_orphans_of_its_scope_and_setsid_makes_a_daemon(seen):
    if not SSH:
        pytest.skip("no OpenSSH server and client (.ci/run installs them)")
    nohup, detached, background = (seen.by_argv(f"sleep {n}") for n in (100010, 100011, 100012))
    scope = seen.unit_of(nohup["pid"])
    assert scope and scope.startswith("session-") and scope.endswith(".scope")
    for row in (nohup, detached, background):
        assert seen.unit_of(row["pid"]) == scope and (row["unit"], row["unit_role"]) == (scope, "member"), row
    assert nohup["ppid"] == 1 and nohup["sid"] != nohup["pid"] and nohup["pgid"] == nohup["sid"]  # the shape
    assert nohup["kind"] == "orphan" and background["kind"] == "orphan", (nohup, background)
    assert any("login session scope" in r for r in nohup["kind_reasons"])
    assert detached["kind"] == "daemon" and detached["sid"] == detached["pid"]
    audit = seen.audit_inside(nohup["pid"])[nohup["pid"]]
    verdicts = {r["id"]: r["verdict"] for r in audit["rules"]}
    assert verdicts["own-session"] == "unknown", audit


def test_every_unit_psxj_names_is_the_one_systemd_s_cgroup_names(seen):
    checked = 0
    for pid, row in seen.inside.items():
        if row["kernel_thread"] or pid == 1 or (seen.cgroups.get(pid) or "/..").startswith("/..") or \
                seen.unit_of(pid) in (None, "init.scope"):  # entered from outside its cgroup namespace
            continue
        assert row["unit"] == seen.unit_of(pid), row
        checked += 1
    assert checked > 15


# --- from the host: a container, never a user manager ----------------------------------------

def test_from_the_host_the_container_s_services_are_its_systemd_s(seen):
    name = seen.lab.name
    for unit in ("lab-simple.service", "lab-forking.service", "lab-notify.service"):
        inner = seen.main(unit)
        row = seen.outside[seen.host(inner)]
        assert (row["kind"], row["unit"], row["unit_role"]) == ("service", unit, "main"), row
        assert row["supervisor"].startswith("systemd (pid ") and "container" in row["supervisor"], row
        assert name in (row["container"] or ""), row
        worker = seen.outside[seen.host(seen.children(inner)[0]["pid"])]
        assert (worker["kind"], worker["unit_role"]) == ("worker", "worker"), worker
    init = seen.outside[seen.lab.init_pid]
    assert init["kind"] == "container-init" and name in init["container"] and "systemd-nspawn" in init["container"]
    left = seen.outside[seen.host(seen.by_argv("sleep 100002")["pid"])]
    assert (left["kind"], left["supervisor"]) == ("leftover", None)
    members = set(seen.lab.host_pids())
    for row in seen.outside.values():
        if row["pid"] in members and row["supervisor"]:
            assert "--user" not in row["supervisor"] or row["unit"] == "user@0.service" or \
                row["comm"] == "(sd-pam)" or "user@0.service" in (row["cgroup"] or ""), row


def test_from_the_host_audits_use_the_container_s_own_namespaces(seen):
    activated = seen.host(seen.main("lab-activated.service"))
    notify = seen.host(seen.main("lab-notify.service"))
    audit = seen.audit_outside(activated, notify)
    rules = {r["id"]: r for r in audit[activated]["rules"]}
    assert rules["fds-closed"]["verdict"] == "pass", rules["fds-closed"]
    assert rules["readiness"]["verdict"] == "pass"
    assert {r["id"]: r["verdict"] for r in audit[notify]["rules"]}["readiness"] == "pass"


def test_an_audit_of_several_pids_names_the_one_that_exited(seen):
    main = seen.main("lab-simple.service")
    done = seen.lab.psxj("audit", "--json", str(main), "999999")
    assert done.returncode == 1
    reports = {r["pid"]: r for r in json.loads(done.stdout)}
    assert reports[999999]["gone"] is True and reports[main]["kind"] == "service"


# --- psxj why, inside the container and from the host ------------------------------------------

def _why_inside(seen, *target: str) -> List[dict]:
    done = seen.lab.psxj("why", "--json", *target)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done
    return json.loads(done.stdout)


def test_why_a_timer_started_unit(seen):
    main = seen.main("lab-timed.service")
    [found] = _why_inside(seen, str(main))
    source = found["source"]
    assert (source["kind"], source["name"], source["role"]["value"]) == ("systemd-unit", "lab-timed.service", "main")
    assert source["trigger"]["value"] == seen.show["lab-timed.service"]["TriggeredBy"].split() == ["lab-timer.timer"]
    assert "timer lab-timer.timer (OnActiveSec=1s" in source["summary"], source
    assert found["context"]["unit_file"]["value"] == "/etc/systemd/system/lab-timed.service"
    assert found["chain"][0]["pid"] == 1 and found["chain"][-1]["how"] == "started"


def test_why_socket_activated_units(seen):
    main = seen.main("lab-activated.service")
    [found] = _why_inside(seen, str(main))
    assert found["source"]["trigger"]["value"] == ["lab-activated.socket"]
    assert "socket lab-activated.socket (Stream /run/psxj-lab.sock)" in found["source"]["summary"]
    # A TCP port systemd holds for its socket unit, before and after the first connection starts the service.
    [before] = _why_inside(seen, ":7782")
    assert before["pid"] == 1 and "for lab-port.socket, which starts lab-port.service" in \
        before["context"]["holds"]["value"][0], before["context"]["holds"]
    seen.lab.run([sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 7782)).close()"])
    _wait_active(seen.lab, "lab-port.service")
    service = int(seen.lab.show("lab-port.service", "MainPID")["MainPID"])
    after = {found["pid"]: found for found in _why_inside(seen, ":7782")}
    assert set(after) == {1, service}
    assert (after[service]["source"]["name"], after[service]["source"]["trigger"]["value"]) == \
        ("lab-port.service", ["lab-port.socket"])
    assert after[service]["context"]["holds"]["value"] == ["fd 3: tcp 127.0.0.1:7782 LISTEN"]


def test_why_a_transient_unit_and_restarts(seen):
    [found] = _why_inside(seen, str(seen.main("lab-transient.service")))
    assert found["source"]["trigger"]["value"] == "systemd-run" and "systemd-run" in found["source"]["summary"]
    assert found["context"]["unit_description"]["value"] == "psxj lab transient"
    [restarted] = _why_inside(seen, str(seen.main("lab-restarts.service")))
    count = int(seen.show["lab-restarts.service"]["NRestarts"])
    assert count == 7 and restarted["context"]["restarts"]["value"] == count
    assert "restarts" in {w["id"] for w in restarted["warnings"]}
    assert restarted["source"]["summary"].startswith('systemd unit lab-restarts.service ("psxj lab: restarted')


def test_why_a_leftover_and_an_ssh_login_s_jobs(seen):
    left = seen.by_argv("sleep 100002")
    [found] = _why_inside(seen, str(left["pid"]))
    assert (found["source"]["kind"], found["source"]["role"]["value"]) == ("systemd-unit", "leftover")
    assert "leftover" in {w["id"] for w in found["warnings"]}
    if not SSH:
        return
    nohup = seen.by_argv("sleep 100010")
    [found] = _why_inside(seen, str(nohup["pid"]))
    source = found["source"]
    assert (source["kind"], source["user"]["value"], source["service"]["value"]) == ("login", "root", "sshd"), source
    assert source["remote"]["value"] == "127.0.0.1" and "logind" in source["remote"]["from"], source
    assert source["session"]["value"] == seen.unit_of(nohup["pid"])[len("session-"):-len(".scope")]


def test_why_from_the_host_is_the_container(seen):
    inner = seen.main("lab-timed.service")
    outer = seen.host(inner)
    done = run_psxj("why", "--json", str(outer))
    [found] = json.loads(done.stdout)
    source = found["source"]
    assert (source["kind"], source["runtime"]["value"], source["name"]) == \
        ("container", "systemd-nspawn", seen.lab.name), source
    assert found["context"]["unit"]["value"] == "lab-timed.service"
