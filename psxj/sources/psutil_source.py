"""The live source where there is no Linux /proc (macOS, the BSDs): psutil plus os.getpgid/getsid.

What psutil cannot tell is left unknown rather than guessed: the terminal's foreground
group (TPGID, shown as `-`, so STAT never has `+`), the `L` flag, and kernel threads.
"""

from __future__ import annotations

import os
from typing import Optional

import psutil

from psxj.escape import Escaper
from psxj.model import ProcessRecord, Snapshot

_STATE_LETTERS = {
    psutil.STATUS_RUNNING: "R", psutil.STATUS_SLEEPING: "S", psutil.STATUS_DISK_SLEEP: "D",
    psutil.STATUS_STOPPED: "T", psutil.STATUS_TRACING_STOP: "t", psutil.STATUS_ZOMBIE: "Z",
    psutil.STATUS_DEAD: "X", psutil.STATUS_IDLE: "I", psutil.STATUS_WAITING: "W",
}
_ATTRS = ["pid", "ppid", "name", "cmdline", "status", "terminal", "uids", "gids", "nice",
          "num_threads", "cpu_times", "create_time", "memory_info"]


def read_snapshot(escaper: Optional[Escaper] = None) -> Snapshot:
    escaper = escaper or Escaper.for_environment()
    records = []
    for process in psutil.process_iter(_ATTRS):
        info = process.info
        pid = info["pid"]
        try:
            pgid, sid = os.getpgid(pid), os.getsid(pid)
        except OSError:  # gone, or not ours to ask about
            continue
        state = _STATE_LETTERS.get(info["status"], "?")
        nice = info["nice"] or 0
        threads = info["num_threads"] or 1
        stat = "".join((state, "<" if nice < 0 else "N" if nice > 0 else "", "s" if sid == pid else "",
                        "l" if threads > 1 else ""))
        name = (info["name"] or "").encode("utf-8", "surrogateescape")
        argv = info["cmdline"] or []
        raw_args = b"".join(a.encode("utf-8", "surrogateescape") + b"\0" for a in argv)
        terminal = info["terminal"]
        uids, gids, times = info["uids"], info["gids"], info["cpu_times"]
        records.append(ProcessRecord(
            pid=pid, ppid=info["ppid"] or 0, pgid=pgid, sid=sid,
            tty=terminal[5:] if terminal and terminal.startswith("/dev/") else terminal or "?",
            tpgid=None, stat=stat, euid=uids.effective if uids else -1,
            cpu_seconds=int(times.user + times.system) if times else 0,
            command=escaper.command(raw_args, name, state), comm=escaper.text(name), state=state,
            kernel_thread=False, argv=tuple(argv), nice=nice, threads=threads,
            ruid=uids.real if uids else None, rgid=gids.real if gids else None,
            egid=gids.effective if gids else None, start_time=info["create_time"],
            namespace_init=pid == 1,
            cpu_ticks=int((times.user + times.system) * 100) if times else None,
            rss_kb=info["memory_info"].rss // 1024 if info["memory_info"] else None,
        ))
    return Snapshot(records, source="live")
