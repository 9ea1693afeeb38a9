"""What every feature of the main screen is: a widget that owns its keys, its state and its styles.

The filter, the search, signals and tags, the views, the events, the demo, time travel, hosts, details
and audit: each is a Feature subclass in its own module. The main screen nests them one inside another
around its content (psxj.tui.main_screen), so each is an ancestor of whatever has the focus there, the
table or the filter line, and Textual offers it the keys it binds as it would offer the screen's. A
feature lays nothing out: it fills the one around it, and the table, the lines and the panes are inside.

Attributes down, messages up, as Textual has it. A feature sets the attributes of the table below it and
calls its methods, and hears what the table says (ProcessTable's messages bubble up through it); it tells
the app above with the messages defined here. The app calls down into every feature around each table it
shows (before_showing, after_showing; after_rebuild whenever its rows are built again) and asks each
for its part of the status line (status_parts). What outlives the screen (the reader, the event feed
and log, the demo's processes) and the settings are the app's (psxj.tui.app): a feature reads them there.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional

from textual.containers import Container
from textual.message import Message

from psxj.model import Snapshot
from psxj.render.views import ViewOptions
from psxj.tui.table import ProcessTable


class StatusPart(NamedTuple):
    """One part of the status line: on a narrow terminal the short form first, then the least needed
    parts (the highest priority number) go; priority 0 always stays."""
    priority: int
    long: str
    short: str


class Feature(Container, can_focus=False):
    """A feature of the main screen (see the module's docstring). Its `app` is psxj.tui.app.PsxjApp."""

    # Nothing of its own to paint: hidden, so that the compositor never draws the blank screenfuls of
    # ten nested features at each key press. What they hold is shown (MainScreen's DEFAULT_CSS).
    DEFAULT_CSS = """
    Feature { visibility: hidden; }
    """

    class ViewChanged(Message):
        """Show the table with its view options (psxj.render.views.ViewOptions) changed by `change`,
        applied to the options as they are when the app takes the message: two keys pressed before it
        did (t, t) are two changes, never one read twice. `then` runs once the new rows are in."""

        def __init__(self, change: Callable[[ViewOptions], ViewOptions],
                     then: Optional[Callable[[], None]] = None) -> None:
            super().__init__()
            self.change, self.then = change, then

    class StatusChanged(Message):
        """Something this feature shows on the status line changed."""

    class ShowSnapshot(Message):
        """Show this table: a refresh, or the one of a recording stepped to."""

        def __init__(self, snapshot: Snapshot, partial: bool = False) -> None:
            super().__init__()
            self.snapshot, self.partial = snapshot, partial

    class RefreshNow(Message):
        """Read the live table again now, not at the next tick."""

    @property
    def table(self) -> ProcessTable:
        return self.query_one(ProcessTable)

    def check_action(self, action: str, parameters) -> Optional[bool]:
        """The app says which actions this table allows (a loaded file, another machine, a browser)."""
        return self.app.check_action(action, parameters)

    def status_parts(self) -> List[StatusPart]:
        return []

    def before_showing(self, snapshot: Snapshot, partial: bool) -> None:
        """A table is about to be shown (its rows are not built yet)."""

    def after_showing(self, snapshot: Snapshot, partial: bool) -> None:
        """A table is shown: its rows are on the table."""

    def after_rebuild(self, snapshot: Snapshot) -> None:
        """The table's rows were built again (a table shown, or the view changed), the status line not yet."""
