"""What a hostile host's `python3` answers psxj's fleet reader: run by a real sshd (tests/sshlab.py)
in place of python3 (a PATH where `python3` is this file's wrapper), so that psxj meets the attack
through its real ssh client and a real SSH session.

    python3 hostile_host.py MODE

Modes (the shapes of issue 21):
    error-then-flood   an error where psxj's hello should be, then output for ever (a full pipe nobody reads)
    endless-length     psxj's hello, then a length line that never ends
    big-answer         psxj's hello, then a valid answer of almost 64 MiB: 400,000 tiny rows
    trickle            psxj's hello, then one byte a second for ever
"""

import json
import sys
import time

HELLO = b"PSXJ-FLEET 1\n"
FIELDS = ("pid ppid pgid sid tty tpgid stat euid cpu_seconds command comm state kernel_thread argv tty_nr flags "
          "nice threads ruid rgid egid start_ticks start_time namespace_init user cgroup cpu_ticks rss_kb "
          "session_key nspid").split()


def big_answer() -> bytes:
    base = dict(pid=1, ppid=0, pgid=1, sid=1, tty="?", tpgid=None, stat="Ss", euid=0, cpu_seconds=0, command="x\0",
                comm="x", state="S", kernel_thread=False, argv=None, tty_nr=0, flags=0, nice=0, threads=1, ruid=0,
                rgid=0, egid=0, start_ticks=1, start_time=1.7e9, namespace_init=False, user=None, cgroup="/",
                cpu_ticks=0, rss_kb=0, session_key=None, nspid=None)
    row = json.dumps([base[f] for f in FIELDS], separators=(",", ":"))
    count = (64 * 1024 * 1024 - 4096) // (len(row) + 8)
    rows = ",".join(row.replace("[1,", f"[{pid},", 1) for pid in range(1, count + 1))
    return ('{"pid_width":7,"time":%r,"boot":1,"hertz":100,"rows":[%s]}' % (time.time(), rows)).encode()


def main() -> None:
    mode = sys.argv[1]
    out = sys.stdout.buffer
    if mode == "error-then-flood":  # an error where psxj's hello should be, then output for ever
        out.write(b"Traceback (most recent call last): boom\n")
        out.flush()
        while True:
            out.write(b"A" * 65536)
            out.flush()
    out.write(HELLO)
    out.flush()
    sys.stdin.buffer.readline()  # psxj's program and its first request: read a little, then misbehave
    if mode == "endless-length":
        while True:
            out.write(b"9" * 65536)
            out.flush()
    elif mode == "big-answer":
        data = big_answer()
        while True:
            out.write(b"%d\n" % len(data) + data)
            out.flush()
            if not sys.stdin.buffer.readline():
                return
    elif mode == "trickle":
        while True:
            out.write(b"1")
            out.flush()
            time.sleep(1)


if __name__ == "__main__":
    main()
