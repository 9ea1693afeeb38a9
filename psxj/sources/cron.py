"""Crontabs, as the cron daemon reads them (a source): the system's and every user's, parsed into
entries whose command is exactly what cron hands to `/bin/sh -c`.

A cron job runs as `CRON` (the daemon's child) -> `/bin/sh -c COMMAND`, so a running job is tied to
its crontab line by that command and its user, not by a name. The files are other users' (a user's
own crontab is theirs to write) and a container's cron reads its own: they are read below the
daemon's root (/proc/PID/root), one component at a time without following a symlink, only regular
files, never blocking on a FIFO, at most MAX_FILE_BYTES each and MAX_FILES per directory
(psxj.safefs.read_beneath). Each file is checked as Debian's cron checks it before running it, and a
file cron would refuse says why.

Where: /etc/crontab and /etc/cron.d/* (with a user field), /var/spool/cron/crontabs/USER (Debian's
cron) and /var/spool/cron/USER (cronie), whose user is the file's name.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Iterable, List, NamedTuple, Optional, Tuple

from psxj.i18n import _

MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 1000
SYSTEM_TABLES = ("etc/crontab",)
SYSTEM_DIRECTORIES = ("etc/cron.d",)
USER_DIRECTORIES = ("var/spool/cron/crontabs", "var/spool/cron")
NICKNAMES = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_ENVIRONMENT = re.compile(r"""^\s*("[^"]*"|'[^']*'|[^\s="']+)\s*=""")
_RUN_PARTS_NAME = re.compile(r"^[A-Za-z0-9_-]+$")   # what Debian's cron accepts in /etc/cron.d


class Entry(NamedTuple):
    path: str            # the crontab as cron names it: /etc/crontab, /var/spool/cron/crontabs/alice
    line: int            # 1-based
    text: str            # the line as written (raw: escape it to print it)
    schedule: str        # "*/5 * * * *" or "@reboot"
    user: str
    command: str         # what cron runs with `/bin/sh -c` (up to the first unescaped %, \\% made %)


class Crontab(NamedTuple):
    path: str
    owner: Optional[int]
    entries: Tuple[Entry, ...]
    refused: Optional[str]   # why cron would not run it (or psxj could not read it); None: fine


def shell_command(field: str) -> str:
    """The command cron gives the shell: up to the first % not preceded by a backslash, with `\\%`
    and `\\\\` made `%` and `\\` (Debian's do_command.c); the rest after % is the job's input."""
    out: List[str] = []
    escaped = False
    for char in field:
        if escaped:
            if char in "%\\":
                out[-1] = char
            else:
                out.append(char)
            escaped = False
            continue
        if char == "\\":
            out.append(char)
            escaped = True
            continue
        if char == "%":
            break
        out.append(char)
    return "".join(out)


def parse(text: str, path: str, user: Optional[str]) -> List[Entry]:
    """The entries of a crontab. `user` None: a system crontab, whose lines name their user."""
    entries: List[Entry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or _ENVIRONMENT.match(line):
            continue
        line = line[1:] if line.startswith("-") else line   # Debian: "-" turns off logging of the job
        fields = line.split(None, 1)
        if fields and fields[0] in NICKNAMES:
            schedule, rest = fields[0], (fields[1] if len(fields) > 1 else "")
        else:
            parts = line.split(None, 5)
            if len(parts) < 6:
                continue   # cron reports an error for it and skips it
            schedule, rest = " ".join(parts[:5]), parts[5]
        owner = user
        if user is None:
            split = rest.split(None, 1)
            if len(split) < 2:
                continue
            owner, rest = split
        command = shell_command(rest.lstrip())
        if command:
            entries.append(Entry(path, number, raw, schedule, owner, command))
    return entries


def refusal(st: os.stat_result, system: bool, user_uid: Optional[int]) -> Optional[str]:
    """Why Debian's cron would not run this crontab (None: it would): what it checks is the file's
    type, its owner and who else may write it."""
    if not stat.S_ISREG(st.st_mode):
        return _("not a regular file")
    if system and st.st_uid != 0:
        return _("owned by uid {uid}, not root: cron ignores it").format(uid=st.st_uid)
    if not system and user_uid is not None and st.st_uid != user_uid:
        return _("owned by uid {uid}, not by its user: cron ignores it").format(uid=st.st_uid)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return _("writable by group or others (mode {mode:04o}): cron ignores it").format(
            mode=stat.S_IMODE(st.st_mode))
    if st.st_nlink > 1:
        return _("it has {links} hard links: cron ignores it").format(links=st.st_nlink)
    return None


def _read(root: str, relative: str, system: bool, user: Optional[str]) -> Crontab:
    from psxj.safefs import UnsafePath, read_beneath

    path = "/" + relative
    try:
        data, st = read_beneath(root, relative, MAX_FILE_BYTES)
    except UnsafePath as exc:
        return Crontab(path, None, (), str(exc))
    except OSError as exc:
        return Crontab(path, None, (), exc.strerror or str(exc))
    user_uid = None
    if user is not None and root == "/":   # a container's users are in its own /etc/passwd
        import pwd

        try:
            user_uid = pwd.getpwnam(user).pw_uid
        except KeyError:
            return Crontab(path, st.st_uid, (), _("no user {user} on this machine: cron ignores it").format(
                user=user))
    refused = refusal(st, system, user_uid)
    entries = tuple(parse(data.decode("utf-8", "surrogateescape"), path, user))
    return Crontab(path, st.st_uid, entries, refused)


def _names(root: str, relative: str) -> Iterable[str]:
    from psxj.safefs import directory_beneath

    try:
        fd = directory_beneath(root, relative)
    except OSError:
        return ()
    try:
        names = sorted(os.listdir(fd))[:MAX_FILES]
        kept = []
        for name in names:
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                kept.append(name)
        return kept
    finally:
        os.close(fd)


def read_crontabs(root: str = "/") -> List[Crontab]:
    """Every crontab below `root` (the cron daemon's /proc/PID/root), the system's first. Files cron
    skips by name (dot files; in /etc/cron.d, names with a dot) are left out."""
    found = [_read(root, path, True, None) for path in SYSTEM_TABLES]
    found = [tab for tab in found if tab.owner is not None or "No such file" not in (tab.refused or "")]
    for directory in SYSTEM_DIRECTORIES:
        found += [_read(root, f"{directory}/{name}", True, None) for name in _names(root, directory)
                  if _RUN_PARTS_NAME.match(name)]
    for directory in USER_DIRECTORIES:
        found += [_read(root, f"{directory}/{name}", False, name) for name in _names(root, directory)
                  if not name.startswith(".") and "." not in name]
    return found


def matching(crontabs: Iterable[Crontab], command: str, user: Optional[str]) -> List[Tuple[Entry, Crontab]]:
    """The entries that run exactly `command` (as the job's shell got it) for `user` (None: any)."""
    return [(entry, tab) for tab in crontabs for entry in tab.entries
            if entry.command == command and (user is None or entry.user == user)]
