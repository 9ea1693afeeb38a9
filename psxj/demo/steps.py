"""The demo's steps: what each does, the tutorial's words for it, and which ps columns it changes.

Shared by the daemon (which logs them), the interface's narration, and the tests that
check the narration against what /proc really showed.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from psxj.i18n import N_


class Step(NamedTuple):
    title: str          # in English (N_): shown with _(), logged by the daemon as it is
    quote: str          # the tutorial's rule, in its own words (Chinese): never translated
    explanation: str    # what to look for in the table (N_, shown with _())
    changes: Tuple[str, ...] = ()   # columns this step is expected to change


STEPS: Dict[str, Step] = {
    "start": Step(N_("the program starts"), "守护进程常常在系统引导时启动",
                  N_("A child of whoever started it: same session, same terminal, in its foreground group (+).")),
    "fork": Step(N_("fork(), the parent exits"), "执行 fork()，之后父进程退出，子进程继续执行。（守护进程变为 init 的子进程）",
                 N_("A new PID; its parent exited, so init (or a subreaper) adopted it: PPID changes. "
                 "It is no longer a group leader, so setsid() can work."), ("PID", "PPID")),
    "setsid": Step(N_("setsid()"), "子进程调用 setsid() 开启一个新会话，并且释放和控制终端的所有联系。",
                   N_("A new session and process group, led by this process: SID and PGID become its PID, "
                   "TTY becomes ?, TPGID -1, and STAT gains s (session leader) and loses + ."),
                   ("PGID", "SID", "TTY", "TPGID", "STAT")),
    "second-fork": Step(N_("fork() again, the session leader exits"),
                        "在调用 setsid() 之后执行第二次 fork()，让父进程退出子进程继续执行。这样可以确保子进程不是会话首进程",
                        N_("A new PID again, not the session leader: SID stays, STAT loses s. By the System V rules "
                        "it can never acquire a controlling terminal."), ("PID", "PPID", "STAT")),
    "umask": Step(N_("umask(0)"), "清除进程的 umask （通常置为 0）以确保当守护进程创建文件和目录时拥有需要的权限。",
                  N_("Invisible in ps: psxj audit shows Umask 0000.")),
    "chdir": Step(N_("chdir(\"/\")"), "修改进程的当前工作目录，通常设为根目录 /。",
                  N_("Invisible in ps: the detail view's cwd becomes /.")),
    "close": Step(N_("close inherited descriptors"), "关闭从父进程继承来的所有打开的文件描述符。",
                  N_("Invisible in ps: the descriptor count drops; nothing ties it to its starter any more.")),
    "devnull": Step(N_("0, 1, 2 on /dev/null"), "打开 /dev/null，调用 dup2() 将这些文件描述符指向这个设备。",
                    N_("Invisible in ps: stdio points at /dev/null.")),
    "running": Step(N_("running(): the pidfile lock"), "在该文件上加上一把写锁，之后企图再次启动该守护进程新的副本实例时都会失败。",
                    N_("It holds a write lock on psxj-demo.pid: a second instance will be refused.")),
    "refused": Step(N_("a second instance is refused"), "企图再次启动该守护进程新的副本实例时都会失败",
                    N_("Another instance holds the pidfile lock: this one exits.")),
    "syslog": Step(N_("syslog"), "从 4.2 BSD 开始，提供一个称为 syslog 的工具用来简化消息记录。",
                   N_("It logs through syslog (where /dev/log exists) and to psxj-demo.log.")),
    "signals": Step(N_("SIGHUP and SIGTERM handled"), "sigaction SIGHUP SIGTERM",
                    N_("SIGHUP logs a reload; SIGTERM removes the pidfile and exits. The daemon now runs.")),
    # Two things a daemon may do later, asked for by the teaching lab (psxj.lab), never by a plain run.
    "shared-file": Step(N_("it creates a file for its group (mode 0660)"),
                        "以确保当守护进程创建文件和目录时拥有需要的权限",
                        N_("The mode it asked for, and the mode the file really got (the umask takes bits away).")),
    "terminal": Step(N_("it opens a terminal, without O_NOCTTY"),
                     "如果守护进程可能会打开一个终端设备，那么必须确保这个设备不会成为控制终端。",
                     N_("A session leader without a terminal acquires the first terminal it opens (System V rule): "
                     "TTY and TPGID change. A process that is not a session leader never does."),
                     ("TTY", "TPGID", "STAT")),
}

# The rules the lab can leave out (`psxj demo start --skip RULE`), and the recorded steps each leaves out.
# "close" is the tutorial's daemon(nochdir, noclose=1): neither the closing nor /dev/null.
SKIPPABLE: Dict[str, Tuple[str, ...]] = {
    "setsid": ("setsid",),
    "second-fork": ("second-fork",),
    "umask": ("umask",),
    "chdir": ("chdir",),
    "close": ("close", "devnull"),
    "lock": ("running",),
}

COLUMNS = ("PID", "PPID", "PGID", "SID", "TTY", "TPGID", "STAT")


def changes(before: Optional[dict], after: dict) -> List[str]:
    """`SID 1435 -> 9120` for each column that differs between two recorded rows."""
    if not before:
        return []
    return [f"{column} {before.get(column)} -> {after.get(column)}" for column in COLUMNS
            if before.get(column) != after.get(column)]


# The order a run takes: running() ends a second instance with "refused" instead of going on.
RUN_ORDER = ("start", "fork", "setsid", "second-fork", "umask", "chdir", "close", "devnull", "running",
             "syslog", "signals")


def run_length(entries: List[dict]) -> int:
    """How many steps this run will have: all of them, or up to its refusal."""
    if any(entry.get("step") == "refused" for entry in entries):
        return RUN_ORDER.index("running") + 1
    return len(RUN_ORDER)


def step_window(entries: List[dict], index: int) -> Tuple[float, float]:
    """(after, until]: when step `index` did what it tells. Each step acts, then reports (the report's
    time is after its action), so its kernel events fall after the report of the step before and up to
    its own; the windows do not overlap, and each event is told under one step. The first step's
    window takes in the second before it: the launch."""
    until = entries[index]["time"]
    return (entries[index - 1]["time"] if index > 0 else until - 1.0), until


def log_pid(line: str) -> Optional[int]:
    """The PID in a demo log line: `... psxj-demo[1234]: ...`."""
    start = line.find("psxj-demo[")
    end = line.find("]", start)
    digits = line[start + 10:end] if start >= 0 and end > start else ""
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 12 else None


def log_until(lines: List[str], entries: List[dict], upto: int) -> List[str]:
    """The run's log lines as they stood when step `upto` was reported: cut before the first line of a
    later step (a played-back run is long over; its log already has every step)."""
    later = {(entry.get("pid"), f"step {entry.get('step')}:") for entry in entries[upto + 1:]}
    for index, line in enumerate(lines):
        message = line.split("]: ", 1)[1] if "]: " in line else ""
        if any(pid == log_pid(line) and message.startswith(word) for pid, word in later):
            return lines[:index]
    return lines


def narrate(entries: List[dict]) -> List[Tuple[str, Step, List[str]]]:
    """(step id, step, column changes) for each recorded step, each compared with the step before."""
    told = []
    previous: Optional[dict] = None
    for entry in entries:
        step = STEPS.get(entry.get("step", ""))
        if step is None:
            continue
        row = entry.get("row")
        told.append((entry["step"], step, changes(previous, row) if isinstance(row, dict) else []))
        if isinstance(row, dict):
            previous = row
    return told
