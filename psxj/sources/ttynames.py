"""Terminal device numbers to names (`pts/3`, `tty1`, `ttyS0`), as procps' dev_to_tty() finds them.

procps tries, in order: the driver table in /proc/tty/drivers, the target of the
process's fd 2, a guess from well-known major numbers, then fd 255 (where bash keeps
its terminal). Each candidate must exist in /dev with the same device number. The name
loses its `/dev/` prefix and is cut to 8 characters, the width of the TTY column.
Part of the sources: the /proc reader (psxj.sources.proc) names each process's terminal with it.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

TTY_WIDTH = 8


def _device_matches(path: str, major: int, minor: int) -> bool:
    try:
        rdev = os.stat(path).st_rdev
    except OSError:
        return False
    return os.major(rdev) == major and os.minor(rdev) == minor


def _load_drivers(path: str = "/proc/tty/drivers") -> List[Tuple[str, int, int, int]]:
    drivers = []
    try:
        with open(path, encoding="ascii", errors="replace") as table:
            lines = table.read().splitlines()
    except OSError:
        return drivers
    for line in lines:
        fields = line.split()
        if len(fields) < 4 or not fields[1].startswith("/dev/"):
            continue
        first, _, last = fields[3].partition("-")
        try:
            drivers.append((fields[1][5:], int(fields[2]), int(first), int(last or first)))
        except ValueError:
            continue
    return drivers


def _guess(major: int, minor: int) -> Optional[str]:
    if major == 4:
        return f"/dev/tty{minor}" if minor < 64 else f"/dev/ttyS{minor - 64}" if minor < 128 else None
    if 136 <= major <= 143:
        return f"/dev/pts/{minor + (major - 136) * 256}"
    return None


def _abbreviate(path: str) -> str:
    name = path[5:] if path.startswith("/dev/") and len(path) > 5 else path
    return "".join(c if 0x20 < ord(c) < 0x7F else "?" for c in name[:TTY_WIDTH])


class TtyNames:
    """A resolver that remembers device-number answers for the life of one snapshot."""

    def __init__(self) -> None:
        self._drivers: Optional[List[Tuple[str, int, int, int]]] = None
        self._by_device: Dict[int, str] = {}

    def _from_drivers(self, major: int, minor: int) -> Optional[str]:
        if self._drivers is None:
            self._drivers = _load_drivers()
        for name, driver_major, first, last in self._drivers:
            if driver_major == major and first <= minor <= last:
                for path in (f"/dev/{name}{minor}", f"/dev/{name}/{minor}"):
                    if _device_matches(path, major, minor):
                        return path
                return None
        return None

    def name(self, tty_nr: int, pid: int) -> str:
        if tty_nr == 0:
            return "?"
        known = self._by_device.get(tty_nr)
        if known is not None:
            return known
        major, minor = os.major(tty_nr), os.minor(tty_nr)
        path = self._from_drivers(major, minor)
        if path is not None:
            return self._remember(tty_nr, path)
        # The descriptors are this process's own: what they show is not cached.
        path = self._from_fd(pid, "2", major, minor)
        if path is not None:
            return _abbreviate(path)
        guess = _guess(major, minor)
        if guess and _device_matches(guess, major, minor):
            return self._remember(tty_nr, guess)
        path = self._from_fd(pid, "255", major, minor)
        return _abbreviate(path) if path is not None else "?"

    def _remember(self, tty_nr: int, path: str) -> str:
        name = self._by_device[tty_nr] = _abbreviate(path)
        return name

    @staticmethod
    def _from_fd(pid: int, fd: str, major: int, minor: int) -> Optional[str]:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            return None
        return target if target.startswith("/") and _device_matches(target, major, minor) else None
