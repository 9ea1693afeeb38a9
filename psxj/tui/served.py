"""The interface as `psxj serve` runs it for one browser (textual-serve starts this module).

The same app, with what a browser must not do by default hidden and refused through the app's own
mechanism (refused_actions, as for other machines' tables): signals unless --allow-signals, the
demo unless --allow-demo. Choices are not saved (the browser's user is not this user), and the
status line says where the server listens.

    python -m psxj.tui.served [--delay S] [--banner TEXT] [--allow-signals] [--allow-demo]
Part of the interface (psxj.tui): the browser view (psxj.web) runs it as a program, never imports it.
"""

from __future__ import annotations

import argparse
from typing import List, Optional

from psxj.i18n import _, add_language_argument, install
from psxj.tui.app import DEMO_ACTIONS, SIGNAL_ACTIONS, PsxjApp
from psxj.tui.run import run_app


class ServedApp(PsxjApp):
    """Under textual-serve there is no terminal to watch: the web driver ends the app when the
    browser goes."""

    def _watch_terminal(self) -> None:
        pass


def refused(allow_signals: bool, allow_demo: bool) -> frozenset:
    return (frozenset() if allow_signals else SIGNAL_ACTIONS) | (frozenset() if allow_demo else DEMO_ACTIONS)


def refusal_notes() -> dict:
    """What a key that is off in the browser says, and how to turn it on."""
    signals = _("Signals are off in this browser view: psxj serve --allow-signals turns them on.")
    demo = _("The demo is off in this browser view: psxj serve --allow-demo turns it on.")
    return {**{action: signals for action in SIGNAL_ACTIONS}, **{action: demo for action in DEMO_ACTIONS}}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="psxj serve (child)")
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--banner", default="")
    parser.add_argument("--allow-signals", action="store_true")
    parser.add_argument("--allow-demo", action="store_true")
    add_language_argument(parser)
    args = parser.parse_args(argv)
    install(args.lang)
    return run_app(delay=args.delay, remember=False, app_class=ServedApp, status_banner=args.banner,
                   refused_actions=refused(args.allow_signals, args.allow_demo), refusal_notes=refusal_notes())


if __name__ == "__main__":
    raise SystemExit(main())
