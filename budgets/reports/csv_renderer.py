"""The variance report as CSV: UTF-8 with BOM, one header row, one row per budget line, plain numbers.

Subtotals and totals are not rows here (a machine reader sums the lines); every text cell is
neutralised against spreadsheet formula injection.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from budgets.reports.variance import COLUMNS, CSV_HEADER, VarianceReport
from gmhsc.spreadsheets import csv_writer

BOM = "\ufeff"


def cell(value: Any, kind: str) -> str | Decimal:
    """Money and percentages as plain numbers (1234.56, -12.50); blank for no percentage."""
    if kind in ("money", "pct"):
        return "" if value is None else Decimal(value).quantize(Decimal("0.01"))
    return "" if value is None else str(value)


def render_csv(report: VarianceReport, progress: Callable[[float], None] | None = None) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv_writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    total = len(report.rows) or 1
    for n, row in enumerate(report.rows, start=1):
        writer.writerow([cell(row.value(key), kind) for key, _, kind in COLUMNS])
        if progress is not None and n % 1000 == 0:
            progress(n / total)
    return out.getvalue().encode("utf-8")
