"""The lab's screen: a lesson's processes (sessions view) beside what psxj audit says, the story below.

Opened from the demo menu (psxj.tui.demo_menu, psxj.tui.demo.open_lab) for a counterexample or the job-control lab. The
lesson (psxj.lab) runs in a worker thread, one beat per `n`: each beat may take a few seconds (it
waits until /proc shows what it did), and the screen never waits for it. The table and the
audit refresh every second from /proc. Esc ends the lab: everything it started is stopped,
each process proven first, before the screen closes; quitting psxj does the same.
"""

from __future__ import annotations

import threading
from typing import Callable, List, Optional

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from psxj.errors import PsxjError
from psxj.i18n import N_, _
from psxj.lab.base import Beat, Lab, message
from psxj.tui.dialog import FullScreen
from psxj.tui.keys import bar_entries, key_bar
from psxj.tui.table import ProcessTable
from psxj.tui.wrapping import wrapped_group

NARROW = 100   # below this width the audit goes under the table, and its lines into the story

_TEXT = {
    "title": N_("Lab: {title}"),
    "same_command": N_("the same on the command line: {command}"),
    "starting": N_("Starting the lab…"),
    "working": N_("…"),
    "next_hint": N_("n: next step"),
    "over": N_("The lesson is over. Esc ends the lab: psxj stops everything it started."),
    "ending": N_("Ending the lab: stopping what it started…"),
    "failed": N_("The lab stopped: {error}"),
    "audit_title": N_("psxj audit {pid}"),
    "terminal_title": N_("the terminal {tty}: what psxj typed, what bash printed"),
    "audit_about": N_("this lesson is about: {rules}"),
    "audit_none": N_("psxj audit: no process to audit yet"),
    "audit_gone": N_("psxj audit {pid}: the process has exited"),
    "no_processes": N_("None of the lab's processes is left."),
    "busy": N_("Still waiting for the last step to show in /proc."),
    "done": N_("The lesson is over: Esc ends the lab."),
}


def _text(key: str) -> str:
    """One of this module's sentences (_TEXT), in the chosen language."""
    return _(_TEXT[key])


def beat_text(number: int, beat: Beat, with_audit: bool) -> Group:
    """One beat as the story tells it: title, the tutorial's words, what to see, what changed, evidence."""
    parts = [Text(f"{number}. {beat.title}", style="bold")]
    if beat.quote:
        parts.append(Text(f"  「{beat.quote}」", style="italic"))
    if beat.explanation:
        parts.append(Text(f"  {beat.explanation}"))
    parts += [Text("  " + message("changed", change=change), style="bold") for change in beat.changes]
    parts += [Text(f"  {line}", style="dim") for line in beat.evidence]
    if with_audit:
        parts += [Text(f"  {line}") for line in beat.audit]
    return wrapped_group(parts)


class LabScreen(FullScreen):
    CSS_PATH = "lab.tcss"
    BINDINGS = [
        Binding("n,space", "next", "Next step"),
        Binding("escape,q", "end", "End the lab"),
    ]

    def __init__(self, make_lab: Callable[[], Lab]) -> None:
        super().__init__()
        self.make_lab = make_lab
        self.lab: Optional[Lab] = None
        self.beats: List[Beat] = []
        self.notes: List[Text] = [Text(_text("starting"), style="dim")]
        self.busy = True
        self.over = False
        self.ending = False
        self._lab_lock = threading.Lock()   # one thread at a time drives the lab (a beat, or its end)

    # layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="lab-title")
        with Horizontal(id="lab-body"):
            yield ProcessTable(id="lab-table")
            with VerticalScroll(id="lab-audit"):
                yield Static(id="lab-audit-text")
        with VerticalScroll(id="lab-story"):
            yield Static(id="lab-story-text")
        yield from self.compose_extra()
        yield Static(id="lab-keys")

    def compose_extra(self) -> ComposeResult:
        return iter(())

    def on_mount(self) -> None:
        self._apply_width()
        self.query_one("#lab-table", ProcessTable).empty_message = _text("starting")
        self._show_title()
        self._show_story()
        self.begin()
        self.set_interval(1.0, self.refresh_table)

    def on_resize(self, event) -> None:
        self._apply_width()
        self._show_story()
        self._show_keys()

    @property
    def narrow(self) -> bool:
        return self.size.width < NARROW

    def _apply_width(self) -> None:
        self.query_one("#lab-body").set_class(self.narrow, "narrow")

    def _show_title(self) -> None:
        title = _(self.lab.title) if self.lab is not None else ""
        self.query_one("#lab-title", Static).update(Text(_text("title").format(title=title), no_wrap=True,
                                                         overflow="ellipsis"))
        self._show_keys()

    def _show_keys(self) -> None:
        entries = bar_entries(self.BINDINGS)
        self.query_one("#lab-keys", Static).update(key_bar(entries, max(self.size.width - 1, 20)))

    def _show_story(self) -> None:
        parts = [beat_text(number, beat, self.narrow) for number, beat in enumerate(self.beats, 1)]
        parts += self.notes
        if self.lab is not None and self.lab.command and self.beats:
            parts.append(Text(_text("same_command").format(command=self.lab.command), style="dim"))
        self.query_one("#lab-story-text", Static).update(wrapped_group(parts))
        self.query_one("#lab-story", VerticalScroll).scroll_end(animate=False)

    # the lesson -------------------------------------------------------------------
    def begin(self) -> None:
        self._step(first=True)

    @work(thread=True, exclusive=True, group="lab-step")
    def _step(self, first: bool = False) -> None:
        error: Optional[str] = None
        beat: Optional[Beat] = None
        with self._lab_lock:  # never held while waiting for the screen's thread: it may want the lock
            if self.ending:
                return
            try:
                if first:
                    self.lab = self.make_lab()
                beat = self.lab.next_beat()
            except PsxjError as exc:
                error = str(exc)
        if first and self.lab is not None:
            self.app.call_from_thread(self._show_title)
        self.app.call_from_thread(self._failed if error is not None else self._told, error or beat)

    def _told(self, beat: Optional[Beat]) -> None:
        self.busy = False
        self.notes = []
        if beat is not None:
            self.beats.append(beat)
        if beat is None or beat.last:
            self.over = True
            self.notes = [Text(_text("over"), style="bold")]
        else:
            self.notes = [Text(_text("next_hint"), style="dim")]
        self._show_story()
        self.refresh_table()

    def _failed(self, error: str) -> None:
        self.busy = False
        self.over = True
        self.notes = [Text(_text("failed").format(error=error), style="bold red")]
        self._show_story()

    def action_next(self) -> None:
        if self.busy:
            self.app.notify(_text("busy"))
            return
        if self.over:
            self.app.notify(_text("done"))
            return
        self.busy = True
        self.notes = [Text(_text("working"), style="dim")]
        self._show_story()
        self._step()

    # the table and the audit ---------------------------------------------------------
    def refresh_table(self) -> None:
        if self.lab is not None and not self.ending:
            self._read()

    @work(thread=True, exclusive=True, group="lab-read")
    def _read(self) -> None:
        from psxj.sources.proc import read_snapshot

        lab = self.lab
        snapshot = read_snapshot()
        try:
            records = lab.shown_records(snapshot)
        except RuntimeError:  # the lab's thread added a process as we read: the next tick shows it
            return
        focus = lab.focus_pid
        report = None
        if lab.shows_terminal and getattr(lab, "terminal", None) is not None:
            report = lab.terminal  # the panel shows the terminal instead of an audit
        elif focus is not None:
            record = snapshot.get(focus)
            if record is not None and record.state != "Z":
                from psxj.judge.audit import audit_process

                report = audit_process(snapshot, record)
        self.app.call_from_thread(self._show_processes, snapshot, records, focus, report)

    def _show_processes(self, snapshot, records, focus: Optional[int], report) -> None:
        from psxj.render.views import ViewOptions, session_rows

        if not self.is_mounted:
            return
        table = self.query_one("#lab-table", ProcessTable)
        table.empty_message = _text("no_processes")
        table.set_rows(snapshot, session_rows(snapshot, records, ViewOptions(mode="sessions")))
        table.highlighted_pids = {focus} if focus is not None else set()
        table.refresh()
        if self.lab.shows_terminal:
            self.query_one("#lab-audit-text", Static).update(self._terminal(report))
        else:
            self.query_one("#lab-audit-text", Static).update(self._audit(focus, report))

    def _terminal(self, terminal) -> Group:
        if terminal is None:
            return Group(Text(_text("starting"), style="dim"))
        lines = terminal.text().splitlines()[-40:]
        return Group(Text(_text("terminal_title").format(tty=terminal.name), style="bold"),
                     Text("\n".join(lines), no_wrap=True, overflow="ellipsis"))

    def _audit(self, focus: Optional[int], report) -> Group:
        from psxj.tui.details import checklist_table

        if focus is None:
            return Group(Text(_text("audit_none"), style="dim"))
        if report is None or report.gone:
            return Group(Text(_text("audit_gone").format(pid=focus), style="bold"))
        parts = [Text(_text("audit_title").format(pid=focus), style="bold")]
        rules = getattr(self.lab, "audit_rules", ())
        if rules:
            parts.append(Text(_text("audit_about").format(rules=", ".join(rules)), style="dim"))
        parts.append(checklist_table(report))
        return wrapped_group(parts)

    def on_process_table_row_activated(self, event: ProcessTable.RowActivated) -> None:
        event.stop()  # the app's details are the main table's; this table has none

    def on_process_table_header_clicked(self, event: ProcessTable.HeaderClicked) -> None:
        event.stop()  # and its sort is the main table's too

    # ending -----------------------------------------------------------------------------
    def action_end(self) -> None:
        if self.ending:
            return
        self.ending = True
        self.notes = [Text(_text("ending"), style="bold")]
        self._show_story()
        self._end()

    @work(thread=True, group="lab-end")
    def _end(self) -> None:
        with self._lab_lock:  # after the beat under way, if any
            if self.lab is not None:
                self.lab.close()
        self.app.call_from_thread(self._lab_ended)

    def _lab_ended(self) -> None:
        if self.is_attached and self.app.screen is self:
            self.app.pop_screen()

    def on_unmount(self) -> None:
        """psxj quits with the lab open: end it here, synchronously, before the process exits."""
        self.ending = True
        if self.lab is not None and not self.lab.closed:
            with self._lab_lock:
                self.lab.close()
