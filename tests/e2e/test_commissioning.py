"""A commissioner records a contract paid from two budget lines and sees the variance report's
commitments column change."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from budgets.figures import recompute
from budgets.outbox import mark_stale
from commissioning.models import Contract
from tests.commissioning.helpers import commissioning_world
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-battery"


def money(text: str) -> Decimal:
    value = Decimal(re.sub(r"[£,()\s]", "", text))
    return -value if text.strip().startswith("(") else value


@pytest.fixture
def world(transactional_db):
    w = commissioning_world()
    mark_stale(fund_id=w.fund.pk, year_id=w.year.pk, reason="e2e: whole fund")
    recompute.recompute_fund_now(w.fund)
    return w


def _commitments(page, live_server, world) -> dict[str, Decimal]:
    page.goto(
        f"{live_server.url}/budgets/reports/variance/?fund={world.fund.code}&period=2016/17-M06"
    )
    out = {}
    for code in ("HC01", "HC02"):
        cell = page.locator(f'tr[data-line="{code}"] td[data-col="commitments"]')
        out[code] = money(cell.inner_text())
    out["total"] = money(page.locator('#fund-total td[data-col="commitments"]').inner_text())
    return out


def test_commissioner_records_a_contract_and_the_commitments_column_changes(
    world, live_server, page
):
    login(page, live_server, world.comm_host.username, PASSWORD)
    before = _commitments(page, live_server, world)
    assert before == {"HC01": Decimal("0.00"), "HC02": Decimal("0.00"), "total": Decimal("0.00")}

    page.goto(f"{live_server.url}/commissioning/contracts/")
    page.get_by_role("link", name=f"New contract in {world.fund.code}").click()
    page.get_by_label("Reference", exact=True).fill("C-E2E")
    page.get_by_label("Title", exact=True).fill("Home care framework")
    page.get_by_label("Service", exact=True).select_option(label="Home care")
    page.get_by_label("Provider", exact=True).select_option(label="Acme Care Ltd")
    page.get_by_label("Value for the year", exact=True).fill("36000")
    for name, (day, month, year) in {
        "start_date": ("1", "10", "2016"),
        "end_date": ("30", "9", "2017"),
    }.items():  # GOV.UK date inputs: day, month and year
        page.locator(f"#id_{name}_0").fill(day)
        page.locator(f"#id_{name}_1").fill(month)
        page.locator(f"#id_{name}_2").fill(year)
    page.get_by_label("Status", exact=True).select_option(label="Active")
    page.get_by_label("Budget line 1", exact=True).select_option(label="HC01 Home care")
    page.get_by_label("Amount committed on line 1", exact=True).fill("24000")
    page.get_by_label("Budget line 2", exact=True).select_option(label="HC02 Home care north")
    page.get_by_label("Amount committed on line 2", exact=True).fill("12000")
    page.get_by_role("button", name="Save contract").click()
    expect(page.locator("#contract-status")).to_have_text("Active")
    expect(page.locator("#contract-value")).to_have_text("£36,000")
    contract = Contract.objects.get(reference="C-E2E")
    expect(page.locator(f"#headroom-line-{world.host_line.pk}")).to_contain_text("£24,000")

    after = _commitments(page, live_server, world)
    # At M6 all six contract months (October to March) are still to come.
    assert after == {
        "HC01": Decimal("24000.00"),
        "HC02": Decimal("12000.00"),
        "total": Decimal("36000.00"),
    }
    assert contract.contract_lines.count() == 2


def test_commissioning_pages_have_no_serious_accessibility_violations(world, live_server, page):
    from commissioning import services
    from tests.commissioning.helpers import contract_kwargs
    from tests.e2e.test_accessibility import serious_violations

    world.fund.is_bcf = True
    world.fund.save()
    contract = services.contract_create(actor=world.comm_host, **contract_kwargs(world))
    login(page, live_server, world.comm_host.username, PASSWORD)
    for path in (
        "/commissioning/contracts/",
        f"/commissioning/funds/{world.fund.pk}/contracts/new/",
        f"/commissioning/contracts/{contract.pk}/",
        f"/commissioning/contracts/{contract.pk}/edit/",
        f"/commissioning/contracts/{contract.pk}/decisions/new/",
        "/commissioning/decisions/",
        "/commissioning/pipeline/?as_of=2017-06-01",
        "/commissioning/providers/",
        "/commissioning/services/",
        f"/commissioning/bcf/funds/{world.fund.pk}/",
    ):
        response = page.goto(live_server.url + path)
        assert response is not None
        assert response.status == 200, path
        assert serious_violations(page) == [], path
