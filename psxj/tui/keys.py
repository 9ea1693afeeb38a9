"""Keys as a user types them, and the key bar that fits the terminal's width.

Textual names keys after what they are (`slash`, `less_than_sign`, `f9`); help, the key bar
and the command palette show them as they are typed (`/`, `<`, `F9`, `Enter`).
Part of the interface (psxj.tui): the main screen's key bar, the help's and the palette's lists.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Iterable, List, NamedTuple, Sequence, Tuple

from rich.cells import cell_len
from rich.text import Text

from psxj.i18n import _

_NAMES = {
    "slash": "/", "backslash": "\\", "less_than_sign": "<", "greater_than_sign": ">", "question_mark": "?",
    "enter": "Enter", "escape": "Esc", "space": "Space", "backspace": "Backspace", "tab": "Tab",
    "home": "Home", "end": "End", "pageup": "PgUp", "pagedown": "PgDn", "left": "←", "right": "→",
    "up": "↑", "down": "↓", "delete": "Del", "minus": "-", "plus": "+", "exclamation_mark": "!",
    "left_square_bracket": "[", "right_square_bracket": "]", "equals_sign": "=", "asterisk": "*",
    "number_sign": "#",
}


def key_name(key: str) -> str:
    """`slash` -> `/`, `f9` -> `F9`, `ctrl+c` -> `Ctrl+C`, `shift+f3` -> `Shift+F3`."""
    parts = key.split("+")
    last = parts[-1]
    if last in _NAMES:
        shown = _NAMES[last]
    elif len(last) > 1 and last[0] == "f" and last[1:].isdigit():
        shown = last.upper()
    else:
        shown = last.upper() if len(parts) > 1 else last
    modifiers = [p.capitalize() for p in parts[:-1]]
    return "+".join(modifiers + [shown])


@lru_cache(maxsize=512)   # bindings' keys are the program's, a few hundred; the key bar asks at every refresh
def keys_of(binding_key: str) -> Tuple[str, ...]:
    """A binding's keys, as typed: `q,f10` -> (`q`, `F10`)."""
    return tuple(key_name(k.strip()) for k in binding_key.split(",") if k.strip())


class BarEntry(NamedTuple):
    keys: str          # "F9 x"
    label: str         # "Signal"


def bar_entries(bindings: Iterable, allowed=lambda action: True) -> List[BarEntry]:
    """The key bar's entries, in the bindings' order (their priority), one per action; a key an
    earlier binding already takes (a screen's q over the app's) is not offered again."""
    entries, seen, taken = [], set(), set()
    for binding in bindings:
        action = binding.action.removeprefix("app.")
        if not binding.show or not binding.description or action in seen or not allowed(action):
            continue
        keys = [k for k in keys_of(binding.key) if k not in taken]
        taken.update(keys_of(binding.key))
        if not keys:
            continue
        seen.add(action)
        entries.append(BarEntry(" ".join(keys[:2]), _(binding.description)))
    return entries


def key_bar(entries: Sequence[BarEntry], width: int) -> Text:
    """As many entries as fit on one line of `width` cells, in priority order."""
    text = Text(no_wrap=True, overflow="crop")
    used = 0
    for entry in entries:
        size = cell_len(entry.keys) + cell_len(entry.label) + 3
        if used + size > width:
            continue  # a shorter entry further down may still fit
        text.append(f"{entry.keys}", style="bold reverse")
        text.append(f" {entry.label}  ")
        used += size
    return text


def help_lines(bindings: Iterable, offered: Callable[[str], bool]) -> List[Tuple[str, str]]:
    """The help's list of keys: one line per action offered, with all its keys, in the bindings' order."""
    keys: List[Tuple[str, str]] = []
    where = {}
    for binding in bindings:
        action = binding.action.removeprefix("app.")
        if not binding.description or not offered(action):
            continue
        if action in where:  # one line per action, with all its keys
            index = where[action]
            keys[index] = (keys[index][0] + ", " + ", ".join(keys_of(binding.key)), keys[index][1])
            continue
        where[action] = len(keys)
        keys.append((", ".join(keys_of(binding.key)), _(binding.description)))
    keys.append(("0-9", _("type a PID to jump to it")))
    return keys


def palette_entries(bindings: Iterable[Tuple[object, object]], offered: Callable[[str], bool]) -> List[tuple]:
    """The command palette's entries, (title, help, action, what answers it), each action once, with its
    keys as they are typed; `bindings` are (binding, the node whose action it is)."""
    entries, seen = [], set()
    for binding, owner in bindings:
        action = binding.action.removeprefix("app.")
        if not binding.description or action in seen or not offered(action):
            continue
        seen.add(action)
        typed = ", ".join(keys_of(binding.key))
        entries.append((f"{_(binding.description)} ({typed})", _("Key: {keys}").format(keys=typed), action, owner))
    return entries
