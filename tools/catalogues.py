"""Extract psxj's messages, update the Chinese catalogue, compile it: `python tools/catalogues.py`.

    python tools/catalogues.py            extract psxj/locale/psxj.pot, update zh_CN's psxj.po, compile psxj.mo
    python tools/catalogues.py --check    exit 1, changing nothing, when the catalogues are not up to date

Messages are what psxj marks (psxj.i18n): `_("...")`, `N_("...")`, `ngettext("...", "...", n)`, and the
description of a key binding, `Binding(key, action, "Words")`. Babel does the work (a build and test
tool: pip install '.[test]'). The .po keeps its translations across updates; a message whose English
changed comes back marked fuzzy with the old translation as a hint, and counts as untranslated (the test
and the compiled .mo ignore it) until someone checks it and removes the mark. Line numbers are left out
of the files, so that moving code does not change the catalogues.
"""

from __future__ import annotations

import argparse
import gettext
import io
import os
import sys
from typing import Dict, Optional, Tuple

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "psxj")
LOCALE_DIR = os.path.join(PACKAGE, "locale")
TEMPLATE = os.path.join(LOCALE_DIR, "psxj.pot")
LOCALES = ("zh_CN",)
KEYWORDS: Dict[str, Optional[Tuple[int, ...]]] = {"_": None, "N_": None, "ngettext": (1, 2), "Binding": (3,)}
COMMENT_TAGS = ("i18n:",)   # `# i18n: ...` above a message reaches the translator


def po_path(locale: str) -> str:
    return os.path.join(LOCALE_DIR, locale, "LC_MESSAGES", "psxj.po")


def mo_path(locale: str) -> str:
    return os.path.join(LOCALE_DIR, locale, "LC_MESSAGES", "psxj.mo")


# Outside psxj/, what is translated too: the man page's own sections (its options come from psxj's parsers).
ALSO_EXTRACTED = (os.path.join(ROOT, "tools", "manpage.py"),)


def extract() -> Catalog:
    """Every marked message in psxj/ (and ALSO_EXTRACTED), with the files it is in."""
    catalog = Catalog(project="psxj", charset="utf-8", fuzzy=False)
    paths = []
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        paths += [os.path.join(folder, name) for name in sorted(files) if name.endswith(".py")]
    for path in paths + list(ALSO_EXTRACTED):
        where = os.path.relpath(path, ROOT)
        for lineno, message, comments, context in extract_from_file(
                "python", path, keywords=KEYWORDS, comment_tags=COMMENT_TAGS, strip_comment_tags=True):
            catalog.add(message, None, [(where, lineno)], auto_comments=comments, context=context)
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, include_lineno=False, ignore_obsolete=True,
             omit_header=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def compiled(po_file: str) -> bytes:
    """The .mo a .po compiles to (the test compares it with the one in the package)."""
    with open(po_file, "rb") as f:
        return _mo_bytes(read_po(f))


def updated(template: Catalog, locale: str) -> Catalog:
    path = po_path(locale)
    if os.path.exists(path):
        with open(path, "rb") as f:
            catalog = read_po(f, locale=locale)
    else:
        catalog = Catalog(locale=locale, project="psxj", charset="utf-8", fuzzy=False)
    catalog.update(template, update_header_comment=False, update_creation_date=False)
    return catalog


# Header fields a generator rewrites on its own (its name and version, the run's dates): no change of
# content. Comparing them would make a new Babel release, or a new day, turn the check red.
_GENERATOR_FIELDS = ("Generated-By", "POT-Creation-Date", "PO-Revision-Date")


def _header(fields) -> Tuple[Tuple[str, str], ...]:
    return tuple(sorted((name, value) for name, value in fields if name not in _GENERATOR_FIELDS))


def po_content(data: bytes) -> tuple:
    """What a .po or .pot says: each message with its plural, translation, flags, context, comments
    and files, and the header less the generator's own fields. Not how a Babel release lays it out."""
    if not data:
        return ()
    catalog = read_po(io.BytesIO(data))
    messages = sorted((repr(m.id), repr(m.string), repr(m.context), tuple(sorted(m.flags)),
                       tuple(m.auto_comments), tuple(m.user_comments), tuple(sorted(set(m.locations))))
                      for m in catalog if m.id)
    return _header(catalog.mime_headers), tuple(messages)


def mo_content(data: bytes) -> tuple:
    """What gettext reads from a compiled catalogue: every message and its translation, plus the
    header less the generator's fields (its Plural-Forms decides ngettext)."""
    if not data:
        return ()
    translations = gettext.GNUTranslations(io.BytesIO(data))
    entries = dict(translations._catalog)   # noqa: SLF001 (the parsed table is the content)
    header = entries.pop("", "")
    fields = [tuple(part.strip() for part in line.split(":", 1)) for line in header.splitlines() if ":" in line]
    return _header(fields), tuple(sorted(entries.items(), key=repr))


def _old(path: str) -> bytes:
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes, check: bool, stale: list, content=po_content) -> None:
    """Write a catalogue whose content changed (a generator's header or layout alone is no change);
    in --check, note it."""
    if content(_old(path)) == content(data):
        return
    if check:
        stale.append(path)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {os.path.relpath(path, ROOT)}")


def translated(message) -> bool:
    """A message has its translation: a plural one (ngettext) in every form, not just one that exists."""
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return all(strings)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when something is stale")
    args = parser.parse_args(argv)
    template = extract()
    stale: list = []
    _write(TEMPLATE, _po_bytes(template), args.check, stale)
    for locale in LOCALES:
        catalog = updated(template, locale)
        _write(po_path(locale), _po_bytes(catalog), args.check, stale)
        # The .mo is compiled from the .po as it is on disk: what the test compiles too.
        mo = compiled(po_path(locale)) if os.path.exists(po_path(locale)) else b""
        _write(mo_path(locale), mo, args.check, stale, content=mo_content)
        untranslated = [m.id for m in catalog if m.id and (not translated(m) or m.fuzzy)]
        print(f"{locale}: {len(template)} messages, {len(untranslated)} untranslated or fuzzy")
    if stale:
        print("stale: " + ", ".join(os.path.relpath(p, ROOT) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
