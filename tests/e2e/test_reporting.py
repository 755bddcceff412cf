"""A finance officer closes M6 in the browser, downloads the month's XLSX and PDF, and the files carry
the figures the variance page shows."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

try:  # the whole chain when the ledger (H1) and recompute engine (H3) are installed
    import budgets.figures.recompute as recompute
    import budgets.ledger.services.postings  # noqa: F401

    FULL_CHAIN = True
except ImportError:
    FULL_CHAIN = False

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"
COLUMNS = [
    "original_budget",
    "changes",
    "current_budget",
    "ytd_budget",
    "ytd_actual",
    "ytd_variance",
    "commitments",
    "forecast_outturn",
    "forecast_variance",
    "movement",
]
XLSX_INDEX = {
    key: i
    for i, key in enumerate(
        [
            "line_code",
            "line_name",
            "service_area",
            "locality",
            "lead_commissioner",
            "original_budget",
            "changes",
            "current_budget",
            "ytd_budget",
            "ytd_actual",
            "ytd_variance",
            "ytd_variance_pct",
            "commitments",
            "forecast_outturn",
            "forecast_variance",
            "forecast_variance_pct",
            "movement",
            "rag",
            "adverse_favourable",
            "commentary",
        ]
    )
}


def money(text: str) -> Decimal:
    """'£1,234.00' / '(£1,234.00)' -> Decimal."""
    value = Decimal(re.sub(r"[£,()\s]", "", text))
    return -value if text.strip().startswith("(") else value


@pytest.fixture
def world(transactional_db, settings, tmp_path, monkeypatch):
    """The hand-computed fund of test_report_variance.py built through the services, or (while the
    ledger and recompute engine are not installed) the same fund with stand-in engine rows."""
    from budgets.models import FundBudget, Period
    from budgets.planning.services.periods import period_close
    from tests.budgets import factories

    settings.MEDIA_ROOT = tmp_path
    if FULL_CHAIN:
        w = factories.small_variance_fund()
        recompute.recompute_fund_now(w.fund)
    else:
        w = factories.budget_world(status=FundBudget.Status.APPROVED)
        d = Decimal
        factories.install_fake_engine(
            monkeypatch,
            [
                factories.fake_line_variance(
                    w.host_line,
                    6,
                    original_budget=d("120000.00"),
                    changes=d("-12000.00"),
                    current_budget=d("108000.00"),
                    ytd_budget=d("54000.00"),
                    ytd_actual=d("59000.00"),
                    ytd_variance=d("5000.00"),
                    ytd_variance_pct=d("9.26"),
                    commitments=d("2000.00"),
                    forecast_outturn=d("115000.00"),
                    forecast_variance=d("7000.00"),
                    forecast_variance_pct=d("6.48"),
                    movement=d("4500.00"),
                    rag="red",
                    adverse_favourable="adverse",
                ),
                factories.fake_line_variance(
                    w.ccg_line,
                    6,
                    original_budget=d("60000.00"),
                    changes=d("12000.00"),
                    current_budget=d("72000.00"),
                    ytd_budget=d("36000.00"),
                    ytd_actual=d("33000.00"),
                    ytd_variance=d("-3000.00"),
                    ytd_variance_pct=d("-8.33"),
                    forecast_outturn=d("69000.00"),
                    forecast_variance=d("-3000.00"),
                    forecast_variance_pct=d("-4.17"),
                    movement=d("-500.00"),
                    rag="amber",
                    adverse_favourable="favourable",
                ),
            ],
        )
    for n in range(1, 6):
        period_close(
            actor=w.fin_host, fund=w.fund, period=Period.objects.get(year=w.year, number=n)
        )
    return w


def test_finance_officer_closes_m6_and_the_xlsx_matches_the_page(world, live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", world.fin_host.username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.goto(f"{live_server.url}/budgets/funds/{world.fund.code}/reports/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#close-period")
    page.wait_for_selector("text=2016/17-M06 is closed")
    row = page.locator('tr[data-period="2016/17-M06"]')
    assert "Closed" in row.inner_text()

    with page.expect_download() as xlsx_download:
        row.locator('a[data-download="xlsx"]').click()
    with open(xlsx_download.value.path(), "rb") as fh:
        wb = openpyxl.load_workbook(io.BytesIO(fh.read()))
    ws = wb["By service area"]
    xlsx_rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    notes = {r[0]: r[1] for r in wb["Notes"].iter_rows(values_only=True)}
    assert notes["Period"].startswith("2016/17-M06")
    assert notes["Status"].startswith("Closed")

    with page.expect_download() as pdf_download:
        row.locator('a[data-download="pdf"]').click()
    with open(pdf_download.value.path(), "rb") as fh:
        pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(fh.read())).pages)

    page.goto(
        f"{live_server.url}/budgets/reports/variance/?fund={world.fund.code}&period=2016/17-M06"
    )
    assert "frozen at month-end close" in page.locator("#freshness").inner_text()
    for code in ("HC01", "CH01"):
        line = page.locator(f'tr[data-line="{code}"]')
        for key in COLUMNS:
            shown = money(line.locator(f'td[data-col="{key}"]').inner_text())
            assert (
                Decimal(str(xlsx_rows[code][XLSX_INDEX[key]])).quantize(Decimal("0.01")) == shown
            ), (code, key)
    total = page.locator("#fund-total")
    total_row = xlsx_rows["Total"]
    for key in COLUMNS:
        shown = money(total.locator(f'td[data-col="{key}"]').inner_text())
        assert Decimal(str(total_row[XLSX_INDEX[key]])).quantize(Decimal("0.01")) == shown, key
        assert total.locator(f'td[data-col="{key}"]').inner_text() in pdf_text
    assert money(total.locator('td[data-col="ytd_actual"]').inner_text()) == Decimal("92000.00")
    assert "£184,000" in pdf_text
    assert "£184,000.00" not in pdf_text


def test_someone_from_another_organisation_cannot_open_the_reports(world, live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", world.fin_outsider.username)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    response = page.goto(f"{live_server.url}/budgets/funds/{world.fund.code}/reports/")
    assert response.status == 404
    response = page.goto(
        f"{live_server.url}/budgets/reports/variance/?fund={world.fund.code}&period=2016/17-M06"
    )
    assert response.status == 404
