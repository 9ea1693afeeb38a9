"""What runs on the other machine (sent by payload.py to its python3; standard library only).

Answers requests on stdin, one per line, until stdin closes:
    table          -> the table, read with psxj's own /proc reader (psxj.sources.proc)
    audit {json}   -> the daemon audit of some PIDs or of every daemon-like process
Each answer is `LENGTH\\n` then that many bytes of JSON. Text goes back raw (bytes as
surrogate-escaped strings): the machine that asked escapes it, and trusts nothing said here.
"""

from __future__ import annotations

import json
import sys
import time

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


def audit(request: dict) -> dict:
    """The audit of `pids` (or, with `all`, of every daemon-like process), as `psxj audit` runs it."""
    from psxj.judge.audit import SystemFacts, audit_process
    from psxj.sources.proc import read_snapshot

    snapshot = read_snapshot()
    pids = [p for p in request.get("pids", []) if isinstance(p, int)]
    missing = [p for p in pids if snapshot.get(p) is None]
    if missing:
        return {"missing": missing}
    records = [snapshot.get(p) for p in pids] if pids else [r for r in snapshot.records if snapshot.daemon_like(r)]
    system = SystemFacts(snapshot)
    reports = []
    for record in records:
        report = audit_process(snapshot, record, system, request.get("profile"))
        reports.append(dict(report.as_json(), command=report.command))
    return {"reports": reports}


def answer(line: bytes) -> dict:
    word, _, rest = line.strip().partition(b" ")
    if word == b"table":
        return table()
    if word == b"audit":
        return audit(json.loads(rest.decode("ascii")))
    return {"error": "unknown request"}


def serve() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(HELLO)
    stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            return 0
        try:
            reply = answer(line)
        except Exception as exc:  # said to the asking side, which shows it escaped; never a hang
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(reply, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        stdout.write(b"%d\n" % len(data) + data)
        stdout.flush()
