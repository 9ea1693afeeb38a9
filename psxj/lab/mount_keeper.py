"""A private mount namespace with a tmpfs in it, for the lab's chdir("/") counterexample.

    python -m psxj.lab.mount_keeper MOUNTPOINT DEMO-ARGUMENTS...

Started by psxj.lab.counterexamples (through psxj.spawn), as root. It moves into a mount
namespace of its own, with private propagation (nothing it mounts is seen outside, nothing is
left behind when the namespace goes), mounts a small tmpfs on MOUNTPOINT (a directory of psxj's
run directory), makes a spool directory in it, and starts the demo daemon there with the given
arguments: the demo inherits both the namespace and that working directory. Then it answers
the lab, one JSON line for each line it reads on stdin:

    umount   try to unmount the tmpfs, with umount(8) where it exists (its own words:
             "target is busy"), else umount(2); {"status": N, "message": "..."}
    (end of input)  detach the tmpfs (MNT_DETACH) and exit

Unsharing and mounting need CAP_SYS_ADMIN; without it the first line says why, and it exits 1.
Standard library only: ctypes calls unshare(2), mount(2) and umount2(2).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import stat
import subprocess
import sys

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
MNT_DETACH = 0x2
_UMOUNT_PROGRAMS = ("/usr/bin/umount", "/bin/umount")
SPOOL = "spool"


def _libc():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
    libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
    libc.unshare.argtypes = (ctypes.c_int,)
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _say(**answer) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def enter_private_tmpfs(libc, mountpoint: str) -> None:
    """unshare(CLONE_NEWNS), every mount private, then a 1 MiB tmpfs on `mountpoint`."""
    st = os.lstat(mountpoint)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise OSError(0, f"{mountpoint} is not a directory of yours")
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(libc.mount(b"psxj-lab", os.fsencode(mountpoint), b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      b"size=1m,mode=0700"), f"mount -t tmpfs {mountpoint}")


def try_umount(libc, mountpoint: str) -> dict:
    """Unmount it, as a user would: umount(8)'s own message where it is installed."""
    for program in _UMOUNT_PROGRAMS:
        st = os.stat(program) if os.path.exists(program) else None
        if st is not None and st.st_uid == 0 and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            done = subprocess.run([program, mountpoint], capture_output=True, stdin=subprocess.DEVNULL,
                                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}, timeout=30)
            text = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
            return {"status": done.returncode, "message": text, "tool": program}
    result = libc.umount2(os.fsencode(mountpoint), 0)
    if result == 0:
        return {"status": 0, "message": "", "tool": "umount2"}
    errno = ctypes.get_errno()
    return {"status": 32, "message": f"umount2({mountpoint}): {os.strerror(errno)}", "tool": "umount2"}


def main(argv: list) -> int:
    if len(argv) < 2:
        print("usage: python -m psxj.lab.mount_keeper MOUNTPOINT DEMO-ARGUMENTS...", file=sys.stderr)
        return 2
    mountpoint, demo_arguments = argv[0], argv[1:]
    libc = _libc()
    try:
        enter_private_tmpfs(libc, mountpoint)
        spool = os.path.join(mountpoint, SPOOL)
        os.mkdir(spool, 0o700)
    except OSError as exc:
        _say(error=exc.strerror or str(exc))
        return 1
    from psxj.spawn import popen_module

    # The demo's working directory is the spool on the tmpfs: with chdir("/") skipped, it stays there.
    launcher = popen_module("psxj.demo.daemon", *demo_arguments, cwd=spool, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _say(ready=True, launcher=launcher.pid, spool=spool)
    launcher.wait()
    for line in sys.stdin:
        if line.strip() == "umount":
            _say(**try_umount(libc, mountpoint))
    libc.umount2(os.fsencode(mountpoint), MNT_DETACH)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
