"""Who owns the processes of a table: each user with how many processes are theirs, for the interface's
user picker (u, as htop's), and the filter that shows one user's processes in ps's selector syntax.

Part of the views (psxj.render): pure functions of a snapshot. A user is named from this machine's
password database only for this machine's live rows (psxj.render.views.user_of); a UID with no name is
shown as its number. Names are escaped for the screen; a filter names a user only by a name ps's `-u`
reads back as that user (plain letters, digits, . _ -), else by the number.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from typing import List, NamedTuple, Optional

from psxj.model import Snapshot
from psxj.render.views import user_of
from psxj.select import strip_selectors

_PLAIN_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9._-]{0,31}\Z")


class Owner(NamedTuple):
    label: str            # the name as the screen may show it (escaped), or the UID
    selector: str         # the filter's words for this user: "-u alice", "-u 1234"
    count: int            # processes of the table that are this user's (effective UID, as ps -u)


def owners(snapshot: Optional[Snapshot]) -> List[Owner]:
    """Every user who owns a process of the table, by name (numbers after names), with their counts."""
    if snapshot is None:
        return []
    counts: Counter = Counter()
    sample = {}
    for record in snapshot.records:
        key = record.euid if record.euid is not None else record.user
        if key is None:
            continue
        counts[key] += 1
        sample.setdefault(key, record)
    found = []
    for key, count in counts.items():
        label = user_of(sample[key], snapshot)
        if isinstance(key, int):
            selector = f"-u {label}" if _PLAIN_NAME.match(label) and not label.isdigit() else f"-u {key}"
        else:   # a table that names its users without numbers (BSD ps): the name it gave
            selector = f"-u {shlex.quote(key)}"
        found.append(Owner(label, selector, count))
    return sorted(found, key=lambda o: (o.label.isdigit(), o.label.lower() if not o.label.isdigit()
                                        else int(o.label)))


def filter_for_owner(filter_text: str, owner: Optional[Owner]) -> str:
    """The filter line that shows only `owner`'s processes (None: every user's again), from the one in
    force. Selectors select the union, as in ps: choosing a user replaces them all (`-s 12 -u alice`
    would add session 12's processes), and keeps the words of the command, which narrow; choosing every
    user drops only the user selectors."""
    if owner is None:
        return strip_selectors(filter_text, {"-u"})
    rest = strip_selectors(filter_text, None)
    return f"{owner.selector} {rest}".strip()
