"""How the table shows its rows: flat, as a forest or by session, with or without kernel threads, daemons
only, sorted by a column, with the optional columns chosen (o, or a click on a header).

A feature of the main screen (psxj.tui.feature). The options are the app's settings (the columns are
remembered); this feature asks for a change with ViewChanged, and the app rebuilds the rows
(psxj.render.views.build_rows).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from psxj.i18n import N_, _
from psxj.render.views import COLUMN_BY_KEY, COLUMN_KEYS, OPTIONAL_KEYS, ViewOptions
from psxj.tui.feature import Feature, StatusPart
from psxj.tui.table import ProcessTable
from psxj.tui.wrapping import wrapped

MODE_WORDS = {"table": N_("table"), "forest": N_("forest"), "sessions": N_("sessions")}   # the status line's


class Views(Feature):
    BINDINGS = [
        Binding("f5,t", "mode('forest')", "Tree"),
        Binding("g", "mode('sessions')", "Sessions"),
        Binding("k", "toggle_kernel", "Kernel"),
        Binding("D", "toggle_daemons", "Daemons"),
        Binding("f6,greater_than_sign", "sort(1)", "Sort"),
        Binding("less_than_sign", "sort(-1)", "Sort back", show=False),
        Binding("i", "invert_sort", "Reverse"),
        Binding("o", "columns", "Columns"),
    ]

    def action_toggle_kernel(self) -> None:
        self.post_message(self.ViewChanged(lambda o: o._replace(show_kernel_threads=not o.show_kernel_threads)))

    def action_toggle_daemons(self) -> None:
        self.post_message(self.ViewChanged(lambda o: o._replace(daemons_only=not o.daemons_only)))

    def action_mode(self, mode: str) -> None:
        self.post_message(self.ViewChanged(lambda o: o._replace(mode="table" if o.mode == mode else mode)))

    def action_sort(self, step: int) -> None:
        self.post_message(self.ViewChanged(lambda o: o._replace(sort_key=next_sort_key(o, step))))

    def action_invert_sort(self) -> None:
        self.post_message(self.ViewChanged(lambda o: o._replace(descending=not o.descending)))

    @on(ProcessTable.HeaderClicked)
    def sort_by_header(self, event: ProcessTable.HeaderClicked) -> None:
        key = event.column_key
        self.post_message(self.ViewChanged(lambda o: o._replace(descending=not o.descending) if key == o.sort_key
                                           else o._replace(sort_key=key, descending=False)))

    def action_columns(self) -> None:
        def chosen(columns: Optional[Tuple[str, ...]]) -> None:
            if columns is not None:
                self.post_message(self.ViewChanged(lambda o: with_columns(o, columns)))

        self.app.push_screen(ColumnsScreen(self.app.options.columns), chosen)

    def status_parts(self) -> List[StatusPart]:
        """The order, and what the view leaves out."""
        o = self.app.options
        sort = COLUMN_BY_KEY[o.sort_key].header + ("▼" if o.descending else "▲")
        parts = [StatusPart(3, _("sort {column}").format(column=sort), sort)]
        if o.mode != "table":
            parts.append(StatusPart(1, _(MODE_WORDS.get(o.mode, o.mode)), _(MODE_WORDS.get(o.mode, o.mode))))
        if not o.show_kernel_threads:
            parts.append(StatusPart(2, _("no kernel threads"), _("no kthreads")))
        if o.daemons_only:
            parts.append(StatusPart(1, _("daemons only"), _("daemons")))
        return parts


def next_sort_key(options: ViewOptions, step: int) -> str:
    """The column `step` places on from the one the table is sorted by, among those shown."""
    keys = [key for key in COLUMN_KEYS if not COLUMN_BY_KEY[key].optional or key in options.columns]
    return keys[(keys.index(options.sort_key) + step) % len(keys)] if options.sort_key in keys else keys[0]


def with_columns(options: ViewOptions, columns: Tuple[str, ...]) -> ViewOptions:
    """The options with these optional columns shown: sorted by PID when the sort column goes."""
    sort_key = options.sort_key
    if sort_key not in COLUMN_KEYS or (COLUMN_BY_KEY[sort_key].optional and sort_key not in columns):
        options = options._replace(sort_key="pid")
    return options._replace(columns=columns)


class ColumnsScreen(ModalScreen[Optional[Tuple[str, ...]]]):
    """Choose the optional columns (Space toggles, Enter applies, Esc leaves them as they were)."""

    DEFAULT_CSS = """
    ColumnsScreen { align: center middle; }
    #columns-list { height: auto; max-height: 12; width: 72; max-width: 100%; }
    #columns-title, #columns-meaning { width: 72; max-width: 100%; height: auto; }
    #columns-meaning { margin-top: 1; }
    """
    # Enter applies (a priority binding: the list itself would take Enter as another toggle).
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("enter", "apply", "Apply", priority=True)]

    def __init__(self, chosen: Tuple[str, ...]) -> None:
        super().__init__()
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        from textual.widgets import SelectionList

        from psxj.render.details import COLUMN_MEANINGS

        with Vertical(classes="dialog", id="columns-dialog"):
            yield Static(wrapped(Text(_("Optional columns (Space toggles, Enter applies, Esc cancels)"),
                                      style="bold")), id="columns-title")
            yield SelectionList(*[(f"{COLUMN_BY_KEY[key].header:8} {_(COLUMN_MEANINGS[COLUMN_BY_KEY[key].header])}",
                                   key, key in self.chosen) for key in OPTIONAL_KEYS], id="columns-list")
            # A list line is one line: cut on a narrow screen. The highlighted column's meaning, whole.
            yield Static(id="columns-meaning")

    def on_selection_list_selection_highlighted(self, event) -> None:
        from psxj.render.details import COLUMN_MEANINGS

        header = COLUMN_BY_KEY[event.selection.value].header
        self.query_one("#columns-meaning", Static).update(wrapped(f"{header}: {_(COLUMN_MEANINGS[header])}"))

    def action_apply(self) -> None:
        from textual.widgets import SelectionList

        selected = set(self.query_one("#columns-list", SelectionList).selected)
        self.dismiss(tuple(key for key in OPTIONAL_KEYS if key in selected))
