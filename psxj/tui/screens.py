"""The interface's other screens: a process's details, help, and the signal menu with its confirmation."""

from __future__ import annotations

from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from rich.markup import escape as escape_markup
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Label, OptionList, Static

from psxj.act.signals import MEANINGS, MENU
from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot
from psxj.render.details import COLUMN_MEANINGS, FLAG_MEANINGS, STATE_MEANINGS, process_facts
from psxj.render.views import COLUMNS
from psxj.tui.keys import bar_entries, key_bar
from psxj.tui.wrapping import wrapped


def facts_table(rows: List[tuple], headers: tuple) -> Table:
    table = Table(*headers, box=None, expand=True, show_edge=False, pad_edge=False)
    for row in rows:
        table.add_row(*[wrapped(str(cell)) for cell in row])  # never markup; Chinese wraps between characters
    return table


class DetailScreen(Screen):
    """Every fact about one process, with what it means; extra sections (the daemon checklist) below."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, snapshot: Snapshot, record: ProcessRecord,
                 extra_sections: Optional[List[Callable[[], Static]]] = None) -> None:
        super().__init__()
        self.snapshot, self.record = snapshot, record
        self.extra_sections = extra_sections or []

    def compose(self) -> ComposeResult:
        r = self.record
        title = Text(f"PID {r.pid}  {r.command}", no_wrap=True, overflow="ellipsis")
        yield Static(title, id="detail-title")
        with VerticalScroll(id="detail-body"):
            facts = process_facts(self.snapshot, r)
            yield Static(facts_table([(f.label, f.value, f.meaning) for f in facts],
                                     (_("field"), _("value"), _("meaning"))),
                         id="detail-facts")
            for make in self.extra_sections:
                yield make()
        # Keys as they are typed (Textual's Footer would say "esc").
        yield Static(key_bar(bar_entries([*self.BINDINGS, *self.app.BINDINGS]), 200), id="detail-keys")


def help_text(selected: Optional[ProcessRecord], snapshot: Optional[Snapshot]) -> Table:
    table = Table(_("column"), _("value here"), _("meaning"), box=None, expand=True, pad_edge=False)
    for column in COLUMNS:
        value = column.text(selected, snapshot) if selected is not None and snapshot is not None else ""
        table.add_row(Text(column.header), Text(value, overflow="ellipsis", no_wrap=True),
                      wrapped(_(COLUMN_MEANINGS[column.header])))
    return table


def legend_rows() -> List[tuple]:
    """(mark, kind, meaning) for every kind, from psxj.judge.kinds: the table's first column."""
    from psxj.judge.kinds import KINDS, MARKS, MEANINGS

    return [(MARKS[kind] or _("(blank)"), kind, _(MEANINGS[kind])) for kind in KINDS]


class HelpScreen(ModalScreen):
    """Columns and STAT letters in plain words, with the selected process's own values."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    def __init__(self, selected: Optional[ProcessRecord], keys: List[tuple], snapshot: Optional[Snapshot] = None,
                 ) -> None:
        super().__init__()
        self.selected = selected
        self.keys = keys
        self.snapshot = snapshot

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(_("[b]psxj[/b]: the columns of ps -axj"), id="help-title")
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
            yield Static("\n" + _("[b]Keys[/b]"))
            yield Static(facts_table(self.keys, (_("key"), _("action"))))


class SignalTarget(NamedTuple):
    """Whom a signal goes to: a title, the processes (each proven before it is signalled), and what
    the same would be on a shell's command line."""
    title: str
    records: Tuple[ProcessRecord, ...]
    shell: str           # "kill -SIG 1234", "kill -SIG -- -1200"




class SignalScreen(ModalScreen[Optional[Tuple[str, str]]]):
    """Pick a signal, and whom it goes to; SIGTERM is preselected, so x and Enter send it.

    The dialog is the confirmation: it names the signal and every target before Enter. Typing a
    signal's number selects it; p, g, s and t switch between the process, its process group, its
    session and the tagged processes, where there are any."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    SCOPE_KEYS = {"p": "process", "g": "group", "s": "session", "t": "tagged"}
    SCOPE_WORDS = {"process": N_("process"), "group": N_("group"), "session": N_("session"), "tagged": N_("tagged")}

    def __init__(self, targets: Dict[str, SignalTarget], scope: str) -> None:
        super().__init__()
        self.targets = targets
        self.scope = scope
        self._typed = ""

    def compose(self) -> ComposeResult:
        from psxj.act.signals import signal_number

        with Vertical(id="signal-dialog", classes="dialog"):
            yield Label(id="signal-target")
            yield Label(id="signal-scopes")
            options = [f"{signal_number(name):2d} SIG{name:5} {_(MEANINGS[name])}" for name in MENU]
            yield OptionList(*options, id="signal-list")
            yield Label(id="signal-hint")

    def on_mount(self) -> None:
        menu = self.query_one("#signal-list", OptionList)
        menu.highlighted = 0  # SIGTERM
        menu.focus()
        self._describe()

    @property
    def chosen(self) -> str:
        index = self.query_one("#signal-list", OptionList).highlighted
        return MENU[index or 0]

    def _describe(self) -> None:
        target = self.targets[self.scope]
        self.query_one("#signal-target", Label).update(Text(_("Send a signal to {target}").format(
            target=target.title), style="bold"))
        others = [f"{key} {_(self.SCOPE_WORDS[scope])}" for key, scope in self.SCOPE_KEYS.items()
                  if scope in self.targets and scope != self.scope]
        self.query_one("#signal-scopes", Label).update(Text((_("or: ") + " · ".join(others)) if others else ""))
        shell = target.shell.replace("SIG", self.chosen)
        self.query_one("#signal-hint", Label).update(Text(
            _("Enter sends SIG{name} ({shell})\nType a number to pick a signal; Esc cancels.").format(
                name=self.chosen, shell=shell)))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.is_mounted:
            self._describe()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((self.scope, MENU[event.option_index]))

    def on_key(self, event) -> None:
        from psxj.act.signals import signal_number

        if event.character in self.SCOPE_KEYS and self.SCOPE_KEYS[event.character] in self.targets:
            self.scope = self.SCOPE_KEYS[event.character]
            self._describe()
            event.stop()
        elif event.character and event.character.isdigit():
            # A number picks the signal with that number: 9 is KILL, 1 then 5 is TERM.
            self._typed = (self._typed + event.character)[-2:]
            numbers = [signal_number(name) for name in MENU]
            for candidate in (self._typed, event.character):
                if candidate.isdigit() and int(candidate) in numbers:
                    self.query_one("#signal-list", OptionList).highlighted = numbers.index(int(candidate))
                    break
            event.stop()


class ColumnsScreen(ModalScreen[Optional[Tuple[str, ...]]]):
    """Choose the optional columns (Space toggles, Enter applies, Esc leaves them as they were)."""

    # Enter applies (a priority binding: the list itself would take Enter as another toggle).
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("enter", "apply", "Apply", priority=True)]

    def __init__(self, chosen: Tuple[str, ...]) -> None:
        super().__init__()
        self.chosen = chosen

    def compose(self) -> ComposeResult:
        from textual.widgets import SelectionList

        from psxj.render.details import COLUMN_MEANINGS
        from psxj.render.views import COLUMN_BY_KEY, OPTIONAL_KEYS

        with Vertical(classes="dialog", id="columns-dialog"):
            yield Static(wrapped(Text(_("Optional columns (Space toggles, Enter applies, Esc cancels)"),
                                      style="bold")), id="columns-title")
            yield SelectionList(*[(f"{COLUMN_BY_KEY[key].header:8} {_(COLUMN_MEANINGS[COLUMN_BY_KEY[key].header])}",
                                   key, key in self.chosen) for key in OPTIONAL_KEYS], id="columns-list")
            # A list line is one line: cut on a narrow screen. The highlighted column's meaning, whole.
            yield Static(id="columns-meaning")

    def on_selection_list_selection_highlighted(self, event) -> None:
        from psxj.render.details import COLUMN_MEANINGS
        from psxj.render.views import COLUMN_BY_KEY

        header = COLUMN_BY_KEY[event.selection.value].header
        self.query_one("#columns-meaning", Static).update(wrapped(f"{header}: {_(COLUMN_MEANINGS[header])}"))

    def action_apply(self) -> None:
        from textual.widgets import SelectionList

        from psxj.render.views import OPTIONAL_KEYS

        selected = set(self.query_one("#columns-list", SelectionList).selected)
        self.dismiss(tuple(key for key in OPTIONAL_KEYS if key in selected))


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; nothing happens unless the answer is yes."""

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


def checklist_table(report) -> Table:
    """One audit report as a table: rule, verdict, evidence."""
    from psxj.judge.audit import verdict_word

    table = Table(_("rule"), _("verdict"), _("evidence"), box=None, expand=True, pad_edge=False)
    styles = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow", "n/a": "dim"}
    for rule in report.rules:
        table.add_row(Text(rule.id), Text(verdict_word(rule.verdict), style=styles[rule.verdict]),
                      wrapped(rule.evidence))
    return table


def checklist_section(snapshot: Snapshot, record: ProcessRecord) -> Static:
    """The daemon checklist for the detail view, audited now."""
    if record.host is not None:
        return Static(wrapped("\n" + _("Daemon checklist: on {host}, run psxj audit --host {host} {pid}").format(
            host=record.host, pid=record.pid)))
    if not snapshot.live:
        return Static("\n" + _("[b]Daemon checklist[/b]: needs a live process (this table was loaded from a file)."))
    from psxj.judge.audit import audit_process

    return checklist_widget(audit_process(snapshot, record))


def checklist_widget(report) -> Static:
    if report.gone:
        return Static("\n" + _("[b]Daemon checklist[/b]: the process has exited."))
    if report.profile is None:
        return Static(wrapped("\n" + _("Daemon checklist: none; the daemon rules do not apply to a {kind}.").format(
            kind=report.kind.name)))
    counts = report.counts()
    return Vertical(
        Static(wrapped(Text.assemble("\n", (_("Daemon checklist"), "bold"),
                                     _(", profile {profile} ({passed} pass, {failed} fail, {unknown} unknown, {na} "
                                       "not needed; psxj audit --help says what passes)").format(
                                         profile=report.profile, passed=counts['pass'], failed=counts['fail'],
                                         unknown=counts['unknown'], na=counts['n/a'])))),
        Static(checklist_table(report), id="checklist"),
        id="checklist-section",
    )


class AuditScreen(ModalScreen):
    """The audit of every daemon on screen, one line each, then each checklist."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close")]

    def __init__(self, reports) -> None:
        super().__init__()
        self.reports = reports

    def compose(self) -> ComposeResult:
        from psxj.judge.audit import summary_line

        with VerticalScroll(id="help-body"):
            yield Static(_("[b]Audit[/b] of {count} daemon(s) on screen").format(count=len(self.reports)))
            yield Static(wrapped("\n".join(summary_line(r) for r in self.reports)), id="audit-summary")
            for report in self.reports:
                if report.gone:
                    continue
                yield Static(Text(f"\nPID {report.pid}  {report.command}", style="bold", no_wrap=True,
                                  overflow="ellipsis"))
                yield Static(checklist_table(report))
