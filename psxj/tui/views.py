"""How the table shows its rows: flat, as a forest or by session, with or without kernel threads, daemons
only, sorted by a column, with the optional columns chosen (o, or a click on a header).

A feature of the main screen (psxj.tui.feature). The options are the app's settings (the columns are
remembered); this feature asks for a change with ViewChanged, and the app rebuilds the rows
(psxj.render.views.build_rows).
"""

from __future__ import annotations

from functools import lru_cache
from typing import List, Optional, Tuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from psxj.i18n import N_, _
from psxj.render.views import CHOOSABLE_KEYS, COLUMN_BY_KEY, COLUMN_KEYS, HOME, OPTIONAL_KEYS, ViewOptions
from psxj.tui.dialog import Dialog
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
        def chosen(answer: Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]]) -> None:
            if answer is not None:
                columns, without = answer
                self.post_message(self.ViewChanged(lambda o: with_columns(o, columns, without)))

        options = self.app.options
        self.app.push_screen(ColumnsScreen(options.columns, options.without), chosen)

    def status_parts(self) -> List[StatusPart]:
        """The order, and what the view leaves out."""
        o = self.app.options
        if o.sort_key == HOME:
            long = _("yours first, kernel threads last") if o.you is not None else _("kernel threads last")
            short = _("yours first") if o.you is not None else _("kernel last")
            parts = [StatusPart(3, long, short)]
        else:   # the header shows it too (▲ ▼): among the first parts to go on a narrow terminal
            sort = COLUMN_BY_KEY[o.sort_key].header + ("▼" if o.descending else "▲")
            parts = [StatusPart(4, _("sort {column}").format(column=sort), sort)]
        if o.mode != "table":
            parts.append(StatusPart(1, _(MODE_WORDS.get(o.mode, o.mode)), _(MODE_WORDS.get(o.mode, o.mode))))
        if not o.show_kernel_threads:
            parts.append(StatusPart(2, _("kernel threads hidden (k)"), _("no kernel threads")))
        if o.daemons_only:
            parts.append(StatusPart(1, _("daemons only"), _("daemons")))
        return parts


def next_sort_key(options: ViewOptions, step: int) -> str:
    """The order `step` places on from the one the table is in: the first screen's (HOME), then each
    column shown."""
    keys = [HOME] + [key for key in COLUMN_KEYS if key in options.columns or not COLUMN_BY_KEY[key].optional
                     and key not in options.without]
    return keys[(keys.index(options.sort_key) + step) % len(keys)] if options.sort_key in keys else keys[0]


def with_columns(options: ViewOptions, columns: Tuple[str, ...], without: Tuple[str, ...] = ()) -> ViewOptions:
    """The options with these optional columns shown and these default ones not: sorted by PID when
    the sort column goes."""
    sort_key = options.sort_key
    gone = sort_key != HOME and (sort_key not in COLUMN_KEYS or sort_key in without or
                                 COLUMN_BY_KEY[sort_key].optional and sort_key not in columns)
    if gone:
        options = options._replace(sort_key="pid")
    return options._replace(columns=columns, without=without)


class ColumnsScreen(Dialog[Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]]]):
    """Choose the columns (Space toggles, Enter applies, Esc leaves them as they were): every one but PID
    and COMMAND, those of ps -axj checked until turned off. Answers (optional ones chosen, default ones
    turned off)."""

    DEFAULT_CSS = """
    ColumnsScreen { align: center middle; }
    #columns-list { height: auto; max-height: 16; width: 72; max-width: 100%; }
    #columns-title, #columns-meaning { width: 72; max-width: 100%; height: auto; }
    #columns-meaning { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("enter", "apply", "Apply")]

    def __init__(self, chosen: Tuple[str, ...], without: Tuple[str, ...] = ()) -> None:
        super().__init__()
        self.chosen, self.without = chosen, without

    def compose(self) -> ComposeResult:
        from psxj.render.details import COLUMN_MEANINGS

        def shown(key: str) -> bool:
            return key in self.chosen if COLUMN_BY_KEY[key].optional else key not in self.without

        with Vertical(classes="dialog", id="columns-dialog"):
            yield Static(wrapped(Text(_("Columns (Space toggles, Enter applies, Esc cancels)"),
                                      style="bold")), id="columns-title")
            yield column_list()(*[(f"{COLUMN_BY_KEY[key].header:8} {_(COLUMN_MEANINGS[COLUMN_BY_KEY[key].header])}",
                                   key, shown(key)) for key in CHOOSABLE_KEYS], id="columns-list")
            # A list line is one line: cut on a narrow screen. The highlighted column's meaning, whole.
            yield Static(id="columns-meaning")

    def on_selection_list_selection_highlighted(self, event) -> None:
        from psxj.render.details import COLUMN_MEANINGS

        header = COLUMN_BY_KEY[event.selection.value].header
        self.query_one("#columns-meaning", Static).update(wrapped(f"{header}: {_(COLUMN_MEANINGS[header])}"))

    def action_apply(self) -> None:
        selected = set(self.query_one("#columns-list").selected)
        self.dismiss((tuple(key for key in OPTIONAL_KEYS if key in selected),
                      tuple(key for key in CHOOSABLE_KEYS if key not in selected and key not in OPTIONAL_KEYS)))


@lru_cache(maxsize=None)
def column_list() -> type:
    """Textual's SelectionList where Space toggles and Enter is left to the dialog, which applies (the
    list would take Enter as another toggle). Made when the dialog first opens: the interface starts
    without SelectionList."""
    from textual.widgets import SelectionList

    class ColumnList(SelectionList, inherit_bindings=False):
        BINDINGS = [Binding("space", "toggle_highlighted", "Toggle", show=False)] + [
            Binding(key, action, show=False) for key, action in (
                ("down", "cursor_down"), ("up", "cursor_up"), ("home", "first"), ("end", "last"),
                ("pagedown", "page_down"), ("pageup", "page_up"))]

        def action_toggle_highlighted(self) -> None:
            # At once, not through a message as OptionList's select: an Enter typed right after applies it.
            if self.highlighted is not None:
                self.toggle(self.get_option_at_index(self.highlighted))

    return ColumnList
