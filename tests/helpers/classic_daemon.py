"""A daemon made the classic way, each step switchable, for the audit and kind tests.

    classic_daemon.py REPORT_FD [--no-second-fork] [--cwd DIR] [--umask OCTAL] [--pidfile PATH]
                      [--flock-before-fork PATH] [--keep-fd N] [--stdout FILE] [--devlog]
                      [--syslog-per-message] [--chroot DIR] [--no-signals | --sigtimedwait | --signalfd]

Writes its final PID to REPORT_FD once it is set up, then waits until SIGTERM (caught, taken by
sigtimedwait() or read from a signalfd, unless --no-signals) or 120 seconds pass.
"""

import argparse
import ctypes
import fcntl
import os
import signal
import socket
import struct
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("report_fd", type=int)
parser.add_argument("--no-second-fork", action="store_true")
parser.add_argument("--cwd", default="/")
parser.add_argument("--umask", default="0")
parser.add_argument("--pidfile")
parser.add_argument("--flock-before-fork", help="take a flock on this file before the last fork, as cron does")
parser.add_argument("--keep-fd", type=int, action="append", default=[])
parser.add_argument("--stdout")
parser.add_argument("--devlog", action="store_true")
parser.add_argument("--syslog-per-message", action="store_true", help="open /dev/log for each message, as sshd does")
parser.add_argument("--chroot", help="chroot() here, then chdir('/'), as haproxy does")
parser.add_argument("--no-signals", action="store_true")
parser.add_argument("--sigtimedwait", action="store_true", help="block HUP and TERM and wait for them, as tini does")
parser.add_argument("--signalfd", action="store_true", help="block HUP and TERM and read them from a signalfd")
args = parser.parse_args()

held = []
if os.fork():
    os._exit(0)
os.setsid()
if args.flock_before_fork:
    lock = os.open(args.flock_before_fork, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    held.append(lock)
if not args.no_second_fork and os.fork():
    os._exit(0)
os.umask(int(args.umask, 8))
os.chdir(args.cwd)
keep = {args.report_fd, *args.keep_fd, *held}
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
if args.syslog_per_message:
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.connect("/dev/log")
    log.send(b"<30>classic_daemon: started")
    log.close()  # connected only while a message is sent
if args.chroot:
    os.chroot(args.chroot)
    os.chdir("/")
wanted = {signal.SIGHUP, signal.SIGTERM}
signal_fd = None
if args.sigtimedwait or args.signalfd:
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
if args.signalfd:
    libc = ctypes.CDLL(None, use_errno=True)
    mask = ctypes.create_string_buffer(128)  # sigset_t
    bits = sum(1 << (s - 1) for s in wanted)
    struct.pack_into("=Q", mask, 0, bits)
    signal_fd = libc.signalfd(-1, mask, os.O_CLOEXEC)  # SFD_CLOEXEC is O_CLOEXEC
    if signal_fd < 0:
        sys.exit(f"signalfd: errno {ctypes.get_errno()}")
elif not args.no_signals and not args.sigtimedwait:
    signal.signal(signal.SIGHUP, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
os.write(args.report_fd, str(os.getpid()).encode())
os.close(args.report_fd)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    if args.sigtimedwait:
        info = signal.sigtimedwait(wanted, max(deadline - time.monotonic(), 0.01))
        if info is not None and info.si_signo == signal.SIGTERM:
            sys.exit(0)
    elif signal_fd is not None:
        data = os.read(signal_fd, 128)  # blocks until HUP or TERM
        if struct.unpack_from("=I", data)[0] == signal.SIGTERM:
            sys.exit(0)
    else:
        time.sleep(1)
