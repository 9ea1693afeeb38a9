"""Why a process runs, at the top of its detail view: the story `psxj why` tells (psxj.judge.why).

Telling it asks systemd over D-Bus (bounded at 2 s), reads crontabs and the kernel's socket tables:
a worker thread tells it on a snapshot of its own (the table's records, judged afresh, with their
own systemd connection: the interface's is the UI thread's), and the widget shows "asking..." until
the answer comes. Only this machine's live processes have a story: a loaded table, or another
machine's, says so. Every string in it is escaped (psxj.render.whytext), and never read as markup.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from psxj.escape import safe_text
from psxj.i18n import _
from psxj.model import ProcessRecord, Snapshot
from psxj.render.whytext import KIND_WORDS, chain_text, label, value_text
from psxj.tui.wrapping import wrapped


def story_rows(why) -> List[Tuple[str, str, str]]:
    """(label, text, style) for each line of the story, in the order `psxj why` tells it."""
    rows = [(_("why"), safe_text(why.source.summary), "bold"), (_("chain"), chain_text(why.chain), "")]
    if any(link.how != "started" for link in why.chain[1:]):
        rows.append(("", _("(-> started by its parent; ~> adopted: handed over when its parent exited; -?> not "
                           "known)"), "dim"))
    kind = _(KIND_WORDS.get(why.source.kind, why.source.kind))
    rows.append((_("source"), kind + (f" ({safe_text(why.source.name)})" if why.source.name else ""), "bold"))
    if why.source.unknown:
        rows.append(("  " + _("unknown"), safe_text(why.source.unknown), ""))
    rows += [("  " + label(key), value_text(fact), "") for key, fact in why.source.details]
    rows += [(label(key), value_text(fact), "") for key, fact in why.context]
    rows += [(_("warning") if index == 0 else "", safe_text(warning.text), "bold yellow")
             for index, warning in enumerate(why.warnings)]
    return rows


def story_table(why) -> Table:
    table = Table(box=None, expand=True, show_header=False, pad_edge=False)
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for name, text, style in story_rows(why):
        table.add_row(Text(name), wrapped(Text(text, style=style, overflow="fold")))   # a long path folds
    return table


def explain_live(snapshot: Snapshot, record: ProcessRecord):
    """The story of `record`, judged on a copy of the live table (its own kinds, its own systemd)."""
    from psxj.judge.evidence import SystemLook
    from psxj.judge.kinds import kinds_of
    from psxj.judge.why import explain

    copy = Snapshot(snapshot.records, source="live", taken_at=snapshot.taken_at, pid_width=snapshot.pid_width,
                    observations=snapshot.observations)
    own = copy.get(record.pid)
    if own is None or own.start_ticks != record.start_ticks:
        return None
    try:
        return explain(copy, own, SystemLook(copy))
    finally:
        source = getattr(getattr(kinds_of(copy).judge, "_units", None), "source", None)
        if source is not None:
            source.close()


class WhyStory(Static):
    """The story of one process, told when it comes."""

    DEFAULT_CSS = """
    WhyStory { height: auto; margin: 0 0 1 0; border: round $accent; padding: 0 1; }
    """

    def __init__(self, snapshot: Snapshot, record: ProcessRecord) -> None:
        super().__init__(Text(_("Why it runs: asking…"), style="dim"), id="why-story")
        self.snapshot, self.record = snapshot, record
        self.why = None

    def on_mount(self) -> None:
        self.border_title = _("Why it runs")
        if not self.snapshot.live or getattr(self.snapshot, "parts", None) is not None or self.record.host:
            self.update(Text(_("Why it runs is told for this machine's live processes only (psxj why PID).")))
            return
        self.run_worker(self._tell, thread=True, exclusive=True, group="why", exit_on_error=False)

    def _tell(self) -> None:
        try:
            why = explain_live(self.snapshot, self.record)
        except Exception as exc:   # noqa: BLE001 - a story that fails must not take the detail view with it
            message: Optional[str] = _("The story could not be told: {error}").format(error=safe_text(str(exc)))
            why = None
        else:
            message = None if why is not None else _("The process has exited.")
        self.app.call_from_thread(self._show, why, message)

    def _show(self, why, message: Optional[str]) -> None:
        self.why = why
        self.update(story_table(why) if why is not None else Group(Text(message or "")))
