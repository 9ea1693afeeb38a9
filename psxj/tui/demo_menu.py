"""The demo menu (d): the normal run, a counterexample with one rule left out, job control, or the quiz."""

from __future__ import annotations

from typing import List, Optional, Tuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList

from psxj.i18n import N_, _
from psxj.tui.dialog import Dialog
from psxj.tui.wrapping import wrapped

_TEXT = {
    "heading": N_("The demo daemon: which run?"),
    "normal": N_("normal run: the tutorial's daemon, one step at a time"),
    "skip": N_("skip {rule}: {consequence}"),
    "jobs": N_("job control: a shell, a pipeline, Ctrl-Z, bg, fg, hangup"),
    "quiz": N_("quiz: predict each step's columns, then see"),
    "hint": N_("Enter starts it · Esc cancels"),
}


def _text(key: str) -> str:
    """One of this module's sentences (_TEXT), in the chosen language."""
    return _(_TEXT[key])


def choices() -> List[Tuple[str, str]]:
    """(choice id, line) in the menu's order: "normal", "skip:RULE" for each rule, "jobs", "quiz"."""
    from psxj.lab.counterexamples import COUNTEREXAMPLES

    items = [("normal", _text("normal"))]
    for rule, kind in COUNTEREXAMPLES.items():
        items.append((f"skip:{rule}", _text("skip").format(rule=rule, consequence=kind.consequence())))
    items += [("jobs", _text("jobs")), ("quiz", _text("quiz"))]
    return items


def _prompt(line: str):
    """A menu line: English as it always was; Chinese wrapped between characters (psxj.tui.wrapping)."""
    return Text(line, no_wrap=True, overflow="ellipsis") if line.isascii() else wrapped(line)


class DemoMenuScreen(Dialog[Optional[str]]):
    """Dismissed with the chosen id (see choices()), or None."""

    CSS_PATH = "lab.tcss"
    BINDINGS = [Binding("escape,q", "dismiss(None)", "Cancel")]

    def __init__(self) -> None:
        super().__init__()
        self.items = choices()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="demo-menu"):
            yield Label(Text(_text("heading"), style="bold"))
            yield OptionList(*[_prompt(line) for _choice, line in self.items], id="demo-menu-list")
            yield Label(Text(_text("hint"), style="dim"))

    def on_mount(self) -> None:
        menu = self.query_one("#demo-menu-list", OptionList)
        menu.highlighted = 0  # the normal run: d, Enter is what d used to do
        menu.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.items[event.option_index][0])
