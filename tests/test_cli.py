"""Bad input: one line on stderr, a documented exit status, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, clean_env, run_psxj


@pytest.mark.parametrize("args, status, message", [
    # procps' own words for lists and ids (parse_list, parse_pid, parse_uid in ps/parser.c)
    (["-p", "abc"], 2, "-p: process ID list syntax error at 'abc'"),
    (["-p", "0"], 2, "-p: process ID out of range: '0'"),
    (["-p", "0x80000000"], 2, "-p: process ID out of range"),
    (["-s", "-5"], 2, "-s: session ID out of range: '-5'"),
    (["-s", "0"], 2, "-s: session ID out of range: '0'"),
    (["-p", ","], 2, "-p: improper list"),
    (["-p", "1,,2"], 2, "-p: improper list '1,,2'"),
    (["-p", ""], 2, "-p: improper list"),
    (["-p", "²"], 2, "-p: process ID list syntax error at '²'"),
    (["-u", "9" * 4400], 2, "-u: user ID out of range (4400 digits)"),
    (["-U", "9" * 4400], 2, "-U: user ID out of range (4400 digits)"),
    (["-g", "9" * 4400], 2, "-g: group ID out of range (4400 digits)"),
    (["-p", "9" * 4400], 2, "-p: process ID out of range (4400 digits)"),
    (["-u", "4294967295"], 2, "-u: user ID out of range"),
    (["-u", "²"], 1, "-u: no such user '²'"),
    (["-u", "no_such_user_psxj"], 1, "-u: no such user 'no_such_user_psxj'"),
    (["-U", "no_such_user_psxj"], 1, "-U: no such user"),
    (["-g", "no_such_group_psxj"], 1, "-g: no such group"),
    (["-G", "no_such_group_psxj"], 1, "-G: no such group"),
    (["--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (["-p"], 2, "expected one argument"),
    (["--delay", "soon"], 2, "not a number"),
    (["--print", "--json"], 2, "not allowed with"),
])
def test_bad_input(args, status, message):
    result = run_psxj(*args)
    err = result.stderr.decode()
    assert result.returncode == status
    assert err.startswith("psxj: ") and err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_numbers_are_read_as_strtoul_reads_them():
    """ps takes -p 0x1 and -p 01 (strtoul, base 0): so does psxj."""
    for spelling in ("0x1", "01", "+1"):
        result = run_psxj("--print", "-p", spelling)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[1].split()[1] == b"1"


def test_selector_that_matches_nothing_prints_the_header_and_fails():
    result = run_psxj("--print", "-p", str(2**22 + 7))
    assert result.returncode == 1
    assert result.stdout.split() == b"PPID PID PGID SID TTY TPGID STAT UID TIME COMMAND".split()


def test_pipe_gets_text_and_a_closed_pipe_is_quiet():
    proc = subprocess.Popen([sys.executable, "-m", "psxj"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT, env=clean_env())
    first = proc.stdout.readline()
    proc.stdout.close()  # like `psxj | head -1`
    err = proc.stderr.read()
    proc.wait(timeout=30)
    assert first.split()[:3] == [b"PPID", b"PID", b"PGID"]
    assert b"Traceback" not in err


def test_python_dash_m_and_version():
    result = run_psxj("--version")
    assert result.returncode == 0 and result.stdout.startswith(b"psxj ")


def test_help_lists_every_selector():
    text = run_psxj("--help").stdout.decode()
    for flag in ("-p", "-s", "-u", "-U", "-g", "-G", "-t", "-C", "--load", "--json", "--csv", "--print"):
        assert flag in text


def test_one_argparse_tree_holds_every_subcommand_with_the_parser_it_runs_with():
    """What a man page and shell completions are made from: the table's options at the root, every
    subcommand a branch with its help, each branch the very parser that subcommand parses with."""
    import argparse
    import importlib
    import pkgutil

    import psxj.commands
    from psxj.commands import main as commands
    from psxj.commands import table

    tree = commands.build_parser()
    [branch] = [action for action in tree._actions if isinstance(action, argparse._SubParsersAction)]
    assert list(branch.choices) == list(commands.SUBCOMMANDS) == ["record", "diff", "audit", "events", "why",
                                                                  "demo", "serve"]
    assert [choice.help for choice in branch._choices_actions] == \
        [commands.subcommand(name).SUMMARY for name in commands.SUBCOMMANDS]
    for name, parser in branch.choices.items():
        assert parser.prog == f"psxj {name}"
        assert parser.format_help() == commands.subcommand(name).build_parser().format_help()
    options = {flag for action in table.build_parser()._actions for flag in action.option_strings}
    assert options <= {flag for action in tree._actions for flag in action.option_strings}
    # A module of psxj.commands that is a subcommand (it has a SUMMARY) is in the tree.
    summarised = {info.name for info in pkgutil.iter_modules(psxj.commands.__path__)
                  if hasattr(importlib.import_module(f"psxj.commands.{info.name}"), "SUMMARY")}
    assert summarised == set(commands.SUBCOMMANDS)
