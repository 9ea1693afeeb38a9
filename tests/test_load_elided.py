"""--load of a ps table a person quoted: rows left out, a `...` line in their place (issue 24, bug 13).

Manuals, notes and forum posts quote `ps -axj` with the boring rows cut and a line of `...` (`…`,
`[...]`, `<snip>`) where they were. psxj skips such a line, says on one line of stderr which lines it
skipped, and reads the rest as if those rows had never been there; a line that is neither a row nor
an elision is still refused. The tables here are the real ps's output of this machine (procps -axj,
-axjf and -efj, busybox's -o list), edited the way people edit them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from conftest import PtySession, clean_env, linux_only, needs_ps, run_ps, run_psxj

pytestmark = [linux_only, needs_ps]

# Each way people mark a cut, as it appears on its own line (indented as pasted, or not).
ELISIONS = ["...", "    ...", "…", "  […]", "[...]", "[ ... ]", "(...)", ". . .", "⋮", "<snip>", "-- snip --",
            "[snip]", "......", "…\t", "\t...  "]
# Lines that are not rows and do not say "rows left out here": still errors, naming the line.
GARBAGE = ["and so on", "... and 200 more", "(output trimmed)", "1 2 3", "----", "???", ".", "...x", "x...",
           "[...] sshd", "PID ..."]
COMPARED = ("ppid", "pid", "pgid", "sid", "tty", "tpgid", "stat", "uid", "user", "command")


def busybox_table() -> bytes:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("no busybox (Debian: busybox-static)")
    return subprocess.run([busybox, "ps", "-o", "pid,ppid,pgid,sid,tty,stat,user,args"], capture_output=True,
                          check=True).stdout


def real_table(kind: str) -> bytes:
    if kind == "busybox -o":
        return busybox_table()
    return run_ps(*kind.split()).stdout


def load_json(path, *args):
    result = run_psxj("--json", "--load", str(path), *args)
    return result, {row["pid"]: {k: row[k] for k in COMPARED} for row in json.loads(result.stdout or b"[]")}


def cut(lines, cuts):
    """The table with each (start, end) range of lines replaced by one elision line."""
    kept, removed, elided_at = [], [], []
    position = 0
    for (start, end), mark in cuts:
        kept += lines[position:start]
        elided_at.append(len(kept) + 1)   # 1-based line number of the mark in the edited file
        kept.append(mark)
        removed += lines[start:end]
        position = end
    return kept + lines[position:], removed, elided_at


@pytest.mark.parametrize("kind", ["-axj", "-axjf", "-efj", "busybox -o"])
def test_rows_left_out_with_a_mark_are_read_as_the_rest_of_the_table(tmp_path, kind):
    original = real_table(kind).decode("utf-8", "surrogateescape")
    lines = original.splitlines()
    assert len(lines) > 12, "too few processes to cut"
    whole = tmp_path / "whole.txt"
    whole.write_text(original, encoding="utf-8", errors="surrogateescape")
    # Cut three blocks (one at the very end) and mark each in its own way.
    cuts = [((3, 6), ELISIONS[0]), ((8, 9), ELISIONS[4]), ((len(lines) - 2, len(lines)), ELISIONS[3])]
    edited_lines, removed, elided_at = cut(lines, cuts)
    edited = tmp_path / "edited.txt"
    edited.write_text("\n".join(edited_lines) + "\n", encoding="utf-8", errors="surrogateescape")

    result, rows = load_json(edited)
    assert result.returncode == 0, result.stderr
    _, all_rows = load_json(whole)
    removed_pids = set(all_rows) - set(rows)
    assert len(removed_pids) == len(removed)
    assert rows == {pid: row for pid, row in all_rows.items() if pid not in removed_pids}
    # One line on stderr, naming the lines skipped.
    err = result.stderr.decode()
    assert err.count("\n") == 1, err
    assert err == (f"psxj: note: {edited}: skipped 3 lines that stand for rows left out (`...` and the like): "
                   f"lines {', '.join(map(str, elided_at))}\n")


def test_print_of_an_edited_procps_table_is_the_original_less_its_cut_rows(tmp_path):
    """Byte for byte: what is left prints exactly as ps printed it, whatever marks the cuts."""
    lines = run_ps("-axj").stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 4 + 2 * len(ELISIONS):
        pytest.skip("too few processes")
    cuts = [((2 + 2 * i, 3 + 2 * i), mark) for i, mark in enumerate(ELISIONS)]
    edited_lines, removed, elided_at = cut(lines, cuts)
    edited = tmp_path / "edited.txt"
    # As pasted from a browser on another system: CRLF line ends.
    edited.write_bytes("\r\n".join(edited_lines).encode("utf-8", "surrogateescape") + b"\r\n")
    result = run_psxj("--print", "--load", str(edited))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8", "surrogateescape").splitlines() == \
        [line for line in lines if line not in removed]
    assert result.stderr.decode().endswith(
        f"lines {', '.join(map(str, elided_at[:10]))}, ...\n")   # 15 skipped: the first ten named
    assert f"skipped {len(ELISIONS)} lines" in result.stderr.decode()


def test_one_mark_is_said_in_the_singular_and_in_chinese(tmp_path):
    lines = run_ps("-axj").stdout.decode("utf-8", "surrogateescape").splitlines()
    edited = tmp_path / "one.txt"
    edited.write_text("\n".join(lines[:3] + ["..."] + lines[5:]) + "\n", encoding="utf-8", errors="surrogateescape")
    result = run_psxj("--print", "--load", str(edited))
    assert result.returncode == 0
    assert result.stderr.decode() == (f"psxj: note: {edited}: skipped line 4, which stands for rows left out "
                                      "(`...` and the like)\n")
    chinese = run_psxj("--lang", "zh", "--print", "--load", str(edited))
    assert chinese.returncode == 0 and chinese.stdout == result.stdout
    err = chinese.stderr.decode()
    assert err.count("\n") == 1 and "4" in err and re.search(r"[\u4e00-\u9fff]", err), err


def test_a_mark_before_the_header_and_in_a_diff(tmp_path):
    lines = run_ps("-axj").stdout.decode("utf-8", "surrogateescape").splitlines()
    before = tmp_path / "before.txt"
    before.write_text("\n".join(["[...]"] + lines) + "\n", encoding="utf-8", errors="surrogateescape")
    after = tmp_path / "after.txt"
    after.write_text("\n".join(lines[:2] + ["…"] + lines[2:]) + "\n", encoding="utf-8", errors="surrogateescape")
    result = run_psxj("diff", str(before), str(after))
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode().splitlines()
    assert err == [f"psxj: note: {before}: skipped line 1, which stands for rows left out (`...` and the like)",
                   f"psxj: note: {after}: skipped line 3, which stands for rows left out (`...` and the like)"]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_line_that_is_neither_a_row_nor_a_mark_is_still_refused(tmp_path, garbage):
    lines = run_ps("-axj").stdout.decode("utf-8", "surrogateescape").splitlines()
    edited = tmp_path / "garbage.txt"
    edited.write_text("\n".join(lines[:3] + ["...", garbage] + lines[5:]) + "\n", encoding="utf-8",
                      errors="surrogateescape")
    result = run_psxj("--print", "--load", str(edited))
    assert result.returncode == 1 and result.stdout == b""
    err = result.stderr.decode()
    assert err.count("\n") == 1 and f"{edited}: line 5: " in err and "Traceback" not in err, err


def test_a_table_of_marks_only_is_not_a_table(tmp_path):
    marks = tmp_path / "marks.txt"
    marks.write_text("...\n[...]\n")
    result = run_psxj("--print", "--load", str(marks))
    assert result.returncode == 1 and result.stderr.count(b"\n") == 1 and b"not a ps table header" in result.stderr


@pytest.mark.slow
def test_the_interface_says_what_it_skipped_when_it_quits(tmp_path):
    """On a terminal the loaded table opens the interface; the note comes once the screen is back."""
    import sys

    lines = run_ps("-axj").stdout.decode("utf-8", "surrogateescape").splitlines()
    edited = tmp_path / "quoted.txt"
    edited.write_text("\n".join(lines[:3] + ["[...]"] + lines[6:]) + "\n", encoding="utf-8",
                      errors="surrogateescape")
    session = PtySession([sys.executable, "-m", "psxj", "--load", str(edited)], env=clean_env())
    try:
        assert session.wait_for(b"quoted.txt"), bytes(session.output[-2000:])
        session.type(b"q")
        assert session.proc.wait(timeout=20) == 0
        assert session.wait_for(b"skipped line 4, which stands for rows left out"), bytes(session.output[-2000:])
    finally:
        session.close()


def test_what_counts_as_a_mark():
    from psxj.sources.pstext import is_elision

    assert all(is_elision(mark) for mark in ELISIONS)
    assert not any(is_elision(line) for line in GARBAGE + ["", "   "])
