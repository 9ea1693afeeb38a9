"""The daemon checklist: judge a running process, from the outside, against the standard that fits it.

A process's kind (psxj.judge.kinds) chooses the profile (psxj.judge.profiles): the tutorial's
classic rules for what detached itself or should have, systemd's daemon(7) for a supervised
service, PID 1's duties for a container's init. Each verdict is pass, fail, unknown or n/a, with
the evidence read from /proc (psxj.judge.facts). When a fact cannot be read (another user's
process, no root) the verdict is unknown with the reason, never a guess.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from psxj.cells import pad_cells
from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.judge.facts import Gone, ProcFacts, SystemFacts, Unreadable
from psxj.judge.kinds import MEANINGS, Kind, kind_of
from psxj.judge.profiles import NOT_NEEDED, RULES_OF, profile_for
from psxj.judge.rules import FAIL, PASS, RULES, UNKNOWN, Context
from psxj.judge.rules import NOT_NEEDED as NA
from psxj.model import ProcessRecord, Snapshot

__all__ = ["PASS", "FAIL", "UNKNOWN", "NA", "RULE_HELP", "Verdict", "Report", "SystemFacts", "audit_process",
           "audit_all", "format_report", "summary_line"]

RULE_HELP: Dict[str, str] = {rule_id: rule.help for rule_id, rule in RULES.items()}   # English: _() where shown
# The verdicts as people read them (JSON keeps pass, fail, unknown, n/a in every language).
VERDICT_WORDS = {PASS: N_("PASS"), FAIL: N_("FAIL"), UNKNOWN: N_("UNKNOWN"), NA: N_("N/A")}


def verdict_word(verdict: str) -> str:
    return _(VERDICT_WORDS.get(verdict, verdict))


class Verdict(NamedTuple):
    id: str
    verdict: str
    evidence: str


class Report(NamedTuple):
    pid: int
    command: str
    kind: Kind
    profile: Optional[str]
    gone: bool
    rules: Tuple[Verdict, ...]
    missing: bool = False    # no such process when the table was read (asked for by PID, it had exited)

    @property
    def daemon(self) -> bool:
        return self.kind.daemon_like

    @property
    def ok(self) -> bool:
        return not self.gone and all(rule.verdict != FAIL for rule in self.rules)

    def counts(self) -> Dict[str, int]:
        return {v: sum(1 for rule in self.rules if rule.verdict == v) for v in (PASS, FAIL, UNKNOWN, NA)}

    def as_json(self) -> dict:
        if self.missing:
            return {"pid": self.pid, "daemon": False, "kind": None, "kind_reasons": [], "supervisor": None,
                    "unit": None, "unit_role": None, "container": None, "profile": None, "gone": True, "rules": []}
        return {"pid": self.pid, "daemon": self.daemon, "kind": self.kind.name,
                "kind_reasons": [safe_text(r) for r in self.kind.reasons], "supervisor": self.kind.supervisor,
                "unit": self.kind.unit, "unit_role": self.kind.role, "container": self.kind.container,
                "profile": self.profile, "gone": self.gone,
                "rules": [{"id": r.id, "verdict": r.verdict, "evidence": r.evidence} for r in self.rules]}


def exited_report(pid: int) -> Report:
    """A PID asked for that no process had when the table was read: it has exited."""
    return Report(pid, "", Kind("zombie", ()), None, True, (), missing=True)


def _rule(rule_id: str, context: Context) -> Verdict:
    """Run one rule. Evidence quotes paths and names another user controls (a cwd, a descriptor's
    target, a lock's file): it is escaped here, once, like COMMAND, for every output."""
    try:
        verdict, evidence = RULES[rule_id].judge(context)
    except Unreadable as exc:
        return Verdict(rule_id, UNKNOWN, safe_text(str(exc)))
    return Verdict(rule_id, verdict, safe_text(evidence))


def audit_process(snapshot: Snapshot, record: ProcessRecord, system: Optional[SystemFacts] = None,
                  profile: Optional[str] = None) -> Report:
    """Judge one process against its kind's standard (or the one forced with `profile`)."""
    kind = kind_of(snapshot, record)
    chosen = profile_for(kind, profile)
    if chosen is None:  # a kernel thread or a zombie: nothing the rules could ask of it
        return Report(record.pid, record.command, kind, None, False, ())
    context = Context(snapshot, record, kind, ProcFacts(record.pid), system or SystemFacts(snapshot))
    who = kind.supervisor or _("its supervisor")
    try:
        verdicts = [_rule(rule_id, context) for rule_id in RULES_OF[chosen]]
        verdicts += [Verdict(rule_id, NA, safe_text(_(text).format(who=who)))
                     for rule_id, text in NOT_NEEDED.get(chosen, {}).items()]
    except Gone:
        return Report(record.pid, record.command, kind, chosen, True, ())
    return Report(record.pid, record.command, kind, chosen, False, tuple(verdicts))


def _as_plain(reports: List[Report]) -> List[tuple]:
    """Marshallable: the kind without its placement (systemd's facts, which the rules have used)."""
    return [(r.pid, r.command, tuple(r.kind._replace(placement=None)), r.profile, r.gone, tuple(map(tuple, r.rules)))
            for r in reports]


def _as_reports(rows: List[tuple]) -> List[Report]:
    return [Report(pid, command, Kind(*kind), profile, gone, tuple(Verdict(*rule) for rule in rules))
            for pid, command, kind, profile, gone, rules in rows]


def audit_all(snapshot: Snapshot, records: List[ProcessRecord], profile: Optional[str] = None) -> List[Report]:
    """audit_process for each record, in their order, shared among the usable cores (each process
    reads its own /proc files: the work is per process once the machine-wide facts are read)."""
    from psxj.sources.parallel import map_shares, worker_count

    system = SystemFacts(snapshot)
    workers = worker_count(len(records), _AUDITS_PER_WORKER)
    if workers > 1:
        system.read_all()  # once, here: the workers inherit it instead of each reading it again

    def audits(share: List[ProcessRecord]) -> List[Report]:
        return [audit_process(snapshot, record, system, profile) for record in share]

    order = {record.pid: index for index, record in enumerate(records)}
    reports = map_shares(audits, records, workers, send=_as_plain, receive=_as_reports)
    return sorted(reports, key=lambda report: order[report.pid])


_AUDITS_PER_WORKER = 150  # an audit reads ~10 files: a fork pays for itself past this many


def format_report(report: Report) -> str:
    kind = report.kind
    lines = [f"PID {report.pid}  {report.command}"]
    if report.missing:
        lines.append("  " + _("gone: no process has this PID any more (it has exited)"))
        return "\n".join(lines)
    if report.gone:
        lines.append("  " + _("gone: the process exited during the audit"))
        return "\n".join(lines)
    lines.append("  " + _("kind: {kind} ({meaning})").format(kind=kind.name, meaning=_(MEANINGS[kind.name]))
                 + (_("; supervisor {supervisor}").format(supervisor=safe_text(kind.supervisor))
                    if kind.supervisor else "")
                 + (_(", unit {unit}").format(unit=safe_text(kind.unit)) if kind.unit else "")
                 + (_(", role {role}").format(role=kind.role) if kind.role else "")
                 + (_(", in {container}").format(container=safe_text(kind.container)) if kind.container else ""))
    lines.extend("    " + _("because {reason}").format(reason=safe_text(reason)) for reason in kind.reasons)
    if report.profile is None:
        lines.append("  " + _("not audited: the daemon rules do not apply to a {kind}").format(kind=kind.name))
        return "\n".join(lines)
    lines.append("  " + _("profile: {profile}").format(profile=report.profile)
                 + ("" if report.daemon else _("  (it does not qualify as a daemon: the rules show what it lacks)")))
    checked = [rule for rule in report.rules if rule.verdict != NA]
    for rule in checked:
        lines.append(f"  {pad_cells(verdict_word(rule.verdict), 8)} {rule.id:19} {rule.evidence}")
    by_reason: Dict[str, list] = {}
    for rule in report.rules:
        if rule.verdict == NA:
            by_reason.setdefault(rule.evidence, []).append(rule.id)
    for evidence, ids in by_reason.items():  # the same reason once, with every rule it covers
        na = pad_cells(verdict_word(NA), 8)
        lines.append(f"  {na} {', '.join(ids)}: {evidence}" if len(ids) > 1 else f"  {na} {ids[0]:19} {evidence}")
    counts = report.counts()
    lines.append("  " + _("{passed} pass, {failed} fail, {unknown} unknown, {na} n/a").format(
        passed=counts[PASS], failed=counts[FAIL], unknown=counts[UNKNOWN], na=counts[NA]))
    return "\n".join(lines)


def summary_line(report: Report) -> str:
    if report.gone:
        return f"{report.pid:>7}  " + _("gone")
    counts = report.counts()
    failed = [r.id for r in report.rules if r.verdict == FAIL]
    unknown = [r.id for r in report.rules if r.verdict == UNKNOWN]
    text = (f"{report.pid:>7}  {report.kind.name:14} {report.profile or '-':9} "
            + _("{passed:2} pass {failed:2} fail {unknown:2} unknown").format(
                passed=counts[PASS], failed=counts[FAIL], unknown=counts[UNKNOWN]))
    if failed:
        text += "  " + _("fail: {rules}").format(rules=",".join(failed))
    if unknown:
        text += "  " + _("unknown: {rules}").format(rules=",".join(unknown))
    return f"{text}  {report.command[:60]}"
