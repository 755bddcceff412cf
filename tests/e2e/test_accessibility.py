"""axe-core (pinned npm package, vendored by scripts/vendor.sh) finds no serious or critical violations."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from budgets.models import FundBudget
from tests.budgets.factories import budget_world
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-battery"
AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe" / "axe.min.js"


def serious_violations(page) -> list[str]:
    # The page's CSP (script-src 'self') refuses an inline copy, so load the vendored file by URL
    # from the same origin; the file on disk must be there (scripts/vendor.sh).
    assert AXE.exists(), "run scripts/vendor.sh to vendor axe-core"
    origin = page.evaluate("() => location.origin")
    page.add_script_tag(url=f"{origin}/static/vendor/axe/axe.min.js")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def world(transactional_db):
    return budget_world(status=FundBudget.Status.DRAFT)


def test_login_page_has_no_serious_violations(world, live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    assert serious_violations(page) == []


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/budgets/funds/",
        "/budgets/funds/{fund}/",
        "/budgets/funds/{fund}/lines/",
        "/budgets/lines/{line}/",
        "/budgets/funds/{fund}/virements/new/",
        "/budgets/virements/mine/",
    ],
)
def test_commissioner_pages_have_no_serious_violations(world, live_server, page, path):
    login(page, live_server, world.comm_host.username, PASSWORD)
    response = page.goto(live_server.url + path.format(fund=world.fund.pk, line=world.host_line.pk))
    assert response is not None
    assert response.status == 200
    assert page.locator("h1").count() == 1
    assert serious_violations(page) == []


def test_inline_edit_row_and_errors_have_no_serious_violations(world, live_server, page):
    login(page, live_server, world.comm_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/funds/{world.fund.pk}/lines/")
    page.get_by_role("link", name="Edit line HC01").click()
    page.get_by_label("Annual budget").fill("not money")
    page.get_by_role("button", name="Save line HC01").click()
    page.locator(".govuk-error-summary").wait_for()
    assert serious_violations(page) == []


def submit_empty_then_filled(page, button: str, fields: dict[str, str], done: str) -> None:
    """On a form page: axe finds nothing serious on it, nor on its error state after an empty
    submit; then fill `fields` (label -> value), submit, and wait for the text `done`."""
    assert serious_violations(page) == []
    page.get_by_role("button", name=button).click()
    page.locator(".govuk-error-summary").wait_for()
    assert serious_violations(page) == []
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name=button).click()
    page.get_by_text(done).wait_for()


def test_month_close_and_reopen_pages_have_no_serious_violations(live_server, page):
    from budgets.models import Period
    from budgets.planning.services.periods import period_close

    w = budget_world(status=FundBudget.Status.APPROVED)
    april = Period.objects.get(year=w.year, number=1)
    period_close(actor=w.fin_host, fund=w.fund, period=april, files=False)
    login(page, live_server, w.admin.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/funds/{w.fund.code}/reports/")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Reopen 2016/17-M01").click()
    submit_empty_then_filled(
        page,
        "Reopen 2016/17-M01",
        {"Why is it being reopened?": "Late invoice for April"},
        "2016/17-M01 is open again for LP-TEST.",
    )
    assert page.locator("[data-reopened]").inner_text().endswith(": Late invoice for April")


def test_posting_reversal_page_has_no_serious_violations(live_server, page):
    from tests.budgets.factories import make_posting

    w = budget_world(status=FundBudget.Status.APPROVED)
    make_posting(organisation=w.host, line=w.host_line, document="INV-9", amount="250.00")
    login(page, live_server, w.fin_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/lines/{w.host_line.pk}/")
    assert serious_violations(page) == []
    page.get_by_role("link", name="Reverse posting INV-9/1").click()
    submit_empty_then_filled(
        page,
        "Reverse INV-9/1",
        {"Why is it being reversed?": "Charged to the wrong line"},
        "Reversed by REV-INV-9 in 2016/17-M06",
    )


def test_adjustment_page_has_no_serious_violations(live_server, page):
    w = budget_world(status=FundBudget.Status.APPROVED)
    login(page, live_server, w.fin_host.username, PASSWORD)
    page.goto(f"{live_server.url}/budgets/lines/{w.host_line.pk}/")
    page.get_by_role("link", name="Adjust the budget of HC01").click()
    submit_empty_then_filled(
        page,
        "Record the adjustment",
        {"Change to the budget": "2500", "Why is it being adjusted?": "Winter pressures money"},
        "HC01 adjusted by £2,500.00 from 2016/17-M01.",
    )
