"""Run a program as the controlling process of the terminal on its standard input.

    python -m psxj.lab.session_leader PROGRAM [ARGS...]

Started by psxj.lab.terminal (through psxj.spawn, so nothing is imported from the caller's
directory) as the leader of a new session, its stdin, stdout and stderr on a pseudo-terminal psxj
made. It makes that terminal its controlling terminal (TIOCSCTTY, what login and sshd do), puts
the job-control and terminal signals back to their default actions (a psxj run under nohup would
otherwise pass SIGHUP on ignored, and the lab is about what SIGHUP does), and becomes PROGRAM.
PROGRAM is an absolute path psxj checked (psxj.lab.terminal.trusted_program).
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import termios

_TERMINAL_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGPIPE", "SIGCONT")


def main(argv: list) -> int:
    if not argv or not argv[0].startswith("/"):
        print("psxj.lab.session_leader: expected an absolute PROGRAM path", file=sys.stderr)
        return 2
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    for name in _TERMINAL_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    os.execv(argv[0], argv)
    return 127  # not reached: execv replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
