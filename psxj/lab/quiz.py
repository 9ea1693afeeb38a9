"""Predict, then see: a quiz on the daemon demo's steps, checked against the real rows.

Before each step of the demo the student says which columns will change, and to what:
`PPID`, `SID=PID`, `TTY=?`, `TPGID=-1`, `STAT=Ss`, or `none`. The demo (psxj.demo.daemon
--gated) waits at each step until the answer is in; then it takes the step, records its own row
as /proc shows it, and the answer is graded against that row, not against what psxj expects.
The demo starts in a terminal psxj made, with a shell in it, so the first steps have a terminal
to leave wherever the quiz is run.

parse_prediction() and grade() are pure (tested with tables of cases); DemoQuiz drives the
processes; psxj.commands.lab and psxj.tui.quiz_screen ask the questions.
"""

from __future__ import annotations

import re
from typing import Dict, List, NamedTuple, Optional, Tuple

from psxj.demo.steps import RUN_ORDER, STEPS, Step
from psxj.errors import UsageError
from psxj.i18n import N_, _
from psxj.lab.base import Lab, describe_row
from psxj.lab.terminal import PseudoTerminal, trusted_program
from psxj.spawn import module_command

QUIZ_COLUMNS = ("PPID", "PGID", "SID", "TTY", "TPGID", "STAT")
NOTHING = ("none", "nothing", "-", "无")   # 无: "none" in the Chinese interface's words
OWN_PID = "PID"   # as a value: the process's own PID after the step (setsid() makes SID = PID)
_WORD = re.compile(r"\A([A-Za-z]+)(?:=([^=\s]+))?\Z")
_SHELLS = ("/bin/sh", "/usr/bin/sh", "/bin/dash", "/usr/bin/dash", "/bin/bash", "/usr/bin/bash")
_LEADER_SCRIPT = '"$@"; read -r line'

_TEXT: Dict[str, str] = {
    "bad_word": N_("quiz: {word!r} is not COLUMN or COLUMN=VALUE (columns: {columns}; or none)"),
    "bad_column": N_("quiz: {column!r} is not one of {columns}"),
    "twice": N_("quiz: {column} is named twice"),
    "none_and_more": N_("quiz: none means no column changes; name columns, or none, not both"),
    "empty": N_("quiz: an empty answer; name the columns that will change, or none"),
    "right": N_("right"),
    "wrong": N_("not quite"),
    "missed": N_("changed, not predicted: {columns}"),
    "extra": N_("predicted, did not change: {columns}"),
    "wrong_value": N_("{column}: you said {said}, it is {real}"),
    "nothing_changed": N_("no column of {columns} changed"),
    "question": N_("Step {number} of {total}: {title}"),
    "ask": N_("Which of {columns} will change, and to what? (e.g. SID=PID TTY=? STAT=Ss, or none)"),
    "score": N_("Score: {right}/{asked}"),
}


def _text(key: str) -> str:
    """One of this module's sentences (_TEXT), in the chosen language."""
    return _(_TEXT[key])


class Prediction(NamedTuple):
    """The columns the student says will change; a value, or None for "changes, to anything"."""
    columns: Dict[str, Optional[str]]


class Grade(NamedTuple):
    right: bool
    missed: Tuple[str, ...]          # changed, not predicted
    extra: Tuple[str, ...]           # predicted, did not change
    wrong_values: Tuple[str, ...]    # "SID: you said 12, it is 4242"
    actual: Tuple[str, ...]          # "SID 4200 -> 4242", what really changed

    def lines(self) -> List[str]:
        told = [_text("right" if self.right else "wrong")]
        if self.missed:
            told.append(_text("missed").format(columns=" ".join(self.missed)))
        if self.extra:
            told.append(_text("extra").format(columns=" ".join(self.extra)))
        told.extend(self.wrong_values)
        return told


def parse_prediction(text: str) -> Prediction:
    """`SID=PID, TTY=?  STAT=Ss` or `none`. Raises UsageError with a one-line reason."""
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    if not words:
        raise UsageError(_text("empty"))
    if any(w.lower() in NOTHING for w in words):
        if len(words) > 1:
            raise UsageError(_text("none_and_more"))
        return Prediction({})
    columns: Dict[str, Optional[str]] = {}
    for word in words:
        match = _WORD.match(word)
        if not match:
            raise UsageError(_text("bad_word").format(word=word[:40], columns=" ".join(QUIZ_COLUMNS)))
        column = match.group(1).upper()
        if column not in QUIZ_COLUMNS:
            raise UsageError(_text("bad_column").format(column=match.group(1)[:20], columns=" ".join(QUIZ_COLUMNS)))
        if column in columns:
            raise UsageError(_text("twice").format(column=column))
        columns[column] = match.group(2)
    return Prediction(columns)


def _value(said: str, after: dict) -> str:
    return str(after.get("PID")) if said.upper() == OWN_PID else said


def grade(prediction: Prediction, before: dict, after: dict) -> Grade:
    """Compare a prediction with the change between two real rows (dicts by ps header)."""
    changed = [c for c in QUIZ_COLUMNS if str(before.get(c)) != str(after.get(c))]
    said = prediction.columns
    missed = tuple(c for c in changed if c not in said)
    extra = tuple(c for c in said if c not in changed)
    wrong = tuple(_text("wrong_value").format(column=c, said=value, real=after.get(c))
                  for c, value in said.items() if c in changed and value is not None
                  and _value(value, after) != str(after.get(c)))
    actual = tuple(f"{c} {before.get(c)} -> {after.get(c)}" for c in changed)
    return Grade(not (missed or extra or wrong), missed, extra, wrong, actual)


class Question(NamedTuple):
    step_id: str
    step: Step
    number: int        # 1-based, among the questions
    total: int
    before: dict       # the row now, before the step

    def text(self) -> List[str]:
        return [_text("question").format(number=self.number, total=self.total, title=_(self.step.title)),
                f"  「{self.step.quote}」",
                "  " + describe_row(self.before),
                _text("ask").format(columns=" ".join(QUIZ_COLUMNS))]


class Answer(NamedTuple):
    question: Question
    prediction: Prediction
    grade: Grade
    after: dict

    def text(self) -> List[str]:
        told = [f"  {line}" for line in self.grade.lines()]
        told.append("  " + ("   ".join(self.grade.actual) if self.grade.actual else
                            _text("nothing_changed").format(columns=" ".join(QUIZ_COLUMNS))))
        if self.after.get("PID") != self.question.before.get("PID"):
            told.append(f"  PID {self.question.before.get('PID')} -> {self.after.get('PID')}")
        told.append(f"  {_(self.question.step.explanation)}")
        return told


class DemoQuiz(Lab):
    """The demo, one step per answer. Use: start(); then while question(): answer(text)."""

    title = N_("predict, then see: the daemon demo as a quiz")   # translated where it is shown
    command = "psxj demo quiz"
    STEPS = RUN_ORDER[1:]   # every step after the program's start

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.right = 0
        self.asked = 0
        self.answers: List[Answer] = []
        self.terminal: Optional[PseudoTerminal] = None
        self._run_id = ""
        self._row: dict = {}

    def start(self) -> None:
        self.terminal = PseudoTerminal()
        self._run_id, args = self.demo_arguments(["--gated"])
        leader = self.terminal.run(trusted_program(_SHELLS), "-c", _LEADER_SCRIPT, "sh",
                                   *module_command("psxj.demo.daemon", *args))
        self.children.append(leader)
        self.watch(leader.pid)
        self.sessions.add(leader.pid)
        entry = self.wait_step(self._run_id, "start")
        self._row = entry["row"]
        self.focus_pid = entry["pid"]

    def question(self) -> Optional[Question]:
        """The next question, or None when every step has been asked."""
        if self.asked >= len(self.STEPS):
            return None
        step_id = self.STEPS[self.asked]
        return Question(step_id, STEPS[step_id], self.asked + 1, len(self.STEPS), dict(self._row))

    def answer(self, question: Question, text: str) -> Answer:
        """Grade `text` (parsed first: a UsageError leaves the demo where it is), then let the demo
        take the step and compare with the row it records."""
        prediction = parse_prediction(text)
        self.control.allow_steps(self._run_id, question.number)
        entry = self.wait_step(self._run_id, question.step_id)
        after = entry["row"]
        self.focus_pid = entry["pid"]
        result = Answer(question, prediction, grade(prediction, question.before, after), after)
        self._row = after
        self.asked += 1
        self.right += result.grade.right
        self.answers.append(result)
        if self.asked >= len(self.STEPS):
            self.control.allow_steps(self._run_id, len(RUN_ORDER) + 1)  # let it run its main loop
        return result

    def score(self) -> str:
        return _text("score").format(right=self.right, asked=self.asked)

    def lesson(self):
        return iter(())  # a quiz is asked, not told: see question() and answer()

    def _close_resources(self) -> None:
        if self.terminal is not None:
            self.terminal.close()
