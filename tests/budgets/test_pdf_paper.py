"""Paper is a face too: the variance report PDF (also the month-close file) prints every figure
whole, exactly as the report computed it, and nothing laid out runs past the edge of the page."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from budgets.models.figures import MONEY_COLUMNS as MONEY
from budgets.reports import exports
from budgets.reports.pdf_renderer import render_pdf_html
from gmhsc.money import format_money
from tests.budgets.factories import synthetic_variance_report
from tests.paper import CUT_OR_PENCE, boxes_wider_than_the_page, pdf_text


def gm_pool_sized_report():
    """60 lines of £120m-£180m with pence (a fund total in the billions, as GM-POOL's is), grouped
    by service area: the widest figures a page has to hold."""
    report = synthetic_variance_report(60)
    scale = Decimal(1000)
    rows = [
        replace(
            row,
            line_name=f"{row.line_name} – integrated community equipment and reablement service",
            **{key: getattr(row, key) * scale + Decimal("0.45") for key in MONEY},
        )
        for row in report.rows
    ]
    return replace(report, rows=rows).regroup("service_area")


def test_every_row_prints_its_figures_whole_as_the_report_computed_them():
    report = gm_pool_sized_report()
    text = pdf_text(exports.render(report, "pdf"))
    assert CUT_OR_PENCE.findall(text) == []
    missing = [
        (row.line_code, key, format_money(getattr(row, key)))
        for row in report.rows
        for key in MONEY
        if format_money(getattr(row, key)) not in text
    ]
    assert missing == []
    for key in MONEY:
        assert format_money(report.totals.value(key)) in text
    assert format_money(report.totals.current_budget) == "£8,970,027,027"


def test_nothing_laid_out_is_wider_than_its_page():
    assert boxes_wider_than_the_page(render_pdf_html(gm_pool_sized_report())) == []
