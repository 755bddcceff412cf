from decimal import Decimal

import pytest
from django.utils import timezone

from budgets.models import BudgetLine, FundBudget, StaleMark
from budgets.planning.services import lines as svc
from budgets.planning.services.funds import BudgetNotDraft
from gmhsc.errors import ApplicationError, NotAllowed, NotFound, StaleVersion
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return budget_world()


def create(world, actor, **kw):
    args = {
        "actor": actor,
        "fund": world.fund,
        "year": world.year,
        "code": "NEW1",
        "name": "Reablement",
        "service_area": world.area,
        "lead_commissioner": world.host,
        "annual_budget": D("24000.00"),
    }
    args.update(kw)
    return svc.line_create(**args)


def test_lead_commissioner_creates_a_flat_phased_draft_line(world):
    line = create(world, world.comm_host)
    assert (line.original_budget, line.changes, line.current_budget) == (
        D("24000.00"),
        D("0.00"),
        D("24000.00"),
    )
    assert line.phasing == [D("2000.00")] * 12
    assert line.version == 1
    assert StaleMark.objects.filter(fund=world.fund, line_id=line.pk).count() == 1


def test_commissioner_of_a_partner_cannot_create_a_line_another_partner_leads(world):
    with pytest.raises(NotAllowed):
        create(world, world.comm_ccg)


def test_commissioner_of_a_non_partner_gets_not_found(world):
    with pytest.raises(NotFound):
        create(world, world.comm_outsider, lead_commissioner=world.outsider)


def test_create_with_custom_phasing_that_does_not_sum_is_refused(world):
    with pytest.raises(ApplicationError, match=r"add up to £11,999\.99"):
        create(
            world,
            world.comm_host,
            annual_budget="12000.00",
            phasing_method="custom",
            custom=["1000.00"] * 11 + ["999.99"],
        )
    assert not BudgetLine.objects.filter(code="NEW1").exists()


def test_duplicate_code_is_refused(world):
    with pytest.raises(ApplicationError, match="already has a line HC01"):
        create(world, world.comm_host, code="HC01")


def test_lead_commissioner_edits_budget_and_phasing_of_a_draft_line(world):
    line = world.host_line
    updated = svc.line_update(
        actor=world.comm_host,
        line=line,
        expected_version=1,
        reason="Uplift",
        annual_budget="130000.00",
        name="Home care (uplifted)",
    )
    assert updated.version == 2
    assert updated.original_budget == D("130000.00")
    assert updated.current_budget == D("130000.00")
    assert updated.phasing == [D("10833.34")] * 4 + [D("10833.33")] * 8
    assert updated.name == "Home care (uplifted)"
    assert updated.updated_by == world.comm_host


def test_partner_commissioner_who_does_not_lead_the_line_may_not_edit_it(world):
    with pytest.raises(NotAllowed):
        svc.line_update(
            actor=world.comm_ccg,
            line=world.host_line,
            expected_version=1,
            reason="x",
            annual_budget="1.00",
        )
    with pytest.raises(NotFound):
        svc.line_update(
            actor=world.comm_outsider,
            line=world.host_line,
            expected_version=1,
            reason="x",
            annual_budget="1.00",
        )
    world.host_line.refresh_from_db()
    assert world.host_line.current_budget == D("120000.00")


def test_second_save_with_an_old_version_is_refused_with_who_when_and_current_values(world):
    line = world.host_line
    svc.line_update(
        actor=world.comm_host,
        line=line,
        expected_version=1,
        reason="first",
        annual_budget="121200.00",
    )
    with pytest.raises(StaleVersion) as err:
        svc.line_update(
            actor=world.comm_host,
            line=line,
            expected_version=1,
            reason="second",
            annual_budget="999.00",
        )
    fresh = BudgetLine.objects.get(pk=line.pk)
    when = timezone.localtime(fresh.updated_at)
    expected_time = f"{when:%H:%M} on {when.day} {when:%B %Y}"
    assert err.value.message.startswith(
        f"This line was changed by Commhost Tester at {expected_time}."
    )
    assert err.value.status_code == 412
    assert err.value.extra["version"] == 2
    assert err.value.extra["current"]["current_budget"] == "121200.00"
    assert err.value.extra["current"]["phasing"][0] == "10100.00"
    assert fresh.current_budget == D("121200.00")
    assert fresh.version == 2


def test_rephase_seasonal_keeps_the_total(world):
    line = svc.line_rephase(
        actor=world.comm_host, line=world.host_line, expected_version=1, method="seasonal"
    )
    assert line.phasing_method == "seasonal"
    assert line.phasing[0] == D("9200.00")
    assert line.phasing[9] == D("11800.00")
    assert line.current_budget == D("120000.00")


def test_rephase_custom(world):
    values = [D("5000.00")] * 6 + [D("15000.00")] * 6
    line = svc.line_rephase(
        actor=world.comm_host,
        line=world.host_line,
        expected_version=1,
        method="custom",
        custom=values,
    )
    assert line.phasing == values


def test_changing_the_budget_of_a_custom_line_keeps_its_shape(world):
    values = [D("5000.00")] * 6 + [D("15000.00")] * 6
    line = svc.line_rephase(
        actor=world.comm_host,
        line=world.host_line,
        expected_version=1,
        method="custom",
        custom=values,
    )
    line = svc.line_update(
        actor=world.comm_host,
        line=line,
        expected_version=2,
        reason="double",
        annual_budget="240000.00",
    )
    assert line.phasing == [D("10000.00")] * 6 + [D("30000.00")] * 6


def test_last_year_pattern_without_spend_falls_back_to_flat_and_records_why(world):
    line = svc.line_rephase(
        actor=world.comm_host, line=world.host_line, expected_version=1, method="last_year"
    )
    assert line.phasing_method == "flat"
    record = line.history.latest()
    assert "phased flat instead" in record.history_change_reason


def test_approved_budget_refuses_money_changes_but_allows_a_rename(world):
    FundBudget.objects.filter(fund=world.fund).update(status=FundBudget.Status.APPROVED)
    with pytest.raises(BudgetNotDraft, match="change it through an adjustment or a virement"):
        svc.line_update(
            actor=world.comm_host,
            line=world.host_line,
            expected_version=1,
            reason="x",
            annual_budget="1.00",
        )
    line = svc.line_update(
        actor=world.comm_host,
        line=world.host_line,
        expected_version=1,
        reason="clearer name",
        name="Home care and support",
    )
    assert line.name == "Home care and support"
    assert line.original_budget == D("120000.00")


def test_lead_commissioner_can_only_move_to_a_partner(world):
    with pytest.raises(ApplicationError, match="not a partner"):
        svc.line_update(
            actor=world.comm_host,
            line=world.host_line,
            expected_version=1,
            reason="x",
            lead_commissioner="TOTHER",
        )
    line = svc.line_update(
        actor=world.comm_host,
        line=world.host_line,
        expected_version=1,
        reason="CCG leads now",
        lead_commissioner="TCCG",
    )
    assert line.lead_commissioner == world.ccg


def test_last_year_pattern_follows_last_years_postings_for_the_same_code(world):
    from budgets.models import FinancialYear, Period, SpendPosting
    from tests.budgets.factories import BudgetLineFactory

    previous = FinancialYear.objects.get(code="2015/16")
    old = BudgetLineFactory(
        fund=world.fund,
        year=previous,
        code="HC01",
        service_area=world.area,
        lead_commissioner=world.host,
        original_budget=D("100000.00"),
    )
    for number, amount in [(1, "3000.00"), (1, "1000.00"), (10, "8000.00"), (12, "-500.00")]:
        period = Period.objects.get(year=previous, number=number)
        SpendPosting.objects.create(
            organisation=world.host,
            document_number=f"PY{number}-{amount}",
            line_number=1,
            posting_date=period.start_date,
            period=period,
            fund=world.fund,
            budget_line=old,
            amount=D(amount),
        )
    line = svc.line_rephase(
        actor=world.comm_host, line=world.host_line, expected_version=1, method="last_year"
    )
    assert line.phasing_method == "last_year"
    # April 4,000 and January 8,000 of 12,000; March's credit counts as nothing.
    assert line.phasing == [D("40000.00")] + [D("0.00")] * 8 + [D("80000.00")] + [D("0.00")] * 2
