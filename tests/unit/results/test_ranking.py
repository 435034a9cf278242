"""The jury's ranking on hand-computed examples: weighted means, normalisation, ties, partial jurors."""

from __future__ import annotations

import math

import pytest

from models.ranking import JurorNote, Normalisation, Score, TieBreak, normalise, rank, weighted_mark

WEIGHTS = {"impact": 3.0, "pitch": 1.0}


def marks(juror: int, **by_team: tuple[int, int]) -> list[Score]:
    """Scores of one juror: team -> (impact, pitch)."""
    out: list[Score] = []
    for team, (impact, pitch) in by_team.items():
        out += [Score(juror, team, "impact", impact), Score(juror, team, "pitch", pitch)]
    return out


def test_weighted_mark_by_hand() -> None:
    """(3*8 + 1*4) / 4 = 7; a missing criterion gives no mark."""
    assert weighted_mark({"impact": 8, "pitch": 4}, WEIGHTS) == 7.0
    assert weighted_mark({"impact": 8}, WEIGHTS) is None


def test_plain_means_without_normalisation() -> None:
    """Juror 1: a=7, b=5; juror 2: a=9, b=10 → a=8, b=7.5."""
    scores = marks(1, a=(8, 4), b=(5, 5)) + marks(2, a=(9, 9), b=(10, 10))
    ranking = rank(["a", "b"], scores, WEIGHTS, Normalisation.NONE)
    assert [(t.team, t.rank, t.score) for t in ranking.teams] == [("a", 1, 8.0), ("b", 2, 7.5)]
    assert ranking.teams[0].marks == {1: 7.0, 2: 9.0}
    assert ranking.teams[0].criterion_means == {"impact": 8.5, "pitch": 6.5}
    assert ranking.notes == []


def test_zscore_cancels_a_generous_juror() -> None:
    """A generous juror's narrow preference no longer outweighs a harsh juror's clear one.

    Juror 1 (harsh): a=2, b=6 (mean 4, sd 2 → a=-1, b=+1).
    Juror 2 (generous): a=10, b=9 (mean 9.5, sd 0.5 → a=+1, b=-1).
    Raw: a=6, b=7.5 → b first; z-score: a=0, b=0 → tied; raw mean breaks it: b first.
    Adding juror 3: a=5, b=4 (a=+1, b=-1) → a=+1/3, b=-1/3 → a first, although b's raw mean is higher.
    """
    scores = marks(1, a=(2, 2), b=(6, 6)) + marks(2, a=(10, 10), b=(9, 9))
    ranking = rank(["a", "b"], scores, WEIGHTS, Normalisation.ZSCORE)
    assert ranking.teams[0].team == "b" and ranking.teams[0].tie_break is None
    assert ranking.teams[1].tie_break is TieBreak.RAW_MEAN and ranking.teams[1].rank == 2
    assert ranking.teams[0].normalised == {1: 1.0, 2: -1.0}

    scores += marks(3, a=(5, 5), b=(4, 4))
    ranking = rank(["a", "b"], scores, WEIGHTS, Normalisation.ZSCORE)
    assert [t.team for t in ranking.teams] == ["a", "b"]
    assert ranking.teams[0].score == pytest.approx(1 / 3)
    assert ranking.teams[0].raw_mean == pytest.approx(17 / 3)
    assert ranking.teams[1].raw_mean == pytest.approx(19 / 3)


def test_minmax_by_hand() -> None:
    """Juror 1: a=2, b=4, c=10 → 0, 0.25, 1; juror 2: a=6, b=8, c=7 → 0, 1, 0.5 → c=0.75, b=0.625, a=0."""
    scores = marks(1, a=(2, 2), b=(4, 4), c=(10, 10)) + marks(2, a=(6, 6), b=(8, 8), c=(7, 7))
    ranking = rank(["a", "b", "c"], scores, WEIGHTS, Normalisation.MINMAX)
    assert [(t.team, t.score) for t in ranking.teams] == [("c", 0.75), ("b", 0.625), ("a", 0.0)]


def test_a_juror_with_no_preference_is_neutral() -> None:
    """Same mark for every team: 0 under z-score, 0.5 under min-max."""
    assert normalise({"a": 6.0, "b": 6.0}, Normalisation.ZSCORE) == {"a": 0.0, "b": 0.0}
    assert normalise({"a": 6.0, "b": 6.0}, Normalisation.MINMAX) == {"a": 0.5, "b": 0.5}
    z = normalise({"a": 1.0, "b": 2.0, "c": 3.0}, Normalisation.ZSCORE)
    assert z["a"] == pytest.approx(-math.sqrt(1.5)) and z["c"] == pytest.approx(math.sqrt(1.5))


def test_ties_broken_by_the_top_criterion_then_shared() -> None:
    """Same score and raw mean: the heaviest criterion decides; all equal: shared rank, running order.

    a: impact 6, pitch 10 → 7; b: impact 7, pitch 7 → 7; c: impact 7, pitch 7 → 7; d: 9, 9 → 9.
    """
    scores = marks(1, a=(6, 10), b=(7, 7), c=(7, 7), d=(9, 9))
    ranking = rank(["a", "c", "b", "d"], scores, WEIGHTS, Normalisation.NONE)
    assert [(t.team, t.rank, t.tie_break) for t in ranking.teams] == [
        ("d", 1, None),
        ("c", 2, None),
        ("b", 2, TieBreak.SHARED),
        ("a", 4, TieBreak.TOP_CRITERION),
    ]


def test_float_noise_never_decides() -> None:
    """0.1 + 0.2 and 0.3 are equal scores."""
    weights = {"x": 1.0}
    scores = [Score(1, "a", "x", 3), Score(1, "b", "x", 3)]
    ranking = rank(["a", "b"], scores, weights, Normalisation.NONE)
    assert ranking.teams[1].tie_break is TieBreak.SHARED


def test_a_juror_who_left_midway() -> None:
    """Juror 2 marked a only (b half-scored): counted for a, noted; juror 3 listed, scored nothing.

    Without normalisation: a = (7 + 9) / 2 = 8, b = 5 (juror 1 only).
    """
    scores = marks(1, a=(8, 4), b=(5, 5)) + marks(2, a=(9, 9)) + [Score(2, "b", "impact", 1)]
    ranking = rank(["a", "b", "c"], scores, WEIGHTS, Normalisation.NONE, jurors=[1, 2, 3])
    assert [(t.team, t.rank, t.score) for t in ranking.teams] == [
        ("a", 1, 8.0),
        ("b", 2, 5.0),
        ("c", None, None),
    ]
    assert ranking.notes == [JurorNote(1, 2, 3), JurorNote(2, 1, 3), JurorNote(3, 0, 3)]
    # Under z-score the juror with one team only is neutral for it (0), not decisive.
    z = rank(["a", "b"], scores, WEIGHTS, Normalisation.ZSCORE)
    assert z.teams[0].normalised == {1: 1.0, 2: 0.0}


def test_unknown_teams_and_criteria_are_ignored() -> None:
    """Scores for a team or criterion outside the event are not counted."""
    scores = [*marks(1, a=(5, 5)), Score(1, "zz", "impact", 10), Score(1, "a", "other", 1)]
    ranking = rank(["a"], scores, WEIGHTS, Normalisation.NONE)
    assert [(t.team, t.score) for t in ranking.teams] == [("a", 5.0)]
