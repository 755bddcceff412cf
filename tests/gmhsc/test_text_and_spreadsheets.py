"""The one text cleaner (gmhsc.text) and the one formula neutraliser (gmhsc.spreadsheets)."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmhsc.spreadsheets import (
    csv_writer,
    is_formula_like,
    neutralise,
    quote_text,
    unquote_text,
    xlsx_text,
)
from gmhsc.text import TextError, clean_text, control_character


@pytest.mark.parametrize(
    ("value", "multiline", "message"),
    [
        ({"a": 1}, False, "must be text, not an object"),
        ([1, 2], False, "must be text, not a list"),
        (True, False, "must be text, not true or false"),
        (5, False, "must be text, not a number"),
        ("INV\x00-1", False, "contains the NUL character (U+0000); remove it"),
        ("a\x01b", True, "contains the control character U+0001; remove it"),
        ("red\x1b[31m", True, "contains the control character U+001B; remove it"),
        ("c1\x85", False, "contains the control character U+0085; remove it"),
        (
            "x\ud800",
            False,
            "contains U+D800, which is not a character (text that is not valid Unicode)",
        ),
        ("two\nlines", False, "must be on one line; remove the line break or tab"),
        ("a\tb", False, "must be on one line; remove the line break or tab"),
    ],
)
def test_refuses_what_no_field_may_hold(value, multiline, message):
    with pytest.raises(TextError) as caught:
        clean_text(value, multiline=multiline)
    assert str(caught.value) == message


def test_keeps_line_breaks_in_multi_line_fields_and_trims_blanks():
    assert clean_text("  Winter\r\npressures\t ", multiline=True) == "Winter\r\npressures"
    assert clean_text(None) == ""
    assert clean_text("=HYPERLINK(1)") == "=HYPERLINK(1)"  # formulas are neutralised on export
    with pytest.raises(TextError, match="is required"):
        clean_text("  ", required=True)
    with pytest.raises(TextError, match="longer than 3"):
        clean_text("abcd", max_length=3)


@given(st.text())
def test_clean_text_returns_only_clean_text_or_refuses(text):
    try:
        cleaned = clean_text(text, multiline=True)
    except TextError:
        assert control_character(text, multiline=True) is not None
    else:
        assert control_character(cleaned, multiline=True) is None
        cleaned.encode("utf-8")  # storable


@pytest.mark.parametrize(
    "attack",
    ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-1+1", "\t=1+1", "\r=1+1"],
)
def test_neutralise_quotes_every_formula_trigger(attack):
    assert neutralise(attack) == "'" + attack
    assert not is_formula_like(neutralise(attack))


def test_numbers_are_left_alone_and_text_columns_of_numbers_can_be_kept():
    from decimal import Decimal

    assert neutralise(Decimal("-12.50")) == Decimal("-12.50")
    assert neutralise(-3) == -3
    out = io.StringIO()
    writer = csv_writer(out, numbers={1}, lineterminator="\n")
    writer.writerow(["=1+1", "-12.50", Decimal("-3.00")])
    assert out.getvalue() == "'=1+1,-12.50,-3.00\n"


def test_xlsx_text_drops_what_xlsx_cannot_hold_before_neutralising():
    assert xlsx_text("\x01=1+1") == "'=1+1"
    assert xlsx_text("ok\tstill") == "ok\tstill"


@given(st.text())
def test_the_archives_quoting_is_exactly_reversible_and_never_live(text):
    quoted = quote_text(text)
    assert unquote_text(quoted) == text
    assert not is_formula_like(quoted)
    out = io.StringIO()
    csv_writer(out).writerow([text])
    [[cell]] = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert not is_formula_like(cell)
