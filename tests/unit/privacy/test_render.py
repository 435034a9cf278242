"""The pure pieces of `/mydata`: rendering values, packing lines into messages, naming challenges."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.display import challenge_title, pack_messages
from bot.i18n import Catalog
from handlers.profile import render_value
from models.broadcasts import ContentKind as BroadcastKind
from models.challenges import JoinedVia
from models.privacy import Phrase
from models.questions import ContentKind as QuestionKind
from models.questions import TicketState
from tests.support.harness import bundled_event

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_plain_values_are_escaped_and_none_is_a_dash(catalog: Catalog) -> None:
    """A person's text is escaped once; a missing value shows as the catalog's dash; numbers as digits."""
    assert render_value(catalog, "fr", PARIS, "<b>Tom</b> & Jerry") == "&lt;b&gt;Tom&lt;/b&gt; &amp; Jerry"
    assert render_value(catalog, "fr", PARIS, None) == "—"
    assert render_value(catalog, "fr", PARIS, 3) == "3"


def test_datetimes_are_shown_in_the_event_timezone(catalog: Catalog) -> None:
    """Stored in UTC, shown in the event's time (summer time included)."""
    assert (
        render_value(catalog, "fr", PARIS, datetime(2017, 10, 13, 16, 30, tzinfo=UTC)) == "13/10/2017 18:30"
    )
    assert render_value(catalog, "fr", PARIS, datetime(2017, 12, 1, 8, 0, tzinfo=UTC)) == "01/12/2017 09:00"


def test_phrases_escape_their_parameters_once_even_when_nested(catalog: Catalog) -> None:
    """Catalog wording in the person's language; person text inside escaped once; a nested phrase is not."""
    ticket = Phrase(
        "questions.mydata_ticket",
        {"number": 12, "state": Phrase("questions.mydata_state.open"), "text": "<i>où</i> & quand"},
    )
    assert (
        render_value(catalog, "fr", PARIS, ticket) == "n°12 · en attente · &lt;i&gt;où&lt;/i&gt; &amp; quand"
    )
    assert render_value(catalog, "en", PARIS, ticket) == "#12 · waiting · &lt;i&gt;où&lt;/i&gt; &amp; quand"
    inner = Phrase("questions.mydata_ticket", {"number": 1, "state": "a", "text": "Tom & Jerry"})
    outer = Phrase("questions.mydata_ticket", {"number": 2, "state": inner, "text": "x"})
    assert render_value(catalog, "fr", PARIS, outer) == "n°2 · n°1 · a · Tom &amp; Jerry · x"
    sent = Phrase(
        "broadcasts.mydata_sent",
        {
            "number": 3,
            "when": datetime(2017, 10, 13, 16, 30, tzinfo=UTC),
            "kind": Phrase("broadcasts.mydata_kind.photo"),
            "summary": "Le bus",
        },
    )
    assert render_value(catalog, "fr", PARIS, sent) == "n°3 du 13/10/2017 18:30, photo « Le bus »"


def test_plural_phrases_follow_the_count(catalog: Catalog) -> None:
    """`count` picks the singular or the plural."""
    one = Phrase("questions.mydata_conversation", {"number": 4, "count": 1})
    two = Phrase("questions.mydata_conversation", {"number": 4, "count": 2})
    assert "1 autre message " in render_value(catalog, "fr", PARIS, one)
    assert "2 autres messages" in render_value(catalog, "fr", PARIS, two)


def test_every_wording_a_provider_may_pick_exists(catalog: Catalog) -> None:
    """Keys built from enum values (states, kinds, how one joined) are in every catalog."""
    keys = [
        *(f"questions.mydata_state.{state.value}" for state in TicketState),
        *(f"questions.mydata_content.{kind.value}" for kind in QuestionKind),
        *(f"broadcasts.mydata_kind.{kind.value}" for kind in BroadcastKind),
        *(f"challenges.mydata_via.{via.value}" for via in JoinedVia if via is not JoinedVia.SELF),
    ]
    for lang in catalog.languages:
        missing = [key for key in keys if key not in catalog.keys(lang)]
        assert missing == [], f"{lang}: {missing}"


def test_lines_are_packed_by_block_into_as_few_messages_as_fit() -> None:
    """Blocks are separated by a blank line; a block goes whole to the next message when it does not fit."""
    assert pack_messages([["title", "a"], ["b", "c"]]) == ["title\na\n\nb\nc"]
    assert pack_messages([["aaaa", "bbbb"], ["cccc", "dddd"]], limit=12) == ["aaaa\nbbbb", "cccc\ndddd"]


def test_a_block_longer_than_a_message_is_split_between_lines() -> None:
    """Only a block too long for any message is split, and never inside a line."""
    assert pack_messages([["x"], ["aaaa", "bbbb", "cccc"]], limit=9) == ["x", "aaaa\nbbbb", "cccc"]


def test_packing_counts_what_telegram_counts() -> None:
    """Telegram counts UTF-16 units of the text once the HTML is parsed: tags are free, an emoji is two."""
    assert pack_messages([["<b>ab</b>"], ["cd"]], limit=6) == ["<b>ab</b>\n\ncd"]
    assert pack_messages([["😀😀"], ["cd"]], limit=6) == ["😀😀", "cd"]


def test_challenge_titles_come_from_the_event_file_in_the_persons_language() -> None:
    """The title in the person's language; for a challenge gone from the file, its last title, else its id."""
    event = bundled_event()
    assert challenge_title(event, "fr", "benevolat") == "Mettre en relation bénévoles et besoins"
    assert challenge_title(event, "en", "benevolat") == "Matching volunteers with needs"
    assert challenge_title(event, "de", "benevolat") == "Mettre en relation bénévoles et besoins"
    assert challenge_title(event, "fr", "gone", "Ancien défi") == "Ancien défi"
    assert challenge_title(event, "fr", "gone") == "gone"
