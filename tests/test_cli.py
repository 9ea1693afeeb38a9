"""Bad input: one line on stderr, a documented exit status, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT, clean_env, run_psxj


@pytest.mark.parametrize("args, status, message", [
    (["-p", "abc"], 2, "-p: invalid process ID 'abc'"),
    (["-p", "0"], 2, "-p: invalid process ID '0'"),
    (["-s", "-5"], 2, "-s: invalid session ID '-5'"),
    (["-p", ","], 2, "-p: empty list"),
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
