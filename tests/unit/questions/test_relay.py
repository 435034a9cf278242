"""Composing what the switchboard sends (no Telegram, no database): headers, anonymity, fitting the limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from telegram import Chat, Message, User

from bot.context import Services
from bot.i18n import Catalog, escape
from handlers.questions.reading import content_of
from handlers.questions.views import plain
from models import questions as q
from models.outbox import CAPTION_LIMIT, TEXT_LIMIT, telegram_length, validate_payload
from models.participant import Participant, ParticipantStatus
from models.question_relay import carry, staff_header, staff_keyboard, who
from models.questions import Content, ContentKind, QuestionTicket, TicketState
from tests.support.harness import bundled_event

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(settings=None, event=bundled_event(), db=None, catalog=Catalog.load())  # type: ignore[arg-type]


def ticket(**changes: object) -> QuestionTicket:
    values: dict[str, object] = {
        "id": 12,
        "asker_id": 1,
        "challenge_id": "reservation",
        "anonymous": False,
        "state": TicketState.OPEN,
        "asked_at": NOW,
        "waiting_since": NOW,
        "header_version": 0,
        "erased": False,
    }
    values.update(changes)
    return QuestionTicket(**values)


def asker() -> Participant:
    return Participant(
        id=1,
        telegram_id=1001,
        display_name="Amina <b>",
        language="fr",
        role="resident",
        status=ParticipantStatus.ACTIVE,
    )


def test_header_names_the_asker_role_and_challenge_escaped(services: Services) -> None:
    """Name and role (escaped), challenge title, state."""
    header = staff_header(services.event, services.catalog, ticket(), asker())
    assert "Question n°12" in header and "Amina &lt;b&gt; (Habitant·e)" in header
    assert "Réserver une activité du centre social" in header and "En attente" in header


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"anonymous": True}, "une personne du défi « Réserver une activité du centre social »"),
        ({"anonymous": True, "challenge_id": None}, "une personne (sans défi)"),
        ({"erased": True}, "une personne (données effacées)"),
    ],
)
def test_anonymous_and_erased_askers_are_never_named(
    services: Services, changes: dict[str, object], expected: str
) -> None:
    """Staff see only "a participant of challenge X" (or less)."""
    rendered = who(services.event, services.catalog, ticket(**changes), asker(), "fr")
    assert rendered == expected
    assert "Amina" not in staff_header(services.event, services.catalog, ticket(**changes), asker())


def test_state_lines_and_buttons_follow_the_ticket(services: Services) -> None:
    """Open: both buttons; claimed: only "Resolved"; closed: none."""
    catalog = services.catalog
    open_ticket = ticket()
    keyboard = staff_keyboard(catalog, "fr", open_ticket)
    assert keyboard is not None
    assert [b["callback_data"] for b in keyboard["inline_keyboard"][0]] == ["q:claim:12", "q:done:12"]
    claimed = ticket()
    assert q.claim(claimed, 7, "Camille", NOW) is q.ClaimOutcome.CLAIMED
    assert "Prise par Camille" in staff_header(services.event, services.catalog, claimed, asker())
    keyboard = staff_keyboard(catalog, "fr", claimed)
    assert keyboard is not None and [b["callback_data"] for b in keyboard["inline_keyboard"][0]] == [
        "q:done:12"
    ]
    q.resolve(claimed, "Yanis", NOW)
    assert staff_keyboard(catalog, "fr", claimed) is None
    assert "Réglée par Yanis" in staff_header(services.event, services.catalog, claimed, asker())


def test_claim_answer_resolve_state_machine() -> None:
    """Two facilitators never both hold a ticket; answering claims it; closing is final."""
    t = ticket()
    assert q.claim(t, 1, "Camille", NOW) is q.ClaimOutcome.CLAIMED
    assert q.claim(t, 1, "Camille", NOW) is q.ClaimOutcome.ALREADY_YOURS
    assert q.claim(t, 2, "Yanis", NOW) is q.ClaimOutcome.TAKEN
    assert q.record_answer(t, 2, "Yanis", NOW) is True  # first answer: the header changes
    assert q.record_answer(t, 1, "Camille", NOW) is False
    assert t.state is TicketState.ANSWERED and t.claimed_by == 1 and t.answered_by_name == "Yanis"
    q.follow_up_from_asker(t, NOW.replace(hour=11))
    assert t.state is TicketState.CLAIMED and t.waiting_since.hour == 11  # waiting again
    assert q.resolve(t, "Camille", NOW) is True
    assert q.resolve(t, "Camille", NOW) is False
    assert q.claim(t, 3, "Zoé", NOW) is q.ClaimOutcome.CLOSED

    unclaimed = ticket()
    q.record_answer(unclaimed, 5, "Lou", NOW)
    assert unclaimed.claimed_by == 5
    assert q.claim(unclaimed, 6, "Max", NOW) is q.ClaimOutcome.TAKEN


def _carry(kind: ContentKind, head: str, body: str | None) -> tuple[str, list[dict[str, object]]]:
    mode, rows = carry(
        chat_id=-100,
        head=head,
        body=body,
        source=Content(kind, body, 1001, 55),
        base={"parse_mode": "HTML", "message_thread_id": 9},
        keyboard={"inline_keyboard": []},
        key="k",
        purpose=q.PURPOSE_RELAY,
        copy_purpose=q.PURPOSE_RELAY_COPY,
        ref_id=12,
        priority=0,
    )
    for row in rows:
        validate_payload(row.method, row.payload)  # never too long: the outbox would refuse it
    return mode, [{"method": r.method, "purpose": r.purpose, "key": r.dedupe_key, **r.payload} for r in rows]


def test_text_fits_with_its_header_in_one_message() -> None:
    """Header and question in one message, in the topic, with the buttons."""
    mode, rows = _carry(ContentKind.TEXT, "<b>H</b>", escape("a < b & c"))
    assert mode == "text" and len(rows) == 1
    assert rows[0]["text"] == "<b>H</b>\n\na &lt; b &amp; c" and rows[0]["message_thread_id"] == 9


def test_too_long_text_is_split_never_cut() -> None:
    """A text that cannot take a header travels as header, then an exact copy."""
    body = escape("é" * (TEXT_LIMIT - 5))
    mode, rows = _carry(ContentKind.TEXT, "<b>Header</b>", body)
    assert mode == "split"
    assert [r["method"] for r in rows] == ["sendMessage", "copyMessage"]
    assert rows[0]["text"] == "<b>Header</b>" and "reply_markup" in rows[0]
    assert rows[1]["from_chat_id"] == 1001 and rows[1]["message_id"] == 55 and "caption" not in rows[1]
    assert rows[1]["purpose"] == q.PURPOSE_RELAY_COPY and rows[1]["key"] == "k:copy"
    assert rows[1]["message_thread_id"] == 9


def test_media_gets_the_header_as_caption_within_1024() -> None:
    """A photo is copied with header + caption; a caption too long for both splits."""
    mode, rows = _carry(ContentKind.PHOTO, "<b>H</b>", "Mon écran")
    assert mode == "caption" and rows[0]["method"] == "copyMessage"
    assert rows[0]["caption"] == "<b>H</b>\n\nMon écran"
    mode, rows = _carry(ContentKind.PHOTO, "<b>H</b>", "x" * (CAPTION_LIMIT - 2))
    assert mode == "split" and telegram_length(str(rows[0]["text"]), "HTML") == 1


@pytest.mark.parametrize("kind", [ContentKind.LOCATION, ContentKind.VIDEO_NOTE])
def test_content_without_caption_is_split(kind: ContentKind) -> None:
    """Locations and round videos cannot carry a caption: header first, then the copy."""
    mode, rows = _carry(kind, "<b>H</b>", None)
    assert mode == "split" and [r["method"] for r in rows] == ["sendMessage", "copyMessage"]


def _message(**content: object) -> Message:
    return Message(
        message_id=3,
        date=NOW,
        chat=Chat(id=1001, type=Chat.PRIVATE),
        from_user=User(id=1001, first_name="A", is_bot=False),
        **content,  # type: ignore[arg-type]
    )


def test_content_of_recognises_what_can_be_relayed() -> None:
    """Text, media and locations are relayed; stickers, polls and contacts are not."""
    from telegram import Contact, Location, PhotoSize, Sticker, Voice

    assert content_of(_message(text="Hi")) == Content(ContentKind.TEXT, "Hi", 1001, 3)
    photo = [PhotoSize("f", "u", 90, 90)]
    assert content_of(_message(photo=photo, caption="c")) == Content(ContentKind.PHOTO, "c", 1001, 3)
    assert content_of(_message(voice=Voice("v", "u", 3))).kind is ContentKind.VOICE  # type: ignore[union-attr]
    assert content_of(_message(location=Location(3.1, 50.6))).kind is ContentKind.LOCATION  # type: ignore[union-attr]
    sticker = Sticker("s", "u", 512, 512, False, False, Sticker.REGULAR)
    assert content_of(_message(sticker=sticker)) is None
    assert content_of(_message(contact=Contact("+33", "A"))) is None
    assert content_of(_message(text="/question où ?"), text_override="où ?").text == "où ?"  # type: ignore[union-attr]


def test_plain_strips_markup_for_callback_answers() -> None:
    """Callback answers are not parsed as HTML: no tags, no entities."""
    assert plain("<b>Tom &amp; Jerry</b> &lt;3") == "Tom & Jerry <3"
