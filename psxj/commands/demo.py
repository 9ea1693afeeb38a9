"""`psxj demo start|stop|restart|status|log|init-script|unit|jobs|quiz`: the teaching daemon, like an init script.

start, stop, restart, status, log, init-script and unit drive the demo daemon (psxj.demo.control,
which proves the daemon before it signals it); start --skip RULE, jobs and quiz are the lab's, printed
as they happen (psxj.commands.lab). A subcommand of the command line (psxj.commands).

status follows LSB: 0 running, 1 dead but the pidfile remains, 3 not running, 4 unknown.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from psxj.commands.parsing import command_parser
from psxj.demo.control import (
    STATUS_DEAD_PIDFILE,
    STATUS_NOT_RUNNING,
    STATUS_RUNNING,
    STATUS_UNKNOWN,
    DemoControl,
    default_rundir,
    init_script,
    systemd_unit,
)
from psxj.demo.daemon import MAX_LIFETIME, MAX_STEP_DELAY
from psxj.demo.steps import SKIPPABLE
from psxj.errors import PsxjError, finite_seconds
from psxj.i18n import N_, _
from psxj.safefs import UnsafePath

SUMMARY = N_("run the teaching daemon, its lab and its quiz")


def build_parser(commands: Optional[argparse._SubParsersAction] = None) -> argparse.ArgumentParser:
    """This command's parser: alone, or a branch of the tree (psxj.commands.main.build_parser)."""
    parser = command_parser(commands, "demo", _(SUMMARY),
                            description=_("Run psxj's teaching daemon like a classic init script."),
                            epilog=_("status exits 0 running, 1 dead but the pidfile remains, 3 not running, 4 "
                                     "unknown (the pidfile is locked by a process psxj cannot prove is its demo). "
                                     "The lab: start --skip RULE shows what goes wrong without a rule; jobs runs "
                                     "job control live in a terminal psxj owns; quiz asks what each step will "
                                     "change."))
    parser.add_argument("command", choices=["start", "stop", "restart", "status", "log", "init-script", "unit",
                                            "jobs", "quiz"],
                        help=_("start, stop, restart, status, log: the daemon, as an init script drives one; "
                               "init-script, unit: print its LSB init script or its systemd unit; jobs, quiz: "
                               "the lab"))
    parser.add_argument("--rundir", help=_("run directory (default {rundir})").format(
                                             rundir=default_rundir()))
    # The teaching lab (psxj.lab): counterexamples, job control and the quiz.
    parser.add_argument("--skip", choices=sorted(SKIPPABLE), metavar="RULE",
                        help=_("start: leave this rule out and watch what goes wrong, then stop it all "
                               "({rules})").format(rules=', '.join(SKIPPABLE)))
    parser.add_argument("--answers", metavar="FILE", help=_("quiz: read the answers from FILE, one line per step"))
    parser.add_argument("--step-delay", type=lambda t: finite_seconds(t, MAX_STEP_DELAY),
                        default=0.0, help=_("pause after each step, 0 to {most:g} (default 0)").format(
                                              most=MAX_STEP_DELAY))
    parser.add_argument("--lifetime", type=lambda t: finite_seconds(t, MAX_LIFETIME, 0.001),
                        default=600.0, help=_("exit by itself after this many seconds, at most a week (default 600)"))
    return parser


def say_started(pid: int, rundir: Optional[str], lifetime: float) -> None:
    """To a person, a sentence with the PID and what to do next; to a script (`pid=$(psxj demo start)`),
    the PID alone, as always."""
    if not sys.stdout.isatty():
        print(pid)
        return
    import shlex

    from psxj.escape import safe_text

    stop = "psxj demo stop" + (f" --rundir {shlex.quote(rundir)}" if rundir else "")
    print(_("psxj-demo started: the daemon is PID {pid}. See its row with `psxj -p {pid}`, audit it with `psxj "
            "audit {pid}`, stop it with `{stop}` (it exits by itself after {lifetime:g} s).").format(
                pid=pid, stop=safe_text(stop), lifetime=lifetime))


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("jobs", "quiz") or args.skip or args.answers:
        from psxj.commands.lab import main as lab_main

        return lab_main(args.command, args.rundir, args.skip, args.answers)
    control = DemoControl(args.rundir)
    if args.command == "start":
        holder = control.running_pid()
        if holder is not None:  # the init-script answer, word for word; nothing is touched
            print(_("psxj-demo already running (pid {holder})").format(holder=holder), file=sys.stderr)
            return 1
        say_started(control.start(args.step_delay, args.lifetime), args.rundir, args.lifetime)
        return 0
    if args.command == "stop":
        pid = control.stop()
        print(_("psxj-demo stopped (pid {pid})").format(pid=pid) if pid else _("psxj-demo was not running"))
        return 0
    if args.command == "restart":
        control.stop()
        say_started(control.start(args.step_delay, args.lifetime), args.rundir, args.lifetime)
        return 0
    if args.command == "status":
        try:
            demo = control.running_demo()
        except UnsafePath:
            raise  # the run directory itself is refused: an error, like every other command
        except PsxjError as exc:
            print(_("psxj-demo status unknown: {error}").format(error=exc))
            return STATUS_UNKNOWN
        status = control.status() if demo is None else STATUS_RUNNING
        print({STATUS_RUNNING: _("psxj-demo is running (pid {pid})").format(pid=demo.pid if demo else '?'),
               STATUS_DEAD_PIDFILE: _("psxj-demo is not running, but its pidfile remains"),
               STATUS_NOT_RUNNING: _("psxj-demo is not running")}[status])
        return status
    if args.command == "log":
        from psxj.escape import safe_text

        sys.stdout.write("".join(safe_text(line) + "\n" for line in control.log().splitlines()))
        return 0
    if args.command == "init-script":
        sys.stdout.write(init_script(control.rundir))
        return 0
    sys.stdout.write(systemd_unit(control.rundir))
    return 0
