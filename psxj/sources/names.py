"""User and group names for numeric ids, looked up once each; and whose the user of psxj is.

Part of the sources: this machine's user and group databases, as ps reads them; the views
(psxj.render.export, psxj.render.details, the table's USER column) name users with it.
"""

from __future__ import annotations

import grp
import os
import pwd
from functools import lru_cache
from typing import Optional


@lru_cache(maxsize=None)
def user_name(uid: Optional[int]) -> Optional[str]:
    if uid is None or uid < 0:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


@lru_cache(maxsize=None)
def group_name(gid: Optional[int]) -> Optional[str]:
    if gid is None or gid < 0:
        return None
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


_NO_LOGIN_UID = 4294967295   # (uid_t)-1: no login recorded (a container, a daemon, no pam_loginuid)


def own_uid() -> int:
    """The user whose processes are "yours" on the first screen: the one who logged in (the kernel's
    audit login UID, which sudo and su keep: `sudo psxj` still shows alice's world first), else the user
    psxj runs as. psxj's own /proc entry: nobody else can plant it."""
    try:
        with open("/proc/self/loginuid", "rb") as f:
            login = int(f.read(16).strip() or b"-1")
    except (OSError, ValueError):
        login = -1
    return login if 0 <= login < _NO_LOGIN_UID else os.getuid()
