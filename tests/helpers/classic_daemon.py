"""A daemon made the classic way, each step switchable, for the audit tests.

    classic_daemon.py REPORT_FD [--no-second-fork] [--cwd DIR] [--umask OCTAL] [--pidfile PATH]
                      [--keep-fd N] [--stdout FILE] [--devlog] [--no-signals]

Writes its final PID to REPORT_FD once it is set up, then sleeps until SIGTERM
(which it catches unless --no-signals) or 120 seconds pass.
"""

import argparse
import fcntl
import os
import signal
import socket
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("report_fd", type=int)
parser.add_argument("--no-second-fork", action="store_true")
parser.add_argument("--cwd", default="/")
parser.add_argument("--umask", default="0")
parser.add_argument("--pidfile")
parser.add_argument("--keep-fd", type=int, action="append", default=[])
parser.add_argument("--stdout")
parser.add_argument("--devlog", action="store_true")
parser.add_argument("--no-signals", action="store_true")
args = parser.parse_args()

if os.fork():
    os._exit(0)
os.setsid()
if not args.no_second_fork and os.fork():
    os._exit(0)
os.umask(int(args.umask, 8))
os.chdir(args.cwd)
keep = {args.report_fd, *args.keep_fd}
for fd in range(3, 1024):
    if fd not in keep:
        try:
            os.close(fd)
        except OSError:
            pass
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
if null > 2:
    os.close(null)
if args.stdout:
    out = os.open(args.stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.close(out)
held = []
if args.pidfile:
    lock = os.open(args.pidfile, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.ftruncate(lock, 0)
    os.write(lock, str(os.getpid()).encode())
    held.append(lock)
if args.devlog:
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.connect("/dev/log")
    held.append(log)
if not args.no_signals:
    signal.signal(signal.SIGHUP, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
os.write(args.report_fd, str(os.getpid()).encode())
os.close(args.report_fd)
time.sleep(120)
