"""The host's finance officer takes a fund from one year into the next in the browser: rolls it
forward into 2017/18, adjusts the uplifts (replacing the draft), submits and approves the budget;
then closes 2016/17 and opens a partner's settlement statement."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"


@pytest.fixture
def world(transactional_db, settings, tmp_path):
    from budgets.models import FundBudget, RiskShareAgreement
    from tests.budgets.factories import (
        budget_world,
        close_months_at,
        make_year,
        spend_every_month,
    )

    settings.MEDIA_ROOT = tmp_path
    w = budget_world(status=FundBudget.Status.APPROVED)
    make_year("2017/18")
    RiskShareAgreement.objects.create(fund=w.fund, year=w.year, rule="pro_rata")
    spend_every_month(w, "10500.00", "5000.00")
    close_months_at(w, 12, lambda n: datetime(2016, 1, 1, tzinfo=UTC))
    return w


def test_roll_forward_adjust_submit_approve_then_close_and_settle(world, live_server, page):
    w = world
    login(page, live_server, w.fin_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/funds/{w.fund.pk}/budget-setting/?year=2017/18")
    assert page.locator("h1").inner_text() == "Budget setting 2017/18"
    page.fill("#id_uplift_pct", "2.10")
    page.fill("#id_efficiency_pct", "1.50")
    page.fill("#id_contribution_uplift_pct", "1")
    with page.expect_navigation():
        page.click("#roll-forward")
    assert (
        "2017/18 draft budget is set from 2016/17"
        in page.locator(".govuk-notification-banner").inner_text()
    )
    hc01 = page.locator('#comparison tr[data-code="HC01"]')
    assert hc01.locator('td[data-col="new"]').inner_text() == "£120,720.00"

    # Adjust the uplifts: Home care gets its own rates; the draft is set again.
    page.click("#area-rates summary")
    page.fill("#area-ASC\\.HOME-uplift", "3")
    page.fill("#area-ASC\\.HOME-efficiency", "1")
    with page.expect_navigation():
        page.click("#roll-forward")
    assert "replace the draft" in page.locator(".govuk-error-summary").inner_text()
    page.check("#id_replace_draft")
    with page.expect_navigation():
        page.click("#roll-forward")
    hc01 = page.locator('#comparison tr[data-code="HC01"]')
    assert hc01.locator('td[data-col="uplift"]').inner_text().startswith("£3,600.00")
    assert hc01.locator('td[data-col="draft"]').inner_text() == "£122,400.00"
    assert hc01.locator('td[data-col="change"]').inner_text() == "£2,400.00"

    # The host's commissioner submits the budget; its finance officer, who did not, approves it.
    page.context.clear_cookies()
    login(page, live_server, w.comm_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/funds/{w.fund.pk}/?year=2017/18")
    with page.expect_navigation():
        page.click("button:has-text('Submit budget for approval')")
    page.context.clear_cookies()
    login(page, live_server, w.fin_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/funds/{w.fund.pk}/?year=2017/18")
    with page.expect_navigation():
        page.click("button:has-text('Approve budget')")
    assert "Approved" in page.locator("#fund-totals").inner_text()

    page.goto(f"{live_server.url}/budgets/funds/{w.fund.pk}/year-end/?year=2016/17")
    assert "None: M1 to M12 are closed" in page.locator("#open-months").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#close-year")
    assert "2016/17 is closed and settled" in page.locator("#year-closed").inner_text()
    ccg = page.locator('#settlement tr[data-partner="TCCG"]')
    # Outturn 186,000 against 180,000: the CCG bears 40% of 6,000; nothing received yet.
    assert ccg.locator('td[data-col="share"]').inner_text() == "£2,400.00"
    assert ccg.locator('td[data-col="net"]').inner_text() == "£402,400.00"
    href = ccg.locator('a[data-statement="TCCG"]').get_attribute("href")
    statement = page.request.get(f"{live_server.url}{href}")
    assert statement.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(statement.body())).pages)
    assert "Settlement statement 2016/17" in text
    assert "You pay the host £402,400.00." in text
