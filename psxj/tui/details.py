"""A process's details (Enter, or a click on its row): why it runs (psxj.tui.why_story, the story
`psxj why` tells), every fact with what it means, its birth story from the live events, and its daemon
checklist; and the audit of every daemon on screen (a).

A feature of the main screen (psxj.tui.feature). The facts are psxj.render.details', the verdicts
psxj.judge.audit's (both imported when first asked for: the interface starts without them); on a
session or group header, Enter shows the leader's details.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from psxj.escape import safe_text
from psxj.i18n import _, ngettext
from psxj.judge.kinds import daemon_like
from psxj.model import ProcessRecord, Snapshot
from psxj.render.views import GROUP_HEADER, PROCESS, SESSION_HEADER, header_members
from psxj.tui.dialog import Dialog, FullScreen
from psxj.tui.feature import Feature
from psxj.tui.keys import bar_entries, key_bar
from psxj.tui.table import ProcessTable
from psxj.tui.wrapping import wrapped


class Details(Feature):
    BINDINGS = [
        Binding("enter", "details", "Details"),
        Binding("a", "audit", "Audit"),
    ]

    def action_details(self) -> None:
        row = self.table.current_row
        if row is None or self.app.snapshot is None:
            return
        record = self._header_leader() if row.kind in (SESSION_HEADER, GROUP_HEADER) else self.table.current
        if record is not None:
            self.show(record)

    def show(self, record: ProcessRecord) -> None:
        """The detail view of `record` (a row's, or one the sockets view chose)."""
        self.app.push_screen(DetailScreen(self.app.snapshot, record, self.sections(record)))

    @on(ProcessTable.RowActivated)
    def open_details(self, event: ProcessTable.RowActivated) -> None:
        self.action_details()

    def _header_leader(self) -> Optional[ProcessRecord]:
        """On a session or group header: its leader's record, or None (with a notice why)."""
        table, snapshot = self.table, self.app.snapshot
        row = table.current_row
        kind, ident, members = header_members(table.rows, table.cursor)
        host = members[0].host if members else None
        leader = snapshot.get(ident, host) if snapshot else None
        if leader is None:
            self.app.notify((_("The leader of session {id} is not in the table (it has exited); its members are "
                               "below.") if kind == SESSION_HEADER else
                             _("The leader of process group {id} is not in the table (it has exited); its members "
                               "are below.")).format(id=ident))
        return leader if row is not None else None

    def sections(self, record: ProcessRecord) -> List[Callable[[], Static]]:
        """What the detail view shows below the facts: the birth story (live), the daemon checklist."""
        snapshot = self.app.snapshot
        sections = [lambda: checklist_section(snapshot, record)]
        if snapshot.live:
            sections.insert(0, lambda: self.birth_story(record))
        return sections

    def birth_story(self, record: ProcessRecord) -> Static:
        """What events showed of this process, or what can be inferred."""
        lines = self.app.event_log.story_or_inferred(self.app.snapshot, record)
        text = Text()
        text.append("\n" + _("Birth story"), style="bold")
        seen = self.app.event_feed is not None and not lines[0].inferred if lines else False
        text.append(_(" (from live events since psxj started)") + "\n" if seen else
                    _(" (no event of it was seen: inferred from what /proc shows now)") + "\n")
        for line in lines:
            stamp = time.strftime("%H:%M:%S", time.localtime(line.time)) + f".{int(line.time * 1000) % 1000:03d}" \
                if line.time else "        "
            text.append(f"  {stamp}  {safe_text(line.display())}\n", style="dim" if line.inferred else "")
        # i18n: Chinese wraps between characters; a long line goes on under its text, not under its time
        return Static(wrapped(text, hang=16), id="birth-story")

    def action_audit(self) -> None:
        snapshot = self.app.snapshot
        if snapshot is None or not snapshot.live:
            return
        daemons = [row.record for row in self.table.rows
                   if row.kind == PROCESS and daemon_like(snapshot, row.record)]
        if not daemons:
            self.app.notify(_("No daemon-like process on screen (D shows only those; or clear the filter)."))
            return
        self.app.notify(ngettext("Auditing {count} daemon-like process...", "Auditing {count} daemon-like processes...",
                                 len(daemons)).format(count=len(daemons)))
        self._run_audit(snapshot, daemons)

    @work(thread=True, exclusive=True, group="audit")
    def _run_audit(self, snapshot: Snapshot, records) -> None:
        from psxj.judge.audit import SystemFacts, audit_process

        system = SystemFacts(snapshot)
        reports = [audit_process(snapshot, record, system) for record in records]
        self.app.call_from_thread(self.app.push_screen, AuditScreen(reports))


class DetailScreen(FullScreen):
    """Every fact about one process, with what it means; extra sections (the daemon checklist) below."""

    DEFAULT_CSS = """
    #detail-title { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    #why-story { height: auto; }
    #detail-body { padding: 0 1; }
    #detail-keys { dock: bottom; height: 1; background: $panel; }
    #checklist-section { height: auto; }   /* a Vertical is 1fr: in the scrolling body that hid the checklist */
    """
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, snapshot: Snapshot, record: ProcessRecord,
                 extra_sections: Optional[List[Callable[[], Static]]] = None) -> None:
        super().__init__()
        self.snapshot, self.record = snapshot, record
        self.extra_sections = extra_sections or []

    def compose(self) -> ComposeResult:
        from psxj.render.details import process_facts
        from psxj.tui.screens import facts_table

        r = self.record
        title = Text(f"PID {r.pid}  {r.command}", no_wrap=True, overflow="ellipsis")
        yield Static(title, id="detail-title")
        with VerticalScroll(id="detail-body"):
            if self.snapshot.live and getattr(self.snapshot, "parts", None) is None and r.host is None:
                from psxj.tui.why_story import WhyStory

                yield WhyStory(self.snapshot, r)   # first: why it runs, as psxj why tells it
            facts = process_facts(self.snapshot, r)
            yield Static(facts_table([(f.label, f.value, f.meaning) for f in facts],
                                     (_("field"), _("value"), _("meaning"))),
                         id="detail-facts")
            for make in self.extra_sections:
                yield make()
        # Keys as they are typed (Textual's Footer would say "esc").
        yield Static(key_bar(bar_entries([*self.BINDINGS, *self.app.BINDINGS]), 200), id="detail-keys")


def checklist_table(report) -> Table:
    """One audit report as a table: rule, verdict, evidence."""
    from psxj.judge.audit import verdict_word

    table = Table(_("rule"), _("verdict"), _("evidence"), box=None, expand=True, pad_edge=False)
    styles = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow", "n/a": "dim"}
    not_needed: Dict[str, List[str]] = {}
    for rule in report.rules:
        if rule.verdict == "n/a":
            not_needed.setdefault(rule.evidence, []).append(rule.id)
            continue
        table.add_row(Text(rule.id), Text(verdict_word(rule.verdict), style=styles[rule.verdict]),
                      wrapped(rule.evidence))
    for evidence, ids in not_needed.items():   # one reason for many rules (PID 1's): said once, naming them
        if len(ids) == 1:
            table.add_row(Text(ids[0]), Text(verdict_word("n/a"), style="dim"), wrapped(evidence))
            continue
        table.add_row(Text(ngettext("{count} rule", "{count} rules", len(ids)).format(count=len(ids))),
                      Text(verdict_word("n/a"), style="dim"),
                      wrapped(_("{reason}. Not needed: {rules}").format(reason=evidence, rules=", ".join(ids))))
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


class AuditScreen(Dialog):
    """The audit of every daemon on screen, one line each, then each checklist."""

    DEFAULT_CSS = """
    AuditScreen { align: center middle; }
    """
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close")]

    def __init__(self, reports) -> None:
        super().__init__()
        self.reports = reports

    def compose(self) -> ComposeResult:
        from psxj.judge.audit import summary_line

        with VerticalScroll(id="help-body"):
            yield Static(ngettext("[b]Audit[/b] of {count} daemon on screen",
                                  "[b]Audit[/b] of {count} daemons on screen", len(self.reports)).format(
                count=len(self.reports)))
            # One line a daemon, whatever its command's length: cut, never wrapped under the columns.
            yield Static(Group(*(Text(summary_line(r), no_wrap=True, overflow="ellipsis") for r in self.reports)),
                         id="audit-summary")
            for report in self.reports:
                if report.gone:
                    continue
                yield Static(Group(Text(""), Text(f"PID {report.pid}  {report.command}", style="bold", no_wrap=True,
                                                  overflow="ellipsis")))
                yield Static(checklist_table(report))
