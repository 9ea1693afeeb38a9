"""The demo as a quiz (psxj.lab.quiz) in the interface: before each step, type which columns will change.

The lab screen's layout (psxj.tui.lab_screen): the demo's terminal session and the audit above,
the story below, and an answer line. Enter checks the answer against the row the demo records
after the step; the title line keeps the score.
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from psxj.errors import PsxjError, UsageError
from psxj.escape import safe_text
from psxj.i18n import N_, _
from psxj.lab.quiz import Question
from psxj.tui.lab_screen import _TEXT as _LAB_TEXT
from psxj.tui.lab_screen import LabScreen
from psxj.tui.wrapping import wrapped, wrapped_group

_FAILED = _LAB_TEXT["failed"]

_TEXT = {
    "placeholder": N_("which columns will change, and to what? e.g. SID=PID TTY=? STAT=Ss, or none; Enter checks"),
    "title": N_("{score} · {title}"),
    "busy": N_("The demo is taking the step: a moment."),
    "finished": N_("The quiz is over. Esc ends it: psxj stops the demo."),
}


def _text(key: str) -> str:
    """One of this module's sentences (_TEXT), in the chosen language."""
    return _(_TEXT[key])


class QuizScreen(LabScreen):
    # Keys typed into the answer line are answers: only Esc is the screen's.
    BINDINGS = [Binding("escape", "end", "End the quiz")]

    def __init__(self, make_quiz) -> None:
        super().__init__(make_quiz)
        self.question: Optional[Question] = None

    def compose_extra(self) -> ComposeResult:
        yield Static(id="quiz-error")
        yield Input(placeholder=_text("placeholder"), id="quiz-answer")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#quiz-error", Static).display = False
        self.query_one("#quiz-answer", Input).focus()

    def _show_title(self) -> None:
        if self.lab is None:
            return super()._show_title()
        line = _text("title").format(title=_(self.lab.title), score=self.lab.score())
        self.query_one("#lab-title", Static).update(Text(line, no_wrap=True, overflow="ellipsis"))
        self._show_keys()

    def begin(self) -> None:
        self._start()

    @work(thread=True, exclusive=True, group="lab-step")
    def _start(self) -> None:
        error = None
        with self._lab_lock:
            if self.ending:
                return
            try:
                self.lab = self.make_lab()
                self.lab.start()
                question = self.lab.question()
            except PsxjError as exc:
                error = str(exc)
        if error is not None:
            self.app.call_from_thread(self._failed, error)
            return
        self.app.call_from_thread(self._ask, question)

    def _ask(self, question: Optional[Question]) -> None:
        self.busy = False
        if self.question is None:
            self.notes = []  # the first question: "Starting the lab…" has been answered
        self.question = question
        self._show_title()
        if question is None:
            self.over = True
            self.notes.append(Text(_text("finished"), style="bold"))
        else:
            self.notes.append(Text("\n".join(question.text()), style="bold"))
        self._show_story()
        self.refresh_table()

    def _show_story(self) -> None:
        self.query_one("#lab-story-text", Static).update(wrapped_group(self.notes))
        self.query_one("#lab-story").scroll_end(animate=False)

    @on(Input.Submitted, "#quiz-answer")
    def submitted(self, event: Input.Submitted) -> None:
        if self.busy or self.question is None or self.ending:
            self.app.notify(_text("busy") if self.busy else _text("finished"))
            return
        self.busy = True
        self._check(self.question, event.value)

    @work(thread=True, exclusive=True, group="lab-step")
    def _check(self, question: Question, text: str) -> None:
        problem, result, following, failure = None, None, None, None
        with self._lab_lock:
            if self.ending:
                return
            try:
                result = self.lab.answer(question, text)
                following = self.lab.question()
            except UsageError as exc:
                problem = str(exc)
            except PsxjError as exc:
                failure = str(exc)
        if failure is not None:
            self.app.call_from_thread(self._failed, failure)
            return
        self.app.call_from_thread(self._checked, text, problem, result, following)

    def _checked(self, text: str, problem: Optional[str], result, following: Optional[Question]) -> None:
        error = self.query_one("#quiz-error", Static)
        answer = self.query_one("#quiz-answer", Input)
        if problem is not None:
            self.busy = False
            error.update(wrapped(problem))
            error.display = True
            answer.focus()
            answer.select_all()   # refused: what is typed next replaces it (it was appended: `foo barSTAT=S`)
            return
        error.display = False
        answer.value = ""
        self.notes.append(Text(f"> {safe_text(text.strip())}"))
        self.notes.append(Text("\n".join(result.text()), style="bold green" if result.grade.right else "bold yellow"))
        self._ask(following)

    def _failed(self, error: str) -> None:
        self.busy = False
        self.over = True
        self.question = None
        self.notes.append(Text(_(_FAILED).format(error=error), style="bold red"))
        self._show_story()

    def action_next(self) -> None:
        """The quiz moves on with each answer, not with n."""
