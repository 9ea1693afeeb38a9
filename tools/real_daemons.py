#!/usr/bin/env python3
"""Real daemons from Debian packages, audited by psxj: a table of kind and verdicts.

Not part of CI, and not a test: a field trial for the judge (psxj/judge/), run by hand as root on a
throwaway Debian machine without systemd as PID 1:

    python tools/real_daemons.py [--keep] [--only NAME,...] [--purge]
    python tools/real_daemons.py --systemd [--only UNIT,...] [--purge]

With --systemd the daemons are started as their packages' own units in this machine's systemd,
booted as PID 1 of a throw-away container (tests/systemdlab.py: systemd-nspawn on an overlay of /),
and every process of every unit is judged inside the container and from the host; the table ends
with the count of judgements that disagree with systemd's own facts (its cgroups, MainPID,
ControlPID, ActiveState). Nothing is changed on this machine but the packages it installs.

It
1. makes sure packages cannot start services themselves (/usr/sbin/policy-rc.d exiting 101, put
   back as it was afterwards), then apt-get installs about 25 daemons;
2. starts each its package's own way: its /etc/init.d script through `service`, dbus activation for polkitd, the
   documented command for those without one (runsvdir, tini, libslack daemon, a python-daemon
   script). Next to them it starts ordinary jobs that only look like daemons (a nohup job whose
   shell exited, a background job of an exited `sh -c`...). Every daemon stays on its package's
   loopback/local defaults; where the default listens on every interface or on a port another one
   takes (sshd, the three web servers, dnsmasq) a small local-only override is written and removed
   afterwards;
3. audits them as a user would, from the repository: `python -m psxj --json` for the kinds and
   `python -m psxj audit --json PID...` for the verdicts, and prints one row per process, then the
   kind's reasons and the evidence of every fail and unknown;
4. stops everything it started (the init script's stop, then SIGTERM and SIGKILL by PID, checked
   against the process's start time, for anything of it left), unless --keep. Packages stay
   installed unless --purge, which removes exactly the packages this run installed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICY_RC_D = "/usr/sbin/policy-rc.d"
DEV_LOG = "/dev/log"
RUNIT_SYSV = "/etc/runit/lsb.runit.sysv"
MARK = "psxj-real-daemons"          # in the names of every file this script writes outside its temp dir
# What `service` gives an init script (env -i), with the PATH of a root login rather than ours.
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
SLEEP = 86400                       # each look-alike sleeps a distinct SLEEP + n seconds, to be found by argv


# --- /proc, read directly: the script must not trust psxj for what it checks psxj against -----

class Proc(NamedTuple):
    pid: int
    ppid: int
    comm: str
    start: int          # start time in clock ticks: (pid, start) names one process for its whole life
    argv: Tuple[str, ...]


def read_proc(pid: int) -> Optional[Proc]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = tuple(a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a)
    except OSError:
        return None
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None  # exited: nothing left to audit or to stop
    return Proc(pid, int(fields[1]), comm, int(fields[19]), argv)


def all_procs() -> Dict[int, Proc]:
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            p = read_proc(int(name))
            if p is not None:
                found[p.pid] = p
    return found


def descendants(pid: int, procs: Dict[int, Proc]) -> List[Proc]:
    children: Dict[int, List[Proc]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p)
    out, frontier = [], [pid]
    while frontier:
        for child in sorted(children.get(frontier.pop(), []), key=lambda p: p.pid):
            out.append(child)
            frontier.append(child.pid)
    return out


def still(identity: Tuple[int, int]) -> bool:
    p = read_proc(identity[0])
    return p is not None and p.start == identity[1]


def names_of(p: Proc) -> Set[str]:
    return {p.comm} | ({os.path.basename(p.argv[0])} if p.argv else set())


def pid_from_file(pattern: str) -> Optional[int]:
    for path in sorted(glob.glob(pattern)):
        try:
            with open(path) as f:
                first = f.readline().strip()
        except OSError:
            continue
        if first.isdigit():
            return int(first)
    return None


# --- files this script changes outside its temp dir: each put back exactly as it was ----------

class Files:
    def __init__(self) -> None:
        self.saved: List[Tuple[str, Optional[bytes], Optional[int]]] = []

    def write(self, path: str, text: str) -> None:
        self._save(path)
        with open(path, "w") as f:
            f.write(text)

    def edit(self, path: str, change: Callable[[str], str]) -> None:
        with open(path) as f:
            old = f.read()
        new = change(old)
        if new == old:
            raise RuntimeError(f"{path} does not look as this script expects: not changed, daemon not started")
        self.write(path, new)

    def _save(self, path: str) -> None:
        if any(saved == path for saved, _, _ in self.saved):
            return
        if os.path.lexists(path):
            with open(path, "rb") as f:
                self.saved.append((path, f.read(), os.stat(path).st_mode & 0o7777))
        else:
            self.saved.append((path, None, None))

    def restore(self) -> None:
        for path, content, mode in reversed(self.saved):
            if content is None:
                if os.path.lexists(path):
                    os.unlink(path)
                continue
            with open(path, "wb") as f:
                f.write(content)
            os.chmod(path, mode)
        self.saved.clear()


# --- what to run -----------------------------------------------------------------------------

class Started(NamedTuple):
    """What a start left: the main PID, and the rows to audit (label, PID) in display order."""
    main: int
    rows: List[Tuple[str, int]]


class Ctx:
    """What every start and stop needs: the temp dir, the file keeper, the tracked PIDs."""

    def __init__(self, tmp: str, files: Files) -> None:
        self.tmp = tmp
        self.files = files
        self.tracked: Dict[Tuple[int, int], str] = {}   # (pid, start) -> which entry started it
        self.children: List[subprocess.Popen] = []      # our own children, reaped at the end

    def log(self, name: str) -> str:
        return os.path.join(self.tmp, f"{name}.log")

    def run(self, name: str, argv: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a start or stop command with stdin /dev/null and its output in a log file (a pipe would
        keep us waiting for a daemon that never closes it)."""
        with open(self.log(name), "ab") as out:
            out.write(f"$ {' '.join(argv)}\n".encode())
            out.flush()
            return subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False, cwd="/", env=CLEAN_ENV)

    def last_lines(self, name: str, count: int = 3) -> str:
        with open(self.log(name), errors="replace") as f:
            return " | ".join(line.strip() for line in f.read().splitlines()[-count:])

    def output_of(self, argv: Sequence[str]) -> str:
        """Run a command whose stdout is a PID it prints; its background children write to /dev/null."""
        done = subprocess.run(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=30, check=True, cwd="/", env=CLEAN_ENV)
        return done.stdout.decode().strip()


def spawn_detached(argv: Sequence[str]) -> int:
    """`setsid -f` with the PID told: fork twice, the middle exits, so init adopts the command, which
    leads a new session, in /, on /dev/null. As an init would start a supervisor."""
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(read_end)
            child = os.fork()
            if child == 0:
                try:
                    os.close(write_end)
                    os.setsid()
                    os.chdir("/")
                    null = os.open("/dev/null", os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(null, fd)
                    os.closerange(3, 65536)
                    os.execvpe(argv[0], list(argv), CLEAN_ENV)
                finally:
                    os._exit(127)
            os.write(write_end, str(child).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    data = os.read(read_end, 32)
    os.close(read_end)
    os.waitpid(middle, 0)
    return int(data)


def wait_for(what: Callable[[], Optional[int]], seconds: float = 15) -> Optional[int]:
    deadline = time.monotonic() + seconds
    while True:
        found = what()
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def settled(find: Callable[[], Optional[int]], seconds: float = 20) -> Optional[int]:
    """The same live PID twice in a row, 0.3 s apart: not a daemon's intermediate fork, caught
    between its own fork and exit."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        found = find()
        if found is not None and found == last and read_proc(found) is not None:
            return found
        last = found
        time.sleep(0.3)
    return None


def child_named(parent: int, names: Set[str], argv_has: Optional[str] = None) -> Callable[[], Optional[int]]:
    def find() -> Optional[int]:
        for p in all_procs().values():
            if p.ppid == parent and names_of(p) & names and (argv_has is None or argv_has in p.argv):
                return p.pid
        return None
    return find


class Entry(NamedTuple):
    name: str
    packages: Tuple[str, ...]
    names: Tuple[str, ...]                    # what its main process is called (comm or argv[0])
    start: Callable[[Ctx, Dict[int, Proc]], Started]
    stop: Optional[Callable[[Ctx], None]]     # its own way to stop; then whatever is left is killed by PID
    lookalike: bool = False                   # an ordinary job that only looks like a daemon
    how: str = ""                             # how it was started, for the evidence list
    exclusive: bool = False                   # its names are its own: any new process so named is ours


def find_main(entry: Entry, before: Dict[int, Proc], pidfile: Optional[str],
              pidfile_only: bool = False) -> Optional[int]:
    """The daemon's main process: the pidfile's PID if it names a new process of that program,
    else the topmost new process of that program."""
    wanted = set(entry.names)
    now = all_procs()
    old = {(p.pid, p.start) for p in before.values()}
    new = [p for p in now.values() if names_of(p) & wanted and (p.pid, p.start) not in old]
    if pidfile:
        pid = pid_from_file(pidfile)
        if any(p.pid == pid for p in new):
            return pid
        if pidfile_only:
            return None
    new_pids = {p.pid for p in new}
    tops = [p for p in new if p.ppid not in new_pids]
    return min(tops, key=lambda p: (p.start, p.pid)).pid if tops else None


def init_script(name: str, script: str, packages: Tuple[str, ...], names: Tuple[str, ...],
                pidfile: Optional[str], extra_rows: Optional[Callable[[int], List[Tuple[str, int]]]] = None,
                setup: Optional[Callable[[Ctx], None]] = None) -> Entry:
    """A daemon its package starts with its init script, as an administrator runs it: `service SCRIPT start`."""
    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        if setup:
            setup(ctx)
        done = ctx.run(name, ["service", script, "start"])
        main = settled(lambda: find_main(entry, before, pidfile))
        if main is None:
            raise RuntimeError(f"service {script} start exited {done.returncode} and no {names[0]} runs: "
                               + ctx.last_lines(name))
        rows = [(name, main)] + (extra_rows(main) if extra_rows else [])
        return Started(main, rows)

    def stop(ctx: Ctx) -> None:
        ctx.run(name, ["service", script, "stop"])

    entry = Entry(name, packages, names, start, stop, how=f"service {script} start", exclusive=True)
    return entry


# --- local-only overrides: written before the start, removed after the stop ------------------

def sshd_loopback(ctx: Ctx) -> None:
    ctx.files.write(f"/etc/ssh/sshd_config.d/zz-{MARK}.conf", "# written by psxj tools/real_daemons.py\n"
                    "ListenAddress 127.0.0.1\n")


def nginx_port(ctx: Ctx) -> None:
    def change(text: str) -> str:
        text = text.replace("\tlisten 80 default_server;", "\tlisten 127.0.0.1:8081 default_server;")
        return text.replace("\tlisten [::]:80 default_server;", "\t# listen [::]:80 default_server;")
    ctx.files.edit("/etc/nginx/sites-available/default", change)


def apache_port(ctx: Ctx) -> None:
    ctx.files.edit("/etc/apache2/ports.conf", lambda t: t.replace("\nListen 80\n", "\nListen 127.0.0.1:8080\n"))


def lighttpd_port(ctx: Ctx) -> None:
    def change(text: str) -> str:
        text = text.replace("server.port                 = 80\n",
                            "server.port                 = 8082\nserver.bind                 = \"127.0.0.1\"\n")
        ipv6 = 'include_shell "/usr/share/lighttpd/use-ipv6.pl'  # would listen on [::]:8082 as well
        return text.replace(ipv6, "# " + ipv6)
    ctx.files.edit("/etc/lighttpd/lighttpd.conf", change)


def dnsmasq_loopback(ctx: Ctx) -> None:
    ctx.files.write(f"/etc/dnsmasq.d/{MARK}", "# written by psxj tools/real_daemons.py\nlisten-address=127.0.0.1\n"
                    "bind-interfaces\n")


def inetd_service(ctx: Ctx) -> None:
    # openbsd-inetd's script will not start without a service: one internal one, on loopback.
    line = f"127.0.0.1:discard\tstream\ttcp\tnowait\tnobody\tinternal # {MARK}\n"
    ctx.files.edit("/etc/inetd.conf", lambda text: text + line)


def supervisor_program(ctx: Ctx) -> None:
    ctx.files.write(f"/etc/supervisor/conf.d/{MARK}.conf", "; written by psxj tools/real_daemons.py\n"
                    f"[program:{MARK}]\ncommand=/bin/sleep {SLEEP + 1}\nautostart=true\nautorestart=true\n")


# --- daemons without an init script: their documented commands --------------------------------

def polkitd_entry() -> Entry:
    """polkitd has no init script: dbus-daemon starts it on the first message to its name."""
    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        ctx.run("polkitd", ["dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.PolicyKit1",
                            "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.DBus.Peer.Ping"], timeout=60)
        main = settled(lambda: find_main(entry, before, None))
        if main is None:
            raise RuntimeError(f"dbus did not start polkitd (see {ctx.log('polkitd')})")
        return Started(main, [("polkitd", main)])
    entry = Entry("polkitd", ("polkitd",), ("polkitd",), start, None,
                  how="dbus activation (dbus-send to org.freedesktop.PolicyKit1)", exclusive=True)
    return entry


def runit_entry() -> Entry:
    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        service = os.path.join(ctx.tmp, "service", MARK)
        os.makedirs(service)
        with open(os.path.join(service, "run"), "w") as f:
            f.write(f"#!/bin/sh\nexec /bin/sleep {SLEEP + 2}\n")
        os.chmod(os.path.join(service, "run"), 0o755)
        runsvdir = spawn_detached(["runsvdir", "-P", os.path.join(ctx.tmp, "service")])
        runsv = wait_for(child_named(runsvdir, {"runsv"}))
        sleeper = wait_for(child_named(runsv, {"sleep"})) if runsv else None
        if sleeper is None:
            raise RuntimeError("runsvdir started no service")
        return Started(runsvdir, [("runsvdir", runsvdir), ("runsv", runsv), ("runit service", sleeper)])

    def stop(ctx: Ctx) -> None:
        for identity, name in list(ctx.tracked.items()):
            p = read_proc(identity[0])
            if name == "runit" and p is not None and p.start == identity[1] and p.comm == "runsvdir":
                os.kill(p.pid, signal.SIGHUP)  # runsvdir(8): HUP sends TERM to each runsv, then it exits
    return Entry("runit", ("runit",), ("runsvdir",), start, stop, how="runsvdir -P DIR (as an init would start it)")


def tini_entry() -> Entry:
    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        tini = spawn_detached(["tini", "-s", "--", "sleep", str(SLEEP + 3)])
        child = wait_for(child_named(tini, {"sleep"}))
        if child is None:
            raise RuntimeError("tini started no child")
        return Started(tini, [("tini -s", tini), ("tini's child", child)])
    return Entry("tini", ("tini",), ("tini",), start, None, how="tini -s -- sleep (a subreaper, not PID 1)")


def container_entry() -> Entry:
    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        unshare = spawn_detached(["unshare", "--pid", "--fork", "--kill-child", "tini", "--", "sleep", str(SLEEP + 4)])
        tini = wait_for(child_named(unshare, {"tini"}))
        child = wait_for(child_named(tini, {"sleep"})) if tini else None
        if child is None:
            raise RuntimeError("unshare+tini started no child")
        return Started(unshare, [("unshare --pid --fork", unshare), ("tini as a PID 1", tini),
                                 ("container's child", child)])
    return Entry("container", ("tini", "util-linux"), ("unshare",), start, None,
                 how="unshare --pid --fork --kill-child tini -- sleep")


def libslack_entry() -> Entry:
    name = MARK

    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        ctx.run("daemon", ["daemon", f"--name={name}", "--", "sleep", str(SLEEP + 5)])
        main = settled(lambda: find_main(entry, before, f"/run/{name}.pid", pidfile_only=True))
        child = wait_for(child_named(main, {"sleep"})) if main else None
        if child is None:
            raise RuntimeError(f"daemon --name={name} started no client (see {ctx.log('daemon')})")
        return Started(main, [("daemon", main), ("daemon's client", child)])

    def stop(ctx: Ctx) -> None:
        ctx.run("daemon", ["daemon", f"--name={name}", "--stop"])
    entry = Entry("daemon", ("daemon",), ("daemon",), start, stop, how=f"daemon --name={name} -- sleep")
    return entry


PYDAEMON = f'''\
"""A daemon written with python-daemon (PEP 3143), as its documentation shows: DaemonContext with a
pidfile, logging to syslog."""
import logging, logging.handlers, os, time
import daemon, daemon.pidfile

with daemon.DaemonContext(working_directory="/", umask=0o022,
                          pidfile=daemon.pidfile.TimeoutPIDLockFile("/run/{MARK}-py.pid", 5)):
    log = logging.getLogger("{MARK}-py")
    log.setLevel(logging.INFO)
    if os.path.exists("/dev/log"):
        log.addHandler(logging.handlers.SysLogHandler(address="/dev/log"))
    log.info("started")
    while True:
        time.sleep(60)
'''


def pydaemon_entry() -> Entry:
    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        script = os.path.join(ctx.tmp, "pydaemon.py")
        with open(script, "w") as f:
            f.write(PYDAEMON)
        ctx.run("python-daemon", ["/usr/bin/python3", script])
        pid = wait_for(lambda: pid_from_file(f"/run/{MARK}-py.pid"))
        p = read_proc(pid) if pid else None
        if p is None or script not in p.argv:
            raise RuntimeError(f"the python-daemon script did not start (see {ctx.log('python-daemon')})")
        return Started(pid, [("python-daemon", pid)])
    return Entry("python-daemon", ("python3-daemon",), ("python3",), start, None,
                 how="/usr/bin/python3 script.py (daemon.DaemonContext)")


# --- ordinary jobs that only look like daemons ------------------------------------------------

def lookalike(name: str, how: str, command: Callable[[Ctx], int]) -> Entry:
    def start(ctx: Ctx, before: Dict[int, Proc]) -> Started:
        pid = command(ctx)
        if read_proc(pid) is None:
            raise RuntimeError(f"{how} did not start")
        return Started(pid, [(name, pid)])
    return Entry(name, (), ("sleep",), start, None, lookalike=True, how=how)


def nohup_job(ctx: Ctx) -> int:
    return int(ctx.output_of(["sh", "-c", f"nohup sleep {SLEEP + 11} >/dev/null 2>&1 & echo $!"]))


def background_job(ctx: Ctx) -> int:
    return int(ctx.output_of(["sh", "-c", f"sleep {SLEEP + 12} >/dev/null 2>&1 & echo $!"]))


def setsid_shell_job(ctx: Ctx) -> int:
    # setsid execs sh as a new session's leader; sh's job stays in its group: the second fork's shape.
    return int(ctx.output_of(["setsid", "sh", "-c", f"sleep {SLEEP + 13} >/dev/null 2>&1 & echo $!"]))


def setsid_f(ctx: Ctx) -> int:
    argv = ("sleep", str(SLEEP + 14))
    subprocess.run(["setsid", "-f", *argv], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, cwd="/", env=CLEAN_ENV)
    found = wait_for(lambda: next((p.pid for p in all_procs().values() if p.argv == argv and p.ppid == 1), None))
    if found is None:
        raise RuntimeError("setsid -f sleep did not start")
    return found


def live_parent_job(ctx: Ctx) -> int:
    shell = subprocess.Popen(["sh", "-c", f"sleep {SLEEP + 15}; exit 0"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", env=CLEAN_ENV)
    ctx.children.append(shell)
    found = wait_for(child_named(shell.pid, {"sleep"}))
    if found is None:
        raise RuntimeError("sh -c 'sleep' started no sleep")
    return found


# --- the list --------------------------------------------------------------------------------

def entries() -> List[Entry]:
    def child_rows(label: str, names: Set[str]) -> Callable[[int], List[Tuple[str, int]]]:
        def rows(main: int) -> List[Tuple[str, int]]:
            child = wait_for(child_named(main, names))
            return [(label, child)] if child else []
        return rows

    return [
        init_script("rsyslog", "rsyslog", ("rsyslog", "orphan-sysvinit-scripts"), ("rsyslogd",), "/run/rsyslogd.pid"),
        init_script("sshd", "ssh", ("openssh-server",), ("sshd",), "/run/sshd.pid", setup=sshd_loopback),
        init_script("cron", "cron", ("cron",), ("cron",), "/run/crond.pid"),
        init_script("dbus", "dbus", ("dbus",), ("dbus-daemon",), "/run/dbus/pid"),
        polkitd_entry(),
        init_script("nginx", "nginx", ("nginx",), ("nginx",), "/run/nginx.pid", setup=nginx_port),
        init_script("apache2", "apache2", ("apache2",), ("apache2",), "/run/apache2/apache2.pid", setup=apache_port),
        init_script("redis", "redis-server", ("redis-server",), ("redis-server",), "/run/redis/redis-server.pid"),
        init_script("memcached", "memcached", ("memcached",), ("memcached",), "/run/memcached/memcached.pid"),
        init_script("postfix", "postfix", ("postfix",), ("master",), "/var/spool/postfix/pid/master.pid"),
        init_script("atd", "atd", ("at",), ("atd",), "/run/atd.pid"),
        init_script("dnsmasq", "dnsmasq", ("dnsmasq",), ("dnsmasq",), "/run/dnsmasq/dnsmasq.pid",
                    setup=dnsmasq_loopback),
        init_script("haproxy", "haproxy", ("haproxy",), ("haproxy",), "/run/haproxy.pid"),
        init_script("postgresql", "postgresql", ("postgresql",), ("postgres",), "/run/postgresql/*-main.pid"),
        init_script("lighttpd", "lighttpd", ("lighttpd",), ("lighttpd",), "/run/lighttpd.pid", setup=lighttpd_port),
        init_script("supervisord", "supervisor", ("supervisor",), ("supervisord",), "/run/supervisord.pid",
                    extra_rows=child_rows("supervisord program", {"sleep"}), setup=supervisor_program),
        init_script("inetd", "openbsd-inetd", ("openbsd-inetd",), ("inetd",), "/run/inetd.pid", setup=inetd_service),
        # mosquitto is left out: Debian 12's init script cannot start it without systemd (it never makes
        # /run/mosquitto, and mosquitto, once it drops to its user, cannot rewrite the pidfile that
        # start-stop-daemon --make-pidfile wrote as root, so it exits).
        init_script("acpid", "acpid", ("acpid",), ("acpid",), "/run/acpid.pid"),
        init_script("uuidd", "uuidd", ("uuid-runtime",), ("uuidd",), "/run/uuidd/uuidd.pid"),
        init_script("snmpd", "snmpd", ("snmpd",), ("snmpd",), "/run/snmpd.pid"),
        init_script("privoxy", "privoxy", ("privoxy",), ("privoxy",), "/run/privoxy.pid"),
        runit_entry(),
        tini_entry(),
        container_entry(),
        libslack_entry(),
        pydaemon_entry(),
        lookalike("nohup-job", "sh -c 'nohup sleep &' (the sh exits)", nohup_job),
        lookalike("bg-job", "sh -c 'sleep &' (the sh exits)", background_job),
        lookalike("setsid-sh-job", "setsid sh -c 'sleep &' (the sh exits)", setsid_shell_job),
        lookalike("setsid-f", "setsid -f sleep", setsid_f),
        lookalike("live-parent-job", "sh -c 'sleep; exit 0' (the sh waits)", live_parent_job),
    ]


# --- install ---------------------------------------------------------------------------------

def installed_packages() -> Set[str]:
    done = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\n"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=False)
    return {line.split("\t")[0] for line in done.stdout.decode().splitlines() if line.endswith("\tii ")}


def init_scripts_run_sysv(files: Files) -> None:
    """runit's LSB hook (/lib/lsb/init-functions.d/40-runit) turns `/etc/init.d/ssh start|stop` (and
    acpid's, dnsmasq's: packages that ship a runit service) into a silent no-op whenever any runsvdir
    runs: ours, or another user's. Its documented flag file keeps the init scripts in charge."""
    if os.path.isdir("/etc/runit") and not os.path.exists(RUNIT_SYSV):
        files.write(RUNIT_SYSV, "")


def keep_services_down(files: Files) -> str:
    """A policy-rc.d that exits 101 (invoke-rc.d: action forbidden), so no postinst starts a service."""
    if os.path.exists(POLICY_RC_D) and subprocess.run([POLICY_RC_D, "nginx", "start"], check=False).returncode == 101:
        return f"{POLICY_RC_D} already forbids starts (exit 101): left as it is"
    existed = os.path.exists(POLICY_RC_D)
    files.write(POLICY_RC_D, "#!/bin/sh\n# written by psxj tools/real_daemons.py for the length of its run\nexit 101\n")
    os.chmod(POLICY_RC_D, 0o755)
    return f"{POLICY_RC_D} " + ("replaced for this run (put back at the end)" if existed else
                                "written for this run (removed at the end)")


def apt(args: List[str]) -> int:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", *args], env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False).returncode


def install(packages: Sequence[str]) -> None:
    # postfix asks what kind of mail system this is: a local-only one listens on loopback alone.
    subprocess.run(["debconf-set-selections"], input=b"postfix postfix/main_mailer_type select Local only\n"
                   b"postfix postfix/mailname string localhost\n", check=True)
    command = ["install", "--no-install-recommends", *packages]
    if apt(command) != 0 and (apt(["update"]) != 0 or apt(command) != 0):
        raise SystemExit("real_daemons: apt-get install failed")


# --- audit through psxj, as a user runs it ---------------------------------------------------

def psxj(args: List[str]) -> list:
    done = subprocess.run([sys.executable, "-m", "psxj", *args], cwd=REPO, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=300)
    if done.returncode not in (0, 1) or not done.stdout:
        raise SystemExit(f"real_daemons: psxj {' '.join(args[:2])} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace').strip()}")
    return json.loads(done.stdout)


class Row(NamedTuple):
    label: str
    pid: int
    entry: Entry


def counted(kinds: List[str]) -> str:
    tally: Dict[str, int] = {}
    for kind in kinds:
        tally[kind] = tally.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(tally.items()))


def report(rows: List[Row], failures: List[Tuple[str, str]]) -> None:
    gone = [row for row in rows if read_proc(row.pid) is None]
    rows = [row for row in rows if row not in gone]
    failures = failures + [(row.label, f"pid {row.pid} exited before the audit") for row in gone]
    table = {r["pid"]: r for r in psxj(["--json"])}
    audits = {a["pid"]: a for a in psxj(["audit", "--json", *[str(row.pid) for row in rows]])}
    procs = all_procs()
    row_pids = {row.pid for row in rows}
    header = ("NAME", "PID", "KIND", "SUPERVISOR/UNIT", "PROFILE", "PASS", "FAIL", "UNKN", "N/A", "FAILING",
              "UNKNOWN", "ITS OTHER PROCESSES")
    lines = []
    totals = {"pass": 0, "fail": 0, "unknown": 0, "n/a": 0}
    for row in rows:
        a, t = audits[row.pid], table.get(row.pid, {})
        verdicts = [rule["verdict"] for rule in a["rules"]]
        for v in totals:
            totals[v] += verdicts.count(v)
        kind = a["kind"] + ("" if t.get("kind") == a["kind"] else f" (table: {t.get('kind')})")
        others = [table[p.pid]["kind"] for p in descendants(row.pid, procs) if p.pid not in row_pids and p.pid in table]
        lines.append((row.label, str(row.pid), kind, ", ".join(x for x in (a["supervisor"], a["unit"]) if x) or "-",
                      a["profile"] or "-", *(str(verdicts.count(v)) for v in ("pass", "fail", "unknown", "n/a")),
                      ",".join(r["id"] for r in a["rules"] if r["verdict"] == "fail") or "-",
                      ",".join(r["id"] for r in a["rules"] if r["verdict"] == "unknown") or "-",
                      counted(others) or "-"))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    rule_line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print(rule_line)
    lookalikes_started = False
    for row, line in zip(rows, lines):
        if row.entry.lookalike and not lookalikes_started:
            print("  ".join("·" * w for w in widths[:1]) + "  ordinary jobs that only look like daemons:")
            lookalikes_started = True
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    print(rule_line)
    print(f"{len(rows)} processes, {sum(totals.values())} verdicts: {totals['pass']} pass, {totals['fail']} fail, "
          f"{totals['unknown']} unknown, {totals['n/a']} n/a")
    for name, why in failures:
        print(f"not started: {name}: {why}")

    print("\nWhy each kind, and the evidence of every fail and unknown:")
    for row in rows:
        a = audits[row.pid]
        p = procs.get(row.pid)
        print(f"\n{row.label} (pid {row.pid}, {row.entry.how}): {p and ' '.join(p.argv)[:100]}")
        print(f"  kind {a['kind']}: " + "; ".join(a["kind_reasons"]))
        for rule in a["rules"]:
            if rule["verdict"] in ("fail", "unknown"):
                print(f"  {rule['verdict'].upper():7} {rule['id']}: {rule['evidence']}")


# --- stop ------------------------------------------------------------------------------------

def track(ctx: Ctx, entry: Entry, before: Dict[int, Proc], started: Optional[Started]) -> None:
    """Remember every process this entry started: its rows and their descendants, and for a daemon
    with names of its own, every new process of that name (a worker forked away from the main one)."""
    now = all_procs()
    old = {(p.pid, p.start) for p in before.values()}
    roots = {pid for _, pid in started.rows} if started else set()
    for pid in roots:
        for p in [now.get(pid), *descendants(pid, now)]:
            if p is not None:
                ctx.tracked[(p.pid, p.start)] = entry.name
    if entry.exclusive:
        for p in now.values():
            if names_of(p) & set(entry.names) and (p.pid, p.start) not in old:
                ctx.tracked[(p.pid, p.start)] = entry.name


def wait_gone(identities: List[Tuple[int, int]], seconds: float) -> None:
    wait_for(lambda: None if any(still(i) for i in identities) else 0, seconds)


def stop_all(ctx: Ctx, started: List[Entry]) -> List[str]:
    """Each entry its own way, last started first; then anything of it left, by PID. Returns what was
    killed by PID (the daemon's own stop left it running)."""
    killed = []
    now = all_procs()
    for (pid, start), name in list(ctx.tracked.items()):  # workers forked since the start are ours too
        if still((pid, start)):
            for p in descendants(pid, now):
                ctx.tracked.setdefault((p.pid, p.start), name)
    for entry in reversed(started):
        mine = [identity for identity, name in ctx.tracked.items() if name == entry.name]
        if entry.stop:
            try:
                entry.stop(ctx)
            except (OSError, subprocess.SubprocessError) as exc:
                print(f"stop {entry.name}: {exc}", file=sys.stderr)
            wait_gone(mine, 15)
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            left = [i for i in mine if still(i)]
            if not left:
                break
            for pid, _ in left:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    continue
                if entry.stop or sig == signal.SIGKILL:
                    killed.append(f"{entry.name} {pid} ({signal.Signals(sig).name})")
            wait_gone(left, grace)
    for child in ctx.children:
        child.wait(timeout=10)
    return killed


# --- systemd mode: the packages' own units, in this machine's systemd booted in a container ------

class Staged:
    """Files.write/edit for the container: the changed text goes into the overlay, never onto this machine."""

    def __init__(self) -> None:
        self.files: Dict[str, Tuple[str, int]] = {}

    def write(self, path: str, text: str) -> None:
        self.files[path] = (text, 0o644)

    def edit(self, path: str, change: Callable[[str], str]) -> None:
        with open(path) as f:
            old = f.read()
        new = change(old)
        if new == old:
            raise RuntimeError(f"{path} does not look as this script expects")
        self.write(path, new)


class SystemdEntry(NamedTuple):
    unit: str
    packages: Tuple[str, ...]
    setup: Optional[Callable] = None      # an override of this script's no-systemd mode, staged into the overlay


CRON_JOB = f"# written by psxj tools/real_daemons.py\n* * * * * root nohup sleep {SLEEP + 9} >/dev/null 2>&1 &\n"


def systemd_entries() -> List[SystemdEntry]:
    return [
        SystemdEntry("ssh.service", ("openssh-server",)),
        SystemdEntry("cron.service", ("cron",), lambda ctx: ctx.files.write(f"/etc/cron.d/{MARK}", CRON_JOB)),
        SystemdEntry("rsyslog.service", ("rsyslog",)),
        SystemdEntry("nginx.service", ("nginx",), nginx_port),
        SystemdEntry("apache2.service", ("apache2",), apache_port),
        SystemdEntry("lighttpd.service", ("lighttpd",), lighttpd_port),
        SystemdEntry("haproxy.service", ("haproxy",)),
        SystemdEntry("postgresql@15-main.service", ("postgresql",)),
        SystemdEntry("postfix@-.service", ("postfix",)),
        SystemdEntry("redis-server.service", ("redis-server",)),
        SystemdEntry("avahi-daemon.service", ("avahi-daemon",)),
        SystemdEntry("dbus.service", ("dbus",)),
        SystemdEntry("supervisor.service", ("supervisor",), supervisor_program),
        SystemdEntry("user@0.service", ("systemd",)),
        SystemdEntry("console-getty.service", ("systemd",)),
        SystemdEntry("systemd-journald.service", ("systemd",)),
        SystemdEntry("systemd-logind.service", ("systemd",)),
    ]


# Run inside the container with its python: every process's PID, PPID, comm, unit cgroup, read from /proc.
TRUTH = r"""
import json, os
out = {}
for name in os.listdir("/proc"):
    if not name.isdigit():
        continue
    try:
        with open(f"/proc/{name}/stat", "rb") as f:
            stat = f.read()
        with open(f"/proc/{name}/cgroup") as f:
            cgroup = [l[3:].strip() for l in f if l.startswith("0::")]
    except OSError:
        continue
    fields = stat[stat.rindex(b")") + 2:].split()
    if int(fields[6]) & 0x200000 or fields[0] == b"Z":
        continue
    out[name] = [int(fields[1]), stat[stat.index(b"(") + 1:stat.rindex(b")")].decode(errors="replace"),
                 cgroup[0] if cgroup else ""]
print(json.dumps(out))
"""


def _unit_of_cgroup(cgroup: str) -> Optional[str]:
    parts = [p for p in cgroup.split("/") if p and not p.endswith(".slice")]
    return parts[0] if parts and not parts[0].startswith("..") else None


def systemd_truth(lab, units: List[str]) -> Tuple[Dict[int, dict], Dict[str, Dict[str, str]]]:
    """What systemd itself says: each process's unit (its cgroup) and role (MainPID, ControlPID, the
    unit's state, parentage), judged here from systemctl show and /proc, without psxj."""
    procs = {int(pid): value for pid, value in json.loads(lab.run([sys.executable, "-c", TRUTH]).stdout).items()}
    shown: Dict[str, Dict[str, str]] = {}
    truth: Dict[int, dict] = {}
    for pid, (ppid, comm, cgroup) in procs.items():
        unit = _unit_of_cgroup(cgroup)
        if pid == 1 or unit is None or unit == "init.scope":
            continue
        if unit not in shown:
            shown[unit] = lab.show(unit, "MainPID", "ControlPID", "Type", "ActiveState", "SubState", "TriggeredBy",
                                   "NRestarts")
        facts = shown[unit]
        main, control = int(facts.get("MainPID") or 0), int(facts.get("ControlPID") or 0)
        ancestors, current = set(), ppid
        while current and current in procs and current not in ancestors:
            ancestors.add(current)
            current = procs[current][0]
        if unit.endswith(".scope"):
            role = "member"
        elif facts.get("ActiveState") not in ("active", "reloading", "activating", "deactivating"):
            role = "leftover"
        elif not main and unit.endswith(".service"):
            role = "member"   # systemd follows no main process: the unit is its cgroup
        elif pid == main:
            role = "main"
        elif pid == control:
            role = "control"
        elif main in ancestors:
            role = "worker"
        elif control and control in ancestors:
            role = "control"
        else:
            role = "leftover"
        truth[pid] = {"unit": unit, "role": role, "comm": comm, "ppid": ppid}
    return truth, shown


_KINDS_FOR_ROLE = {"main": {"service"}, "control": {"service"}, "worker": {"worker", "service"},
                   "leftover": {"leftover"}, "member": {"service", "worker", "job", "orphan", "daemon"}}


def disagreements(truth: dict, row: Optional[dict], outside: bool) -> List[str]:
    """Where psxj's judgement of one process contradicts systemd's own facts."""
    if row is None:
        return ["not in psxj's table"]
    found = []
    if row.get("unit") != truth["unit"]:
        found.append(f"unit {row.get('unit')} (systemd: {truth['unit']})")
    if row.get("unit_role") != truth["role"]:
        found.append(f"role {row.get('unit_role')} (systemd: {truth['role']})")
    wanted = _KINDS_FOR_ROLE.get(truth["role"])
    if wanted and row.get("kind") not in wanted:
        found.append(f"kind {row.get('kind')} for a {truth['role']}")
    supervisor = row.get("supervisor") or ""
    if truth["role"] == "leftover" and supervisor:
        found.append(f"a leftover supervised by {supervisor}")
    if truth["role"] in ("main", "control") and not truth["unit"].startswith("user@") and "--user" in supervisor:
        found.append(f"supervisor {supervisor} for a system unit")
    if outside and "container" not in (row.get("container") or ""):
        found.append("no container named from the host")
    return found


def systemd_main(args: argparse.Namespace) -> int:
    sys.path.insert(0, os.path.join(REPO, "tests"))
    import systemdlab

    why = systemdlab.why_not()
    if why:
        raise SystemExit(f"real_daemons --systemd: {why}")
    chosen = systemd_entries()
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        chosen = [e for e in chosen if e.unit in wanted or e.unit.split(".")[0].split("@")[0] in wanted]
    files = Files()
    staged = Staged()
    print(keep_services_down(files))
    packages_before = installed_packages()
    try:
        packages = sorted({p for e in chosen for p in e.packages})
        print(f"apt-get install --no-install-recommends {' '.join(packages)}")
        install(packages)
        ctx = Ctx(tempfile.mkdtemp(prefix=f"{MARK}-"), staged)  # type: ignore[arg-type]
        for entry in chosen:
            if entry.setup:
                entry.setup(ctx)
        lab = systemdlab.SystemdLab({}, {path: (text, mode) for path, (text, mode) in staged.files.items()},
                                    wanted=[e.unit for e in chosen])
        started = time.monotonic()
        with lab:
            print(f"booted {lab.name} (systemd as PID 1 of a container) in {lab.boot_seconds:.1f} s")
            if any(e.unit == "cron.service" for e in chosen):
                deadline = time.monotonic() + 70   # cron runs the job at the next minute
                job = str(SLEEP + 9).encode()
                while time.monotonic() < deadline and job not in lab.run(["ps", "-eo", "args"]).stdout:
                    time.sleep(1)
            time.sleep(2)
            systemd_report(lab, chosen)
            shutil.rmtree(ctx.tmp, ignore_errors=True)
        print(f"\npowered off in {lab.poweroff_seconds or 0:.1f} s; {time.monotonic() - started:.0f} s in all; "
              "nothing of it left running, overlay gone with its mount namespace")
    finally:
        files.restore()
        if args.purge:
            new_packages = sorted(installed_packages() - packages_before)
            if new_packages:
                keep_services_down(files)
                apt(["purge", *new_packages])
                files.restore()
                print(f"purged: {' '.join(new_packages)}")
    return 0


def systemd_report(lab, chosen: List[SystemdEntry]) -> None:
    truth, shown = systemd_truth(lab, [e.unit for e in chosen])
    inside = {r["pid"]: r for r in json.loads(lab.psxj("--json").stdout)}
    outside = {r["pid"]: r for r in psxj(["--json"])}
    audits = {a["pid"]: a for a in json.loads(lab.psxj("audit", "--json", *map(str, sorted(truth))).stdout)}
    host_of = {}
    for host_pid in lab.host_pids():
        try:
            with open(f"/proc/{host_pid}/status") as f:
                inner = [int(line.split()[-1]) for line in f if line.startswith("NSpid:")]
        except OSError:
            continue
        if inner:
            host_of[inner[0]] = host_pid
    header = ("UNIT", "PID", "COMM", "SYSTEMD", "KIND (inside)", "ROLE", "SUPERVISOR", "KIND (host)",
              "SUPERVISOR (host)", "PASS", "FAIL", "UNKN", "FAILING", "UNKNOWN")
    lines = []
    disagreeing: List[Tuple[str, str]] = []
    judged = 0
    for pid in sorted(truth, key=lambda p: (truth[p]["unit"], p)):
        t = truth[pid]
        row, audit = inside.get(pid), audits.get(pid, {"rules": []})
        host_row = outside.get(host_of.get(pid, -1))
        verdicts = [r["verdict"] for r in audit["rules"]]
        for where, judged_row, out in (("inside", row, False), ("host", host_row, True)):
            judged += 1
            for problem in disagreements(t, judged_row, out):
                disagreeing.append((f"{t['unit']} {pid} ({t['comm']}) {where}", problem))
        lines.append((t["unit"], str(pid), t["comm"][:15], t["role"], (row or {}).get("kind", "-"),
                      (row or {}).get("unit_role") or "-", ((row or {}).get("supervisor") or "-")[:28],
                      (host_row or {}).get("kind", "-"), ((host_row or {}).get("supervisor") or "-")[:40],
                      str(verdicts.count("pass")), str(verdicts.count("fail")), str(verdicts.count("unknown")),
                      ",".join(r["id"] for r in audit["rules"] if r["verdict"] == "fail") or "-",
                      ",".join(r["id"] for r in audit["rules"] if r["verdict"] == "unknown") or "-"))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    units = sorted({t["unit"] for t in truth.values()})
    print(f"{len(truth)} processes in {len(units)} units; {judged} judgements (inside and from the host); "
          f"{len(disagreeing)} disagree with systemd's own facts")
    for what, problem in disagreeing:
        print(f"  DISAGREES {what}: {problem}")
    missing = [e.unit for e in chosen if e.unit not in shown or shown[e.unit].get("ActiveState") != "active"]
    for unit in missing:
        state = lab.show(unit, "ActiveState", "SubState", "Result")
        print(f"not running: {unit}: {state}")
    print("\nThe evidence of every fail and unknown (inside):")
    for pid in sorted(truth, key=lambda p: (truth[p]["unit"], p)):
        audit = audits.get(pid)
        if not audit:
            continue
        bad = [r for r in audit["rules"] if r["verdict"] in ("fail", "unknown")]
        if bad:
            print(f"\n{truth[pid]['unit']} pid {pid} ({truth[pid]['comm']}), {audit['kind']}/{audit.get('unit_role')}:")
            for rule in bad:
                print(f"  {rule['verdict'].upper():7} {rule['id']}: {rule['evidence'][:300]}")


# --- main ------------------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> int:
    chosen = entries()
    parser = argparse.ArgumentParser(
        prog="python tools/real_daemons.py", description=__doc__.split("\n\n")[0],
        epilog="names: " + ", ".join(e.name for e in chosen))
    parser.add_argument("--keep", action="store_true", help="leave everything running; print how to stop it")
    parser.add_argument("--only", metavar="NAME,...", help="only these (dbus comes with polkitd)")
    parser.add_argument("--purge", action="store_true", help="afterwards, purge the packages this run installed")
    parser.add_argument("--systemd", action="store_true",
                        help="start the daemons as their packages' units, in this machine's systemd booted as PID 1 "
                             "of a throw-away container (systemd-nspawn), and count psxj's judgements that disagree "
                             "with systemd's own facts")
    args = parser.parse_args(argv)
    if args.systemd:
        if os.geteuid() != 0:
            parser.error("run as root: it installs packages and boots a container")
        return systemd_main(args)
    if args.only:
        wanted = {name.strip() for name in args.only.split(",") if name.strip()}
        if "polkitd" in wanted:
            wanted.add("dbus")
        unknown = wanted - {e.name for e in chosen}
        if unknown:
            parser.error(f"unknown names: {', '.join(sorted(unknown))}")
        chosen = [e for e in chosen if e.name in wanted]
    if os.geteuid() != 0:
        parser.error("run as root: it installs packages and starts system daemons")
    if args.keep and args.purge:
        parser.error("--keep and --purge contradict each other")

    files = Files()
    ctx = Ctx(tempfile.mkdtemp(prefix=f"{MARK}-"), files)
    started: List[Entry] = []
    failures: List[Tuple[str, str]] = []
    rows: List[Row] = []
    had_dev_log = os.path.lexists(DEV_LOG)
    packages_before = installed_packages()
    try:
        print(keep_services_down(files))
        init_scripts_run_sysv(files)
        packages = sorted({p for e in chosen for p in e.packages})
        print(f"apt-get install --no-install-recommends {' '.join(packages)}")
        install(packages)
        new_packages = sorted(installed_packages() - packages_before)
        print(f"installed by this run: {' '.join(new_packages) or 'nothing (all were installed)'}")
        for entry in chosen:
            before = all_procs()
            if entry.exclusive and any(names_of(p) & set(entry.names) for p in before.values()):
                failures.append((entry.name, "already running, not started by this script: left alone"))
                continue
            result = None
            try:
                result = entry.start(ctx, before)
                rows.extend(Row(label, pid, entry) for label, pid in result.rows)
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                failures.append((entry.name, str(exc)))
            started.append(entry)
            track(ctx, entry, before, result)
        time.sleep(2)  # let workers settle: a fork storm at start is not what a daemon looks like
        print()
        report(rows, failures)
    finally:
        print()
        if args.keep:
            print(f"--keep: left running (their start logs and runit's service are in {ctx.tmp}). To stop them, "
                  f"touch {RUNIT_SYSV} while a runsvdir runs (else ssh's, acpid's and dnsmasq's init scripts do "
                  "nothing), run each init script's stop, then kill what is left by PID:")
            for entry in started:
                pids = sorted(pid for (pid, _), name in ctx.tracked.items() if name == entry.name)
                how = entry.how.replace(" start", " stop") if entry.how.startswith("service ") else "kill"
                print(f"  {entry.name}: {how}; pids {' '.join(map(str, pids))}")
        else:
            killed = stop_all(ctx, started)
            print("stopped everything this run started" + (f"; killed by PID after its own stop: {', '.join(killed)}"
                                                           if killed else ", each by its own stop"))
            left = [f"{pid} ({name})" for (pid, start), name in ctx.tracked.items() if still((pid, start))]
            if left:
                print(f"STILL RUNNING: {', '.join(left)}")
            if not had_dev_log and os.path.lexists(DEV_LOG):
                os.unlink(DEV_LOG)  # rsyslog made it for this run
                print(f"removed {DEV_LOG}, which rsyslog had made")
            shutil.rmtree(ctx.tmp, ignore_errors=True)
        files.restore()
        print("configuration files put back as they were")
        if args.purge and not args.keep:
            new_packages = sorted(installed_packages() - packages_before)
            if new_packages:
                keep_services_down(files)
                apt(["purge", *new_packages])
                files.restore()
                print(f"purged: {' '.join(new_packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
