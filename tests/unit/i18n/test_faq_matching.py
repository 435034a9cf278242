"""Which FAQ entry a typed message asks about: folded words, keywords, two shared words."""

from __future__ import annotations

import pytest

from models.faq import best_match, fold, words
from schedule.loader import BUNDLED_EVENT, load_event_config

EVENT = load_event_config(BUNDLED_EVENT)


def test_fold_and_words() -> None:
    """Accents and capitals go, plurals are stemmed, small words are dropped."""
    assert fold("Où sont les Toilettes") == "ou sont les toilettes"
    assert words("Où sont les toilettes svp ?") == {"toilette"}
    assert words("merci !") == set()
    assert words("👍") == set()


@pytest.mark.parametrize(
    ("message", "entry"),
    [
        ("Où sont les toilettes svp ?", "toilets"),
        ("ou sont les WC", "toilets"),
        ("where are the toilets please", "toilets"),
        ("Le wifi marche pas, c'est quoi le mot de passe ?", "wifi"),
        ("Je peux venir avec mon fils de 12 ans ?", "children"),
        ("Il y a un parking à côté ?", "transport"),
        ("Que faut-il apporter demain ?", "bring"),
        ("À quelle heure ferme la salle ce soir ?", None),
        ("Comment on vient ?", None),  # one word of a question is not enough
        ("merci", None),
    ],
)
def test_bundled_faq_matches(message: str, entry: str | None) -> None:
    """The example event's FAQ answers what it should, and nothing else."""
    match = best_match(EVENT.faq, message, EVENT.languages)
    assert (match.entry.id if match else None) == entry


def test_the_match_says_why() -> None:
    """The keyword or the words that matched are given (for logs and tests)."""
    match = best_match(EVENT.faq, "Les toilettes ?", EVENT.languages)
    assert match is not None and "toilettes" in match.reasons
