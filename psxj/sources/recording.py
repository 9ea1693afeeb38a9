"""Recordings: the table over time, written append-only and read back at any moment.

Part of the sources. `psxj record DIR` writes, `--load DIR [--at TIME]` and `psxj diff`
read. A recording is a directory the recorder makes (mode 0700) holding segment files
`00000001.psxjrec`, `00000002.psxjrec`, ...; each segment reads on its own, so a segment
file may also be loaded alone.

A segment is a sequence of entries. Each entry is a 20-byte header, then its payload,
zlib-compressed JSON:

    magic "PX" | kind (1 byte) | format version (1) | payload length (4) | time (8, float) | CRC-32 (4)

The CRC covers the header's first 16 bytes and the payload. Kinds:

    H  segment header: format, version, the record's field names, system, PID width
    K  keyframe: every row of the table at that time
    D  delta: the rows that appeared, vanished (by PID) or changed (field index, value)
       since the previous table
    E  events: a list of dicts with at least time, kind and pid (the live-events work can
       record short-lived processes here; readers keep them in time order)

A segment starts with H then K. A keyframe is written again when the deltas since the last
one add up to more bytes than it took, or every `keyframe_every` seconds, so reading any
moment decodes one keyframe and at most that many bytes of deltas.

Crash safety: entries are only ever appended, each with one write(). A recorder killed
mid-write leaves a torn last entry, which readers ignore with a warning; everything before
it reads back. A restarted recorder starts a new segment rather than append after a torn
tail. Size bound (`max_size`): segments are at most an eighth of the bound; before an entry
would pass the bound, the oldest segments are deleted (unlink is atomic), so the oldest
data goes first, at least seven eighths of the bound stays, and no file is ever rewritten.

Everything read is untrusted: entries are bounded, checksummed, and every row goes
through the same checks and escaping as a loaded JSON table.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import stat as stat_mode
import struct
import time
import zlib
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from psxj.errors import PsxjError
from psxj.escape import Escaper
from psxj.i18n import N_, _
from psxj.model import ProcessRecord, Snapshot
from psxj.safefs import RunDir, UnsafePath, open_directory_to_read, open_to_read
from psxj.sources.checks import epoch_seconds
from psxj.sources.fields import record_from_fields

MAGIC = b"PX"
VERSION = 1
SUFFIX = ".psxjrec"
_ENTRY = struct.Struct("!2sBBId")       # magic, kind, version, payload length, time
_CRC = struct.Struct("!I")
HEADER_SIZE = _ENTRY.size + _CRC.size   # 20 bytes
MAX_PAYLOAD = 64 * 1024 * 1024          # no table compresses to more: a longer length is damage
MAX_DECODED = 64 * 1024 * 1024          # zlib output bound, as --load's: a small bomb cannot fill memory
HEADER, KEYFRAME, DELTA, EVENTS = b"H", b"K", b"D", b"E"
FIELDS = ProcessRecord._fields
_IDENTITY = (FIELDS.index("pid"), FIELDS.index("start_ticks"), FIELDS.index("start_time"))
DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024
MIN_MAX_SIZE = 64 * 1024


# -- writing -----------------------------------------------------------------------------

def encode_entry(kind: bytes, when: float, body: Any) -> bytes:
    payload = zlib.compress(json.dumps(body, separators=(",", ":"), allow_nan=False).encode(), 6)
    head = _ENTRY.pack(MAGIC, kind[0], VERSION, len(payload), when)
    return head + _CRC.pack(zlib.crc32(payload, zlib.crc32(head))) + payload


def row_of(record: ProcessRecord) -> list:
    """A record as a JSON list in FIELDS order (tuples become lists)."""
    return [list(v) if isinstance(v, tuple) else v for v in record]


_PID, _TICKS, _STARTED = _IDENTITY


def _same_process(a: tuple, b: tuple) -> bool:
    return a[_PID] == b[_PID] and a[_TICKS] == b[_TICKS] and a[_STARTED] == b[_STARTED]


def delta_of(before: Dict[int, tuple], after: Dict[int, tuple]) -> dict:
    """What changed between two tables of records keyed by PID. A PID whose process changed
    (another start time) is gone and new, so replay never merges two processes. Records are
    compared as tuples (fast, in C); only what changed is turned into JSON lists."""
    gone, new, changed = [], [], []
    for pid, old in before.items():
        row = after.get(pid)
        if row is None or (row is not old and not _same_process(row, old)):
            gone.append(pid)
    for pid, row in after.items():
        old = before.get(pid)
        if old is row or old == row:
            continue
        if old is None or not _same_process(row, old):
            new.append(row_of(row))
        else:
            changes: list = []
            for index, (a, b) in enumerate(zip(old, row)):
                if a != b:
                    changes += [index, list(b) if isinstance(b, tuple) else b]
            changed.append([pid, changes])
    return {"gone": gone, "new": new, "changed": changed}


class RecordingDirectory:
    """The recording's directory, made by us (0700) or ours already and closed to others, reached
    through directories only root or we control (psxj.safefs.RunDir): every file in it is made,
    measured and deleted through its descriptor, so a directory swapped for a symlink afterwards
    leads nowhere."""

    def __init__(self, path: str) -> None:
        self.run_dir = RunDir.open(path, create=True, option="DIR")
        self.path = self.run_dir.path

    def segments(self) -> List[str]:
        return sorted(name for name in self.run_dir.listdir() if _segment_number(name) is not None)

    def size(self, name: str) -> int:
        found = self.run_dir.stat(name)
        return found.st_size if found is not None else 0

    def create(self, name: str) -> int:
        return self.run_dir.open_file(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)

    def remove(self, name: str) -> None:
        self.run_dir.unlink(name)

    def close(self) -> None:
        self.run_dir.close()


def _segment_number(name: str) -> Optional[int]:
    stem = name[:-len(SUFFIX)]
    if name.endswith(SUFFIX) and len(stem) == 8 and stem.isdigit():
        return int(stem)
    return None


class RecordWriter:
    """Appends tables (and events) to a recording; bounded by max_size when given."""

    def __init__(self, path: str, *, max_size: Optional[int] = None, keyframe_every: float = 600.0,
                 info: Optional[dict] = None, segment_size: Optional[int] = None) -> None:
        if max_size is not None and max_size < MIN_MAX_SIZE:
            raise PsxjError(_("--max-size must be at least {kib} KiB").format(kib=MIN_MAX_SIZE // 1024))
        self.dir = RecordingDirectory(path)
        self.max_size = max_size
        self.segment_size = segment_size or (max(max_size // 8, MIN_MAX_SIZE // 8) if max_size
                                             else DEFAULT_SEGMENT_SIZE)
        self.keyframe_every = keyframe_every
        self.info = dict(info or {})
        self._fd = -1
        self._segment = ""
        self._segment_bytes = 0
        self._sizes: Dict[str, int] = {name: self.dir.size(name) for name in self.dir.segments()}
        self._previous: Optional[Dict[int, tuple]] = None
        self._keyframe_time = 0.0
        self._keyframe_bytes = 0
        self._delta_bytes = 0
        self._last_time = 0.0
        self.entries_written: Dict[str, int] = {}

    # segments ------------------------------------------------------------------------
    def _start_segment(self, when: float) -> None:
        self._close_segment()
        numbers = [_segment_number(name) or 0 for name in self._sizes]
        name = f"{max(numbers, default=0) + 1:08d}{SUFFIX}"
        self._fd = self.dir.create(name)
        self._segment, self._segment_bytes = name, 0
        self._sizes[name] = 0
        self._previous = None  # a segment reads on its own: it starts with a keyframe
        head = {"format": "psxj-recording", "version": VERSION, "fields": list(FIELDS), **self.info}
        self._append(encode_entry(HEADER, when, head), "header")

    def _close_segment(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _make_room(self, size: int) -> None:
        """Delete the oldest segments until `size` more bytes fit under max_size."""
        if self.max_size is None:
            return
        while sum(self._sizes.values()) + size > self.max_size and len(self._sizes) > 1:
            oldest = min(self._sizes)
            if oldest == self._segment:
                break
            self.dir.remove(oldest)
            del self._sizes[oldest]
        if sum(self._sizes.values()) + size > self.max_size:
            raise PsxjError(_("--max-size {max_size} bytes is too small: one table takes {size} bytes").format(
                                max_size=self.max_size,
                                size=size))

    def _append(self, data: bytes, what: str) -> None:
        self._make_room(len(data))
        written = os.write(self._fd, data)
        if written != len(data):  # a full disk: the torn entry is ignored on reading
            raise PsxjError(_("{path}: short write ({written} of {count} bytes): disk full?").format(
                                path=self.dir.path,
                                written=written,
                                count=len(data)))
        self._segment_bytes += written
        self._sizes[self._segment] = self._segment_bytes
        self.entries_written[what] = self.entries_written.get(what, 0) + 1

    # tables and events ---------------------------------------------------------------
    def write(self, snapshot: Snapshot) -> None:
        # Tables are kept in time order even if the wall clock steps back (NTP): readers
        # refuse a table older than the one before it.
        when = max(snapshot.taken_at, self._last_time)
        self._last_time = when
        rows = {r.pid: r for r in snapshot.records}
        if self._fd < 0:
            self.info.setdefault("system", snapshot.system or ("linux" if snapshot.live else None))
            self.info["pid_width"] = snapshot.pid_width
            self._start_segment(when)
        entry = None
        if self._previous is not None and when - self._keyframe_time < self.keyframe_every:
            entry = encode_entry(DELTA, when, delta_of(self._previous, rows))
            if self._delta_bytes + len(entry) > self._keyframe_bytes:
                entry = None  # replaying would cost more than a fresh keyframe
        if entry is None or self._segment_bytes + len(entry) > self.segment_size:
            keyframe = encode_entry(KEYFRAME, when, {"rows": [row_of(r) for r in rows.values()]})
            if self._segment_bytes + len(keyframe) > self.segment_size and self._keyframe_bytes:
                self._start_segment(when)
            self._append(keyframe, "keyframe")
            self._keyframe_time, self._keyframe_bytes, self._delta_bytes = when, len(keyframe), 0
        else:
            self._append(entry, "delta")
            self._delta_bytes += len(entry)
        self._previous = rows

    def write_events(self, when: float, events: List[dict]) -> None:
        """Events (dicts with time, kind, pid) seen since the last table, in time order."""
        if self._fd < 0 or not events:
            return
        self._append(encode_entry(EVENTS, when, {"events": events}), "events")

    def close(self) -> None:
        self._close_segment()
        self.dir.close()

    def total_size(self) -> int:
        return sum(self._sizes.values())


# -- reading -----------------------------------------------------------------------------

class Entry(NamedTuple):
    kind: bytes
    time: float
    segment: int      # index into Recording.segment_paths
    offset: int       # of the payload
    length: int


def is_recording(path: str) -> bool:
    """A directory of segments, or a segment file (a regular file that starts with the magic; a pipe
    is not looked into, which would take its first bytes from the table it carries)."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return False
    if stat_mode.S_ISDIR(found.st_mode):
        return True
    if not stat_mode.S_ISREG(found.st_mode):
        return False
    try:
        fd = open_to_read(path)
    except (OSError, UnsafePath):
        return False
    try:
        return os.read(fd, 2) == MAGIC
    finally:
        os.close(fd)


class _Segment(NamedTuple):
    """A segment file, and which file it was when indexed: read again only if it still is that file."""
    path: str
    follow: bool        # the path the user gave (a single segment) may be a symlink; a name in a directory not
    identity: Tuple[int, int]


class Recording:
    """A recording opened for reading: its times, the table at any of them, its events.

    No Textual here: the interface's time keys call times() and snapshot_at()."""

    def __init__(self, path: str, escaper: Optional[Escaper] = None) -> None:
        self.path = path
        self.escaper = escaper or Escaper.for_environment()
        self.warnings: List[str] = []
        self.segment_paths: List[str] = []
        self._segments: List[_Segment] = []
        self.headers: Dict[int, dict] = {}  # by segment number
        self.frames: List[Entry] = []   # keyframes and deltas, in time order
        self.event_entries: List[Entry] = []
        # Anyone may have made the recording read here (it is only read): each segment is opened
        # non-blocking, only if it is a regular file (psxj.safefs.open_to_read).
        if os.path.isdir(path):
            try:
                directory = open_directory_to_read(path)
            except OSError as exc:
                raise PsxjError(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)) from None
            try:
                for name in sorted(n for n in os.listdir(directory) if _segment_number(n) is not None):
                    self._index(os.path.join(path, name), name, directory)
            finally:
                os.close(directory)
        else:
            self._index(path, path, None)
        if not self.frames:
            raise PsxjError(_("{path}: no table recorded").format(path=path)
                            + (f" ({self.warnings[0]})" if self.warnings else ""))
        self._times = [frame.time for frame in self.frames]
        self._cache: Optional[Tuple[int, Dict[int, list]]] = None

    def _index(self, segment_path: str, name: str, directory: Optional[int]) -> None:
        """Index one segment: `name` in the directory `directory`, or the path itself (directory None)."""
        follow = directory is None
        try:
            fd = open_to_read(name, dir_fd=directory, follow=follow)
        except UnsafePath:
            self.warnings.append(_("{segment}: skipped: not a regular file").format(segment=segment_path))
            return
        except OSError as exc:
            self.warnings.append(_("{segment}: skipped: {reason}").format(
                                     segment=segment_path,
                                     reason=exc.strerror))
            return
        with os.fdopen(fd, "rb") as f:
            opened = os.fstat(f.fileno())
            number = len(self.segment_paths)
            self.segment_paths.append(segment_path)
            self._segments.append(_Segment(segment_path, follow, (opened.st_dev, opened.st_ino)))
            offset = 0
            last_time = self.frames[-1].time if self.frames else float("-inf")
            while True:
                head = f.read(HEADER_SIZE)
                if not head:
                    return
                problem = None
                if len(head) < HEADER_SIZE:
                    problem = _("a torn entry")
                else:
                    magic, kind, version, length, when = _ENTRY.unpack(head[:_ENTRY.size])
                    if magic != MAGIC or length > MAX_PAYLOAD:
                        problem = "damage"
                    else:
                        payload = f.read(length)
                        crc = _CRC.unpack(head[_ENTRY.size:])[0]
                        if len(payload) < length:
                            problem = _("a torn entry")
                        elif zlib.crc32(payload, zlib.crc32(head[:_ENTRY.size])) != crc:
                            problem = _("an entry whose checksum fails")
                if problem:
                    self.warnings.append(_("{segment}: {problem} at byte {offset} and what follows ignored "
                                           "(a recorder stopped while writing?)").format(
                                             segment=segment_path,
                                             problem=problem,
                                             offset=offset))
                    return
                entry = Entry(bytes([kind]), when, number, offset + HEADER_SIZE, length)
                offset += HEADER_SIZE + length
                if entry.kind == HEADER:
                    if number not in self.headers:
                        self.headers[number] = self._header(entry)
                    continue
                if number not in self.headers:
                    self.warnings.append(_("{segment}: no segment header: skipped").format(
                                             segment=segment_path))
                    return
                if entry.kind in (KEYFRAME, DELTA):
                    if not when >= last_time or not _finite_time(when):
                        self.warnings.append(_("{segment}: a table out of time order at byte {offset}: the "
                                               "rest of this segment ignored").format(
                                                 segment=segment_path,
                                                 offset=offset))
                        return
                    if entry.kind == DELTA and (not self.frames or self.frames[-1].segment != number):
                        continue  # a delta needs the keyframe before it, in its own segment
                    self.frames.append(entry)
                    last_time = when
                elif entry.kind == EVENTS and _finite_time(when):
                    self.event_entries.append(entry)

    def _payload(self, entry: Entry) -> Any:
        segment = self._segments[entry.segment]
        try:
            fd = open_to_read(segment.path, follow=segment.follow)
            try:
                found = os.fstat(fd)
                if (found.st_dev, found.st_ino) != segment.identity:
                    raise PsxjError(_("{segment}: replaced since psxj first read it: open the recording again").format(
                                        segment=segment.path))
                data = os.pread(fd, entry.length, entry.offset)
            finally:
                os.close(fd)
        except OSError as exc:
            raise PsxjError(f"{segment.path}: {exc.strerror}") from None
        try:
            inflater = zlib.decompressobj()
            text = inflater.decompress(data, MAX_DECODED)
            if inflater.unconsumed_tail:
                raise ValueError("entry too large")
            return json.loads(text, parse_constant=_refuse_constant)
        except (zlib.error, ValueError, RecursionError, UnicodeDecodeError) as exc:
            raise PsxjError(_("{segment}: unreadable entry at byte {offset}: {error}").format(
                                segment=self.segment_paths[entry.segment],
                                offset=entry.offset - HEADER_SIZE,
                                error=str(exc)[:80])) from None

    def _header(self, entry: Entry) -> dict:
        head = self._payload(entry)
        if not isinstance(head, dict) or head.get("format") != "psxj-recording":
            raise PsxjError(_("{segment}: not a psxj recording").format(
                                segment=self.segment_paths[entry.segment]))
        if head.get("version") != VERSION:
            raise PsxjError(_("{segment}: recording format version {version}, this psxj reads {supported}").format(
                                segment=self.segment_paths[entry.segment],
                                version=str(head.get('version'))[:20],
                                supported=VERSION))
        fields = head.get("fields")
        if not (isinstance(fields, list) and all(isinstance(f, str) for f in fields) and "pid" in fields):
            raise PsxjError(_("{segment}: a segment header without field names").format(
                                segment=self.segment_paths[entry.segment]))
        return head

    # public API ----------------------------------------------------------------------
    def times(self) -> List[float]:
        """The time of every recorded table, oldest first."""
        return list(self._times)

    @property
    def first(self) -> float:
        return self._times[0]

    @property
    def last(self) -> float:
        return self._times[-1]

    def index_at(self, when: float) -> int:
        """The last table taken at or before `when`."""
        index = bisect.bisect_right(self._times, when) - 1
        if index < 0:
            raise PsxjError(_("{path}: {clock} is before the recording starts ({start})").format(
                                path=self.path,
                                clock=_clock(when),
                                start=_clock(self.first)))
        return index

    def latest(self) -> Snapshot:
        return self.snapshot(len(self.frames) - 1)

    def snapshot_at(self, when: float) -> Snapshot:
        """The table as it was at `when` (the last one taken at or before it)."""
        return self.snapshot(self.index_at(when))

    def snapshot(self, index: int) -> Snapshot:
        rows = self._rows(index)
        frame = self.frames[index]
        head = self.headers[frame.segment]
        fields = head["fields"]
        records = []
        for row in rows.values():
            try:
                records.append(record_from_fields(dict(zip(fields, row)), self.escaper))
            except (KeyError, TypeError, ValueError) as exc:
                raise PsxjError(_("{segment}: a bad row in the table at {clock}: {error}").format(
                                    segment=self.segment_paths[frame.segment],
                                    clock=_clock(frame.time),
                                    error=str(exc)[:80])) from None
        width = head.get("pid_width")
        system = head.get("system")
        return Snapshot(records, source=f"{self.path}@{_clock(frame.time)}", taken_at=frame.time,
                        pid_width=min(max(width, 5), 10) if isinstance(width, int) else 5,
                        system=system if isinstance(system, str) else None, time_source=N_("the recording"))

    def events(self, start: float = float("-inf"), end: float = float("inf")) -> List[dict]:
        """Recorded events with start <= time <= end, in time order."""
        found = []
        for entry in self.event_entries:
            body = self._payload(entry)
            items = body.get("events") if isinstance(body, dict) else None
            for event in items if isinstance(items, list) else []:
                if isinstance(event, dict) and isinstance(event.get("time"), (int, float)):
                    if start <= event["time"] <= end:
                        found.append(event)
        return sorted(found, key=lambda e: e["time"])

    def _rows(self, index: int) -> Dict[int, list]:
        """The rows at frame `index`: its keyframe and the deltas after it (or the cached
        table of an earlier frame of the same segment, for stepping forward)."""
        target = self.frames[index]
        start = index
        while self.frames[start].kind != KEYFRAME:
            start -= 1
        rows: Dict[int, list]
        if self._cache and start <= self._cache[0] <= index and self.frames[self._cache[0]].segment == target.segment:
            position, cached = self._cache
            rows = {pid: list(row) for pid, row in cached.items()}
        else:
            position, rows = start, self._keyframe_rows(self.frames[start])
        width = len(self.headers[target.segment]["fields"])
        for frame in self.frames[position + 1:index + 1]:
            _apply(rows, self._payload(frame), width, self.segment_paths[frame.segment])
        self._cache = (index, rows)
        return {pid: list(row) for pid, row in rows.items()}

    def _keyframe_rows(self, frame: Entry) -> Dict[int, list]:
        body = self._payload(frame)
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise PsxjError(_("{segment}: a keyframe without rows").format(
                                segment=self.segment_paths[frame.segment]))
        width = len(self.headers[frame.segment]["fields"])
        pid_at = self.headers[frame.segment]["fields"].index("pid")
        table = {}
        for row in rows:
            if not (isinstance(row, list) and len(row) == width and isinstance(row[pid_at], int)):
                raise PsxjError(_("{segment}: a keyframe row of the wrong shape").format(
                                    segment=self.segment_paths[frame.segment]))
            table[row[pid_at]] = row
        return table


def _apply(rows: Dict[int, list], delta: Any, width: int, where: str) -> None:
    try:
        for pid in delta["gone"]:
            rows.pop(pid, None)
        for row in delta["new"]:
            if not (isinstance(row, list) and len(row) == width):
                raise ValueError(_("a new row of the wrong shape"))
            rows[row[FIELDS.index("pid")]] = row
        for pid, changes in delta["changed"]:
            row = rows[pid]
            for i in range(0, len(changes) - 1, 2):
                index = changes[i]
                if not (isinstance(index, int) and 0 <= index < width):
                    raise ValueError(_("a change to no field"))
                row[index] = changes[i + 1]
    except (KeyError, TypeError, ValueError) as exc:
        raise PsxjError(_("{where}: a delta that does not apply: {error}").format(where=where,
                                                                                 error=str(exc)[:80])) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(_("{name} is not a number JSON allows").format(name=name))


def _finite_time(when: float) -> bool:
    try:
        epoch_seconds(when, "time")
        return True
    except ValueError:
        return False


def _clock(when: float) -> str:
    """Local time to a tenth of a second (tables may be that close)."""
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(when)) + f".{int(when * 10) % 10}"
    except (OverflowError, ValueError, OSError):
        return "?"


# -- times given on the command line ------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, latest: float, now: Optional[float] = None) -> float:
    """A moment for --at or diff's FILE@TIME, in seconds since the epoch.

    - ISO 8601: `2024-05-01T03:00`, `2024-05-01 03:00:15`, with `Z` or `+02:00` for UTC or an
      offset; without, local time.
    - `HH:MM[:SS]`: today, local time; yesterday when today's is still to come.
    - `-10m`, `-2h`, `-30s`, `-1d`: that long before the recording's last table.
    """
    from datetime import datetime, timedelta

    text = text.strip()
    now = time.time() if now is None else now
    if len(text) > 40:
        raise PsxjError(_("--at: a time is at most 40 characters"))
    if text[:1] == "-" and text[-1:] in _UNITS and text[1:-1].isdigit() and len(text) < 12:
        return latest - int(text[1:-1]) * _UNITS[text[-1]]
    try:
        if len(text) in (5, 8) and text[2:3] == ":":
            clock = datetime.strptime(text, "%H:%M" if len(text) == 5 else "%H:%M:%S").time()
            today = datetime.fromtimestamp(now)
            moment = datetime.combine(today.date(), clock)
            if moment > today:
                moment -= timedelta(days=1)
            return moment.timestamp()
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.timestamp()
    except (ValueError, OverflowError, OSError):
        raise PsxjError(_("--at: not a time: use 2024-05-01T03:00[Z], HH:MM[:SS] or -10m")) from None


_SIZE = re.compile(r"\A(\d{1,15})([KMGT]?)(?:i?B)?\Z", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`300M`, `1G`, `500K` (powers of 1024) or bytes, for --max-size."""
    match = _SIZE.match(text.strip())
    if not match:
        raise PsxjError(_("--max-size: not a size (use bytes, or a number with K, M or G)"))
    return int(match.group(1)) * 1024 ** " KMGT".index(match.group(2).upper() or " ")


def open_recording(path: str, escaper: Optional[Escaper] = None,
                   warn: Optional[Callable[[str], None]] = None) -> Recording:
    recording = Recording(path, escaper)
    for warning in recording.warnings:
        (warn or _stderr_warning)(warning)
    return recording


def _stderr_warning(message: str) -> None:
    import sys

    from psxj.escape import safe_text

    print(_("psxj: warning: {message}").format(message=safe_text(message)), file=sys.stderr)
