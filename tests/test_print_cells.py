"""--print's shortcut: a row laid out from the process's files (ProcReader.cells) without a record.

`psxj --print` with no selector never makes a ProcessRecord: it reads each process's stat,
status and cmdline and lays the row out from their bytes. A selector, --json and the interface
make records. Both must print the same line, byte for byte: each test here reads a real
process's files once and gives the very same bytes to both. The shapes that are hard to make
for real (TIME past 999 minutes, a PID wider than its column, a status laid out otherwise) are
the real files with one field changed, said so where it is done. tests/test_ps_oracle.py holds
both against the real ps.
"""

from __future__ import annotations

import os
import pty
import signal
import time

import pytest
from conftest import linux_only, wait_for_zombie

from psxj.escape import Escaper
from psxj.render.psformat import Layout, columns
from psxj.sources.proc import ProcReader, pid_digits

pytestmark = linux_only

WIDTHS = (1 << 17, 200, 80, 40, 12)   # a pipe, terminals, and one narrower than the fixed columns


def both_rows(reader: ProcReader, pid: int, files, width: int):
    layout = Layout(columns(pid_digits()), width, reader.escaper)
    from_cells = layout.text_row(reader.cells(pid, *files))
    from_record = layout.row(reader.record(pid, *files)).encode("utf-8", "surrogateescape")
    return from_cells, from_record


def assert_same_rows(pid: int, files, note: str = "") -> None:
    for utf8 in (True, False):
        reader = ProcReader(Escaper(utf8))
        for width in WIDTHS:
            from_cells, from_record = both_rows(reader, pid, files, width)
            assert from_cells == from_record, (note, utf8, width)


def with_stat_field(files, index: int, value: bytes):
    """The same files with one stat field (counted after comm, state first) changed."""
    comm, fields, status, cmdline = files
    fields = list(fields)
    fields[index] = value
    return comm, fields, status, cmdline


def test_real_processes_of_every_shape(spawner):
    stopped = spawner.sleeper()
    os.kill(stopped.pid, signal.SIGSTOP)
    zombie = spawner.popen(["true"])
    wait_for_zombie(zombie.pid)
    shapes = {
        "plain": spawner.sleeper("plain", "arguments").pid,
        "stopped": stopped.pid,
        "zombie": zombie.pid,
        "niced": spawner.python("os.nice(5)\nREADY()\ntime.sleep(120)").pid,
        "threaded": spawner.python("import threading\nthreading.Thread(target=time.sleep, args=(120,), "
                                   "daemon=True).start()\nREADY()\ntime.sleep(120)").pid,
        "session leader": spawner.python("os.setsid()\nREADY()\ntime.sleep(120)").pid,
        "utf-8 arguments": spawner.sleeper("进程组", "naïve").pid,
        "control characters": spawner.sleeper("a\x1b[31mred", "tab\there", "bell\x07").pid,
        "invalid utf-8": spawner.sleeper(os.fsdecode(b"\xff\xfe"), os.fsdecode(b"ok\xc3")).pid,
        "newline and spaces": spawner.sleeper("two\nlines", "trailing ").pid,
        "hostile name": spawner.sleeper(comm=b"a) b (c\x1b").pid,
        "long arguments": spawner.sleeper("w" * 5000).pid,
        "kernel thread": 2,
        "init": 1,
    }
    reader = ProcReader()
    for note, pid in shapes.items():
        files = reader.files(pid)
        assert files is not None, note
        assert_same_rows(pid, files, note)


def test_arguments_rewritten_without_nuls(spawner):
    """A process that writes over its argv (as setproctitle does) leaves no NUL at the end: the
    cells take the escaper's way then."""
    proc = spawner.python(
        "import ctypes\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.prctl(15, b'worker\\0')\n"   # PR_SET_NAME: a new comm as well
        "READY()\ntime.sleep(120)")
    reader = ProcReader()
    comm, fields, status, cmdline = reader.files(proc.pid)
    for rewritten in (b"worker: idle", b"worker: idle ", b"worker\nidle\n", b"", b"\0\0\0", b"x\0\0 \0"):
        assert_same_rows(proc.pid, (comm, fields, status, rewritten), repr(rewritten))
        zombie_fields = list(fields)
        zombie_fields[0] = b"Z"
        assert_same_rows(proc.pid, (comm, zombie_fields, status, rewritten), "zombie " + repr(rewritten))


def test_a_process_on_a_terminal_in_its_foreground_group():
    pid, master = pty.fork()
    if pid == 0:
        os.execvp("sleep", ["sleep", "120"])
    try:
        reader = ProcReader()
        files = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until it runs sleep, on its terminal, not the forked Python
            files = reader.files(pid)
            if files is not None and files[0] == b"sleep":
                break
            time.sleep(0.01)
        assert files is not None and files[1][4] != b"0"   # tty_nr: it has a terminal
        assert_same_rows(pid, files, "terminal")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(master)


@pytest.mark.parametrize("index, value, note", [
    (11, b"6000001", "TIME past 999 minutes: wider than its column"),
    (1, b"12345678", "a PPID wider than its column"),
    (3, b"4194303", "a session of seven digits"),
    (5, b"-1", "no terminal"),
    (16, b"-20", "the highest priority"),
    (16, b"19", "the lowest"),
    (17, b"0", "no threads (a zombie's count)"),
    (17, b"64", "many threads"),
    (0, b"D", "uninterruptible"),
    (0, b"I", "idle kernel thread state"),
])
def test_fields_changed_one_at_a_time(spawner, index, value, note):
    """Real files with one stat field changed: shapes no test process can be made to take."""
    proc = spawner.sleeper("changed")
    reader = ProcReader()
    files = reader.files(proc.pid)
    assert_same_rows(proc.pid, with_stat_field(files, index, value), note)


def test_the_session_leader_and_the_foreground_group_marks(spawner):
    proc = spawner.sleeper("marks")
    reader = ProcReader()
    files = reader.files(proc.pid)
    pid = str(proc.pid).encode()
    assert_same_rows(proc.pid, with_stat_field(files, 3, pid), "its own session: s")
    pgid = files[1][2]
    assert_same_rows(proc.pid, with_stat_field(files, 5, pgid), "its group in the foreground: +")


def test_status_with_locked_memory_and_other_users(spawner):
    """status with VmLck set, and with real and effective users that differ (as after a setuid
    program), written into a real process's status: UID is the effective one."""
    proc = spawner.sleeper("status")
    reader = ProcReader()
    comm, fields, status, cmdline = reader.files(proc.pid)
    start = status.index(b"\nUid:")
    end = status.index(b"\n", status.index(b"\nGid:") + 1)
    setuid = status[:start] + b"\nUid:\t1000\t0\t0\t0\nGid:\t1000\t4\t4\t4" + status[end:]
    locked_at = status.index(b"\nVmLck:")
    locked_end = status.index(b"\n", locked_at + 1)
    for kb in (b"       4", b"123456789"):
        locked = status[:locked_at] + b"\nVmLck:\t" + kb + b" kB" + status[locked_end:]
        assert_same_rows(proc.pid, (comm, fields, locked, cmdline), "locked " + kb.decode())
    assert_same_rows(proc.pid, (comm, fields, setuid, cmdline), "setuid")
    row, _ = both_rows(reader, proc.pid, (comm, fields, setuid, cmdline), 1 << 17)
    assert row.split()[7] == b"0"
    without_vm = status[:locked_at] + status[locked_end:]
    assert_same_rows(proc.pid, (comm, fields, without_vm, cmdline), "no VmLck line")
    assert_same_rows(proc.pid, (comm, fields, b"Name:\tx\n", cmdline), "no Uid line")
