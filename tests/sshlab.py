"""Real OpenSSH servers on 127.0.0.1 for the fleet tests and bench/bench_fleet.py.

Everything lives in one temporary directory: throwaway host and user keys (ssh-keygen), each
server's sshd_config, a private known_hosts and the client's ssh config, which psxj is pointed
at with --ssh-config (ssh -F): the machine's ~/.ssh and /etc/ssh/ssh_config are never read or
touched, and no agent is used. A server can run in its own PID namespace (unshare --pid --fork
--mount-proc), so each "host" has its own process table. Nothing listens beyond 127.0.0.1;
every sshd and helper started here is killed by its PID and reaped by close().
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import Dict, List, Optional

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
have_sshd = os.path.exists(SSHD) and shutil.which("ssh") is not None and shutil.which("ssh-keygen") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "psxj-test", "-f", path], check=True,
                   stdin=subprocess.DEVNULL, timeout=30)


def _children(pid: int) -> List[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return found


class Server:
    def __init__(self, name: str, port: int, process: subprocess.Popen, namespace: bool) -> None:
        self.name, self.port, self.process, self.namespace = name, port, process, namespace

    @property
    def sshd_pid(self) -> int:
        """The sshd's PID on this machine (in a namespace: unshare's child, PID 1 in there)."""
        if not self.namespace:
            return self.process.pid
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            children = _children(self.process.pid)
            if children:
                return children[0]
            time.sleep(0.01)
        raise RuntimeError("unshare started no child")


class SilentServer:
    """A port that accepts connections and never says a word (a hung host)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.accepted: List[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.socket.close()
        self._thread.join(5)
        for conn in self.accepted:
            conn.close()


class SshLab:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="psxj-sshlab-")
        os.chmod(self.dir, 0o700)
        self.user_key = os.path.join(self.dir, "user_key")
        keygen(self.user_key)
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        shutil.copy(self.user_key + ".pub", self.authorized_keys)
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        open(self.known_hosts, "w").close()
        self.config = os.path.join(self.dir, "ssh_config")
        self.servers: Dict[str, Server] = {}
        self.silent: List[SilentServer] = []
        self._hosts: Dict[str, int] = {}
        self.client_options: List[str] = []   # more ssh_config lines for every host (bench --kex)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)   # sshd's privilege separation directory

    def host_key(self, name: str) -> str:
        path = os.path.join(self.dir, f"host_{name}")
        if not os.path.exists(path):
            keygen(path)
        return path

    def trust(self, name: str, port: int, key_of: Optional[str] = None) -> None:
        """Put `key_of`'s host key (by default the host's own) in known_hosts for 127.0.0.1:port."""
        with open(self.host_key(key_of or name) + ".pub") as f:
            kind, key = f.read().split()[:2]
        with open(self.known_hosts, "a") as f:
            f.write(f"[127.0.0.1]:{port} {kind} {key}\n")

    def passwd_with_sh(self) -> str:
        """/etc/passwd with root's login shell /bin/sh, for inside a server's mount namespace: this
        machine's root .bashrc (pyenv) would otherwise run at every session, slowly, and put its
        own python3 on the PATH."""
        path = os.path.join(self.dir, "passwd")
        if not os.path.exists(path):
            with open("/etc/passwd") as f:
                lines = [line.rsplit(":", 1)[0] + ":/bin/sh" if line.startswith("root:") else line
                         for line in f.read().splitlines()]
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
        return path

    def start(self, name: str, namespace: bool = True, setup: str = "", path: str = "/usr/bin:/bin",
              trusted: bool = True, trust_key_of: Optional[str] = None) -> Server:
        """An sshd for host `name` on 127.0.0.1, in its own PID and mount namespaces (root's shell /bin/sh
        there), after running the shell commands `setup` in them (to start that host's own processes);
        path: the PATH of its sessions (a directory without python3 makes a host without python)."""
        port = free_port()
        config = os.path.join(self.dir, f"sshd_{name}")
        lines = [
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key(name)}", "PidFile none",
            f"AuthorizedKeysFile {self.authorized_keys}", "StrictModes no", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "UsePAM no",
            "PermitRootLogin prohibit-password", "MaxStartups 400", "MaxSessions 50", "LogLevel ERROR",
            "PrintMotd no", "AcceptEnv none",
        ]
        lines.append(f"SetEnv PATH={path}")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        sshd = [SSHD, "-D", "-e", "-f", config]
        if namespace:
            script = f"mount --bind {self.passwd_with_sh()} /etc/passwd\n{setup}\n" + 'exec "$@"'
            argv = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", script, "sh", *sshd]
        else:
            argv = sshd
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        server = Server(name, port, process, namespace)
        self.servers[name] = server
        self._wait_listening(port, process)
        if trusted:
            self.trust(name, port, trust_key_of)
        self._hosts[name] = port
        self.write_config()
        return server

    def alias(self, name: str, server: str) -> None:
        """Another host name for a running server (many "hosts" served by one sshd, as in the bench)."""
        self._hosts[name] = self.servers[server].port
        self.write_config()

    def silent_host(self, name: str) -> SilentServer:
        server = SilentServer()
        self.silent.append(server)
        self._hosts[name] = server.port
        self.write_config()
        return server

    def refused_host(self, name: str) -> None:
        self._hosts[name] = free_port()   # nothing listens there
        self.write_config()

    @staticmethod
    def _wait_listening(port: int, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"sshd exited with status {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.settimeout(2)
                    if s.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("sshd did not start listening")

    def write_config(self) -> None:
        """The client's ssh config: each host name an alias of 127.0.0.1 and its port, this lab's key,
        known_hosts and nothing else."""
        blocks = [f"Host {name}\n  HostName 127.0.0.1\n  Port {port}\n" for name, port in self._hosts.items()]
        common = (f"Host *\n  User root\n  IdentityFile {self.user_key}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
                  f"  UserKnownHostsFile {self.known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
                  "  CheckHostIP no\n  UpdateHostKeys no\n  LogLevel ERROR\n"
                  + "".join(f"  {line}\n" for line in self.client_options))
        with open(self.config, "w") as f:
            f.write("".join(blocks) + common)

    def namespace_run(self, name: str, argv: List[str]) -> subprocess.CompletedProcess:
        """Run argv inside host `name`'s PID and mount namespaces (to read its table with the real ps)."""
        pid = self.servers[name].sshd_pid
        return subprocess.run(["nsenter", "-t", str(pid), "-p", "-m", *argv], capture_output=True, timeout=30)

    def close(self) -> None:
        for server in self.servers.values():
            pids = [server.sshd_pid] if server.namespace and server.process.poll() is None else []
            for pid in pids + [server.process.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)   # sshd as PID 1 of its namespace: the kernel ends the rest
                except ProcessLookupError:
                    pass
            server.process.wait(timeout=10)
        for silent in self.silent:
            silent.close()
        shutil.rmtree(self.dir, ignore_errors=True)
