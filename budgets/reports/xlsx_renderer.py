"""The variance report as an Excel workbook (openpyxl, write-only for speed).

One sheet per grouping (service area, locality, lead commissioner) with subtotal rows after each
group and a total row; £ formats with negatives in brackets; frozen header; filters; and a Notes
sheet with the fund, period, as-at time, sign convention and RAG thresholds.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from copy import copy
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .safety import neutralise
from .variance import COLUMNS, GROUPINGS, Totals, VarianceReport

MONEY_FORMAT = "£#,##0.00;(£#,##0.00)"
PCT_FORMAT = '0.00"%";(0.00"%")'
SHEET_TITLES = {
    "service_area": "By service area",
    "locality": "By locality",
    "lead_commissioner": "By lead commissioner",
}
WIDTHS = {"text": 18, "money": 15, "pct": 10}
BOLD = Font(bold=True)
SUBTOTAL_FILL = PatternFill("solid", fgColor="F3F2F1")
HEADER_FILL = PatternFill("solid", fgColor="DEE0E2")


class _Cells:
    """Builds write-only cells for one sheet. Styles are set once on a template cell per kind and
    copied (setting number_format cell by cell is the slowest part of openpyxl's write-only mode)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.styles: dict[tuple[str, bool], Any] = {}
        for kind in ("money", "pct", "text"):
            for bold in (False, True):
                template = WriteOnlyCell(ws, value=None)
                if kind != "text":
                    template.number_format = MONEY_FORMAT if kind == "money" else PCT_FORMAT
                if bold:
                    template.font = BOLD
                    template.fill = SUBTOTAL_FILL
                self.styles[(kind, bold)] = template._style  # type: ignore[attr-defined]

    def make(self, value: Any, kind: str, *, bold: bool = False) -> Any:
        if kind == "text":
            value = neutralise("" if value is None else str(value))
            if not bold:
                return value
        cell = Cell(self.ws, row=1, column=1, value=value)
        cell._style = copy(self.styles[(kind, bold)])  # type: ignore[attr-defined]
        return cell


def _fast_rows(ws: Any) -> None:
    """openpyxl's write-only append() finds a styled cell by catching a ValueError whose message
    formats the cell, for every styled cell; this does the same job without the exception."""

    def values_to_row(values: Any, row_idx: int) -> Any:
        plain = Cell(ws, row=row_idx, column=1)
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            if isinstance(value, Cell):
                value.row, value.column = row_idx, col_idx
                yield value
            else:
                plain.value = value
                plain.column = col_idx
                yield plain

    ws._values_to_row = values_to_row


def _totals_row(cells: _Cells, totals: Totals, first: str, second: str) -> list[Any]:
    row = []
    for key, _, kind in COLUMNS:
        if key == "line_code":
            value: Any = first
        elif key == "line_name":
            value = second
        elif key == "rag":
            value = totals.rag_counts
        elif kind in ("money", "pct") or key == "adverse_favourable":
            value = totals.value(key)
        else:
            value = ""
        row.append(cells.make(value, kind, bold=True))
    return row


def render_xlsx(report: VarianceReport, progress: Callable[[float], None] | None = None) -> bytes:
    wb = Workbook(write_only=True)
    total_steps = max(len(report.rows) * len(GROUPINGS), 1)
    done = 0
    for grouping in GROUPINGS:
        grouped = report.regroup(grouping)
        ws = wb.create_sheet(SHEET_TITLES[grouping])
        _fast_rows(ws)
        ws.freeze_panes = "A2"
        for index, (_, _, kind) in enumerate(COLUMNS, start=1):
            ws.column_dimensions[get_column_letter(index)].width = WIDTHS[kind]
        ws.column_dimensions[get_column_letter(len(COLUMNS))].width = 50
        cells = _Cells(ws)
        header = []
        for _, label, _ in COLUMNS:
            c = WriteOnlyCell(ws, value=label)
            c.font = BOLD
            c.fill = HEADER_FILL
            c.alignment = Alignment(wrap_text=True, vertical="top")
            header.append(c)
        ws.append(header)
        rows_written = 1
        for group in grouped.groups:
            for line in group.rows:
                ws.append([cells.make(line.value(key), kind) for key, _, kind in COLUMNS])
                rows_written += 1
                done += 1
                if progress is not None and done % 1000 == 0:
                    progress(done / total_steps)
            ws.append(_totals_row(cells, group.subtotal, "Subtotal", group.label))
            rows_written += 1
        assert grouped.totals is not None
        ws.append(_totals_row(cells, grouped.totals, "Total", f"{report.fund_code} total"))
        rows_written += 1
        ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{rows_written}"
    _notes(wb, report)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _notes(wb: Workbook, report: VarianceReport) -> None:
    ws = wb.create_sheet("Notes")
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 110
    status = "Closed: figures frozen at month-end close" if report.closed else "Open month"
    if report.snapshot_checksum:
        status += f" (snapshot run {report.snapshot_run}, checksum {report.snapshot_checksum})"
    rows = [
        ("Fund", f"{report.fund_code} {report.fund_name}"),
        ("Host", report.host),
        ("Period", f"{report.period_code} (to {report.period_end})"),
        ("As at", report.as_at_text),
        ("Status", status),
        ("Pending changes", str(report.pending)),
        ("Sign convention", report.sign_convention),
        ("RAG thresholds", report.rag_thresholds),
        ("Lines", str(len(report.rows))),
    ]
    for label, value in rows:
        a = WriteOnlyCell(ws, value=label)
        a.font = BOLD
        ws.append([a, WriteOnlyCell(ws, value=neutralise(value))])
