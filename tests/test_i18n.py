"""psxj in Simplified Chinese: the catalogues complete and in step with the source; real output in
Chinese (the audit of a real daemon, usage errors, the locale's choice, the interface on a real
terminal); machine output identical in both languages and to the real `ps -axj`; and the interface's
layouts holding with double-width characters, nothing cut, at 80x24 and 60x20."""

from __future__ import annotations

import argparse
import gettext
import io
import json
import os
import re
import signal
import string
import subprocess
import sys
import time
from collections import Counter
from typing import Dict, List, Sequence

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from conftest import (
    FIXTURES,
    ROOT,
    LiveReader,
    PtySession,
    clean_env,
    linux_only,
    needs_ps,
    rows_by_pid,
    run_ps,
    run_psxj,
    wait_for_zombie,
)
from textual.content import Content
from textual.geometry import Region
from textual.widgets import Static

from psxj import i18n
from psxj.cells import cells, wrap

sys.path.insert(0, str(ROOT / "tools"))
import catalogues  # noqa: E402  (tools/catalogues.py: Babel, a test and maintenance dependency)

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
ZH_ENV = {"LANG": "zh_CN.UTF-8"}


def _po(locale: str = "zh_CN"):
    with open(catalogues.po_path(locale), "rb") as f:
        return read_po(f, locale=locale)


def _template():
    with open(catalogues.TEMPLATE, "rb") as f:
        return read_po(f)


def _ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


def chinese_of(message: str) -> str:
    """The shipped catalogue's translation, read by the standard library as psxj reads it."""
    return gettext.translation("psxj", i18n.LOCALE_DIR, languages=["zh_CN"]).gettext(message)


def env_without_locale(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in clean_env().items() if k not in ("LANG", "LANGUAGE", "LC_MESSAGES")}
    env.update(extra)
    return env


# --- the catalogues -----------------------------------------------------------------------------

def test_every_message_has_a_chinese_translation():
    po = _po()
    missing = [m.id for m in _template() if m.id and not (po.get(m.id) and catalogues.translated(po.get(m.id)))]
    fuzzy = [m.id for m in po if m.id and m.fuzzy]
    assert not missing, f"{len(missing)} messages without a translation, e.g. {missing[:5]}"
    assert not fuzzy, f"{len(fuzzy)} translations marked fuzzy (to be checked), e.g. {fuzzy[:5]}"


def test_the_shipped_mo_is_a_fresh_compile_of_the_po_and_gettext_reads_every_translation():
    with open(catalogues.mo_path("zh_CN"), "rb") as f:
        shipped = f.read()
    # What gettext reads, not the bytes: another Babel release compiles the same catalogue with its
    # own name in the header.
    assert catalogues.mo_content(shipped) == catalogues.mo_content(catalogues.compiled(catalogues.po_path("zh_CN"))), \
        "psxj.mo is stale: run python tools/catalogues.py"
    translation = gettext.translation("psxj", i18n.LOCALE_DIR, languages=["zh_CN"])
    for message in _po():
        if message.id and not message.pluralizable:
            assert translation.gettext(message.id) == message.string, message.id


def test_the_template_has_every_marked_message_of_the_source_and_no_other():
    extracted = _ids(catalogues.extract())
    template = _ids(_template())
    assert extracted - template == set(), "messages not in psxj.pot: run python tools/catalogues.py"
    assert template - extracted == set(), "psxj.pot has messages the source no longer has"
    assert _ids(_po()) == template, "the zh_CN .po is not updated from the template"


def test_a_generator_header_is_no_change_but_a_translation_is():
    """The check compares content: a catalogue that differs only in the generator's name and dates is
    up to date (a new Babel release), one whose translation changed is stale, in the .po and the .mo."""
    with open(catalogues.po_path("zh_CN"), "rb") as f:
        po = f.read()
    assert b"Generated-By: Babel" in po
    regenerated = re.sub(rb"Generated-By: Babel [^\\]*", b"Generated-By: Babel 99.0.0", po)
    regenerated = re.sub(rb"PO-Revision-Date: [^\\]*", b"PO-Revision-Date: 2099-01-01 00:00+0000", regenerated)
    assert regenerated != po
    assert catalogues.po_content(regenerated) == catalogues.po_content(po)
    message = next(m for m in _po() if m.id and isinstance(m.string, str) and m.string and _po_line(m.string) in po)
    retranslated = po.replace(_po_line(message.string), _po_line(message.string + "！"), 1)
    assert retranslated != po
    assert catalogues.po_content(retranslated) != catalogues.po_content(po)
    mo = catalogues._mo_bytes(read_po(io.BytesIO(po)))
    assert catalogues.mo_content(catalogues._mo_bytes(read_po(io.BytesIO(regenerated)))) == catalogues.mo_content(mo)
    assert catalogues.mo_content(catalogues._mo_bytes(read_po(io.BytesIO(retranslated)))) != catalogues.mo_content(mo)


def _po_line(text: str) -> bytes:
    """How a short translation is written in the .po: msgstr "..." on one line."""
    return ('msgstr "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"').encode()


def test_the_catalogue_tool_finds_nothing_stale():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "catalogues.py"), "--check"],
                            capture_output=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


_PERCENT = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?([sdrifxXgGec%])")


def placeholders(text: str) -> Counter:
    """{name}, {name!r}, {name:>7} and %s, %(name)s, %r, each counted with its conversion and format."""
    found: Counter = Counter()
    try:
        for _literal, field, spec, conversion in string.Formatter().parse(text):
            if field is not None:
                found[f"{{{field}!{conversion}:{spec}}}"] += 1
    except ValueError:
        found["<unbalanced braces>"] += 1
    for name, kind in _PERCENT.findall(text):
        if kind != "%":
            found[f"%({name}){kind}"] += 1
    return found


MARKUP = re.compile(r"\[/?(?:b|i|u|bold|italic|dim|underline|reverse)\]")   # the tags psxj's messages use


def test_placeholders_and_markup_are_the_same_in_every_translation():
    """A translation that drops {pid} loses a value; one that adds {pdi} raises KeyError at run time;
    one that loses [/b] breaks Textual's markup."""
    wrong = []
    for message in _po():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            if placeholders(text) != placeholders(ids[-1]) and placeholders(text) != placeholders(ids[0]):
                wrong.append((ids[0], text))
            if sorted(MARKUP.findall(text)) != sorted(MARKUP.findall(ids[0])):
                wrong.append((ids[0], text))
            elif MARKUP.search(ids[0]):
                Content.from_markup(text)   # raises on broken markup
    assert not wrong, wrong[:5]


# argparse's messages that psxj's parsers never produce: programmer errors, subcommands, FileType, and
# counted values (psxj has no nargs=N).
_ARGPARSE_NOT_SEEN = {
    ".__call__() not defined", "unknown parser %(parser_name)r (choices: %(choices)s)", 'argument "-" with mode %r',
    "can't open '%(filename)s': %(error)s", "cannot merge actions - two groups are named %r",
    "'required' is an invalid argument for positionals", "dest= is required for options like %r",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r",
    "invalid conflict_resolution value: %r", "conflicting option string: %s", "%r is not callable",
    "mutually exclusive arguments must be optional", "cannot have multiple subparser arguments",
    "conflicting subparser: %s", "conflicting subparser alias: %s", "%(prog)s: error: %(message)s\n",
    "expected %s argument", " (default: %(default)s)", "subcommands", "command '%(parser_name)s' is deprecated",
    "option '%(option)s' is deprecated", "argument '%(argument_name)s' is deprecated",
    "%(prog)s: warning: %(message)s\n",
}


def test_argparse_messages_of_this_python_are_in_the_catalogue():
    """A Chinese usage error is Chinese throughout: argparse's own words are translated too."""
    po = _po()
    said = {message if isinstance(message, str) else message[0]
            for _line, message, _comments, _context in extract_from_file(
                "python", argparse.__file__, keywords={"_": None, "ngettext": (1, 2)})}
    missing = [m for m in said - _ARGPARSE_NOT_SEEN if not (po.get(m) and po.get(m).string)]
    assert not missing


# --- wrapping by cells, on the catalogue's own Chinese -----------------------------------------------

@pytest.mark.parametrize("width", [12, 17, 30, 47, 80])
def test_chinese_wraps_within_the_width_losing_nothing_and_never_before_a_closing_mark(width):
    for message in _po():
        if not message.string or not isinstance(message.string, str) or message.string.isascii():
            continue
        text = " ".join(message.string.split())
        lines = wrap(text, width)
        assert "".join("".join(lines).split()) == "".join(text.split()), text
        for number, line in enumerate(lines):
            assert cells(line) <= width, (width, line)
            if number:
                assert line.lstrip()[:1] not in set("，。、；：？！）」』》"), (width, lines)


# --- real output in Chinese ----------------------------------------------------------------------

@linux_only
def test_the_audit_of_a_real_daemon_is_in_chinese_and_its_json_is_not(spawner):
    from test_audit import start_daemon

    pid = start_daemon(spawner, "--no-second-fork", "--umask", "022")
    english = run_psxj("--lang", "en", "audit", str(pid))
    chinese = run_psxj("--lang", "zh", "audit", str(pid))
    assert english.returncode == chinese.returncode == 1, chinese.stderr  # a rule fails
    def rule_lines(output: bytes, words) -> List[tuple]:
        """(verdict, rule, evidence) of the lines of checked rules."""
        found = [re.match(r"^  (\S+) +([a-z][a-z-]+) +(.*)$", line) for line in output.decode().splitlines()]
        return [m.groups() for m in found if m and m.group(1) in words]

    verdicts = ("PASS", "FAIL", "UNKNOWN")
    en = rule_lines(english.stdout, verdicts)
    zh = rule_lines(chinese.stdout, [chinese_of(word) for word in verdicts])
    assert [rule for _v, rule, _e in zh] == [rule for _v, rule, _e in en] and len(zh) >= 10
    for (en_verdict, rule, en_evidence), (zh_verdict, _rule, zh_evidence) in zip(en, zh):
        assert zh_verdict == chinese_of(en_verdict) != en_verdict, rule
        if re.search(r"[a-z]{3,} [a-z]{3,}", en_evidence):   # words, not only `cwd /`
            assert CJK.search(zh_evidence) and zh_evidence != en_evidence, (rule, zh_evidence)
    failed = dict((rule, evidence) for verdict, rule, evidence in zh if verdict == chinese_of("FAIL"))
    assert "not-session-leader" in failed and f"SID {pid} == PID" in failed["not-session-leader"]
    text = chinese.stdout.decode()
    assert chinese_of("kind: {kind} ({meaning})").split("{")[0] in text
    # Machine output is English in every language, byte for byte.
    assert run_psxj("--lang", "zh", "audit", "--json", str(pid)).stdout == \
        run_psxj("--lang", "en", "audit", "--json", str(pid)).stdout


@pytest.mark.parametrize("argv", [
    ["--delay", "x"], ["--bogus"], ["--json", "--csv"], ["-p"], ["-p", "abc"], ["audit"], ["diff"],
    ["audit", "--profile", "zz", "1"], ["--print=x"], ["events", "--duration", "-1"],
])
def test_a_usage_error_in_chinese_is_one_chinese_line(argv):
    result = run_psxj("--lang", "zh", *argv)
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("psxj: ") and CJK.search(err), err
    for english in ("argument", "unrecognized", "required", "invalid", "expected", "not allowed", "usage"):
        assert english not in err, err


@pytest.mark.parametrize("argv, quoted", [
    (["--lang", "xx", "--print"], "'xx'"), (["--lang=fr", "--print"], "'fr'"), (["--print", "--lang"], None),
    (["audit", "--lang", "zh_TW", "1"], "'zh_TW'"),
])
def test_an_unknown_language_is_a_one_line_usage_error(argv, quoted):
    result = run_psxj(*argv)
    err = result.stderr.decode()
    assert result.returncode == 2 and result.stdout == b"" and err.count("\n") == 1, err
    assert err.startswith("psxj: --lang: ") and "en" in err and "zh" in err
    assert quoted is None or quoted in err


@pytest.mark.parametrize("env, language", [
    ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "C"}, "en"), ({}, "en"), ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "en"), ({"LANG": "C", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh"), ({"LANG": "zh_CN.UTF-8", "LANGUAGE": "fr:en"}, "en"),
    # GNU gettext ignores LANGUAGE in the C locale; so does psxj.
    ({"LANG": "C", "LANGUAGE": "zh_CN"}, "en"),
    ({"LANG": "zh_TW.UTF-8"}, "zh"), ({"LANG": "fr_FR.UTF-8"}, "en"),
])
def test_the_locale_chooses_the_language_without_lang(env, language):
    result = run_psxj("audit", env=env_without_locale(**env))
    english = "psxj: audit: name at least one PID, or --all\n"
    chinese = "psxj: " + chinese_of("audit: name at least one PID, or --all") + "\n"
    assert chinese != english
    assert result.returncode == 2 and result.stderr.decode() == (chinese if language == "zh" else english)


def test_lang_overrides_the_locale():
    assert CJK.search(run_psxj("--lang", "zh", "audit", env=env_without_locale(LANG="C")).stderr.decode())
    assert not CJK.search(run_psxj("--lang", "en", "audit", env=env_without_locale(**ZH_ENV)).stderr.decode())


def test_help_is_chinese_and_fits_the_terminal_width():
    result = run_psxj("--lang", "zh", "--help", env=clean_env(COLUMNS="60"))
    text = result.stdout.decode()
    assert result.returncode == 0 and text.startswith(chinese_of("usage: "))
    assert chinese_of("show this help message and exit") in text
    assert all(cells(line) <= 60 for line in text.splitlines()), text
    # The usage's next lines start under the program's name, as in English.
    first, second = text.splitlines()[:2]
    assert cells(first[:first.index("psxj")]) == cells(second) - len(second.lstrip()) - len("psxj ")


@linux_only
@pytest.mark.parametrize("env, word", [(ZH_ENV, "个进程".encode()), ({"LANG": "C.UTF-8"}, b" processes")])
def test_the_interface_on_a_real_terminal_follows_the_locale(env, word):
    session = PtySession([sys.executable, "-m", "psxj", "--no-events"], columns=80, lines=24,
                         env=env_without_locale(**env))
    try:
        assert session.wait_for(word, timeout=30), bytes(session.output[-2000:])
        session.type(b"q")
        session.proc.wait(timeout=15)
    finally:
        session.close()


# --- machine output: the same bytes in both languages --------------------------------------------

@needs_ps
@linux_only
def test_the_whole_table_in_a_chinese_locale_matches_ps_byte_for_byte():
    from test_ps_oracle import _compare_table

    _compare_table(clean_env(**ZH_ENV))


@needs_ps
@linux_only
def test_ps_columns_json_and_csv_of_real_processes_are_the_same_in_both_languages(spawner):
    stopped = spawner.sleeper("数据", comm="守护进程".encode())
    os.kill(stopped.pid, signal.SIGSTOP)
    zombie = spawner.popen(["true"])
    wait_for_zombie(zombie.pid)
    sleeper = spawner.sleeper()
    pids = ",".join(str(p.pid) for p in (stopped, zombie, sleeper))
    for view in ("--print", "--json", "--csv"):
        en = run_psxj("--lang", "en", view, "-p", pids)
        zh = run_psxj("--lang", "zh", view, "-p", pids)
        assert en.returncode == zh.returncode == 0 and en.stdout == zh.stdout, view
    theirs = rows_by_pid(run_ps("-axj").stdout)
    ours = rows_by_pid(run_psxj("--lang", "zh", "--print", "-p", pids).stdout)
    assert all(ours[p.pid] == theirs[p.pid] for p in (stopped, zombie, sleeper))
    # The kind's reasons and the daemon flag, judged in Chinese, are printed in English.
    rows = json.loads(run_psxj("--lang", "zh", "--json", "-p", pids, "--kind", "job,orphan,zombie").stdout)
    assert rows and all(reason.isascii() for row in rows for reason in row["kind_reasons"])


@pytest.mark.parametrize("view", [["--print"], ["--json"], ["--csv"], ["--kind", "daemon", "--json"]])
def test_a_loaded_table_prints_the_same_in_both_languages(view):
    table = str(FIXTURES / "tutorial-axj.txt")
    en = run_psxj("--lang", "en", "--load", table, *view)
    zh = run_psxj("--lang", "zh", "--load", table, *view)
    assert en.returncode == zh.returncode and en.stdout == zh.stdout and en.stdout


def test_diff_json_is_the_same_in_both_languages(tmp_path):
    before = FIXTURES / "tutorial-axj.txt"
    after = tmp_path / "after.txt"
    lines = before.read_text().splitlines()
    after.write_text("\n".join(lines[:-2]) + "\n")
    en = run_psxj("--lang", "en", "diff", str(before), str(after), "--json")
    zh = run_psxj("--lang", "zh", "diff", str(before), str(after), "--json")
    assert en.stdout == zh.stdout and json.loads(zh.stdout)["vanished"]
    text = run_psxj("--lang", "zh", "diff", str(before), str(after)).stdout.decode()
    assert CJK.search(text)


@pytest.mark.slow
@linux_only
def test_events_json_names_signals_in_english_in_both_languages(spawner):
    exits = {}
    for language in ("en", "zh"):
        victim = spawner.sleeper()
        events = subprocess.Popen([sys.executable, "-m", "psxj", "--lang", language, "events", "--json", "--follow",
                                   str(victim.pid), "--duration", "4"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=ROOT, env=clean_env())
        try:
            time.sleep(1.5)
            os.kill(victim.pid, signal.SIGHUP)
            victim.wait(timeout=10)
            out, _err = events.communicate(timeout=30)
        finally:
            if events.poll() is None:
                events.kill()
                events.wait()
        found = [json.loads(line) for line in out.splitlines()]
        [exit_event] = [e for e in found if e["event"].lower() == "exit" and e["pid"] == victim.pid]
        assert out.isascii()
        exits[language] = (exit_event["exit"] or {}).get("text"), re.sub(r"\d+", "N", exit_event["what"])
    assert exits["zh"] == exits["en"] and "SIGHUP" in "".join(filter(None, exits["en"]))


# --- the interface: layouts with double-width characters -------------------------------------------

def painted(widget) -> List[str]:
    """Every line the widget paints, border included (Textual's own rendering), scrolled into view or not."""
    outer = widget.outer_size
    height = max(outer.height, widget.virtual_size.height + outer.height - widget.size.height)
    return [strip.text for strip in widget.render_lines(Region(0, 0, outer.width, height))]


async def painted_scrolling(pilot, widget) -> List[str]:
    """Every content line of a scrolling widget (an OptionList), page by page as it scrolls."""
    top = widget.content_region.y - widget.region.y
    left = widget.content_region.x - widget.region.x
    page, lines = widget.content_region.height, {}
    for y in range(0, widget.virtual_size.height, page):
        widget.scroll_to(y=y, animate=False, immediate=True)
        await pilot.pause()
        shown = widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
        for row in range(page):
            lines[int(widget.scroll_offset.y) + row] = _cut_at_cells(shown[top + row].text, left,
                                                                      left + widget.content_region.width)
    return [lines[y] for y in sorted(lines)]


def assert_within(widget) -> None:
    width = widget.outer_size.width
    for line in painted(widget):
        assert cells(line) <= width, (width, line)


def assert_broken_only_where_needed(lines: Sequence[str], room: int) -> None:
    """Each line of a paragraph ends where the next word (English) or character (Chinese, with the
    marks that may not start a line) would not fit: no half-empty line before "2 秒" or after "跳过"."""
    for line, following in zip(lines, lines[1:]):
        first = re.match(r"\s*([\x21-\x7e]+|.)[，。、；：）」]*", following).group(0).strip()
        assert cells(line.strip()) + 1 + cells(first) > room, (line, following)


def _cut_at_cells(line: str, start: int, end: int) -> str:
    kept, used = [], 0
    for ch in line:
        if start <= used < end:
            kept.append(ch)
        used += cells(ch)
    return "".join(kept)


def column(widget, headers: Sequence[str], header: str) -> str:
    """A table column's text, every line of it, without spaces: from its header's cell to the next's."""
    lines = painted(widget)
    top = next(i for i, line in enumerate(lines) if all(h in line for h in headers))
    starts = sorted(cells(lines[top][:lines[top].index(h)]) for h in headers)
    start = cells(lines[top][:lines[top].index(header)])
    end = next((s for s in starts if s > start), 10_000)
    return "".join("".join(_cut_at_cells(line, start, end).split()) for line in lines[top + 1:])


def squeezed(texts) -> str:
    return "".join("".join(text.split()) for text in texts)


SIZES = [(80, 24), (60, 20)]


@pytest.mark.parametrize("size", SIZES)
async def test_help_shows_every_chinese_meaning_whole(chinese, size):
    from test_tui import opened_help, tutorial

    from psxj.judge.kinds import KINDS, MEANINGS
    from psxj.render.details import COLUMN_MEANINGS, FLAG_MEANINGS, STATE_MEANINGS
    from psxj.render.views import COLUMNS
    from psxj.tui.app import PsxjApp

    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=size) as pilot:
        screen = await opened_help(app, pilot)
        statics = list(screen.query(Static))
        for widget in statics:
            assert_within(widget)
        _ = i18n._
        tables = {widget: "\n".join(painted(widget)) for widget in statics}

        def table_with(*headers):
            return next(w for w, text in tables.items() if all(h in text.split("\n")[0] for h in headers))

        columns = table_with(_("column"), _("value here"), _("meaning"))
        assert column(columns, (_("column"), _("value here"), _("meaning")), _("meaning")) == \
            squeezed(_(COLUMN_MEANINGS[c.header]) for c in COLUMNS)
        letters = table_with(_("letter"), _("meaning"), _("here"))
        assert column(letters, (_("letter"), _("meaning"), _("here")), _("meaning")) == \
            squeezed(_(m) for m in [*STATE_MEANINGS.values(), *FLAG_MEANINGS.values()])
        legend = table_with(_("mark"), _("kind"), _("meaning"))
        assert column(legend, (_("mark"), _("kind"), _("meaning")), _("meaning")) == \
            squeezed(_(MEANINGS[kind]) for kind in KINDS)
        keys = table_with(_("key"), _("action"))
        assert column(keys, (_("key"), _("action")), _("action")) == squeezed(action for _key, action in screen.keys)
        everything = squeezed(tables.values())
        for paragraph in (_(": the first column is the process's kind, never a STAT letter (STAT D means "
                            "uninterruptible sleep)"),
                          _("  Colours: daemon-like kinds green, orphans in the accent colour, kernel threads dim, "
                            "zombies red, stopped jobs yellow; underlined rows appeared at the last refresh; "
                            "- marks a process that has exited.")):
            assert CJK.search(paragraph) and squeezed([paragraph]) in everything


@pytest.mark.parametrize("size", SIZES)
async def test_the_status_line_the_keys_and_notifications_fit_in_chinese(chinese, size):
    from test_tui import tutorial
    from textual.widgets._toast import Toast

    from psxj.tui.app import PsxjApp

    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=size, notifications=True) as pilot:
        message = i18n._("Demo started at full speed; its steps are told one every {delay:g}s with their real times "
                         "([ and ] step).").format(delay=2)
        app.notify(message)
        await pilot.pause(0.3)
        assert not app.screen.query(Toast)   # on the table's screen, the notice line says it
        notice = app.screen.query_one("#notice")
        lines = [line.strip() for line in painted(notice)]
        assert CJK.search(message) and squeezed(lines) == squeezed([message])
        assert_within(notice)
        assert_broken_only_where_needed([line for line in lines if line], notice.content_region.width)
        for keys in ((), ("g",), ("t",), ("k", "D"), ("space", "space")):
            await pilot.press(*keys)
            await pilot.pause(0.1)
            for widget in (app.screen.query_one("#status"), app.screen.query_one("#keys")):
                [line] = painted(widget)
                assert cells(line) <= size[0] and "…" not in line, line
            status = painted(app.screen.query_one("#status"))[0]
            assert CJK.search(status) and "│" in status


@pytest.mark.parametrize("size", SIZES)
async def test_the_columns_dialog_shows_the_highlighted_columns_meaning_whole(chinese, size):
    from test_tui import tutorial

    from psxj.render.details import COLUMN_MEANINGS
    from psxj.render.views import CHOOSABLE_KEYS, COLUMN_BY_KEY
    from psxj.tui.app import PsxjApp
    from psxj.tui.views import ColumnsScreen

    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=size) as pilot:
        await pilot.press("o")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ColumnsScreen)
        for number, key in enumerate(CHOOSABLE_KEYS):
            if number:
                await pilot.press("down")
                await pilot.pause(0.05)
            header = COLUMN_BY_KEY[key].header
            meaning = app.screen.query_one("#columns-meaning")
            assert_within(meaning)
            assert squeezed(painted(meaning)) == squeezed([f"{header}: {i18n._(COLUMN_MEANINGS[header])}"])
        title = app.screen.query_one("#columns-title")
        assert_within(title)
        assert squeezed(painted(title)) == squeezed([i18n._("Columns (Space toggles, Enter applies, Esc cancels)")])
        await pilot.press("escape")


@linux_only
async def test_a_recording_steps_in_chinese_and_its_status_line_fits(chinese, tmp_path):
    from psxj.sources.recording import open_recording
    from psxj.tui.app import PsxjApp
    from psxj.tui.time_travel import GoToTimeScreen

    recording = tmp_path / "rec"
    made = run_psxj("record", str(recording), "--interval", "0.2", "--count", "3")
    assert made.returncode == 0, made.stderr
    opened = open_recording(str(recording))
    for size in SIZES:
        app = PsxjApp(snapshot=opened.latest(), recording=opened)
        async with app.run_test(size=size, notifications=True) as pilot:
            await pilot.press("left_square_bracket")
            [status] = painted(app.screen.query_one("#status"))
            # "at 2026-11-25 16:26:16, table 2 of 3", in Chinese, whole
            number = re.escape(i18n._("at {moment}, table {number} of {count}")).replace(r"\{moment\}", ".+")
            assert re.search(number.replace(r"\{number\}", "2").replace(r"\{count\}", "3"), status), status
            assert cells(status) <= size[0] and "…" not in status
            await pilot.press("left_square_bracket", "left_square_bracket")
            assert any(n.message == i18n._("That is the recording's first table.") for n in app.notices)
            await pilot.press("T")
            await pilot.pause(0.1)
            assert isinstance(app.screen, GoToTimeScreen)
            for widget in app.screen.query("*"):
                assert cells("".join(painted(widget)[:1])) <= size[0]
            await pilot.press(*"nonsense", "enter")
            await pilot.pause(0.1)
            assert any(n.title == i18n._("No such time") for n in app.notices)


@linux_only
@pytest.mark.parametrize("size", SIZES)
async def test_the_detail_checklist_and_audit_of_a_real_daemon_show_chinese_evidence_whole(chinese, spawner, size):
    from test_audit import start_daemon

    from psxj.judge.audit import audit_process
    from psxj.render.details import process_facts
    from psxj.select import parse_filter
    from psxj.tui.app import PsxjApp
    from psxj.tui.details import AuditScreen, DetailScreen

    pid = start_daemon(spawner, "--no-second-fork", "--umask", "022")
    _ = i18n._
    app = PsxjApp(reader=LiveReader(), selection=parse_filter(f"-p {pid}"), delay=60, events=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.5)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        snapshot, record = screen.snapshot, screen.record
        facts = screen.query_one("#detail-facts")
        assert_within(facts)
        assert column(facts, (_("field"), _("value"), _("meaning")), _("meaning")) == \
            squeezed(f.meaning for f in process_facts(snapshot, record))
        checklist = screen.query_one("#checklist")
        # All of it is there to scroll to, below the facts: its section is not one line high.
        assert screen.query_one("#checklist-section").size.height > checklist.outer_size.height > 5
        report = audit_process(snapshot, record)
        headers = (_("rule"), _("verdict"), _("evidence"))
        assert column(checklist, headers, _("evidence")) == squeezed(rule.evidence for rule in report.rules)
        assert CJK.search("".join(rule.evidence for rule in report.rules))
        for widget in screen.query(Static):
            assert_within(widget)
        await pilot.press("escape", "a")
        for _attempt in range(50):
            await pilot.pause(0.1)
            if isinstance(app.screen, AuditScreen):
                break
        assert isinstance(app.screen, AuditScreen)
        for widget in app.screen.query(Static):
            assert_within(widget)
        [table] = [w for w in app.screen.query(Static) if all(h in "".join(painted(w)[:1]) for h in headers)]
        [report] = app.screen.reports
        assert column(table, headers, _("evidence")) == squeezed(rule.evidence for rule in report.rules)


@linux_only
@pytest.mark.parametrize("size", SIZES)
async def test_the_demo_menu_shows_every_chinese_choice_whole(chinese, size):
    from psxj.tui.app import PsxjApp
    from psxj.tui.demo_menu import DemoMenuScreen, choices

    app = PsxjApp(reader=LiveReader(), delay=60, events=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        await pilot.press("L")
        await pilot.pause(0.3)
        assert isinstance(app.screen, DemoMenuScreen)
        menu = app.screen.query_one("#demo-menu-list")
        assert_within(menu)
        lines = await painted_scrolling(pilot, menu)
        assert "".join("".join(line.split()) for line in lines) == squeezed(line for _choice, line in choices())
        # Broken only where the next word (English) or character (Chinese) would not fit: not "跳过" alone.
        room = menu.content_region.width - 2   # the options' padding
        lines = [line for line in lines if line.strip()]
        for _choice, option in choices():
            taken, size = [], len(squeezed([option]))
            while len(squeezed(taken)) < size:
                taken.append(lines.pop(0))
            assert_broken_only_where_needed(taken, room)
        assert all(CJK.search(line) for _choice, line in choices())
        await pilot.press("escape")


async def _wait(pilot, condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the interface never got there"
        await pilot.pause(0.1)


@pytest.mark.slow
@linux_only
@pytest.mark.parametrize("size", SIZES)
async def test_a_lab_in_chinese_tells_its_story_whole(chinese, tmp_path, size):
    from test_lab import all_gone

    from psxj.demo.control import DemoControl
    from psxj.tui.app import PsxjApp
    from psxj.tui.demo_menu import DemoMenuScreen, choices
    from psxj.tui.lab_screen import LabScreen

    rundir = tmp_path / "run"
    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(rundir), events=False)
    try:
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            await pilot.press("L")
            await _wait(pilot, lambda: isinstance(app.screen, DemoMenuScreen))
            index = [choice for choice, _line in choices()].index("skip:umask")
            await pilot.press(*["down"] * index, "enter")
            await _wait(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.lab is not None
                        and not app.screen.busy)
            screen = app.screen
            while not screen.over:
                await pilot.press("n")
                await _wait(pilot, lambda: not screen.busy)
            lab = screen.lab
            story_text = screen.query_one("#lab-story-text")
            # The story's last words are laid out (a loaded machine takes a moment to get there).
            await _wait(pilot, lambda: squeezed([screen.beats[-1].explanation]) in squeezed(painted(story_text)), 20)
            for selector in ("#lab-title", "#lab-story-text", "#lab-keys"):
                assert_within(screen.query_one(selector))
            story = squeezed(painted(story_text))
            for beat in screen.beats:
                for text in (beat.title, beat.quote, beat.explanation, *beat.changes):
                    assert squeezed([text]) in story, text
            assert CJK.search(squeezed(beat.explanation for beat in screen.beats))
            title = painted(screen.query_one("#lab-title"))[0]
            assert CJK.search(title) and cells(title) <= size[0]
            await pilot.press("escape")
            await _wait(pilot, lambda: not isinstance(app.screen, LabScreen))
        all_gone(lab)
    finally:
        control = DemoControl(str(rundir / "lab"))
        for entries in control.all_runs().values():
            for entry in entries:
                assert entry.get("pid") is None or not _alive(entry["pid"], entry.get("start_ticks"))


def _alive(pid: int, start_ticks) -> bool:
    from conftest import stat_fields

    raw = stat_fields(pid)
    return raw is not None and raw[0] != b"Z" and int(raw[19]) == start_ticks


# --- packaging -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_wheel_ships_the_compiled_catalogue_and_needs_no_babel(tmp_path):
    """Built from a copy of the source (nothing written into the checkout), installed into a folder of
    its own, the package speaks Chinese: the .mo is package data, read with the standard library."""
    import shutil
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(ROOT / "psxj", source / "psxj", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "share", source / "share")   # the man pages and completions (data files)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, timeout=300)
    assert built.returncode == 0, built.stderr.decode()[-2000:]
    [wheel] = (tmp_path / "dist").glob("psxj-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("psxj/locale/zh_CN/LC_MESSAGES/psxj.mo") == \
            (ROOT / "psxj/locale/zh_CN/LC_MESSAGES/psxj.mo").read_bytes()
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert [line for line in requires if "babel" in line.lower()] == ['Requires-Dist: Babel>=2.12; extra == "test"']
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                                str(wheel)], capture_output=True, timeout=300)
    assert installed.returncode == 0, installed.stderr.decode()[-2000:]
    env = clean_env(PYTHONPATH=str(site))
    where = subprocess.run([sys.executable, "-c", "import psxj; print(psxj.__file__)"], capture_output=True,
                           env=env, cwd=tmp_path, timeout=60)
    assert where.stdout.decode().startswith(str(site))
    said = subprocess.run([sys.executable, "-m", "psxj", "--lang", "zh", "audit"], capture_output=True, env=env,
                          cwd=tmp_path, timeout=60)
    assert said.returncode == 2 and said.stderr.decode() == \
        "psxj: " + chinese_of("audit: name at least one PID, or --all") + "\n"


@pytest.mark.parametrize("width", range(34, 80, 5))   # each name fits on a line after the indent
def test_a_name_with_hyphens_is_never_broken_at_them(width):
    """Unit names, options and programs are names: `cap-\\ntimer.timer` reads as two (psxj why's story
    broke one that way at 80 columns)."""
    from psxj.cells import wrap

    names = ["cap-timer.timer", "--no-events", "systemd-nspawn", "user-runtime-dir@0.service"]
    text = "why: started by timer " + " then ".join(names) + " as the unit file says"
    words = {word for line in wrap(text, width, "  ", "       ") for word in line.split()}
    assert set(names) <= words
