"""How procps-ng 4.0 turns untrusted process names and arguments into printable text.

Part of the foundation, because every layer escapes: the sources as they read (a record's COMMAND
is escaped already), the errors that quote a user's words, and every view. Every name or argument
psxj prints passes through here, so no control character from a process ever reaches a terminal raw.

procps escapes in two passes, and psxj reproduces both byte for byte:

1. The library (library/escape.c, escape_str): in a UTF-8 locale, C0 controls and DEL
   become '?', but the first byte that cannot start a UTF-8 character (or a truncated one
   at the end) switches the rest of the string to the 8-bit table: controls and DEL
   become '.', bytes >= 0x80 become '?'. Outside UTF-8 the 8-bit table applies throughout.
   Only lead bytes are checked here; continuation bytes are judged in pass 2.
2. ps itself (ps/output.c, escape_str_utf8): glibc's mbrtowc, iswprint and wcwidth
   decide each character. An invalid sequence becomes one '?' per byte, a
   non-printable character (C1 controls, U+2028, unassigned code points) one '?',
   and the text is cut to the cells left on the line, wide characters counting two.

The /proc/PID/cmdline bytes are first joined as read_unvectored() does: NULs and
newlines become spaces, trailing NULs go, and a final blank is dropped.
"""

from __future__ import annotations

import locale
import os
from functools import lru_cache
from typing import Callable, Mapping

UNLIMITED = 1 << 30

_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))

# The 8-bit table (ESC_tab / codes[]): controls and DEL -> '.', high bytes -> '?'.
_EIGHT_BIT = bytes(
    ord(".") if b < 0x20 or b == 0x7F else ord("?") if b >= 0x80 else b for b in range(256)
)

# UTF_tab: how many bytes a lead byte announces, -1 where no character may start.
_UTF_LEAD_LENGTH = tuple(
    1 if b < 0x80 else 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else -1
    for b in range(256)
)

# The LC_* variables glibc's setlocale(LC_ALL, "") reads besides LC_ALL and LANG.
_LC_VARIABLES = (
    "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES",
    "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION",
)


def is_plain(data: bytes) -> bool:
    """True when every byte is printable ASCII: both passes leave such text alone."""
    return not data.translate(None, _PRINTABLE_ASCII)


def join_cmdline(raw: bytes) -> bytes:
    """/proc/PID/cmdline as one line, the way procps' read_unvectored() joins it."""
    body = raw.rstrip(b"\0").replace(b"\0", b" ").replace(b"\n", b" ")
    if raw[-1:] in (b" ", b"\n"):
        body = body[:-1]
    return body


def _locale_codeset(name: str) -> str | None:
    """The codeset of a locale name, or None when the locale is not installed."""
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, name)
        return locale.nl_langinfo(locale.CODESET)
    except locale.Error:
        return None
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


def ps_would_use_utf8(env: Mapping[str, str] = os.environ) -> bool:
    """Would `ps`, started with this environment, escape in UTF-8 mode?

    ps calls setlocale(LC_ALL, ""), which fails as a whole (leaving "C") when any named
    locale is missing. Python rewrites LC_CTYPE to C.UTF-8 at start-up when the user's
    locale is C (PEP 538); that value is undone here, because the user's ps never saw it.
    """
    lc_all = env.get("LC_ALL", "")
    if lc_all:
        return (_locale_codeset(lc_all) or "").upper() in ("UTF-8", "UTF8")
    lang = env.get("LANG", "")
    named = {key: env[key] for key in _LC_VARIABLES if env.get(key)}
    coerced = named.get("LC_CTYPE") == "C.UTF-8" and (lang in ("", "C", "POSIX") or _locale_codeset(lang) is None)
    if coerced:
        del named["LC_CTYPE"]
    for name in [lang, *named.values()]:
        if name and _locale_codeset(name) is None:
            return False
    ctype = named.get("LC_CTYPE") or lang or "C"
    return (_locale_codeset(ctype) or "").upper() in ("UTF-8", "UTF8")


@lru_cache(maxsize=None)
def _glibc_classifiers() -> tuple[Callable[[int], int], Callable[[int], int]]:
    """glibc's iswprint and wcwidth, so psxj judges characters exactly as ps does."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
    iswprint, wcwidth = libc.iswprint, libc.wcwidth
    iswprint.argtypes = wcwidth.argtypes = [ctypes.c_uint32]
    iswprint.restype = wcwidth.restype = ctypes.c_int
    return iswprint, wcwidth


def _python_classifiers() -> tuple[Callable[[int], int], Callable[[int], int]]:
    """A portable stand-in where glibc is not there (macOS, musl): close, not exact."""
    import unicodedata

    def printable(cp: int) -> int:
        return int(chr(cp).isprintable() or chr(cp) == " ")

    def width(cp: int) -> int:
        ch = chr(cp)
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            return 0
        return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1

    return printable, width


class Escaper:
    """Both procps passes for one locale mode (UTF-8 or 8-bit)."""

    def __init__(self, utf8: bool) -> None:
        self.utf8 = utf8
        self._classifiers: tuple[Callable[[int], int], Callable[[int], int]] | None = None

    @classmethod
    def for_environment(cls, env: Mapping[str, str] = os.environ) -> Escaper:
        return cls(ps_would_use_utf8(env))

    def _classify(self) -> tuple[Callable[[int], int], Callable[[int], int]]:
        if self._classifiers is None:
            try:
                self._classifiers = _glibc_classifiers()
            except (OSError, AttributeError):
                self._classifiers = _python_classifiers()
        return self._classifiers

    # pass 1 ---------------------------------------------------------------
    def library_pass(self, data: bytes) -> bytes:
        if is_plain(data):
            return data
        if not self.utf8:
            return data.translate(_EIGHT_BIT)
        buf = bytearray(data)
        i, size = 0, len(buf)
        while i < size:
            lead = buf[i]
            length = _UTF_LEAD_LENGTH[lead]
            if length < 0 or i + length > size:
                buf[i:] = bytes(buf[i:]).translate(_EIGHT_BIT)
                break
            if lead < 0x20 or lead == 0x7F:
                buf[i] = 0x3F  # '?'
            i += length
        return bytes(buf)

    # pass 2 ---------------------------------------------------------------
    def display_pass(self, data: bytes, max_cells: int = UNLIMITED) -> str:
        if is_plain(data):
            return data[:max_cells].decode("ascii")
        if not self.utf8:
            return data[:max_cells].translate(_EIGHT_BIT).decode("ascii")
        iswprint, wcwidth = self._classify()
        out: list[str] = []
        cells = i = 0
        size = len(data)
        while i < size and cells < max_cells:
            byte = data[i]
            if byte < 0x80:
                out.append(chr(byte) if 0x20 <= byte < 0x7F else "?")
                i += 1
                cells += 1
                continue
            length = _UTF_LEAD_LENGTH[byte]
            try:
                # Python's strict decoder refuses what glibc's mbrtowc refuses:
                # overlong forms, surrogates, truncated sequences.
                char = data[i:i + length].decode("utf-8") if length > 1 else None
            except UnicodeDecodeError:
                char = None
            if char is None or len(char) != 1:
                out.append("?")
                i += 1
                cells += 1
                continue
            code = ord(char)
            if not iswprint(code):
                out.append("?")
                i += length
                cells += 1
                continue
            width = wcwidth(code)
            if width > max_cells - cells:
                break
            out.append(char)
            i += length
            cells += max(width, 0)
        return "".join(out)

    def fit(self, text: str, max_cells: int) -> str:
        """Cut already-escaped text to `max_cells` cells, as ps cuts the last column."""
        if text.isascii():
            return text[:max_cells]
        return self.display_pass(text.encode("utf-8", "surrogateescape"), max_cells)

    # the COMMAND column ---------------------------------------------------
    def command(self, raw_cmdline: bytes, comm: bytes, state: str) -> str:
        """COMMAND as ps -axj shows it, before any cut to the terminal width.

        Arguments when /proc/PID/cmdline has any bytes at all; otherwise (kernel
        threads, zombies, processes that cleared their arguments) `[comm]`, with
        ` <defunct>` for a zombie.
        """
        if raw_cmdline:
            joined = join_cmdline(raw_cmdline)
            if is_plain(joined):
                return joined.decode("ascii")
            text = self.library_pass(joined)
        else:
            text = b"[" + self.library_pass(comm) + b"]"
            if state == "Z":
                text += b" <defunct>"
        return self.display_pass(text)

    def text(self, data: bytes | str) -> str:
        """Any other untrusted text (a comm, a loaded file's command), made printable."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        if is_plain(data):
            return data.decode("ascii")
        return self.display_pass(self.library_pass(data))


_defaults: dict = {}   # language -> escaper


def default_escaper() -> Escaper:
    """The escaper for this process's environment, made once per language (probing the locale costs
    ~1 ms). In Chinese (psxj.i18n) psxj's own messages are UTF-8 even where ps would escape to 8-bit
    (LANG=zh_CN.UTF-8 without that locale installed): controls and unprintable characters are still
    replaced, as for COMMAND. ps's own table keeps ps's rule (Escaper.for_environment)."""
    from psxj.i18n import current

    language = current()
    escaper = _defaults.get(language)
    if escaper is None:
        escaper = _defaults[language] = Escaper(ps_would_use_utf8() or language != "en")
    return escaper


def safe_text(data: bytes | str) -> str:
    """Untrusted text for any output that is not a COMMAND cell: error messages, audit evidence,
    paths from /proc, names from files. The same escaping as COMMAND, so no control byte
    (ESC, BEL, CSI, OSC) from a process, a file or an argument ever reaches a terminal."""
    return default_escaper().text(data)


def shown(item: str) -> str:
    """A user's word (a list item, a host name), quoted for an error message: escaped and cut, so a
    hostile or huge argument can neither drive the terminal nor flood it."""
    text = safe_text(item)
    return repr(text if len(text) <= 40 else text[:37] + "...")
