"""What jurors and organisers see of the jury: a juror's sheet, a team to score, the ranking with its detail.

Pure rendering, like `views`: values in (what a `models.results` function returned), text and
buttons out.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton

from handlers.common import callback_data
from handlers.results.views import FEATURE, View, Voice, keyboard_of
from models import results as rs
from models.ranking import Ranking


def _weight(value: float) -> str:
    return f"{value:g}"


def sheet_view(voice: Voice, sheet: rs.JurySheet) -> View:
    """A juror's progress, one button per team."""
    done = sum(1 for _, scored in sheet.teams if scored == sheet.criteria)
    lines: list[str] = [
        voice.text("jury_title"),
        voice.text("jury_progress", done=done, count=len(sheet.teams)),
    ]
    if sheet.closed:
        lines.append(voice.text("jury_closed"))
    rows = []
    for cid, scored in sheet.teams:
        mark = "✅" if scored == sheet.criteria else ("✏️" if scored else "⬜")
        label = voice.label(
            "jury_line", mark=mark, title=voice.title(cid), scored=scored, criteria=sheet.criteria
        )
        if not sheet.closed:
            rows.append([InlineKeyboardButton(label, callback_data=callback_data(FEATURE, "jt", cid))])
        else:
            lines.append(label)
    return "\n".join(lines), keyboard_of(*rows)


def team_sheet_view(voice: Voice, sheet: rs.JurySheet, challenge_id: str, index: int | None = None) -> View:
    """One team for a juror: the criterion to score (1-10), or every score with a button to change one."""
    criteria = voice.event.results.jury_criteria
    default = voice.event.default_language
    given = sheet.scores.get(challenge_id, {})
    lines: list[str] = [voice.text("jury_team_title", title=voice.title(challenge_id))]
    for criterion in criteria:
        if criterion.id in given:
            lines.append(
                voice.text(
                    "jury_scored_line",
                    criterion=criterion.label.get(voice.lang, default),
                    value=given[criterion.id],
                )
            )
    if index is None:
        index = next((i for i, c in enumerate(criteria) if c.id not in given), None)
    back = [voice.button("button_back", "jury")]
    if index is None:
        lines.append("")
        lines.append(voice.text("jury_team_done"))
        rows = [
            [
                InlineKeyboardButton(
                    f"✏️ {c.label.get(voice.lang, default)}",
                    callback_data=callback_data(FEATURE, "jc", challenge_id, i),
                )
            ]
            for i, c in enumerate(criteria)
        ]
        return "\n".join(lines), keyboard_of(*rows, back)
    criterion = criteria[index]
    lines.append("")
    lines.append(
        voice.text(
            "jury_criterion",
            criterion=criterion.label.get(voice.lang, default),
            weight=_weight(criterion.weight),
        )
    )
    values = [
        InlineKeyboardButton(str(v), callback_data=callback_data(FEATURE, "js", challenge_id, index, v))
        for v in range(1, 11)
    ]
    return "\n".join(lines), keyboard_of(values[:5], values[5:], back)


def juror_name(voice: Voice, juror: int, names: dict[int, str]) -> str:
    """A juror's first name if they registered, else their number in the event file."""
    if juror in names:
        return names[juror]
    jurors = voice.event.results.jurors
    number = jurors.index(juror) + 1 if juror in jurors else 0
    return voice.label("overview_juror_name", number=number)


def _figure(voice: Voice, value: float, signed: bool = False) -> str:
    text = f"{value:+.2f}" if signed else f"{value:.2f}"
    return text.replace(".", ",") if voice.lang == "fr" else text


def ranking_lines(voice: Voice, ranking: Ranking, names: dict[int, str]) -> list[str]:
    """The ranking with its detail: score, raw mean, each juror's mark, ties and notes."""
    method = ranking.method.value
    lines: list[str] = [voice.text("ranking_title", method=voice.label(f"ranking_method.{method}"))]
    signed = method == "zscore"
    for team in ranking.teams:
        title = voice.title(team.team)
        if team.rank is None or team.score is None or team.raw_mean is None:
            lines.append(voice.text("ranking_unranked", title=title))
            continue
        lines.append(
            voice.text(
                "ranking_line",
                rank=team.rank,
                title=title,
                score=_figure(voice, team.score, signed),
                mean=_figure(voice, team.raw_mean),
                jurors=len(team.marks),
            )
        )
        if team.tie_break is not None:
            lines.append(voice.text(f"ranking_tie.{team.tie_break.value}"))
        details = " · ".join(
            f"{juror_name(voice, juror, names)} {_figure(voice, mark)}"
            for juror, mark in sorted(team.marks.items())
        )
        lines.append(voice.text("ranking_detail", details=details))
    for note in ranking.notes:
        lines.append(
            voice.text(
                "ranking_note",
                name=juror_name(voice, note.juror, names),
                marked=note.marked,
                teams=note.teams,
            )
        )
    return lines


def overview_view(voice: Voice, overview: rs.JuryOverview, names: dict[int, str]) -> View:
    """Organisers: who scored what (not the scores) while open; the ranking and publish once closed."""
    lines: list[str] = [voice.text("overview_title")]
    for juror in overview.jurors:
        progress = overview.progress.get(juror, {})
        done = sum(1 for cid in overview.teams if progress.get(cid, 0) == overview.criteria)
        lines.append("")
        lines.append(
            voice.text(
                "overview_juror", name=juror_name(voice, juror, names), done=done, count=len(overview.teams)
            )
        )
        cells = []
        for cid in overview.teams:
            scored = progress.get(cid, 0)
            mark = "✅" if scored == overview.criteria else ("✏️" if scored else "⬜")
            cells.append(voice.label("overview_cell", mark=mark, title=voice.title(cid)))
        lines.append(voice.text("ranking_detail", details=" · ".join(cells)))
    if not overview.closed:
        return "\n".join(lines), keyboard_of([voice.button("button_close_scoring", "jclose")])
    lines.append("")
    lines.append(voice.text("overview_closed"))
    assert overview.ranking is not None
    lines.append("")
    lines += ranking_lines(voice, overview.ranking, names)
    if voice.event.results.public_vote:
        if overview.votes:
            votes = ", ".join(
                f"{voice.title(cid)} {count}"
                for cid, count in sorted(overview.votes.items(), key=lambda kv: -kv[1])
            )
            lines.append(voice.text("ranking_votes", lines=votes))
        else:
            lines.append(voice.text("ranking_votes_none"))
    keyboard = None if overview.published else keyboard_of([voice.button("button_publish", "pub")])
    return "\n".join(lines), keyboard
