"""Which container a process belongs to, seen from the host: runtime, name and id (judgement).

Three sources, each named in the reasons:
- the cgroup path: docker-<id>.scope or /docker/<id>, libpod-<id> (podman), crio-<id>,
  cri-containerd-<id>, kubepods, machine-<name>.scope (a registered systemd-nspawn machine),
  lxc.payload.<name>;
- the PID namespace: a process in a nested PID namespace belongs to the container whose init
  (PID 1 there) shares that namespace (/proc/PID/ns/pid, or the ancestors in a saved table);
- the runtime's monitor, the init's parent, by its own arguments: conmon's -c <id> -n <name>
  (podman; an exec session's conmon also has -e), containerd-shim's -id and -namespace,
  systemd-nspawn's --machine/-M or the basename of -D, lxc-start's -n.
Nothing is guessed from a process's own name.
"""

from __future__ import annotations

import os
import re
from typing import Dict, NamedTuple, Optional, Tuple

from psxj.i18n import _
from psxj.model import ProcessRecord, Snapshot

_HEX_ID = re.compile(r"^[0-9a-f]{12,64}$")
_CGROUP_PREFIXES = (("docker-", "docker"), ("libpod-conmon-", "podman"), ("libpod-", "podman"),
                    ("crio-conmon-", "cri-o"), ("crio-", "cri-o"), ("cri-containerd-", "containerd"),
                    ("machine-", "systemd-nspawn"), ("lxc.payload.", "lxc"))
_PARENT_DIRS = {"docker": "docker", "libpod_parent": "podman", "lxc": "lxc", "kubepods": "kubernetes"}
MONITORS = {"conmon": "podman", "containerd-shim": "containerd", "containerd-shim-runc-v2": "containerd",
            "systemd-nspawn": "systemd-nspawn", "lxc-start": "lxc", "docker-containerd-shim": "docker"}


class Container(NamedTuple):
    runtime: str                 # podman, docker, containerd, systemd-nspawn, lxc, cri-o, kubernetes
    name: Optional[str]
    id: Optional[str]
    init: Optional[int]          # the host PID of its PID 1, when in the table
    monitor: Optional[int]       # the host PID of its monitor (conmon, containerd-shim, systemd-nspawn)
    evidence: Tuple[str, ...]

    def label(self) -> str:
        """"podman container web (3f2a1b4c5d6e)", "systemd-nspawn container lab"."""
        name = self.name or (self.id[:12] if self.id else _("unnamed"))
        short = f" ({self.id[:12]})" if self.id and self.name else ""
        return _("{runtime} container {name}{id}").format(runtime=self.runtime, name=name, id=short)


def _basename(path: str) -> str:
    return os.path.basename(path.rstrip("/")) or path


def from_cgroup(cgroup: Optional[str]) -> Optional[Tuple[str, Optional[str], Optional[str]]]:
    """(runtime, name, id) from a cgroup path's components, when one names a container."""
    if not cgroup:
        return None
    parts = [p for p in cgroup.split("/") if p]
    for index, part in enumerate(parts):
        for prefix, runtime in _CGROUP_PREFIXES:
            if part.startswith(prefix):
                rest = part[len(prefix):]
                rest = rest[:-len(".scope")] if rest.endswith(".scope") else rest
                if runtime in ("systemd-nspawn", "lxc"):
                    return runtime, rest.replace("\\x2d", "-") or None, None
                return runtime, None, rest if _HEX_ID.match(rest) else None
        if part in _PARENT_DIRS and index + 1 < len(parts) and _HEX_ID.match(parts[index + 1]):
            return _PARENT_DIRS[part], None, parts[index + 1]
        if part.startswith("kubepods"):
            last = parts[-1]
            last = last.split("-")[-1].replace(".scope", "")
            return "kubernetes", None, last if _HEX_ID.match(last) else None
    return None


def _option(argv: Tuple[str, ...], *names: str) -> Optional[str]:
    """The value of an option given as `-c VALUE`, `--cid VALUE` or `--name=VALUE`."""
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg[len(name) + 1:]
    return None


def monitor_runtime(record: Optional[ProcessRecord]) -> Optional[str]:
    """The runtime whose monitor this process is (by the program it runs), or None."""
    if record is None or not record.argv:
        return None
    return MONITORS.get(_basename(record.argv[0])) or MONITORS.get(record.comm)


def from_monitor(record: ProcessRecord) -> Optional[Tuple[str, Optional[str], Optional[str], bool]]:
    """(runtime, name, id, exec session) from a monitor's own arguments."""
    runtime = monitor_runtime(record)
    argv = record.argv or ()
    if runtime is None:
        return None
    if runtime == "podman":
        return runtime, _option(argv, "-n", "--name"), _option(argv, "-c", "--cid"), "-e" in argv or \
            "--exec" in argv
    if runtime in ("containerd", "docker"):
        return runtime, _option(argv, "-namespace", "--namespace"), _option(argv, "-id", "--id"), False
    if runtime == "systemd-nspawn":
        name = _option(argv, "-M", "--machine")
        directory = _option(argv, "-D", "--directory")
        return runtime, name or (_basename(directory) if directory else None), None, False
    if runtime == "lxc":
        return runtime, _option(argv, "-n", "--name"), None, False
    return runtime, None, None, False


class ContainerJudge:
    """Finds each record's container in one snapshot (live: by PID namespace; saved: by ancestry)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.live = snapshot.live and getattr(snapshot, "parts", None) is None
        self._namespace: Dict[int, Optional[str]] = {}
        self._inits: Optional[Dict[str, ProcessRecord]] = None
        self._cache: Dict[int, Optional[Container]] = {}

    def _pid_namespace(self, record: ProcessRecord) -> Optional[str]:
        if not self.live:
            return None
        if record.pid not in self._namespace:
            try:
                self._namespace[record.pid] = os.readlink(f"/proc/{record.pid}/ns/pid")
            except OSError:
                self._namespace[record.pid] = None
        return self._namespace[record.pid]

    def init_of(self, record: ProcessRecord) -> Optional[ProcessRecord]:
        """The init (PID 1) of the record's own PID namespace, when it is not psxj's."""
        if record.namespace_init:
            return record
        if record.nspid is None:
            return None
        if self.live:
            if self._inits is None:
                self._inits = {}
                for candidate in self.snapshot.records:
                    if candidate.namespace_init:
                        space = self._pid_namespace(candidate)
                        if space is not None:
                            self._inits[space] = candidate
            space = self._pid_namespace(record)
            if space is not None and space in self._inits:
                return self._inits[space]
        seen = set()
        current = self.snapshot.get(record.ppid, record.host)
        while current is not None and current.pid not in seen:  # a saved table: by ancestry
            if current.namespace_init and current.nspid and len(current.nspid) == len(record.nspid):
                return current
            seen.add(current.pid)
            current = self.snapshot.get(current.ppid, current.host)
        return None

    def of(self, record: ProcessRecord) -> Optional[Container]:
        """The container this process belongs to: inside it, its init, or its monitor."""
        if record.pid in self._cache:
            return self._cache[record.pid]
        found = self._find(record)
        self._cache[record.pid] = found
        return found

    def _find(self, record: ProcessRecord) -> Optional[Container]:
        evidence = []
        init = self.init_of(record)
        monitor = None
        if init is not None:
            if init is not record:
                evidence.append(_("it is in the PID namespace of {pid} ({comm}), a container's init").format(
                    pid=init.pid, comm=init.comm))
            parent = self.snapshot.get(init.ppid, init.host)
            if monitor_runtime(parent) is not None:
                monitor = parent
        elif monitor_runtime(record) is not None:
            monitor = record
        else:
            parent = self.snapshot.get(record.ppid, record.host)
            if monitor_runtime(parent) is not None and record.nspid is not None:
                monitor = parent  # an exec session's process: conmon -e started it, in the namespace
        runtime = name = container_id = None
        if monitor is not None:
            runtime, name, container_id, _exec = from_monitor(monitor)
            evidence.append(_("{monitor} ({comm}) is its runtime's monitor: its arguments name the container").format(
                monitor=monitor.pid, comm=monitor.comm) if monitor is not record else
                _("its own arguments name the container it monitors"))
        by_cgroup = from_cgroup(record.cgroup) or (from_cgroup(init.cgroup) if init is not None else None)
        if by_cgroup is not None:
            runtime = runtime or by_cgroup[0]
            name = name or by_cgroup[1]
            container_id = container_id or by_cgroup[2]
            evidence.append(_("its cgroup {cgroup} names it").format(
                cgroup=record.cgroup if from_cgroup(record.cgroup) else init.cgroup))
        if runtime is None:  # a PID namespace of its own, and nothing names a container runtime
            return None
        return Container(runtime or _("unknown runtime"), name, container_id, init.pid if init else None,
                         monitor.pid if monitor is not None and monitor is not record else None, tuple(evidence))
