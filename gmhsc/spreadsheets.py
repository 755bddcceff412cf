"""Spreadsheet formula injection: the one neutraliser every CSV and XLSX writer uses.

A text cell that starts with = + - @ (or a tab or carriage return, which spreadsheets skip before
reading a formula) is written with a leading single quote, so Excel and LibreOffice show it as
text and never run it: `=HYPERLINK(...)` becomes `'=HYPERLINK(...)`. Only text is touched: a
negative amount written as a number stays a number.

- `neutralise(value)`: one cell of a file people open (reports, registers, error lists).
- `csv_writer(handle)`: a csv.writer whose every text cell is neutralised.
- `xlsx_text(value)`: a text cell for openpyxl, neutralised and without the control characters
  the XLSX format cannot hold; `neutralise_workbook(wb)` does it to every cell before saving.
- `quote_text` / `unquote_text`: the reversible form for files read back by gmhsc itself (the fund
  archive): a text that already starts with a quote gets one more, and reading removes one.
"""

from __future__ import annotations

import csv
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# What the XLSX format cannot store in a cell (openpyxl refuses it): C0 controls but tab, line
# feed and carriage return.
_XLSX_ILLEGAL = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would read `text` as a formula (or skip to one)."""
    return text.startswith(TRIGGERS)


def neutralise(value: Any) -> Any:
    """Text starting with = + - @ tab or carriage return gets a leading `'`; anything else is
    returned unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return QUOTE + value
    return value


class _NeutralisingWriter:
    def __init__(self, writer: Any, numbers: frozenset[int]) -> None:
        self._writer = writer
        self._numbers = numbers

    def writerow(self, row: Any) -> Any:
        keep = self._numbers
        return self._writer.writerow(
            [cell if i in keep else neutralise(cell) for i, cell in enumerate(row)]
        )

    def writerows(self, rows: Any) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(
    handle: Any, *, numbers: set[int] | frozenset[int] = frozenset(), **kwargs: Any
) -> _NeutralisingWriter:
    """csv.writer(handle, **kwargs) whose rows are neutralised cell by cell. `numbers`: indexes of
    columns that hold numbers already written as text (e.g. '-12.50'), left as they are."""
    return _NeutralisingWriter(csv.writer(handle, **kwargs), frozenset(numbers))


def xlsx_text(value: Any) -> Any:
    """A cell value for openpyxl: text neutralised and stripped of characters XLSX cannot hold."""
    if isinstance(value, str):
        return neutralise(value.translate(_XLSX_ILLEGAL))
    return value


def neutralise_workbook(workbook: Any) -> None:
    """Every text cell of an openpyxl workbook (not write-only) through `xlsx_text`, just before it
    is saved: openpyxl would otherwise store text starting with = as a formula."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.value = xlsx_text(cell.value)


def quote_text(text: str) -> str:
    """Reversible neutralising for machine-read files: quote formula-like text and text that
    already starts with a quote, so `unquote_text` gives back exactly the original."""
    if is_formula_like(text) or text.startswith(QUOTE):
        return QUOTE + text
    return text


def unquote_text(cell: str) -> str:
    """The original text of a cell written with `quote_text`."""
    return cell[1:] if cell.startswith(QUOTE) else cell
