"""Process updates of different people concurrently, but each person's updates one at a time, in order.

A hundred people tapping "Join" at once must not wait for each other, yet two taps by the same
person must not race on that person's registration state. A double tap (the same button of the
message as it was, pressed twice and handed over in the same poll) acts once: the repeated press
is answered without running the handlers. A button press may ask for a contended
decision (`models.decisions`): it is announced to the batcher as it starts (in the order the
updates arrive, their update ids), so the decisions are taken in update-id order.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeGuard

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor

from bot import shown
from bot.shown import ShownMessages

if TYPE_CHECKING:
    from models.decisions import DecisionBatcher

log = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 512
"""Updates handled at once: a burst of taps (Telegram hands 100 per `getUpdates` answer) must all
start at once, or the first ones, waiting for their cosmetic edit in the flood-limit throttle,
would keep the later ones from being answered."""


def _serial_key(update: object) -> int | None:
    """Updates sharing a key are processed in order: the sender, else the chat."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


DECIDING_BUTTONS = ("ch:join:", "ch:sw:", "ch:leaveok:", "ch:unwait:")
"""Callback data prefixes of the buttons whose press asks for a contended decision (a place in a
team); a feature with places to give (a seat at a meal, a vote) adds its buttons here."""


def _may_decide(update: object) -> TypeGuard[Update]:
    """Whether the update is a press that may ask for a contended decision."""
    if not isinstance(update, Update):
        return False
    query = update.callback_query
    return query is not None and query.data is not None and query.data.startswith(DECIDING_BUTTONS)


PressKey = tuple[int, int, int, str, int]


def _press_key(update: object) -> PressKey | None:
    """Who pressed which button of which message, as the message then looked (for a button press).

    Two presses with the same key handed over together come from one look at the message: a
    double tap. A press made after the bot edited the message (an old confirmation pressed again)
    has another key.
    """
    if not isinstance(update, Update) or update.callback_query is None:
        return None
    query = update.callback_query
    message = query.message
    if not isinstance(message, Message) or query.data is None:
        return None
    markup = message.reply_markup.to_dict() if message.reply_markup is not None else None
    look = hash((message.edit_date, message.text, message.caption, repr(markup)))
    return (query.from_user.id, message.chat.id, message.message_id, query.data, look)


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users (up to `max_concurrent_updates`), sequential per user.

    With `decisions`, every press of a `DECIDING_BUTTONS` button is expected by the batcher while it
    is handled, with its update id as its ticket.
    """

    def __init__(
        self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES, decisions: DecisionBatcher | None = None
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self.decisions = decisions
        self.shown = ShownMessages()
        # Presses of the current arrival (the updates of one poll start handling in the same turn
        # of the event loop: PTB queues them all at once), forgotten at the next turn.
        self._arrival: set[PressKey] = set()
        self._arrival_open = False

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update's handlers while holding its user's lock."""
        shown.use(self.shown)  # this task's: the handlers' edits of pressed messages consult it
        repeated = self._arrived(update)
        key = _serial_key(update)
        if key is None:
            await coroutine
            return
        # Expected as it arrives (in update-id order), even while the person's previous update is
        # still being handled: the taps pressed after theirs wait for their decision.
        ticket = update.update_id if self.decisions is not None and _may_decide(update) else None
        if ticket is not None and self.decisions is not None:
            self.decisions.expect(ticket)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                if repeated:
                    await self._answer_repeat(update, coroutine)
                else:
                    await coroutine
        finally:
            if ticket is not None and self.decisions is not None:
                self.decisions.withdraw(ticket)
            self._waiting[key] -= 1
            if self._waiting[key] == 0:  # nobody else queued for this user: forget the lock
                del self._waiting[key]
                del self._locks[key]

    def _arrived(self, update: object) -> bool:
        """Whether this press repeats one handed over with it (a double tap).

        Both presses carry the same look of the message: the first is handled (one decision, its
        answer), the second only answered, so a double tap never acts twice.
        """
        key = _press_key(update)
        if key is None:
            return False
        if not self._arrival_open:
            self._arrival_open = True
            asyncio.get_running_loop().call_soon(self._close_arrival)
        if key in self._arrival:
            return True
        self._arrival.add(key)
        return False

    def _close_arrival(self) -> None:
        self._arrival.clear()
        self._arrival_open = False

    @staticmethod
    async def _answer_repeat(update: object, coroutine: Awaitable[Any]) -> None:
        """Stop the phone's spinner for the repeated press, without running the handlers."""
        if inspect.iscoroutine(coroutine):
            coroutine.close()
        assert isinstance(update, Update) and update.callback_query is not None
        log.info("update %s: the same button pressed again at once; answered only", update.update_id)
        try:
            await update.callback_query.answer()
        except TelegramError as exc:
            log.info("update %s: repeated press not answered (%s)", update.update_id, exc)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
