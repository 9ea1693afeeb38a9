"""Running the interface on this terminal until it quits, with the exit status it owes the command line.

Part of the interface (psxj.tui): psxj.commands starts it through psxj.tui.launch (this machine) or
directly (other machines' tables); psxj.tui.served runs it for a browser.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Optional

from psxj.select import Selection
from psxj.tui.app import PsxjApp


def _no_thread_left_behind(status: int) -> None:
    """Textual's input and output threads end when its driver stops; if an exit skipped that,
    they would keep psxj alive after its terminal is gone (the input thread spinning on end of
    file). Give them a moment, then end the process with the status it would have had."""
    main = threading.main_thread()
    stragglers = [t for t in threading.enumerate() if t is not main and not t.daemon]
    for thread in stragglers:
        thread.join(timeout=1.0)
    if any(thread.is_alive() for thread in stragglers):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)


def run_app(selection: Optional[Selection] = None, load: Optional[str] = None, delay: float = 2.0,
            keep_demo: bool = False, app_class: type = None, **app_options) -> int:
    """Run the interface on this terminal; the exit status: 0 quit, 128+N after signal N (129 when
    the terminal went away), non-zero after a crash. app_options go to PsxjApp (tests use them)."""
    snapshot = None
    if load:
        from psxj.sources.loaded import load_snapshot
        from psxj.sources.recording import is_recording, open_recording

        if load not in ("", "-") and is_recording(load):  # its tables over time: [ ] and T step through them
            app_options.setdefault("recording", open_recording(load))
            snapshot = app_options["recording"].latest()
        else:
            snapshot = load_snapshot(load)
    app_options.setdefault("remember", True)  # the theme and columns chosen last time
    app_options.setdefault("events", snapshot is None)  # live events for a live table
    app = (app_class or PsxjApp)(selection=selection, snapshot=snapshot, delay=delay, keep_demo=keep_demo,
                                 **app_options)

    received = []

    def hang_up(signum, frame):
        # The terminal went away, or we were told to stop: quit as with q, through Textual's own
        # exit, which stops its input and output threads and runs on_unmount (the reader, the
        # events, the demo). A KeyboardInterrupt raised at a random point of a repaint skipped
        # that: psxj then outlived its terminal, its input thread spinning on end of file.
        received.append(signum)
        app.leave(128 + received[0])

    previous = {sig: signal.signal(sig, hang_up) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        app.run()
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.end_own_demo()
    if received:
        status = 128 + received[0]
    elif app.return_code:
        # A crash (an exception Textual caught and printed) sets a non-zero return code: never exit 0 then.
        status = app.return_code
    else:
        # As with --print: a selection from the command line that never matched anything exits 1.
        status = 1 if app.command_line_selection and not app.ever_matched else 0
    if snapshot is not None and snapshot.notes:   # what --load skipped: said once the terminal is back
        from psxj.escape import safe_text
        from psxj.i18n import _

        for note in snapshot.notes:
            print(_("psxj: note: {note}").format(note=safe_text(note)), file=sys.stderr)
    _no_thread_left_behind(status)
    return status
