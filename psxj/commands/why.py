"""`psxj why TARGET [--json]`: why a process, a port's listener or a file's holder runs.

    psxj why 812              a PID
    psxj why nginx            a command name, as ps -C selects it (several matches: one line each)
    psxj why :22  tcp:22      the processes holding a socket listening on that port (tcp or udp)
    psxj why /var/log/syslog  the processes holding that file open, running it, or working in it

Exit status: 0 when a story was told, 1 when the target matched no process (or only sockets no
readable process holds), 2 for a usage error. A subcommand of the command line (psxj.commands); the
judgement is psxj.judge.why's, the text psxj.render.whytext's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import stat
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple

from psxj.commands.parsing import command_parser
from psxj.errors import PsxjError, UsageError
from psxj.i18n import N_, _, untranslated

SUMMARY = N_("why a process, a port's listener or a file's holder runs, with evidence")

_PORT = re.compile(r"^(?:(tcp|udp))?:(\d{1,5})$", re.IGNORECASE)
_SYMLINK_HOPS = 40


class Target(NamedTuple):
    kind: str                     # pid, name, port, path
    pid: Optional[int] = None
    name: Optional[str] = None
    port: Optional[int] = None
    proto: Optional[str] = None
    path: Optional[str] = None


def build_parser(commands: Optional[argparse._SubParsersAction] = None) -> argparse.ArgumentParser:
    """This command's parser: alone, or a branch of the tree (psxj.commands.main.build_parser)."""
    parser = command_parser(
        commands, "why", _(SUMMARY),
        description=_("Why does it run? The chain from PID 1, the one thing responsible (a systemd unit, a "
                      "supervisor, cron or at, a login, a container, a terminal's shell, a daemon, init), the "
                      "context and warnings, each fact with where it came from."),
        epilog=_("TARGET: a PID; a command name as ps -C selects it; :PORT, tcp:PORT or udp:PORT (the processes "
                 "holding a socket listening there); or a path with a / (the processes holding that file open, "
                 "running it, or working in that directory). Exit status: 0 a story was told, 1 nothing "
                 "matched, 2 usage error."),
    )
    parser.add_argument("target", metavar="TARGET", help=_("PID, command name, :PORT, PROTO:PORT or path"))
    parser.add_argument("--json", action="store_true",
                        help=_("print a JSON array, one object per process, every fact with where it came from"))
    return parser


def parse_target(text: str) -> Target:
    """What the user named. A path needs a / in it (./name for a file here); a bare word is a command."""
    from psxj.escape import shown

    if not text:
        raise UsageError(_("why: an empty target"))
    if text.isdigit():
        pid = int(text)
        if not 1 <= pid <= 0x7FFFFFFF:
            raise UsageError(_("why: invalid process ID {pid}").format(pid=shown(text)))
        return Target("pid", pid=pid)
    port = _PORT.match(text)
    if port:
        number = int(port.group(2))
        if not 1 <= number <= 65535:
            raise UsageError(_("why: invalid port {port}: ports are 1 to 65535").format(port=shown(text)))
        return Target("port", port=number, proto=port.group(1).lower() if port.group(1) else None)
    if re.match(r"^(tcp|udp)?:", text, re.IGNORECASE) or re.match(r"^[a-z]+[0-9]*:[0-9]+$", text, re.IGNORECASE):
        raise UsageError(_("why: invalid port {port}: write :PORT, tcp:PORT or udp:PORT").format(port=shown(text)))
    if "/" in text:
        return Target("path", path=text)
    if "\0" in text or len(text.encode("utf-8", "surrogateescape")) > 4096:
        raise UsageError(_("why: invalid command name {name}").format(name=shown(text[:60])))
    return Target("name", name=text)


# --- a path, without following another user's symlink ----------------------------------------

def resolve_path(path: str) -> Tuple[str, os.stat_result]:
    """The real path of `path` and its stat. A symlink on the way is followed only when root or the
    caller owns it (another user's could point anywhere, and psxj would then answer for another file);
    the directories may be anyone's: psxj only looks."""
    from psxj.escape import safe_text

    parts = [p for p in os.path.abspath(path).split("/") if p]
    current, hops = "/", 0
    while parts:
        name = parts.pop(0)
        if name == ".":
            continue
        if name == "..":
            current = os.path.dirname(current) or "/"
            continue
        candidate = os.path.join(current, name)
        try:
            st = os.lstat(candidate)
        except OSError as exc:
            raise PsxjError(_("why: {path}: {error}").format(path=safe_text(candidate),
                                                             error=exc.strerror or exc)) from None
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if st.st_uid not in (0, os.geteuid()):
                raise PsxjError(_("why: {path} is a symbolic link of uid {uid}: psxj does not follow another "
                                  "user's link; name what it points to").format(path=safe_text(candidate),
                                                                                uid=st.st_uid))
            if hops > _SYMLINK_HOPS:
                raise PsxjError(_("why: {path}: too many symbolic links").format(path=safe_text(path)))
            target = os.readlink(candidate)
            parts = [p for p in target.split("/") if p] + parts
            if target.startswith("/"):
                current = "/"
            continue
        if parts and not stat.S_ISDIR(st.st_mode):
            raise PsxjError(_("why: {path} is not a directory").format(path=safe_text(candidate)))
        current = candidate
    return current, os.lstat(current)


def path_holders(records, path: str, identity: Tuple[int, int]) -> Dict[int, List[str]]:
    """pid -> how it holds the file: a descriptor, its executable, its working directory. A descriptor
    is matched by the path the kernel shows for it, then confirmed by device and inode (stat() of
    every descriptor could hang on a dead network or FUSE mount)."""
    found: Dict[int, List[str]] = {}
    deleted = path + " (deleted)"

    def same(link: str, where: str) -> bool:
        if link not in (path, deleted):
            return False
        try:
            st = os.stat(where)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == identity

    for record in records:
        if record.kernel_thread:
            continue
        base = f"/proc/{record.pid}"
        for what, where in ((_("its executable"), f"{base}/exe"), (_("its working directory"), f"{base}/cwd"),
                            (_("its root directory"), f"{base}/root")):
            try:
                if same(os.readlink(where), where):
                    found.setdefault(record.pid, []).append(what)
            except OSError:
                continue
        try:
            names = os.listdir(f"{base}/fd")
        except OSError:
            continue
        for name in sorted(names, key=lambda n: int(n) if n.isdigit() else 0):
            where = f"{base}/fd/{name}"
            try:
                if same(os.readlink(where), where):
                    found.setdefault(record.pid, []).append(_("fd {fd}").format(fd=name))
            except OSError:
                continue
    return found


# --- the command --------------------------------------------------------------------------------

def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()


def _matches(target: Target, snapshot, look) -> Tuple[List[int], Dict[int, List[str]], List[str]]:
    """(the PIDs, how each holds the target, notes for stderr)."""
    from psxj.escape import safe_text

    records = [r for r in snapshot.records if r.pid != os.getpid()]
    if target.kind == "pid":
        if snapshot.get(target.pid) is None:
            raise PsxjError(_("why: no process with PID {pid}").format(pid=target.pid))
        return [target.pid], {}, []
    if target.kind == "name":
        wanted = target.name[:15]
        found = [r.pid for r in records if r.comm == wanted and not r.kernel_thread] or \
            [r.pid for r in records if r.comm == wanted]
        if not found:
            raise PsxjError(_("why: no process is named {name} (the kernel's 15-byte command name, as ps -C "
                              "matches it)").format(name=safe_text(target.name)))
        return found, {}, []
    if target.kind == "port":
        from psxj.sources.sockets import listening_on

        held = listening_on([r.pid for r in records if not r.kernel_thread], target.port, target.proto)
        what = target.proto or _("tcp or udp")
        if not held:
            raise PsxjError(_("why: nothing listens on port {port} ({proto}) in any network namespace psxj can "
                              "read").format(port=target.port, proto=what))
        how: Dict[int, List[str]] = {}
        notes = []
        for entry in held:
            where = "" if entry.own_namespace else _(" in network namespace {space}").format(space=entry.namespace)
            text = entry.socket.label() + where
            if not entry.holders:
                notes.append(_("{socket} (uid {uid}) is held by no process psxj may read").format(
                    socket=text, uid=entry.socket.uid))
            for pid, fd in entry.holders:
                held = _("fd {fd}: {socket} {state}").format(fd=fd, socket=text, state=entry.socket.state)
                unit = look.socket_unit(snapshot.get(pid), entry.socket.local.text()) if entry.own_namespace or \
                    snapshot.get(pid).namespace_init else None
                if unit is not None:
                    held += _(", for {socket_unit}, which starts {units} when a connection comes").format(
                        socket_unit=unit[0], units=", ".join(unit[1]) or "?")
                how.setdefault(pid, []).append(held)
        if not how:
            raise PsxjError("why: " + "; ".join(notes))
        return sorted(how), how, notes
    real, st = resolve_path(target.path)
    how = path_holders(records, real, (st.st_dev, st.st_ino))
    if not how:
        raise PsxjError(_("why: no process holds {path} open, runs it, or works in it").format(path=safe_text(real)))
    return sorted(how), how, []


def main(argv: List[str]) -> int:
    args = build_parser().parse_args(argv)
    target = parse_target(args.target)
    if not os.path.exists("/proc/self/stat"):
        raise PsxjError(_("why: needs Linux /proc"))
    from psxj.judge.evidence import SystemLook
    from psxj.judge.why import Fact, explain
    from psxj.render import whytext
    from psxj.sources.proc import read_snapshot

    snapshot = read_snapshot(parallel=True)
    look = SystemLook(snapshot)
    pids, how, notes = _matches(target, snapshot, look)
    for note in notes:
        print(_("psxj: note: {note}").format(note=note), file=sys.stderr)
    with untranslated() if args.json else contextlib.nullcontext():
        whys = []
        for pid in pids:
            record = snapshot.get(pid)
            if record is None:
                continue
            why = explain(snapshot, record, look)
            if pid in how:
                origin = _("the kernel's socket tables and /proc/{pid}/fd").format(pid=pid) \
                    if target.kind == "port" else "/proc/{pid}: fd, exe, cwd and root".format(pid=pid)
                why = why._replace(context=(("holds", Fact(how[pid], origin)),) + why.context)
            whys.append(why)
        if args.json:
            _write(whytext.as_json(whys))
        elif len(whys) == 1:
            _write(whytext.story(whys[0], _columns()))
        else:
            from psxj.escape import safe_text

            lines = [_("{count} processes match {target}:").format(count=len(whys), target=safe_text(args.target))]
            for why in whys:
                lines.append(whytext.one_line(why))
                held = why.fact("holds")
                if held is not None:   # a port's or a file's holders: how each holds it
                    lines.append(" " * 9 + whytext.value_text(held))
            lines.append(_("psxj why PID tells one's whole story."))
            _write("\n".join(lines) + "\n")
    return 0 if whys else 1


def _columns() -> int:
    from psxj.render.psformat import screen_columns

    columns = screen_columns()
    return 100 if not columns or columns > 200 else max(columns, 60)
