"""Pure rules of announcements: typed send times, payloads and their limits, audiences, spreading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models import broadcasts as bc
from models.outbox import PayloadTooLong

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("typed", "expected_local"),
    [
        ("14:30", datetime(2030, 1, 10, 14, 30, tzinfo=PARIS)),
        (" 14h30 ", datetime(2030, 1, 10, 14, 30, tzinfo=PARIS)),
        ("14h", datetime(2030, 1, 10, 14, 0, tzinfo=PARIS)),
        ("9.05", datetime(2030, 1, 11, 9, 5, tzinfo=PARIS)),  # passed today: tomorrow
        ("10:00", datetime(2030, 1, 11, 10, 0, tzinfo=PARIS)),  # exactly now: tomorrow
        ("0:00", datetime(2030, 1, 11, 0, 0, tzinfo=PARIS)),
    ],
)
def test_typed_times_are_the_next_such_moment(typed: str, expected_local: datetime) -> None:
    """A typed time is today if still to come, else tomorrow, in the event's timezone."""
    now = datetime(2030, 1, 10, 10, 0, tzinfo=PARIS).astimezone(UTC)
    at = bc.parse_send_time(typed, now, PARIS)
    assert at == expected_local
    assert at is not None and at.tzinfo is UTC


@pytest.mark.parametrize("typed", ["", "demain", "25:00", "14:60", "14:3", "1430", "-1:00", "14:30:00"])
def test_what_is_not_a_time_is_refused(typed: str) -> None:
    """Anything else gives None (the organiser is asked again)."""
    assert bc.parse_send_time(typed, datetime(2030, 1, 10, 9, 0, tzinfo=UTC), PARIS) is None


def test_typed_time_across_a_dst_change_keeps_the_wall_clock() -> None:
    """The evening before the spring change, "09:00" means 09:00 summer time (07:00 UTC)."""
    now = datetime(2030, 3, 30, 20, 0, tzinfo=PARIS).astimezone(UTC)
    assert bc.parse_send_time("09:00", now, PARIS) == datetime(2030, 3, 31, 7, 0, tzinfo=UTC)


def test_payloads_for_each_kind() -> None:
    """Text goes as HTML; media by file id, with the caption in HTML only when there is one."""
    assert bc.Content(bc.ContentKind.TEXT, "<b>Hi</b>").send() == (
        "sendMessage",
        {"text": "<b>Hi</b>", "parse_mode": "HTML"},
    )
    assert bc.Content(bc.ContentKind.PHOTO, "<i>x</i>", "F1").send() == (
        "sendPhoto",
        {"photo": "F1", "caption": "<i>x</i>", "parse_mode": "HTML"},
    )
    assert bc.Content(bc.ContentKind.VOICE, None, "F2").send() == ("sendVoice", {"voice": "F2"})
    assert bc.Content(bc.ContentKind.DOCUMENT, None, "F3").send() == ("sendDocument", {"document": "F3"})
    assert bc.Content(bc.ContentKind.TEXT, "a").edit(7, "<b>b</b>") == (
        "editMessageText",
        {"message_id": 7, "text": "<b>b</b>", "parse_mode": "HTML"},
    )
    assert bc.Content(bc.ContentKind.PHOTO, "a", "F").edit(7, "b") == (
        "editMessageCaption",
        {"message_id": 7, "caption": "b", "parse_mode": "HTML"},
    )


def test_limits_count_what_the_reader_sees_in_utf16() -> None:
    """4,096 visible characters pass (tags do not count); one more is refused with the count."""
    bc.Content(bc.ContentKind.TEXT, "<b>" + "a" * 4096 + "</b>").check()
    with pytest.raises(PayloadTooLong) as refused:
        bc.Content(bc.ContentKind.TEXT, "&lt;" + "a" * 4096).check()
    assert (refused.value.kind, refused.value.length, refused.value.limit) == ("text", 4097, 4096)
    with pytest.raises(PayloadTooLong) as refused:
        bc.Content(bc.ContentKind.PHOTO, "😀" * 513, "F").check()  # 1,026 UTF-16 code units
    assert (refused.value.kind, refused.value.length, refused.value.limit) == ("caption", 1026, 1024)
    bc.check_correction(bc.ContentKind.DOCUMENT, "x" * 1024)
    with pytest.raises(PayloadTooLong):
        bc.check_correction(bc.ContentKind.DOCUMENT, "x" * 1025)


def test_audiences_round_trip_and_refuse_malformed_values() -> None:
    """Stored audiences decode to what was encoded; anything else is a ValueError."""
    for audience in (
        bc.Audience(bc.AudienceKind.ALL),
        bc.Audience(bc.AudienceKind.CHALLENGE, "benevolat"),
        bc.Audience(bc.AudienceKind.ROLE, "student"),
        bc.Audience(bc.AudienceKind.MEAL, "lunch"),
    ):
        assert bc.Audience.decode(audience.encode()) == audience
    for bad in ("", "everyone", "all:x", "role", "role:", "checked_in"):
        with pytest.raises(ValueError, match=r".*"):
            bc.Audience.decode(bad)


def test_summary_is_plain_and_short() -> None:
    """Tags go, entities are decoded, whitespace is folded, long texts end with an ellipsis."""
    assert bc.summarize("<b>Bus</b>\n\n &amp; <i>train</i>") == "Bus & train"
    long = bc.summarize("word " * 50)
    assert len(long) == bc.SUMMARY_MAX and long.endswith("…")
    assert bc.summarize(None) == ""


def test_rows_are_spread_after_a_short_lead() -> None:
    """The first STAGGER_LEAD seconds of rows are due at once, then STAGGER_PER_SECOND a second."""
    start = datetime(2030, 1, 10, 9, 0, tzinfo=UTC)
    lead_rows = int(bc.STAGGER_LEAD * bc.STAGGER_PER_SECOND)
    assert {bc.stagger(i, start) for i in range(lead_rows + 1)} == {start}
    later = bc.stagger(lead_rows + bc.STAGGER_PER_SECOND, start)
    assert later == start + timedelta(seconds=1)
    times = [bc.stagger(i, start) for i in range(1000)]
    assert times == sorted(times)
