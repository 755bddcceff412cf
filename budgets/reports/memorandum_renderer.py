"""The memorandum account and the settlement statements as files: the account as PDF (WeasyPrint,
A4) and XLSX (one sheet per part, £ formats with negatives in brackets), a partner's settlement
statement as PDF. They lay out figures computed once in budgets.reports.memorandum."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from budgets.models import Settlement, YearEnd
from budgets.reports.memorandum import MemorandumAccount
from gmhsc.memory import fewer_collections
from gmhsc.spreadsheets import xlsx_text

MONEY_FORMAT = "£#,##0.00;(£#,##0.00)"
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DEE0E2")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    with fewer_collections():
        pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return pdf


def account_pdf(account: MemorandumAccount) -> bytes:
    return _pdf(render_to_string("budgets/reports/pdf/memorandum.html", {"account": account}))


def statement_pdf(
    close: YearEnd, settlement: Settlement, account: MemorandumAccount | None
) -> bytes:
    return _pdf(
        render_to_string(
            "budgets/reports/pdf/settlement.html",
            {"close": close, "s": settlement, "account": account, "fund": close.fund},
        )
    )


def account_filename(account: MemorandumAccount, fmt: str) -> str:
    scope = "year" if account.scope == "year" else account.scope.lower()
    return f"{account.fund_code}-memorandum-{account.year_code.replace('/', '-')}-{scope}.{fmt}"


def statement_filename(close: YearEnd, settlement: Settlement) -> str:
    year = close.year.code.replace("/", "-")
    return f"{close.fund.code}-settlement-{year}-{settlement.partner.code}.pdf"


def _sheet(
    wb: Workbook, title: str, header: list[str], rows: list[list[Any]], total: list[Any] | None
) -> None:
    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font = BOLD
        cell.fill = HEADER_FILL
    for row in rows:
        ws.append([xlsx_text(v) for v in row])
    if total is not None:
        ws.append([xlsx_text(v) for v in total])
        for cell in ws[ws.max_row]:
            cell.font = BOLD
    for column in ws.iter_cols(min_row=2):
        for cell in column:
            if isinstance(cell.value, Decimal):
                cell.number_format = MONEY_FORMAT
    ws.freeze_panes = "A2"
    for index, _ in enumerate(header, start=1):
        ws.column_dimensions[ws.cell(row=1, column=index).column_letter].width = (
            20 if index > 1 else 42
        )


def account_xlsx(account: MemorandumAccount) -> bytes:
    wb = Workbook()
    wb.remove(wb.worksheets[0])
    t = account.income_total
    _sheet(
        wb,
        "Income",
        ["Partner", "Code", "Contribution", "Carried forward", "Due", "Received", "Outstanding"],
        [
            [
                r.partner,
                r.partner_code,
                r.contribution,
                r.carried_forward,
                r.due,
                r.received,
                r.outstanding,
            ]
            for r in account.income
        ],
        ["Total income", "", t.contribution, t.carried_forward, t.due, t.received, t.outstanding],
    )
    spend_header = [
        "Budget for the year",
        "Budget to date",
        "Actual to date",
        "Variance to date",
        "Forecast outturn",
        "Forecast variance",
    ]
    total = account.spend_total
    for title, label, rows in (
        ("By service area", "Service area", account.by_service_area),
        ("By locality", "Locality", account.by_locality),
    ):
        _sheet(
            wb,
            title,
            [label, *spend_header],
            [
                [
                    r.label,
                    r.annual_budget,
                    r.budget_to_date,
                    r.actual_to_date,
                    r.variance_to_date,
                    r.forecast_outturn,
                    r.forecast_variance,
                ]
                for r in rows
            ],
            [
                "Total expenditure",
                total.annual_budget,
                total.budget_to_date,
                total.actual_to_date,
                total.variance_to_date,
                total.forecast_outturn,
                total.forecast_variance,
            ],
        )
    _sheet(
        wb,
        "Sharing",
        [
            "Partner",
            "Code",
            "Share of variance",
            "Returned",
            "Retained",
            "Carried forward",
            "Net due",
        ],
        [
            [
                s.partner,
                s.partner_code,
                s.share,
                s.returned,
                s.retained,
                s.carried_forward,
                s.net_due,
            ]
            for s in account.shares
        ],
        ["Total", "", account.share_total, None, None, None, None],
    )
    notes = wb.create_sheet("Notes")
    for row in (
        ["Fund", f"{account.fund_code} {account.fund_name}"],
        ["Host", account.host],
        ["Account", account.title],
        ["Period", account.period_text],
        ["Basis", account.basis],
        ["Risk-share rule", account.rule],
        ["Underspend", account.underspend],
        ["Status", account.status_text],
        ["Checksum (SHA-256 of the frozen figures)", account.checksum or "not frozen"],
        ["Sign convention", account.sign_convention],
    ):
        notes.append([xlsx_text(v) for v in row])
    notes.column_dimensions["A"].width = 40
    notes.column_dimensions["B"].width = 110
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
