"""The variance report's HTML table rows, built in Python.

A 10,000-line fund's page shows 200 lines at a time with 17 cells each; building those rows with
template includes and filters costs more than everything else the page does, so the rows are
made here (escaped) and cached per report, grouping and page. The page template lays them out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from budgets.reports.variance import COLUMNS, Group, ReportRow, Totals, VarianceReport
from gmhsc.money import format_money, format_pct

PAGE_LINES = 100
# The figures cells of a row, in the report's column order (money and percentages).
MONEY_CELLS = tuple(key for key, _, kind in COLUMNS if kind != "text")


def _money_cells(figures: ReportRow | Totals) -> str:
    cells = []
    for key in MONEY_CELLS:
        value = getattr(figures, key)
        text = format_pct(value) if key.endswith("_pct") else format_money(value)
        cells.append(
            f'<td class="govuk-table__cell app-money" data-col="{key}">{escape(text)}</td>'
        )
    return "".join(cells)


def line_row(row: ReportRow) -> str:
    rag = escape(row.rag)
    return (
        f'<tr class="govuk-table__row" data-line="{escape(row.line_code)}">'
        f'<td class="govuk-table__cell">{escape(row.line_code)}</td>'
        f'<td class="govuk-table__cell">{escape(row.line_name)}</td>'
        f"{_money_cells(row)}"
        f'<td class="govuk-table__cell"><span class="app-rag app-rag--{rag}">'
        f"{rag.title() or 'Not started'}</span></td>"
        f'<td class="govuk-table__cell">{escape(row.adverse_favourable.title())}</td>'
        f'<td class="govuk-table__cell">{escape(row.commentary)}</td></tr>'
    )


def totals_row(totals: Totals, first: str, second: str, *, css: str, attrs: str = "") -> str:
    return (
        f'<tr class="govuk-table__row {css}"{attrs}>'
        f'<td class="govuk-table__cell">{escape(first)}</td>'
        f'<th scope="row" class="govuk-table__header">{escape(second)}</th>'
        f"{_money_cells(totals)}"
        f'<td class="govuk-table__cell">{escape(totals.rag_counts)}</td>'
        f'<td class="govuk-table__cell">{escape(totals.adverse_favourable.title())}</td>'
        f'<td class="govuk-table__cell"></td></tr>'
    )


def group_heading(label: str) -> str:
    return (
        # A cell, not a header: axe finds a row-spanning header that heads no data cells.
        f'<tr class="govuk-table__row app-group-heading"><td colspan="17" '
        f'class="govuk-table__cell"><strong>{escape(label)}</strong></td></tr>'
    )


def page_count(report: VarianceReport, size: int = PAGE_LINES) -> int:
    return max((len(report.rows) + size - 1) // size, 1)


def lines_page_html(groups: list[Group], page: int, size: int = PAGE_LINES) -> str:
    """One page of lines with group headings and, where a group ends on the page, its subtotal."""
    start, end = (page - 1) * size, page * size
    parts: list[str] = []
    seen = 0
    for group in groups:
        first, last = seen, seen + len(group.rows)
        seen = last
        if last <= start or first >= end:
            continue
        parts.append(group_heading(group.label))
        for row in group.rows[max(start - first, 0) : min(end - first, len(group.rows))]:
            parts.append(line_row(row))
        if last <= end:
            parts.append(
                totals_row(group.subtotal, "Subtotal", group.label, css="app-subtotal-row")
            )
    return "".join(parts)


def group_totals_html(report: VarianceReport) -> str:
    assert report.totals is not None
    parts = [
        totals_row(
            g.subtotal,
            f"{g.subtotal.lines} line{'s' if g.subtotal.lines != 1 else ''}",
            g.label,
            css="app-subtotal-row",
            attrs=f' data-group="{escape(g.key)}"',
        )
        for g in report.groups
    ]
    parts.append(
        totals_row(
            report.totals,
            f"{report.totals.lines} lines",
            f"Total {report.fund_code}",
            css="app-total-row",
            attrs=' id="fund-total" data-total="fund"',
        )
    )
    return "".join(parts)


@dataclass(frozen=True)
class ReportTables:
    group_totals: SafeString
    lines: SafeString
    page: int
    pages: int


_CACHE: OrderedDict[tuple[Any, ...], ReportTables] = OrderedDict()
_LOCK = threading.Lock()
_SIZE = 64


def report_tables(report: VarianceReport, page: int) -> ReportTables:
    """The page's two tables, cached while the report object itself is the cached one."""
    pages = page_count(report)
    page = min(max(page, 1), pages)
    key = (
        id(report),
        report.fund_id,
        report.period_id,
        report.grouping,
        report.as_at,
        report.snapshot_checksum,
        report.pending,
        len(report.rows),
        page,
    )
    with _LOCK:
        tables = _CACHE.get(key)
    if tables is None:
        tables = ReportTables(
            group_totals=mark_safe(group_totals_html(report)),  # noqa: S308 - every value escaped above
            lines=mark_safe(lines_page_html(report.groups, page)),  # noqa: S308
            page=page,
            pages=pages,
        )
        with _LOCK:
            _CACHE[key] = tables
            while len(_CACHE) > _SIZE:
                _CACHE.popitem(last=False)
    return tables
