"""Textual's terminal driver for Linux, with an input thread that sleeps until there is input.

Part of the interface (psxj.tui). Textual's LinuxDriver (textual/drivers/linux_driver.py, pinned below 9)
reads keys in a thread that wakes ten times a second whatever happens (`select(0.1)`), for two reasons
only: to look at its exit flag, and to let the input parser time out a lone Escape (the parser waits
ESCAPE_DELAY for the rest of a sequence, then says Escape). That is a tenth of htop's whole idle CPU.
This thread waits for as long as there is nothing to do: for ever while no sequence is half read, until
the parser's own deadline while one is, and the exit flag wakes it through a pipe of its own when it
is set. Keys, mouse and resize reports are read as soon as they come, as before; a terminal resize
comes as SIGWINCH to the main thread and never went through this loop.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Optional

from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver


class _WakingEvent(threading.Event):
    """The driver's exit flag: setting it also ends the input thread's wait (a byte down a pipe)."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        try:
            os.write(self._wake_fd, b"x")
        except OSError:   # the pipe is full (it is woken already) or closed (the driver is gone)
            pass


def parser_wait(parser: XTermParser) -> Optional[float]:
    """How long the input thread may wait for input: for ever (None) unless the parser waits for the
    rest of an escape sequence, then until the parser's deadline for it (then a lone Escape is a key)."""
    deadline = parser._timeout_time   # Textual's Parser: set while a read has a timeout, else None
    return None if deadline is None else max(deadline - get_time(), 0.0)


class QuietLinuxDriver(LinuxDriver):
    """LinuxDriver whose input thread wakes only for input, the parser's Escape deadline or exit."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event = _WakingEvent(self._wake_write)

    def run_input_thread(self) -> None:
        """Textual's run_input_thread (8.x), waiting as parser_wait says instead of a tenth of a second."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        fileno, wake = self.fileno, self._wake_read
        parser = XTermParser(self._debug)
        feed, tick = parser.feed, parser.tick
        decode = getincrementaldecoder("utf-8")().decode

        def process_selector_events(selector_events, final: bool = False) -> None:
            for last, (key, mask) in loop_last(selector_events):
                if key.fd == wake:
                    self._drain_wake()
                    continue
                if mask & selectors.EVENT_READ:
                    unicode_data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        break   # stdin is piped, or at its end
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(parser_wait(parser)))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_read, 512):
                pass
        except OSError:   # BlockingIOError: empty now
            pass

    def close(self) -> None:
        super().close()
        self.exit_event._wake_fd = -1   # never written to again: the number may be another file's soon
        for fd in (self._wake_read, self._wake_write):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_read = self._wake_write = -1
