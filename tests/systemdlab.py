"""The machine's own systemd, booted as PID 1 of a throw-away container, for the systemd tests and
tools/real_daemons.py --systemd.

How (measured on Debian 12, systemd 252): a launcher moves itself into a cgroup of its own, enters a
private mount namespace, mounts a tmpfs, and on it an overlay whose lower layer is this machine's /
(so the container runs the very systemd, packages and checkout of this machine, and every write
lands in the tmpfs). Files given to the lab (units, scripts, configuration) are copied into the
overlay before boot, so units enabled there start with it. Then
`SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn -D ROOT --boot --register=no --keep-unit
--private-network` boots it (without --register=no --keep-unit it wants a system bus the host
lacks). It boots to `psxj-lab.target`, which wants only the lab's units (and a console getty), so
what runs does not depend on what the host has enabled.

Inside: `run()` enters every namespace of the container's PID 1 (nsenter -a), where systemd is PID 1
as on a real server; psxj runs there from this checkout (the overlay shows it at the same path).
Outside, this machine's psxj sees the container from the host.

close() powers the container off (SIGTERM to systemd-nspawn, ~2.5 s), kills by PID whatever is
left (the container's PID 1 first: the kernel then ends its whole PID namespace), and removes the
cgroups it made. The overlay and the tmpfs live only in the launcher's mount namespace: they go
with it. Nothing is left running, even when a test fails or is interrupted (close() is also
registered with atexit).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NSPAWN = shutil.which("systemd-nspawn")
SYSTEMCTL = shutil.which("systemctl")
TARGET = "psxj-lab.target"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
       "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}


def unified_hierarchy() -> Optional[str]:
    """Where the cgroup2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid)."""
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 2 and fields[2] == "cgroup2":
                    return fields[1]
    except OSError:
        pass
    return None


def named_systemd_hierarchy() -> Optional[str]:
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 3 and fields[2] == "cgroup" and "name=systemd" in fields[3].split(","):
                    return fields[1]
    except OSError:
        pass
    return None


def why_not() -> Optional[str]:
    """Why no systemd container can boot here (None: it can)."""
    if os.geteuid() != 0:
        return "booting a container needs root"
    if NSPAWN is None or SYSTEMCTL is None:
        return "no systemd-nspawn (Debian package systemd-container; .ci/run installs it)"
    if not os.path.exists("/lib/systemd/systemd") and not os.path.exists("/usr/lib/systemd/systemd"):
        return "no systemd on this machine to boot"
    if unified_hierarchy() is None:
        return "no cgroup2 hierarchy mounted"
    return None


def _stat_start(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _children(pid: int) -> List[int]:
    found: List[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


class Booted(subprocess.CompletedProcess):
    pass


class SystemdLab:
    """One booted container. `files`: path inside -> (content, mode); `units`: name -> unit file text
    (each enabled by psxj-lab.target's Wants= unless `wanted` says otherwise)."""

    def __init__(self, units: Dict[str, str], files: Optional[Dict[str, tuple]] = None,
                 wanted: Optional[Sequence[str]] = None, boot_timeout: float = 90) -> None:
        self.units = dict(units)
        self.files = dict(files or {})
        self.wanted = list(wanted if wanted is not None else [u for u in units if not u.endswith("@.service")])
        self.boot_timeout = boot_timeout
        self.dir = tempfile.mkdtemp(prefix="psxj-systemdlab-")
        self.name = f"psxj-lab-{os.getpid()}-{os.urandom(3).hex()}"  # a valid machine name: no "_"
        self.cgroups: List[str] = []
        self.launcher: Optional[subprocess.Popen] = None
        self.init_pid: Optional[int] = None
        self.init_start: Optional[int] = None
        self.boot_seconds: Optional[float] = None
        self.poweroff_seconds: Optional[float] = None
        self._closed = False
        atexit.register(self.close)

    # --- boot ---------------------------------------------------------------------------------
    def _stage(self) -> str:
        """The files to copy into the overlay, laid out under a staging directory."""
        stage = os.path.join(self.dir, "stage")
        units = os.path.join(stage, "etc/systemd/system")
        os.makedirs(units)
        wants = "\n".join(f"Wants={unit}" for unit in self.wanted + ["console-getty.service"])
        target = (f"[Unit]\nDescription=psxj lab: only what the tests start\nRequires=basic.target\n"
                  f"After=basic.target\nAllowIsolate=yes\n{wants}\n")
        self.units[TARGET] = target
        for name, text in self.units.items():
            with open(os.path.join(units, name), "w") as f:
                f.write(text)
        for path, (content, mode) in self.files.items():
            full = os.path.join(stage, path.lstrip("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)
            os.chmod(full, mode)
        return stage

    def _make_cgroup(self) -> str:
        unified = unified_hierarchy()
        path = os.path.join(unified, self.name)
        os.mkdir(path)
        self.cgroups.append(path)
        named = named_systemd_hierarchy()
        if named:  # nspawn mirrors the launcher's cgroup there; remembered so close() removes it
            self.cgroups.append(os.path.join(named, self.name))
        return path

    def start(self) -> "SystemdLab":
        stage = self._stage()
        cgroup = self._make_cgroup()
        mnt = os.path.join(self.dir, "mnt")
        os.mkdir(mnt)
        script = (
            "set -e\n"
            f"echo $$ > {cgroup}/cgroup.procs\n"
            f"mount -t tmpfs -o mode=0755 psxj-systemdlab {mnt}\n"
            f"mkdir {mnt}/upper {mnt}/work {mnt}/root\n"
            f"mount -t overlay overlay -o lowerdir=/,upperdir={mnt}/upper,workdir={mnt}/work {mnt}/root\n"
            f"cp -a {stage}/. {mnt}/root/\n"
            # The host's own machine-id would be shared; an empty one makes systemd use a fresh one.
            f": > {mnt}/root/etc/machine-id\n"
            f"exec {NSPAWN} -q -D {mnt}/root --machine={self.name} --boot --register=no --keep-unit "
            f"--private-network -- --unit={TARGET}\n"
        )
        log = open(os.path.join(self.dir, "console.log"), "wb")
        started = time.monotonic()
        env = dict(ENV, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
        self.launcher = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, env=env)
        log.close()
        try:
            self._wait_booted(started)
        except BaseException as exc:
            jobs = self.run(["systemctl", "list-jobs", "--no-pager"], check=False, timeout=10) \
                if self.init_pid else None
            self.close()
            if jobs is not None and isinstance(exc, (RuntimeError, subprocess.TimeoutExpired)):
                raise RuntimeError(f"{exc}; jobs still waiting: {jobs.stdout.decode(errors='replace')}") from None
            raise
        return self

    def _wait_booted(self, started: float) -> None:
        deadline = started + self.boot_timeout
        while self.init_pid is None:
            if self.launcher.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"systemd-nspawn did not start: {self.console()[-2000:]}")
            for child in _children(self.launcher.pid):
                if _ns_pid(child) == 1:
                    self.init_pid, self.init_start = child, _stat_start(child)
            time.sleep(0.05)
        state = ""
        while time.monotonic() < deadline:
            try:
                done = self.run(["systemctl", "is-system-running", "--wait"],
                                timeout=max(deadline - time.monotonic(), 1), check=False)
            except subprocess.TimeoutExpired:
                break
            state = done.stdout.decode().strip()
            if state in ("running", "degraded"):
                self.boot_seconds = time.monotonic() - started
                return
            time.sleep(0.2)
        raise RuntimeError(f"the container did not finish booting (state {state!r}): {self.console()[-2000:]}")

    def console(self) -> str:
        try:
            with open(os.path.join(self.dir, "console.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # --- inside -------------------------------------------------------------------------------
    def enter(self) -> List[str]:
        """The command prefix that runs a program in every namespace of the container, in this checkout."""
        return ["nsenter", "-t", str(self.init_pid), "-a", f"--wd={REPO}"]

    def run(self, argv: Sequence[str], timeout: float = 60, check: bool = True,
            input: Optional[bytes] = None) -> subprocess.CompletedProcess:
        done = subprocess.run(self.enter() + list(argv), capture_output=True, timeout=timeout, env=ENV,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
        return done

    def psxj(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """psxj of this checkout, run inside the container (as `python -m psxj`, as the tests run it)."""
        return self.run([sys.executable, "-m", "psxj", *args], timeout=timeout, check=False)

    def show(self, unit: str, *properties: str) -> Dict[str, str]:
        """What systemd itself says of a unit (systemctl show -p ...), inside the container."""
        done = self.run(["systemctl", "show", "-p", ",".join(properties), unit])
        return dict(line.split("=", 1) for line in done.stdout.decode().splitlines() if "=" in line)

    def host_pid(self, inner: int) -> Optional[int]:
        """The PID on this machine of the container's process `inner`."""
        for pid in self.host_pids():
            if _ns_pid(pid) == inner:
                return pid
        return None

    def host_pids(self) -> List[int]:
        """The container's processes, by their PIDs on this machine (its PID namespace's members)."""
        mine = _pid_namespace(self.init_pid)
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit() and _pid_namespace(int(name)) == mine:
                found.append(int(name))
        return found

    # --- shutdown -----------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        launcher = self.launcher
        if launcher is not None and launcher.poll() is None:
            stopping = time.monotonic()
            launcher.send_signal(signal.SIGTERM)  # nspawn powers the container off
            try:
                launcher.wait(timeout=20)
                self.poweroff_seconds = time.monotonic() - stopping
            except subprocess.TimeoutExpired:
                pass
        if self.init_pid is not None and self.init_start is not None and _stat_start(self.init_pid) == self.init_start:
            try:
                os.kill(self.init_pid, signal.SIGKILL)  # the kernel ends the rest of its PID namespace
            except ProcessLookupError:
                pass
        if launcher is not None:
            if launcher.poll() is None:
                launcher.kill()
            launcher.wait(timeout=20)
        for cgroup in reversed(self.cgroups):
            _remove_cgroup_tree(cgroup)
        mnt = os.path.join(self.dir, "mnt")
        if os.path.ismount(mnt):  # only if it leaked into our namespace, which it must not
            subprocess.run(["umount", "-l", mnt], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "SystemdLab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def _ns_pid(pid: int) -> Optional[int]:
    """The process's PID in its own (innermost) PID namespace."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def _pid_namespace(pid: int) -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _remove_cgroup_tree(path: str) -> None:
    """rmdir every cgroup below `path`, deepest first, once their processes are gone (a second later
    at most: the kernel frees a cgroup when its last process is reaped)."""
    deadline = time.monotonic() + 10
    while os.path.isdir(path) and time.monotonic() < deadline:
        for top, _dirs, _files in os.walk(path, topdown=False):
            try:
                os.rmdir(top)
            except OSError:
                pass
        if os.path.isdir(path):
            time.sleep(0.1)
