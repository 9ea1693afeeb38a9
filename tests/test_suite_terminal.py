"""The suite's results do not depend on how it was started: tests that observe the processes they
spawn pass the same when pytest is typed into a terminal (its controlling terminal, in its
foreground group) as under CI's `setsid ... </dev/null`.

A real pseudo-terminal stands in for the user's terminal: pytest is started as its session leader,
in its foreground group, with the terminal on stdin, stdout and stderr, as a shell starts a job."""

from __future__ import annotations

import os
import pty
import signal
import sys
import time
from xml.etree import ElementTree

import pytest
from conftest import ROOT, clean_env, linux_only

IN_PTY = "PSXJ_TEST_IN_PTY"

# Tests that failed in a terminal before their processes got a session of their own: ps printed
# `T+` and `S<L+`, and the audit found pytest's terminal.
OBSERVING_TESTS = [
    "tests/test_ps_oracle.py::test_stopped_zombie_and_niced_processes",
    "tests/test_ps_oracle.py::test_locked_memory_and_high_priority",
    "tests/test_audit.py::test_unreadable_facts_are_unknown_not_guessed",
    "tests/test_kinds.py",
]


@pytest.mark.skipif(os.environ.get(IN_PTY) != "1", reason="runs only inside the terminal test below")
def test_this_run_is_in_the_foreground_of_a_terminal():
    """The probe that makes the run below mean something: pytest really has a controlling terminal
    and is its foreground group, as when typed into one."""
    # pytest's capture has put /dev/null and files on fds 0-2; the controlling terminal is /dev/tty.
    fd = os.open("/dev/tty", os.O_RDONLY)  # only a process with a controlling terminal can open it
    try:
        assert os.isatty(fd)
        assert os.tcgetpgrp(fd) == os.getpgrp()
    finally:
        os.close(fd)


def _run_in_terminal(argv, timeout: float) -> tuple:
    """Run argv as a terminal's foreground job; its exit status and everything it wrote."""
    pid, master = pty.fork()
    if pid == 0:  # the child: session leader of the new terminal, in its foreground group
        try:
            os.chdir(ROOT)
            os.execvpe(argv[0], argv, clean_env(**{IN_PTY: "1", "TERM": "xterm-256color"}))
        finally:
            os._exit(127)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                data = os.read(master, 65536)
            except OSError:   # EIO: the terminal's last user closed it
                break
            if not data:
                break
            output += data
        finished, status = os.waitpid(pid, os.WNOHANG)
        while not finished and time.monotonic() < deadline:   # the terminal closed; pytest is exiting
            time.sleep(0.05)
            finished, status = os.waitpid(pid, os.WNOHANG)
        if not finished:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            raise AssertionError("pytest in a terminal did not finish:\n" + output.decode(errors="replace"))
        return os.waitstatus_to_exitcode(status), output.decode(errors="replace")
    finally:
        os.close(master)


@pytest.mark.slow
@linux_only
def test_observing_tests_pass_in_a_terminal_as_they_do_headless(tmp_path):
    report = tmp_path / "report.xml"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
            f"{__file__}::test_this_run_is_in_the_foreground_of_a_terminal", *OBSERVING_TESTS]
    status, output = _run_in_terminal(argv, timeout=300)
    assert status == 0, output[-4000:]
    cases = {case.get("name"): case for case in ElementTree.parse(report).getroot().iter("testcase")}
    # The probe ran and passed: the run really was a terminal's foreground job.
    probe = cases["test_this_run_is_in_the_foreground_of_a_terminal"]
    assert not list(probe), "the terminal probe was skipped or failed"
    assert not list(cases["test_stopped_zombie_and_niced_processes"]), "it did not pass in a terminal"
    assert "test_unreadable_facts_are_unknown_not_guessed" in cases
    assert len(cases) > 10   # test_kinds.py ran whole
    failed = [name for name, case in cases.items()
              if case.find("failure") is not None or case.find("error") is not None]
    assert not failed, output[-4000:]
