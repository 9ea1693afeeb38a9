"""psxj(1), the man page, written from psxj's one argparse tree and the interface's key bindings
(tools/cli_tree.py): every command with its options, the selectors, the keys. What the tree does not
hold (exit status, environment, files, examples, see also) is written here, in the page's own words.

`python tools/cli_files.py` writes it (in English, and in Chinese for a zh_CN locale); the test checks
that the shipped page is what it writes.
"""

from __future__ import annotations

import re
from typing import Iterable, List

from cli_tree import Command, Key, Option, Positional, commands, interface_keys, speaking

from psxj.i18n import N_, _

# Sections written by hand, translated through psxj's catalogue (tools/catalogues.py extracts this file):
# each a list of paragraphs; a paragraph "TAG\tTEXT" is a tagged paragraph.
EXIT_STATUS = [
    ("0", N_("the table was printed, or the interface quit normally; audit: no rule fails.")),
    ("1", N_("a selector matched nothing (the header alone is printed, as ps does), input data was bad, a host "
             "failed, or a command could not do its work; audit: a rule fails or a PID does not exist.")),
    ("2", N_("a usage error: an unknown option, a malformed value.")),
    ("129", N_("the interface's terminal went away.")),
    ("130", N_("interrupted with Ctrl-C (psxj events).")),
    ("", N_("psxj demo status answers as an LSB init script: 0 running, 1 dead but the pidfile remains, "
            "3 not running, 4 unknown.")),
]
ENVIRONMENT = [
    ("LANGUAGE, LC_ALL, LC_MESSAGES, LANG", N_("the language of messages and of the interface (en or zh), as "
                                              "gettext chooses it; --lang overrides them. Whether text is UTF-8 "
                                              "follows the locale, as for ps.")),
    ("COLUMNS", N_("the width of --print's table on a terminal, as ps uses it.")),
    ("XDG_RUNTIME_DIR", N_("the demo's run directory is $XDG_RUNTIME_DIR/psxj when that directory is the "
                           "caller's own, else /tmp/psxj-UID.")),
    ("XDG_CONFIG_HOME, HOME", N_("where the interface keeps its remembered choices.")),
]
FILES = [
    ("/proc", N_("the live processes: psxj reads them there, and never follows a symbolic link it did not make.")),
    ("$XDG_CONFIG_HOME/psxj/config.json, ~/.config/psxj/config.json", N_("the interface's theme and optional "
                                                                         "columns.")),
    ("$XDG_RUNTIME_DIR/psxj/, /tmp/psxj-UID/", N_("the demo's run directory: psxj-demo.pid (locked while the demo "
                                                  "runs) and psxj-demo.log. Refused when another user made it or "
                                                  "may write to it.")),
    ("~/.ssh/config, ~/.ssh/known_hosts", N_("read by ssh for --host; unknown host keys are refused.")),
]
EXAMPLES = [
    ("psxj", N_("the live table on a terminal; into a pipe, the same table ps -axj prints")),
    ("psxj -s 1234 -u alice", N_("session 1234 and alice's processes")),
    ("psxj --kind daemon-like --print", N_("init, services and daemons, as text")),
    ("psxj audit --all", N_("every daemon-like process against the rules that fit it")),
    ("psxj events --follow $$", N_("fork, exec, setsid and exit under this shell, as they happen")),
    ("ssh web1 ps -axj | psxj --load -", N_("another machine's table, with nothing installed there")),
    ("psxj record /var/tmp/rec --max-size 300M", N_("the table every 2 seconds; psxj --load /var/tmp/rec --at 03:00 "
                                                   "shows it as it was")),
    ("psxj demo start", N_("the teaching daemon: watch it detach, then audit it with psxj audit PID")),
]
COMMON = {("-h", "--help"), ("--lang",)}   # every command takes them: described once, under psxj's options
SEE_ALSO = "ps(1), pstree(1), htop(1), kill(1), setsid(1), nohup(1), ssh(1), proc(5), credentials(7), daemon(7), " \
           "systemd.exec(5)"
SELECTORS = N_("Lists are comma- or space-separated; several selectors select the union of what each selects. "
               "Unlike ps -axj -p 1 (where ax has already selected everything), a psxj selector restricts the "
               "table. User and group names are resolved on this machine; numbers are compared as numbers.")
TITLES = {
    "NAME": N_("NAME"), "SYNOPSIS": N_("SYNOPSIS"), "DESCRIPTION": N_("DESCRIPTION"), "OPTIONS": N_("OPTIONS"),
    "SELECTORS": N_("SELECTORS"), "COMMANDS": N_("COMMANDS"), "KEYS": N_("INTERFACE KEYS"),
    "EXIT STATUS": N_("EXIT STATUS"), "ENVIRONMENT": N_("ENVIRONMENT"), "FILES": N_("FILES"),
    "EXAMPLES": N_("EXAMPLES"), "SEE ALSO": N_("SEE ALSO"), "manual": N_("psxj manual"),
    "keys": N_("In the interface (press ? for its help, with the selected process's values):"),
}


def man_page(language: str = "en") -> str:
    """psxj.1 in `language`."""
    with speaking(language):
        return _page(commands(language), interface_keys(language))


def _page(all_commands: List[Command], keys: List[Key]) -> str:
    from psxj import __version__

    table, subcommands = all_commands[0], all_commands[1:]
    title = {key: _(words) for key, words in TITLES.items()}
    out: List[str] = [
        '.\\" psxj.1: written by tools/cli_files.py from psxj\'s argparse tree. Do not edit; run it again.',
        f'.TH PSXJ 1 "" "psxj {__version__}" "{title["manual"]}"',
        ".nh",     # no hyphens in option names
        ".ad l",   # ragged right: a terminal's page reads better without stretched spaces
        f".SH {quoted(title['NAME'])}",
        "psxj \\- " + text(first_sentence(table.description)),
        f".SH {quoted(title['SYNOPSIS'])}",
    ]
    for command in all_commands:
        out += [".PP", synopsis(command)]
    out += [f".SH {quoted(title['DESCRIPTION'])}", text(table.description)]
    out += [f".SH {quoted(title['OPTIONS'])}"]
    selectors = selector_options(table)
    for number, (heading, options) in enumerate(grouped([o for o in table.options if o not in selectors])):
        if number:   # the first group is argparse's own "options"
            out += [f".SS {quoted(heading)}"]
        out += [line for option in options for line in option_entry(option)]
    out += [f".SH {quoted(title['SELECTORS'])}", text(_(SELECTORS)), ".PP", text(selectors[0].group)]
    out += [line for option in selectors for line in option_entry(option)]
    out += [f".SH {quoted(title['COMMANDS'])}"]
    shared = {option.flags for option in table.options if option in selectors or option.flags in COMMON}
    for command in subcommands:
        out += command_section(command, shared, selectors)
    out += [f".SH {quoted(title['KEYS'])}", text(title["keys"])]
    out += [line for key in keys for line in key_entry(key)]
    out += section(title["EXIT STATUS"], EXIT_STATUS)
    out += section(title["ENVIRONMENT"], ENVIRONMENT)
    out += section(title["FILES"], FILES)
    out += [f".SH {quoted(title['EXAMPLES'])}"]
    for command, what in EXAMPLES:
        out += [".TP", f"\\fB{text(command)}\\fR", text(_(what))]
    out += [f".SH {quoted(title['SEE ALSO'])}", text(SEE_ALSO)]
    return "\n".join(out) + "\n"


def synopsis(command: Command) -> str:
    """The usage line, the program in bold and the words in capitals in italics."""
    words = [f"\\fB{text(command.prog)}\\fR"]
    for word in re.split(r"(\s+)", command.usage[len(command.prog):].strip()):
        words.append(re.sub(r"\b([A-Z][A-Z_0-9]+)\b", lambda m: f"\\fI{m.group(1)}\\fR", text(word)))
    return "".join(words[:1]) + " " + "".join(words[1:])


def selector_options(table: Command) -> List[Option]:
    """ps's selectors: the options of -p's group."""
    [group] = {option.group for option in table.options if "-p" in option.flags}
    return [option for option in table.options if option.group == group]


def command_section(command: Command, shared: set, selectors: List[Option]) -> List[str]:
    """A subcommand: its usage, what it does, its own options; the selectors, --help and --lang it shares
    with psxj are named, not described again."""
    out = [f".SS {quoted(command.prog)}", synopsis(command), ".PP"]
    out += [text(command.description or command.summary)]
    for positional in command.positionals:
        out += positional_entry(positional)
    own = [option for option in command.options if option.flags not in shared]
    for option in own:
        out += option_entry(option)
    if any(option.flags == selectors[0].flags for option in command.options):
        flags = ", ".join(f"\\fB{text(option.flags[0])}\\fR" for option in selectors)
        out += [".TP", flags, text(selectors[0].group)]
    if command.epilog:
        out += [".PP"] + (raw_lines(command.epilog) if command.raw_epilog else [text(command.epilog)])
    return out


def grouped(options: Iterable[Option]):
    """The options under their --help headings, in the order the headings first come."""
    groups: dict = {}
    for option in options:
        groups.setdefault(option.group, []).append(option)
    return list(groups.items())


def option_entry(option: Option) -> List[str]:
    flags = ", ".join(f"\\fB{text(flag)}\\fR" for flag in option.flags)
    value = f" \\fI{text(option.metavar)}\\fR" if option.metavar else ""
    return [".TP", flags + value, text(option.help)]


def positional_entry(positional: Positional) -> List[str]:
    many = " ..." if positional.many else ""
    return [".TP", f"\\fI{text(positional.metavar)}\\fR{many}", text(positional.help or "")]


def key_entry(key: Key) -> List[str]:
    return [".TP", f"\\fB{text(key.keys)}\\fR", text(key.action)]


def section(heading: str, paragraphs) -> List[str]:
    out = [f".SH {quoted(heading)}"]
    for tag, words in paragraphs:
        out += [".TP", f"\\fB{text(tag)}\\fR", text(_(words))] if tag else [".PP", text(_(words))]
    return out


def raw_lines(epilog: str) -> List[str]:
    """An epilog laid out by hand (audit's profiles and rules): `  name   text` lines become tagged
    paragraphs, other lines paragraphs."""
    out: List[str] = []
    for line in epilog.splitlines():
        entry = re.match(r"\s{2,}(\S+)\s{2,}(.*)\Z", line)
        if entry:
            out += [".TP", f"\\fB{text(entry.group(1))}\\fR", text(entry.group(2))]
        elif line.strip():
            out += [".PP", text(line.strip())]
    return out


def first_sentence(description: str) -> str:
    """The description up to its first colon or full stop (English or Chinese), for NAME."""
    sentence = re.split(r"[:：。]|\.\s", description, maxsplit=1)[0].strip()
    return sentence[:1].lower() + sentence[1:]


def text(words: str) -> str:
    """Text as troff reads it: backslashes and minus signs escaped, `code` in bold, no line that starts
    a request."""
    escaped = words.replace("\\", "\\e").replace("-", "\\-")
    escaped = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", escaped)
    lines = []
    for line in escaped.splitlines() or [""]:
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def quoted(heading: str) -> str:
    return '"' + heading.replace('"', "'") + '"'
