"""Real podman containers for the container tests: Debian's podman 4.3 with runc and conmon, and an
image made here from busybox-static (no registry).

Everything podman keeps (images, containers, its run and tmp state) lives in one temporary
directory (--root, --runroot, --tmpdir), so the machine's own podman storage is never read or
touched. Measured here: crun cannot run (the root shell lacks CAP_SYS_RESOURCE for its rlimits, and
it refuses the mixed cgroup v1/v2 layout), so containers run with `--runtime runc --network none`
and explicit nofile/nproc limits. Rootful containers sit under /libpod_parent/libpod-<id> (the
cgroupfs manager); on a systemd host they would sit under machine.slice/libpod-<id>.scope.

Debian's busybox has no `nohup` applet: the image has a two-line script of that name.
close() removes every container (podman rm -f -t 0), kills by PID any conmon or container process
still there (checked against its start time), and removes the directory.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from typing import Dict, List, Optional

PODMAN = shutil.which("podman")
BUSYBOX = "/bin/busybox"
IMAGE = "localhost/psxj-busybox:lab"
RUN_OPTIONS = ["--runtime", "runc", "--network", "none", "--ulimit", "nofile=20000:20000",
               "--ulimit", "nproc=4096:4096"]
APPLETS = ("sh", "sleep", "cat", "ls", "ps", "echo", "setsid", "kill", "true")
NOHUP = b"#!/bin/sh\n# busybox-static has no nohup applet\ntrap '' HUP\nexec \"$@\"\n"


def why_not() -> Optional[str]:
    if os.geteuid() != 0:
        return "the podman tests run rootful containers: they need root"
    if PODMAN is None or shutil.which("runc") is None or shutil.which("conmon") is None:
        return "no podman/runc/conmon (.ci/run installs podman runc catatonit busybox-static)"
    if not os.path.exists(BUSYBOX):
        return "no static busybox at /bin/busybox (Debian package busybox-static)"
    return None


def _start_ticks(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _processes_mentioning(text: str) -> List[int]:
    """PIDs whose command line holds `text` (this lab's unique directory: conmon's arguments name it)."""
    found = []
    needle = text.encode()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if needle in f.read():
                        found.append(int(name))
            except OSError:
                continue
    return found


class PodmanLab:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="psxj-podmanlab-")
        self.base = [PODMAN, "--root", os.path.join(self.dir, "root"), "--runroot", os.path.join(self.dir, "run"),
                     "--tmpdir", os.path.join(self.dir, "tmp"), "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file"]
        self.containers: List[str] = []
        self.watched: Dict[int, Optional[int]] = {}  # PID -> start ticks: killed at close() if still there
        self._closed = False
        atexit.register(self.close)

    def podman(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(self.base + list(args), capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args[:3])} exited {done.returncode}: "
                               f"{done.stderr.decode(errors='replace')[-1000:]}")
        return done

    def build_image(self) -> str:
        """A busybox-static root filesystem as a tar, imported (podman import): the image."""
        tar_path = os.path.join(self.dir, "rootfs.tar")
        with tarfile.open(tar_path, "w") as tar:
            for directory in ("bin", "proc", "sys", "dev", "tmp", "etc", "run"):
                info = tarfile.TarInfo(directory)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            tar.add(BUSYBOX, "bin/busybox")
            for applet in APPLETS:
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
            info = tarfile.TarInfo("bin/nohup")
            info.mode, info.size = 0o755, len(NOHUP)
            import io

            tar.addfile(info, io.BytesIO(NOHUP))
        self.podman("import", tar_path, IMAGE)
        return IMAGE

    def run(self, name: str, *argv: str, init: bool = False) -> dict:
        """Start a detached container; its `podman inspect`."""
        options = ["--init"] if init else []
        self.podman("run", "-d", "--name", name, *RUN_OPTIONS, *options, IMAGE, *argv)
        self.containers.append(name)
        info = self.inspect(name)
        for pid in (info["State"]["Pid"], info["State"].get("ConmonPid")):
            if pid:
                self.watched[pid] = _start_ticks(pid)
        return info

    def exec(self, name: str, *argv: str) -> None:
        """`podman exec -d`: a process entered into the running container."""
        self.podman("exec", "-d", name, *argv)

    def inspect(self, name: str) -> dict:
        return json.loads(self.podman("inspect", "--type", "container", name).stdout)[0]

    def watch(self, pid: int) -> None:
        self.watched[pid] = _start_ticks(pid)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.containers:
            self.podman("rm", "-f", "-t", "0", *self.containers, check=False, timeout=120)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_start_ticks(p) == s for p, s in self.watched.items()):
            time.sleep(0.05)
        for pid in _processes_mentioning(self.dir):  # exec sessions' conmons, anything else of ours
            self.watched.setdefault(pid, _start_ticks(pid))
        for pid, start in self.watched.items():
            if start is not None and _start_ticks(pid) == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.podman("rmi", "-f", IMAGE, check=False)
        storage = os.path.join(self.dir, "root", "overlay")
        if os.path.ismount(storage):
            subprocess.run(["umount", "-l", storage], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
