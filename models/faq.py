"""Which FAQ entry a typed message asks about, by a rule a person can follow.

Words are compared folded: lower case, accents removed ("Où" = "ou", "Réseau" = "reseau"), a final
plural "s"/"x" dropped, and small words ("le", "the", "est-ce que"...) ignored. An entry matches
when one of its `keywords` is in the message (a keyword of several words needs all of them), or
when the message has two or more words of the entry's question. The best score wins; a tie goes to
the entry written first. Nothing is learnt, nothing is guessed: what does not match goes to the team.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from schedule.config import FaqEntry

_WORD = re.compile(r"[a-z0-9]+")

# Words that say nothing about the subject of a question (already folded).
_STOPWORDS = frozenset(
    """
    a au aux avec c ca ce ces cet cette d dans de des du elle en est et etre il ils j je l la le les
    leur lui m ma me mes moi mon n ne nous on ou par pas peut peux pour qu que quel quelle quels qui
    s sa se ses si son sont sur svp t ta te tes toi ton tu un une vos votre vous y quoi comment
    combien quand puis dois doit faut bonjour merci stp plait fait avoir ai as avez ont
    the an and are at be can do does for from have how i in is it me my of on or please should so
    that there this to we what when where which who why will with you your hello hi thanks get
    """.split()  # noqa: SIM905 - a block of words reads better than a list of quoted strings
)

KEYWORD_SCORE = 2
"""A keyword found counts as much as two words of the question: one is enough to match."""
MIN_SCORE = 2


def fold(text: str) -> str:
    """Lower case without accents: "Où sont les Toilettes" → "ou sont les toilettes"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _stem(word: str) -> str:
    """The word without a plural ending ("toilettes" → "toilette", "jeux" → "jeu")."""
    if len(word) > 3 and word[-1] in "sx":
        return word[:-1]
    return word


def words(text: str) -> set[str]:
    """The meaningful words of a text, folded and stemmed."""
    return {_stem(w) for w in _WORD.findall(fold(text)) if w not in _STOPWORDS and len(w) > 1}


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """The entry that matched, and why (the keyword or the shared words), for logs and tests."""

    entry: FaqEntry
    score: int
    reasons: tuple[str, ...]


def _score(entry: FaqEntry, said: set[str], languages: list[str]) -> FaqMatch:
    reasons: list[str] = []
    score = 0
    for keyword in entry.keywords:
        needed = words(keyword)
        if needed and needed <= said:
            score += KEYWORD_SCORE
            reasons.append(keyword)
    asked: set[str] = set()
    for lang in languages:
        if lang in entry.question.languages:
            asked |= words(entry.question.get(lang, lang))
    shared = sorted(asked & said)
    score += len(shared)
    reasons.extend(shared)
    return FaqMatch(entry, score, tuple(reasons))


def best_match(faq: list[FaqEntry], message: str, languages: list[str]) -> FaqMatch | None:
    """The FAQ entry `message` asks about, or None when none matches well enough."""
    said = words(message)
    if not said:
        return None
    best: FaqMatch | None = None
    for entry in faq:
        found = _score(entry, said, languages)
        if found.score >= MIN_SCORE and (best is None or found.score > best.score):
            best = found
    return best
