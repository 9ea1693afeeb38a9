"""`psxj why`: why a process, a port's listener or a file's holder runs.

First the pure decisions, on tables of cases (rows written here, in the shapes the real things below
make: they test the judgement, they are no evidence of what machines do); then the real things, each
started here, asked with `psxj why`, and reaped: a listening socket (compared with psutil's and
ss's own view), a held file and a running executable, a process under each supervisor psxj knows
(runit, supervisord, tini, libslack daemon), a login over a real sshd on 127.0.0.1, Debian's cron run
as a daemon with a crontab entry that fires within the minute, and an at job run by atd.
(systemd's units and podman's containers are asked in tests/test_systemd.py and test_podman.py, with
the containers those modules boot.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from conftest import linux_only, root_only, run_psxj, stat_fields

from psxj.judge.kinds import Kind
from psxj.model import ProcessRecord, Snapshot

pytestmark = linux_only


def _row(pid, ppid, comm="x", sid=None, pgid=None, tty="?", tpgid=-1, euid=0, namespace_init=False, argv=None):
    return ProcessRecord(pid=pid, ppid=ppid, pgid=pgid or sid or pid, sid=pid if sid is None else sid, tty=tty,
                         tpgid=tpgid, stat="S", euid=euid, cpu_seconds=0, command=" ".join(argv or [comm]),
                         comm=comm, state="S", kernel_thread=False, argv=tuple(argv or [comm]), start_ticks=pid,
                         namespace_init=namespace_init, ruid=euid)


# --- started or adopted: the chain's links ------------------------------------------------------

def _how(child, parent, kind=None, observed=None):
    from psxj.judge.why import link_how

    return link_how(child, parent, kind or Kind("job", ()), observed)[0]


INIT = _row(1, 0, "init", sid=1)


@pytest.mark.parametrize("child, parent, kind, expected", [
    (INIT, None, None, "started"),                                              # the kernel starts PID 1
    (_row(50, 0, "sleep", sid=50), None, None, None),                           # entered with nsenter: PPID 0
    (_row(60, 40, "sleep", sid=30), _row(40, 30, "sh", sid=30), None, "started"),   # in its parent's session
    (_row(61, 40, "sleep", sid=61), _row(40, 30, "sh", sid=30), None, "started"),   # forked, then setsid()
    # In a session its parent is not in, and not its leader: someone else forked it (a subreaper's orphan).
    (_row(62, 40, "sleep", sid=20, pgid=20), _row(40, 30, "runsv", sid=30), None, "adopted"),
    # Under init: a session leader may have been started by init or detached itself: not known...
    (_row(70, 1, "getty", sid=70), INIT, None, None),
    # ...but a process of a session whose leader is gone was forked in that session: adopted.
    (_row(71, 1, "sleep", sid=65, pgid=65), INIT, Kind("orphan", (), adopted=True), "adopted"),
    (_row(72, 1, "sleep", sid=66, pgid=66), INIT, Kind("daemon", (), adopted=True), "adopted"),
    # A supervisor's child it names as its own.
    (_row(80, 40, "sleep", sid=80), _row(40, 1, "runsv", sid=40),
     Kind("service", (), supervisor="runit (pid 40)", adopted=False), "started"),
])
def test_started_or_adopted(child, parent, kind, expected):
    assert _how(child, parent, kind) == expected


def test_an_adoption_seen_by_live_events_is_an_adoption():
    assert _how(_row(90, 1, "sleep", sid=90), INIT, observed=(1, "EXIT of 89")) == "adopted"


def test_systemd_s_own_word_on_main_processes():
    from psxj.judge.units import Manager, Placement
    from psxj.sources.systemd import UnitFacts

    manager = Manager(INIT, "", False, False, 0)
    forking = UnitFacts("a.service", "D-Bus", "loaded", "active", "running", type="forking", main_pid=100)
    simple = forking._replace(type="simple")
    child = _row(100, 1, "nginx", sid=100)
    for facts, expected in ((forking, "adopted"), (simple, "started")):
        placement = Placement(manager, "a.service", "main", facts, None, ())
        assert _how(child, INIT, Kind("service", (), placement=placement)) == expected


# --- the source: the nearest thing up the chain that answers why --------------------------------

class FakeLook:
    """What the live reader would return, for the decisions' tables: programs by PID."""

    def __init__(self, programs=None):
        self.programs = programs or {}

    def program(self, record):
        from psxj.sources.programs import Program

        path = self.programs.get(record.pid)
        return Program(record.pid, path, os.path.basename(path) if path else record.comm, bool(path), False,
                       "table")

    def crontabs(self, daemon):
        from psxj.sources.cron import Crontab, parse

        text = "* * * * * root sleep 4321\n*/5 * * * * root echo 50\\% done%input\n"
        return [Crontab("/etc/cron.d/lab", 0, tuple(parse(text, "/etc/cron.d/lab", None)), None)], "table"

    def ssh_connection(self, gates):
        from psxj.sources.logins import SshConnection
        from psxj.sources.sockets import Endpoint

        return SshConnection(gates[0].pid, gates[-1].pid, Endpoint("10.0.0.1", 22), Endpoint("10.0.0.9", 50000), 7)

    def utmp(self):
        return [], None, "no utmp"

    def trigger(self, placement, name):
        return {}


def _source(rows, pid, programs=None):
    from psxj.judge.why import find_source

    snapshot = Snapshot(rows, source="loaded", from_proc=False)
    return find_source(snapshot, snapshot.get(pid), FakeLook(programs))


CRON = "/usr/sbin/cron"
SSHD = "/usr/sbin/sshd"


def test_a_cron_job_is_its_crontab_line():
    rows = [INIT, _row(10, 1, "cron", sid=10), _row(20, 10, "cron", sid=10), _row(21, 20, "sh", sid=21,
                                                                                     argv=["/bin/sh", "-c",
                                                                                           "echo 50% done"]),
            _row(22, 21, "sleep", sid=21)]
    source = _source(rows, 22, {10: CRON, 20: CRON})
    assert (source.kind, source.name) == ("cron", "/etc/cron.d/lab")
    assert source.detail("line").value == 2 and source.detail("schedule").value == "*/5 * * * *"


def test_cron_named_by_a_user_s_own_program_is_not_cron():
    rows = [INIT, _row(10, 1, "cron", sid=10, euid=1000), _row(20, 10, "cron", sid=10, euid=1000),
            _row(21, 20, "sh", sid=21, argv=["/bin/sh", "-c", "sleep 4321"], euid=1000)]
    assert _source(rows, 21, {}).kind != "cron"   # no system program: its name alone proves nothing


def test_an_ssh_login_and_its_shell_s_jobs():
    rows = [INIT, _row(30, 1, "sshd", sid=30), _row(31, 30, "sshd", sid=31),
            _row(32, 31, "bash", sid=32, tty="pts/3", tpgid=33), _row(33, 32, "vim", sid=32, tty="pts/3", tpgid=33)]
    source = _source(rows, 33, {30: SSHD, 31: SSHD})
    assert (source.kind, source.detail("remote").value, source.detail("terminal").value) == \
        ("login", "10.0.0.9:50000", "pts/3")
    assert _source(rows, 33, {}).kind == "shell-job"   # without sshd's executable: the terminal's shell


def test_supervisors_daemons_orphans_and_init():
    runsv = _row(40, 1, "runsv", sid=40, argv=["runsv", "/etc/service/x"])
    rows = [INIT, runsv, _row(41, 40, "sleep", sid=41), _row(50, 1, "postfix", sid=49, pgid=49),
            _row(51, 50, "worker", sid=49, pgid=49), _row(60, 1, "sleep", sid=58, pgid=59),
            _row(70, 1, "sleep", sid=1), _row(75, 1, "bash", sid=75), _row(80, 1, "sleep", sid=75, pgid=79)]
    assert _source(rows, 41).kind == "supervisor" and _source(rows, 41).name == "runit"
    assert _source(rows, 50).kind == "daemon" and _source(rows, 51).kind == "daemon"
    orphan = _source(rows, 60)
    assert orphan.kind == "unknown" and orphan.name is None and orphan.unknown
    assert _source(rows, 70).kind == "init"
    # Adopted, but still in a live shell's session: a job of that session whose parent exited.
    job = _source(rows, 80)
    assert (job.kind, job.name, job.detail("session_leader").value) == ("shell-job", "bash", 75)


# --- the sources' parsers ---------------------------------------------------------------------

def test_the_kernel_s_socket_table_lines():
    from psxj.sources.sockets import parse_line

    tcp = b"   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000   104  0 4242 1 0 100 0 0 10 0"
    entry = parse_line(tcp, "tcp", 4)
    assert (entry.local.text(), entry.state, entry.uid, entry.inode, entry.loopback) == \
        ("127.0.0.1:22", "LISTEN", 104, 4242, True)
    tcp6 = (b"   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 "
            b"00:00000000 00000000     0        0 77 1 0 100 0 0 10 0")
    entry = parse_line(tcp6, "tcp", 6)
    assert (entry.label(), entry.every_interface) == ("tcp6 [::]:80", True)
    udp = b"  5: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000  101  0 99 2 0 0"
    assert parse_line(udp, "udp", 4).state == "bound"
    assert parse_line(b"  sl  local_address rem_address   st", "tcp", 4) is None
    assert parse_line(b"   0: zz:0016 00000000:0000 0A 0 0 0 0 0 1", "tcp", 4) is None


@pytest.mark.parametrize("field, command", [
    ("sleep 4321", "sleep 4321"),
    ("echo 50\\% done%line one%line two", "echo 50% done"),
    ("printf '\\\\%s'", "printf '\\"),        # \\\\ is one backslash; the % after it ends the command
    ("date +\\%s", "date +%s"),
    ("echo a\\b", "echo a\\b"),
])
def test_what_cron_hands_the_shell(field, command):
    from psxj.sources.cron import shell_command

    assert shell_command(field) == command


def test_crontab_lines():
    from psxj.sources.cron import parse

    system = parse("# comment\nSHELL=/bin/sh\nMAILTO = root\n\n17 * * * * root cd / && run-parts x\n"
                   "@reboot   www-data /srv/start\n-*/2 * * * * root quiet\nbroken line\n", "/etc/crontab", None)
    assert [(e.line, e.schedule, e.user, e.command) for e in system] == [
        (5, "17 * * * *", "root", "cd / && run-parts x"), (6, "@reboot", "www-data", "/srv/start"),
        (7, "*/2 * * * *", "root", "quiet")]
    user = parse("0 3 * * 1 backup --all\n", "/var/spool/cron/crontabs/alice", "alice")
    assert (user[0].user, user[0].command) == ("alice", "backup --all")


def test_utmp_records_as_glibc_writes_them(tmp_path):
    """The record is written by glibc's own pututline into a file of ours (utmpname): the layout is
    glibc's, not one psxj made up."""
    from psxj.sources.logins import USER_PROCESS, parse_utmp, utmp_for

    libc = ctypes.CDLL(ctypes.util.find_library("c"))

    class Utmp(ctypes.Structure):
        _fields_ = [("ut_type", ctypes.c_short), ("ut_pid", ctypes.c_int), ("ut_line", ctypes.c_char * 32),
                    ("ut_id", ctypes.c_char * 4), ("ut_user", ctypes.c_char * 32), ("ut_host", ctypes.c_char * 256),
                    ("e_termination", ctypes.c_short), ("e_exit", ctypes.c_short), ("ut_session", ctypes.c_int32),
                    ("tv_sec", ctypes.c_int32), ("tv_usec", ctypes.c_int32), ("ut_addr_v6", ctypes.c_int32 * 4),
                    ("reserved", ctypes.c_char * 20)]

    assert ctypes.sizeof(Utmp) == 384
    path = tmp_path / "utmp"
    path.write_bytes(b"")
    assert libc.utmpname(str(path).encode()) == 0
    record = Utmp(ut_type=USER_PROCESS, ut_pid=4242, ut_line=b"pts/7", ut_id=b"ts/7", ut_user=b"alice",
                  ut_host=b"192.0.2.7", tv_sec=1700000000)
    libc.setutent()
    assert libc.pututline(ctypes.byref(record))
    libc.endutent()
    libc.utmpname(b"/var/run/utmp")
    records = parse_utmp(path.read_bytes())
    assert [(r.type, r.pid, r.line, r.user, r.host) for r in records] == [(7, 4242, "pts/7", "alice", "192.0.2.7")]
    assert utmp_for(records, 4242, None).host == "192.0.2.7" and utmp_for(records, 1, "pts/7").user == "alice"
    assert utmp_for(records, 1, "pts/8") is None


def test_a_runtime_s_state_names_the_image():
    from psxj.sources.runtimes import docker_entry, podman_entry

    found = [{"id": "ab" * 32, "names": ["web"], "metadata": json.dumps({"image-name": "localhost/web:1"})}]
    assert podman_entry(found, "ab" * 32, "x")[:2] == ("web", "localhost/web:1")
    assert podman_entry(found, "cd" * 32, "x").problem
    assert podman_entry("nonsense", "ab" * 32, "x").problem
    assert docker_entry({"Name": "/db", "Config": {"Image": "postgres:16"}}, "x")[:2] == ("db", "postgres:16")


@pytest.mark.parametrize("seconds, text", [(151, "2:31"), (0, "0:00"), (3600 * 5 + 7, "300:07")])
def test_cpu_time_reads_as_ps_s_time_not_a_bare_number(seconds, text):
    from psxj.judge.why import Fact
    from psxj.render.whytext import context_text

    shown = context_text("cpu_time", Fact(seconds, "/proc/1/stat"))
    assert shown.startswith(text + " ") and "minutes:seconds" in shown
    assert context_text("memory", Fact("1792 kB", "/proc/1/status")) == "1792 kB"


def test_trigger_units_in_a_few_words():
    from psxj.judge.why import describe_trigger

    assert describe_trigger("a.timer", {"TimersMonotonic": [("OnActiveUSec", 1000000, 0)]}) == "OnActiveSec=1s"
    assert describe_trigger("b.timer", {"TimersCalendar": [("OnCalendar", "*-*-* 06:00:00", 0)]}) == \
        "OnCalendar=*-*-* 06:00:00"
    assert describe_trigger("c.socket", {"Listen": [("Stream", "127.0.0.1:7782")]}) == "Stream 127.0.0.1:7782"
    assert describe_trigger("d.timer", {}) == ""


@pytest.mark.parametrize("text, kind", [
    ("812", "pid"), (":22", "port"), ("tcp:22", "port"), ("UDP:53", "port"), ("/var/log/x", "path"), ("./x", "path"),
    ("nginx", "name"), ("systemd-journal", "name"),
])
def test_targets(text, kind):
    from psxj.commands.why import parse_target

    assert parse_target(text).kind == kind


@pytest.mark.parametrize("args, status, words", [
    (["why"], 2, b"TARGET"), (["why", ""], 2, b"empty"), (["why", ":0"], 2, b"1 to 65535"),
    (["why", ":99999"], 2, b"1 to 65535"), (["why", "sctp:22"], 2, b""), (["why", "tcp:x"], 2, b"PORT"),
    (["why", "0"], 2, b"invalid process ID"), (["why", "4194305999"], 2, b"invalid process ID"),
    (["why", "2147483647"], 1, b"no process with PID"), (["why", "no-such-command-x"], 1, b"no process is named"),
    (["why", "/no/such/file"], 1, b"No such file"), (["why", "--json", "tcp:1"], 1, b"nothing listens"),
])
def test_bad_targets_are_one_line_errors(args, status, words):
    done = run_psxj(*args)
    assert done.returncode == status, done
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and words.decode() in lines[0] and b"Traceback" not in done.stderr, done.stderr
    assert done.stdout in (b"", b"[]\n")


# --- real things ------------------------------------------------------------------------------

def why_json(*target: str, env=None) -> list:
    done = run_psxj("why", "--json", *target, env=env)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done
    return json.loads(done.stdout)


def only(found: list, pid: int) -> dict:
    assert [p["pid"] for p in found] == [pid], found
    return found[0]


LISTENER = """import socket, sys
kind = socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET, kind)
s.bind((sys.argv[2], 0))
if kind == socket.SOCK_STREAM:
    s.listen()
print(s.getsockname()[1], s.fileno(), flush=True)
READY()
time.sleep(120)
"""


def _listener(spawner, proto: str, address: str):
    proc = spawner.python(LISTENER, proto, address, stdout=subprocess.PIPE)
    port, fd = map(int, proc.stdout.readline().split())
    return proc, port, fd


def test_a_listening_socket_names_its_process(spawner):
    import psutil

    proc, port, fd = _listener(spawner, "tcp", "127.0.0.1")
    found = only(why_json(f":{port}"), proc.pid)
    assert found["context"]["holds"]["value"] == [f"fd {fd}: tcp 127.0.0.1:{port} LISTEN"]
    assert f"tcp 127.0.0.1:{port}" in found["context"]["listening"]["value"]
    assert "public-listener" not in {w["id"] for w in found["warnings"]}
    # psutil's own join of the same kernel table to the same descriptors says the same.
    [conn] = [c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN"]
    assert (conn.pid, conn.fd) == (proc.pid, fd)
    assert only(why_json(f"tcp:{port}"), proc.pid)
    done = run_psxj("why", f"udp:{port}")
    assert done.returncode == 1 and b"nothing listens" in done.stderr


def test_a_udp_socket_on_every_interface_is_a_warning(spawner):
    proc, port, fd = _listener(spawner, "udp", "0.0.0.0")
    found = only(why_json(f"udp:{port}"), proc.pid)
    assert found["context"]["holds"]["value"] == [f"fd {fd}: udp 0.0.0.0:{port} bound"]
    warning = next(w for w in found["warnings"] if w["id"] == "public-listener")
    assert f"udp 0.0.0.0:{port}" in warning["text"] and "net/" in warning["from"]


def test_the_socket_tables_agree_with_psutil_and_ss():
    """psxj's reader of the kernel's tables against psutil's and ss's: the same listening sockets
    (read until two of psxj's reads agree: other tests may open and close sockets meanwhile)."""
    import psutil

    from psxj.sources.sockets import read_tables

    def mine():
        return {(s.proto, s.local.address, s.local.port) for s in read_tables(None, lambda e: e.listening)}

    def psutil_view():
        return {("tcp" if c.type == socket.SOCK_STREAM else "udp", c.laddr.ip, c.laddr.port)
                for c in psutil.net_connections("inet") if c.laddr and (c.status == "LISTEN" or
                                                                         c.type == socket.SOCK_DGRAM and not c.raddr)}
    for _attempt in range(10):
        before, theirs, after = mine(), psutil_view(), mine()
        if before == after:
            break
    assert before == after == theirs
    if shutil.which("ss"):   # iproute2 asks the kernel over netlink (sock_diag), not through these tables
        for _attempt in range(10):
            listed = subprocess.run(["ss", "-Htuln"], capture_output=True, text=True, timeout=30).stdout
            theirs = {(line.split()[0], line.split()[4].rsplit(":", 1)[0].strip("[]").split("%")[0].replace("*", "::"),
                       int(line.split()[4].rsplit(":", 1)[1])) for line in listed.splitlines() if line.split()}
            if theirs == mine():
                break
        assert theirs == mine()


def test_a_held_file_a_running_program_and_a_working_directory(spawner, tmp_path):
    held = tmp_path / "held file.log"
    held.write_text("x")
    holder = spawner.python("f = open(sys.argv[1], 'a')\nREADY()\ntime.sleep(120)", str(held))
    found = only(why_json(str(held)), holder.pid)
    assert found["context"]["holds"]["value"] == ["fd 3"] or found["context"]["holds"]["value"][0].startswith("fd ")
    program = tmp_path / "my sleep"
    shutil.copy("/bin/sleep", program)
    worker = tmp_path / "work"
    worker.mkdir()
    runner = spawner.popen([str(program), "300"], cwd=str(worker))
    time.sleep(0.2)
    assert only(why_json(str(program)), runner.pid)["context"]["holds"]["value"] == ["its executable"]
    assert only(why_json(str(worker)), runner.pid)["context"]["holds"]["value"] == ["its working directory"]
    program.unlink()   # deleted while it runs, as an upgrade leaves it
    story = only(why_json(str(runner.pid)), runner.pid)
    assert "deleted-executable" in {w["id"] for w in story["warnings"]}
    assert story["context"]["executable"]["value"].endswith(" (deleted)")


@root_only
def test_another_user_s_symlink_is_not_followed(spawner, tmp_path):
    target = tmp_path / "real"
    target.write_text("x")
    holder = spawner.python("f = open(sys.argv[1])\nREADY()\ntime.sleep(120)", str(target))
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.symlink_to(target)
    theirs.symlink_to(target)
    os.lchown(theirs, 65534, 65534)
    assert only(why_json(str(mine)), holder.pid)
    done = run_psxj("why", str(theirs))
    assert done.returncode == 1 and b"symbolic link of uid 65534" in done.stderr and not done.stdout


def test_a_command_name_lists_every_match(spawner):
    twins = [spawner.sleeper(comm=b"psxj-why-twin") for _ in range(2)]
    done = run_psxj("why", "psxj-why-twin")
    assert done.returncode == 0, done
    lines = done.stdout.decode().splitlines()
    assert lines[0].startswith("2 processes match") and len(lines) == 4
    assert [int(line.split()[0]) for line in lines[1:3]] == sorted(p.pid for p in twins)
    assert sorted(p["pid"] for p in why_json("psxj-why-twin")) == sorted(p.pid for p in twins)


def test_everything_from_outside_is_escaped(spawner):
    proc = spawner.python("READY()\ntime.sleep(120)", "\x1b]0;owned\x07", comm=b"\x1b[31mred")
    done = run_psxj("why", str(proc.pid))
    assert done.returncode == 0 and b"\x1b" not in done.stdout and b"\x07" not in done.stdout
    assert b"?[31mred" in done.stdout
    found = only(why_json(str(proc.pid)), proc.pid)
    assert found["comm"] == "?[31mred" and "\x1b" not in json.dumps(found, ensure_ascii=False)


# --- supervisors --------------------------------------------------------------------------------

def _needs(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/run installs runit, supervisor, tini, daemon)")


def _child_of(parent: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in os.listdir("/proc"):
            if name.isdigit():
                fields = stat_fields(int(name))
                if fields is not None and int(fields[1]) == parent and fields[0] != b"Z":
                    return int(name)
        time.sleep(0.05)
    raise AssertionError(f"no child of {parent}")


@pytest.mark.slow
def test_every_supervisor_psxj_knows_is_the_source(spawner, tmp_path):
    _needs("runsv", "supervisord", "tini", "daemon")
    service = tmp_path / "svc"
    service.mkdir()
    (service / "run").write_text("#!/bin/sh\nexec sleep 7309\n")
    (service / "run").chmod(0o755)
    runsv = spawner.popen(["runsv", str(service)])
    config = tmp_path / "supervisord.conf"
    config.write_text(f"[supervisord]\nnodaemon=true\nlogfile={tmp_path}/sd.log\npidfile={tmp_path}/sd.pid\n"
                      f"[program:sleeper]\ncommand=sleep 7310\n")
    supervisord = spawner.popen(["supervisord", "-c", str(config)])
    tini = spawner.popen(["tini", "-s", "--", "sleep", "7311"])
    children = {"runit": (_child_of(runsv.pid), runsv.pid), "supervisord": (_child_of(supervisord.pid),
                                                                             supervisord.pid),
                "tini": (_child_of(tini.pid), tini.pid)}
    name = f"psxj-why-{os.getpid()}"
    subprocess.run(["daemon", "--name", name, "--pidfiles", str(tmp_path), "--", "sleep", "7312"], check=True,
                   timeout=10)
    client_file, daemon_file = tmp_path / f"{name}.clientpid", tmp_path / f"{name}.pid"
    for _ in range(200):
        if client_file.exists() and client_file.read_text().strip() and daemon_file.exists():
            break
        time.sleep(0.02)
    libslack, client = int(daemon_file.read_text()), int(client_file.read_text())
    spawner.track(libslack)
    spawner.track(client)
    children["libslack daemon"] = (client, libslack)
    for child, _parent in children.values():
        spawner.track(child)
    for supervisor, (child, parent) in children.items():
        found = only(why_json(str(child)), child)
        source = found["source"]
        assert (source["kind"], source["name"], source["pid"]["value"]) == ("supervisor", supervisor, parent), found
        assert found["chain"][-1]["how"] == "started" and found["chain"][-2]["pid"] == parent
    # The libslack daemon process itself detached the classic way: a daemon, told as one.
    assert only(why_json(str(libslack)), libslack)["source"]["kind"] == "daemon"
    supervisord.send_signal(signal.SIGTERM)
    supervisord.wait(timeout=20)
    runsv.send_signal(signal.SIGTERM)
    runsv.wait(timeout=10)


# --- a login over a real sshd on 127.0.0.1 ---------------------------------------------------

def _wait_for_command(text: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/cmdline", "rb") as f:
                        if f.read().replace(b"\0", b" ").strip() == text.encode():
                            return int(name)
                except OSError:
                    continue
        time.sleep(0.05)
    raise AssertionError(f"no process runs {text!r}")


def _client_port(ssh_pid: int) -> int:
    import psutil

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [c for c in psutil.Process(ssh_pid).net_connections("tcp") if c.status == "ESTABLISHED"]
        if found:
            return found[0].laddr.port
        time.sleep(0.05)
    raise AssertionError("the ssh client has no connection")


@pytest.mark.slow
@root_only
def test_an_ssh_login_its_user_terminal_and_remote_address(spawner):
    import sshlab

    if not sshlab.have_sshd:
        pytest.skip("no OpenSSH server and client (.ci/run installs them)")
    lab = sshlab.SshLab()
    remote = []
    try:
        server = lab.start("why", namespace=False)
        with_tty = spawner.popen(["ssh", "-F", lab.config, "-tt", "why", "exec sleep 7401"], stdin=subprocess.PIPE)
        without = spawner.popen(["ssh", "-F", lab.config, "why", "exec sleep 7402"])
        login, command = _wait_for_command("sleep 7401"), _wait_for_command("sleep 7402")
        remote += [login, command]
        for pid, client, tty in ((login, with_tty, True), (command, without, False)):
            found = only(why_json(str(pid)), pid)
            source = found["source"]
            assert (source["kind"], source["name"], source["user"]["value"]) == ("login", "sshd", "root"), found
            # The remote end of sshd's connection is the client's own socket: read from the client's side.
            assert source["remote"]["value"] == f"127.0.0.1:{_client_port(client.pid)}"
            assert "TCP table" in source["remote"]["from"]
            terminal = stat_fields(pid)[4]   # tty_nr
            assert (source["terminal"]["value"] is not None) == tty == (terminal != b"0"), source
            session_process = source["session_process"]["value"]
            assert stat_fields(pid)[1] == str(session_process).encode()   # its parent, sshd's session process
            assert found["chain"][-3]["pid"] == server.sshd_pid
        text = run_psxj("why", str(login)).stdout.decode()
        assert f"ssh login of root from 127.0.0.1:{_client_port(with_tty.pid)} on pts/" in text
    finally:
        for pid in remote:   # the commands ssh ran: their sessions end with them, then the clients
            os.kill(pid, signal.SIGKILL)
        for client in spawner.procs:
            try:
                client.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        lab.close()


# --- cron and at, run as daemons ---------------------------------------------------------------

CRON_D = ("* * * * * root sleep 7501\n"
          "* * * * * root sleep 7502; echo 50\\% done%this line is the job's input\n"
          "* * * * * root nohup sleep 7503 >/dev/null 2>&1 &\n")
USER_CRONTAB = "* * * * * sleep 7504\n"


class Daemons:
    """Debian's cron and atd, each in a private mount namespace whose /etc/cron.d, crontab spool, at
    spool and /run are this test's own (the machine's are never touched), started as children of
    the test, so that they are reaped by it."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.cron: subprocess.Popen = None
        self.atd: subprocess.Popen = None
        self.started_at = time.monotonic()

    def start(self) -> "Daemons":
        cron_d = os.path.join(self.directory, "cron.d")
        os.mkdir(cron_d)
        with open(os.path.join(cron_d, "psxj-why"), "w") as f:
            f.write(CRON_D)
        with open(os.path.join(self.directory, "nobody"), "w") as f:
            f.write(USER_CRONTAB)
        script = (f"set -e\nmount --bind {cron_d} /etc/cron.d\nmount -t tmpfs tmpfs /run\n"
                  "mount -t tmpfs -o mode=1730 tmpfs /var/spool/cron/crontabs\n"
                  f"cp {self.directory}/nobody /var/spool/cron/crontabs/nobody\n"
                  "chown nobody:crontab /var/spool/cron/crontabs/nobody\n"
                  "chmod 600 /var/spool/cron/crontabs/nobody\nexec /usr/sbin/cron -f\n")
        self.cron = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if shutil.which("atd") or os.path.exists("/usr/sbin/atd"):
            script = ("set -e\nfor d in atjobs atspool; do mount -t tmpfs -o mode=1770 tmpfs /var/spool/cron/$d; "
                      "chown daemon:daemon /var/spool/cron/$d; done\n"
                      "touch /var/spool/cron/atjobs/.SEQ\nchown daemon:daemon /var/spool/cron/atjobs/.SEQ\n"
                      "mount -t tmpfs tmpfs /run\nexec /usr/sbin/atd -f\n")
            self.atd = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        return self

    def at_now(self, command: str) -> None:
        subprocess.run(["nsenter", "-t", str(self.atd.pid), "-m", "at", "now"], input=command.encode(),
                       capture_output=True, timeout=30, check=True)

    def descendants(self) -> list:
        found, frontier = [], [p.pid for p in (self.cron, self.atd) if p is not None]
        while frontier:
            pid = frontier.pop()
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            found += children
            frontier += children
        return found

    def close(self, leftovers=()) -> None:
        # The jobs first (their runners, cron's and atd's children, are then reaped by their daemons),
        # then the daemons, then what the jobs left behind (adopted by init).
        for pid in reversed(self.descendants()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.3)
        for daemon in (self.cron, self.atd):
            if daemon is not None:
                daemon.terminate()
                try:
                    daemon.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait(timeout=10)
        for pid in leftovers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module", autouse=True)
def running_daemons(tmp_path_factory):
    """Started with the module's first test, so that cron's next minute comes while the others run."""
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/cron"):
        yield None
        return
    running = Daemons(str(tmp_path_factory.mktemp("cron"))).start()
    running.leftovers = []
    try:
        yield running
    finally:
        running.close(running.leftovers)


@pytest.fixture
def daemons(running_daemons):
    if running_daemons is None:
        pytest.skip("cron as a daemon needs root and Debian's cron (.ci/run installs it)")
    return running_daemons


@pytest.mark.slow
def test_an_at_job_names_its_job_file(daemons):
    if daemons.atd is None:
        pytest.skip("no atd (.ci/run installs at)")
    time.sleep(0.5)
    daemons.at_now("sleep 7601")
    job = _wait_for_command("sleep 7601", timeout=30)
    found = only(why_json(str(job)), job)
    source = found["source"]
    assert source["kind"] == "at" and source["user"]["value"] == "root", found
    assert source["job"]["value"].startswith("/var/spool/cron/atjobs/a") and source["name"] == \
        source["job"]["value"].rsplit("/", 1)[1]
    assert source["daemon"]["value"] == daemons.atd.pid


@pytest.mark.slow
def test_cron_jobs_are_their_crontab_lines(daemons, spawner):
    # Every minute: wait for the next one (the module's other tests have used some of it already).
    jobs = {text: _wait_for_command(text, timeout=75) for text in ("sleep 7501", "sleep 7502", "sleep 7504")}
    leftover = _wait_for_command("sleep 7503", timeout=15)
    daemons.leftovers.append(leftover)
    expected = {"sleep 7501": ("/etc/cron.d/psxj-why", 1, "root", "sleep 7501"),
                "sleep 7502": ("/etc/cron.d/psxj-why", 2, "root", "sleep 7502; echo 50% done"),
                "sleep 7504": ("/var/spool/cron/crontabs/nobody", 1, "nobody", "sleep 7504")}
    for text, pid in jobs.items():
        found = only(why_json(str(pid)), pid)
        source = found["source"]
        assert source["kind"] == "cron", found
        assert (source["crontab"]["value"], source["line"]["value"], source["user"]["value"],
                source["command"]["value"]) == expected[text]
        assert source["schedule"]["value"] == "* * * * *" and source["daemon"]["value"] == daemons.cron.pid
        assert "refused" not in source
        # The chain runs from init through the daemon, its job runner (CRON) and the job's shell.
        assert [link["pid"] for link in found["chain"]][-4] == daemons.cron.pid
    # The job's nohup'd command outlived its shell: nothing left says cron started it, and psxj
    # says neither cron nor that init started it.
    found = only(why_json(str(leftover)), leftover)
    assert found["source"]["kind"] not in ("cron", "init"), found["source"]
    text = run_psxj("why", str(jobs["sleep 7502"])).stdout.decode()
    assert "cron job: /etc/cron.d/psxj-why line 2 (* * * * *), as root" in text


def test_the_story_in_chinese_and_the_json_in_english(spawner):
    proc = spawner.sleeper()
    done = run_psxj("--lang", "zh", "why", str(proc.pid))
    text = done.stdout.decode()
    assert done.returncode == 0 and "原因：" in text and "上下文：" in text and "进程链：" in text, text
    found = json.loads(run_psxj("--lang", "zh", "why", "--json", str(proc.pid)).stdout)[0]
    assert found["context"]["session"]["from"].endswith(": session") and found["source"]["summary"].isascii()


@root_only
def test_as_another_user_what_may_not_be_read_is_unknown_with_the_reason(spawner):
    """psxj why run by nobody about root's process: its executable, cwd and sockets may not be read; each
    says so, and nothing is guessed (no cron, login or supervisor from a name alone)."""
    from conftest import as_nobody

    from psxj.judge.evidence import SystemLook  # imported here: nobody may not read the checkout
    from psxj.judge.why import explain
    from psxj.sources.proc import read_snapshot

    proc = spawner.python("import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\nREADY()\n"
                          "time.sleep(120)")

    warm = read_snapshot()   # every module the story needs, imported as root: nobody may not read Python's
    explain(warm, warm.get(proc.pid), SystemLook(warm))

    def tell() -> None:
        snapshot = read_snapshot()
        why = explain(snapshot, snapshot.get(proc.pid), SystemLook(snapshot))
        facts = dict(why.context)
        for key in ("executable", "cwd", "listening"):
            assert facts[key].value is None and facts[key].unknown, (key, facts[key])
        assert why.source.kind in ("init", "unknown", "shell-job", "daemon"), why.source

    assert as_nobody(tell) == 0
