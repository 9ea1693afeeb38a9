"""Untrusted names and arguments: psxj escapes them exactly as procps does, in UTF-8 and C locales."""

from __future__ import annotations

import pytest
from conftest import clean_env, linux_only, needs_ps, rows_by_pid, run_ps, run_psxj, wait_for_zombie

from psxj.escape import Escaper, join_cmdline

pytestmark = [needs_ps, linux_only]

HOSTILE_ARGUMENTS = {
    "controls": [b"tab\there", b"esc\x1b[31mred", b"bell\x07", b"del\x7f"],
    "newline": [b"one\ntwo"],
    "invalid-utf8": [b"bad\xffbyte", b"then\x1bcontrol\x7f"],
    "c1-control": [b"csi\xc2\x9bx"],
    "surrogate": [b"s\xed\xa0\x80s"],
    "overlong": [b"o\xc0\xafo"],
    "bad-continuation": [b"c\xc3xc"],
    "truncated-at-end": [b"t\xe6\x97"],
    "wide-and-combining": ["日本語 e\u0301 \U0001F600".encode()],
    "invisible-and-unassigned": ["a\u200bb\u0378c\u2028d".encode()],
    "private-use": [b"p\xee\x80\x80p"],
    "trailing-space": [b"ends with space "],
    "empty-arguments": [b"", b"", b"x"],
}

LOCALES = {"utf8": {"LANG": "C.UTF-8"}, "c": {"LC_ALL": "C"}}


@pytest.mark.parametrize("locale_name", sorted(LOCALES))
@pytest.mark.parametrize("case", sorted(HOSTILE_ARGUMENTS))
def test_hostile_arguments_match_ps(spawner, case, locale_name):
    proc = spawner.sleeper(*HOSTILE_ARGUMENTS[case])
    env = clean_env(**LOCALES[locale_name])
    theirs = rows_by_pid(run_ps("-axj", env=env).stdout)[proc.pid]
    ours = rows_by_pid(run_psxj("--print", env=env).stdout)[proc.pid]
    assert ours == theirs
    assert b"\x1b" not in ours and b"\x07" not in ours and b"\xc2\x9b" not in ours


HOSTILE_NAMES = {
    "parentheses": b"a) b (c",
    "escape": b"x\x1b[2Jy",
    "invalid": b"n\xff\xfen",
    "utf8": "名前".encode(),
}


@pytest.mark.parametrize("locale_name", sorted(LOCALES))
@pytest.mark.parametrize("case", sorted(HOSTILE_NAMES))
def test_hostile_names_of_zombies_match_ps(spawner, case, locale_name):
    """A zombie has no arguments: ps shows [comm] <defunct>, so the name itself is printed."""
    proc = spawner.python("READY()", comm=HOSTILE_NAMES[case])
    wait_for_zombie(proc.pid)
    env = clean_env(**LOCALES[locale_name])
    theirs = rows_by_pid(run_ps("-axj", env=env).stdout)[proc.pid]
    ours = rows_by_pid(run_psxj("--print", env=env).stdout)[proc.pid]
    assert b"<defunct>" in theirs
    assert ours == theirs


def test_name_with_parentheses_does_not_shift_the_fields(spawner):
    proc = spawner.sleeper(comm=b"a) b (c")
    row = next(r for r in __import__("json").loads(run_psxj("--json", "-p", str(proc.pid)).stdout))
    assert row["comm"] == "a) b (c"
    assert row["ppid"] == __import__("os").getpid()


@pytest.mark.parametrize("raw, joined", [
    (b"", b""),
    (b"sleep\x0030\x00", b"sleep 30"),
    (b"\x0030\x00", b" 30"),
    (b"x\x00trail\x00\x00", b"x trail"),
    (b"title with space ", b"title with space"),
    (b"line\n", b"line"),
    (b"a\nb\x00", b"a b"),
])
def test_cmdline_is_joined_like_read_unvectored(raw, joined):
    assert join_cmdline(raw) == joined


def test_escaped_text_is_stable_when_escaped_again():
    """Loaded files are escaped again: ps output must survive that unchanged."""
    for utf8 in (True, False):
        escaper = Escaper(utf8)
        for args in HOSTILE_ARGUMENTS.values():
            once = escaper.command(b"\0".join(args) + b"\0", b"x", "S")
            assert escaper.text(once) == once
