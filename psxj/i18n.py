"""The interface's language: English by default, Simplified Chinese with `--lang zh` or a zh locale.

Messages are marked where they are written: `_("...")` for text made at run time, `N_("...")` for
text in module-level tables (rules' help, kinds' meanings, the demo's steps), translated where it
is shown with `_()`. The catalogues are gettext's: psxj/locale/zh_CN/LC_MESSAGES/psxj.po, compiled
to psxj.mo with Babel (`python tools/catalogues.py`, which also extracts the messages); a test checks
that every marked message has a translation and that the compiled file matches its source.
The tutorial's own words (the demo's quotations) stay in the original Chinese in every language.
"""

from __future__ import annotations

import gettext
import os
from typing import Mapping, Optional

LOCALE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locale")
DOMAIN = "psxj"
LANGUAGES = {"en": None, "zh": "zh_CN"}   # what --lang takes -> the catalogue's locale

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_environment(env: Mapping[str, str] = os.environ) -> str:
    """zh when the user's locale asks for Chinese (LANGUAGE, LC_ALL, LC_MESSAGES, LANG, in gettext's
    order of precedence), else en."""
    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "")
        if value:
            first = value.split(":")[0]
            return "zh" if first.lower().startswith("zh") else "en"
    return "en"


def install(language: Optional[str] = None, env: Mapping[str, str] = os.environ) -> str:
    """Choose the language (`language` from --lang, else the environment's); returns the choice."""
    global _translation, _language
    _language = language or language_from_environment(env)
    locale_name = LANGUAGES.get(_language)
    if locale_name is None:
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale_name], fallback=True)
    return _language


def current() -> str:
    return _language


def _(message: str) -> str:
    """The message in the chosen language (itself when there is no translation)."""
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; `_()` translates it where it is shown."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    return _translation.ngettext(singular, plural, count)
