"""Who may see the dashboard; signed, single-use links; sessions."""

from __future__ import annotations

from datetime import timedelta

from models import dashboard as store
from models.base import utcnow
from models.db import Database
from schedule.config import Facilitator, Mentor
from tests.support.harness import bundled_event
from web.dashboard import duration, safe_next

KEY = store.signing_key("123456789:TEST-hackbot-token")


def test_viewer_roles_come_from_the_event_file():
    """Organisers see all; facilitators their challenges (mentors without a list: all); others nothing."""
    event = bundled_event(organisers=[1])
    first = event.challenges[0]
    challenges = [
        first.model_copy(update={"facilitators": [Facilitator(name="C", telegram_id=2)]}),
        *event.challenges[1:],
    ]
    event = event.model_copy(update={"challenges": challenges, "mentors": [Mentor(name="M", telegram_id=3)]})
    assert store.viewer_for(event, 1).role is store.DashboardRole.ORGANISER  # type: ignore[union-attr]
    facilitator = store.viewer_for(event, 2)
    assert (
        facilitator is not None and facilitator.challenge_ids == (first.id,) and not facilitator.is_organiser
    )
    mentor = store.viewer_for(event, 3)
    assert mentor is not None and len(mentor.challenge_ids) == len(event.challenges)
    assert store.viewer_for(event, 4) is None


def test_signatures_reject_tampering():
    """Only a token signed with our key passes; any change breaks it."""
    token = store.sign(KEY, "abc")
    assert store.verified_nonce(KEY, token) == "abc"
    nonce, _, signature = token.partition(".")
    assert store.verified_nonce(KEY, f"abd.{signature}") is None
    assert store.verified_nonce(KEY, f"{nonce}.{signature[:-1]}") is None
    assert store.verified_nonce(KEY, nonce) is None
    assert store.verified_nonce(store.signing_key("other"), token) is None
    assert store.verified_nonce(KEY, "x" * 500) is None


async def test_links_work_once_and_expire(db: Database):
    """Redeem once; a second time, or after expiry, gives nothing."""
    now = utcnow()
    async with db.transaction() as session:
        token = await store.issue_sign_in(session, KEY, 42, now)
        late = await store.issue_sign_in(session, KEY, 43, now - timedelta(minutes=10))
    async with db.read() as session:
        assert await store.sign_in_is_valid(session, KEY, token, now)
        assert not await store.sign_in_is_valid(session, KEY, late, now)
    async with db.transaction() as session:
        assert await store.redeem_sign_in(session, KEY, token, now) == 42
    async with db.transaction() as session:
        assert await store.redeem_sign_in(session, KEY, token, now) is None
        assert await store.redeem_sign_in(session, KEY, late, now) is None
    async with db.read() as session:
        assert not await store.sign_in_is_valid(session, KEY, token, now)


async def test_sessions_survive_until_they_expire_and_can_be_closed(db: Database):
    """A session is found by its cookie until its expiry; signing out forgets it."""
    now = utcnow()
    async with db.transaction() as session:
        cookie = await store.open_session(session, 42, now)
    async with db.read() as session:
        assert await store.session_user(session, cookie, now) == 42
        assert await store.session_user(session, cookie, now + store.SESSION_LIFETIME) is None
        assert await store.session_user(session, "forged", now) is None
        assert await store.session_user(session, None, now) is None
    async with db.transaction() as session:
        await store.close_session(session, cookie)
    async with db.read() as session:
        assert await store.session_user(session, cookie, now) is None


def test_helpers():
    """Durations read short; only local paths are followed after a language switch."""
    assert [
        duration(None),
        duration(timedelta(seconds=5)),
        duration(timedelta(minutes=12)),
        duration(timedelta(minutes=65)),
    ] == [
        "—",
        "5 s",
        "12 min",
        "1 h 05",
    ]
    assert [safe_next(p) for p in ("/teams", "//evil", "https://evil", None, "/\\evil")] == [
        "/teams",
        "/",
        "/",
        "/",
        "/",
    ]
