"""The process table: a Line API widget that paints only the rows on screen.

Textual's DataTable keeps a widget-side copy of every cell and takes ~0.7 s to reload
5,000 rows; this table holds a list of view rows and turns one into a line of text
only when that line is on screen. Line 0 is the header and never scrolls.
"""

from __future__ import annotations

from typing import List, Optional, Set, Tuple

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from psxj.judge.kinds import DAEMON_LIKE, ORPHAN
from psxj.model import ProcessRecord, Snapshot
from psxj.views import COLUMNS, GROUP_HEADER, PROCESS, SESSION_HEADER, Row, flags

FLAG_WIDTH = 2
GONE = "gone"  # kind of the row that stands where the selected process was when it exited


class ProcessTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "ptable--header", "ptable--sorted", "ptable--cursor", "ptable--kernel", "ptable--daemon",
        "ptable--zombie", "ptable--stopped", "ptable--new", "ptable--gone", "ptable--session",
        "ptable--group", "ptable--demo", "ptable--orphan",
    }
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    class HeaderClicked(Message):
        def __init__(self, column_key: str) -> None:
            super().__init__()
            self.column_key = column_key

    class RowActivated(Message):
        def __init__(self, record: ProcessRecord) -> None:
            super().__init__()
            self.record = record

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: List[Row] = []
        self.snapshot: Optional[Snapshot] = None
        self.cursor = 0
        self.sort_key = "pid"
        self.descending = False
        self.new_identities: Set[Tuple[int, Optional[int]]] = set()
        self.highlighted_pids: Set[int] = set()
        self._spans: List[Tuple[int, int, str]] = []
        self._text_cache: dict = {}    # row -> its text; rows are immutable
        self._styles: dict = {}        # component class -> rich style, for one paint

    # data -----------------------------------------------------------------
    @property
    def current(self) -> Optional[ProcessRecord]:
        if 0 <= self.cursor < len(self.rows):
            row = self.rows[self.cursor]
            return row.record if row.kind in (PROCESS, GONE) else None
        return None

    @property
    def current_is_gone(self) -> bool:
        return 0 <= self.cursor < len(self.rows) and self.rows[self.cursor].kind == GONE

    def set_rows(self, snapshot: Snapshot, rows: List[Row], new_identities=frozenset()) -> None:
        """Show new rows, keeping the selected process selected by PID wherever it moved."""
        selected = self.current
        was_gone = self.current_is_gone
        if snapshot is not self.snapshot:
            self._text_cache.clear()  # widths may change with a new snapshot
        self.snapshot, self.rows, self.new_identities = snapshot, list(rows), set(new_identities)
        if selected is not None:
            # Identity is (PID, start time): a newcomer that took the PID is another process.
            index = self._index_of(selected.pid, selected.start_ticks)
            still_there = snapshot.by_pid.get(selected.pid)
            if index is not None and not was_gone:
                self.cursor = index
            elif still_there is None or still_there.identity != selected.identity or was_gone:
                # It exited: a row says so, where it was, until the user moves on.
                self.cursor = min(self.cursor, len(self.rows))
                self.rows.insert(self.cursor, Row(GONE, selected, prefix=""))
            else:  # still running, hidden by the filter: keep the position
                self.cursor = min(self.cursor, max(len(self.rows) - 1, 0))
        else:
            self.cursor = min(self.cursor, max(len(self.rows) - 1, 0))
        self._update_virtual_size()
        self._scroll_cursor_into_view()
        self.refresh()

    def _update_virtual_size(self) -> None:
        """Tell the scroll machinery how many lines there are, without a needless screen layout.

        Setting virtual_size lays out the whole screen (~30 ms with a full table). That is only
        needed when the scrollbar appears or goes; otherwise only its thumb changes.
        (_scroll_update is Textual's own scrollbar update; Textual is pinned below 9.)
        """
        size = Size(self.size.width, len(self.rows) + 1)
        if size == self.virtual_size:
            return
        height = self.size.height
        if (size.height > height) != (self.virtual_size.height > height) or not self.is_mounted:
            self.virtual_size = size
        else:
            self.set_reactive(ProcessTable.virtual_size, size)
            self._scroll_update(size)

    def select_pid(self, pid: int) -> bool:
        index = self._index_of(pid, None)
        if index is None:
            return False
        self._move_to(index)
        return True

    def _index_of(self, pid: int, start_ticks: Optional[int]) -> Optional[int]:
        """The row of process `pid`; with a start time, only if it is still the same process."""
        for index, row in enumerate(self.rows):
            if row.kind == PROCESS and row.record.pid == pid:
                return index if start_ticks is None or row.record.start_ticks == start_ticks else None
        return None

    # movement -------------------------------------------------------------
    def _move_to(self, index: int) -> None:
        if self.current_is_gone and index != self.cursor:
            # Moving away from an exited process drops its row.
            del self.rows[self.cursor]
            if index > self.cursor:
                index -= 1
            self._update_virtual_size()
        self.cursor = max(0, min(index, len(self.rows) - 1))
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.CursorMoved())

    class CursorMoved(Message):
        pass

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(self.size.height - 2, 1))

    def action_jump(self, where: int) -> None:
        self._move_to(len(self.rows) - 1 if where < 0 else 0)

    def _scroll_cursor_into_view(self) -> None:
        visible = max(self.size.height - 1, 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    # mouse ----------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            for start, end, key in self._spans:
                if start <= event.x + int(self.scroll_x) < end:
                    self.post_message(self.HeaderClicked(key))
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            self._move_to(index)
            if event.chain == 2 and self.current is not None:
                self.post_message(self.RowActivated(self.current))

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.rows) + 1)

    # painting ---------------------------------------------------------------
    def _widths(self) -> List[int]:
        pid_width = max(self.snapshot.pid_width if self.snapshot else 5, 5)
        return [pid_width if c.right and c.key not in ("uid", "time") else c.width for c in COLUMNS[:-1]]

    def header_text(self) -> str:
        parts = [" " * FLAG_WIDTH]
        self._spans = []
        position = FLAG_WIDTH
        for column, width in zip(COLUMNS, self._widths() + [0]):
            title = column.header
            if column.key == self.sort_key:
                title += "▼" if self.descending else "▲"
            text = (title.rjust(width) if column.right else title.ljust(width)) if width else title
            self._spans.append((position, position + max(len(text), 1) + 1, column.key))
            parts.append(text + " ")
            position += len(text) + 1
        return "".join(parts)

    def row_text(self, row: Row) -> str:
        text = self._text_cache.get(row)
        if text is None:
            text = self._text_cache[row] = self._make_row_text(row)
        return text

    def _make_row_text(self, row: Row) -> str:
        record = row.record
        cells = [
            (column.text(record).rjust(width) if column.right else column.text(record).ljust(width))
            for column, width in zip(COLUMNS[:-1], self._widths())
        ]
        command = row.prefix + record.command
        if row.kind == GONE:
            command = f"(exited) {command}"
        return " ".join(cells) + " " + command

    def _row_style(self, row: Row) -> Style:
        record = row.record
        names = []
        if row.kind == GONE:
            names.append("ptable--gone")
        elif record.kernel_thread:
            names.append("ptable--kernel")
        elif record.state == "Z":
            names.append("ptable--zombie")
        elif record.state in ("T", "t"):
            names.append("ptable--stopped")
        elif self.snapshot is not None:
            kind = self.snapshot.kind_of(record).name
            if kind in DAEMON_LIKE:
                names.append("ptable--daemon")
            elif kind == ORPHAN:
                names.append("ptable--orphan")
        if record.pid in self.highlighted_pids and row.kind != GONE:
            names.append("ptable--demo")
        if record.identity in self.new_identities:
            names.append("ptable--new")
        style = Style()
        for name in names:
            style += self._style(name)
        return style

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def render_lines(self, crop):
        self._styles = {}  # look the component styles up once per paint, not once per line
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = int(self.scroll_x)
        base = self.rich_style
        if y == 0:
            style = base + self._style("ptable--header")
            return Strip([Segment(self.header_text(), style)]).crop_extend(scroll_x, scroll_x + width, style)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        if row.kind in (SESSION_HEADER, GROUP_HEADER):
            style = base + self._style("ptable--session" if row.kind == SESSION_HEADER else "ptable--group")
            segments = [Segment(row.text, style)]
        else:
            style = base + self._row_style(row)
            flag = flags(self.snapshot, row.record) if row.kind == PROCESS and self.snapshot else "-"
            # One segment per line: renderers of exported screens drop spaces that begin a span.
            segments = [Segment(flag.ljust(FLAG_WIDTH) + self.row_text(row), style)]
        if index == self.cursor:
            cursor = self._style("ptable--cursor")
            segments = [Segment(text, seg_style + cursor) for text, seg_style, _ in segments]
            style = style + cursor
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, style)
