"""What runs on the other machine (sent by payload.py to its python3; standard library only).

Answers requests on stdin, one per line, until stdin closes:
    table          -> the table, read with psxj's own /proc reader (psxj.sources.proc)
    WORD {json}    -> what a request given to serve() answers: the judge's `audit` (psxj.judge.remote)
Each answer is `LENGTH\\n` then that many bytes of JSON. Text goes back raw (bytes as
surrogate-escaped strings): the machine that asked escapes it, and trusts nothing said here.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Callable, Dict, Optional

Requests = Dict[bytes, Callable[[dict], dict]]   # a request word -> what answers its JSON argument

HELLO = b"PSXJ-FLEET 1\n"


class RawText:
    """Stands in for psxj's Escaper on this side: text stays as the kernel gave it, for the asking
    side to escape with its own locale (an escaper here would be trusted, and it must not be)."""

    utf8 = True

    @staticmethod
    def text(data) -> str:
        return data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data

    @staticmethod
    def command(cmdline: bytes, comm: bytes, state: str) -> str:
        return cmdline.decode("utf-8", "surrogateescape")


def table() -> dict:
    """Every process as ProcessRecord's fields in order, less the host; argv is left out (the asking
    side splits the raw command line itself), command holds the raw /proc/PID/cmdline."""
    from psxj.sources.proc import ProcReader, pid_digits

    reader = ProcReader(RawText())
    records = reader.read_all(parallel=True)
    rows = [list(r._replace(argv=None, nspid=None))[:-1] for r in records]
    return {"pid_width": pid_digits(), "time": time.time(), "boot": reader.boot, "hertz": reader.hertz,
            "rows": rows}


def answer(line: bytes, requests: Optional[Requests] = None) -> dict:
    word, _, rest = line.strip().partition(b" ")
    if word == b"table":
        return table()
    handler = (requests or {}).get(word)
    if handler is not None:
        return handler(json.loads(rest.decode("ascii")))
    return {"error": "unknown request"}


def serve(requests: Optional[Requests] = None) -> int:
    """Answer `table` and the given requests until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(HELLO)
    stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            return 0
        try:
            reply = answer(line, requests)
        except Exception as exc:  # said to the asking side, which shows it escaped; never a hang
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(reply, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        stdout.write(b"%d\n" % len(data) + data)
        stdout.flush()
