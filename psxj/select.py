"""ps selectors: which records a view shows.

One parser serves the command line (`psxj -s 1234 -u alice`) and the interface's filter
line, so the same words mean the same thing in both. As in ps, several selectors
select the union of what each selects. Unlike `ps -axj -p 1`, where `ax` has already
selected everything, a psxj selector restricts the table.

Lists are comma- or space-separated. Users and groups are names or numbers. One
deliberate difference from procps: `-g` always means effective group, as the ps manual
documents; procps reads an all-numeric `-g` list as session IDs.
The selection box of the pipeline: above the judgement (--kind selects by the judge's kinds), below
the views that show what it selects.
"""

from __future__ import annotations

import argparse
import grp
import pwd
import re
import shlex
from operator import attrgetter
from typing import Callable, Dict, FrozenSet, List, NamedTuple, Optional, Sequence, Tuple

from psxj.errors import PsxjError, UsageError
from psxj.escape import shown
from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot


class Selector(NamedTuple):
    flag: str                 # "-p", "-s", ...
    values: FrozenSet         # resolved: ints for ids, strings for ttys and names

    def field(self, snapshot: Optional[Snapshot]) -> Callable[[ProcessRecord], object]:
        """What this selector compares: a record's field, or (--kind) its kind in this snapshot."""
        if self.flag == "--kind":
            if snapshot is None:
                raise ValueError("--kind selects by kind, which needs the snapshot the records are in")
            from psxj.judge.kinds import kind_of

            return lambda record: kind_of(snapshot, record).name
        return SELECTORS[self.flag].field

    def matches(self, record: ProcessRecord, snapshot: Optional[Snapshot] = None) -> bool:
        return self.field(snapshot)(record) in self.values


class SelectorKind(NamedTuple):
    long: str
    metavar: str
    help: str
    field: Callable[[ProcessRecord], object]
    parse: Callable[[str, str, bool], List[object]]


_LIST_SEPARATORS = " ,\t"
_MAX_ITEM = 64  # no id or name is longer; longer items are refused, not parsed, and shown cut


def _split(flag: str, text: str) -> List[str]:
    """A ps list: items separated by spaces, commas or tabs. As procps' parse_list() does, an
    empty item (`1,,2`, a leading or trailing comma, an empty argument) is an improper list."""
    items = re.split("[ ,\t]", text)
    if any(not item for item in items):
        raise UsageError(_("{flag}: improper list {text} (an empty item)").format(flag=flag, text=shown(text)))
    return items


_NUMBER = re.compile(r"\A[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


def strtoul(item: str) -> Optional[int]:
    """The number C's strtoul(item, &end, 0) reads when it reads all of item, else None.

    Decimal, 0x hex or 0 octal, an optional sign (a minus wraps around, as in C, so it is out of
    any range). ASCII digits only: `²` is not a number. Too long to be any id: out of range."""
    if len(item) > _MAX_ITEM or not _NUMBER.match(item):
        return None
    sign, body = (item[0], item[1:]) if item[0] in "+-" else ("+", item)
    value = int(body, 16) if body[:2].lower() == "0x" else int(body, 8) if body.startswith("0") else int(body)
    return (1 << 64) - value if sign == "-" and value else value


def _ids(what: str, highest: int) -> Callable[[str, str, bool], List[object]]:
    """procps parse_pid(): -p and -s take 1 .. 0x7fffffff, written as strtoul reads them."""
    def parse(flag: str, item: str, strict_names: bool = True) -> List[object]:
        value = strtoul(item)
        if value is None:
            if len(item) > _MAX_ITEM and item.isascii() and item.isdigit():
                raise UsageError(_("{flag}: {what} out of range ({count} digits)").format(
                                     flag=flag,
                                     what=_(what),
                                     count=len(item)))
            raise UsageError(_("{flag}: {what} list syntax error at {item}").format(
                                 flag=flag,
                                 what=_(what),
                                 item=shown(item)))
        if not 1 <= value <= highest:
            raise UsageError(_("{flag}: {what} out of range: {item}").format(flag=flag, what=_(what), item=shown(item)))
        return [value]
    return parse


_ID_MAX = 0xFFFFFFFE  # procps refuses uid/gid 4294967295, (uid_t)-1


def _numeric_id(flag: str, item: str, what: str) -> Optional[int]:
    """A uid or gid written as a number, or None when item is a name."""
    value = strtoul(item)
    if value is None:
        if item.isascii() and item.isdigit():  # only digits, but too many of them
            raise UsageError(_("{flag}: {what} ID out of range ({count} digits)").format(
                                 flag=flag,
                                 what=_(what),
                                 count=len(item)))
        return None
    if value > _ID_MAX:
        raise UsageError(_("{flag}: {what} ID out of range: {item}").format(flag=flag, what=_(what), item=shown(item)))
    return value


def _user(flag: str, item: str, strict_names: bool = True) -> List[object]:
    """A uid, and the name too: a BSD table names its users instead of numbering them.
    A loaded table's users need not exist here (strict_names=False): the name alone then."""
    number = _numeric_id(flag, item, N_("user"))
    if number is not None:
        return [number]
    try:
        return [pwd.getpwnam(item).pw_uid, item]
    except (KeyError, ValueError):  # ValueError: a name with a NUL byte
        if not strict_names:
            return [item]
        raise PsxjError(_("{flag}: no such user {item}").format(flag=flag, item=shown(item))) from None


def _effective_user(record: ProcessRecord) -> object:
    return record.user if record.euid is None else record.euid


def _group(flag: str, item: str, strict_names: bool = True) -> List[object]:
    number = _numeric_id(flag, item, N_("group"))
    if number is not None:
        return [number]
    try:
        return [grp.getgrnam(item).gr_gid]
    except (KeyError, ValueError):
        if not strict_names:
            return []  # loaded tables carry no group names: this group selects nothing there
        raise PsxjError(_("{flag}: no such group {item}").format(flag=flag, item=shown(item))) from None


def _tty(flag: str, item: str, strict_names: bool = True) -> List[object]:
    """The names a TTY argument may mean, tried as procps' parse_tty() tries them.

    Records hold terminal names as procps prints them, whatever system a table came from,
    so BSD abbreviations need no other rule: FreeBSD's `1` is pts/1 and `v0` ttyv0, macOS's
    `s045` ttys045; `??` (BSD's no terminal) is `?`, and `co`/`con` is the console."""
    if item in ("-", "?", "??"):
        return ["?"]
    if item.startswith("/dev/"):
        return [item[5:]]
    names = [f"pts/{item}", item, f"tty{item}", f"pty{item}"]
    if item in ("co", "con"):
        names.append("console")
    return names


def _command(flag: str, item: str, strict_names: bool = True) -> List[object]:
    return [item[:15]]  # the kernel keeps 15 bytes of a command name


def _kind(flag: str, item: str, strict_names: bool = True) -> List[object]:
    """A process kind (psxj.judge.kinds), or `daemon-like` for init, container-init, service, daemon."""
    from psxj.judge.kinds import DAEMON_LIKE, KINDS

    if item == "daemon-like":
        return sorted(DAEMON_LIKE)
    if item not in KINDS:
        raise UsageError(_("{flag}: unknown kind {item} (kinds: {kinds}, daemon-like)").format(
                             flag=flag,
                             item=shown(item),
                             kinds=', '.join(KINDS)))
    return [item]


SELECTORS: Dict[str, SelectorKind] = {
    "-p": SelectorKind("--pid", "PIDLIST", N_("process IDs"), attrgetter("pid"), _ids(N_("process ID"), 0x7FFFFFFF)),
    "-s": SelectorKind("--sid", "SIDLIST", N_("session IDs"), attrgetter("sid"), _ids(N_("session ID"), 0x7FFFFFFF)),
    "-u": SelectorKind("--user", "USERLIST", N_("effective users (names or numbers)"), _effective_user, _user),
    "-U": SelectorKind("--User", "USERLIST", N_("real users (names or numbers)"), attrgetter("ruid"), _user),
    "-g": SelectorKind("--group", "GROUPLIST", N_("effective groups (names or numbers)"), attrgetter("egid"), _group),
    "-G": SelectorKind("--Group", "GROUPLIST", N_("real groups (names or numbers)"), attrgetter("rgid"), _group),
    "-t": SelectorKind("--tty", "TTYLIST", N_("terminals (pts/1, tty1, ? for none)"), attrgetter("tty"), _tty),
    "-C": SelectorKind("--command", "CMDLIST", N_("command names (the kernel's comm)"), attrgetter("comm"), _command),
    # Not a ps selector: psxj's own judgement of each process (psxj.judge.kinds).
    "--kind": SelectorKind("--kind", "KINDLIST", N_("kinds (daemon, service, orphan, job, ... or daemon-like)"),
                           attrgetter("pid"), _kind),
}


def unanswerable(selection: "Selection", records: Sequence[ProcessRecord]) -> List[str]:
    """What a loaded table cannot answer of the selectors asked, said rather than silently
    selecting nothing: a uid of a table that names its users (BSD), a field it lacks."""
    notes = []
    for selector in selection.selectors:
        kind = SELECTORS[selector.flag]
        numbers = sorted(v for v in selector.values if isinstance(v, int))
        if selector.flag == "-u" and numbers and any(r.euid is None and r.user for r in records):
            asked = ",".join(str(n) for n in numbers if n != 0)
            if asked:
                notes.append(_("-u {asked}: this table names its users without their numbers (only root is known "
                               "to be 0); select them by name").format(asked=asked))
        elif selector.flag != "-u" and records and all(kind.field(r) is None for r in records):
            notes.append(_("{flag}: this table does not give {help}: it selects nothing").format(
                             flag=selector.flag,
                             help=_(kind.help)))
    return notes


class Selection(NamedTuple):
    """A predicate over records: the union of its selectors, and-ed with free text."""

    selectors: tuple = ()
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.selectors or self.text)

    @property
    def needs_snapshot(self) -> bool:
        """Does a record's match depend on the rest of the table (--kind looks at parents)?"""
        return any(s.flag == "--kind" for s in self.selectors)

    def matches(self, record: ProcessRecord, snapshot: Optional[Snapshot] = None) -> bool:
        if self.text and self.text.lower() not in record.command.lower():
            return False
        return not self.selectors or any(s.matches(record, snapshot) for s in self.selectors)

    def apply(self, records: Sequence[ProcessRecord], snapshot: Optional[Snapshot] = None) -> List[ProcessRecord]:
        """The matching records, in order: the same test as matches(), one criterion per pass,
        because the interface runs this over every process at each key press. `snapshot` is the
        one the records belong to (the --kind selector needs it)."""
        found = list(records)
        if self.text:
            text = self.text.lower()
            found = [r for r in found if text in r.command.lower()]
        if len(self.selectors) == 1:
            field, values = self.selectors[0].field(snapshot), self.selectors[0].values
            found = [r for r in found if field(r) in values]
        elif self.selectors:
            checks = [(s.field(snapshot), s.values) for s in self.selectors]
            found = [r for r in found if any(field(r) in values for field, values in checks)]
        return found

    def describe(self) -> str:
        words = [f"{s.flag} {','.join(str(v) for v in sorted(s.values, key=str))}" for s in self.selectors]
        if self.text:
            words.append(repr(self.text))
        return " ".join(words)


def add_selector_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(_("selectors (several select the union, as in ps)"))
    for flag, kind in SELECTORS.items():
        names = (flag,) if flag == kind.long else (flag, kind.long)
        group.add_argument(*names, dest=f"select{flag}", action="append", default=[],
                           metavar=kind.metavar, help=_(kind.help))


def selection_from_arguments(args: argparse.Namespace, text: str = "", strict_names: bool = True) -> Selection:
    selectors = []
    for flag, kind in SELECTORS.items():
        values: set = set()
        for argument in getattr(args, f"select{flag}"):
            for item in _split(flag, argument):
                values.update(kind.parse(flag, item, strict_names))
        if values:
            selectors.append(Selector(flag, frozenset(values)))
    return Selection(tuple(selectors), text)


_EXAMPLES = {"-p": "-p 1234,5678", "-s": "-s 1234", "-u": "-u root", "-U": "-U alice", "-g": "-g adm",
             "-G": "-G adm", "-t": "-t pts/1", "-C": "-C sshd", "--kind": "--kind daemon,service"}


def _selector_word(word: str) -> Tuple[Optional[str], Optional[str]]:
    """(flag, value attached to it) when `word` is a selector: -p, -p1234, --pid, --pid=1234."""
    for flag, kind in SELECTORS.items():
        if word in (flag, kind.long):
            return flag, None
        if word.startswith(kind.long + "="):
            return flag, word[len(kind.long) + 1:]
        if len(flag) == 2 and word.startswith(flag) and len(word) > 2 and not word.startswith("--"):
            return flag, word[2:]
    return None, None


def parse_filter(line: str) -> Selection:
    """The interface's filter line: selectors as on the command line, every other word as text to
    find in COMMAND. A word is a selector only if it is one of ps's flags (-p -s -u -U -g -G -t -C,
    their long names, or --kind): `python3 -m http.server` and `bash --norc` are text."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise UsageError(_("{error} (close the quote, or leave quotes out)").format(error=exc)) from None
    text: List[str] = []
    lists: Dict[str, List[str]] = {}
    index = 0
    while index < len(words):
        flag, value = _selector_word(words[index])
        if flag is None:
            text.append(words[index])
            index += 1
            continue
        if value is None:
            if index + 1 >= len(words):
                raise UsageError(_("{flag} needs {help}, as in {example}").format(
                                     flag=words[index],
                                     help=_(SELECTORS[flag].help),
                                     example=_EXAMPLES[flag]))
            value = words[index + 1]
            index += 2
        else:
            index += 1
        lists.setdefault(flag, []).append(value)
    selectors = []
    for flag, kind in SELECTORS.items():
        values: set = set()
        for argument in lists.get(flag, []):
            for item in _split(flag, argument):
                values.update(kind.parse(flag, item, True))
        if values:
            selectors.append(Selector(flag, frozenset(values)))
    return Selection(tuple(selectors), " ".join(text))


def strip_selectors(line: str, flags: Optional[set]) -> str:
    """The filter line without the selectors of `flags` (None: every selector), their values with them;
    the other words as they were written. A line that does not split is given back as it is."""
    try:
        words = shlex.split(line)
    except ValueError:
        return line
    kept: List[str] = []
    index = 0
    while index < len(words):
        flag, value = _selector_word(words[index])
        step = 1 if flag is None or value is not None else 2
        if flag is None or flags is not None and flag not in flags:
            kept.extend(words[index:index + step])
        index += step
    return " ".join(shlex.quote(word) for word in kept)
