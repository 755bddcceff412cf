"""Virement pages: request, my requests, finance officer decisions, awaiting board; both sides of each rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import BudgetLine, FundBudget, Virement
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return budget_world(status=FundBudget.Status.APPROVED)


def request_data(world, amount="12000", **extra):
    data = {
        "from_line": world.host_line.pk,
        "to_line": world.ccg_line.pk,
        "amount": amount,
        "recurrent": "one-off",
        "reason": "Winter pressures",
    }
    data.update(extra)
    return data


def test_commissioner_requests_a_virement_within_the_limit(client, world):
    client.force_login(world.comm_host)
    url = reverse("budgets:virement-request", args=[world.fund.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, request_data(world))
    assert response.status_code == 302
    assert response["Location"] == reverse("budgets:my-requests")
    virement = Virement.objects.get()
    assert virement.status == Virement.Status.REQUESTED
    assert virement.amount == D("12000.00")
    assert virement.recurrent is False
    mine = client.get(reverse("budgets:my-requests"))
    assert list(mine.context["virements"]) == [virement]
    assert "£12,000" in mine.content.decode()


def test_above_the_limit_waits_for_the_board_and_is_listed(client, world):
    client.force_login(world.comm_host)
    client.post(
        reverse("budgets:virement-request", args=[world.fund.pk]), request_data(world, "60000")
    )
    virement = Virement.objects.get()
    assert virement.status == Virement.Status.AWAITING_BOARD
    response = client.get(
        reverse("budgets:fund-virements", args=[world.fund.pk]) + "?status=awaiting_board"
    )
    assert list(response.context["virements"]) == [virement]
    assert "awaiting board decision" in response.content.decode().lower()


def test_same_line_twice_is_refused_beside_the_field(client, world):
    client.force_login(world.comm_host)
    response = client.post(
        reverse("budgets:virement-request", args=[world.fund.pk]),
        request_data(world, to_line=world.host_line.pk),
    )
    assert response.status_code == 200
    assert 'id="id_to_line_error"' in response.content.decode()
    assert not Virement.objects.exists()


def test_service_refusal_shows_in_the_error_summary(client, world):
    client.force_login(world.comm_host)
    response = client.post(
        reverse("budgets:virement-request", args=[world.fund.pk]), request_data(world, "500000")
    )
    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert "cannot give" in response.content.decode()


def test_outsider_cannot_open_the_virement_form(client, world):
    client.force_login(world.comm_outsider)
    assert client.get(reverse("budgets:virement-request", args=[world.fund.pk])).status_code == 404


def test_host_finance_officer_approves_and_both_lines_change(client, world):
    client.force_login(world.comm_host)
    client.post(reverse("budgets:virement-request", args=[world.fund.pk]), request_data(world))
    virement = Virement.objects.get()
    client.force_login(world.fin_host)
    detail = client.get(reverse("budgets:virement-detail", args=[virement.pk]))
    assert detail.context["can_decide"] is True
    overview_list = client.get(reverse("budgets:fund-virements", args=[world.fund.pk]))
    assert virement in list(overview_list.context["virements"])
    response = client.post(
        reverse("budgets:virement-decide", args=[virement.pk]),
        {"decision": "approve", "note": "ok"},
    )
    assert response.status_code == 302
    virement.refresh_from_db()
    assert virement.status == Virement.Status.APPLIED
    assert BudgetLine.objects.get(pk=world.host_line.pk).current_budget == D("108000.00")
    assert BudgetLine.objects.get(pk=world.ccg_line.pk).current_budget == D("72000.00")
    client.force_login(world.comm_ccg)
    body = client.get(reverse("budgets:line-detail", args=[world.ccg_line.pk])).content.decode()
    assert "virement in" in body
    assert "£72,000" in body


def test_partner_finance_officer_cannot_approve(client, world):
    client.force_login(world.comm_host)
    client.post(reverse("budgets:virement-request", args=[world.fund.pk]), request_data(world))
    virement = Virement.objects.get()
    client.force_login(world.fin_ccg)
    assert (
        client.get(reverse("budgets:virement-detail", args=[virement.pk])).context["can_decide"]
        is False
    )
    client.post(reverse("budgets:virement-decide", args=[virement.pk]), {"decision": "approve"})
    virement.refresh_from_db()
    assert virement.status == Virement.Status.REQUESTED


def test_host_finance_officer_rejects_with_a_note(client, world):
    client.force_login(world.comm_host)
    client.post(reverse("budgets:virement-request", args=[world.fund.pk]), request_data(world))
    virement = Virement.objects.get()
    client.force_login(world.fin_host)
    client.post(
        reverse("budgets:virement-decide", args=[virement.pk]),
        {"decision": "reject", "note": "Not now"},
    )
    virement.refresh_from_db()
    assert virement.status == Virement.Status.REJECTED
    assert BudgetLine.objects.get(pk=world.host_line.pk).current_budget == D("120000.00")


def test_outsider_gets_404_for_a_virement(client, world):
    client.force_login(world.comm_host)
    client.post(reverse("budgets:virement-request", args=[world.fund.pk]), request_data(world))
    virement = Virement.objects.get()
    client.force_login(world.fin_outsider)
    assert client.get(reverse("budgets:virement-detail", args=[virement.pk])).status_code == 404
    assert (
        client.post(
            reverse("budgets:virement-decide", args=[virement.pk]), {"decision": "approve"}
        ).status_code
        == 404
    )
    assert client.get(reverse("budgets:my-requests")).context["virements"].paginator.count == 0
