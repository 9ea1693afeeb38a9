"""The interface's shared screens: help (? and F1, the app's) and a yes/no question; the facts table they
and the detail view lay out. Each feature's own screens are in its module (psxj.tui.details, .signals...)."""

from __future__ import annotations

from typing import List, Optional

from rich.cells import cell_len
from rich.markup import escape as escape_markup
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from psxj.i18n import _
from psxj.model import ProcessRecord, Snapshot
from psxj.render.details import COLUMN_MEANINGS, FLAG_MEANINGS, STATE_MEANINGS
from psxj.render.views import COLUMNS
from psxj.tui.dialog import Dialog
from psxj.tui.wrapping import wrapped


def facts_table(rows: List[tuple], headers: tuple) -> Table:
    table = Table(*headers, box=None, expand=True, show_edge=False, pad_edge=False)
    for row in rows:
        table.add_row(*[wrapped(str(cell)) for cell in row])  # never markup; Chinese wraps between characters
    return table


def help_text(selected: Optional[ProcessRecord], snapshot: Optional[Snapshot]) -> Table:
    table = Table(_("column"), _("value here"), _("meaning"), box=None, expand=True, pad_edge=False)
    for column in COLUMNS:
        value = column.text(selected, snapshot) if selected is not None and snapshot is not None else ""
        table.add_row(Text(column.header), Text(value, overflow="ellipsis", no_wrap=True),
                      wrapped(_(COLUMN_MEANINGS[column.header])))
    return table


def keys_table(keys: List[tuple]) -> Table:
    """(key, action) rows; the keys' column as wide as the widest key, never wider: the actions get the rest."""
    widest = max([cell_len(_("key")), *(cell_len(key) for key, _action in keys)])
    table = Table(box=None, expand=True, show_edge=False, pad_edge=False)
    table.add_column(_("key"), width=widest, no_wrap=True)
    table.add_column(_("action"), ratio=1)
    for key, action in keys:
        table.add_row(Text(key), wrapped(action))
    return table


def legend_rows() -> List[tuple]:
    """(mark, kind, meaning) for every kind, from psxj.judge.kinds: the table's first column."""
    from psxj.judge.kinds import KINDS, MARKS, MEANINGS

    return [(MARKS[kind] or _("(blank)"), kind, _(MEANINGS[kind])) for kind in KINDS]


class HelpScreen(Dialog):
    """Columns and STAT letters in plain words, with the selected process's own values."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    def __init__(self, selected: Optional[ProcessRecord], keys: List[tuple], snapshot: Optional[Snapshot] = None,
                 ) -> None:
        super().__init__()
        self.selected = selected
        self.keys = keys
        self.snapshot = snapshot

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            # What a newcomer opens help for comes first: the keys, then what the columns mean.
            yield Static(_("[b]psxj[/b]: keys"), id="help-title")
            yield Static(keys_table(self.keys), id="help-keys")
            yield Static("\n" + _("[b]The columns of ps -axj[/b]"))
            yield Static(help_text(self.selected, self.snapshot))
            stat = self.selected.stat if self.selected else ""
            yield Static("\n" + _("[b]STAT[/b]: a state letter, then flags") +
                         (_(" (here [b]{stat}[/b])").format(stat=escape_markup(stat)) if stat else ""))
            here = set(stat)
            states = [(k, _(v), "◀" if k == stat[:1] else "") for k, v in STATE_MEANINGS.items()]
            flags = [(k, _(v), "◀" if k in here else "") for k, v in FLAG_MEANINGS.items()]
            yield Static(facts_table(states + flags, (_("letter"), _("meaning"), _("here"))))
            legend = _(": the first column is the process's kind, never a STAT letter (STAT D means "
                       "uninterruptible sleep)")
            yield Static(wrapped(Text.assemble("\n", (_("Legend"), "bold"), legend)), id="legend")
            yield Static(facts_table(legend_rows(), (_("mark"), _("kind"), _("meaning"))))
            yield Static(wrapped(_("  Colours: daemon-like kinds green, orphans in the accent colour, kernel threads "
                                   "dim, zombies red, stopped jobs yellow; underlined rows appeared at the last "
                                   "refresh; - marks a process that has exited.")))


class ConfirmScreen(Dialog[bool]):
    """A yes/no question; nothing happens unless the answer is yes."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    #confirm-buttons { height: auto; margin-top: 1; }
    #confirm-buttons Button { margin-right: 2; }
    """
    BINDINGS = [Binding("y", "dismiss(True)", "Yes"), Binding("n,escape", "dismiss(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.question), id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(_("Yes (y)"), id="yes", variant="error")
                yield Button(_("No (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # the safe answer is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
