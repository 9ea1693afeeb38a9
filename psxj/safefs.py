"""Files psxj writes or trusts: run directories checked before use, and files in them opened without
following symlinks; and files psxj only reads, which another user may have planted, opened so that
they can never block psxj or act on a device.

psxj runs as root on machines shared with other users. A directory another user made (or can
write to) lets that user plant symlinks, so that root's next open() truncates or appends to a file
of the attacker's choosing. Every file psxj keeps lives in a `RunDir`: a directory psxj created
itself, or one owned by the caller that nobody else may write to, reached through directories
that only root or the caller control. Files in it are opened relative to the directory's own
descriptor, with O_NOFOLLOW, and must be regular files the caller owns.

Files psxj only reads (--load, recordings and their segments, hosts files) may be anything another
user left there: a FIFO, whose open() waits for a writer that never comes, or a symlink to a device,
whose open() acts (a tape rewinds, a watchdog arms). `open_to_read` checks the type before it opens
(never a device), opens non-blocking, and checks that the descriptor is the file it checked.
Configuration that makes psxj run commands (ssh's) must be root's or the caller's: `trusted_file`.

This module is the one place such checks live; everything else calls it.
Part of the foundation: the sources, the demo, the lab, the interface's settings and the command line
all open files through it.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import List, Optional, Tuple

from psxj.errors import PsxjError
from psxj.i18n import _

_SYMLINK_HOPS = 40
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)


class UnsafePath(PsxjError):
    """A path psxj refuses to use: the message says what is wrong and how to fix it."""


def _trusted_owner(st: os.stat_result) -> bool:
    return st.st_uid in (0, os.geteuid())


def _writable_by_others(st: os.stat_result) -> bool:
    return bool(st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _check_ancestor(path: str, st: os.stat_result) -> None:
    """A directory on the way: root's or the caller's, and nobody else may replace what is in it
    (group/other write is allowed only with the sticky bit, as on /tmp)."""
    from psxj.escape import safe_text

    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(_("{path} is not a directory").format(path=safe_text(path)))
    if not _trusted_owner(st):
        raise UnsafePath(_("{path} belongs to uid {uid}, not to root or you: refusing to use it").format(
                             path=safe_text(path),
                             uid=st.st_uid))
    if _writable_by_others(st) and not st.st_mode & stat.S_ISVTX:
        raise UnsafePath(_("{path} is writable by other users (mode {mode:04o}): refusing to use it").format(
                             path=safe_text(path),
                             mode=stat.S_IMODE(st.st_mode)))


def trusted_real_path(path: str) -> str:
    """The real path of `path`'s parent directories, walked one component at a time with lstat.

    A symlink on the way is followed only when root or the caller owns it and it sits in a
    directory that passed the check; the last component is not followed at all (the caller
    lstats it). Raises UnsafePath for anything another user could have steered."""
    parts: List[str] = [p for p in os.path.abspath(path).split("/") if p]
    if not parts:
        return "/"
    last = parts.pop()
    current = "/"
    _check_ancestor(current, os.lstat(current))
    hops = 0
    while parts:
        name = parts.pop(0)
        candidate = os.path.join(current, name)
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            raise UnsafePath(_("{path} does not exist").format(path=_shown(candidate))) from None
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > _SYMLINK_HOPS or not _trusted_owner(st):
                raise UnsafePath(_("{path} is a symbolic link another user controls: refusing to follow it").format(
                                     path=_shown(candidate)))
            target = os.readlink(candidate)
            target_parts = [p for p in target.split("/") if p]
            if target.startswith("/"):
                current = "/"
            parts = target_parts + parts
            continue
        if name == "..":
            current = os.path.dirname(current) or "/"
            continue
        if name == ".":
            continue
        _check_ancestor(candidate, st)
        current = candidate
    return os.path.join(current, last)


def _shown(path: str) -> str:
    from psxj.escape import safe_text

    return safe_text(path)


class RunDir:
    """A directory psxj may keep files in, checked when opened; files opened relative to it."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def open(cls, path: str, create: bool = True, option: str = "--rundir") -> "RunDir":
        """Check `path` (creating it, mode 0700, when missing and `create`) and open it.

        Refuses a symlink, a non-directory, a directory owned by another user, one that group
        or others may write to, and one reached through directories another user controls.
        `option`: how the user names this directory, for the advice in the messages."""
        real = trusted_real_path(path)
        try:
            st = os.lstat(real)
        except FileNotFoundError:
            if not create:
                raise UnsafePath(_("{path} does not exist").format(path=_shown(real))) from None
            try:
                os.mkdir(real, 0o700)
            except FileExistsError:
                pass  # someone made it between our lstat and mkdir: it is checked below like any other
            except OSError as exc:
                raise UnsafePath(_("cannot create {path}: {strerror}").format(
                                     path=_shown(real),
                                     strerror=exc.strerror)) from None
            st = os.lstat(real)
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(_("{path} is a symbolic link: psxj keeps files only in a real directory").format(
                                 path=_shown(real)))
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePath(_("{path} is not a directory").format(path=_shown(real)))
        if st.st_uid != os.geteuid():
            raise UnsafePath(_("{path} belongs to uid {uid}, not to you (uid {own_uid}): another user may "
                               "have made it; remove it or choose another {option}").format(
                                 path=_shown(real),
                                 uid=st.st_uid,
                                 own_uid=os.geteuid(),
                                 option=option))
        if _writable_by_others(st):
            raise UnsafePath(_("{path} is writable by other users (mode {mode:04o}): chmod go-w it or choose "
                               "another {option}").format(path=_shown(real), mode=stat.S_IMODE(st.st_mode),
                                                          option=option))
        fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC)
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):  # swapped between check and open
            os.close(fd)
            raise UnsafePath(_("{path} changed while it was being checked").format(path=_shown(real)))
        return cls(real, fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def join(self, name: str) -> str:
        return os.path.join(self.path, name)

    def open_file(self, name: str, flags: int, mode: int = 0o600) -> int:
        """os.open of a file in this directory: never through a symlink, only a regular file the
        caller owns. O_CREAT|O_EXCL is the caller's to ask for where the file must be new."""
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(_("not a plain file name: {name!r}").format(name=name))
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0), mode,
                         dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePath(_("{path} is a symbolic link: refusing to open it").format(
                                     path=_shown(self.join(name)))) from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink > 1:
            os.close(fd)
            raise UnsafePath(_("{path} is not a regular file of yours with one link: refusing to use it").format(
                                 path=_shown(self.join(name))))
        os.set_blocking(fd, True)
        return fd

    def check_existing(self, name: str) -> None:
        """Refuse now, before anything is started, a file of this name that open_file would refuse."""
        st = self.stat(name)
        if st is None:
            return
        if stat.S_ISLNK(st.st_mode):
            raise UnsafePath(_("{path} is a symbolic link: refusing to open it").format(
                                 path=_shown(self.join(name))))
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink > 1:
            raise UnsafePath(_("{path} is not a regular file of yours with one link: refusing to use it").format(
                                 path=_shown(self.join(name))))

    def read_bytes(self, name: str, limit: int = 1 << 20) -> Optional[bytes]:
        """The file's first `limit` bytes, or None when it does not exist."""
        try:
            fd = self.open_file(name, os.O_RDONLY)
        except FileNotFoundError:
            return None
        return read_descriptor(fd, limit)[0]

    def append(self, name: str, data: bytes, mode: int = 0o644) -> None:
        fd = self.open_file(name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def write_atomic(self, name: str, data: bytes, mode: int = 0o600) -> None:
        """Replace `name` with `data` in one step: written to a new file (O_EXCL, never through a
        symlink), then renamed over the old one, so a reader never sees half of it."""
        temporary = f".{name}.{os.getpid()}.tmp"
        self.unlink(temporary)
        fd = self.open_file(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> bool:
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            return False
        return True

    def listdir(self) -> List[str]:
        return os.listdir(self.fd)

    def stat(self, name: str) -> Optional[os.stat_result]:
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None


# -- files psxj reads, which another user may have planted ---------------------------------------

def file_type(mode: int) -> str:
    """What a file is, in words, for the messages below."""
    for test, words in ((stat.S_ISDIR, _("a directory")), (stat.S_ISFIFO, _("a FIFO")),
                        (stat.S_ISCHR, _("a character device")), (stat.S_ISBLK, _("a block device")),
                        (stat.S_ISSOCK, _("a socket")), (stat.S_ISLNK, _("a symbolic link"))):
        if test(mode):
            return words
    return _("not a regular file")


def _readable_type(st: os.stat_result, pipes: bool) -> bool:
    if stat.S_ISREG(st.st_mode):
        return True
    # A pipe the user handed psxj (`--load <(ssh host ps -axj)`, /dev/stdin) is the caller's own; a FIFO
    # another user made is refused.
    return pipes and stat.S_ISFIFO(st.st_mode) and st.st_uid == os.geteuid()


def open_to_read(path: str, *, dir_fd: Optional[int] = None, follow: bool = True, pipes: bool = False) -> int:
    """A descriptor (blocking, close-on-exec) to read `path`, which another user may have planted.

    Only a regular file is opened, or with `pipes` a pipe or FIFO of the caller's own. Its type is
    checked before the open (a device is never opened) and the open is non-blocking (a FIFO swapped
    in meanwhile cannot hang it); then the descriptor must be the very file that was checked.
    `follow`: the path may end in a symlink (a path the user typed); a name found in a directory
    (dir_fd) is opened with follow=False. Raises UnsafePath for a wrong type, OSError otherwise."""
    st = os.stat(path, dir_fd=dir_fd, follow_symlinks=follow)
    if stat.S_ISLNK(st.st_mode) or not _readable_type(st, pipes):
        raise UnsafePath(_("{path} is {what}, not a file psxj reads: refusing to open it").format(
                             path=_shown(path),
                             what=file_type(st.st_mode)))
    flags = os.O_RDONLY | _NONBLOCK | _NOCTTY | _CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(_("{path} is a symbolic link: refusing to open it").format(path=_shown(path))) from None
        raise
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino) or not _readable_type(opened, pipes):
        os.close(fd)
        raise UnsafePath(_("{path} changed while it was being opened: refusing it").format(path=_shown(path)))
    os.set_blocking(fd, True)
    return fd


def open_directory_to_read(path: str, follow: bool = True) -> int:
    """A descriptor of a directory psxj only reads (a recording): open() of a non-directory fails at
    once (O_DIRECTORY), whatever it is; never blocks."""
    flags = os.O_RDONLY | os.O_DIRECTORY | _NONBLOCK | _CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    return os.open(path, flags)


def trusted_file(path: str) -> str:
    """The real path of a configuration file that makes psxj (or a program it runs as the caller, such
    as ssh with its ProxyCommand) run commands: a regular file owned by root or the caller that
    nobody else may write, reached through directories only they control (as ssh demands of
    ~/.ssh/config, which it does not of `ssh -F FILE`). A symlink of theirs is followed."""
    for _hop in range(_SYMLINK_HOPS):
        real = trusted_real_path(path)
        try:
            st = os.lstat(real)
        except FileNotFoundError:
            raise UnsafePath(_("{path} does not exist").format(path=_shown(real))) from None
        if stat.S_ISLNK(st.st_mode) and _trusted_owner(st):
            path = os.path.join(os.path.dirname(real), os.readlink(real))
            continue
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(_("{path} is {what}, not a file psxj reads: refusing to open it").format(
                                 path=_shown(real),
                                 what=file_type(st.st_mode)))
        if not _trusted_owner(st):
            raise UnsafePath(_("{path} belongs to uid {uid}, not to root or you: the commands it names would run "
                               "as you; refusing to use it").format(path=_shown(real), uid=st.st_uid))
        if _writable_by_others(st):
            raise UnsafePath(_("{path} is writable by other users (mode {mode:04o}): refusing to use it").format(
                                 path=_shown(real),
                                 mode=stat.S_IMODE(st.st_mode)))
        return real
    raise UnsafePath(_("{path}: too many symbolic links").format(path=_shown(path)))


def socket_beneath(root: str, relative: str) -> int:
    """An O_PATH descriptor of the unix socket `relative` below the directory `root` (a /proc/PID/root
    of a container, or /), reached one component at a time without following any symlink: a
    container's root, or a user, may have planted one to steer root to another socket. Connecting
    to /proc/self/fd/N of it then reaches that very socket inode. Raises OSError (ELOOP for a link,
    ENOTSOCK for anything but a socket)."""
    flags = os.O_PATH | os.O_NOFOLLOW | _CLOEXEC
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY | _CLOEXEC)  # the start: the kernel's own link, or /
    try:
        parts = [part for part in relative.split("/") if part]
        if not parts or any(part in (".", "..") for part in parts):
            raise OSError(errno.EINVAL, "not a plain relative path")
        for part in parts[:-1]:
            next_fd = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        socket_fd = os.open(parts[-1], flags, dir_fd=fd)
    finally:
        os.close(fd)
    if not stat.S_ISSOCK(os.fstat(socket_fd).st_mode):
        os.close(socket_fd)
        raise OSError(errno.ENOTSOCK, "not a socket (a symbolic link or another file)")
    return socket_fd


def directory_beneath(root: str, relative: str) -> int:
    """An O_RDONLY descriptor of the directory `relative` below `root` (a /proc/PID/root, or /),
    reached one component at a time without following any symlink (ELOOP or ENOTDIR for one).
    `relative` "" is `root` itself."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)   # the start: the kernel's own link, or /
    try:
        for part in [part for part in relative.split("/") if part]:
            if part in (".", ".."):
                raise OSError(errno.EINVAL, "not a plain relative path")
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_beneath(root: str, relative: str, limit: int = 1 << 20) -> Tuple[bytes, os.stat_result]:
    """The first `limit` bytes of the regular file `relative` below `root`, and its stat, reached
    without following any symlink and opened as open_to_read opens a file another user may have
    planted (type checked first, non-blocking: never a FIFO or a device). For files of other users
    and of containers: crontabs, a runtime's state. Raises UnsafePath or OSError."""
    parent, _slash, name = relative.rstrip("/").rpartition("/")
    directory = directory_beneath(root, parent)
    try:
        fd = open_to_read(name, dir_fd=directory, follow=False)
    finally:
        os.close(directory)
    return read_descriptor(fd, limit)


def read_descriptor(fd: int, limit: int) -> Tuple[bytes, os.stat_result]:
    """Read at most `limit` bytes of an open file, and close it."""
    try:
        chunks, size = [], 0
        while size < limit:
            chunk = os.read(fd, min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), os.fstat(fd)
    finally:
        os.close(fd)
