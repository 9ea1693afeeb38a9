"""The hosts to read: `--host a,b` and `--hosts-file FILE` (one a line, # comments), checked.

A host name is handed to ssh, so it must never be taken for an option (`-oProxyCommand=...`)
or carry anything but a destination: `name`, `user@name`, an address, `[v6]`, or
`ssh://[user@]name[:port]`. Everything else is refused with the offending line named.
Part of the fleet source (psxj.sources.fleet); the command line's --host options are psxj.commands.fleet.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional

from psxj.errors import PsxjError, UsageError
from psxj.i18n import _
from psxj.safefs import open_to_read

MAX_HOSTS = 1000
_NAME = r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})"
_ADDRESS6 = r"\[[0-9A-Fa-f:.%a-z]{2,60}\]"
_DESTINATION = re.compile(
    rf"\A(?:(?:{_NAME}@)?(?:{_NAME}|{_ADDRESS6})|ssh://(?:{_NAME}@)?(?:{_NAME}|{_ADDRESS6})(?::[0-9]{{1,5}})?)\Z")


def check_host(text: str, where: str) -> str:
    from psxj.escape import shown

    if not _DESTINATION.match(text):
        raise UsageError(_("{where}: not a host name: {text} (a name, user@name, an address or "
                           "ssh://user@name:port)").format(where=where, text=shown(text)))
    return text


def host_list(arguments: List[str], hosts_file: Optional[str]) -> List[str]:
    """The hosts, in order, each once."""
    hosts: List[str] = []
    for argument in arguments:
        for item in argument.split(","):
            hosts.append(check_host(item.strip(), "--host"))
    if hosts_file is not None:
        hosts.extend(_read_hosts_file(hosts_file))
    unique = list(dict.fromkeys(hosts))
    if len(unique) > MAX_HOSTS:
        raise UsageError(_("{count} hosts: psxj reads at most {limit} at once").format(
                             count=len(unique),
                             limit=MAX_HOSTS))
    return unique


def _read_hosts_file(path: str) -> List[str]:
    try:
        with os.fdopen(open_to_read(path, pipes=True), "rb") as f:
            data = f.read(1024 * 1024 + 1)
    except OSError as exc:
        raise PsxjError(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)) from None
    if len(data) > 1024 * 1024:
        raise PsxjError(_("{path}: more than 1 MiB, not a list of hosts").format(path=path))
    hosts = []
    for number, line in enumerate(data.decode("utf-8", "surrogateescape").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            hosts.append(check_host(line, _("{path}: line {number}").format(path=path, number=number)))
    if not hosts:
        raise PsxjError(_("{path}: no host in it").format(path=path))
    return hosts
