from datetime import date
from decimal import Decimal

import pytest

from budgets import rules
from budgets.models import FundBudget, FundPeriod, Period, SpendPosting
from budgets.planning.selectors import suggested_forecast
from budgets.planning.services.forecasts import forecast_set
from budgets.rag import fund_rag as rag_for
from gmhsc.errors import ApplicationError, NotAllowed, NotFound, PeriodClosed
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return budget_world(status=FundBudget.Status.APPROVED)


def m(world, n):
    return Period.objects.select_related("year").get(year=world.year, number=n)


def test_green_forecast_needs_no_commentary(world):
    f = forecast_set(
        actor=world.comm_host, line=world.host_line, period=m(world, 6), amount="122399.99"
    )
    assert (f.amount, f.commentary, f.updated_by) == (D("122399.99"), "", world.comm_host)


def test_amber_and_red_forecasts_need_commentary(world):
    with pytest.raises(ApplicationError, match="is AMBER: add commentary") as err:
        forecast_set(
            actor=world.comm_host, line=world.host_line, period=m(world, 6), amount="122400.00"
        )
    assert err.value.extra["field"] == "commentary"
    with pytest.raises(ApplicationError, match="is RED"):
        forecast_set(
            actor=world.comm_host, line=world.host_line, period=m(world, 6), amount="100000.00"
        )
    f = forecast_set(
        actor=world.comm_host,
        line=world.host_line,
        period=m(world, 6),
        amount="130000.00",
        commentary="Two new complex placements from August",
    )
    assert f.commentary == "Two new complex placements from August"


def test_setting_again_updates_the_same_forecast(world):
    forecast_set(
        actor=world.comm_host, line=world.host_line, period=m(world, 6), amount="120000.00"
    )
    forecast_set(actor=world.fin_host, line=world.host_line, period=m(world, 6), amount="120500.00")
    assert world.host_line.forecasts.get().amount == D("120500.00")


def test_only_the_lead_commissioner_or_host_finance_officer_forecasts(world):
    with pytest.raises(NotAllowed):
        forecast_set(actor=world.comm_ccg, line=world.host_line, period=m(world, 6), amount="1.00")
    with pytest.raises(NotFound):
        forecast_set(
            actor=world.comm_outsider, line=world.host_line, period=m(world, 6), amount="1.00"
        )


def test_the_forecast_rule_is_one_predicate_for_services_and_pages(world, client):
    line = world.host_line
    allowed = {
        user.username: bool(rules.may_forecast_line(user, line))
        for user in (world.comm_host, world.fin_host, world.comm_ccg, world.fin_ccg, world.admin)
    }
    assert allowed == {
        "commhost": True,  # a commissioner of the lead organisation
        "finhost": True,  # the host's finance officer
        "commccg": False,
        "finccg": False,
        "admin1": False,
    }
    assert forecast_set(
        actor=world.fin_host, line=line, period=m(world, 6), amount="120000.00"
    ).amount == D("120000.00")
    client.force_login(world.comm_ccg)
    assert client.get(f"/budgets/lines/{line.pk}/forecast/").status_code == 404
    client.force_login(world.comm_host)
    assert client.get(f"/budgets/lines/{line.pk}/forecast/").status_code == 200


def test_a_closed_month_takes_no_forecast(world):
    FundPeriod.objects.create(fund=world.fund, period=m(world, 1), status="closed")
    with pytest.raises(PeriodClosed):
        forecast_set(actor=world.comm_host, line=world.host_line, period=m(world, 1), amount="1.00")


def test_rag_thresholds_and_floor(world):
    fund = world.fund
    assert rag_for(fund, D("1999.99"), D("100000.00")) == "green"
    assert rag_for(fund, D("-2000.00"), D("100000.00")) == "amber"
    assert rag_for(fund, D("5000.00"), D("100000.00")) == "amber"
    assert rag_for(fund, D("5000.01"), D("100000.00")) == "red"
    assert rag_for(fund, D("1.00"), D("0.00")) == "red"
    fund.rag_floor = D("50000.00")
    assert rag_for(fund, D("49999.99"), D("100000.00")) == "green"


def test_suggested_forecast_is_ytd_actual_plus_remaining_phased_budget(world):
    line = world.host_line
    for doc, (n, amount) in enumerate([(1, "9000.00"), (2, "11000.50"), (7, "500.00")]):
        period = m(world, n)
        SpendPosting.objects.create(
            organisation=world.host,
            document_number=f"D{doc}",
            line_number=1,
            posting_date=period.start_date,
            period=period,
            fund=world.fund,
            budget_line=line,
            amount=D(amount),
        )
    assert suggested_forecast(line, m(world, 2)) == D("120000.50")
    assert suggested_forecast(line, m(world, 6)) == D("80000.50")
    assert suggested_forecast(line, m(world, 12)) == D("20500.50")
    assert m(world, 6).start_date == date(2016, 9, 1)
