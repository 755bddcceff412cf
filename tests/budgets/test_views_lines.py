"""Lines table, inline editing (plain and HTMX), line detail, phasing, forecasts: pages and permissions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from budgets.models import BudgetLine, Forecast, FundBudget
from tests.budgets.factories import BudgetLineFactory, budget_world

D = Decimal
pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world():
    return budget_world()


def table_url(world, **query):
    url = reverse("budgets:line-table", args=[world.fund.pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def edit_post(world, line, **changes):
    data = {
        "name": line.name,
        "annual_budget": str(line.current_budget),
        "recurrent": "on",
        "version": line.version,
        "reason": "test",
    }
    data.update(changes)
    return data


def test_partner_commissioner_sees_the_lines_table_with_server_side_totals(client, world):
    client.force_login(world.comm_ccg)
    response = client.get(table_url(world))
    assert response.status_code == 200
    body = response.content.decode()
    assert "HC01" in body
    assert "CH01" in body
    assert response.context["totals"]["current"] == D("180000.00")
    assert response.context["totals"]["count"] == 2
    assert "£180,000" in body
    assert (
        "negative amounts are in brackets" in body.lower()
        or "Negative amounts are in brackets" in body
    )


def test_outsider_gets_404_for_the_lines_table(client, world):
    client.force_login(world.comm_outsider)
    assert client.get(table_url(world)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(table_url(world))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_filters_by_lead_commissioner_and_totals_follow(client, world):
    client.force_login(world.comm_host)
    response = client.get(table_url(world, lead="TCCG"))
    assert [line.code for line in response.context["page"]] == ["CH01"]
    assert response.context["totals"]["current"] == D("60000.00")


def test_filters_by_service_area_and_locality(client, world):
    client.force_login(world.comm_host)
    response = client.get(table_url(world, service_area="ASC.HOME"))
    assert response.context["totals"]["count"] == 2
    response = client.get(table_url(world, locality="none"))
    assert response.context["totals"]["count"] == 2
    response = client.get(table_url(world, locality="E99999999"))
    assert response.context["totals"]["count"] == 0


def test_sorts_by_current_budget_descending(client, world):
    client.force_login(world.comm_host)
    response = client.get(table_url(world, sort="-current"))
    assert [line.code for line in response.context["page"]] == ["HC01", "CH01"]
    response = client.get(table_url(world, sort="current"))
    assert [line.code for line in response.context["page"]] == ["CH01", "HC01"]


def test_edit_link_only_on_lines_my_organisation_leads(client, world):
    client.force_login(world.comm_ccg)
    body = client.get(table_url(world)).content.decode()
    assert reverse("budgets:line-edit", args=[world.ccg_line.pk]) in body
    assert reverse("budgets:line-edit", args=[world.host_line.pk]) not in body


def test_cached_table_is_per_organisation_each_sees_only_its_own_edit_links(client, world):
    """The table fragment is cached; the host's cached copy must not give the CCG its links."""
    client.force_login(world.comm_host)
    host_body = client.get(table_url(world)).content.decode()
    assert reverse("budgets:line-edit", args=[world.host_line.pk]) in host_body
    client.force_login(world.comm_ccg)
    ccg_body = client.get(table_url(world)).content.decode()
    assert reverse("budgets:line-edit", args=[world.ccg_line.pk]) in ccg_body
    assert reverse("budgets:line-edit", args=[world.host_line.pk]) not in ccg_body


def test_cached_table_shows_a_saved_change_on_the_next_load(client, world):
    client.force_login(world.comm_host)
    before = client.get(table_url(world)).content.decode()
    assert "Renamed home care" not in before
    client.post(
        reverse("budgets:line-edit", args=[world.host_line.pk]),
        edit_post(world, world.host_line, name="Renamed home care", annual_budget="100,000"),
    )
    after = client.get(table_url(world)).content.decode()
    assert "Renamed home care" in after
    assert "£100,000" in after


def test_lead_commissioner_edits_a_line_without_javascript(client, world):
    client.force_login(world.comm_host)
    url = reverse("budgets:line-edit", args=[world.host_line.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, edit_post(world, world.host_line, annual_budget="150,000", next=table_url(world))
    )
    assert response.status_code == 302
    assert response["Location"] == table_url(world)
    line = BudgetLine.objects.get(pk=world.host_line.pk)
    assert line.current_budget == D("150000.00")
    assert line.original_budget == D("150000.00")
    assert sum(line.phasing) == D("150000.00")
    assert line.version == world.host_line.version + 1


def test_inline_edit_with_htmx_returns_the_row_and_asks_for_totals(client, world):
    client.force_login(world.comm_host)
    url = reverse("budgets:line-edit", args=[world.host_line.pk])
    form = client.get(url, **HTMX)
    assert form.templates[0].name == "budgets/partials/line_row_form.html"
    response = client.post(url, edit_post(world, world.host_line, annual_budget="130000"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "linesChanged"
    assert "£130,000" in response.content.decode()
    totals = client.get(reverse("budgets:line-table-totals", args=[world.fund.pk]) + "?part=tfoot")
    assert totals.context["totals"]["current"] == D("190000.00")
    assert "£190,000" in totals.content.decode()


def test_invalid_amount_shows_error_beside_field_and_in_summary(client, world):
    client.force_login(world.comm_host)
    url = reverse("budgets:line-edit", args=[world.host_line.pk])
    response = client.post(url, edit_post(world, world.host_line, annual_budget="lots"), **HTMX)
    body = response.content.decode()
    assert "govuk-error-summary" in body
    assert 'id="id_annual_budget_error"' in body
    assert "Enter an annual budget in pounds" in body
    assert BudgetLine.objects.get(pk=world.host_line.pk).current_budget == D("120000.00")


def test_stale_save_shows_who_changed_it_and_overwrites_nothing(client, world):
    client.force_login(world.comm_host)
    url = reverse("budgets:line-edit", args=[world.host_line.pk])
    stale = edit_post(world, world.host_line, annual_budget="140000")
    client.post(url, edit_post(world, world.host_line, annual_budget="125000"))
    response = client.post(url, stale, **HTMX)
    body = response.content.decode()
    assert "changed by Commhost Tester at" in body
    assert 'value="125000.00"' in body
    assert BudgetLine.objects.get(pk=world.host_line.pk).current_budget == D("125000.00")


def test_commissioner_of_another_partner_cannot_edit_a_line_it_does_not_lead(client, world):
    client.force_login(world.comm_ccg)
    url = reverse("budgets:line-edit", args=[world.host_line.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, edit_post(world, world.host_line, annual_budget="1")).status_code == 404
    assert BudgetLine.objects.get(pk=world.host_line.pk).current_budget == D("120000.00")


def test_outsider_gets_404_for_line_pages(client, world):
    client.force_login(world.comm_outsider)
    for name in ("line-detail", "line-edit", "line-row"):
        assert client.get(reverse(f"budgets:{name}", args=[world.host_line.pk])).status_code == 404


def test_line_detail_shows_phasing_history_and_postings(client, world):
    client.force_login(world.comm_host)
    response = client.get(reverse("budgets:line-detail", args=[world.host_line.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Monthly phasing" in body
    assert body.count('value="10000.00"') == 12
    assert response.context["editable"] is True
    assert "No spend posted to this line yet." in body


def test_partner_sees_line_detail_read_only(client, world):
    client.force_login(world.comm_ccg)
    response = client.get(reverse("budgets:line-detail", args=[world.host_line.pk]))
    assert response.status_code == 200
    assert response.context["editable"] is False
    assert (
        reverse("budgets:line-phasing", args=[world.host_line.pk]) not in response.content.decode()
    )


def test_phasing_grid_saves_custom_months_and_history_records_it(client, world):
    client.force_login(world.comm_host)
    months = {f"m{n:02d}": "10000" for n in range(1, 13)}
    months["m12"] = "22000"
    response = client.post(
        reverse("budgets:line-phasing", args=[world.host_line.pk]),
        {
            **months,
            "version": world.host_line.version,
            "reason": "Winter peak",
            "set_annual_budget": "on",
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "linesChanged"
    line = BudgetLine.objects.get(pk=world.host_line.pk)
    assert line.current_budget == D("132000.00")
    assert line.m12 == D("22000.00")
    detail = client.get(reverse("budgets:line-detail", args=[line.pk])).content.decode()
    assert "Winter peak" in detail


def test_phasing_grid_without_javascript_redirects_back(client, world):
    client.force_login(world.comm_host)
    months = {f"m{n:02d}": "1000" for n in range(1, 13)}
    response = client.post(
        reverse("budgets:line-phasing", args=[world.host_line.pk]),
        {**months, "version": world.host_line.version, "set_annual_budget": "on"},
    )
    assert response.status_code == 302
    assert BudgetLine.objects.get(pk=world.host_line.pk).current_budget == D("12000.00")


def test_phasing_stale_version_shows_conflict(client, world):
    client.force_login(world.comm_host)
    months = {f"m{n:02d}": "1000" for n in range(1, 13)}
    url = reverse("budgets:line-phasing", args=[world.host_line.pk])
    tick = {"set_annual_budget": "on"}
    client.post(url, {**months, **tick, "version": world.host_line.version})
    response = client.post(
        url, {**months, **tick, "m01": "5000", "version": world.host_line.version}, **HTMX
    )
    assert "changed by Commhost Tester" in response.content.decode()
    assert BudgetLine.objects.get(pk=world.host_line.pk).m01 == D("1000.00")


def test_rephase_seasonal_keeps_the_total(client, world):
    client.force_login(world.comm_host)
    response = client.post(
        reverse("budgets:line-rephase", args=[world.host_line.pk]),
        {"method": "seasonal", "version": world.host_line.version},
        **HTMX,
    )
    assert response.status_code == 200
    line = BudgetLine.objects.get(pk=world.host_line.pk)
    assert line.phasing_method == "seasonal"
    assert sum(line.phasing) == D("120000.00")
    assert line.m01 != line.m10


def test_other_partner_cannot_rephase(client, world):
    client.force_login(world.comm_ccg)
    response = client.post(
        reverse("budgets:line-rephase", args=[world.host_line.pk]),
        {"method": "seasonal", "version": world.host_line.version},
    )
    assert response.status_code == 404


def test_forecast_with_commentary_is_saved(client, world):
    client.force_login(world.comm_host)
    response = client.post(
        reverse("budgets:line-forecast", args=[world.host_line.pk]),
        {"period": "2016/17-M01", "amount": "120000", "commentary": "On track"},
    )
    assert response.status_code == 302
    forecast = Forecast.objects.get(line=world.host_line)
    assert forecast.amount == D("120000.00")
    assert forecast.commentary == "On track"


def test_red_forecast_without_commentary_is_refused_beside_the_field(client, world):
    client.force_login(world.comm_host)
    response = client.post(
        reverse("budgets:line-forecast", args=[world.host_line.pk]),
        {"period": "2016/17-M01", "amount": "200000", "commentary": ""},
    )
    assert response.status_code == 200
    assert 'id="id_commentary_error"' in response.content.decode()
    assert not Forecast.objects.filter(line=world.host_line).exists()


def test_partner_commissioner_cannot_forecast_a_line_it_does_not_lead(client, world):
    client.force_login(world.comm_ccg)
    response = client.post(
        reverse("budgets:line-forecast", args=[world.host_line.pk]),
        {"period": "2016/17-M01", "amount": "120000", "commentary": "x"},
    )
    assert response.status_code == 404


def test_approved_budget_has_no_edit_links(client):
    world = budget_world(status=FundBudget.Status.APPROVED)
    client.force_login(world.comm_host)
    body = client.get(table_url(world)).content.decode()
    assert reverse("budgets:line-edit", args=[world.host_line.pk]) not in body
    detail = client.get(reverse("budgets:line-detail", args=[world.host_line.pk]))
    assert detail.context["editable"] is False
    assert "virements" in detail.content.decode()


def test_lines_table_is_paginated_with_totals_over_all_pages(client, world):
    for _n in range(55):
        BudgetLineFactory(
            fund=world.fund, year=world.year, service_area=world.area, original_budget=D("1000.00")
        )
    client.force_login(world.comm_host)
    response = client.get(table_url(world))
    assert len(response.context["page"].object_list) == 50
    assert response.context["totals"]["count"] == 57
    assert response.context["totals"]["current"] == D("235000.00")
    assert len(client.get(table_url(world, page=2)).context["page"].object_list) == 7


def test_line_detail_shows_a_forecast_loaded_without_a_user(client, world):
    from budgets.models import Period

    Forecast.objects.create(
        line=world.host_line,
        period=Period.objects.get(year=world.year, number=3),
        amount=D("118000.00"),
        commentary="Imported",
    )
    client.force_login(world.comm_ccg)
    response = client.get(reverse("budgets:line-detail", args=[world.host_line.pk]))
    assert response.status_code == 200
    assert "£118,000" in response.content.decode()


def test_line_detail_refuses_post(client, world):
    client.force_login(world.comm_host)
    assert client.post(reverse("budgets:line-detail", args=[world.host_line.pk])).status_code == 405


def test_host_finance_officer_adjusts_an_approved_line_with_a_reason(client):
    from budgets.models import BudgetAdjustment

    w = budget_world(status=FundBudget.Status.APPROVED)
    line_page = reverse("budgets:line-detail", args=[w.host_line.pk])
    adjust_page = reverse("budgets:line-adjust", args=[w.host_line.pk])
    client.force_login(w.fin_host)
    assert 'id="adjust-link"' in client.get(line_page).content.decode()
    form = client.get(adjust_page).content.decode()
    assert "Adjust the budget of HC01 Home care" in form
    assert '<option value="2016/17-M01" selected>' in form

    # Problems are named beside their field and nothing changes.
    page = client.post(
        adjust_page, {"amount": "12x", "reason": "", "period": "2016/17-M01"}
    ).content.decode()
    assert "Adjustment amount" in page
    assert 'id="amount-error"' in page
    page = client.post(
        adjust_page, {"amount": "1000", "reason": " ", "period": "2016/17-M01"}
    ).content.decode()
    assert "Say why the budget is adjusted." in page
    assert 'id="reason-error"' in page
    assert not BudgetAdjustment.objects.exists()

    response = client.post(
        adjust_page,
        {
            "amount": "-12,000.00",
            "reason": "Block contract re-let at a lower price",
            "period": "2016/17-M07",
            "recurrent": "yes",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == line_page
    adjustment = BudgetAdjustment.objects.get()
    assert (
        adjustment.amount,
        adjustment.period.code,
        adjustment.recurrent,
        adjustment.created_by,
    ) == (D("-12000.00"), "2016/17-M07", True, w.fin_host)
    line = BudgetLine.objects.get(pk=w.host_line.pk)
    assert (line.original_budget, line.changes, line.current_budget) == (
        D("120000.00"),
        D("-12000.00"),
        D("108000.00"),
    )
    # Spread over M07..M12 only; the months before keep their 10,000.
    assert [getattr(line, f"m{n:02d}") for n in range(1, 13)] == [D("10000.00")] * 6 + [
        D("8000.00")
    ] * 6
    assert sum(getattr(line, f"m{n:02d}") for n in range(1, 13)) == line.current_budget
    page = client.get(line_page).content.decode()
    assert "HC01 adjusted by (£12,000.00) from 2016/17-M07." in page
    assert "Its current budget is now £108,000.00." in page
    assert "Block contract re-let at a lower price (2016/17-M07)" in page  # history


def test_only_the_hosts_finance_officer_adjusts_and_only_an_approved_budget(client):
    from budgets.models import BudgetAdjustment

    w = budget_world(status=FundBudget.Status.APPROVED)
    line_page = reverse("budgets:line-detail", args=[w.host_line.pk])
    adjust_page = reverse("budgets:line-adjust", args=[w.host_line.pk])
    data = {"amount": "500", "reason": "x", "period": "2016/17-M01"}
    for user in (w.comm_host, w.fin_ccg, w.comm_ccg):
        client.force_login(user)
        assert 'id="adjust-link"' not in client.get(line_page).content.decode()
        assert client.get(adjust_page).status_code == 403
        assert client.post(adjust_page, data).status_code == 403
    client.force_login(w.fin_outsider)
    assert client.post(adjust_page, data).status_code == 404
    assert not BudgetAdjustment.objects.exists()

    FundBudget.objects.filter(fund=w.fund).update(status=FundBudget.Status.DRAFT)
    client.force_login(w.fin_host)
    assert 'id="adjust-link"' not in client.get(line_page).content.decode()
    assert 'id="not-approved"' in client.get(adjust_page).content.decode()
    page = client.post(adjust_page, data).content.decode()
    assert "The LP-TEST budget for 2016/17 is not approved yet" in page
    assert not BudgetAdjustment.objects.exists()
