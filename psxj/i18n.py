"""The interface's language: English by default, Simplified Chinese with `--lang zh` or a zh locale.

Messages are marked where they are written: `_("...")` for text made at run time, `N_("...")` for
text in module-level tables (rules' help, kinds' meanings, the demo's steps), translated where it
is shown with `_()`; the interface's key bindings are extracted from `Binding(key, action, "Words")`
itself and translated where the key bar, the help and the palette show them. A message with values
is a template, `_("{pid} has exited").format(pid=...)`, so the translation may put them elsewhere.

The catalogues are gettext's: psxj/locale/zh_CN/LC_MESSAGES/psxj.po, compiled to psxj.mo with
Babel (`python tools/catalogues.py`, which also extracts the messages); a test checks that every
marked message has a translation and that the compiled file matches its source.
The tutorial's own words (the demo's quotations) stay in the original Chinese in every language;
machine output (JSON, CSV, ps's own table) stays English in every language (see untranslated()).

Every module may import this one: it uses the standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import gettext
import os
from typing import Iterator, List, Mapping, Optional, Tuple

# Sent to other machines from memory (psxj.sources.fleet.payload) there is no __file__, and no catalogue: English.
LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(globals().get("__file__") or os.sep)), "locale")
DOMAIN = "psxj"
LANGUAGES = {"en": None, "zh": "zh_CN"}   # what --lang takes -> the catalogue's locale
OPTION = "--lang"

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def _language_of(locale_name: str) -> Optional[str]:
    """`zh_CN.UTF-8` -> zh, `en_US` -> en, `C` -> en; None for a language psxj does not speak."""
    name = locale_name.split(".")[0].split("@")[0].lower()
    if name in ("c", "posix") or name.startswith("en"):
        return "en"
    if name.startswith("zh"):
        return "zh"   # zh_TW and zh_HK too: Simplified is nearer to them than English
    return None


def language_from_environment(env: Mapping[str, str] = os.environ) -> str:
    """zh when the user's locale asks for Chinese, else en, decided as GNU gettext decides: the locale
    is the first of LC_ALL, LC_MESSAGES, LANG that is set; LANGUAGE, a list (`fr:zh_CN:en`), overrides
    it with the first of its languages psxj speaks (none: English), except in the C locale, where
    gettext ignores LANGUAGE."""
    locale_name = next((env[key] for key in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(key)), "C")
    in_c_locale = locale_name.split(".")[0] in ("C", "POSIX")
    if env.get("LANGUAGE") and not in_c_locale:
        spoken = [_language_of(name) for name in env["LANGUAGE"].split(":") if name]
        return next((language for language in spoken if language is not None), "en")
    return _language_of(locale_name) or "en"


def language_from_argv(argv: List[str]) -> Tuple[Optional[str], Optional[str], List[str]]:
    """(the --lang value on a command line, or None; the problem with it, or None; the command line
    without it). Taken out before any parser is built, so that every parser's help is already in that
    language and `psxj --lang zh audit 1` reaches the audit command; words after `--` are arguments."""
    chosen, rest, index = None, [], 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            rest.extend(argv[index:])
            break
        if word == OPTION:
            if index + 1 >= len(argv):
                return None, "missing", argv
            chosen = argv[index + 1]
            index += 2
            continue
        if word.startswith(OPTION + "="):
            chosen = word[len(OPTION) + 1:]
        else:
            rest.append(word)
        index += 1
    if chosen is not None and chosen not in LANGUAGES:
        return chosen, "unknown", argv
    return chosen, None, rest


def install(language: Optional[str] = None, env: Mapping[str, str] = os.environ) -> str:
    """Choose the language (`language` from --lang, else the environment's); returns the choice."""
    global _translation, _language
    _language = language or language_from_environment(env)
    locale_name = LANGUAGES.get(_language)
    if locale_name is None:
        _language = "en"
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale_name], fallback=True)
    return _language


def add_language_argument(parser: argparse.ArgumentParser) -> None:
    """--lang, which every command takes (the command line reads it first: language_from_argv)."""
    parser.add_argument(OPTION, choices=sorted(LANGUAGES), metavar="|".join(sorted(LANGUAGES)),
                        help=_("the language of messages and of the interface: en (English) or zh (简体中文); "
                               "default: the locale's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG)"))


def current() -> str:
    return _language


@contextlib.contextmanager
def untranslated() -> Iterator[None]:
    """English for what is made inside: machine output (JSON, CSV) is the same in every language,
    kind reasons and verdict evidence included, so scripts read what they always read."""
    global _translation
    saved = _translation
    _translation = gettext.NullTranslations()
    try:
        yield
    finally:
        _translation = saved


def _(message: str) -> str:
    """The message in the chosen language (itself when there is no translation; "" stays "", never
    the catalogue's header)."""
    return _translation.gettext(message) if message else message


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; `_()` translates it where it is shown."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translation.ngettext(singular, plural, count)
