"""What the bot last put in the messages whose buttons people pressed, so no edit repeats it.

A double tap hands the bot two presses carrying the same snapshot of the message, taken before
the first press's edit landed. Comparing the new content with that snapshot alone would send the
second edit again (Telegram answers 400 "message is not modified"), or wrongly skip an edit back
to the snapshot's content (a toggle pressed twice). `ShownMessages` remembers, per message, the
snapshot a press saw and what the bot then put in it: a later press on the same snapshot is
compared with what the message really shows.

The update processor owns one per application and makes it `current()` while each update is
handled (`bot.update_processor`); `handlers.common.edit_pressed_message` reads it.
"""

from __future__ import annotations

from collections import OrderedDict
from contextvars import ContextVar

Fingerprint = tuple[str | None, object]
"""A message's text (HTML) and its inline keyboard (as a dictionary), compared as a whole."""

CAPACITY = 10_000
"""Messages remembered (the oldest are forgotten; a double tap comes within a second)."""


class ShownMessages:
    """Per message (chat id, message id): the snapshot a press saw, and the content the bot then set."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._shown: OrderedDict[tuple[int, int], tuple[Fingerprint, Fingerprint]] = OrderedDict()

    def showing(self, message: tuple[int, int], pressed_on: Fingerprint) -> Fingerprint:
        """What the message shows, for a press that saw `pressed_on`."""
        known = self._shown.get(message)
        if known is not None and known[0] == pressed_on:
            return known[1]
        return pressed_on

    def remember(self, message: tuple[int, int], pressed_on: Fingerprint, content: Fingerprint) -> None:
        """A press that saw `pressed_on` had the message show `content`."""
        self._shown[message] = (pressed_on, content)
        self._shown.move_to_end(message)
        while len(self._shown) > self._capacity:
            self._shown.popitem(last=False)

    def forget(self, message: tuple[int, int]) -> None:
        """The edit failed: the message shows what it showed before."""
        self._shown.pop(message, None)


_CURRENT: ContextVar[ShownMessages | None] = ContextVar("shown_messages", default=None)


def current() -> ShownMessages | None:
    """The memory of the application handling the current update (None outside one)."""
    return _CURRENT.get()


def use(shown: ShownMessages) -> None:
    """Make `shown` current for the rest of the running task (the handling of one update)."""
    _CURRENT.set(shown)
