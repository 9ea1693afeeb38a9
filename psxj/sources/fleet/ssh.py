"""One OpenSSH session per host: the system's `ssh`, so the user's SSH is the one used.

ssh reads the user's ~/.ssh/config (or the file given with --ssh-config), uses their agent and
keys, and checks their known_hosts, by construction. psxj adds only options that make it stricter
or keep it from asking: BatchMode (never a prompt: no password is ever typed, let alone stored),
StrictHostKeyChecking=yes (an unknown or changed host key is an error naming the host, never
accepted), no agent or X11 forwarding and no port forwardings from the config (the remote side
runs psxj's code and needs none of them). The host name comes after `--`, so it can never be
taken for an option.

The remote command starts python3 with psxj's bootstrap (payload.py); where there is no python3
it prints why and runs `ps -axj`. The session stays open: each refresh is one request line and
one answer, with no new connection, no new remote process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import List, NamedTuple, Optional, Tuple

from psxj.i18n import N_, _
from psxj.sources.fleet.decode import MAX_ANSWER
from psxj.sources.fleet.payload import BOOTSTRAP, program
from psxj.sources.fleet.remote import HELLO

NO_PYTHON = b"psxj-no-python3\n"
PS_INSTEAD = b"psxj-ps "
# Run by the user's login shell there, whatever it is (sh, bash, zsh, fish, csh): one quoted
# sh script. BOOTSTRAP holds no quote, $, backslash or ! that any of them would expand.
REMOTE_COMMAND = ("sh -c 'if command -v python3 >/dev/null 2>&1; then exec python3 -I -c \"" + BOOTSTRAP
                  + "\"; else echo psxj-no-python3; exec ps -axj; fi'")
assert not set("'\"$`\\!") & set(BOOTSTRAP)

SSH_OPTIONS = (
    "-T",                                   # no terminal there: the answers are bytes
    "-o", "BatchMode=yes",                  # never ask for a password, passphrase or confirmation
    "-o", "StrictHostKeyChecking=yes",      # an unknown host key is an error, never added
    "-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "ClearAllForwardings=yes",
    "-o", "PermitLocalCommand=no",
)

# Problems, by what ssh says on stderr (its messages are not translated).
HOST_KEY, AUTH, REFUSED, TIMEOUT, UNREACHABLE, NAME, CLOSED, NO_PYTHON_PROBLEM, FAILED = (
    "unknown host key", "authentication failed", "connection refused", "timed out", "unreachable",
    "unknown host name", "connection closed", "no python3", "failed")
_STDERR_PATTERNS: Tuple[Tuple[str, str, str], ...] = (
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", HOST_KEY, N_("its host key has CHANGED (possibly an attack); "
     "psxj refused it")),
    ("Host key verification failed", HOST_KEY, N_("its host key is not in known_hosts: psxj never accepts one; "
     "check it and add it with ssh first")),
    ("host key is known for", HOST_KEY, N_("its host key is not in known_hosts")),
    ("Permission denied", AUTH, N_("authentication failed (psxj never asks for a password: use a key or the agent)")),
    ("Too many authentication failures", AUTH, N_("authentication failed: too many keys offered")),
    ("Connection refused", REFUSED, N_("connection refused")),
    ("Connection timed out", TIMEOUT, N_("the connection timed out")),
    ("Operation timed out", TIMEOUT, N_("the connection timed out")),
    ("No route to host", UNREACHABLE, N_("no route to host")),
    ("Network is unreachable", UNREACHABLE, N_("the network is unreachable")),
    ("Could not resolve hostname", NAME, N_("the host name does not resolve")),
    ("Name or service not known", NAME, N_("the host name does not resolve")),
    ("kex_exchange_identification", CLOSED, N_("the server closed the connection before the SSH handshake")),
    ("Connection closed by", CLOSED, N_("the server closed the connection")),
    ("Connection reset by", CLOSED, N_("the server reset the connection")),
)


class HostError(Exception):
    """A host gave no table: `problem` is one of the kinds above, the message says it in words."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def classify(returncode: Optional[int], stderr: str) -> HostError:
    """What went wrong, from ssh's exit status and its last words."""
    for needle, problem, words in _STDERR_PATTERNS:
        if needle in stderr:
            return HostError(problem, _(words))
    last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    if returncode == 255:
        return HostError(FAILED, _("ssh failed: {last}").format(last=last[:200]) if last else _("ssh failed"))
    if last:
        return HostError(FAILED, _("the remote reader stopped (status {status}): {last}").format(
                                     status=returncode,
                                     last=last[:200]))
    return HostError(FAILED, _("the remote side ended without an answer (status {status})").format(
                                 status=returncode))


def ssh_path() -> str:
    found = shutil.which("ssh")
    if found is None:
        from psxj.errors import PsxjError

        raise PsxjError(_("--host needs OpenSSH's ssh client (Debian: openssh-client)"))
    return found


def ssh_command(host: str, config: Optional[str] = None, timeout: float = 10.0) -> List[str]:
    options = ["-F", config] if config is not None else []
    # ConnectTimeout bounds the TCP connect; psxj's own timeout bounds the whole answer.
    options += [*SSH_OPTIONS, "-o", f"ConnectTimeout={max(int(timeout), 1)}"]
    return [ssh_path(), *options, "--", host, REMOTE_COMMAND]


class Answer(NamedTuple):
    method: str                  # "python3", or "ps -axj"
    data: bytes                  # JSON from psxj's remote reader, or ps text
    why_ps: Optional[str] = None  # why ps answered: "no python3", "no /proc"...


class HostSession:
    """The ssh process talking to one host's psxj reader; restarted after it fails."""

    def __init__(self, host: str, command: List[str]) -> None:
        self.host = host
        self.command = command
        self.process: Optional[asyncio.subprocess.Process] = None
        self._stderr = bytearray()
        self._stderr_task: Optional[asyncio.Task] = None

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process is not None else None

    async def request(self, line: bytes) -> Answer:
        """Send one request (b"table", b"audit {...}") and read its answer. Raises HostError."""
        try:
            if self.process is None:
                return await self._start(line)
            self.process.stdin.write(line + b"\n")
            await self.process.stdin.drain()
            return Answer("python3", await self._read_answer())
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError, OSError):
            raise await self._failure() from None

    async def _start(self, line: bytes) -> Answer:
        self._stderr = bytearray()
        self.process = await asyncio.create_subprocess_exec(
            *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=1 << 16, start_new_session=False)
        self._stderr_task = asyncio.ensure_future(self._collect_stderr(self.process))
        self.process.stdin.write(program() + line + b"\n")
        try:
            await self.process.stdin.drain()
        except (ConnectionError, BrokenPipeError):
            pass  # the remote side ended early (ps answered, or ssh failed): its output says which
        first = await self.process.stdout.readline()
        if first == HELLO:
            return Answer("python3", await self._read_answer())
        if first == NO_PYTHON or first.startswith(PS_INSTEAD) and first.endswith(b"\n"):
            why = "no python3" if first == NO_PYTHON else first[len(PS_INSTEAD):-1].decode("ascii", "replace")[:60]
            text = await self._read_to_end()
            status = await self._reap()
            if status != 0 and not text.strip():
                raise classify(status, self._stderr_text())
            return Answer("ps -axj", text, why)
        raise await self._failure()

    async def _read_answer(self) -> bytes:
        header = await self.process.stdout.readline()
        digits = header[:-1]
        if not header.endswith(b"\n") or not digits.isdigit() or len(digits) > 12:
            raise asyncio.IncompleteReadError(header, None) if not header else \
                HostError(FAILED, _("the answer is not psxj's (a bad length line)"))
        length = int(digits)
        if length > MAX_ANSWER:
            raise HostError(FAILED, _("the answer is larger than {mib} MiB").format(
                                        mib=MAX_ANSWER // (1024 * 1024)))
        return await self.process.stdout.readexactly(length)

    async def _read_to_end(self) -> bytes:
        chunks, total = [], 0
        while True:
            chunk = await self.process.stdout.read(1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_ANSWER:
                raise HostError(FAILED, _("ps printed more than {mib} MiB").format(
                                            mib=MAX_ANSWER // (1024 * 1024)))

    async def _collect_stderr(self, process: asyncio.subprocess.Process) -> None:
        """ssh's messages, the last 16 KiB of them: enough to say what went wrong."""
        while True:
            chunk = await process.stderr.read(4096)
            if not chunk:
                return
            self._stderr += chunk
            del self._stderr[:-16384]

    def _stderr_text(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    async def _reap(self) -> Optional[int]:
        process, self.process = self.process, None
        if process is None:
            return None
        status = await process.wait()
        if self._stderr_task is not None:
            try:
                await asyncio.wait_for(self._stderr_task, 2)
            except asyncio.TimeoutError:
                self._stderr_task.cancel()
        return status

    async def _failure(self) -> HostError:
        """The session ended: wait for ssh to exit (a second at most), and say why from its stderr."""
        if self.process is not None and self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), 1.0)
            except asyncio.TimeoutError:
                self.process.kill()
        status = await self._reap()
        return classify(status, self._stderr_text())

    async def kill(self) -> None:
        """Stop this session's ssh now (a timeout), by its PID, and reap it."""
        if self.process is not None and self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
        await self._reap()

    async def close(self, grace: float = 2.0) -> None:
        """End the session politely: end of input stops the remote reader, and ssh with it."""
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            try:
                process.stdin.close()
                await asyncio.wait_for(process.wait(), grace)
            except (asyncio.TimeoutError, OSError):
                pass
        await self.kill()


def ssh_available() -> bool:
    return shutil.which("ssh") is not None and os.name == "posix"
