"""Signals and tags: x sends a signal to the process, its group, its session or the tagged processes,
each proven by its start time first (psxj.act.signals); Space tags a process, U untags them all.

A feature of the main screen (psxj.tui.feature). The dialog (SignalScreen) is the confirmation: it
names the signal and every target before Enter. The tags are the table's (ProcessTable.tagged), kept by
identity, so a PID reused by a new process is never tagged.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList

from psxj.act.signals import MEANINGS, MENU, signal_number
from psxj.i18n import N_, _, ngettext
from psxj.model import ProcessRecord
from psxj.render.views import GROUP_HEADER, PROCESS, SESSION_HEADER, header_members
from psxj.tui.dialog import Dialog
from psxj.tui.feature import Feature, StatusPart


class SignalTarget(NamedTuple):
    """Whom a signal goes to: a title, the processes (each proven before it is signalled), and what
    the same would be on a shell's command line."""
    title: str
    records: Tuple[ProcessRecord, ...]
    shell: str           # "kill -SIG 1234", "kill -SIG -- -1200"


class Signals(Feature):
    BINDINGS = [
        Binding("f9,x", "signal", "Signal"),
        Binding("space", "tag", "Tag"),
        Binding("U", "untag_all", "Untag all", show=False),
    ]

    # tags ---------------------------------------------------------------------
    def action_tag(self) -> None:
        record = self.table.current
        if record is None or self.table.current_is_gone:
            return
        tagged = self.table.tagged
        tagged.symmetric_difference_update({record.identity})
        self.table.action_cursor(1)
        self.post_message(self.StatusChanged())

    def action_untag_all(self) -> None:
        self.table.tagged.clear()
        self.table.refresh()
        self.post_message(self.StatusChanged())

    def status_parts(self) -> List[StatusPart]:
        if not self.table.tagged:
            return []
        tagged = _("{count} tagged").format(count=len(self.table.tagged))
        return [StatusPart(1, tagged, tagged)]

    # signals ------------------------------------------------------------------
    def targets(self) -> Dict[str, SignalTarget]:
        """Whom the signal dialog can aim at from here: the process, its group, its session, the tagged."""
        table, snapshot = self.table, self.app.snapshot
        targets: Dict[str, SignalTarget] = {}
        row = table.current_row
        record = table.current if row is not None and row.kind == PROCESS else None
        if record is not None:
            targets["process"] = SignalTarget(f"PID {record.pid} ({record.comm}): {record.command[:60]}", (record,),
                                              f"kill -SIG {record.pid}")
        if row is not None and row.kind in (SESSION_HEADER, GROUP_HEADER):
            kind, ident, members = header_members(table.rows, table.cursor)
            pgid, sid = (ident, None) if kind == GROUP_HEADER else (None, ident)
        else:
            pgid, sid = (record.pgid, record.sid) if record is not None else (None, None)
        live = [r for r in snapshot.records if not r.kernel_thread and r.state != "Z"]
        if pgid is not None:
            group = tuple(r for r in live if r.pgid == pgid)
            if group:
                targets["group"] = SignalTarget(ngettext("process group {pgid} ({count} process: {pids})",
                                                         "process group {pgid} ({count} processes: {pids})",
                                                         len(group)).format(
                    pgid=pgid, count=len(group), pids=", ".join(str(r.pid) for r in group[:8])
                    + ("…" if len(group) > 8 else "")), group, f"kill -SIG -- -{pgid}")
        if sid is not None and sid != 0:
            session = tuple(r for r in live if r.sid == sid)
            if session:
                targets["session"] = SignalTarget(ngettext("session {sid} ({count} process)",
                                                           "session {sid} ({count} processes)", len(session)).format(
                    sid=sid, count=len(session)), session, f"pkill -SIG -s {sid}")
        tagged = tuple(r for r in snapshot.records if r.identity in table.tagged)
        if tagged:
            targets["tagged"] = SignalTarget(ngettext("the {count} tagged process ({pids})",
                                                      "the {count} tagged processes ({pids})", len(tagged)).format(
                count=len(tagged), pids=", ".join(str(r.pid) for r in tagged[:8]) + ("…" if len(tagged) > 8 else "")),
                tagged, "kill -SIG " + " ".join(str(r.pid) for r in tagged[:8]))
        return targets

    def action_signal(self) -> None:
        if self.app.snapshot is None:
            return
        if self.table.current_is_gone and not self.table.tagged:
            self.app.notify(_("PID {pid} has exited.").format(pid=self.table.current.pid), severity="warning")
            return
        targets = self.targets()
        if not targets:
            return
        row = self.table.current_row
        scope = "tagged" if "tagged" in targets else \
            ("group" if row is not None and row.kind == GROUP_HEADER else
             "session" if row is not None and row.kind == SESSION_HEADER else "process")
        scope = scope if scope in targets else next(iter(targets))

        def chosen(answer: Optional[Tuple[str, str]]) -> None:
            if answer is None:
                self.app.notify(_("Nothing sent."))
                return
            scope, name = answer
            self.send(name, targets[scope])

        self.app.push_screen(SignalScreen(targets, scope), chosen)

    def send(self, name: str, target: SignalTarget) -> None:
        """Signal each process of the target, each proven by its start time (psxj.act.signals)."""
        from psxj.act.signals import SignalError, send_signal

        sent, refused = [], []
        for record in target.records:
            try:
                send_signal(record, name)
            except SignalError as exc:
                refused.append(str(exc))
            else:
                sent.append(record.pid)
        if sent and not refused:
            what = f"PID {sent[0]} ({target.records[0].comm})" if len(target.records) == 1 else \
                ngettext("{count} process of {target}", "{count} processes of {target}", len(sent)).format(
                    count=len(sent), target=target.title.split(' (')[0])
            self.app.notify(_("SIG{name} sent to {what}.").format(name=name, what=what))
        elif sent:
            self.app.notify(_("SIG{name} sent to {sent} of {count}; not to the rest: ").format(
                name=name, sent=len(sent), count=len(target.records))
                + "; ".join(refused[:3]), severity="warning", title=_("Signal partly sent"))
        else:
            self.app.notify("; ".join(refused[:3]), severity="error", title=_("Signal not sent"))
        self.post_message(self.RefreshNow())


class SignalScreen(Dialog[Optional[Tuple[str, str]]]):
    """Pick a signal, and whom it goes to; SIGTERM is preselected, so x and Enter send it.

    The dialog is the confirmation: it names the signal and every target before Enter. Typing a
    signal's number selects it; p, g, s and t switch between the process, its process group, its
    session and the tagged processes, where there are any."""

    DEFAULT_CSS = """
    SignalScreen { align: center middle; }
    #signal-list { height: auto; max-height: 10; width: 64; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]
    SCOPE_KEYS = {"p": "process", "g": "group", "s": "session", "t": "tagged"}
    SCOPE_WORDS = {"process": N_("process"), "group": N_("group"), "session": N_("session"), "tagged": N_("tagged")}

    def __init__(self, targets: Dict[str, SignalTarget], scope: str) -> None:
        super().__init__()
        self.targets = targets
        self.scope = scope
        self._typed = ""

    def compose(self) -> ComposeResult:
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
