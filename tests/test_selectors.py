"""Selectors against ps's own selection of the same processes (ps -o with the -j columns)."""

from __future__ import annotations

import os
import pwd

import pytest
from conftest import J_COLUMNS, NOBODY, clean_env, linux_only, needs_ps, root_only, rows_by_pid, run_ps, run_psxj

from psxj.errors import UsageError
from psxj.select import parse_filter

pytestmark = [needs_ps, linux_only]



@pytest.fixture
def population(spawner):
    """Processes in their own sessions, one with real and effective ids that differ."""
    plain = spawner.python("os.setsid()\nREADY()\ntime.sleep(120)")
    second = spawner.python("os.setsid()\nREADY()\ntime.sleep(120)")
    mixed = None
    if os.geteuid() == 0:
        mixed = spawner.python(
            f"os.setsid()\nos.setresgid({NOBODY}, 1, 0)\nos.setresuid({NOBODY}, 1, 0)\nREADY()\ntime.sleep(120)")
    return {"plain": plain.pid, "second": second.pid, "mixed": mixed.pid if mixed else None}


def _compare(psxj_args, ps_args, must_include):
    env = clean_env()
    before = rows_by_pid(run_ps("-o", J_COLUMNS, *ps_args, env=env).stdout)
    ours = run_psxj("--print", *psxj_args, env=env)
    after = rows_by_pid(run_ps("-o", J_COLUMNS, *ps_args, env=env).stdout)
    mine = rows_by_pid(ours.stdout)
    stable = {pid: row for pid, row in before.items() if after.get(pid) == row}
    for pid in must_include:
        assert pid in mine, f"{pid} not selected by {psxj_args}"
        assert mine[pid] == before[pid]
    missing = set(stable) - set(mine)
    assert not missing
    unexpected = {pid for pid in set(mine) - set(before) - set(after) if b"psxj" not in mine[pid]}
    assert not unexpected
    return mine


def test_pid_list_with_commas_and_spaces(population):
    a, b = population["plain"], population["second"]
    mine = _compare(["-p", f"{a},{b}"], ["-p", f"{a},{b}"], [a, b])
    assert set(mine) == {a, b}
    assert set(_compare(["-p", f"{a} {b}"], ["-p", f"{a} {b}"], [a, b])) == {a, b}


def test_pid_selector_restricts_unlike_ps_ax(population):
    result = run_psxj("--print", "-p", "1")
    assert list(rows_by_pid(result.stdout)) == [1]


def test_session(population):
    sid = population["plain"]
    assert set(_compare(["-s", str(sid)], ["-s", str(sid)], [sid])) == {sid}


def test_union_of_selectors(population):
    a, b = population["plain"], population["second"]
    mine = _compare(["-p", str(a), "-s", str(b)], ["-p", str(a), "-s", str(b)], [a, b])
    assert set(mine) == {a, b}


def test_command_name(population):
    with open(f"/proc/{population['plain']}/comm") as f:
        name = f.read().strip()
    _compare(["-C", f"{name},sleep"], ["-C", f"{name},sleep"], [population["plain"]])


def test_no_terminal(population):
    _compare(["-t", "?"], ["-t", "-"], [population["plain"]])


@root_only
@pytest.mark.parametrize("psxj_args, ps_args", [
    (["-u", "1"], ["-u", "1"]),
    (["-u", "daemon"], ["-u", "daemon"]),
    (["-U", str(NOBODY)], ["-U", str(NOBODY)]),
    (["-U", "nobody"], ["-U", "nobody"]),
    (["-g", "1"], ["--group", "1"]),          # -g is effective group; procps' --group is too
    (["-g", "daemon"], ["--group", "daemon"]),
    (["-G", str(NOBODY)], ["-G", str(NOBODY)]),
])
def test_users_and_groups_effective_and_real(population, psxj_args, ps_args):
    mixed = population["mixed"]
    assert pwd.getpwuid(1).pw_name == "daemon"
    mine = _compare(psxj_args, ps_args, [mixed])
    assert population["plain"] not in mine


def test_effective_and_real_are_different_selections(population):
    if population["mixed"] is None:
        pytest.skip("needs root to make real and effective ids differ")
    mixed = population["mixed"]
    assert mixed in rows_by_pid(run_psxj("--print", "-u", "1").stdout)
    assert mixed not in rows_by_pid(run_psxj("--print", "-U", "1").stdout)


def test_filter_line_uses_the_same_syntax():
    selection = parse_filter("-s 12,13 -u root sshd")
    assert {s.flag for s in selection.selectors} == {"-s", "-u"}
    assert selection.text == "sshd"
    with pytest.raises(UsageError):
        parse_filter("-p abc")
    # Words that are not ps selectors are text to find in COMMAND, dashes and all.
    assert parse_filter("python3 -m http.server") == parse_filter("python3 -m http.server")._replace(selectors=())
    assert parse_filter("python3 -m http.server").text == "python3 -m http.server"
    assert parse_filter("bash --norc").text == "bash --norc" and not parse_filter("bash --norc").selectors
    assert parse_filter("--nonsense 3").text == "--nonsense 3"
    # A selector is read as the command line reads it, attached or not, and explained in the user's terms.
    assert parse_filter("-p5 --sid=7").selectors == parse_filter("-p 5 -s 7").selectors
    with pytest.raises(UsageError, match=r"^-p needs process IDs, as in -p 1234,5678$"):
        parse_filter("sleep -p")
    with pytest.raises(UsageError, match="close the quote"):
        parse_filter("'sleep")
