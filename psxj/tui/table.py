"""The process table: a Line API widget that paints only the rows on screen.

Textual's DataTable keeps a widget-side copy of every cell and takes ~0.7 s to reload
5,000 rows; this table holds a list of view rows and turns one into a line of text
only when that line is on screen. Line 0 is the header and never scrolls down. At a
refresh only the screen lines whose text or style changed are repainted (repaint_changed):
an idle machine's refresh writes a line or two to the terminal, not the whole screen.

Horizontal scrolling is the table's own (no scrollbar to hide the last row): the mark
column stays put, everything after it shifts, as far as the end of the longest COMMAND.
Columns that do not fit a narrow terminal give way (views.fit_columns) so COMMAND keeps
room; `o` chooses the optional ones.
"""

from __future__ import annotations

from contextlib import contextmanager
from math import ceil
from operator import itemgetter
from typing import Callable, Dict, List, Optional, Set, Tuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from psxj.i18n import _
from psxj.judge.kinds import DAEMON_LIKE, ORPHAN, kind_of
from psxj.model import ProcessRecord, Snapshot
from psxj.render.views import GROUP_HEADER, PROCESS, SESSION_HEADER, Row, TableLayout, flags

MARK_WIDTH = 2
GONE = "gone"  # kind of the row that stands where the selected process was when it exited
H_STEP = 8     # columns per Left/Right press
# Columns whose text is their record's alone (%CPU, KIND, START and ELAPSED read the snapshot too): with
# only these shown, a row's text is kept from one refresh to the next. A column not named here is not.
RECORD_ONLY_TEXT = frozenset({"host", "ppid", "pid", "pgid", "sid", "tty", "tpgid", "stat", "uid", "time", "rss",
                              "command"})
ANY_HOST = object()  # _index_of: a PID on whichever machine (a table of several, psxj --host)


def _thumb(bar: ScrollBar, virtual_height: int) -> Optional[Tuple[int, int]]:
    """Where a vertical scrollbar draws its thumb for a content this high, in eighths of a cell, as
    Textual's ScrollBarRender.render_bar works it out (the thumb's ends are drawn to an eighth)."""
    size, window, position = bar.size.height, bar.window_size, bar.position
    window = window if window < virtual_height else 0
    if not (window and size and virtual_height and size != virtual_height):
        return None
    thumb = max(1, window / (virtual_height / size))
    start = int((size - thumb) * (position / (virtual_height - window)) * 8)
    return start, start + ceil(thumb * 8)


class ProcessTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "ptable--header", "ptable--sorted", "ptable--cursor", "ptable--kernel", "ptable--daemon",
        "ptable--zombie", "ptable--stopped", "ptable--new", "ptable--gone", "ptable--session",
        "ptable--group", "ptable--demo", "ptable--orphan", "ptable--tagged", "ptable--match", "ptable--empty",
    }
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("left", "scroll_columns(-1)", "Scroll left", show=False),
        Binding("right", "scroll_columns(1)", "Scroll right", show=False),
    ]

    class HeaderClicked(Message):
        def __init__(self, column_key: str) -> None:
            super().__init__()
            self.column_key = column_key

    class RowActivated(Message):
        def __init__(self, record: ProcessRecord) -> None:
            super().__init__()
            self.record = record

    class CursorMoved(Message):
        pass

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: List[Row] = []
        self.snapshot: Optional[Snapshot] = None
        self.cursor = 0
        self.h_offset = 0
        self.sort_key = "pid"
        self.descending = False
        self.optional_columns: Tuple[str, ...] = ()
        self.columns_without: Tuple[str, ...] = ()   # default columns turned off
        self.forest = False                           # COMMAND keeps more room for the forest's glyphs
        self.hidden_columns: Tuple[str, ...] = ()   # headers fit_columns took away on this width
        self.new_identities: Set[Tuple[int, Optional[int]]] = set()
        self.highlighted_pids: Set[int] = set()
        self.tagged: Set[Tuple[int, Optional[int]]] = set()
        self.match: Optional[Callable[[ProcessRecord], bool]] = None   # the search's rows
        self.empty_message = ""
        self._layout: Optional[TableLayout] = None
        self._spans: List[Tuple[int, int, str]] = []
        self._text_cache: dict = {}    # row -> its text; rows are immutable
        self._texts_for: tuple = ()    # the columns and widths of those texts
        self._styles: dict = {}        # component class, or a row's tuple of them -> rich style, for one paint
        self._base: Optional[Style] = None   # the table's own style, for one paint
        self._width: Optional[int] = None    # the width of its lines, for one paint
        self._widest: Optional[int] = None
        self._painted: Dict[int, tuple] = {}   # screen line -> what render_line drew there last (_line)
        self._painted_from: Dict[int, tuple] = {}   # screen line -> what that was made from (_inputs)
        self._painted_scroll = 0                # the scroll offset it was drawn at

    # data -----------------------------------------------------------------
    @property
    def current(self) -> Optional[ProcessRecord]:
        if 0 <= self.cursor < len(self.rows):
            row = self.rows[self.cursor]
            return row.record if row.kind in (PROCESS, GONE) else None
        return None

    @property
    def current_row(self) -> Optional[Row]:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def current_is_gone(self) -> bool:
        return 0 <= self.cursor < len(self.rows) and self.rows[self.cursor].kind == GONE

    def set_rows(self, snapshot: Snapshot, rows: List[Row], new_identities=frozenset()) -> None:
        """Show new rows, keeping the selected process selected, wherever it moved: by identity,
        so a newcomer that took its PID is never mistaken for it."""
        selected = self.current
        was_gone = self.current_is_gone
        if snapshot is not self.snapshot:
            self._layout = None   # widths, and the texts that depend on the snapshot: see layout()
        self.snapshot, self.rows, self.new_identities = snapshot, list(rows), set(new_identities)
        self._widest = None
        if selected is not None:
            index = self._index_of(selected.pid, selected.start_ticks, selected.host)
            still_there = snapshot.get(selected.pid, selected.host)
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
        if self.tagged:  # a tagged process that exited is no longer tagged
            self.tagged = {identity for identity in self.tagged if snapshot.by_pid.get(identity[0]) is not None
                           and snapshot.by_pid[identity[0]].start_ticks == identity[1]}
        self._update_virtual_size()
        self._scroll_cursor_into_view()
        self.repaint_changed()

    def set_columns(self, optional: Tuple[str, ...], without: Tuple[str, ...] = (), forest: bool = False) -> None:
        self.optional_columns, self.columns_without, self.forest = tuple(optional), tuple(without), forest
        self._layout = None
        self._text_cache.clear()
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
            return
        self.set_reactive(ProcessTable.virtual_size, size)
        bar = self.vertical_scrollbar if self.show_vertical_scrollbar else None
        before = _thumb(bar, bar.window_virtual_size) if bar is not None and bar.window_size else None
        after = _thumb(bar, size.height) if before is not None else None
        if before is None or after is None:
            self._scroll_update(size)
            return
        # Textual repaints the scrollbar's whole height whenever it is told a new size (~2 ms: most of
        # what a refresh at 100 processes painted). A row more or less moves the thumb's ends by a few
        # eighths of a cell: only the cells an end left or reached are painted again, none when the
        # ends stay on the same eighth.
        bar.set_reactive(ScrollBar.window_virtual_size, size.height)
        last = bar.size.height - 1
        for was, now in zip(before, after):
            if was != now:
                top, bottom = min(min(was, now) // 8, last), min(max(was, now) // 8, last)
                bar.refresh(Region(0, top, bar.size.width, bottom - top + 1))
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def select_pid(self, pid: int) -> bool:
        index = self._index_of(pid, None)
        if index is None:
            return False
        self._move_to(index)
        return True

    def _index_of(self, pid: int, start_ticks: Optional[int], host: object = ANY_HOST) -> Optional[int]:
        """The row of process `pid` (on `host`, for a table of several machines); with a start time,
        only if it is still the same process."""
        if self.snapshot is None:
            return None
        if getattr(self.snapshot, "parts", None) is not None:  # several machines: PIDs repeat
            for index, row in enumerate(self.rows):
                if row.kind == PROCESS and row.record.pid == pid and (host is ANY_HOST or row.record.host == host):
                    return index if start_ticks is None or row.record.start_ticks == start_ticks else None
            return None
        record = self.snapshot.by_pid.get(pid)
        if record is None or (start_ticks is not None and record.start_ticks != start_ticks):
            return None
        # The rows hold the snapshot's own records: list.index finds it in C (it compares by
        # identity first), 50,000 rows in ~2 ms where a loop over them takes ~20.
        try:
            index = list(map(itemgetter(1), self.rows)).index(record)
        except ValueError:
            return None
        return index if self.rows[index].kind == PROCESS else None

    def find(self, predicate: Callable[[ProcessRecord], bool], step: int = 1, include_current: bool = False
             ) -> Optional[int]:
        """The next process row (after the cursor, wrapping) whose record satisfies predicate."""
        count = len(self.rows)
        for offset in range(0 if include_current else 1, count + 1):
            index = (self.cursor + step * offset) % count if count else 0
            row = self.rows[index] if count else None
            if row is not None and row.kind == PROCESS and predicate(row.record):
                return index
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

    def move_to(self, index: int) -> None:
        self._move_to(index)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(self._visible_rows() - 1, 1))

    def action_jump(self, where: int) -> None:
        self._move_to(len(self.rows) - 1 if where < 0 else 0)

    def action_scroll_columns(self, direction: int) -> None:
        self.h_offset = max(0, min(self.h_offset + direction * H_STEP, self.max_h_offset()))
        self.refresh()

    def max_h_offset(self) -> int:
        """How far right the view may go: until the end of the longest line is on screen."""
        if self._widest is None:
            fixed = self.layout().fixed_width
            longest = max((len(r.prefix) + len(r.record.command) for r in self.rows if r.record is not None), default=0)
            self._widest = fixed + longest + (cell_len(_("(exited) ")) if any(r.kind == GONE for r in self.rows) else 0)
        return max(self._widest - (self.size.width - MARK_WIDTH - self._scrollbar_width()), 0)

    def _scrollbar_width(self) -> int:
        return self.scrollbar_size_vertical if self.show_vertical_scrollbar else 0

    def _visible_rows(self) -> int:
        """Rows of processes on screen: the region the scrollbars leave, less the header."""
        return max(self.scrollable_content_region.height - 1, 1)

    def _scroll_cursor_into_view(self) -> None:
        visible = self._visible_rows()
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    # mouse ----------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = event.x - MARK_WIDTH + self.h_offset
            for start, end, key in self._spans:
                if start <= x < end:
                    self.post_message(self.HeaderClicked(key))
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            self._move_to(index)
            if event.chain == 2 and self.current is not None:
                self.post_message(self.RowActivated(self.current))

    def on_resize(self, event: events.Resize) -> None:
        self._layout = None
        self._text_cache.clear()
        self.virtual_size = Size(event.size.width, len(self.rows) + 1)
        self.h_offset = min(self.h_offset, self.max_h_offset())
        self._scroll_cursor_into_view()

    # layout -----------------------------------------------------------------
    def layout(self) -> TableLayout:
        """The columns shown and their widths on this screen (views.TableLayout): PID-like columns as
        wide as the widest PID, droppable ones given up when COMMAND would have too little room."""
        if self._layout is None:
            room = self.size.width - MARK_WIDTH - self._scrollbar_width()
            layout = self._layout = TableLayout(self.snapshot, self.optional_columns, room,
                                                self.columns_without, self.forest)
            self.hidden_columns = layout.hidden
            # A row's text stays right from one snapshot to the next (rows are immutable) if the columns
            # and their widths are the same and each column's text is its record's alone.
            texts_for = (tuple(column.key for column in layout.columns), tuple(layout.widths))
            if texts_for != self._texts_for or not RECORD_ONLY_TEXT.issuperset(texts_for[0]) \
                    or len(self._text_cache) > 4096:
                self._text_cache.clear()
            self._texts_for = texts_for
        return self._layout

    def _widths(self) -> List[int]:
        return self.layout().widths

    def header_text(self) -> str:
        layout = self.layout()
        text = layout.header_text(self.sort_key, self.descending)
        self._spans = layout.spans
        return text

    def row_text(self, row: Row) -> str:
        layout = self.layout()   # first: a new layout may clear the texts
        text = self._text_cache.get(row)
        if text is None:
            text = self._text_cache[row] = layout.row_text(row.record, row.prefix, row.kind == GONE)
        return text

    # painting ---------------------------------------------------------------
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
            kind = kind_of(self.snapshot, record).name
            if kind in DAEMON_LIKE:
                names.append("ptable--daemon")
            elif kind == ORPHAN:
                names.append("ptable--orphan")
        if record.pid in self.highlighted_pids and row.kind != GONE:
            names.append("ptable--demo")
        if record.identity in self.new_identities:
            names.append("ptable--new")
        if record.identity in self.tagged:
            names.append("ptable--tagged")
        if self.match is not None and row.kind == PROCESS and self.match(record):
            names.append("ptable--match")
        key = tuple(names)   # a screenful of rows shares a handful of these: each added up once a paint
        style = self._styles.get(key)
        if style is None:
            style = Style()
            for name in names:
                style += self._style(name)
            self._styles[key] = style
        return style

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def render_lines(self, crop):
        with self._painting():
            return super().render_lines(crop)

    @contextmanager
    def _painting(self):
        # Look the styles up once per paint, not once per line: the table's own style is its ancestors'
        # too (Textual walks every one, and the main screen's features are its ancestors).
        # The width too: Textual works out a widget's size from its region at each look.
        self._styles = {}
        self._base = self.rich_style
        self._width = self.size.width - self._scrollbar_width()
        try:
            yield
        finally:
            self._base = self._width = None

    def repaint_changed(self) -> None:
        """Repaint the lines on screen whose text or style is no longer what was painted there, and no
        other: at a refresh most rows are the same, and a line repainted is a line written to the
        terminal. Lines scrolled to later are painted then, from the rows as they are."""
        if not self.is_mounted or not self._painted:
            self.refresh()   # nothing painted yet, or all of it is to be painted anyway
            return
        if self._scroll_cursor_pending():
            return   # Textual repaints all of it for the scroll
        width, painted, made_from = self.size.width, self._painted, self._painted_from
        changed = []
        with self._painting():
            self.layout()   # first: a new layout clears the row texts that _inputs looks at
            for y in range(self.size.height):
                inputs = self._inputs(y)
                if inputs is not None and inputs == made_from.get(y):
                    continue   # the same row object, text, kind and marks as painted: the same line
                if self._line(y) != painted.get(y):
                    changed.append(y)
                elif inputs is not None:
                    made_from[y] = inputs
        for y in changed:
            self.refresh(Region(0, y, width, 1))

    def _inputs(self, y: int) -> Optional[tuple]:
        """What a process row's screen line y is made from, cheaply, without laying it out: its Row
        (immutable; an unchanged process keeps its object across refreshes), the text kept for it,
        its kind (a kind judged again is a new object), whether it is the cursor's, new, tagged or
        highlighted, and the table's own style, width, horizontal scroll and search. Equal inputs make
        an equal _line(y). None for anything else (the header, session and group lines, gone rows,
        a row whose text is not made yet): those are always laid out to compare."""
        index = int(self.scroll_y) + y - 1
        if y == 0 or index >= len(self.rows) or self.snapshot is None:
            return None
        row = self.rows[index]
        record = row.record
        text = self._text_cache.get(row)
        if row.kind != PROCESS or text is None or self.snapshot.by_pid.get(record.pid) is not record:
            return None
        identity = record.identity
        return (row, text, kind_of(self.snapshot, record), index == self.cursor, identity in self.new_identities,
                identity in self.tagged, record.pid in self.highlighted_pids, self.match, self._base, self._width,
                self.h_offset)

    def _scroll_cursor_pending(self) -> bool:
        """A scroll asked for and not painted yet: Textual will repaint every line."""
        return self.scroll_offset.y != self._painted_scroll

    def _line(self, y: int) -> tuple:
        """What screen line y shows, as a value: (mark, text, style) and where the view is. Two equal
        values paint the same cells; render_line draws from it and remembers it (repaint_changed)."""
        width = self._width if self._width is not None else self.size.width - self._scrollbar_width()
        avail = max(width - MARK_WIDTH, 0)
        base = self._base if self._base is not None else self.rich_style
        offset = self.h_offset
        if y == 0:
            style = base + self._style("ptable--header")
            header = self.header_text()
            if offset and not header[offset:offset + avail].strip():
                # Scrolled into COMMAND, past its header: say where the view is.
                header = " " * offset + _("COMMAND, from its column {column} on (← goes back)").format(
                    column=offset - self._spans[-1][0] + 1)
            return ("", header, style, offset, avail, width)
        index = int(self.scroll_y) + y - 1
        if not self.rows:
            return ("empty", y, base, width, self.empty_message)
        if index >= len(self.rows):
            return ("blank", width, base)
        row = self.rows[index]
        if row.kind in (SESSION_HEADER, GROUP_HEADER):
            style = base + self._style("ptable--session" if row.kind == SESSION_HEADER else "ptable--group")
            mark, body_text = "", row.text
        else:
            style = base + self._row_style(row)
            mark = flags(self.snapshot, row.record) if row.kind == PROCESS and self.snapshot else "-"
            body_text = self.row_text(row)
        if index == self.cursor:
            style = style + self._style("ptable--cursor")
        return (mark, body_text, style, offset, avail, width)

    def render_line(self, y: int) -> Strip:
        line = self._line(y)
        self._painted[y] = line
        self._painted_from[y] = self._inputs(y)
        self._painted_scroll = self.scroll_offset.y
        if line[0] == "empty":
            return self._empty_line(y, line[3], line[2])
        if line[0] == "blank":
            return Strip.blank(line[1], line[2])
        mark, body_text, style, offset, avail, _width = line
        # One segment each: renderers of exported screens drop spaces that begin a span.
        body = Strip([Segment(body_text, style)]).crop_extend(offset, offset + avail, style)
        return Strip.join([Strip([Segment(mark.ljust(MARK_WIDTH), style)]), body])

    def _empty_line(self, y: int, width: int, base: Style) -> Strip:
        """With no row to show, the message saying why, a few lines down."""
        lines = self.empty_message.splitlines()
        at = y - 2
        if 0 <= at < len(lines):
            text = set_cell_size(lines[at], max(width - 2, 0)).rstrip()  # cut by cells: wide characters take 2
            style = base + self._style("ptable--empty")
            pad = max((width - cell_len(text)) // 2, 0)
            return Strip([Segment(" " * pad + text, style)]).crop_extend(0, width, base)
        return Strip.blank(width, base)
