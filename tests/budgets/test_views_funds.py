"""My funds, fund overview and the budget sign-off by the host's finance officer."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import FundBudget
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return budget_world()


def test_my_funds_lists_partner_funds_only(client, world):
    client.force_login(world.comm_ccg)
    response = client.get(reverse("budgets:fund-list"))
    assert list(response.context["funds"]) == [world.fund]
    client.force_login(world.comm_outsider)
    assert list(client.get(reverse("budgets:fund-list")).context["funds"]) == []


def test_fund_overview_shows_totals_and_my_lines(client, world):
    client.force_login(world.comm_ccg)
    response = client.get(reverse("budgets:fund-overview", args=[world.fund.pk]))
    assert response.status_code == 200
    totals = response.context["totals"]
    assert totals["current"] == D("180000.00")
    assert totals["count"] == 2
    assert totals["mine_count"] == 1
    assert totals["mine_current"] == D("60000.00")
    body = response.content.decode()
    assert "£180,000" in body
    assert "Draft" in body


def test_outsider_gets_404_for_the_fund_overview(client, world):
    client.force_login(world.comm_outsider)
    assert client.get(reverse("budgets:fund-overview", args=[world.fund.pk])).status_code == 404


def test_partner_submits_and_host_finance_officer_approves(client, world):
    client.force_login(world.comm_ccg)
    client.post(reverse("budgets:budget-submit", args=[world.fund.pk]))
    assert FundBudget.objects.get(fund=world.fund).status == FundBudget.Status.SUBMITTED
    client.force_login(world.fin_host)
    page = client.get(reverse("budgets:fund-overview", args=[world.fund.pk])).content.decode()
    assert "Approve budget" in page
    client.post(reverse("budgets:budget-approve", args=[world.fund.pk]))
    assert FundBudget.objects.get(fund=world.fund).status == FundBudget.Status.APPROVED


def test_partner_finance_officer_cannot_approve_the_budget(client, world):
    client.force_login(world.comm_ccg)
    client.post(reverse("budgets:budget-submit", args=[world.fund.pk]))
    client.force_login(world.fin_ccg)
    page = client.get(reverse("budgets:fund-overview", args=[world.fund.pk])).content.decode()
    assert "Approve budget" not in page
    response = client.post(reverse("budgets:budget-approve", args=[world.fund.pk]), follow=True)
    assert "Only the host" in response.content.decode()
    assert FundBudget.objects.get(fund=world.fund).status == FundBudget.Status.SUBMITTED


def test_host_finance_officer_returns_a_submitted_budget_to_draft_with_a_reason(client, world):
    client.force_login(world.comm_ccg)
    client.post(reverse("budgets:budget-submit", args=[world.fund.pk]))
    url = reverse("budgets:budget-return", args=[world.fund.pk])
    # A partner's finance officer may not; nothing changes.
    client.force_login(world.fin_ccg)
    response = client.post(url, {"reason": "Phasing wrong"}, follow=True)
    assert "Only the host" in response.content.decode()
    assert FundBudget.objects.get(fund=world.fund).status == FundBudget.Status.SUBMITTED
    # The host's finance officer must say why.
    client.force_login(world.fin_host)
    page = client.get(reverse("budgets:fund-overview", args=[world.fund.pk])).content.decode()
    assert "Return budget to draft" in page
    response = client.post(url, {"reason": "  "}, follow=True)
    assert "Say why the budget goes back to draft." in response.content.decode()
    assert FundBudget.objects.get(fund=world.fund).status == FundBudget.Status.SUBMITTED
    response = client.post(url, {"reason": "M10 phasing does not match the plan"}, follow=True)
    assert "was returned to draft" in response.content.decode()
    assert FundBudget.objects.get(fund=world.fund).status == FundBudget.Status.DRAFT
    # Another organisation's fund is not found.
    client.force_login(world.fin_outsider)
    assert client.post(url, {"reason": "x"}).status_code == 404


def test_outsider_cannot_submit(client, world):
    client.force_login(world.fin_outsider)
    assert client.post(reverse("budgets:budget-submit", args=[world.fund.pk])).status_code == 404
    assert FundBudget.objects.get(fund=world.fund).status == FundBudget.Status.DRAFT
