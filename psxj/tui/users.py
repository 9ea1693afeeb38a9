"""The user picker (u, as htop's): the users who own processes, each with how many, narrowed as a name
is typed; Enter shows only that user's processes, "all users" every user's again.

A feature of the main screen (psxj.tui.feature). It sets the filter, in ps's selector syntax (`-u alice`),
by telling the filter around it (Filter.Use): the status line shows it as any filter, and Backspace
clears it. The list comes from the table shown (psxj.render.owners); names are escaped there.
"""

from __future__ import annotations

from typing import List, Optional

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static

from psxj.i18n import _, ngettext
from psxj.render.owners import Owner, filter_for_owner, owners
from psxj.tui.dialog import Dialog
from psxj.tui.feature import Feature
from psxj.tui.filter import Filter
from psxj.tui.wrapping import wrapped

ALL_USERS = "*all*"   # the answer that means every user


class Users(Feature):
    BINDINGS = [Binding("u", "users", "User")]

    def action_users(self) -> None:
        listed = owners(self.app.snapshot)

        def chosen(answer: Optional[Owner | str]) -> None:
            if answer is None:
                return
            filter_line = self.screen.query_one(Filter)
            owner = None if answer == ALL_USERS else answer
            self.post_message(Filter.Use(filter_for_owner(filter_line.text, owner)))

        self.app.push_screen(UserScreen(listed, len(self.app.snapshot or ())), chosen)


class UserScreen(Dialog[Optional[object]]):
    """The users of the table, with counts; typing narrows the list, ↑ ↓ move, Enter chooses, Esc cancels."""

    DEFAULT_CSS = """
    UserScreen { align: center middle; }
    #users-title, #users-typed, #users-list, #users-hint { width: 50; max-width: 100%; }
    #users-typed { height: 1; border: none; padding: 0 1; background: $boost; }
    #users-list { height: auto; max-height: 14; }
    #users-hint { height: auto; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("down", "move(1)", show=False), Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(10)", show=False), Binding("pageup", "move(-10)", show=False),
    ]

    def __init__(self, listed: List[Owner], total: int) -> None:
        super().__init__()
        self.listed, self.total = listed, total
        self.shown: List[Optional[Owner]] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="users-dialog", classes="dialog"):
            yield Static(Text(_("Show one user's processes"), style="bold"), id="users-title")
            yield Input(placeholder=_("type to narrow the list"), id="users-typed")
            yield OptionList(id="users-list")
            yield Static(wrapped(_("Enter shows only theirs (filter -u NAME); Backspace on the table clears it.")),
                         id="users-hint")

    def on_mount(self) -> None:
        self._narrow("")
        self.query_one("#users-typed", Input).focus()

    @on(Input.Changed, "#users-typed")
    def typed(self, event: Input.Changed) -> None:
        self._narrow(event.value)

    def _narrow(self, typed: str) -> None:
        needle = typed.strip().lower()
        everyone: List[Optional[Owner]] = [None] if not needle else []
        self.shown = everyone + [o for o in self.listed if needle in o.label.lower()]
        menu = self.query_one("#users-list", OptionList)
        menu.clear_options()
        width = max((cell_len(o.label) for o in self.listed), default=8)
        menu.add_options([Text(self._line(owner, width)) for owner in self.shown] or
                         [Text(_("no user's name holds {typed!r}").format(typed=typed))])
        menu.highlighted = 0 if self.shown else None

    def _line(self, owner: Optional[Owner], width: int) -> str:
        if owner is None:
            return _("all users") + "  " + ngettext("({count} process)", "({count} processes)",
                                                    self.total).format(count=self.total)
        count = ngettext("{count} process", "{count} processes", owner.count).format(count=owner.count)
        return owner.label + " " * (width - cell_len(owner.label) + 2) + count   # cells: a name may be wide

    def action_move(self, step: int) -> None:
        menu = self.query_one("#users-list", OptionList)
        if self.shown:
            menu.highlighted = max(0, min((menu.highlighted or 0) + step, len(self.shown) - 1))

    @on(Input.Submitted, "#users-typed")
    def submitted(self) -> None:
        self._choose(self.query_one("#users-list", OptionList).highlighted)

    @on(OptionList.OptionSelected, "#users-list")
    def selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    def _choose(self, index: Optional[int]) -> None:
        if index is None or not 0 <= index < len(self.shown):
            return
        owner = self.shown[index]
        self.dismiss(ALL_USERS if owner is None else owner)
