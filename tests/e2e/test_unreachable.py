"""People who block the bot, end to end through the simulator (which sends `my_chat_member` like Telegram).

- blocking marks the participant unreachable at once: the next reminder and an announcement cost
  no request to them, the announcement's report, `/annonces` and the dashboard count them as
  unreachable; unblocking makes them reachable again (the next reminder reaches them, and what was
  skipped for them minutes ago is sent);
- someone who unblocks the bot in the middle of an announcement still receives it;
- a 429 with a long `retry_after` in the middle of an announcement: everything waits, nothing is
  lost or sent twice, and the report says why it was slower.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from models import broadcasts as bc
from models.base import utcnow
from models.db import Database
from models.outbox import OutboxState, OutgoingMessage
from models.participant import Participant
from models.programme import PURPOSE_REMINDER
from models.reachability import SKIPPED_UNREACHABLE
from schedule.config import EventConfig
from simulator import Simulator, SimUser
from tests.e2e.dashboard_support import signed_in_session
from tests.e2e.test_broadcasts import compose, seed
from tests.e2e.test_programme_support import Inbox, registered_people, title_of
from tests.e2e.webhook_support import running_web_bot
from tests.support.harness import bundled_event, running_bot
from tests.unit.programme.events import Item, event_data

BODY = "Le bus est arrivé devant l'entrée."


async def eventually(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    """Poll `check` until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def reachable(db: Database, user: SimUser, expected: bool) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with db.read() as session:
            since = await session.scalar(
                select(Participant.unreachable_since).where(Participant.telegram_id == user.id)
            )
        return (since is None) is expected

    return check


def requests_to(sim: Simulator, user: SimUser) -> list[str]:
    """Methods of every request the bot made to `user`'s chat (whatever their answer)."""
    return [record.method for record in sim.requests if str(record.params.get("chat_id")) == str(user.id)]


async def overview(http: Any, server: Any) -> str:
    async with http.get(server.local_url + "/") as response:
        assert response.status == 200
        return str(await response.text())


async def test_blocked_person_costs_nothing_is_shown_unreachable_and_comes_back(
    sim: Simulator, db: Database
) -> None:
    """Block: no request for the reminder or the announcement, reports and dashboard say so; unblock: back."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    await organiser.send_text("/start")  # the organiser opened the bot (the dashboard link is sent there)
    people = await registered_people(sim, db, 4)
    blocker = people[1]
    others = [person for person in people if person is not blocker]
    # The programme opens 5 s from now; the talk's reminder falls due 10 s later, the closing's 30 s later.
    data = event_data(
        [
            Item("opening", 0, 60, reminder=0),
            Item("talk", 70, 80, reminder=1),
            Item("closing", 100, 200, reminder=1),
        ],
        organisers=[organiser.id],
    )
    data.pop("results", None)  # a section naming items of the bundled programme, replaced here
    event = EventConfig.model_validate(data).shifted_to(utcnow() + dt.timedelta(seconds=5))
    inbox = Inbox().listen(sim)
    blocker.block_bot()  # Telegram keeps the update until the bot asks for it
    async with running_web_bot(sim, db, event, webhook=False) as (_app, server):
        await eventually(reachable(db, blocker, False), 5, "the block to be recorded")

        # The next reminder: everyone else gets it, the blocked person costs no request.
        await inbox.wait_for(title_of("talk"), len(others), 20)
        async with db.read() as session:
            skipped = (
                await session.scalars(
                    select(OutgoingMessage).where(
                        OutgoingMessage.chat_id == blocker.id,
                        OutgoingMessage.purpose == PURPOSE_REMINDER,
                        OutgoingMessage.state != OutboxState.PENDING,
                    )
                )
            ).all()
        # The talk's reminder (and whatever else fell due meanwhile) ended without a request.
        assert any("Title talk" in str(row.payload.get("text")) for row in skipped), skipped
        assert {(row.state, row.last_error, row.attempts) for row in skipped} == {
            (OutboxState.BLOCKED, SKIPPED_UNREACHABLE, 1)
        }
        assert requests_to(sim, blocker) == []

        # The dashboard counts them.
        http = await signed_in_session(organiser)
        async with http:
            page = await overview(http, server)
            assert 'data-figure="unreachable"' in page and "1 injoignable (a bloqué le bot)" in page

            # An announcement to everyone: reported as blocked, no request to them either.
            confirm = await compose(organiser, lambda: organiser.send_text(BODY), "👥 Tout le monde")
            await organiser.press(f"✅ Envoyer à {len(people)} personnes", message=confirm)
            report = await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=20)
            assert f"Reçue : {len(others)}" in report.text and "Ont bloqué le bot : 1" in report.text
            assert requests_to(sim, blocker) == []
            await organiser.send_text("/annonces")
            history = await organiser.wait_for_message("Dernières annonces")
            assert f"📬 {len(others)} · 🚫 1 · ⚠️ 0" in history.text

            # Unblocking: reachable again; what was skipped minutes ago is sent now, once.
            blocker.unblock_bot()
            await eventually(reachable(db, blocker, True), 5, "the unblock to be recorded")
            await blocker.wait_for_message(BODY, timeout=10)
            page = await overview(http, server)
            assert 'data-figure="unreachable"' not in page

        # The next reminder reaches them like everyone.
        closing = await inbox.wait_for(title_of("closing"), len(people), 45)
        assert sorted(arrival.chat_id for arrival in closing) == sorted(person.id for person in people)
    assert sum(1 for message in blocker.messages if message.text == BODY) == 1
    sim.assert_no_violations()


async def test_person_who_unblocks_mid_broadcast_receives_it(sim: Simulator, db: Database) -> None:
    """Two people blocked the bot; both unblock while a 120-person announcement is going out: both get it."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 120)
    early, late = people[0], people[-1]  # the first row is skipped at once; the last is still waiting
    event = bundled_event(organisers=[organiser.id])
    async with running_bot(sim, db, event):
        early.block_bot()
        late.block_bot()
        await eventually(reachable(db, late, False), 5, "the blocks to be recorded")
        confirm = await compose(organiser, lambda: organiser.send_text(BODY), "👥 Tout le monde")
        await organiser.press(f"✅ Envoyer à {len(people)} personnes", message=confirm)
        await eventually(lambda: _skipped(db, early.id), 10, "the first blocked row to be skipped")
        early.unblock_bot()
        late.unblock_bot()
        report = await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=40)
    assert f"Reçue : {len(people)}" in report.text and "Ont bloqué le bot : 0" in report.text
    for person in people:
        assert sum(1 for message in person.messages if message.text == BODY) == 1, person.id
    assert requests_to(sim, early).count("sendMessage") == 1
    sim.assert_no_violations()


async def _skipped(db: Database, chat_id: int) -> bool:
    async with db.read() as session:
        state = await session.scalar(
            select(OutgoingMessage.state).where(
                OutgoingMessage.chat_id == chat_id, OutgoingMessage.purpose == bc.PURPOSE_SEND
            )
        )
    return state is OutboxState.BLOCKED


@pytest.mark.allow_rate_limited  # two 429s made up by the test
async def test_long_retry_after_mid_broadcast_waits_loses_nothing_and_is_reported(
    sim: Simulator, db: Database
) -> None:
    """Two sends refused with retry_after=6: the whole bot waits, all 60 get it once, the report says why."""
    organiser = sim.add_user(first_name="Orga", language_code="fr")
    people = await seed(sim, db, 60)
    event = bundled_event(organisers=[organiser.id])
    limiter = sim.api.limiter
    assert limiter is not None
    check = limiter.check
    refusals = {people[20].id, people[21].id}  # a flood of the whole bot: two chats refused at once
    refused_at: list[float] = []

    def flooding_check(bot_id: int, chat_id: int, is_private: bool) -> int:
        if chat_id in refusals:
            refusals.discard(chat_id)
            refused_at.append(time.monotonic())
            return 6
        return check(bot_id, chat_id, is_private)

    limiter.check = flooding_check  # type: ignore[method-assign]
    arrivals: list[float] = []
    sim.on_message(
        lambda message, kind: (
            arrivals.append(time.monotonic()) if kind == "new" and message.text == BODY else None
        )
    )
    async with running_bot(sim, db, event):
        confirm = await compose(organiser, lambda: organiser.send_text(BODY), "👥 Tout le monde")
        await organiser.press(f"✅ Envoyer à {len(people)} personnes", message=confirm)
        report = await organiser.wait_for_edit(confirm, "Envoi terminé", timeout=60)
    assert len(refused_at) == 2
    # Everything waited: nothing arrived in the 6 s after the refusals (bar requests already on the way).
    pause = [at for at in arrivals if refused_at[-1] + 0.2 < at < refused_at[0] + 5.8]
    assert pause == [], pause
    for person in people:
        assert sum(1 for message in person.messages if message.text == BODY) == 1, person.id
    assert f"Reçue : {len(people)}" in report.text
    assert "Telegram a fait patienter le bot 6 s" in report.text
    assert len(sim.rate_limited) == 2  # only the two refusals made up here: no other 429
    sim.assert_no_violations()
