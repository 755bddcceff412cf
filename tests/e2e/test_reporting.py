"""A finance officer closes M6 in the browser, downloads the month's XLSX and PDF, and the files carry
the figures the variance page shows."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from budgets.figures.recompute import recompute_fund_now
from budgets.models import Period
from budgets.models.figures import MONEY_COLUMNS
from budgets.planning.services.periods import period_close
from tests.budgets.factories import small_variance_fund

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"
COLUMNS = MONEY_COLUMNS
# The XLSX file's columns, in order.
XLSX_COLUMNS = (
    "line_code line_name service_area locality lead_commissioner original_budget changes "
    "current_budget ytd_budget ytd_actual ytd_variance ytd_variance_pct commitments "
    "forecast_outturn forecast_variance forecast_variance_pct movement rag adverse_favourable "
    "commentary"
)
XLSX_INDEX = {key: i for i, key in enumerate(XLSX_COLUMNS.split())}


def money(text: str) -> Decimal:
    """'£1,234.00' / '(£1,234.00)' -> Decimal."""
    value = Decimal(re.sub(r"[£,()\s]", "", text))
    return -value if text.strip().startswith("(") else value


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    """The hand-computed fund of test_report_variance.py built through the services, M1..M5 closed."""
    settings.MEDIA_ROOT = tmp_path
    w = small_variance_fund()
    recompute_fund_now(w.fund)
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
