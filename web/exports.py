"""CSV exports that spreadsheet software opens right: UTF-8 with a BOM, and no formula injection.

- The byte-order mark makes Excel read accents (é, ç) as UTF-8 instead of the local code page.
- The separator follows the reader's language: `;` in French (Excel's list separator in France),
  `,` otherwise.
- A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a
  formula by a spreadsheet: it gets a leading apostrophe, which spreadsheets show as text
  (OWASP's advice for CSV injection). Numbers are written as numbers.
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


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str = ",") -> bytes:
    """The CSV file as bytes: BOM, header, rows; every text cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return (BOM + buffer.getvalue()).encode("utf-8")
