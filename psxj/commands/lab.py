"""The lab on the command line: `psxj demo start --skip RULE`, `psxj demo jobs`, `psxj demo quiz`.

A view of psxj.lab: each beat of a lesson is printed as it happens, with the lab's processes as
the sessions view shows them (psxj.render.views.session_rows, ps -j columns). The `demo` command
(psxj.commands.demo) hands these over. Everything the lab started is stopped before the command
returns, also on Ctrl-C, SIGTERM or SIGHUP. Part of the command line (psxj.commands).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import IO, Dict, Iterable, List, Optional, TextIO

from psxj.errors import PsxjError, UsageError
from psxj.i18n import N_, _
from psxj.lab.base import Beat, Lab, message

_TEXT: Dict[str, str] = {
    "heading": N_("psxj lab: {title}"),
    "interface": N_("(in the interface: L, then {choice})"),
    "processes": N_("the lab's processes now (sessions view):"),
    "no_processes": N_("the lab's processes now: none left"),
    "ended": N_("The lab has stopped everything it started."),
    "skip_needs_start": N_("demo: --skip goes with start (psxj demo start --skip RULE)"),
    "answers_needs_quiz": N_("demo: --answers goes with quiz"),
    "answers_unreadable": N_("demo: cannot read the answers file: {reason}"),
    "try_again": N_("{error}; try again"),
    "no_more_answers": N_("no more answers: the quiz ends here"),
    "you_said": N_("> {answer}"),
}


def _text(key: str) -> str:
    """One of this module's sentences (_TEXT), in the chosen language."""
    return _(_TEXT[key])
_WIDTH = 100
_RETRIES = 3   # a mistyped answer is asked again this often before the quiz gives up


def _wrapped(text: str, indent: str) -> List[str]:
    from psxj.cells import wrap

    return wrap(text, _WIDTH, indent)  # by cells: a Chinese explanation has no spaces to break at


def beat_lines(number: int, beat: Beat) -> List[str]:
    lines = [f"{number}. {beat.title}"]
    if beat.quote:
        lines.append(f"   「{beat.quote}」")
    if beat.explanation:
        lines += _wrapped(beat.explanation, "   ")
    lines += ["   " + message("changed", change=change) for change in beat.changes]
    lines += [f"   {line}" for line in beat.evidence]
    lines += [f"   {line}" for line in beat.audit]
    return lines


def table_lines(lab: Lab) -> List[str]:
    """The lab's processes in the sessions view: each session, its groups, their processes."""
    from psxj.escape import Escaper
    from psxj.render.psformat import Layout, columns
    from psxj.render.views import PROCESS, ViewOptions, session_rows
    from psxj.sources.proc import read_snapshot

    snapshot = read_snapshot()
    records = lab.shown_records(snapshot)
    if not records:
        return [f"   {_text('no_processes')}"]
    layout = Layout(columns(snapshot.pid_width), 160, Escaper(True))
    lines = [f"   {_text('processes')}", f"     {layout.header()}"]
    for row in session_rows(snapshot, records, ViewOptions()):
        lines.append(f"     {layout.row(row.record)}" if row.kind == PROCESS else f"     {row.text}")
    return lines


class _Ended(Exception):
    """SIGTERM or SIGHUP: end the lesson as Ctrl-C would, through the lab's cleanup."""


def _end(signum, frame):
    raise _Ended()


def _print(out: TextIO, lines: Iterable[str]) -> None:
    out.write("".join(line + "\n" for line in lines))
    out.flush()


def run_lesson(lab: Lab, choice: str, out: TextIO = sys.stdout) -> int:
    previous = {sig: signal.signal(sig, _end) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with lab:
            _print(out, [_text("heading").format(title=_(lab.title)),
                         _text("interface").format(choice=choice), ""])
            for number, beat in enumerate(lab.beats(), 1):
                _print(out, beat_lines(number, beat) + table_lines(lab) + [""])
        _print(out, [_text("ended")])
        return 0
    except _Ended:
        return 128 + signal.SIGTERM
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_quiz(answers: IO[str], out: TextIO = sys.stdout, interactive: bool = False, **options) -> int:
    """Ask each step's question; read one answer a line. A line that is not an answer is asked
    again (up to three times) when typed, and is an error in an answers file."""
    from psxj.lab.quiz import DemoQuiz

    previous = {sig: signal.signal(sig, _end) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with DemoQuiz(**options) as quiz:
            _print(out, [_text("heading").format(title=_(quiz.title)),
                         _text("interface").format(choice=_("quiz")), ""])
            quiz.start()
            while True:
                question = quiz.question()
                if question is None:
                    break
                _print(out, question.text())
                result = _ask(quiz, question, answers, out, interactive)
                if result is None:
                    _print(out, [_text("no_more_answers")])
                    break
                _print(out, result.text() + [""])
            _print(out, [quiz.score()])
        return 0
    except _Ended:
        return 128 + signal.SIGTERM
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ask(quiz, question, answers: IO[str], out: TextIO, interactive: bool):
    for _attempt in range(_RETRIES):
        if interactive:
            out.write("> ")
            out.flush()
        line = answers.readline()
        if not line:
            return None
        if not interactive:
            _print(out, [_text("you_said").format(answer=line.strip())])
        try:
            return quiz.answer(question, line)
        except UsageError as exc:
            if not interactive:
                raise
            _print(out, [_text("try_again").format(error=exc)])
    return None


def main(command: str, rundir: Optional[str], skip: Optional[str] = None, answers: Optional[str] = None) -> int:
    """`psxj demo start --skip RULE`, `psxj demo jobs`, `psxj demo quiz [--answers FILE]`."""
    if skip and command != "start":
        raise UsageError(_text("skip_needs_start"))
    if answers and command != "quiz":
        raise UsageError(_text("answers_needs_quiz"))
    if command == "start":
        from psxj.lab.counterexamples import counterexample

        return run_lesson(counterexample(skip, rundir=rundir), _("skip {rule}").format(rule=skip))
    if command == "jobs":
        from psxj.lab.jobs import JobControlLab

        return run_lesson(JobControlLab(rundir=rundir), _("job control"))
    if answers is None:
        return run_quiz(sys.stdin, interactive=sys.stdin.isatty(), rundir=rundir)
    from psxj.safefs import open_to_read

    try:   # a FIFO someone planted would hang an open(); a pipe of the user's own (<(...)) is read
        stream = os.fdopen(open_to_read(answers, pipes=True), encoding="utf-8", errors="replace")
    except OSError as exc:
        raise PsxjError(_text("answers_unreadable").format(reason=exc.strerror)) from None
    with stream:
        return run_quiz(stream, rundir=rundir)
