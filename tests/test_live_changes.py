"""The live view's reader keeps what did not change: it must still show every change, on real processes.

psxj.sources.incremental reads a process whole only when its stat line changed, the kernel
reported an exec, a new user, group, name or session for it, or it is its turn; LiveTable keeps
each unchanged record as the same object, and the kinds of such records are carried over. Each
test here changes a real process between two tables and checks that the second table shows it
exactly as a fresh read of /proc does, and that a reused PID is a new process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from conftest import NOBODY, asleep, linux_only, pid_reused_by, root_only, stat_fields, until

from psxj.judge.kinds import kind_of
from psxj.sources.incremental import ChangeReader, Changes, IncrementalReader, LiveTable, _ChangeEvents
from psxj.sources.proc import ProcReader

pytestmark = linux_only

# A process that does what it is told on its stdin, then sleeps again: rename, exec, setuid, busy.
_OBEDIENT = r"""
import os, sys
_SLEEP_AGAIN = "import time; print('done', flush=True); time.sleep(120)"
READY()
for line in sys.stdin:
    what = line.split()
    if what[0] == "rename":
        with open("/proc/self/comm", "w") as f:
            f.write(what[1])
    elif what[0] == "setuid":
        os.setresgid(int(what[1]), int(what[1]), int(what[1]))
        os.setresuid(int(what[1]), int(what[1]), int(what[1]))
    elif what[0] == "exec":
        os.execv(sys.executable, [sys.executable, "-c", _SLEEP_AGAIN, *what[1:]])
    elif what[0] == "terminal":  # a session of its own, with a new pseudo-terminal as its terminal
        import fcntl, termios
        os.setsid()
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    print("done", flush=True)
"""


def obedient(spawner):
    return spawner.python(_OBEDIENT, "first", "arguments", stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def tell(proc, line: str, answer: bool = True) -> None:
    proc.stdin.write(line.encode() + b"\n")
    proc.stdin.flush()
    if answer:
        assert proc.stdout.readline() == b"done\n"


def cpu_ticks(pid: int) -> int:
    """utime + stime from /proc/PID/stat, read here rather than by psxj."""
    fields = stat_fields(pid)
    return int(fields[11]) + int(fields[12])


def settled(pid: int) -> None:
    """Until the process sleeps and its whole stat line holds still for 0.1 s: a process just past
    its start-up may still be charged a tick of CPU time or a page fault, which changes the line."""
    def still() -> bool:
        before = stat_fields(pid)
        time.sleep(0.1)
        return before[0] == b"S" and stat_fields(pid) == before

    until(still)


@pytest.fixture(params=["kept open", "opened each time", "no events"])
def reader(request):
    """The live table as the interface's helper reads it; turns so rare that only a change shows.
    Opened each time: past the descriptor limit, a stat is opened anew and its start time checked.
    No events: the stat line alone must tell (as where the kernel sends none: a container)."""
    reader = IncrementalReader(refresh_every=10 ** 6, events=request.param != "no events")
    if request.param == "opened each time":
        reader.open_limit = 0
    yield reader
    reader.close()


def fresh(pid: int):
    return ProcReader().read_process(pid)


def test_an_idle_process_is_the_same_object_and_the_same_row(spawner, reader):
    idle = spawner.sleeper("idle")
    settled(idle.pid)  # past its start-up: a process still running (R) has not yet become idle
    first = reader.read()
    second = reader.read()
    assert second.get(idle.pid) is first.get(idle.pid)  # not read again, not made again
    assert second.get(idle.pid) == fresh(idle.pid)
    assert idle.pid not in {r.pid for r in second.changed}


def test_a_renamed_process_is_shown_renamed(spawner, reader):
    proc = obedient(spawner)
    before = reader.read().get(proc.pid)
    tell(proc, "rename renamed-now")
    asleep(proc.pid)
    after = reader.read().get(proc.pid)
    assert before.comm != "renamed-now" and after.comm == "renamed-now"
    assert after == fresh(proc.pid)


def test_new_arguments_after_an_exec_of_the_same_program(spawner, reader):
    """The same name (python) before and after: only the arguments say it is another program."""
    proc = obedient(spawner)
    before = reader.read().get(proc.pid)
    tell(proc, "exec second run")  # the new program answers once it is up and about to sleep
    asleep(proc.pid)
    after = reader.read().get(proc.pid)
    assert before.argv[-2:] == ("first", "arguments") and after.argv[-2:] == ("second", "run")
    assert after.comm == before.comm and after.command.endswith("second run")
    assert after == fresh(proc.pid)


@root_only
def test_a_change_of_user_is_shown(spawner, reader):
    proc = obedient(spawner)
    before = reader.read().get(proc.pid)
    tell(proc, f"setuid {NOBODY}")
    asleep(proc.pid)
    after = reader.read().get(proc.pid)
    assert (before.euid, before.ruid) == (0, 0) and (after.euid, after.ruid, after.egid) == (NOBODY,) * 3
    assert after == fresh(proc.pid)


@root_only
def test_a_change_of_user_that_leaves_the_stat_line_alone_is_reported_by_the_kernel(spawner):
    """The kernel's events (exec, uid, gid, comm, sid) catch what a stat line need not show. A
    setuid can leave the line as it was (the flag it sets may be set already; a short run moves
    no clock tick): here the reader is made to remember the line as it is after the change, so
    that only the event can make it read the process again."""
    if not _ChangeEvents().available:
        pytest.skip("no process events here: the reader relies on stat lines and its turns")
    reader = IncrementalReader(refresh_every=10 ** 6)
    try:
        proc = obedient(spawner)
        assert reader.read().get(proc.pid).euid == 0
        tell(proc, f"setuid {NOBODY}")
        with open(f"/proc/{proc.pid}/stat", "rb") as f:
            reader.changes.known[proc.pid].stat = f.read()  # "unchanged", as far as the line goes
        assert reader.read().get(proc.pid).euid == NOBODY
    finally:
        reader.close()


def test_a_new_session_and_terminal_are_shown(spawner, reader):
    proc = obedient(spawner)
    before = reader.read().get(proc.pid)
    tell(proc, "terminal")
    asleep(proc.pid)
    after = reader.read().get(proc.pid)
    assert before.tty == "?" and after.tty.startswith("pts/") and after.sid == proc.pid
    assert "s" in after.stat and after.tpgid == proc.pid
    assert after == fresh(proc.pid)


def test_a_row_read_again_unchanged_stays_the_same_object(spawner):
    """Every process whole at every table (a turn each time): a row equal in every field to the one
    before is kept as that object, and is not among the changed; a row that differs in one field
    (a rename) is the new one, and is."""
    idle = spawner.sleeper("read again")
    proc = obedient(spawner)
    settled(idle.pid)
    reader = IncrementalReader(refresh_every=1, events=False)
    try:
        first = reader.read()
        tell(proc, "rename read-again")
        asleep(proc.pid)
        second = reader.read()
    finally:
        reader.close()
    assert second.get(idle.pid) is first.get(idle.pid)
    assert second.get(proc.pid).comm == "read-again" and second.get(proc.pid) == fresh(proc.pid)
    changed = {r.pid for r in second.changed}
    assert proc.pid in changed and idle.pid not in changed


def test_the_table_keeps_an_equal_row_and_takes_one_that_differs_in_any_field():
    """LiveTable on its own: a record sent again equal is not a change; a record differing in one
    field, whichever, is; so is a reused PID (another start time), which also arrives."""
    mine = fresh(os.getpid())
    table = LiveTable()
    table.apply(Changes(1.0, 5, [mine], [], True))
    for field, value in [("comm", "renamed"), ("argv", ("other",)), ("euid", 65534), ("tty", "pts/9"),
                         ("stat", "T"), ("cpu_ticks", (mine.cpu_ticks or 0) + 1), ("cgroup", "/x.service")]:
        equal = tuple.__new__(type(mine), tuple(mine))   # another object, every field equal
        kept = table.apply(Changes(2.0, 5, [equal], [], False))
        assert kept.get(mine.pid) is mine and not kept.changed and not kept.arrived
        differing = mine._replace(**{field: value})
        taken = table.apply(Changes(3.0, 5, [differing], [], False))
        assert taken.get(mine.pid) is differing and list(taken.changed) == [differing], field
        assert not taken.arrived
        table.apply(Changes(4.0, 5, [mine], [], False))  # back as it was, for the next field
    reused = mine._replace(start_ticks=mine.start_ticks + 1)
    again = table.apply(Changes(5.0, 5, [reused], [], False))
    assert again.get(mine.pid) is reused and reused.identity in again.arrived


def test_a_stopped_and_continued_process(spawner, reader):
    proc = spawner.sleeper("to stop")
    reader.read()
    proc.send_signal(signal.SIGSTOP)
    until(lambda: stat_fields(proc.pid)[0] == b"T")
    assert reader.read().get(proc.pid).state == "T"
    proc.send_signal(signal.SIGCONT)
    asleep(proc.pid)
    row = reader.read().get(proc.pid)
    assert row.state == "S" and row == fresh(proc.pid)


def test_an_exited_process_is_gone_and_a_new_one_arrives(spawner, reader):
    leaving = spawner.sleeper("leaving")
    first = reader.read()
    leaving.kill()
    leaving.wait()
    arriving = spawner.sleeper("arriving")
    asleep(arriving.pid)
    second = reader.read()
    assert first.get(leaving.pid) is not None and second.get(leaving.pid) is None
    assert second.get(arriving.pid) == fresh(arriving.pid)
    assert (arriving.pid, fresh(arriving.pid).start_ticks) in second.arrived
    assert all(identity[0] != leaving.pid for identity in second.arrived)


@root_only
def test_a_reused_pid_is_a_new_process(spawner, reader):
    old = spawner.sleeper("old")
    time.sleep(0.05)  # a start time in another clock tick than the newcomer's
    first = reader.read()
    pid, old_start = old.pid, first.get(old.pid).start_ticks
    old.kill()
    old.wait()
    new = pid_reused_by(pid, ["sleep", "100"], spawner)
    if new is None:
        pytest.skip("another process took the PID first every time")
    until(lambda: b"sleep" in open(f"/proc/{pid}/cmdline", "rb").read())
    asleep(pid)
    second = reader.read()
    row = second.get(pid)
    assert row.start_ticks != old_start and row.command == "sleep 100"
    assert row.identity in second.arrived  # the interface marks it new: another process, not a changed one
    assert row == fresh(pid)


def test_the_kind_is_judged_again_when_the_parent_goes(spawner, reader):
    """Kinds are carried over for unchanged rows: an adoption changes the row (its PPID), so the
    orphan is judged again and is no longer the job of a live parent."""
    shell = spawner.popen(["sh", "-c", "sleep 307 & echo $!; read line"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
    child = int(shell.stdout.readline())
    spawner.track(child)
    first = reader.read()
    assert kind_of(first, first.get(child)).name == "job"
    shell.stdin.close()
    shell.wait()
    until(lambda: stat_fields(child)[1] != str(shell.pid).encode())
    second = reader.read()
    assert second.get(child).ppid != shell.pid
    assert kind_of(second, second.get(child)).name == "orphan"


def test_turns_read_every_process_whole_in_the_end(spawner):
    """A change that neither the stat line nor an event shows (an argument rewritten in place by a
    process that then sleeps, without events) waits for the process's turn: here the reader's row
    is made wrong on purpose while its stat line is remembered as it is, and the turn corrects it."""
    proc = spawner.sleeper("turns")
    settled(proc.pid)  # a line still changing from start-up would be read whole before its turn
    reader = IncrementalReader(refresh_every=3, events=False)
    try:
        reader.read()  # table 0; tables 1, 2, 3 read the processes whose PID % 3 is 1, 2, 0 whole
        reader.table.records[proc.pid] = reader.table.records[proc.pid]._replace(command="stale")
        seen = [reader.read().get(proc.pid).command for _ in range(3)]
        turn = (proc.pid % 3 - 1) % 3
        assert seen[:turn] == ["stale"] * turn  # unchanged line, no event: kept as remembered
        assert seen[turn:] == [fresh(proc.pid).command] * (3 - turn)
    finally:
        reader.close()


def test_the_interfaces_helper_sends_only_changes_and_the_table_keeps_the_rest(spawner):
    """Through the helper process and its protocol: the second reply carries the renamed process
    and not an idle one, whose record stays the very same object."""
    from psxj.sources.reader import SnapshotReader

    idle = spawner.sleeper("idle helper test")
    proc = obedient(spawner)
    settled(idle.pid)
    snapshots = SnapshotReader()
    try:
        first = snapshots.read()
        tell(proc, "rename via-helper")
        asleep(proc.pid)
        second = snapshots.read()
    finally:
        snapshots.close()
    assert second.get(proc.pid).comm == "via-helper" and second.get(proc.pid) == fresh(proc.pid)
    assert second.get(idle.pid) is first.get(idle.pid)
    changed = {r.pid for r in second.changed}
    assert proc.pid in changed and idle.pid not in changed
    assert len(second) == len({r.pid for r in second.records})


def test_a_full_answer_replaces_the_table():
    """A helper that was started again answers with every process: nothing of the old table stays."""
    table = LiveTable()
    reader = ChangeReader(events=False)
    try:
        first = table.apply(reader.read())
        table.records[2 ** 30] = first.records[0]._replace(pid=2 ** 30)  # a row the new helper knows nothing of
        again = ChangeReader(events=False)
        try:
            second = table.apply(again.read())
        finally:
            again.close()
        mine = second.get(os.getpid())
        assert second.get(2 ** 30) is None and (mine.identity, mine.command) == (fresh(mine.pid).identity,
                                                                                   fresh(mine.pid).command)
    finally:
        reader.close()


def test_cpu_percent_of_a_refresh_measures_the_busy_and_gives_the_idle_zero(spawner, reader):
    from psxj.render.views import cpu_percent

    busy = spawner.python("READY()\nwhile True: pass")
    idle = spawner.sleeper("idle cpu")
    settled(idle.pid)
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    began = time.time()
    first = reader.read()
    since = cpu_ticks(busy.pid)
    until(lambda: cpu_ticks(busy.pid) - since >= 10)  # it ran at least 10 ticks between the reads
    used = cpu_ticks(busy.pid) - since
    second = reader.read()
    span = time.time() - began
    percent = cpu_percent(first, second, ticks_per_second)
    # Not a share assumed of a loaded machine: at least what the test itself saw it use, over a
    # span no longer than the test's own.
    assert percent.get(second.get(busy.pid).identity) >= 100.0 * used / ticks_per_second / span > 0
    assert percent.get(second.get(idle.pid).identity) == 0.0
    assert percent.get((2 ** 30, 1)) is None  # not in the table: unknown, not idle


def test_out_of_descriptors_every_process_is_still_read(spawner):
    """When something else in the process has used up the descriptors, processes the reader
    cannot keep a descriptor for are read by path, not left out of the table."""
    sleepers = [spawner.sleeper(f"fd pressure {n}") for n in range(5)]
    reader = ChangeReader(events=False)
    hogs = []
    try:
        reader.read()  # keeps a descriptor per process
        for sleeper in sleepers:  # these become new to the reader: each needs a descriptor
            reader._forget(sleeper.pid)
        try:
            while True:
                hogs.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass  # EMFILE: not one descriptor left in this process
        for hog in hogs[:2]:  # two: for listing /proc, and one kept before the rest run out
            os.close(hog)
        del hogs[:2]
        changes = reader.read()
        for hog in hogs[:8]:  # room to report a failure
            os.close(hog)
        del hogs[:8]
        read = {r.pid for r in changes.changed}
        assert {s.pid for s in sleepers} <= read
        assert any(reader.known[s.pid].fd == -1 for s in sleepers)  # read by path, not kept
    finally:
        for hog in hogs:
            os.close(hog)
        reader.close()
