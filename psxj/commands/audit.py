"""`psxj audit PID... | --all [--json]`: the daemon checklist on the command line.

Exit status: 0 when every audited process passes every rule psxj could check (unknown
does not fail), 1 otherwise or when a PID does not exist, 2 for a usage error.
A subcommand of the command line (psxj.commands); the judgement is psxj.judge.audit's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import List, Optional

from psxj.commands.parsing import command_parser
from psxj.errors import PsxjError, UsageError
from psxj.i18n import N_, _, untranslated
from psxj.judge.audit import RULE_HELP, audit_all, exited_report, format_report, summary_line
from psxj.judge.kinds import daemon_like
from psxj.judge.profiles import PROFILES, RULES_OF

SUMMARY = N_("check processes against the daemon rules, with evidence")


def build_parser(commands: Optional[argparse._SubParsersAction] = None) -> argparse.ArgumentParser:
    """This command's parser: alone, or a branch of the tree (psxj.commands.main.build_parser)."""
    rules = "\n".join(f"  {rule_id:19} {_(text)}" for rule_id, text in RULE_HELP.items())
    profiles = "\n".join(f"  {name:10} {', '.join(RULES_OF[name])}" for name in PROFILES)
    parser = command_parser(
        commands, "audit", _(SUMMARY), formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_("Check processes against the daemon rules that fit them, with the evidence read from /proc. "
                      "The profile follows the process's kind: classic (the tutorial's rules) for daemons, orphans "
                      "and jobs; new-style (systemd's daemon(7)) for supervised services; container for PID 1."),
        epilog=_("Profiles and their rules (the others are listed as n/a, with the reason):") + f"\n{profiles}\n\n"
               + _("Rules, and what psxj accepts as a pass:") + f"\n{rules}\n\n"
               + _("Exit status: 0 no rule fails (unknown and n/a do not fail), 1 a rule fails or a PID does not "
                   "exist, 2 usage error."),
    )
    parser.add_argument("pids", nargs="*", metavar="PID", help=_("processes to audit"))
    parser.add_argument("--all", action="store_true",
                        help=_("audit every daemon-like process (init, container-init, service, daemon)"))
    parser.add_argument("--profile", choices=PROFILES, help=_("judge by this standard instead of the kind's"))
    parser.add_argument("--json", action="store_true", help=_("print the verdicts as JSON"))
    from psxj.commands.fleet import add_fleet_arguments

    add_fleet_arguments(parser, audit=True)
    return parser


def _pid(text: str) -> int:
    """A PID as ps's -p reads it (decimal, 0x hex, 0 octal; 1 .. 2^31-1)."""
    from psxj.escape import shown
    from psxj.select import strtoul

    value = strtoul(text)
    if value is None or not 1 <= value <= 0x7FFFFFFF:
        raise UsageError(_("audit: invalid process ID {pid}").format(pid=shown(text)))
    return value


def _write(text: str) -> None:
    """Bytes, not text: a strict stdout encoding must not choke on what /proc held (all escaped)."""
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.pids and not args.all:
        raise UsageError(_("audit: name at least one PID, or --all"))
    if args.pids and args.all:
        raise UsageError(_("audit: give PIDs or --all, not both"))
    pids = [_pid(p) for p in args.pids]
    if args.host is not None:  # psxj's audit code runs there (sent over SSH), the reports come back
        from psxj.commands.fleet import audit_on_host

        return _print_reports(args, audit_on_host(args, pids))
    if args.ssh_config is not None:
        raise UsageError(_("audit: --ssh-config goes with --host"))
    if not __import__("os").path.exists("/proc/self/stat"):
        raise PsxjError(_("audit: needs Linux /proc"))
    from psxj.sources.proc import read_snapshot

    snapshot = read_snapshot(parallel=True)
    missing = [pid for pid in pids if snapshot.get(pid) is None]
    if pids and len(missing) == len(pids):
        raise PsxjError(_("audit: no process with PID {pids}").format(pids=", ".join(map(str, missing))))
    # --json is machine output: kind reasons and evidence in English, whatever the language.
    with untranslated() if args.json else contextlib.nullcontext():
        records = [snapshot.get(pid) for pid in pids if pid not in missing] if pids else \
            [r for r in snapshot.records if daemon_like(snapshot, r)]
        reports = audit_all(snapshot, records, args.profile)
    if missing:  # audited what is still there; what has exited is named, in the order asked
        by_pid = {report.pid: report for report in reports}
        reports = [by_pid[pid] if pid in by_pid else exited_report(pid) for pid in pids]
    return _print_reports(args, reports)


def _print_reports(args: argparse.Namespace, reports: list) -> int:
    if args.json:
        _write(json.dumps([r.as_json() for r in reports], indent=1) + "\n")
    elif args.all:
        _write(_("{count} daemon-like processes (init, container-init, service, daemon)").format(count=len(reports))
               + "\n"
               + "".join(summary_line(r) + "\n" for r in reports))
    else:
        _write("\n\n".join(format_report(r) for r in reports) + "\n")
    return 0 if all(r.ok for r in reports) else 1
