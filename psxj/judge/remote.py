"""The daemon audit of another machine: run there by psxj's remote program, read back here as hostile input.

The judge's side of psxj.sources.fleet: the program psxj sends over SSH (psxj.sources.fleet.payload)
starts here, serving the fleet reader's `table` and, from this module, `audit {json}`, run by psxj's own
audit code on that machine's /proc. Its answer comes back to audit_reports(), which checks every value
and escapes every text with this side's locale: evidence quotes paths and names that users of that host
control. Standard library only, like everything sent there.
"""

from __future__ import annotations

from typing import List, Tuple

from psxj.escape import Escaper
from psxj.i18n import _
from psxj.judge.audit import Report, SystemFacts, Verdict, audit_process
from psxj.judge.kinds import KINDS, Kind, daemon_like
from psxj.judge.profiles import PROFILES
from psxj.judge.rules import RULES
from psxj.sources.fleet.remote import serve as serve_requests


def serve() -> int:
    """The remote program's loop (psxj.sources.fleet.payload starts it): the table, and the audit."""
    return serve_requests({b"audit": audit})


def audit(request: dict) -> dict:
    """The audit of `pids` (or, with `all`, of every daemon-like process), as `psxj audit` runs it."""
    from psxj.sources.proc import read_snapshot

    snapshot = read_snapshot()
    pids = [p for p in request.get("pids", []) if isinstance(p, int)]
    missing = [p for p in pids if snapshot.get(p) is None]
    if missing:
        return {"missing": missing}
    records = [snapshot.get(p) for p in pids] if pids else [r for r in snapshot.records if daemon_like(snapshot, r)]
    system = SystemFacts(snapshot)
    reports = []
    for record in records:
        report = audit_process(snapshot, record, system, request.get("profile"))
        reports.append(dict(report.as_json(), command=report.command))
    return {"reports": reports}


def audit_reports(data: bytes, escaper: Escaper) -> Tuple[List[int], list]:
    """(PIDs the host does not have, psxj.judge.audit.Report of each audited process), every text
    escaped here: evidence quotes paths and names that users of that host control."""
    # This side's reader of answers: imported here, as it is never sent to the other machine.
    from psxj.sources.fleet.decode import (
        MAX_TEXT,
        BadAnswer,
        checked_integer,
        checked_optional_text,
        checked_text,
        parse_answer,
    )

    answer = parse_answer(data)
    missing = answer.get("missing")
    if missing is not None:
        if not isinstance(missing, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in missing):
            raise BadAnswer(_("missing must be a list of PIDs"))
        return [checked_integer(p, "pid", False) for p in missing], []
    items = answer.get("reports")
    if not isinstance(items, list):
        raise BadAnswer(_("the answer has no list of reports"))
    reports = []
    for item in items:
        if not isinstance(item, dict):
            raise BadAnswer(_("a report must be an object"))
        kind_name = item.get("kind")
        if kind_name not in KINDS:
            raise BadAnswer(_("a report's kind is not one psxj knows"))
        reasons = item.get("kind_reasons")
        if not isinstance(reasons, list) or len(reasons) > 20:
            raise BadAnswer(_("kind_reasons must be a list"))
        kind = Kind(kind_name, tuple(checked_text(r, escaper, "a reason") for r in reasons),
                    checked_optional_text(item.get("supervisor"), escaper, "supervisor"),
                    checked_optional_text(item.get("unit"), escaper, "unit"))
        profile = item.get("profile")
        if profile is not None and profile not in PROFILES:
            raise BadAnswer(_("a report's profile is not one psxj knows"))
        rules = item.get("rules")
        if not isinstance(rules, list) or len(rules) > 100:
            raise BadAnswer(_("rules must be a list"))
        verdicts = []
        for rule in rules:
            if not isinstance(rule, dict) or rule.get("id") not in RULES or \
                    rule.get("verdict") not in ("pass", "fail", "unknown", "n/a"):
                raise BadAnswer(_("a rule's id or verdict is not one psxj knows"))
            evidence = checked_text(rule.get("evidence"), escaper, "evidence")
            verdicts.append(Verdict(rule["id"], rule["verdict"], evidence))
        gone = item.get("gone")
        if not isinstance(gone, bool):
            raise BadAnswer(_("gone must be true or false"))
        command = checked_text(item.get("command"), escaper, "command", MAX_TEXT)
        reports.append(Report(checked_integer(item.get("pid"), "pid", False), command, kind, profile, gone,
                              tuple(verdicts)))
    return [], reports
