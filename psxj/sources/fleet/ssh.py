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
Part of the fleet source (psxj.sources.fleet).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import List, NamedTuple, Optional, Tuple

from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.sources.fleet.budget import FleetMemory
from psxj.sources.fleet.decode import MAX_ANSWER
from psxj.sources.fleet.payload import BOOTSTRAP, program
from psxj.sources.fleet.remote import HELLO

NO_PYTHON = b"psxj-no-python3\n"
REAP_GRACE = 1.0   # seconds for an ssh to end by itself, then again once killed: a session ends within twice this
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
    counted: int = 0             # bytes of `data` counted in the fleet's memory (FleetMemory): give them back


def _too_big_for_the_fleet(size: int, memory: FleetMemory) -> HostError:
    return HostError(FAILED, _("an answer of {mib:.0f} MiB would take all hosts' tables past psxj's memory bound "
                               "({limit} MiB)").format(mib=size / (1 << 20), limit=memory.limit >> 20))


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(1 << 16):
        pass


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass


def _close_pipes(process: asyncio.subprocess.Process) -> None:
    """Close our ends of the process's pipes, so that asyncio stops waiting for them to end (there is
    no public call for it: the process's transport is asyncio's own attribute)."""
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()


class HostSession:
    """The ssh process talking to one host's psxj reader; restarted after it fails."""

    def __init__(self, host: str, command: List[str], memory: Optional[FleetMemory] = None) -> None:
        self.host = host
        self.command = command
        self.memory = memory   # the fleet's bound: an answer is counted in it before it is read
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
            return await self._read_answer()
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
        first = await self._line()
        if first == HELLO:
            return await self._read_answer()
        if first == NO_PYTHON or first.startswith(PS_INSTEAD) and first.endswith(b"\n"):
            why = "no python3" if first == NO_PYTHON else first[len(PS_INSTEAD):-1].decode("ascii", "replace")[:60]
            text, counted = await self._read_to_end()
            status = await self._reap()
            if status != 0 and not text.strip():
                self._give(counted)
                raise classify(status, self._stderr_text())
            return Answer("ps -axj", text, why, counted)
        error = await self._failure()
        if first.strip() and error.problem == FAILED and not self._stderr_text().strip():
            error = HostError(FAILED, _("python3 there did not start psxj's reader; it printed: {line}").format(
                                          line=safe_text(first[:120].decode("utf-8", "replace").strip())))
        raise error

    async def _line(self) -> bytes:
        """One line of at most 64 KiB (the stream's limit): a longer one is not psxj's."""
        try:
            return await self.process.stdout.readline()
        except ValueError:   # asyncio's "separator not found, chunk exceeds the limit"
            raise HostError(FAILED, _("the answer is not psxj's (a line longer than 64 KiB)")) from None

    async def _read_answer(self) -> Answer:
        header = await self._line()
        digits = header[:-1]
        if not header.endswith(b"\n") or not digits.isdigit() or len(digits) > 12:
            raise asyncio.IncompleteReadError(header, None) if not header else \
                HostError(FAILED, _("the answer is not psxj's (a bad length line)"))
        length = int(digits)
        if length > MAX_ANSWER:
            raise HostError(FAILED, _("the answer is larger than {mib} MiB").format(
                                        mib=MAX_ANSWER // (1024 * 1024)))
        counted = self._take(length)
        try:
            return Answer("python3", await self.process.stdout.readexactly(length), counted=counted)
        except BaseException:
            self._give(counted)
            raise

    async def _read_to_end(self) -> Tuple[bytes, int]:
        """ps's output to its end, and the bytes of it counted in the fleet's memory."""
        chunks, total = [], 0
        try:
            while True:
                chunk = await self.process.stdout.read(1 << 16)
                if not chunk:
                    return b"".join(chunks), total
                if total + len(chunk) > MAX_ANSWER:
                    raise HostError(FAILED, _("ps printed more than {mib} MiB").format(
                                                mib=MAX_ANSWER // (1024 * 1024)))
                total += self._take(len(chunk))
                chunks.append(chunk)
        except BaseException:
            self._give(total)
            raise

    def _take(self, size: int) -> int:
        if self.memory is None:
            return 0
        if not self.memory.take(size):
            raise _too_big_for_the_fleet(size, self.memory)
        return size

    def _give(self, counted: int) -> None:
        if self.memory is not None and counted:
            self.memory.give(counted)

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

    async def _reap(self, grace: float = REAP_GRACE) -> Optional[int]:
        """Wait for this session's ssh to end (`grace` seconds, then it is killed) and reap it: two and a
        half times `grace` at most, whatever the host does. asyncio reports an exit only once the pipes
        have closed, and stops reading a pipe whose data nobody takes: a host that keeps writing would
        keep that from ever happening. So what is left is read and thrown away meanwhile, and our ends
        of the pipes are closed if the killed ssh still has not been seen to end. The process stays
        this session's until it is reaped: a timeout that cancels this wait leaves it to kill()."""
        process = self.process
        if process is None:
            return None
        drain = asyncio.ensure_future(_discard(process.stdout))
        try:
            try:
                status: Optional[int] = await asyncio.wait_for(process.wait(), grace)
            except asyncio.TimeoutError:
                _kill(process)
                try:
                    status = await asyncio.wait_for(process.wait(), grace / 2)
                except asyncio.TimeoutError:
                    _close_pipes(process)
                    try:
                        status = await asyncio.wait_for(process.wait(), grace / 2)
                    except asyncio.TimeoutError:
                        status = None   # killed: asyncio's child watcher reaps it when it is gone
            if self._stderr_task is not None:
                try:   # its last words, which say why; a ProxyCommand left behind may hold the pipe
                    await asyncio.wait_for(self._stderr_task, grace / 2)
                except asyncio.TimeoutError:
                    pass   # wait_for cancelled it
        finally:
            drain.cancel()
        self.process = None
        return status

    async def _failure(self) -> HostError:
        """The session ended: wait for ssh to exit (a second at most), and say why from its stderr."""
        status = await self._reap()
        return classify(status, self._stderr_text())

    async def kill(self) -> None:
        """Stop this session's ssh now (a timeout), by its PID, and reap it."""
        if self.process is not None:
            _kill(self.process)
        await self._reap()

    async def close(self, grace: float = 2.0) -> None:
        """End the session politely: end of input stops the remote reader, and ssh with it."""
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            try:
                process.stdin.close()
            except OSError:
                pass
            await self._reap(grace)   # what it still writes is thrown away; killed past the grace
        await self.kill()


def ssh_available() -> bool:
    return shutil.which("ssh") is not None and os.name == "posix"
