"""The arrival rules of `models.arrival` (SQLite and PostgreSQL): codes, scans, leaving, walk-ins, counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import arrival
from models import broadcasts as bc
from models.db import Database
from models.participant import Participant, ParticipantStatus
from models.registration import forget
from schedule.config import ArrivalSettings
from tests.support.harness import bundled_event

DAY = date(2026, 12, 5)
NOW = datetime(2026, 12, 5, 15, 30, tzinfo=UTC)
DESK = 900
EVENT = bundled_event(arrival=ArrivalSettings(desk_volunteers=[DESK], self_check_in=True))


async def person(db: Database, telegram_id: int, name: str = "Amina") -> int:
    async with db.transaction() as session:
        row = Participant(
            telegram_id=telegram_id,
            display_name=name,
            language="fr",
            role="resident",
            consent_version="1",
            consent_given_at=NOW,
            registered_at=NOW,
            status=ParticipantStatus.ACTIVE,
        )
        session.add(row)
        await session.flush()
        return row.id


async def code_of(db: Database, participant_id: int) -> str:
    async with db.transaction() as session:
        return await arrival.personal_code(session, participant_id, EVENT.id, NOW)


async def scan(db: Database, telegram_id: int, payload: str, now: datetime = NOW) -> arrival.ScanResult:
    async with db.transaction() as session:
        return await arrival.scan(session, EVENT, telegram_id, payload, DAY, now)


async def test_personal_code_is_stable_unguessable_and_unique(db: Database) -> None:
    """One code per person, the same every time, 128 random bits, different for each person."""
    first, second = await person(db, 1), await person(db, 2, "Bob")
    code = await code_of(db, first)
    assert code.startswith(arrival.PERSONAL_PREFIX) and len(code) == len("ci-") + arrival.CODE_CHARS
    assert await code_of(db, first) == code
    assert await code_of(db, second) != code
    async with db.transaction() as session:
        session.add(
            arrival.ArrivalCode(participant_id=second, event_id=EVENT.id, code=code[3:], created_at=NOW)
        )
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_desk_scan_checks_in_once(db: Database) -> None:
    """The desk's first scan checks in; the second says since when; nobody else changes anything."""
    amina = await person(db, 1)
    code = await code_of(db, amina)
    assert await scan(db, 1, code) == arrival.Refused(arrival.ScanRefusal.OWN_CODE)
    assert await scan(db, 2, code) == arrival.Refused(arrival.ScanRefusal.NOT_DESK)
    first = await scan(db, DESK, code)
    assert isinstance(first, arrival.DeskCard) and first.first_time and first.name == "Amina"
    again = await scan(db, DESK, code, NOW + timedelta(minutes=5))
    assert isinstance(again, arrival.DeskCard) and not again.first_time and again.arrived_at == NOW
    for bad in (code[:-1], code[:-2] + "zz", "ci-", "ci-" + "A" * 40):
        assert await scan(db, DESK, bad) == arrival.Refused(arrival.ScanRefusal.UNKNOWN)
        # Someone not at the desk learns nothing about a code, valid or not.
        assert await scan(db, 2, bad) == arrival.Refused(arrival.ScanRefusal.NOT_DESK)


async def test_two_desks_same_second(db: Database) -> None:
    """Ten volunteers scanning one badge at the same instant: one check-in row, one "first time"."""
    amina = await person(db, 1)
    code = await code_of(db, amina)
    results = await asyncio.gather(*(scan(db, DESK, code) for _ in range(10)))
    assert sum(1 for r in results if isinstance(r, arrival.DeskCard) and r.first_time) == 1
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(arrival.CheckIn)) == 1


async def test_database_refuses_a_double_check_in(db: Database) -> None:
    """The unique constraint, not only the code, forbids two rows for one person and day."""
    amina = await person(db, 1)
    async with db.transaction() as session:
        session.add(arrival.CheckIn(day=DAY, participant_id=amina, arrived_at=NOW, arrived_via="desk"))
    async with db.transaction() as session:
        session.add(arrival.CheckIn(day=DAY, participant_id=amina, arrived_at=NOW, arrived_via="desk"))
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_other_event_and_erased_person(db: Database) -> None:
    """A badge of another event is refused; after /forget the code is unknown and the rows are gone."""
    amina, bob = await person(db, 1), await person(db, 2, "Bob")
    code = await code_of(db, amina)
    async with db.transaction() as session:
        other = await arrival.personal_code(session, bob, "another-event", NOW)
    assert await scan(db, DESK, other) == arrival.Refused(arrival.ScanRefusal.OTHER_EVENT)
    await scan(db, DESK, code)
    async with db.transaction() as session:
        await forget(session, 1)
    assert await scan(db, DESK, code) == arrival.Refused(arrival.ScanRefusal.UNKNOWN)
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(arrival.CheckIn)) == 0


async def test_poster_renewal_and_days(db: Database) -> None:
    """The poster checks in a registered person; after renewal the old code is refused."""
    await person(db, 1)
    async with db.transaction() as session:
        old = await arrival.poster_code(session, EVENT.id, DAY, NOW)
        assert await arrival.poster_code(session, EVENT.id, DAY, NOW) == old
    assert isinstance(await scan(db, 1, old), arrival.SelfCheckedIn)
    assert await scan(db, 5, old) == arrival.Refused(arrival.ScanRefusal.NOT_REGISTERED)
    async with db.transaction() as session:
        new = await arrival.poster_code(session, EVENT.id, DAY, NOW, renew=True)
    assert new != old
    assert await scan(db, 1, old) == arrival.Refused(arrival.ScanRefusal.POSTER_OLD)
    result = await scan(db, 1, new)
    assert isinstance(result, arrival.SelfCheckedIn) and not result.first_time


async def test_leaving_coming_back_and_end_of_day(db: Database) -> None:
    """Leave, come back (same row), the end of the day checks out the rest."""
    amina, bob = await person(db, 1), await person(db, 2, "Bob")
    await scan(db, DESK, await code_of(db, amina))
    await scan(db, DESK, await code_of(db, bob))
    async with db.transaction() as session:
        left = await arrival.leave(session, 1, DAY, NOW + timedelta(hours=1))
        assert left.outcome is arrival.LeaveOutcome.LEFT
        assert (await arrival.leave(session, 1, DAY, NOW)).outcome is arrival.LeaveOutcome.NOT_HERE
    back = await scan(db, DESK, await code_of(db, amina), NOW + timedelta(hours=2))
    assert isinstance(back, arrival.DeskCard) and back.came_back
    async with db.transaction() as session:
        assert await arrival.end_of_day(session, DAY, NOW + timedelta(hours=8)) == 2
        count = await arrival.headcount(session, DAY)
    assert count.present == 0 and count.arrived == 2


async def test_walk_ins_and_headcount(db: Database) -> None:
    """A walk-in's name is cleaned and capped; they count as present; roles must be offered."""
    await person(db, 1)
    async with db.transaction() as session:
        walk_in = await arrival.register_walk_in(session, "<b>Fatou</b>  " + "x" * 5000, DAY, NOW)
        assert walk_in is not None and len(walk_in.name) == 64 and walk_in.name.startswith("<b>Fatou</b> x")
        assert await arrival.register_walk_in(session, "   \u200b ", DAY, NOW) is None
        assert await arrival.set_walk_in_role(session, walk_in.walk_in_id, "pirate", ["resident"]) is None
        saved = await arrival.set_walk_in_role(session, walk_in.walk_in_id, "resident", ["resident"])
        assert saved is not None and saved.role == "resident"
        count = await arrival.headcount(session, DAY)
    assert count.present == 1 and count.walk_ins == 1 and [p.name for p in count.not_arrived] == ["Amina"]
    assert count.present_by_role == {"resident": 1}


async def test_audiences_present_and_not_arrived(db: Database) -> None:
    """The announcement audiences follow the check-ins."""
    amina, _ = await person(db, 1), await person(db, 2, "Bob")
    await scan(db, DESK, await code_of(db, amina))
    async with db.read() as session:
        assert await bc.recipients(session, bc.Audience.decode("present")) == [1]
        assert await bc.recipients(session, bc.Audience.decode(f"not_arrived:{DAY.isoformat()}")) == [2]
        assert (await bc.audience_counts(session)).present == 1


@pytest.mark.parametrize(
    "stored", ["present:x", "not_arrived", "not_arrived:tomorrow", "not_arrived:2026-13-01"]
)
def test_malformed_arrival_audiences(stored: str) -> None:
    """Stored audiences that do not parse are refused."""
    with pytest.raises(ValueError):
        bc.Audience.decode(stored)


async def test_poster_refused_when_self_check_in_is_off(db: Database) -> None:
    """Without `arrival.self_check_in`, a poster code checks nobody in."""
    await person(db, 1)
    async with db.transaction() as session:
        code = await arrival.poster_code(session, EVENT.id, DAY, NOW)
        off = bundled_event(arrival=ArrivalSettings(self_check_in=False))
        result = await arrival.scan(session, off, 1, code, DAY, NOW)
    assert result == arrival.Refused(arrival.ScanRefusal.SELF_CHECK_IN_OFF)
