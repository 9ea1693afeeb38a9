"""The interface's dialogs and other screens on top of the table, and the keys typed ahead of them.

A terminal delivers a burst of keys at once (`o` Space Enter, `x` 9 Enter, typed fast or pasted).
Textual hands each to the focused widget as it arrives, and looks its bindings up once it has bubbled
up to the app: by then the key before it may have opened a screen that has no focus yet. The keys after
it were lost (Space, 9), reached that screen's own bindings out of order (Enter applied before Space
toggled), or acted on the table behind it. A screen that takes keys typed ahead (TypeAhead) keeps
every key meant for it until it is ready, then replays them in the order they were typed; the app
(psxj.tui.app.PsxjApp.on_event, on_key) hands it those keys, also the ones that were still on their
way to the screen below when it opened.

Part of the interface (psxj.tui): every psxj dialog is a Dialog; the help and the detail view take
keys typed ahead too.
"""

from __future__ import annotations

import itertools
from typing import List, Tuple, TypeVar

from textual import events
from textual.screen import ModalScreen, Screen

R = TypeVar("R")
_ORDER = itertools.count()


def typed_order() -> int:
    """A number for a key as the app receives it: held keys are replayed in this order."""
    return next(_ORDER)


class TypeAhead:
    """Mixed into a Screen: holds the keys typed before it was ready (see the module's docstring)."""

    ready = False

    def hold(self, event: events.Key, order: int) -> None:
        """A key meant for this screen, typed before it was ready; `order` is when it was typed."""
        held: List[Tuple[int, events.Key]] = self.__dict__.setdefault("_held", [])
        held.append((order, events.Key(event.key, event.character)))
        if self.ready:
            self._replay()

    def on_screen_resume(self) -> None:
        # After Textual's own resume, which gives the focus: replay once that focus is in place.
        if not self.ready:
            self.call_after_refresh(self._ready)

    def _ready(self) -> None:
        self.ready = True
        self._replay()

    def _replay(self) -> None:
        held = sorted(self.__dict__.pop("_held", []), key=lambda item: item[0])
        for _order, key in held:
            self.app.post_message(key)   # through the app again: priority bindings, then the focus


class Dialog(TypeAhead, ModalScreen[R]):
    """A modal dialog of the interface."""


class FullScreen(TypeAhead, Screen):
    """A screen of the interface that replaces the table (the detail view)."""
