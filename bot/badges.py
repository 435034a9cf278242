"""QR codes and printable badges: the personal check-in link as an image, and an A4 PDF of badges.

The QR code carries a Telegram deep link (`https://t.me/<bot>?start=ci-<code>`): a phone camera
opens it in Telegram, which sends `/start ci-<code>` to the bot. Codes are drawn with error
correction M and a quiet zone of four modules, at a size a phone reads from a printed badge.

The PDF is A4 portrait, 2 × 4 badges of 95 × 68 mm with cutting marks: the name large (shrunk
until it fits), the role, the challenge, and the QR code on the right. DejaVu Sans (Debian's
fonts-dejavu-core) draws any name; without it, the PDF falls back to Helvetica (Latin-1 only).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bot import display
from models import arrival
from models.base import utcnow

if TYPE_CHECKING:
    from fpdf import FPDF

    from bot.i18n import Catalog
    from models.db import Database
    from schedule.config import EventConfig

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_COLUMNS, _ROWS = 2, 4
_BADGE_W, _BADGE_H = 95.0, 68.0  # millimetres
_QR_SIZE = 40.0
_NAME_MAX_PT, _NAME_MIN_PT = 26, 11


# qrcode (with Pillow) and fpdf2 (with fontTools) are imported when a code or a badge is drawn,
# not with the bot: together they weigh about 20 MB of memory that most of the event never uses.


def qr_png(link: str, *, box_size: int = 10) -> bytes:
    """The QR code of `link` as a PNG (black on white, four modules of quiet zone)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(link)
    code.make(fit=True)
    image = code.make_image()
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class PrintedBadge:
    """One badge as printed: the texts already in the event's language, and the QR's link."""

    name: str
    role: str
    challenge: str
    link: str


@dataclass(slots=True)
class _Pen:
    """An A4 PDF and the font it writes with: DejaVu Sans when installed, else Helvetica."""

    pdf: FPDF
    unicode: bool

    @classmethod
    def open(cls, title: str) -> _Pen:
        from fpdf import FPDF

        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_auto_page_break(auto=False)
        pdf.set_title(title)
        pdf.set_creator("hackbot")
        unicode = (_FONT_DIR / "DejaVuSans.ttf").exists() and (_FONT_DIR / "DejaVuSans-Bold.ttf").exists()
        if unicode:
            pdf.add_font("badge", "", str(_FONT_DIR / "DejaVuSans.ttf"))
            pdf.add_font("badge", "B", str(_FONT_DIR / "DejaVuSans-Bold.ttf"))
        return cls(pdf, unicode)

    def use(self, size: float, *, bold: bool = False) -> None:
        self.pdf.set_font("badge" if self.unicode else "helvetica", "B" if bold else "", size)

    def fit(self, value: str) -> str:
        """The text as this font can draw it (Helvetica knows Latin-1 only)."""
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")


def _split(pen: _Pen, value: str, width: float, height: float) -> list[str]:
    """The lines `value` takes in a box `width` mm wide, in the current font."""
    lines = pen.pdf.multi_cell(width, height, value, align="L", dry_run=True, output="LINES")
    return [str(line) for line in cast("list[str]", lines)]


def _shrink(pen: _Pen, value: str, width: float) -> float:
    """The largest name size (points) at which `value` fits on two lines of `width` mm."""
    size: float = _NAME_MAX_PT
    while size > _NAME_MIN_PT:
        pen.use(size, bold=True)
        if len(_split(pen, value, width, size * 0.42)) <= 2:
            break
        size -= 1
    return size


def _draw(pen: _Pen, badge: PrintedBadge, x: float, y: float, event_name: str) -> None:
    pdf = pen.pdf
    pdf.set_draw_color(190, 190, 190)
    pdf.rect(x, y, _BADGE_W, _BADGE_H)
    text_w = _BADGE_W - _QR_SIZE - 11
    pdf.set_text_color(90, 90, 90)
    pen.use(8)
    pdf.set_xy(x + 5, y + 5)
    pdf.cell(_BADGE_W - 10, 4, pen.fit(event_name)[:70])
    name = pen.fit(badge.name)
    pdf.set_text_color(0, 0, 0)
    size = _shrink(pen, name, text_w)
    height = size * 0.42
    # Name lines beyond two (a very long name at the smallest size) are cut rather than overlap.
    lines = _split(pen, name, text_w, height)[:3]
    pdf.set_xy(x + 5, y + 12)
    pdf.multi_cell(text_w, height, "\n".join(lines), align="L")
    pdf.set_xy(x + 5, y + 40)
    pen.use(11, bold=True)
    pdf.multi_cell(text_w, 5, pen.fit(badge.role)[:40], align="L", max_line_height=5)
    pdf.set_xy(x + 5, y + 49)
    pen.use(9)
    challenge = _split(pen, pen.fit(badge.challenge), text_w, 4.2)
    pdf.set_xy(x + 5, y + 49)
    pdf.multi_cell(text_w, 4.2, "\n".join(challenge[:3]), align="L")
    qr = io.BytesIO(qr_png(badge.link))
    pdf.image(qr, x=x + _BADGE_W - _QR_SIZE - 4, y=y + (_BADGE_H - _QR_SIZE) / 2 + 2, w=_QR_SIZE, h=_QR_SIZE)


def badges_pdf(badges: Sequence[PrintedBadge], event_name: str) -> bytes:
    """An A4 PDF with 8 badges per page (an empty page says nobody is registered yet)."""
    pen = _Pen.open(event_name)
    pdf = pen.pdf
    margin_x = (210 - _COLUMNS * _BADGE_W) / 2
    margin_y = (297 - _ROWS * _BADGE_H) / 2
    per_page = _COLUMNS * _ROWS
    if not badges:
        pdf.add_page()
    for index, badge in enumerate(badges):
        if index % per_page == 0:
            pdf.add_page()
        slot = index % per_page
        column, row = slot % _COLUMNS, slot // _COLUMNS
        _draw(pen, badge, margin_x + column * _BADGE_W, margin_y + row * _BADGE_H, event_name)
    return bytes(pdf.output())


async def event_badges_pdf(db: Database, event: EventConfig, catalog: Catalog, bot_username: str) -> bytes:
    """The badges of every registered participant, in the event's default language.

    Runs in a transaction: a participant without a code yet gets one (the same as "🎫 Mon badge").
    """
    lang = event.default_language
    async with db.transaction() as session:
        found = await arrival.badges(session, event.id, utcnow())
    printed = [
        PrintedBadge(
            name=badge.name,
            role=display.role_label(catalog, event, lang, badge.role) if badge.role else "",
            challenge=event.challenge_title(lang, badge.challenge_id) if badge.challenge_id else "",
            link=arrival.deep_link(bot_username, badge.payload),
        )
        for badge in found
    ]
    return badges_pdf(printed, event.name.get(lang, event.default_language))
