"""CSV exports: formula cells neutralised, UTF-8 with BOM, separator by language."""

from __future__ import annotations

import csv
import io

import pytest

from web.exports import decimal_for, delimiter_for, neutralise, to_csv


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+33 6 12", "'+33 6 12"),
        ("-1+2", "'-1+2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Zoé", "Zoé"),
        ("a=b", "a=b"),
        ("", ""),
        (-3, -3),
        (2.5, 2.5),
        (None, None),
    ],
)
def test_neutralise(cell, expected):
    """Only text cells that a spreadsheet would run as a formula get an apostrophe."""
    assert neutralise(cell) == expected


def test_csv_round_trip_with_accents_and_injection():
    """Accents survive, the BOM is there, dangerous cells come back inert, numbers stay numbers."""
    body = to_csv(["Prénom", "Nombre"], [["Zoé", 3], ['=HYPERLINK("x")', -1], ["a;b", None]], delimiter=";")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Prénom", "Nombre"], ["Zoé", "3"], ['\'=HYPERLINK("x")', "-1"], ["a;b", ""]]


def test_delimiter_follows_language():
    """French spreadsheets split on semicolons."""
    assert delimiter_for("fr") == ";" and delimiter_for("en") == ","


def test_french_decimals_use_a_comma():
    """`1.5` minutes is written `1,5` for French spreadsheets; integers and texts are untouched."""
    body = to_csv(["Minutes", "n", "t"], [[1.5, 3, "1.5"], [12.0, 0, None]], delimiter=";", decimal=",")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[1:] == [["1,5", "3", "1.5"], ["12,0", "0", ""]]
    english = to_csv(["Minutes"], [[1.5]], delimiter=",")
    assert english.decode("utf-8-sig").splitlines()[1] == "1.5"
    assert decimal_for("fr") == "," and decimal_for("en") == "."
