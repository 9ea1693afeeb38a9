"""Which program a process runs, from its executable, not its name (a source).

A process may call itself anything (comm, argv[0]); its executable is what the kernel ran. A
system program is a file only root can have put there: owned by root and writable by nobody else.
So `cron` that is /usr/sbin/cron owned by root is Debian's cron, and a user's script named cron is
not. /proc/PID/exe of another user's process needs root (or ptrace rights); where it may not be read,
the answer says so and the caller decides what the name alone is worth (psxj says "by name only").
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple, Optional

from psxj.i18n import _


class Program(NamedTuple):
    pid: int
    path: Optional[str]         # the executable; None when it may not be read
    name: str                   # its basename, or the comm when the path is unknown
    system: bool                # root's file that nobody else may write (False: not, or not known)
    deleted: bool               # the file was deleted or replaced since it was run
    evidence: str               # how psxj knows, in words

    def is_one_of(self, *names: str) -> bool:
        return self.name in names


def program_of(pid: int, comm: str) -> Program:
    """The program process `pid` runs (comm: its name, used only when the executable is unreadable)."""
    where = f"/proc/{pid}/exe"
    try:
        path = os.readlink(where)
    except OSError as exc:
        return Program(pid, None, comm, False, False,
                       _("{where} may not be read ({error}): known by its name {comm} only").format(
                           where=where, error=exc.strerror or exc, comm=comm))
    deleted = path.endswith(" (deleted)")
    clean = path[:-len(" (deleted)")] if deleted else path
    try:
        st = os.stat(where)   # the file the process runs, through the kernel's link, even if deleted
    except OSError as exc:
        return Program(pid, clean, os.path.basename(clean), False, deleted,
                       _("{where} -> {path}; its owner may not be read ({error})").format(
                           where=where, path=path, error=exc.strerror or exc))
    system = st.st_uid == 0 and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and stat.S_ISREG(st.st_mode)
    owner = _("owned by root, writable by root only") if system else \
        _("owned by uid {uid}, mode {mode:04o}: not a system program").format(uid=st.st_uid,
                                                                          mode=stat.S_IMODE(st.st_mode))
    return Program(pid, clean, os.path.basename(clean), system, deleted,
                   _("{where} -> {path} ({owner})").format(where=where, path=path, owner=owner))
