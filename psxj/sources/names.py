"""User and group names for numeric ids, looked up once each.

Part of the sources: this machine's user and group databases, as ps reads them; the views
(psxj.render.export, psxj.render.details) name users with it.
"""

from __future__ import annotations

import grp
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
