"""A room tapping at once: taps handed over in one getUpdates answer are decided in update-id order.

Driven through the simulator (SQLite, and PostgreSQL), whose `one_poll()` holds the updates while
the people press, then hands them to the bot together, the way Telegram does after a burst.
"""

from __future__ import annotations

import asyncio
import random

from models import challenges as ch
from models.db import Database
from simulator import SimCallbackQuery, Simulator, SimUser
from tests.e2e.test_challenges import (
    CAP12,
    OTHER,
    answer_of,
    counts,
    open_event,
    open_list,
    participant_id,
    seed,
    status,
    with_challenge,
)
from tests.support.harness import running_bot


def by_update_id(presses: list[SimCallbackQuery], users: list[SimUser]) -> list[SimUser]:
    """The people in the order Telegram numbered their presses."""
    return [user for _, user in sorted(zip((p.update_id or 0 for p in presses), users, strict=True))]


async def test_places_and_waiting_list_follow_update_id_order(sim: Simulator, db: Database) -> None:
    """30 taps in one poll on 12 places: the first 12 pressed get in, the others wait in press order."""
    people = [sim.add_user(first_name=f"R{i}", language_code="fr") for i in range(30)]
    await seed(db, people)
    async with running_bot(sim, db, open_event()):
        lists = dict(zip(people, await asyncio.gather(*(open_list(user) for user in people)), strict=True))
        pressing = people[:]
        random.Random(13).shuffle(pressing)  # not the order they were created or opened the chat in
        with sim.one_poll():
            presses = [
                await user.press(callback_data=f"ch:join:{CAP12}", message=lists[user], wait_answer=False)
                for user in pressing
            ]
        answers = dict(zip(pressing, await asyncio.gather(*(answer_of(p) for p in presses)), strict=True))
        assert len({press.handed_at for press in presses}) == 1  # one getUpdates answer carried them all

        order = by_update_id(presses, pressing)
        for user in order[:12]:
            assert "vous avez rejoint" in answers[user], answers[user]
        for rank, user in enumerate(order[12:], start=1):
            assert f"n°{rank} " in answers[user], (rank, answers[user])
        async with db.read() as session:
            members = {member.participant_id for member in await ch.members_of(session, CAP12)}
            queue = await ch.waitlist_of(session, CAP12)
        assert members == {await participant_id(db, user) for user in order[:12]}
        assert queue == [await participant_id(db, user) for user in order[12:]]

        # Every toast went out before that person's card was edited (the edit is cosmetic).
        for user in pressing:
            await user.wait_for_edit(
                lists[user], lambda m: "Vous êtes" in m.text and "Les défis" not in m.text, timeout=20
            )
        answered = {a.user_id: a.time for a in sim.answered_callbacks}
        edits = [r for r in sim.requests if r.method == "editMessageText" and r.status == 200]
        for user in pressing:
            edited = [r.time for r in edits if str(r.params.get("chat_id")) == str(user.id)]
            assert edited and min(edited) >= answered[user.id], user
        assert sim.unanswered_callbacks() == []


async def test_a_burst_mixing_joins_leaves_and_switches_for_one_team(sim: Simulator, db: Database) -> None:
    """Leaves, joins, a switch and a repeated join for one 3-place team, in one poll: as if one by one."""
    a, b, c, d, e, f, g = (sim.add_user(first_name=name, language_code="fr") for name in "ABCDEFG")
    everyone = [a, b, c, d, e, f, g]
    await seed(db, everyone)
    event = with_challenge(open_event(), CAP12, capacity=3)
    async with running_bot(sim, db, event):
        lists = dict(zip(everyone, await asyncio.gather(*(open_list(u) for u in everyone)), strict=True))
        for user in (a, b, c, d, e):  # A, B, C in the team; D then E waiting
            await answer_of(await user.press(callback_data=f"ch:join:{CAP12}", message=lists[user]))
        await answer_of(await f.press(callback_data=f"ch:join:{OTHER}", message=lists[f]))
        assert (await status(db, e)).position == 2

        taps = [
            (a, f"ch:leaveok:{CAP12}"),  # A leaves: D takes the place
            (g, f"ch:join:{CAP12}"),  # full: G waits behind E
            (f, f"ch:sw:{OTHER}:{CAP12}"),  # full: F waits behind G, staying in the other team
            (b, f"ch:leaveok:{CAP12}"),  # B leaves: E takes the place
            (c, f"ch:join:{CAP12}"),  # already in: nothing changes
            (a, f"ch:join:{CAP12}"),  # A again (after A's leave): waits behind F
        ]
        with sim.one_poll():
            presses = [
                await user.press(callback_data=data, message=lists[user], wait_answer=False)
                for user, data in taps
            ]
        answers = [await answer_of(press) for press in presses]
        assert "Vous avez quitté" in answers[0] and "Vous avez quitté" in answers[3]
        assert "n°2" in answers[1] and "n°3" in answers[2] and "n°3" in answers[5]
        assert "déjà dans cette équipe" in answers[4]

        async with db.read() as session:
            members = {member.participant_id for member in await ch.members_of(session, CAP12)}
            queue = await ch.waitlist_of(session, CAP12)
        assert members == {await participant_id(db, user) for user in (c, d, e)}
        assert queue == [await participant_id(db, user) for user in (g, f, a)]
        assert (await status(db, f)).challenge_id == OTHER
        assert (await counts(db, CAP12)).members == 3
        for promoted in (d, e):
            await promoted.wait_for_message(lambda m: "Une place s'est libérée" in m.text, timeout=10)
        assert sim.unanswered_callbacks() == []
