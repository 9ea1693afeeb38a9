"""Many machines over SSH (psxj --host), tested against real OpenSSH servers on 127.0.0.1.

Each "host" is a real sshd (Debian's openssh-server) in its own PID and mount namespaces, serving
its own process table; keys, known_hosts and the client config are made per test (tests/sshlab.py)
and ssh is pointed at them with --ssh-config, never at this machine's ~/.ssh. The reference for a
host's table is the real `ps`, run inside that host's namespaces with nsenter.

The quick tests at the top need no ssh: the remote reader run by a local python3 -I, exactly as
ssh would run it, and hostile answers fed to the decoder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ROOT, clean_env, linux_only
from sshlab import SshLab, have_sshd
from test_tui import screen_text

from psxj.errors import UsageError
from psxj.escape import Escaper
from psxj.judge.kinds import kind_of
from psxj.judge.remote import audit_reports
from psxj.sources.fleet import payload
from psxj.sources.fleet.decode import SENT_FIELDS, BadAnswer, table_snapshot
from psxj.sources.fleet.hosts import host_list

needs_sshd = pytest.mark.skipif(not (have_sshd and shutil.which("unshare") and shutil.which("nsenter")
                                     and os.geteuid() == 0),
                                reason="needs openssh-server, unshare and nsenter, as root")
ESCAPER = Escaper(utf8=True)


def remote_answer(requests: bytes) -> bytes:
    """Run psxj's remote program as ssh would on the other side (python3 -I -c BOOTSTRAP, program and
    requests on stdin), here, with no psxj on its path and a bare environment."""
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    result = subprocess.run([python, "-I", "-c", payload.BOOTSTRAP], input=payload.program() + requests,
                            capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin"}, cwd="/")
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def answers(output: bytes) -> list:
    hello, _, rest = output.partition(b"\n")
    assert hello + b"\n" == b"PSXJ-FLEET 1\n"
    found = []
    while rest:
        length, _, rest = rest.partition(b"\n")
        found.append(rest[:int(length)])
        rest = rest[int(length):]
    return found


# --- no ssh needed -----------------------------------------------------------------------------

@linux_only
def test_the_remote_program_is_psxjs_own_reader_and_sends_raw_bytes_escaped_here(spawner):
    """The bytes of a hostile command line cross raw and are escaped on this side, as /proc's are."""
    from psxj.sources.proc import ProcReader

    hostile = spawner.python("READY()\ntime.sleep(120)", "\x1b]0;owned\x07", "caf\udce9",
                             comm=b"evil\x1b[2Jname")
    table = table_snapshot(answers(remote_answer(b"table\n"))[0], "here", ESCAPER)
    remote = table.get(hostile.pid, "here")
    local = ProcReader(ESCAPER).read_process(hostile.pid)
    assert remote is not None and local is not None
    assert remote.host == "here" and remote.identity == (local.pid, local.start_ticks, "here")
    for field in ("ppid", "pgid", "sid", "tty", "stat", "euid", "command", "comm", "argv", "flags", "start_ticks",
                  "ruid", "rgid", "egid"):
        assert getattr(remote, field) == getattr(local, field), field
    assert "\x1b" not in remote.command and "\x07" not in remote.command and "\x1b" not in remote.comm
    assert table.from_proc and not table.live   # judged like /proc, but never acted on here


def test_the_remote_program_answers_several_requests_on_one_connection():
    first, second, bad = answers(remote_answer(b"table\ntable\nnonsense\n"))
    assert json.loads(first)["rows"] and json.loads(second)["rows"]
    assert json.loads(bad) == {"error": "unknown request"}


def _row(**changes) -> list:
    base = dict(pid=7, ppid=1, pgid=7, sid=7, tty="?", tpgid=-1, stat="Ss", euid=0, cpu_seconds=0,
                command="x\u0000", comm="x", state="S", kernel_thread=False, argv=None, tty_nr=0, flags=0, nice=0,
                threads=1, ruid=0, rgid=0, egid=0, start_ticks=5, start_time=1.7e9, namespace_init=False,
                user=None, cgroup=None, cpu_ticks=0, rss_kb=0, session_key=None, nspid=None)
    base.update(changes)
    return [base[f] for f in SENT_FIELDS]


def _answer(*rows, **extra) -> bytes:
    return json.dumps(dict({"pid_width": 5, "time": 1.7e9, "rows": list(rows)}, **extra)).encode()


@pytest.mark.parametrize("row, problem", [
    (_row(pid=-3), "field 'pid' out of range"),
    (_row(pid=True), "field 'pid' must be an integer"),
    (_row(pid=2 ** 40), "field 'pid' out of range"),
    (_row(command=12), "field 'command' must be a string"),
    (_row(command="x" * 300_000), "field 'command' must be a string"),
    (_row(start_time=float("inf")), "out of range"),
    (_row(user="root"), "field 'user' must be null"),
    (_row(kernel_thread="yes"), "must be true or false"),
    (_row()[:-1], "a row must be a list"),
])
def test_a_hostile_hosts_answer_is_refused_with_the_reason(row, problem):
    with pytest.raises(BadAnswer, match=problem.replace("(", r"\(")):
        table_snapshot(_answer(row), "web1", ESCAPER)


@pytest.mark.parametrize("data", [b"\xff\xfe", b"[1,2]", b"{" * 100_000, b'{"error": "boom"}', b"NaN"])
def test_answers_that_are_not_psxjs_json_are_refused(data):
    with pytest.raises(BadAnswer):
        table_snapshot(data, "web1", ESCAPER)


def test_text_from_a_host_is_escaped_here_never_trusted_as_escaped():
    """The remote side sends raw text; a host that sends terminal sequences gets them escaped here, in
    every text field, and a crafted surrogate is shown as '?', never a crash."""
    evil = "\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m\ud800"
    table = table_snapshot(_answer(_row(command=evil + "\u0000", comm=evil, tty=evil, stat="S\x1b", cgroup=evil)),
                           "web1", ESCAPER)
    record = table.records[0]
    for text in (record.command, record.comm, record.tty, record.stat, record.cgroup):
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000 for c in text), text


def test_audit_reports_from_a_host_are_checked_and_escaped():
    report = {"pid": 5, "command": "d\x1b[31m", "kind": "daemon", "kind_reasons": ["r\x07"], "supervisor": "\ud800",
              "unit": None, "profile": "classic", "gone": False,
              "rules": [{"id": "no-tty", "verdict": "pass", "evidence": "TTY ?\x1b]0;x\x07"}]}
    missing, reports = audit_reports(json.dumps({"reports": [report]}).encode(), ESCAPER)
    assert missing == [] and reports[0].pid == 5 and reports[0].rules[0].verdict == "pass"
    assert "\x1b" not in reports[0].command and "\x1b" not in reports[0].rules[0].evidence
    assert "\x07" not in reports[0].kind.reasons[0]
    with pytest.raises(BadAnswer):
        audit_reports(json.dumps({"reports": [dict(report, kind="god")]}).encode(), ESCAPER)
    with pytest.raises(BadAnswer):
        audit_reports(json.dumps({"reports": [dict(report, rules=[{"id": "x", "verdict": "pass"}])]}).encode(),
                      ESCAPER)


@pytest.mark.parametrize("bad", ["-oProxyCommand=touch /tmp/x", "a;b", "a b", "$(id)", "", "a/b", "`id`",
                                 "host\nother", "-p22", "ssh://-oProxyCommand=x"])
def test_a_host_name_is_never_taken_for_an_ssh_option_or_shell(bad):
    with pytest.raises(UsageError):
        host_list([bad], None)


def test_host_names_and_hosts_files(tmp_path):
    listed = tmp_path / "hosts"
    listed.write_text("# web servers\nweb1\nalice@web2   # the second\n\n[::1]\nssh://bob@db:2222\nweb1\n")
    assert host_list(["web1,web3"], str(listed)) == ["web1", "web3", "alice@web2", "[::1]", "ssh://bob@db:2222"]
    listed.write_text("web1\n-oProxyCommand=x\n")
    with pytest.raises(UsageError, match="line 2"):
        host_list([], str(listed))


# --- real sshd servers ---------------------------------------------------------------------------

@pytest.fixture
def lab():
    made = SshLab()
    try:
        yield made
    finally:
        made.close()


def psxj(lab: SshLab, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    command = list(args[:1]) + ["--ssh-config", lab.config] + list(args[1:]) if args[0] == "audit" else \
        ["--ssh-config", lab.config, *args]
    return subprocess.run([sys.executable, "-m", "psxj", *command], capture_output=True,
                          env=clean_env(), timeout=timeout, cwd=ROOT)


def namespace_table(lab: SshLab, name: str) -> dict:
    """The host's own table, by the real ps inside its namespaces: pid -> (ppid, pgid, sid, stat, args)."""
    result = lab.namespace_run(name, ["ps", "-ww", "-axo", "pid=,ppid=,pgid=,sid=,stat=,args="])
    assert result.returncode == 0, result.stderr
    table = {}
    for line in result.stdout.decode().splitlines():
        pid, ppid, pgid, sid, stat, args = line.split(None, 5)
        table[int(pid)] = (int(ppid), int(pgid), int(sid), stat, args)
    return table


def ssh_processes_of(lab: SshLab) -> list:
    """ssh clients on this machine still using the lab's config (there must be none once psxj is done)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and os.path.basename(argv[0]) == b"ssh" and lab.config.encode() in argv:
                found.append(int(name))
    return found


TWO_HOSTS = {
    # alpha: a shell (PID 2) with its child sleep (PID 3): a job of a live parent
    "alpha": "sh -c 'sleep 1001; true' &",
    # beta: PID 2 a sleep in its own session (a daemon's shape), PID 3 a plain orphan
    "beta": "setsid sleep 1002 &\nsleep 1003 &",
}


@pytest.mark.slow
@needs_sshd
def test_the_merged_table_is_what_each_hosts_namespace_holds(lab):
    for name, setup in TWO_HOSTS.items():
        lab.start(name, setup=setup)
    result = psxj(lab, "--host", "alpha,beta", "--json")
    assert result.returncode == 0, result.stderr.decode()
    rows = json.loads(result.stdout)
    assert {row["host"] for row in rows} == {"alpha", "beta"}
    for name in TWO_HOSTS:
        truth = namespace_table(lab, name)
        mine = {row["pid"]: row for row in rows if row["host"] == name}
        # The processes that live on (init and the sleeps; the ssh session's come and go) are all there,
        # as that host's ps sees them, and nothing of the other host is.
        stable = {pid for pid, facts in truth.items() if pid == 1 or facts[4].startswith(("sleep", "sh -c sleep"))}
        assert stable and stable <= set(mine), (name, truth, mine)
        for pid in stable:
            ppid, pgid, sid, stat, args = truth[pid]
            row = mine[pid]
            assert (row["ppid"], row["pgid"], row["sid"], row["stat"], row["command"]) == (ppid, pgid, sid, stat, args)
        assert mine[1]["kind"] == "init" and mine[1]["flags"] is not None and mine[1]["start_ticks"] is not None
    alpha = {r["command"]: r for r in rows if r["host"] == "alpha"}
    beta = {r["command"]: r for r in rows if r["host"] == "beta"}
    # Kinds judged on each host's own table: alpha's sleep is the child of its live shell there (whatever
    # beta has under the same PID), beta's are an orphan of its PID 1 and a detached daemon.
    shell = alpha["sh -c sleep 1001; true"]
    assert alpha["sleep 1001"]["ppid"] == shell["pid"] and alpha["sleep 1001"]["kind"] == "job"
    assert f"{shell['pid']} (sh)" in alpha["sleep 1001"]["kind_reasons"][-1]
    assert beta["sleep 1003"]["kind"] == "orphan" and beta["sleep 1002"]["kind"] == "daemon"
    assert not ssh_processes_of(lab)

    printed = psxj(lab, "--host", "alpha,beta", "--print", "-C", "sleep")
    lines = printed.stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["HOST", "PPID", "PID"]
    assert sorted((line.split()[0], line.split()[-1]) for line in lines[1:]) == \
        [("alpha", "1001"), ("beta", "1002"), ("beta", "1003")]
    one = psxj(lab, "--host", "alpha", "--print", "-C", "sleep")
    assert one.stdout.decode().splitlines()[0].split()[0] == "PPID"   # one host: no HOST column

    csv = psxj(lab, "--host", "alpha,beta", "--csv", "-p", "1")
    assert [line.rsplit(",", 1)[-1] for line in csv.stdout.decode().splitlines()[1:]] == ["alpha", "beta"]


@pytest.mark.slow
@needs_sshd
def test_a_wrong_or_unknown_host_key_is_an_error_naming_the_host_and_never_accepted(lab):
    lab.start("alpha", setup="sleep 1001 &")
    lab.start("mallory", trust_key_of="alpha")      # known_hosts holds another key for its address
    lab.start("stranger", trusted=False)            # not in known_hosts at all
    with open(lab.known_hosts) as f:
        known_before = f.read()
    result = psxj(lab, "--host", "alpha,mallory,stranger", "--print")
    errors = result.stderr.decode()
    assert result.returncode == 1
    assert "psxj: mallory: its host key has CHANGED" in errors
    assert "psxj: stranger: its host key is not in known_hosts" in errors
    assert "sleep 1001" in result.stdout.decode()      # the good host is shown all the same
    assert "mallory" not in result.stdout.decode() and "stranger" not in result.stdout.decode()
    with open(lab.known_hosts) as f:
        assert f.read() == known_before               # nothing was accepted


@pytest.mark.slow
@needs_sshd
def test_a_host_that_never_answers_times_out_and_the_others_still_show(lab):
    lab.start("alpha", setup="sleep 1001 &")
    lab.silent_host("hung")
    lab.refused_host("closed")
    started = time.monotonic()
    result = psxj(lab, "--host", "alpha,hung,closed", "--host-timeout", "2", "--print")
    took = time.monotonic() - started
    errors = result.stderr.decode()
    assert result.returncode == 1 and "sleep 1001" in result.stdout.decode()
    assert "psxj: hung: " in errors and ("no answer within 2 s" in errors or "timed out" in errors)
    assert "psxj: closed: connection refused" in errors
    assert took < 15   # the timeout, plus starting Python twice: never a hang
    assert not ssh_processes_of(lab)


@pytest.mark.slow
@needs_sshd
def test_a_host_without_python_is_read_with_ps_and_says_what_it_cannot_know(lab):
    no_python = os.path.join(lab.dir, "bin-without-python")
    os.makedirs(no_python)
    for program in ("sh", "ps"):
        os.symlink(shutil.which(program), os.path.join(no_python, program))
    lab.start("bare", setup="setsid sleep 1004 &", path=no_python)
    lab.start("alpha", setup="sleep 1001 &")
    result = psxj(lab, "--host", "bare,alpha", "--json")
    assert result.returncode == 0, result.stderr.decode()
    assert "psxj: note: bare: ps -axj (no python3)" in result.stderr.decode()
    rows = json.loads(result.stdout)
    bare = {r["command"]: r for r in rows if r["host"] == "bare"}
    alpha = {r["command"]: r for r in rows if r["host"] == "alpha"}
    truth = {facts[4]: (pid, *facts[:4]) for pid, facts in namespace_table(lab, "bare").items()}
    sleeper = bare["sleep 1004"]
    assert (sleeper["pid"], sleeper["ppid"], sleeper["pgid"], sleeper["sid"], sleeper["stat"]) == truth["sleep 1004"]
    # What ps -axj cannot say stays unknown, and the kind says it was inferred from the row.
    assert sleeper["flags"] is None and sleeper["start_ticks"] is None and sleeper["cgroup"] is None
    assert sleeper["kind"] == "daemon" and any("saved row" in r for r in sleeper["kind_reasons"])
    other = alpha["sleep 1001"]
    assert other["flags"] is not None and not any("saved row" in r for r in other["kind_reasons"])


@pytest.mark.slow
@needs_sshd
def test_audit_runs_on_the_remote_host(lab):
    lab.start("alpha", setup="setsid sleep 1005 &")
    table = json.loads(psxj(lab, "--host", "alpha", "--json", "-C", "sleep").stdout)
    daemon = table[0]["pid"]
    result = psxj(lab, "audit", "--host", "alpha", "--json", "1", str(daemon))
    reports = json.loads(result.stdout)
    assert [r["pid"] for r in reports] == [1, daemon] and reports[0]["kind"] == "init"
    assert reports[1]["kind"] == "daemon" and reports[1]["profile"] == "classic"
    rules = {r["id"]: r["verdict"] for r in reports[1]["rules"]}
    assert rules["own-session"] == "pass" and rules["no-tty"] == "pass"
    missing = psxj(lab, "audit", "--host", "alpha", "4000")
    assert missing.returncode == 1 and b"alpha: no process with PID 4000" in missing.stderr


@pytest.mark.slow
@needs_sshd
async def test_the_interface_shows_hosts_their_states_and_a_host_column(lab):
    from psxj.sources.fleet.reader import FleetReader
    from psxj.tui.app import LOCAL_ONLY, PsxjApp
    from psxj.tui.hosts_screen import HostsScreen

    lab.start("alpha", setup="sleep 1001 &")
    lab.start("beta", setup="sleep 1002 &")
    lab.refused_host("closed")
    reader = FleetReader(["alpha", "beta", "closed"], lab.config, timeout=5, patience=5)
    app = PsxjApp(reader=reader, delay=60, refused_actions=LOCAL_ONLY)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(100):
            await pilot.pause(0.1)
            if app.snapshot is not None and app.snapshot.hosts:
                break
        status = str(app.widget("#status").render())
        assert "3 hosts, 1 failing" in status
        assert app.table.header_text().split()[:2] == ["HOST", "PPID"]
        shown = {(row.record.host, row.record.command) for row in app.table.rows if row.record is not None}
        assert ("alpha", "sleep 1001") in shown and ("beta", "sleep 1002") in shown
        assert not app.key_is_offered("app.signal") and not app.check_action("signal", ())
        await pilot.press("h")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HostsScreen)
        listing = screen_text(app.screen.query_one("#hosts-table"))
        assert "closed" in listing and "connection refused" in listing and "python3" in listing
        pids = reader.ssh_pids()
        assert len(pids) == 2   # alpha's and beta's sessions stay open between refreshes
    for pid in pids:  # closing the interface ends and reaps every ssh it started
        assert not os.path.exists(f"/proc/{pid}")


def test_a_saved_table_of_several_hosts_loads_back_with_each_host_apart(tmp_path):
    """psxj --host --json saved to a file: loading it keeps each machine's rows apart (the same PIDs on
    two hosts are two processes, each judged on its own host), and --print shows the HOST column."""
    from psxj.model import FleetSnapshot, Snapshot
    from psxj.render.export import to_csv, to_json
    from psxj.sources.loaded import load_snapshot

    def host_table(host, detached):
        rows = [_row(pid=1, ppid=0, pgid=1, sid=1, command="init\u0000", comm="init"),
                _row(pid=50, ppid=1, pgid=50, sid=50 if detached else 1, stat="Ss" if detached else "S",
                     command="worker\u0000", comm="worker")]
        return table_snapshot(_answer(*rows), host, ESCAPER)

    fleet = FleetSnapshot({"web1": host_table("web1", True), "web2": host_table("web2", False)})
    for name, text in (("fleet.json", to_json(fleet, fleet.records)), ("fleet.csv", to_csv(fleet, fleet.records))):
        (tmp_path / name).write_text(text)
        loaded = load_snapshot(str(tmp_path / name), ESCAPER)
        assert isinstance(loaded, FleetSnapshot) and loaded.hosts == ("web1", "web2")
        kinds = {(r.host, r.pid): kind_of(loaded, r).name for r in loaded.records}
        assert kinds == {("web1", 1): "init", ("web1", 50): "daemon", ("web2", 1): "init", ("web2", 50): "orphan"}
        assert loaded.get(50, "web2").sid == 1 and loaded.get(50) is None   # which machine's 50? not guessed
    printed = subprocess.run([sys.executable, "-m", "psxj", "--load", str(tmp_path / "fleet.json"), "--print"],
                             capture_output=True, env=clean_env(), cwd=ROOT, timeout=60)
    lines = printed.stdout.decode().splitlines()
    assert lines[0].split()[:2] == ["HOST", "PPID"] and [line.split()[0] for line in lines[1:]] == \
        ["web1", "web1", "web2", "web2"]
    plain = Snapshot(host_table("web1", True).records)
    assert "host" in json.loads(to_json(plain, plain.records))[0]
