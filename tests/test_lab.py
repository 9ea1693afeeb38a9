"""The teaching lab on real processes: each counterexample's consequence, and its control with the rule
kept; job control step by step, checked in /proc and with the real ps; the quiz graded against real
rows; the command line and the interface. Every process a lab starts is gone when it is closed."""

from __future__ import annotations

import os
import re
import signal
import stat
import sys

import pytest
from conftest import SEED, gone_or_zombie, linux_only, needs_ps, root_only, run_ps, run_psxj, stat_fields

from psxj.demo.control import DemoControl
from psxj.demo.steps import STEPS
from psxj.errors import PsxjError, UsageError
from psxj.lab import counterexamples, jobs
from psxj.lab.counterexamples import counterexample
from psxj.lab.jobs import JobControlLab
from psxj.lab.quiz import grade, parse_prediction

pytestmark = linux_only


def fields(pid: int):
    """(ppid, pgid, sid, tty_nr, tpgid, state) from /proc/PID/stat, read here, not by psxj."""
    raw = stat_fields(pid)
    assert raw is not None, f"PID {pid} has gone"
    return int(raw[1]), int(raw[2]), int(raw[3]), int(raw[4]), int(raw[5]), raw[0].decode()


def terminal_number(path: str) -> int:
    return os.stat(path).st_rdev


@pytest.fixture
def lab_dir(tmp_path):
    """A run directory for the lab; afterwards, anything a lab run recorded that is still alive (same
    PID and start time) fails the test, and is killed so that nothing is left running."""
    path = tmp_path / "run"
    yield path
    control = DemoControl(str(path / "lab"))
    leftovers = []
    for entries in control.all_runs().values():
        for entry in entries:
            raw = stat_fields(entry["pid"])
            if raw is not None and raw[0] != b"Z" and int(raw[19]) == entry.get("start_ticks"):
                leftovers.append(entry["pid"])
                os.kill(entry["pid"], signal.SIGKILL)
    assert not leftovers, f"the lab left these running: {leftovers}"


def all_gone(lab) -> None:
    """Everything the lab started or found has exited, and its own children are reaped."""
    for entries in lab.control.all_runs().values():
        for entry in entries:
            assert gone_or_zombie(entry["pid"]), entry
    for pid in lab.watched:
        assert gone_or_zombie(pid), pid
    assert all(child.returncode is not None for child in lab.children)


# the tutorial's words ---------------------------------------------------------------------------

def test_every_quote_is_the_tutorials_own_words():
    if not SEED.exists():
        pytest.skip("the tutorial is not next to this checkout")
    tutorial = re.sub(r"[*`]", "", SEED.read_text(encoding="utf-8"))
    quotes = [text for table in (counterexamples._TEXT, jobs._TEXT) for key, text in table.items() if "quote" in key]
    quotes += [STEPS["terminal"].quote, STEPS["shared-file"].quote]  # the lab's steps (the others abridge)
    assert len(quotes) > 10
    missing = [quote for quote in quotes if quote not in tutorial]
    assert not missing


# the quiz's grading (pure) ------------------------------------------------------------------------

@pytest.mark.parametrize("text, columns", [
    ("none", {}),
    ("-", {}),
    ("PPID", {"PPID": None}),
    ("sid=PID, pgid=PID  tty=?", {"SID": "PID", "PGID": "PID", "TTY": "?"}),
    ("TPGID=-1 STAT=Ss", {"TPGID": "-1", "STAT": "Ss"}),
])
def test_predictions_are_read(text, columns):
    assert parse_prediction(text).columns == columns


@pytest.mark.parametrize("text, message", [
    ("", "empty answer"),
    ("PID", "'PID' is not one of"),
    ("SID=PID SID=1", "SID is named twice"),
    ("none SID", "not both"),
    ("SID==3", "is not COLUMN or COLUMN=VALUE"),
])
def test_bad_predictions_are_one_line_errors(text, message):
    with pytest.raises(UsageError) as caught:
        parse_prediction(text)
    assert message in str(caught.value) and "\n" not in str(caught.value)


BEFORE = {"PID": 12, "PPID": 11, "PGID": 11, "SID": 11, "TTY": "pts/3", "TPGID": 11, "STAT": "S+"}
AFTER_SETSID = {"PID": 12, "PPID": 1, "PGID": 12, "SID": 12, "TTY": "?", "TPGID": -1, "STAT": "Ss"}


@pytest.mark.parametrize("said, right, missed, extra, wrong", [
    ("PPID PGID=PID SID=PID TTY=? TPGID=-1 STAT=Ss", True, (), (), 0),
    ("PPID=1 PGID SID TTY TPGID STAT", True, (), (), 0),
    ("SID=PID PGID=PID", False, ("PPID", "TTY", "TPGID", "STAT"), (), 0),
    ("PPID PGID SID TTY TPGID STAT=S", False, (), (), 1),
    ("none", False, ("PPID", "PGID", "SID", "TTY", "TPGID", "STAT"), (), 0),
])
def test_grading_compares_with_the_real_change(said, right, missed, extra, wrong):
    result = grade(parse_prediction(said), BEFORE, AFTER_SETSID)
    assert (result.right, result.missed, result.extra, len(result.wrong_values)) == (right, missed, extra, wrong)
    assert "SID 11 -> 12" in result.actual


def test_predicting_a_change_that_does_not_happen_is_wrong():
    result = grade(parse_prediction("PPID"), AFTER_SETSID, dict(AFTER_SETSID, PID=14, STAT="S"))
    assert not result.right and result.extra == ("PPID",) and result.missed == ("STAT",)


# counterexamples ----------------------------------------------------------------------------------

def test_without_setsid_the_demo_dies_of_sighup_with_its_terminal(lab_dir):
    with counterexample("setsid", rundir=str(lab_dir)) as lab:
        first = lab.next_beat()
        pid, leader = lab.focus_pid, lab.leader.pid
        ppid, pgid, sid, tty, tpgid, state = fields(pid)
        # Seen in /proc: the shell's session, its terminal, its (foreground) process group.
        assert (sid, pgid, tpgid) == (leader, leader, leader)
        assert tty == terminal_number(lab.terminal.path)
        assert "FAIL    own-session" in "\n".join(first.audit) and "FAIL    no-tty" in "\n".join(first.audit)
        second = lab.next_beat()
        assert second.last and gone_or_zombie(pid)
        assert lab.leader.returncode == -signal.SIGHUP
        if lab.feed.mode == "events":  # as root: the kernel says how it died
            assert any(f"EXIT {pid}: killed by SIGHUP" in line for line in second.evidence), second.evidence
        assert f"psxj-demo[{pid}]: SIGTERM" not in lab.control.log()  # not psxj's stop: the hangup
        assert lab.next_beat() is None
    all_gone(lab)


def test_with_setsid_the_hangup_never_reaches_the_demo(lab_dir):
    with counterexample("setsid", rundir=str(lab_dir), left_out=False) as lab:
        lab.next_beat()
        pid = lab.focus_pid
        _, _, sid, tty, tpgid, _ = fields(pid)
        assert sid != lab.leader.pid and tty == 0 and tpgid == -1
        second = lab.next_beat()
        assert lab.leader.returncode == -signal.SIGHUP
        assert not gone_or_zombie(pid), second.evidence
    all_gone(lab)


def test_a_session_leader_opening_a_terminal_without_o_noctty_acquires_it(lab_dir):
    with counterexample("second-fork", rundir=str(lab_dir)) as lab:
        first = lab.next_beat()
        pid = lab.focus_pid
        _, pgid, sid, tty, tpgid, _ = fields(pid)
        assert sid == pid and tty == terminal_number(lab.terminal.path) and tpgid == pgid == pid
        assert any("TTY ? -> " + lab.terminal.name in change for change in first.changes), first.changes
        assert "FAIL    not-session-leader" in "\n".join(first.audit)
        lab.next_beat()  # the terminal hangs up: its controlling process, the demo, gets SIGHUP
        assert f"psxj-demo[{pid}]: SIGHUP: reloading" in lab.control.log()
        _, _, _, tty, tpgid, _ = fields(pid)
        assert tty == 0 and tpgid == -1
    all_gone(lab)


def test_after_the_second_fork_opening_a_terminal_acquires_nothing(lab_dir):
    with counterexample("second-fork", rundir=str(lab_dir), left_out=False) as lab:
        first = lab.next_beat()
        pid = lab.focus_pid
        _, _, sid, tty, tpgid, _ = fields(pid)
        assert sid != pid and tty == 0 and tpgid == -1
        assert "psxj-demo: a message for the console" in lab.terminal.text()  # it did open the terminal
        assert not first.changes
    all_gone(lab)


def test_without_umask_the_file_gets_another_mode(lab_dir):
    with counterexample("umask", rundir=str(lab_dir)) as lab:
        lab.next_beat()
        mode = stat.S_IMODE(os.stat(lab_dir / "lab" / "psxj-demo.shared").st_mode)
        with open(f"/proc/{lab.focus_pid}/status") as f:
            umask = re.search(r"Umask:\s*(\d+)", f.read()).group(1)
        assert (oct(mode), umask) == (oct(0o640), "0022")
    all_gone(lab)


def test_with_umask_0_the_file_gets_the_mode_asked_for(lab_dir):
    with counterexample("umask", rundir=str(lab_dir), left_out=False) as lab:
        beat = lab.next_beat()
        assert stat.S_IMODE(os.stat(lab_dir / "lab" / "psxj-demo.shared").st_mode) == 0o660
        assert "asking for mode 0660; the file has mode 0660" in beat.title
    all_gone(lab)


@root_only
@pytest.mark.parametrize("left_out", [True, False])
def test_chdir_decides_whether_the_tmpfs_can_be_unmounted(lab_dir, left_out):
    with counterexample("chdir", rundir=str(lab_dir), left_out=left_out) as lab:
        try:
            lab.next_beat()
        except PsxjError as exc:
            pytest.skip(str(exc))
        cwd = os.readlink(f"/proc/{lab.focus_pid}/cwd")
        mount_point = str(lab_dir / "lab" / "busy")
        tried = lab.next_beat()
        if left_out:
            assert cwd == mount_point + "/spool"
            assert lab.umount_status != 0 and "target is busy" in " ".join(tried.evidence), tried.evidence
            lab.next_beat()
            assert lab.umount_after_stop == 0
        else:
            assert cwd == "/" and lab.umount_status == 0 and tried.last
        with open("/proc/self/mountinfo") as f:
            assert mount_point not in f.read()  # the namespace was the lab's own
    all_gone(lab)


def test_without_closing_descriptors_the_starters_command_substitution_hangs(lab_dir):
    with counterexample("close", rundir=str(lab_dir)) as lab:
        first = lab.next_beat()
        starter, pid = lab.starter, lab.focus_pid
        assert lab.starter_stuck and starter.poll() is None
        # The starter reads a pipe whose write end the demo holds, as /proc says.
        demo_out = os.readlink(f"/proc/{pid}/fd/1")
        assert demo_out.startswith("pipe:")
        starter_fds = [os.readlink(f"/proc/{starter.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{starter.pid}/fd")]
        assert demo_out in starter_fds
        assert any(demo_out in line for line in first.evidence)
        assert "FAIL    stdio-devnull" in "\n".join(first.audit)
        lab.next_beat()
        assert starter.returncode == 0 and lab.starter_ended_after < 2.0
    all_gone(lab)


def test_closing_descriptors_lets_the_starter_go_on(lab_dir):
    with counterexample("close", rundir=str(lab_dir), left_out=False) as lab:
        beat = lab.next_beat()
        assert not lab.starter_stuck and lab.starter.returncode == 0 and beat.last
    all_gone(lab)


def test_without_the_lock_two_instances_run(lab_dir):
    with counterexample("lock", rundir=str(lab_dir)) as lab:
        beat = lab.next_beat()
        first, second = lab.instances
        for pid in (first, second):
            assert not gone_or_zombie(pid)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                assert b"psxj.demo.daemon" in f.read()
        assert (lab_dir / "lab" / "psxj-demo.pid").read_text().strip() == str(second)
        with open("/proc/locks") as f:
            assert not [line for line in f if line.split()[4] in (str(first), str(second))]
        assert DemoControl(str(lab_dir / "lab")).status() == 1  # the lock decides, and there is none
        assert "FAIL    pidfile-lock" in "\n".join(beat.audit)
    all_gone(lab)


def test_with_the_lock_the_second_instance_is_refused(lab_dir):
    with counterexample("lock", rundir=str(lab_dir), left_out=False) as lab:
        beat = lab.next_beat()
        first, second = lab.instances
        assert "was refused" in beat.title and not gone_or_zombie(first)
    all_gone(lab)


def test_the_demo_opens_only_a_pseudo_terminal_of_its_user(lab_dir):
    """--open-terminal is checked before the open that could acquire it: another user's terminal is
    refused, and a path that is not /dev/pts/N never gets that far."""
    from psxj.lab.base import Lab
    from psxj.lab.terminal import PseudoTerminal

    if os.geteuid() != 0:
        pytest.skip("giving the terminal to another user needs root")
    with Lab(rundir=str(lab_dir)) as lab, PseudoTerminal() as terminal:
        os.chown(terminal.path, 65534, -1)
        run_id = lab.launch_demo(["--skip", "second-fork", "--open-terminal", terminal.path])
        entry = lab.wait_step(run_id, "terminal")
        assert "not a pseudo-terminal of this user" in entry["refused"]
        assert fields(entry["pid"])[3] == 0
    all_gone(lab)
    result = run_psxj_module("psxj.demo.daemon", "--rundir", str(lab_dir), "--open-terminal", "/dev/tty")
    assert result.returncode == 2 and b"expected /dev/pts/N" in result.stderr


def run_psxj_module(module, *args):
    import subprocess

    from conftest import ROOT

    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, cwd=ROOT, timeout=30)


# job control ------------------------------------------------------------------------------------

def job_of(shell: int):
    """The pipeline's processes, children of the shell, read from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            raw = stat_fields(int(name))
            if raw is not None and int(raw[1]) == shell and raw[0] != b"Z":
                found.append(int(name))
    return sorted(found)


def ps_stat(pid: int) -> str:
    return run_ps("-o", "stat=", "-p", str(pid)).stdout.decode().strip()


@needs_ps
def test_job_control_step_by_step(lab_dir):
    with JobControlLab(rundir=str(lab_dir)) as lab:
        lab.next_beat()
        shell = lab.shell.pid
        _, pgid, sid, tty, tpgid, _ = fields(shell)
        assert pgid == sid == tpgid == shell and tty == terminal_number(lab.terminal.path)
        assert ps_stat(shell) == "Ss+"

        started = lab.next_beat()  # sleep 100 | cat
        sleep, cat = job_of(shell)
        job = fields(sleep)[1]
        assert job == sleep == fields(cat)[1] and fields(shell)[4] == job
        assert (ps_stat(sleep), ps_stat(cat), ps_stat(shell)) == ("S+", "S+", "Ss")
        assert f"bash {shell}: TPGID {shell} -> {job}   STAT Ss+ -> Ss" in started.changes

        stopped = lab.next_beat()  # Ctrl-Z
        assert fields(sleep)[5] == fields(cat)[5] == "T" and fields(shell)[4] == shell
        assert ps_stat(sleep) == "T" and f"sleep {sleep}: TPGID {job} -> {shell}   STAT S+ -> T" in stopped.changes
        assert any("Stopped" in line for line in stopped.evidence)

        resumed = lab.next_beat()  # bg
        assert fields(sleep)[5] == "S" and fields(shell)[4] == shell and ps_stat(sleep) == "S"
        assert f"cat {cat}: STAT T -> S" in resumed.changes

        lab.next_beat()  # fg
        assert fields(shell)[4] == job and ps_stat(cat) == "S+"

        hung_up = lab.next_beat()
        assert hung_up.last and lab.shell.returncode == -signal.SIGHUP
        assert gone_or_zombie(sleep) and gone_or_zombie(cat)
        if lab.feed.mode == "events":
            assert any(f"EXIT sleep {sleep}: killed by SIGHUP" in line for line in hung_up.evidence), hung_up.evidence
    all_gone(lab)


def test_closing_the_job_lab_half_way_leaves_nothing(lab_dir):
    with JobControlLab(rundir=str(lab_dir)) as lab:
        lab.next_beat()
        lab.next_beat()
        lab.next_beat()  # a stopped job: the hangup alone would leave it stopped, were it not killed
        job = job_of(lab.shell.pid)
        assert len(job) == 2
    for pid in job:
        assert gone_or_zombie(pid)
    all_gone(lab)


# the command line --------------------------------------------------------------------------------

RIGHT_ANSWERS = "PPID\nSID=PID PGID=PID TTY=? TPGID=-1 STAT=Ss\nSTAT=S\n" + "none\n" * 7


@pytest.mark.slow
def test_quiz_from_an_answers_file(lab_dir, tmp_path):
    answers = tmp_path / "answers"
    answers.write_text(RIGHT_ANSWERS)
    result = run_psxj("demo", "quiz", "--rundir", str(lab_dir), "--answers", str(answers))
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "Step 2 of 10: setsid()" in out and "Score: 10/10" in out


@pytest.mark.slow
def test_quiz_wrong_answers_say_what_was_missed(lab_dir):
    answers = "none\nSID=PID PGID=PID STAT=Ss\nPPID STAT=Ss\n" + "none\n" * 7
    result = run_psxj("demo", "quiz", "--rundir", str(lab_dir), input=answers.encode())  # from stdin
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "changed, not predicted: PPID" in out
    assert "changed, not predicted: TTY TPGID" in out
    assert "predicted, did not change: PPID" in out and "STAT: you said Ss, it is S" in out
    assert "Score: 7/10" in out


@pytest.mark.slow
def test_a_bad_line_in_the_answers_file_is_a_one_line_error(lab_dir, tmp_path):
    answers = tmp_path / "answers"
    answers.write_text("PPID\nSID=PID nonsense\n")
    result = run_psxj("demo", "quiz", "--rundir", str(lab_dir), "--answers", str(answers))
    assert result.returncode == 2 and result.stderr.count(b"\n") == 1
    assert b"quiz: 'nonsense' is not one of" in result.stderr


@pytest.mark.slow
def test_start_skip_prints_the_lesson_and_stops_everything(lab_dir):
    result = run_psxj("demo", "start", "--skip", "lock", "--rundir", str(lab_dir))
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "Two instances run: PIDs" in out and "FAIL    pidfile-lock" in out
    assert "the lab's processes now (sessions view):" in out and "The lab has stopped everything" in out
    # the lab_dir fixture checks that both instances are gone


@pytest.mark.parametrize("args, message", [
    (["demo", "stop", "--skip", "lock"], b"--skip goes with start"),
    (["demo", "start", "--skip", "nohup"], b"invalid choice"),
    (["demo", "jobs", "--answers", "x"], b"--answers goes with quiz"),
    (["demo", "quiz", "--answers", "/nonexistent/answers"], b"cannot read the answers file"),
])
def test_bad_lab_usage(args, message, tmp_path):
    result = run_psxj(*args, "--rundir", str(tmp_path / "run"))
    assert result.returncode in (1, 2) and result.stderr.count(b"\n") == 1 and message in result.stderr


# the interface -------------------------------------------------------------------------------------

async def _wait(pilot, condition, seconds: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the interface never got there"
        await pilot.pause(0.1)


def _text(widget) -> str:
    from rich.console import Console

    console = Console(width=300, record=True, file=open(os.devnull, "w"))
    console.print(widget.content)
    return console.export_text()


async def _opened_quiz(app, pilot):
    """The quiz, chosen from the lab's menu, once its first question is asked."""
    from psxj.tui.quiz_screen import QuizScreen

    await pilot.pause(0.3)
    await _choose(app, pilot, "quiz")
    await _wait(pilot, lambda: isinstance(app.screen, QuizScreen) and app.screen.question is not None)
    return app.screen


async def _choose(app, pilot, choice: str) -> None:
    from psxj.tui.demo_menu import DemoMenuScreen, choices

    await pilot.press("L")
    await _wait(pilot, lambda: isinstance(app.screen, DemoMenuScreen))
    index = [item for item, _ in choices()].index(choice)
    await pilot.press(*["down"] * index, "enter")


@pytest.mark.slow
@pytest.mark.parametrize("size", [(160, 48), (80, 24), (60, 20)])
async def test_the_interface_lab_shows_the_table_and_the_audit_side_by_side(lab_dir, size):
    from conftest import LiveReader

    from psxj.tui.app import PsxjApp
    from psxj.tui.lab_screen import LabScreen

    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(lab_dir))
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        await _choose(app, pilot, "skip:lock")
        await _wait(pilot, lambda: isinstance(app.screen, LabScreen) and app.screen.over)
        screen = app.screen
        lab = screen.lab
        first, second = lab.instances
        await _wait(pilot, lambda: {first, second} <= {r.record.pid for r in screen.query_one("#lab-table").rows
                                                        if r.record is not None})
        story = _text(screen.query_one("#lab-story-text"))
        assert f"Two instances run: PIDs {first} and {second}" in story
        audit = screen.query_one("#lab-audit")
        if size[0] >= 100:
            assert audit.display and "pidfile-lock" in _text(screen.query_one("#lab-audit-text"))
            assert audit.region.x > screen.query_one("#lab-table").region.x  # beside the table
        else:
            assert not audit.display and "FAIL    pidfile-lock" in story  # narrow: its verdicts in the story
        await pilot.press("escape")
        await _wait(pilot, lambda: not isinstance(app.screen, LabScreen))
        assert lab.closed
    all_gone(lab)


@pytest.mark.slow
async def test_the_interface_job_lab_and_the_normal_run_from_the_menu(lab_dir):
    from conftest import LiveReader

    from psxj.tui.app import PsxjApp
    from psxj.tui.lab_screen import LabScreen

    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(lab_dir), demo_step_delay=0)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        await _choose(app, pilot, "jobs")
        await _wait(pilot, lambda: isinstance(app.screen, LabScreen) and len(app.screen.beats) == 1)
        screen = app.screen
        for count in range(2, 7):
            await pilot.press("n")
            await _wait(pilot, lambda count=count: len(screen.beats) == count and not screen.busy)
        assert screen.over and "psxj types Ctrl-Z" in _text(screen.query_one("#lab-story-text"))
        lab = screen.lab
        await pilot.press("escape")
        await _wait(pilot, lambda: not isinstance(app.screen, LabScreen))
        all_gone(lab)
        # The menu's first entry is the demo d starts.
        await _choose(app, pilot, "normal")
        await _wait(pilot, lambda: app.demo_run is not None)
    assert DemoControl(str(lab_dir)).status() == 3  # quitting stopped it


@pytest.mark.slow
async def test_the_interface_quiz_keeps_the_score(lab_dir):
    from conftest import LiveReader

    from psxj.tui.app import PsxjApp

    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(lab_dir))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _opened_quiz(app, pilot)
        for number, answer in enumerate(["PPID", "SID=PID PGID=PID TTY=? TPGID=-1 STAT=Ss", "STAT=Ss"], 1):
            await pilot.press(*answer)
            await pilot.press("enter")
            await _wait(pilot, lambda number=number: screen.lab.asked == number and not screen.busy)
        assert screen.lab.score() == "Score: 2/3"
        assert "Score: 2/3" in _text(screen.query_one("#lab-title"))
        await pilot.press(*"bogus", "enter")
        await pilot.pause(0.3)
        assert screen.query_one("#quiz-error").display and screen.lab.asked == 3
        lab = screen.lab
    all_gone(lab)


async def test_a_rejected_quiz_answer_is_replaced_by_the_next_one_typed(lab_dir):
    """Issue 24, bug 8: after `foo bar` is refused, typing `STAT=S` gave `foo barSTAT=S`."""
    from conftest import LiveReader
    from textual.widgets import Input

    from psxj.tui.app import PsxjApp

    app = PsxjApp(reader=LiveReader(), delay=60, demo_rundir=str(lab_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _opened_quiz(app, pilot)
        answer = screen.query_one("#quiz-answer", Input)
        await pilot.press(*"foo bar", "enter")
        await _wait(pilot, lambda: screen.query_one("#quiz-error").display and not screen.busy)
        assert screen.lab.asked == 0 and app.focused is answer
        await pilot.press(*"PPID")
        assert answer.value == "PPID"
        await pilot.press("enter")
        await _wait(pilot, lambda: screen.lab.asked == 1 and not screen.busy)
        assert "> PPID" in _text(screen.query_one("#lab-story-text"))
        lab = screen.lab
    all_gone(lab)


async def test_a_loaded_table_offers_no_lab(tmp_path):
    from test_tui import tutorial

    from psxj.tui.app import PsxjApp
    from psxj.tui.demo_menu import DemoMenuScreen

    app = PsxjApp(snapshot=tutorial())
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("L")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, DemoMenuScreen)
        assert not app.key_is_offered("app.demo_menu")


@pytest.mark.slow
@pytest.mark.parametrize("choice_keys, rule", [(["down"] * 6, "lock"), (["down"] * 7, "jobs")])
def test_kill_9_of_the_interface_ends_its_lab(lab_dir, choice_keys, rule):
    """The lab's demos are tied to the interface, its terminals die with it: nothing outlives a kill -9."""
    import time

    from conftest import ROOT, PtySession

    from psxj.tui.demo_menu import choices

    assert [item for item, _ in choices()].index("skip:lock" if rule == "lock" else "jobs") == len(choice_keys)
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            f"from psxj.tui.run import run_app\n"
            f"sys.exit(run_app(demo_rundir={str(lab_dir)!r}))")
    session = PtySession([sys.executable, "-c", code])
    control = DemoControl(str(lab_dir / "lab"))
    try:
        assert session.wait_for(b"PPID", 30)
        session.type(b"L")
        assert session.wait_for(b"which run?", 15)
        keys = {"down": b"\x1b[B"}
        for key in choice_keys:
            session.type(keys[key])
            time.sleep(0.05)
        session.type(b"\r")
        deadline = time.monotonic() + 30
        started = []
        while time.monotonic() < deadline:
            if rule == "lock":
                started = [e for runs in control.all_runs().values() for e in runs if e["step"] == "signals"]
                if len(started) == 2:
                    break
            elif b"started bash in it" in session.output:
                started = [int(n) for n in os.listdir("/proc") if n.isdigit() and _comm(int(n)) == "bash"
                           and _sid_terminal(int(n), session)]
                if started:
                    break
            time.sleep(0.1)
        assert started, session.output[-2000:]
        pids = [e["pid"] for e in started] if rule == "lock" else started
        session.proc.kill()
        session.proc.wait(timeout=10)
        for _ in range(200):
            if all(gone_or_zombie(pid) for pid in pids):
                break
            time.sleep(0.05)
        assert all(gone_or_zombie(pid) for pid in pids)
    finally:
        session.close()


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _sid_terminal(pid: int, session) -> bool:
    """Is `pid` the leader of a session under the interface being tested (its child, a bash)?"""
    raw = stat_fields(pid)
    return raw is not None and int(raw[1]) == session.proc.pid and int(raw[3]) == pid
