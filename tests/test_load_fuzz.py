"""--load under fuzzing: hostile files give a one-line error or a table, never a traceback,
in time and memory proportional to their size, and every output stays escaped.

CI runs a bounded number of cases (PSXJ_FUZZ_EXAMPLES, default 200, in a few seconds).
A longer run on demand:

    PSXJ_FUZZ_EXAMPLES=20000 python -m pytest -q tests/test_load_fuzz.py

The inputs are built, not random bytes alone: headers of every format --load reads, shifted
by spaces, with rows whose columns are mutated (huge and negative numbers, hex, control and
C1 bytes, invalid UTF-8, forest glyphs), psxj JSON with wrong types, NaN, 1e300, numbers over
4,300 digits and deep nesting, psxj CSV with formula cells, and plain random bytes.
"""

from __future__ import annotations

import json
import os
import re
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from psxj.errors import PsxjError
from psxj.escape import Escaper
from psxj.render.export import to_csv, to_json
from psxj.render.psformat import OUTBUF_SIZE, render_lines
from psxj.sources.loaded import parse_text

EXAMPLES = int(os.environ.get("PSXJ_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 200, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Each format's header and a row that loads; the fuzzer mutates a few cells of such rows.
FORMATS = [
    (" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND",
     ["1", "100", "100", "100", "pts/1", "100", "Ss+", "1000", "0:01", "-bash"]),
    ("USER   PID  PPID  PGID   SID JOBC STAT  TT     TIME COMMAND",
     ["alice", "900", "899", "900", "900", "1", "Ss", "v0", "0:00.03", "-sh (sh)"]),
    ("USER               PID  PPID  PGID   SESS JOBC STAT   TT       TIME COMMAND",
     ["root", "1", "0", "1", "0", "0", "Ss", "??", "2:53.51", "/sbin/launchd"]),
    ("UID          PID    PPID    PGID     SID  C STIME TTY          TIME CMD",
     ["root", "1", "0", "1", "1", "0", "12:30", "?", "00:00:06", "/sbin/init"]),
    ("PID   PPID  PGID  SID   TT     STAT USER     COMMAND",
     ["1", "0", "1", "1", "136,0", "S<", "root", "{init} /sbin/init"]),
    ("ppid,pid,pgid,sid,tty,tpgid,stat,uid,user,time,command,comm,argv,state,flags,nice,threads,tty_nr,"
     "ruid,euid,rgid,egid,cpu_seconds,start_ticks,start_time,namespace_init,kernel_thread,daemon",
     ["1", "100", "100", "100", "?", "-1", "Ss", "0", "root", "0:00", "'-bash", "bash", '["-bash"]', "S", "0",
      "0", "1", "0", "0", "0", "0", "0", "0", "5", "1700000000.5", "false", "false", "true"]),
]

NASTY_TEXT = st.sampled_from([
    "\x1b]52;c;cHduZWQ=\x07", "\x1b[2J", "\x9b2J", "\x07", "\x7f", "\r", "\x85", "\u2028", "\x00",
    "=cmd|' /C calc'!A0", "+1", "-2", "@SUM(1)", "'", "\t", "[/]", "\\_ ", " |  ", "\udcff", "??", "s045",
    "-bash", "-zsh (zsh)", "{comm} x", "[kthreadd]", "<defunct>", "7d29d68", "0x10", "136,0",
])
NUMBERS = st.one_of(
    st.integers(-5, 70000).map(str),
    st.sampled_from(["-1", "0", "2147483647", "2147483648", "4294967295", "99999999999999999999999", "1e300",
                     "nan", "inf", "0x7f", "-0", "+5", "1" * 5000, "0:00", "12:03.22", "1-00:00:00", "999999999:59"]),
)
CELL = st.one_of(NUMBERS, NASTY_TEXT, st.text(max_size=12), st.just("?"), st.just("-"))



@st.composite
def ps_texts(draw) -> bytes:
    header, good = draw(st.sampled_from(FORMATS))
    lead = " " * draw(st.sampled_from([0, 0, 1, 3, 10, 200_000]))
    separator = "," if header.startswith("ppid,") else " "
    lines = [lead + header]
    for _ in range(draw(st.integers(0, 6))):
        cells = list(good)
        for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 4]))):  # mutate a few cells
            at = draw(st.integers(0, len(cells)))
            change = draw(st.sampled_from(["replace", "replace", "insert", "delete"]))
            if change == "delete" and at < len(cells):
                del cells[at]
            elif change == "insert":
                cells.insert(at, draw(CELL))
            else:
                cells[min(at, len(cells) - 1)] = draw(CELL)
        spaces = separator * draw(st.integers(1, 3)) if separator == " " else separator
        line = spaces.join(cells)
        if draw(st.booleans()):
            line = " " * draw(st.integers(0, 8)) + line
        if draw(st.integers(0, 9)) == 0:
            line += " " + "    " * draw(st.sampled_from([1, 5, 100_000])) + "\\_ x"
        lines.append(line)
    text = "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))
    data = text.encode("utf-8", "surrogateescape")
    if draw(st.integers(0, 7)) == 0:  # a stray invalid byte
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc2\x9b", b"\x1b", b"\x00"])) + data[at:]
    return data


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True),
              st.text(max_size=8), NASTY_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10,
)
GOOD_ROW = {"pid": 100, "ppid": 1, "pgid": 100, "sid": 100, "tty": "?", "tpgid": -1, "stat": "Ss",
            "command": "x", "uid": 0, "argv": ["x"], "start_time": 1.7e9, "cpu_seconds": 3}


@st.composite
def json_texts(draw) -> bytes:
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        row = dict(GOOD_ROW)
        for key in draw(st.lists(st.sampled_from(sorted(GOOD_ROW) + ["user", "comm", "time", "nice"]), max_size=3)):
            if draw(st.booleans()):
                row[key] = draw(JSON_VALUES)
            else:
                row.pop(key, None)
        rows.append(row)
    text = json.dumps(rows, allow_nan=True)
    trick = draw(st.integers(0, 9))
    if trick == 0:
        text = "[" * draw(st.sampled_from([10, 5000, 200_000])) + "]" * draw(st.integers(0, 3))
    elif trick == 1:
        text = text.replace("100", "1" * draw(st.sampled_from([20, 4301, 20000])), 1)
    elif trick == 2:
        text = text[:draw(st.integers(0, len(text)))]  # truncated
    elif trick == 3:
        text = text.replace("1700000000.0", draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e300", "-1"])))
    return text.encode("utf-8", "surrogatepass")


INPUTS = st.one_of(ps_texts(), json_texts(), st.binary(max_size=300))

# C0 but newline, DEL, C1, and lone surrogates (which would be written as raw bytes).
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\ud800-\udfff]")


def _assert_escaped(text: str) -> None:
    found = _UNSAFE.search(text)
    assert found is None, f"unescaped {found.group()!r} at {found.start()}"


def _load_and_render(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    for utf8 in (True, False):
        escaper = Escaper(utf8)
        try:
            snapshot = parse_text(text, "fuzz", None, escaper)
        except PsxjError as exc:
            message = str(exc)
            assert "\n" not in message and len(message) < 400, message[:400]
            return
        printed = "\n".join(render_lines(snapshot, snapshot.records, OUTBUF_SIZE, escaper))
        _assert_escaped(printed)
        size, allowed = len(printed), 4 * len(data) + 200 * (len(snapshot) + 1)
        assert size <= allowed, f"{size} characters printed from {len(data)} bytes"
        exported = to_json(snapshot, snapshot.records)
        json.loads(exported, parse_constant=lambda name: (_ for _ in ()).throw(AssertionError(name)))
        _assert_escaped(exported.replace("\n", " "))
        to_csv(snapshot, snapshot.records)


PROCPS_HEADER = b" PPID   PID  PGID   SID TTY      TPGID STAT   UID   TIME COMMAND\n"
PROCPS_ROW = b"    1   100   100   100 ?           -1 Ss       0   0:00 x\n"


@pytest.mark.timeout(max(120, EXAMPLES // 10))  # a long run on demand gets its time
@FUZZ
@given(INPUTS)
# The issue's own cases, always run: a header after a million spaces (500 MB of output),
# a forest line of a million glyphs (quadratic stripping), nesting, huge numbers, NaN.
@example(b" " * 1_000_000 + PROCPS_HEADER + PROCPS_ROW * 20)
@example(PROCPS_HEADER + PROCPS_ROW[:-2] + b" " + b"    " * 250_000 + b"\\_ x\n")
@example(b"[" * 100_000)
@example(b'[{"pid": ' + b"1" * 5000 + b"}]")
@example(b'[{"pid":1,"ppid":0,"pgid":1,"sid":1,"tty":"?","tpgid":-1,"stat":"S","command":"x","uid":0,'
         b'"start_time":NaN}]')
@example(b'[{"pid":1,"ppid":0,"pgid":1,"sid":1,"tty":"?","tpgid":-1,"stat":"S","command":"x","uid":0,'
         b'"start_time":1e300}]')
def test_any_input_loads_or_is_refused_in_bounded_time_and_memory(data):
    tracemalloc.start()
    started = time.process_time()
    try:
        _load_and_render(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    spent = time.process_time() - started
    # Proportional bounds, loose enough for any machine and for tracemalloc's own cost: they
    # catch the quadratic and the runaway (500 MB from 1 MB), not a few per cent.
    assert peak <= 60 * len(data) + 8 * 1024 * 1024, (peak, len(data))
    assert spent <= 2.0 + len(data) / 100_000, (spent, len(data))
