"""The budget line chooser: a server-side search over the lines a person may see."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from budgets.choosers import LIMIT, search_lines
from budgets.models import BudgetLine, FundBudget
from tests.budgets.factories import BudgetLineFactory, PooledFundFactory, budget_world, fund_line
from tests.pages import Page, form_problems

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world():
    w = budget_world(status=FundBudget.Status.APPROVED)
    other = PooledFundFactory(code="LP-ELSE", name="Someone else's pool", host=w.outsider)
    w.secret = BudgetLineFactory(
        fund=other,
        year=w.year,
        code="HC99",
        name="Home care elsewhere",
        service_area=w.area,
        lead_commissioner=w.outsider,
    )
    return w


def search(client, **query):
    return client.get(reverse("budgets:line-search"), query, **HTMX).content.decode()


def test_the_search_finds_lines_by_code_name_or_fund_and_only_those_you_may_see(client, world):
    client.force_login(world.comm_host)
    found = search(client, q="home care")
    assert f'value="{world.host_line.pk}"' in found
    assert "LP-TEST · HC01 Home care" in found
    assert f'value="{world.secret.pk}"' not in found  # another organisation's fund
    assert f'value="{world.ccg_line.pk}"' not in found  # "Community health" does not match
    assert f'value="{world.ccg_line.pk}"' in search(client, q="lp-test ch01")


def test_the_other_organisation_finds_its_own_line_and_not_ours(client, world):
    client.force_login(world.comm_outsider)
    found = search(client, q="home care")
    assert f'value="{world.secret.pk}"' in found
    assert f'value="{world.host_line.pk}"' not in found
    # Asking for our fund by id answers "not found", as any other page would.
    response = client.get(reverse("budgets:line-search"), {"fund": world.fund.pk, "q": "home"})
    assert response.status_code == 404


def test_the_search_page_without_javascript_lists_matches_as_links(client, world):
    client.force_login(world.comm_host)
    page = client.get(reverse("budgets:line-search"), {"q": "HC01"}).content.decode()
    assert reverse("budgets:line-detail", args=[world.host_line.pk]) in page
    assert "1 line matching “HC01”." in page


def test_at_most_fifty_lines_are_offered(world):
    for n in range(LIMIT + 5):
        fund_line(world, f"X{n:03d}", "1000.00", name="Extra care")
    found = search_lines(BudgetLine.objects.all(), "extra")
    assert len(found) == LIMIT
    assert [line.code for line in found[:2]] == ["X000", "X001"]


def test_the_virement_form_lists_only_the_chosen_line_and_the_matches(client, world):
    for n in range(30):
        fund_line(world, f"Z{n:03d}", "1000.00", name="Zebra care")
    client.force_login(world.comm_host)
    url = reverse("budgets:virement-request", args=[world.fund.pk])
    page = client.get(url, {"from_line": world.host_line.pk}).content.decode()
    # from: "Choose a line" + HC01; to: "Choose a line" (the year and month switcher has its own)
    assert line_options(page, "from_line") == ["", str(world.host_line.pk)]
    assert line_options(page, "to_line") == [""]
    assert form_problems(Page(url, page)) == []
    # Without JavaScript: "Find lines" sends the form back; nothing is saved, the list narrows.
    found = client.post(
        url + "?year=2016/17",
        {
            "from_line": world.host_line.pk,
            "to_line_q": "zebra",
            "amount": "500",
            "find_lines": "to_line",
            "reason": "Rebalance",
        },
    ).content.decode()
    assert found.count("Zebra care") == 30
    assert "There is a problem" not in found
    assert 'value="500"' in found
    # Any line of the fund and year can be sent, listed or not; another fund's line cannot.
    zebra = BudgetLine.objects.get(code="Z029")
    done = client.post(
        url + "?year=2016/17",
        {
            "from_line": world.host_line.pk,
            "to_line": zebra.pk,
            "amount": "500",
            "recurrent": "one-off",
            "reason": "Rebalance",
        },
    )
    assert done.status_code == 302
    refused = client.post(
        url + "?year=2016/17",
        {
            "from_line": world.host_line.pk,
            "to_line": world.secret.pk,
            "amount": "500",
            "recurrent": "one-off",
            "reason": "Rebalance",
        },
    ).content.decode()
    assert "Choose a line of this fund and year: search for it by code or name" in refused


def test_the_mappings_page_offers_matches_not_every_line(client, world):
    client.force_login(world.fin_host)
    url = reverse("budgets:ledger-mappings")
    page = client.get(url, {"year": "2016/17"}).content.decode()
    assert line_options(page, "budget_line") == [""]  # "Choose a budget line" only
    found = client.post(
        url + "?year=2016/17",
        {
            "cost_centre": "CC1",
            "expense_code": "E1",
            "budget_line_q": "home",
            "find_lines": "budget_line",
        },
    ).content.decode()
    assert "LP-TEST · HC01 Home care" in found
    assert "HC99" not in found
    assert form_problems(Page(url, found)) == []


def line_options(page: str, name: str) -> list[str]:
    """The values a line chooser's list offers."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, name
    return re.findall(r'<option value="([^"]*)"', select.group(1))
