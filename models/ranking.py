"""The jury's ranking, computed from the scores alone (pure: no database, no event file).

The method, as shown to organisers and written in the event file's comments:

1. **A juror's mark for a team** is the weighted mean of their scores (1-10) on the jury criteria:
   `sum(weight * score) / sum(weights)`. A juror who has not scored every criterion of a team gives
   no mark for that team (a half-scored team would be judged on fewer criteria than the others).
2. **Per-juror normalisation** (the event file's `normalisation`), so that a harsh or a generous
   juror weighs the same as the others:
   - `zscore` (the default): `(mark - juror's mean) / juror's standard deviation` over the teams that
     juror marked. It cancels both the offset (one juror gives 4-6, another 7-9) and the spread (one
     uses 5-6, another 1-10), and every mark counts, where min-max leans on the two extremes only;
     with five or so teams an outlier would decide the whole scale under min-max.
   - `minmax`: `(mark - lowest) / (highest - lowest)`: the juror's best team 1, worst 0. Easier to
     read, but decided by the two extremes.
   - `none`: the marks as given.
   A juror who marked one team only, or gave every team the same mark, expresses no preference:
   their normalised marks are 0 (z-score) or 0.5 (min-max), so they neither lift nor sink anyone.
3. **A team's score** is the mean of the normalised marks of the jurors who marked it. A juror who
   left midway counts for the teams they marked; the ranking says so in a note (`JurorNote`).
4. **Ties** (scores equal to 1e-9) are broken, in order, by the higher raw mean (the mean of the
   marks before normalisation), then by the higher mean on the criterion with the largest weight
   (the first listed among equal weights). Teams still equal share the rank ("1, 2, 2, 4") and are
   listed in the running order.
Teams no juror marked are left unranked, at the end.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

SCORE_MIN = 1
SCORE_MAX = 10
"""The jury's scale (also a CHECK constraint of the scores table)."""

_EPSILON = 1e-9


class Normalisation(enum.StrEnum):
    """How each juror's marks are rescaled before the team means (see the module docstring)."""

    NONE = "none"
    ZSCORE = "zscore"
    MINMAX = "minmax"


class TieBreak(enum.StrEnum):
    """What separated a team from the one ranked just above it with the same score."""

    RAW_MEAN = "raw_mean"
    TOP_CRITERION = "top_criterion"
    SHARED = "shared"  # nothing did: same rank


@dataclass(frozen=True, slots=True)
class Score:
    """One score given by one juror to one team on one criterion."""

    juror: int
    team: str
    criterion: str
    value: int


@dataclass(frozen=True, slots=True)
class RankedTeam:
    """A team's line in the ranking, with the detail organisers are shown."""

    team: str
    rank: int | None  # None: no juror marked it
    score: float | None  # mean of the normalised marks
    raw_mean: float | None  # mean of the marks as given (1-10)
    marks: Mapping[int, float]  # juror -> mark as given (weighted mean)
    normalised: Mapping[int, float]  # juror -> normalised mark
    criterion_means: Mapping[str, float]  # criterion -> mean score, over the jurors who marked the team
    tie_break: TieBreak | None = None  # set when the score equals the previous team's


@dataclass(frozen=True, slots=True)
class JurorNote:
    """A juror who did not mark every team (left midway, or still scoring)."""

    juror: int
    marked: int
    teams: int


@dataclass(frozen=True, slots=True)
class Ranking:
    """The whole ranking: teams best first (unranked last), and notes on incomplete jurors."""

    method: Normalisation
    teams: list[RankedTeam]
    notes: list[JurorNote] = field(default_factory=list)


def weighted_mark(scores: Mapping[str, int], weights: Mapping[str, float]) -> float | None:
    """A juror's mark for one team: the weighted mean over every criterion, None if one is missing."""
    if not weights or any(criterion not in scores for criterion in weights):
        return None
    total = sum(weights.values())
    return sum(weight * scores[criterion] for criterion, weight in weights.items()) / total


def normalise(marks: Mapping[str, float], method: Normalisation) -> dict[str, float]:
    """One juror's marks (team -> mark) rescaled by `method`."""
    if method is Normalisation.NONE or not marks:
        return dict(marks)
    values = list(marks.values())
    if method is Normalisation.MINMAX:
        low, high = min(values), max(values)
        if high - low < _EPSILON:
            return dict.fromkeys(marks, 0.5)
        return {team: (mark - low) / (high - low) for team, mark in marks.items()}
    mean = sum(values) / len(values)
    deviation = math.sqrt(sum((value - mean) ** 2 for value in values) / len(values))
    if deviation < _EPSILON:
        return dict.fromkeys(marks, 0.0)
    return {team: (mark - mean) / deviation for team, mark in marks.items()}


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def _equal(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < _EPSILON


def rank(
    teams: Sequence[str],
    scores: Iterable[Score],
    weights: Mapping[str, float],
    method: Normalisation = Normalisation.ZSCORE,
    jurors: Iterable[int] = (),
) -> Ranking:
    """The ranking of `teams` (given in running order) from the jury's `scores`.

    `weights` maps each jury criterion to its weight, in the order of the event file (the first of
    the largest weights breaks ties). Scores of teams not in `teams` or criteria not in `weights`
    are ignored. `jurors` (the jury of the event file) adds a note for a juror who scored nothing.
    """
    given: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for score in scores:
        if score.team in teams and score.criterion in weights:
            given[score.juror][score.team][score.criterion] = score.value
    marks: dict[int, dict[str, float]] = {}
    for juror, by_team in given.items():
        juror_marks = {
            team: mark
            for team, values in by_team.items()
            if (mark := weighted_mark(values, weights)) is not None
        }
        if juror_marks:
            marks[juror] = juror_marks
    normalised = {juror: normalise(juror_marks, method) for juror, juror_marks in marks.items()}
    top = max(weights, key=lambda c: weights[c]) if weights else None

    lines: list[RankedTeam] = []
    for team in teams:
        team_marks = {juror: m[team] for juror, m in marks.items() if team in m}
        team_norm = {juror: n[team] for juror, n in normalised.items() if team in n}
        criterion_means = {
            criterion: sum(given[juror][team][criterion] for juror in team_marks) / len(team_marks)
            for criterion in weights
            if team_marks
        }
        lines.append(
            RankedTeam(
                team=team,
                rank=None,
                score=_mean(team_norm.values()),
                raw_mean=_mean(team_marks.values()),
                marks=team_marks,
                normalised=team_norm,
                criterion_means=criterion_means,
            )
        )

    def key(line: RankedTeam) -> tuple[float, float, float]:
        assert line.score is not None and line.raw_mean is not None
        top_mean = line.criterion_means.get(top, 0.0) if top is not None else 0.0
        # Rounded so that float noise (0.1 + 0.2) never decides a place.
        return (-round(line.score, 9), -round(line.raw_mean, 9), -round(top_mean, 9))

    # `sorted` is stable: teams equal on every key keep the running order.
    ranked = sorted((line for line in lines if line.score is not None), key=key)
    result: list[RankedTeam] = []
    previous: RankedTeam | None = None
    for position, line in enumerate(ranked, start=1):
        tie: TieBreak | None = None
        place = position
        if previous is not None and _equal(previous.score, line.score):
            if not _equal(previous.raw_mean, line.raw_mean):
                tie = TieBreak.RAW_MEAN
            elif top is not None and not _equal(
                previous.criterion_means.get(top), line.criterion_means.get(top)
            ):
                tie = TieBreak.TOP_CRITERION
            else:
                tie = TieBreak.SHARED
                assert previous.rank is not None
                place = previous.rank
        line = replace(line, rank=place, tie_break=tie)
        result.append(line)
        previous = line
    result += [line for line in lines if line.score is None]

    notes = [
        JurorNote(juror, len(marks.get(juror, {})), len(teams))
        for juror in sorted(set(given) | set(jurors))
        if len(marks.get(juror, {})) < len(teams)
    ]
    return Ranking(method, result, notes)
