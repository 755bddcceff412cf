"""Phasing never changes the budget silently: months that do not add up to the annual budget are
refused with the difference shown beside the grid (live with HTMX, on submit without it), unless
the person ticks "set the annual budget to the months' total" while the budget is draft. The API
keeps the same rule (`set_annual_budget`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import BudgetLine, FundBudget
from tests.budgets.factories import budget_world, fund_line
from tests.factories import api_as

pytestmark = pytest.mark.django_db
D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world():
    w = budget_world()  # draft
    w.line = fund_line(w, "DR01", "200000.00", name="Draft line")
    return w


def grid(line, **changes):
    data = {f: f"{getattr(line, f):.2f}" for f in (f"m{n:02d}" for n in range(1, 13))}
    data.update(version=line.version, reason="Front-loaded")
    data.update(changes)
    return data


def test_april_raised_without_the_tick_is_refused_with_the_difference(client, world):
    """Regression: April set to 20000 and "Save phasing" said "saved" and the annual budget went
    from £200,000 to £203,333 (the months' new total)."""
    assert world.line.m01 == D("16666.67")
    client.force_login(world.comm_host)
    url = reverse("budgets:line-phasing", args=[world.line.pk])
    response = client.post(url, grid(world.line, m01="20000"))  # without JavaScript
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "The months add up to £203,333.33, £3,333.33 more than the annual budget of £200,000.00"
        in page
    )
    assert 'id="phasing-months-total">£203,333.33<' in page
    assert "The months are £3,333.33 more than the annual budget of £200,000.00" in page
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert (line.current_budget, line.m01, line.version) == (
        D("200000.00"),
        D("16666.67"),
        world.line.version,
    )
    htmx = client.post(url, grid(world.line, m01="20000"), **HTMX)
    assert "£3,333.33 more than the annual budget" in htmx.content.decode()
    assert "HX-Trigger" not in htmx
    assert BudgetLine.objects.get(pk=world.line.pk).current_budget == D("200000.00")


def test_months_that_add_up_are_saved_as_custom_phasing(client, world):
    client.force_login(world.comm_host)
    months = grid(world.line, m01="20000.00", m02="13333.34")  # April up, May down by the same
    response = client.post(reverse("budgets:line-phasing", args=[world.line.pk]), months)
    assert response.status_code == 302
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert (line.current_budget, line.m01, line.m02, line.phasing_method) == (
        D("200000.00"),
        D("20000.00"),
        D("13333.34"),
        "custom",
    )


def test_the_tick_sets_the_annual_budget_to_the_months_total_while_draft(client, world):
    client.force_login(world.comm_host)
    response = client.post(
        reverse("budgets:line-phasing", args=[world.line.pk]),
        grid(world.line, m01="20000", set_annual_budget="on"),
    )
    assert response.status_code == 302
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert (line.current_budget, line.original_budget, line.m01) == (
        D("203333.33"),
        D("203333.33"),
        D("20000.00"),
    )


def test_the_difference_is_shown_live_as_the_months_are_typed(client, world):
    client.force_login(world.comm_ccg)  # anyone who may see the line may check a sum
    url = reverse("budgets:line-phasing-check", args=[world.line.pk])
    typed = client.get(url, grid(world.line, m01="£20,000"), **HTMX).content.decode()
    assert "£203,333.33" in typed
    assert "The months are £3,333.33 more than the annual budget of £200,000.00" in typed
    less = client.get(url, grid(world.line, m12="0"), **HTMX).content.decode()
    assert "£16,666.66 less than the annual budget" in less
    even = client.get(url, grid(world.line), **HTMX).content.decode()
    assert "None: the months add up to the annual budget." in even
    partial = client.get(url, grid(world.line, m05=""), **HTMX).content.decode()
    assert "Enter an amount for each month" in partial
    page = client.get(reverse("budgets:line-detail", args=[world.line.pk]))
    assert page.status_code == 200
    client.force_login(world.comm_outsider)
    assert client.get(url, grid(world.line)).status_code == 404


def test_the_grid_asks_for_the_live_check(client, world):
    client.force_login(world.comm_host)
    page = client.get(reverse("budgets:line-detail", args=[world.line.pk])).content.decode()
    check = reverse("budgets:line-phasing-check", args=[world.line.pk])
    assert f'hx-get="{check}"' in page
    assert 'id="phasing-total"' in page
    assert "Set the annual budget to the months&#x27; total" in page


def test_the_api_refuses_months_that_do_not_add_up_unless_asked(world):
    api = api_as(world.comm_host)
    url = f"/api/v1/budget-lines/{world.line.pk}/rephase/"
    months = [str(getattr(world.line, f"m{n:02d}")) for n in range(1, 13)]
    months[0] = "20000.00"
    refused = api.post(
        url, {"method": "custom", "custom": months}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "invalid_phasing"
    assert (body["sum"], body["annual_budget"], body["difference"]) == (
        "203333.33",
        "200000.00",
        "3333.33",
    )
    assert BudgetLine.objects.get(pk=world.line.pk).current_budget == D("200000.00")
    saved = api.post(
        url,
        {"method": "custom", "custom": months, "set_annual_budget": True},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert saved.status_code == 200, saved.json()
    assert saved.json()["current_budget"] == "203333.33"


def test_an_approved_budget_is_never_set_from_the_months(client, world):
    FundBudget.objects.filter(fund=world.fund, year=world.year).update(
        status=FundBudget.Status.APPROVED
    )
    months = [str(getattr(world.line, f"m{n:02d}")) for n in range(1, 13)]
    months[0] = "20000.00"
    refused = api_as(world.comm_host).post(
        f"/api/v1/budget-lines/{world.line.pk}/rephase/",
        {"method": "custom", "custom": months, "set_annual_budget": True},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "budget_not_draft"
    assert BudgetLine.objects.get(pk=world.line.pk).current_budget == D("200000.00")
