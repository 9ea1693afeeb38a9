"""`psxj why` as text and JSON (a view): the story of one process in a few lines, a line per process
when a target matches several, and the machine form with every fact's origin.

Every string in a story came from outside (commands, paths, crontab lines, unit descriptions,
container names, logind's answers), so every one passes psxj.escape.safe_text, in the text and
in the JSON alike: no control byte reaches a terminal or a log viewer.
"""

from __future__ import annotations

import json
from typing import Dict, List, Sequence

from psxj.cells import cells, wrap
from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.render.psformat import format_time

ARROWS = {"started": "->", "adopted": "~>", None: "-?>"}
LABELS: Dict[str, str] = {
    # context
    "user": N_("user"), "started": N_("started"), "executable": N_("executable"), "cwd": N_("cwd"),
    "terminal": N_("terminal"), "session": N_("session"), "process_group": N_("process group"),
    "listening": N_("listening"), "unit": N_("unit"), "unit_description": N_("description"),
    "unit_file": N_("unit file"), "unit_state": N_("state"), "restarts": N_("restarts"),
    "container": N_("container"), "memory": N_("memory"), "cpu_time": N_("CPU time"),
    # sources
    "manager": N_("manager"), "role": N_("role"), "trigger": N_("trigger"), "daemon": N_("daemon"),
    "runner": N_("runner"), "command": N_("command"), "crontab": N_("crontab"), "line": N_("line"),
    "text": N_("text"), "schedule": N_("schedule"), "refused": N_("refused"), "job": N_("job"),
    "remote": N_("remote"), "service": N_("service"), "session_process": N_("session process"),
    "logind": N_("logind"), "runtime": N_("runtime"), "container_name": N_("name"), "id": N_("id"),
    "image": N_("image"),
    "monitor": N_("monitor"), "init": N_("init"), "supervisor": N_("supervisor"), "pid": N_("pid"),
    "session_leader": N_("session leader"), "foreground": N_("foreground"), "terminal_owner": N_("terminal's owner"),
}
KIND_WORDS: Dict[str, str] = {
    "kernel": N_("the kernel"), "systemd-unit": N_("a systemd unit"), "supervisor": N_("a supervisor"),
    "cron": N_("cron"), "at": N_("at"), "login": N_("a login"), "container": N_("a container"),
    "shell-job": N_("a session's shell and its jobs"), "daemon": N_("a self-detached daemon"), "init": N_("init"),
    "unknown": N_("unknown"),
}


def label(key: str) -> str:
    return _(LABELS[key]) if key in LABELS else key.replace("_", " ")


def value_text(fact) -> str:
    """A fact's value as text, or "unknown: why"."""
    if fact.value is None:
        if fact.unknown is None:
            return _("none")
        return _("unknown: {why}").format(why=safe_text(fact.unknown))
    value = fact.value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple)):
        return ", ".join(safe_text(str(v)) for v in value) if value else _("none")
    return safe_text(str(value))


def context_text(key: str, fact) -> str:
    """A context fact as text; a bare number gets the unit the JSON leaves implicit."""
    if key == "cpu_time" and isinstance(fact.value, (int, float)) and not isinstance(fact.value, bool):
        return _("{time} (minutes:seconds, as ps's TIME)").format(time=format_time(fact.value).strip())
    return value_text(fact)


def chain_text(chain) -> str:
    """1 systemd -> 812 nginx ~> 813 nginx: each arrow says how the process after it came under the one
    before (ARROWS)."""
    parts: List[str] = []
    for index, link in enumerate(chain):
        if index:
            parts.append(ARROWS.get(link.how, "-?>"))
        parts.append(f"{link.pid} {safe_text(link.comm)}")
    return " ".join(parts)


def _spaced(label_text: str) -> str:
    """A label and the space after it: a full-width colon (Chinese) is its own space."""
    return label_text if label_text.endswith("：") else label_text + " "


def hanging(prefix: str, text: str, width: int) -> List[str]:
    """`prefix` then `text`, wrapped to `width` cells, later lines indented under the text."""
    indent = " " * cells(prefix)
    lines = wrap(text, max(width, cells(prefix) + 20), indent)
    return [prefix + lines[0][len(indent):]] + lines[1:]


def _block(title: str, rows: Sequence[tuple], width: int) -> List[str]:
    """Rows of (label, text) under a title, the labels in a column, the text wrapped beside them."""
    lines = [f"  {title}"]
    column = max([cells(name) for name, _text in rows] + [8]) + 2
    for name, text in rows:
        indent = "    " + name + " " * (column - cells(name))
        wrapped = wrap(text, max(width, column + 20), " " * cells(indent))
        lines.append(indent + wrapped[0].lstrip())
        lines += wrapped[1:]
    return lines


def story(why, width: int = 100) -> str:
    """The whole story of one process."""
    lines = [f"PID {why.pid}  {safe_text(why.command)}"]
    lines += hanging("  " + _spaced(_("why:")), safe_text(why.source.summary), width)
    lines += hanging("  " + _spaced(_("chain:")), chain_text(why.chain), width)
    if any(link.how != "started" for link in why.chain[1:]):
        lines += hanging(" " * cells("  " + _spaced(_("chain:"))), _(
            "(-> started by its parent; ~> adopted: handed over when its parent exited; -?> not known)"), width)
    source_rows = [(label(key), value_text(fact)) for key, fact in why.source.details]
    if why.source.unknown:
        source_rows.insert(0, (_("unknown"), safe_text(why.source.unknown)))
    kind = _(KIND_WORDS.get(why.source.kind, why.source.kind))
    lines += _block(_("source: {kind}").format(kind=kind) + (f" ({safe_text(why.source.name)})"
                                                               if why.source.name else ""), source_rows, width)
    lines += _block(_("context:"), [(label(key), context_text(key, fact)) for key, fact in why.context], width)
    if why.warnings:
        lines.append("  " + _("warnings:"))
        for warning in why.warnings:
            lines += wrap(f"! {safe_text(warning.text)}", width, "    ")
    else:
        lines.append("  " + _("warnings: none"))
    return "\n".join(lines) + "\n"


def one_line(why) -> str:
    """A process of several matches: PID, command, why."""
    return f"{why.pid:>7}  {safe_text(why.comm):<15}  {safe_text(why.source.summary)}"


def _escaped(value):
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_escaped(item) for item in value]
    return value


def as_json(whys) -> str:
    """The answers as one JSON array, every string escaped as ps escapes COMMAND."""
    return json.dumps([_escaped(why.as_json()) for why in whys], indent=1, ensure_ascii=True, allow_nan=False) + "\n"
