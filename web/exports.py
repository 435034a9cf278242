"""CSV exports that spreadsheet software opens right: UTF-8 with a BOM, and no formula injection.

- The byte-order mark makes Excel read accents (é, ç) as UTF-8 instead of the local code page.
- The separator follows the reader's language: `;` in French (Excel's list separator in France),
  `,` otherwise.
- A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a
  formula by a spreadsheet: it gets a leading apostrophe, which spreadsheets show as text
  (OWASP's advice for CSV injection). Numbers are written as numbers, with the reader's decimal
  separator: a comma in French (French spreadsheets read `1.5` as a date or as text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"

Cell = str | int | float | None


def neutralise(value: Cell) -> Cell:
    """Make a text cell inert for spreadsheets; other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def delimiter_for(lang: str) -> str:
    """`;` for French spreadsheets, `,` for the others."""
    return ";" if lang == "fr" else ","


def decimal_for(lang: str) -> str:
    """`,` for French spreadsheets, `.` for the others."""
    return "," if lang == "fr" else "."


def _cell(value: Cell, decimal: str) -> Cell:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value).replace(".", decimal)
    return neutralise(value)


def to_csv(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str = ",", decimal: str = "."
) -> bytes:
    """The CSV file as bytes: BOM, header, rows; every text cell neutralised, decimals with `decimal`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([_cell(cell, decimal) for cell in row])
    return (BOM + buffer.getvalue()).encode("utf-8")
