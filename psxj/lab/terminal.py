"""A pseudo-terminal psxj owns, for the lab: the terminal window's side of a pty, held by psxj.

Programs run in it see /dev/pts/N as their terminal; psxj holds the master side, as a terminal
window does: it types into it (keys, Ctrl-Z), reads what is printed, and closing it is a hangup,
as closing the window is. A thread drains the output (a full pty would block the programs) and
wakes up every tenth of a second, so the master is really closed when psxj hangs up: a close()
while another thread still sits in read() would keep the terminal open.

Programs start through psxj.lab.session_leader, which makes the pty their controlling terminal.
Their path is checked first (trusted_program): psxj runs as root, and runs no program another
user could have replaced.
"""

from __future__ import annotations

import fcntl
import os
import select
import stat
import struct
import subprocess
import termios
import threading
import time
from typing import Dict, Iterable, Optional

from psxj.errors import PsxjError
from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.safefs import UnsafePath, trusted_real_path
from psxj.spawn import popen_module

LAB_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_OUTPUT_LIMIT = 1 << 20
_MESSAGES = {
    "no_program": N_("none of {names} is an executable that only root or you can change: the lab needs it"),
}


def _text(key: str) -> str:
    """One of this module's sentences (_MESSAGES), in the chosen language."""
    return _(_MESSAGES[key])


def trusted_program(candidates: Iterable[str]) -> str:
    """The first candidate that is a regular executable file reached only through directories and
    symlinks root or the caller owns, and that nobody else may write to."""
    candidates = list(candidates)
    for path in candidates:
        try:
            real = trusted_real_path(path)
            for _hop in range(8):  # /bin/sh -> dash: follow symlinks root or the caller made
                st = os.lstat(real)
                if not stat.S_ISLNK(st.st_mode):
                    break
                if st.st_uid not in (0, os.geteuid()):
                    raise UnsafePath(path)
                real = trusted_real_path(os.path.join(os.path.dirname(real), os.readlink(real)))
            st = os.lstat(real)
        except (OSError, UnsafePath):
            continue
        if stat.S_ISREG(st.st_mode) and st.st_uid in (0, os.geteuid()) and st.st_mode & 0o111 \
                and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return real
    raise PsxjError(_text("no_program").format(names=", ".join(candidates)))


def lab_environment(**extra: str) -> Dict[str, str]:
    """A small, known environment for what the lab starts: nothing of the caller's leaks in."""
    env = {"PATH": LAB_PATH, "TERM": "dumb", "LANG": "C.UTF-8", "HOME": "/"}
    env.update(extra)
    return env


class PseudoTerminal:
    """A pty psxj holds; `path` is the terminal programs see (/dev/pts/N)."""

    def __init__(self, columns: int = 80, lines: int = 24) -> None:
        self.master, self._slave = os.openpty()  # both close-on-exec: no other child inherits them
        self.path = os.ttyname(self._slave)
        fcntl.ioctl(self._slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self._output = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.hung_up = False
        self._reader = threading.Thread(target=self._drain, name="psxj-lab-pty", daemon=True)
        self._reader.start()

    @property
    def name(self) -> str:
        """`pts/3`, as the TTY column shows it."""
        return self.path[len("/dev/"):]

    def _drain(self) -> None:
        poller = select.poll()
        poller.register(self.master, select.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(100):
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: nothing has the terminal open any more
                time.sleep(0.05)
                continue
            if not data:
                return
            with self._lock:
                self._output += data
                del self._output[:-_OUTPUT_LIMIT]

    def run(self, program: str, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        """Start `program` (an absolute path from trusted_program) as the leader of a new session
        whose controlling terminal is this one."""
        return popen_module("psxj.lab.session_leader", program, *args, stdin=self._slave, stdout=self._slave,
                            stderr=self._slave, start_new_session=True, env=env or lab_environment(), cwd="/")

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def output(self) -> bytes:
        with self._lock:
            return bytes(self._output)

    def text(self) -> str:
        """What the terminal showed, line by line, escaped: programs in it print what they like."""
        text = self.output().decode("utf-8", "replace").replace("\r", "")
        return "\n".join(safe_text(line) for line in text.split("\n"))

    def wait_for(self, needle: bytes, timeout: float = 10.0, start: int = 0) -> bool:
        """Until `needle` appears in the output after offset `start`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output()[start:]:
                return True
            time.sleep(0.02)
        return False

    def hang_up(self) -> None:
        """Close the master side, as closing a terminal window does: the kernel hangs the terminal up."""
        if self.hung_up:
            return
        self.hung_up = True
        self._stop.set()
        self._reader.join(timeout=2)
        os.close(self.master)
        os.close(self._slave)

    def close(self) -> None:
        self.hang_up()

    def __enter__(self) -> "PseudoTerminal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
