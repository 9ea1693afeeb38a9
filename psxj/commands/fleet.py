"""The command line's side of --host: the options, the hosts, and the table of all of them.

    psxj --host a,b [--hosts-file FILE] [--host-timeout S] [--ssh-config FILE] [SELECTORS] [--print|--json|--csv]
    psxj audit --host HOST PID... | --all

The table waits for every host's answer or its timeout; a host that gave none is one line on stderr
naming it and saying why, the others are printed all the same, and the exit status is then 1.
Part of the command line (psxj.commands); the reading itself is psxj.sources.fleet's.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from psxj.errors import PsxjError, UsageError, finite_seconds
from psxj.i18n import _

DEFAULT_TIMEOUT = 10.0


def _timeout(text: str) -> float:
    return finite_seconds(text, 600, 0.5, quote=True)


def add_fleet_arguments(parser: argparse.ArgumentParser, audit: bool = False) -> None:
    group = parser.add_argument_group(_("other machines, over SSH (nothing is installed there)"))
    if audit:
        group.add_argument("--host", metavar="HOST", help=_("audit on this host, over SSH"))
    else:
        group.add_argument("--host", metavar="HOST[,HOST...]", action="append", default=[],
                           help=_("read these hosts' tables over SSH (the system's ssh, your ~/.ssh/config, "
                                  "agent and known_hosts; an unknown host key is an error)"))
        group.add_argument("--hosts-file", metavar="FILE", help=_("more hosts, one a line (# starts a comment)"))
    group.add_argument("--host-timeout", metavar="SECONDS", type=_timeout, default=DEFAULT_TIMEOUT,
                       help=_("give up on a host that has not answered after this long (default "
                              "{seconds:g})").format(seconds=DEFAULT_TIMEOUT))
    group.add_argument("--ssh-config", metavar="FILE",
                       help=_("ssh's configuration file (ssh -F) instead of ~/.ssh/config"))


def hosts_of(args: argparse.Namespace) -> List[str]:
    """The hosts asked for; [] without --host or --hosts-file (then: this machine)."""
    if not args.host and args.hosts_file is None:
        if args.ssh_config is not None:
            raise UsageError(_("--ssh-config goes with --host or --hosts-file"))
        return []
    from psxj.sources.fleet.hosts import host_list  # here: psxj without --host never loads the fleet

    if args.load is not None:
        raise UsageError(_("--host reads other machines live; --load reads a file: choose one"))
    return host_list(args.host, args.hosts_file)


def fleet_reader(args: argparse.Namespace, hosts: List[str], patience: Optional[float] = 1.5):
    from psxj.sources.fleet.reader import FleetReader
    from psxj.sources.fleet.ssh import ssh_path

    ssh_path()  # no ssh client: say so before anything starts
    return FleetReader(hosts, ssh_config_of(args), args.host_timeout, patience=patience)


def ssh_config_of(args: argparse.Namespace) -> Optional[str]:
    """--ssh-config, checked first: ssh runs the commands it names (ProxyCommand, Match exec) as
    this user, and does not check a file given with -F as it checks ~/.ssh/config."""
    if args.ssh_config is None:
        return None
    from psxj.safefs import UnsafePath, trusted_file

    try:
        return trusted_file(args.ssh_config)
    except UnsafePath as exc:
        raise PsxjError(_("--ssh-config: {problem}").format(problem=exc)) from None


def report_failures(snapshot) -> bool:
    """One line on stderr per host that gave no table; True when there was one."""
    from psxj.escape import safe_text

    failed = False
    for state in snapshot.host_states:
        if state.failing:
            failed = True
            print(f"psxj: {safe_text(state.host)}: {safe_text(state.detail)}", file=sys.stderr)
        elif state.status == "ps":
            print(_("psxj: note: {host}: {detail}").format(host=safe_text(state.host), detail=safe_text(state.detail)),
                  file=sys.stderr)
    return failed


def audit_on_host(args: argparse.Namespace, pids: List[int]) -> list:
    """The audit run by psxj's own audit code on the host (sent the agentless way); the reports,
    checked and escaped here."""
    import asyncio
    import json

    from psxj.escape import Escaper
    from psxj.judge.remote import audit_reports
    from psxj.sources.fleet.decode import BadAnswer
    from psxj.sources.fleet.hosts import check_host
    from psxj.sources.fleet.ssh import HostError, HostSession, ssh_command

    host = check_host(args.host, "--host")
    session = HostSession(host, ssh_command(host, ssh_config_of(args), args.host_timeout))
    request = json.dumps({"pids": pids, "all": args.all, "profile": args.profile}).encode("ascii")

    async def ask():
        try:
            return await asyncio.wait_for(session.request(b"audit " + request), args.host_timeout)
        finally:
            await session.close()

    try:
        answer = asyncio.run(ask())
    except asyncio.TimeoutError:
        raise PsxjError(_("audit: {host}: no answer within {seconds:g} s (--host-timeout)").format(
                            host=host,
                            seconds=args.host_timeout)) from None
    except HostError as exc:
        raise PsxjError(f"audit: {host}: {exc}") from None
    if answer.method != "python3":
        raise PsxjError(_("audit: {host}: {why}: the audit needs python3 and /proc there").format(
                            host=host,
                            why=answer.why_ps))
    try:
        missing, reports = audit_reports(answer.data, Escaper.for_environment())
    except BadAnswer as exc:
        raise PsxjError(_("audit: {host}: bad answer: {error}").format(host=host, error=exc)) from None
    if missing:
        raise PsxjError(_("audit: {host}: no process with PID {pids}").format(
                            host=host,
                            pids=', '.join(map(str, missing))))
    return reports
