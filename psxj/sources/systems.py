"""How other systems name what a ps table shows: terminals, command names, sessions.

Part of the loaded source. A table from FreeBSD, macOS or busybox uses its own spellings
(`1` for pts/1, `s045` for ttys045, `136,0` for a device number, `-zsh (zsh)` for a login
shell). Records hold the names procps would print, so selectors, views and the daemon
rules see one vocabulary; `source_tty_name` gives the source's spelling back where that
reads better.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Optional

LINUX, MACOS, FREEBSD = "linux", "macos", "freebsd"
TTY_WIDTH = 8   # procps cuts terminal names to the TTY column
COMM_LENGTH = 15  # the kernel keeps 15 bytes of a command name; -C compares that many

_DEVICE_NUMBERS = re.compile(r"\A(\d{1,4}),(\d{1,7})\Z")


def bsd_tty(tt: str) -> str:
    """A BSD TT abbreviation as the device's name under /dev, as procps would print it.

    BSD ps strips `tty` (and `cua`) from the name, FreeBSD also `pts/`, cuts it to the
    column (console becomes `co` or `con`) and marks a terminal that is no longer the
    controlling one with a trailing `-`. `??` is no terminal."""
    if tt in ("??", "?", "-", ""):
        return "?"
    if tt.endswith("-") and len(tt) > 1:
        tt = tt[:-1]
    if tt in ("co", "con", "cons", "console"):
        return "console"
    if tt.isascii() and tt.isdigit():
        return f"pts/{tt}"[:TTY_WIDTH]          # FreeBSD: /dev/pts/N shows as N
    return f"tty{tt}"[:TTY_WIDTH]               # macOS s045 is ttys045, FreeBSD v0 is ttyv0


def source_tty_name(system: Optional[str], tty: str) -> str:
    """The terminal as the source system's ps spells it (`1`, `s045`, `??`): for display."""
    if system not in (MACOS, FREEBSD):
        return tty
    if tty == "?":
        return "??"
    if tty == "console":
        return "con" if system == FREEBSD else "co"
    if system == FREEBSD and tty.startswith("pts/"):
        return tty[4:]
    return tty[3:] if tty.startswith("tty") else tty


def device_tty(text: str) -> str:
    """busybox prints a terminal as `major,minor`: named as the kernel's usual majors are."""
    match = _DEVICE_NUMBERS.match(text)
    if not match:
        return text
    major, minor = int(match.group(1)), int(match.group(2))
    if major == 0 and minor == 0:
        return "?"
    if 136 <= major <= 143:
        return f"pts/{minor + (major - 136) * 256}"
    if major == 4 and minor < 64:
        return f"tty{minor}"
    if major == 4 and minor < 256:
        return f"ttyS{minor - 64}"
    if major == 5 and minor == 1:
        return "console"
    return text  # an unusual driver: its numbers, as the file gave them


_FREEBSD_COMM = re.compile(r" \(([^\s()]{1,19})\)\Z")
_BUSYBOX_COMM = re.compile(r"\A\{([^{}]{1,15})\} ")


def comm_from_command(command: str, system: Optional[str] = None) -> str:
    """The short name the system itself has for a process, derived from what ps printed.

    `[kthreadd]` is a kernel thread's own name; busybox prints `{comm} args` and FreeBSD
    `args (comm)` when the name differs from the first argument; a login shell's argv[0]
    is its name with a `-` before it (`-bash`), which is not part of the name."""
    if command.startswith("["):
        return command[1:].split("]", 1)[0][:COMM_LENGTH]
    braced = _BUSYBOX_COMM.match(command)
    if braced:
        return braced.group(1)
    if system == FREEBSD:
        # FreeBSD appends `(comm)` only when argv[0] differs; an argument that ends in a
        # parenthesised word is read the same way: the table cannot tell them apart.
        trailing = _FREEBSD_COMM.search(command)
        if trailing:
            return trailing.group(1)[:COMM_LENGTH]
    first = command.split(" ", 1)[0] if command.strip() else ""
    name = os.path.basename(first)
    if name.startswith("-") and len(name) > 1:
        name = name[1:]
    return name[:COMM_LENGTH]


def infer_sessions(pids: List[int], ppids: List[int], pgids: List[int], leaders: List[bool],
                   keys: List[str], passes: int = 64) -> List[int]:
    """Session IDs of a table that does not print them (macOS SESS 0, kernel addresses).

    What the rows prove: a process whose STAT has `s` leads a session (SID = PID); the
    members of one process group, and processes with one session address, share a
    session; a process that is not a leader is in its parent's session unless it was
    adopted (PPID 0 or 1), since only setsid() changes a session. Anything else stays 0,
    unknown. Each pass settles one more generation; the number of passes is bounded."""
    count = len(pids)
    sid: List[int] = [pid if leader else 0 for pid, leader in zip(pids, leaders)]
    index: Dict[int, int] = {pid: i for i, pid in enumerate(pids)}
    for _ in range(passes):
        by_group: Dict[int, int] = {}
        by_key: Dict[str, int] = {}
        for i in range(count):
            if sid[i]:
                by_group.setdefault(pgids[i], sid[i])
                if keys[i] not in ("", "0"):
                    by_key.setdefault(keys[i], sid[i])
        changed = False
        for i in range(count):
            if sid[i]:
                continue
            found = by_group.get(pgids[i]) or by_key.get(keys[i])
            if not found and ppids[i] > 1:
                parent = index.get(ppids[i])
                if parent is not None:
                    found = sid[parent]
            if found:
                sid[i] = found
                changed = True
        if not changed:
            break
    return sid
