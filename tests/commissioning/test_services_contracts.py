"""Contracts feed the commitments column; headroom = current budget - actual - remaining commitments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from budgets.figures import recompute
from budgets.ledger.services import postings as ledger
from budgets.models import LineCommitment, LineVariance, Period
from budgets.outbox import mark_stale
from commissioning import selectors, services
from commissioning.models import Contract, ContractCommitment, ContractLine
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from tests.budgets.factories import BudgetLineFactory, PooledFundFactory
from tests.commissioning.helpers import commissioning_world, contract_kwargs

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def world():
    return commissioning_world()


def _variance(line, period):
    return LineVariance.objects.get(line=line, period_number=period)


def _post(world, actor, org, line, period_number, amount, doc):
    period = Period.objects.get(year=world.year, number=period_number)
    ledger.spend_post(
        actor=actor,
        organisation=org,
        rows=[
            {
                "document_number": doc,
                "line_number": 1,
                "posting_date": period.end_date,
                "amount": D(amount),
                "budget_line": line,
                "supplier": "Acme Care Ltd",
                "description": "Home care",
                "is_accrual": False,
            }
        ],
    )


def test_profile_flat_spreads_each_line_over_the_contract_months(world):
    profile = services.profile_flat(
        year=world.year,
        start=dt.date(2016, 10, 15),
        end=dt.date(2017, 9, 30),
        line_amounts={1: D("1000.00")},
    )
    # Six months (Oct..Mar); 1000 / 6 by largest remainder: the first four months carry the penny.
    assert profile == {
        1: {
            7: D("166.67"),
            8: D("166.67"),
            9: D("166.67"),
            10: D("166.67"),
            11: D("166.66"),
            12: D("166.66"),
        }
    }
    assert sum(profile[1].values()) == D("1000.00")


def test_commitments_and_headroom_hand_computed(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mark_stale(fund_id=world.fund.pk, year_id=world.year.pk, reason="test: whole fund")
        for n in range(1, 7):
            _post(world, world.fin_host, world.host, world.host_line, n, "10000.00", f"H-{n}")
        contract = services.contract_create(actor=world.comm_host, **contract_kwargs(world))
    recompute.recompute_fund_now(world.fund)

    assert LineCommitment.objects.filter(source_ref=f"contract:{contract.pk}").count() == 12
    # M6: HC01 budget 120,000, actual 6 x 10,000, all six contract months (24,000) still to come.
    hc01 = _variance(world.host_line, 6)
    assert (hc01.ytd_actual, hc01.commitments) == (D("60000.00"), D("24000.00"))
    assert selectors.headroom_of(hc01) == D("36000.00")
    hc02 = _variance(world.second_line, 6)
    assert (hc02.ytd_actual, hc02.commitments) == (D("0.00"), D("12000.00"))
    assert selectors.headroom_of(hc02) == D("48000.00")
    # Whole fund at M6: 240,000 budget - 60,000 actual - 36,000 committed.
    fund = selectors.fund_headroom(world.fund, world.year.pk, 6)
    assert (fund.current_budget, fund.ytd_actual, fund.commitments) == (
        D("240000.00"),
        D("60000.00"),
        D("36000.00"),
    )
    assert fund.headroom == D("144000.00")

    # October's invoice (4,000) is posted: the remaining commitment falls by the same amount,
    # so headroom at M7 is unchanged (36,000) while actual rises to 64,000.
    with django_capture_on_commit_callbacks(execute=True):
        _post(world, world.fin_host, world.host, world.host_line, 7, "4000.00", "H-7")
    recompute.recompute_fund_now(world.fund)
    hc01 = _variance(world.host_line, 7)
    assert (hc01.ytd_actual, hc01.commitments) == (D("64000.00"), D("20000.00"))
    assert selectors.headroom_of(hc01) == D("36000.00")
    assert _variance(world.host_line, 12).commitments == D("0.00")

    rows = selectors.contract_lines_with_headroom(contract, 7)
    assert [(r["line"].code, r["total"], r["headroom"]) for r in rows] == [
        ("HC01", D("24000.00"), D("36000.00")),
        # HC02 at M7: 60,000 - 0 actual - (12,000 - October's 2,000) = 50,000.
        ("HC02", D("12000.00"), D("50000.00")),
    ]


def test_changing_the_contract_rewrites_its_commitments(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contract = services.contract_create(actor=world.comm_host, **contract_kwargs(world))
        services.contract_update(
            actor=world.comm_host,
            contract=contract,
            value=D("6000.00"),
            start_date=dt.date(2017, 1, 1),
            end_date=dt.date(2017, 3, 31),
            profile={world.host_line.pk: {10: D("2000.00"), 11: D("2000.00"), 12: D("2000.00")}},
        )
    recompute.recompute_fund_now(world.fund)
    assert _variance(world.host_line, 6).commitments == D("6000.00")
    assert _variance(world.second_line, 6).commitments == D("0.00")
    assert not ContractLine.objects.filter(line=world.second_line).exists()
    assert contract.history.count() == 2


def test_planned_contract_commits_nothing_until_active(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contract = services.contract_create(
            actor=world.comm_host, **contract_kwargs(world, status="planned")
        )
    assert not LineCommitment.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.contract_status_set(actor=world.comm_host, contract=contract, status="active")
    assert LineCommitment.objects.count() == 12
    with django_capture_on_commit_callbacks(execute=True):
        services.contract_status_set(actor=world.comm_host, contract=contract, status="ended")
    assert not LineCommitment.objects.exists()
    with pytest.raises(ApplicationError, match="cannot become active"):
        services.contract_status_set(actor=world.comm_host, contract=contract, status="active")


# ---- bad input: each refused with the field named, nothing saved --------------------------------


def _refused(world, field, **overrides):
    with pytest.raises(ApplicationError) as exc:
        services.contract_create(actor=world.comm_host, **contract_kwargs(world, **overrides))
    assert exc.value.extra.get("field") == field
    assert not Contract.objects.exists()
    assert not ContractCommitment.objects.exists()
    assert not LineCommitment.objects.exists()
    return exc.value.message


def test_end_before_start_is_refused(world):
    message = _refused(world, "end_date", end_date=dt.date(2016, 9, 30))
    assert message == "The end date must be on or after the start date."


def test_profile_not_matching_the_value_is_refused(world):
    message = _refused(world, "profile", value=D("36000.01"))
    assert "adds up to £36,000.00" in message
    assert "£36,000.01" in message


def test_negative_value_is_refused(world):
    assert _refused(world, "value", value=D("-1.00")) == "The contract value cannot be negative."


def test_negative_month_is_refused(world):
    profile = {world.host_line.pk: {7: D("40000.00"), 8: D("-4000.00")}}
    assert "cannot be negative" in _refused(world, "profile", profile=profile)


def test_a_line_from_another_fund_is_refused(world):
    other_fund = PooledFundFactory(code="OTHER", host=world.host)
    other = BudgetLineFactory(fund=other_fund, year=world.year, lead_commissioner=world.host)
    message = _refused(world, "lines", profile={other.pk: {7: D("36000.00")}})
    assert "is not a line of LP-TEST" in message


def test_unknown_provider_is_refused(world):
    message = _refused(world, "provider", provider=999999)
    assert message == "Choose a provider from the list, or add the provider first."


def test_no_lines_is_refused(world):
    _refused(world, "lines", profile={})


def test_duplicate_reference_is_refused(world):
    services.contract_create(actor=world.comm_host, **contract_kwargs(world))
    with pytest.raises(ApplicationError) as exc:
        services.contract_create(actor=world.comm_host, **contract_kwargs(world))
    assert exc.value.extra["field"] == "reference"
    assert Contract.objects.count() == 1


# ---- permissions, both sides --------------------------------------------------------------------


def test_partner_commissioner_may_record_but_not_on_a_line_another_org_leads(world):
    # The CCG is a partner, but HC01/HC02 are led by the council.
    with pytest.raises(NotAllowed) as exc:
        services.contract_create(actor=world.comm_ccg, **contract_kwargs(world))
    assert exc.value.extra["field"] == "lines"
    contract = services.contract_create(
        actor=world.comm_ccg,
        **contract_kwargs(
            world,
            value=D("6000.00"),
            profile={world.ccg_line.pk: {7: D("6000.00")}},
        ),
    )
    assert contract.commissioner == world.ccg


def test_outsider_commissioner_gets_not_found_and_nothing_is_saved(world):
    with pytest.raises(NotFound):
        services.contract_create(actor=world.comm_outsider, **contract_kwargs(world))
    assert not Contract.objects.exists()


def test_finance_officer_may_not_record_contracts(world):
    with pytest.raises(NotAllowed):
        services.contract_create(actor=world.fin_host, **contract_kwargs(world))


def test_only_the_commissioning_organisation_changes_a_contract(world):
    contract = services.contract_create(actor=world.comm_host, **contract_kwargs(world))
    with pytest.raises(NotAllowed):
        services.contract_status_set(actor=world.comm_ccg, contract=contract, status="ended")
    with pytest.raises(NotFound):
        services.contract_status_set(actor=world.comm_outsider, contract=contract, status="ended")
    assert Contract.objects.get(pk=contract.pk).status == "active"
    assert list(selectors.contracts_visible_to(world.comm_outsider)) == []
    assert list(selectors.contracts_visible_to(world.comm_ccg)) == [contract]
