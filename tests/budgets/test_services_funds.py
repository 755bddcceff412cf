from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Contribution, FundBudget, RiskShareAgreement
from budgets.planning.services import funds as svc
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return budget_world()


def test_host_finance_officer_sets_a_contribution_with_four_quarterly_instalments(world):
    c = svc.contribution_set(
        actor=world.fin_host,
        fund=world.fund,
        year=world.year,
        partner=world.ccg,
        amount="400000.03",
    )
    assert c.amount == D("400000.03")
    instalments = list(c.instalments.order_by("due_date").values_list("due_date", "amount"))
    assert instalments == [
        (date(2016, 4, 1), D("100000.01")),
        (date(2016, 7, 1), D("100000.01")),
        (date(2016, 10, 1), D("100000.01")),
        (date(2017, 1, 1), D("100000.00")),
    ]


def test_partner_finance_officer_may_not_set_contributions_and_an_outsider_gets_not_found(world):
    with pytest.raises(NotAllowed):
        svc.contribution_set(
            actor=world.fin_ccg, fund=world.fund, year=world.year, partner=world.ccg, amount="1.00"
        )
    with pytest.raises(NotFound):
        svc.contribution_set(
            actor=world.fin_outsider,
            fund=world.fund,
            year=world.year,
            partner=world.ccg,
            amount="1.00",
        )


def test_shares_are_fixed_as_contribution_over_total_and_sum_to_one(world):
    svc.contribution_set(
        actor=world.fin_host,
        fund=world.fund,
        year=world.year,
        partner=world.outsider,
        amount="200000.00",
    )
    rows = svc.contributions_fix_shares(actor=world.fin_host, fund=world.fund, year=world.year)
    shares = {c.partner.code: c.share for c in rows}
    # 600k, 400k, 200k of 1.2m: thirds need the leftover unit placed by largest remainder.
    assert shares == {
        "TCCG": D("0.33333333"),
        "TCOUNCIL": D("0.50000000"),
        "TOTHER": D("0.16666667"),
    }
    assert sum(shares.values()) == D("1")


def test_fixed_shares_are_not_recomputed_without_a_formal_variation(world):
    svc.contributions_fix_shares(actor=world.fin_host, fund=world.fund, year=world.year)
    with pytest.raises(ApplicationError, match="already fixed"):
        svc.contributions_fix_shares(actor=world.fin_host, fund=world.fund, year=world.year)
    with pytest.raises(ApplicationError, match="formal variation"):
        svc.contribution_set(
            actor=world.fin_host,
            fund=world.fund,
            year=world.year,
            partner=world.ccg,
            amount="600000.00",
        )
    svc.contribution_set(
        actor=world.fin_host,
        fund=world.fund,
        year=world.year,
        partner=world.ccg,
        amount="600000.00",
        variation_reason="Deed of variation signed 1 Sept 2016",
    )
    shares = dict(
        Contribution.objects.filter(fund=world.fund).values_list("partner__code", "share")
    )
    assert shares == {"TCOUNCIL": D("0.50000000"), "TCCG": D("0.50000000")}
    ccg = Contribution.objects.get(fund=world.fund, partner=world.ccg)
    assert (
        ccg.history.latest().history_change_reason
        == "Variation: Deed of variation signed 1 Sept 2016"
    )
    # created by the factory, shares fixed, then one record for the variation
    assert ccg.history.count() == 3
    assert ccg.history.latest().amount == D("600000.00")


def test_contributions_are_set_only_while_the_year_is_draft(world):
    FundBudget.objects.filter(fund=world.fund).update(status=FundBudget.Status.APPROVED)
    with pytest.raises(svc.BudgetNotDraft):
        svc.contribution_set(
            actor=world.fin_host, fund=world.fund, year=world.year, partner=world.ccg, amount="1.00"
        )


@pytest.mark.parametrize(
    ("rule", "params", "stored"),
    [
        ("own_risk", {}, {}),
        ("pro_rata", {"cap_at_contribution": True}, {"cap_at_contribution": True}),
        (
            "fixed",
            {"percentages": {"TCOUNCIL": "60", "TCCG": "40.00"}},
            {"percentages": {"TCOUNCIL": "60.00", "TCCG": "40.00"}},
        ),
        (
            "threshold",
            {"host_first_pct": "2", "then": "equal"},
            {"host_first_pct": "2.00", "then": "equal", "cap_at_contribution": False},
        ),
    ],
)
def test_risk_share_rules_are_validated_and_normalised(world, rule, params, stored):
    agreement = svc.risk_share_agreement_set(
        actor=world.fin_host, fund=world.fund, year=world.year, rule=rule, parameters=params
    )
    assert (agreement.rule, agreement.parameters) == (rule, stored)
    assert RiskShareAgreement.objects.count() == 1


@pytest.mark.parametrize(
    ("rule", "params", "message"),
    [
        ("fixed", {"percentages": {"TCOUNCIL": "60", "TCCG": "39.99"}}, "add up to 99.99"),
        (
            "fixed",
            {"percentages": {"TCOUNCIL": "60", "TOTHER": "40"}},
            "TOTHER does not contribute",
        ),
        ("fixed", {}, "Fixed percentages need"),
        ("threshold", {"host_first_pct": "101"}, "between 0 and 100"),
        ("threshold", {}, "needs host_first_pct"),
        ("threshold", {"host_first_pct": "2", "then": "lottery"}, "'pro_rata' or 'equal'"),
        ("waterfall", {}, "Unknown risk-share rule"),
        # A name the rule does not take is refused, not silently dropped.
        ("own_risk", {"ignored": 1}, "The own_risk rule takes no parameter 'ignored'"),
    ],
)
def test_bad_risk_share_parameters_are_refused(world, rule, params, message):
    with pytest.raises(ApplicationError, match=message):
        svc.risk_share_agreement_set(
            actor=world.fin_host, fund=world.fund, year=world.year, rule=rule, parameters=params
        )
    assert RiskShareAgreement.objects.count() == 0


def test_budget_is_submitted_by_a_partner_and_approved_by_the_hosts_finance_officer(world):
    with pytest.raises(NotFound):
        svc.fund_budget_submit(actor=world.comm_outsider, fund=world.fund, year=world.year)
    budget = svc.fund_budget_submit(actor=world.comm_ccg, fund=world.fund, year=world.year)
    assert budget.status == "submitted"
    assert budget.submitted_by == world.comm_ccg
    with pytest.raises(NotAllowed):
        svc.fund_budget_approve(actor=world.fin_ccg, fund=world.fund, year=world.year)
    with pytest.raises(NotAllowed):
        svc.fund_budget_approve(actor=world.comm_host, fund=world.fund, year=world.year)
    budget = svc.fund_budget_approve(actor=world.fin_host, fund=world.fund, year=world.year)
    assert budget.status == "approved"
    assert budget.approved_by == world.fin_host


def test_nobody_approves_a_budget_they_submitted_themselves(world):
    """Issue 21 item 14: the submitter is not the approver."""
    svc.fund_budget_submit(actor=world.fin_host, fund=world.fund, year=world.year)
    with pytest.raises(NotAllowed, match="You submitted LP-TEST's 2016/17 budget yourself"):
        svc.fund_budget_approve(actor=world.fin_host, fund=world.fund, year=world.year)
    budget = FundBudget.objects.get(fund=world.fund, year=world.year)
    assert (budget.status, budget.approved_by) == ("submitted", None)
    # Sent back and submitted by a partner, the same officer approves it.
    svc.fund_budget_return(actor=world.fin_host, fund=world.fund, year=world.year, reason="Redo")
    svc.fund_budget_submit(actor=world.fin_ccg, fund=world.fund, year=world.year)
    budget = svc.fund_budget_approve(actor=world.fin_host, fund=world.fund, year=world.year)
    assert (budget.status, budget.submitted_by, budget.approved_by) == (
        "approved",
        world.fin_ccg,
        world.fin_host,
    )


def test_a_draft_budget_cannot_be_approved_without_being_submitted(world):
    with pytest.raises(ApplicationError, match="cannot become approved"):
        svc.fund_budget_approve(actor=world.fin_host, fund=world.fund, year=world.year)


def test_submitted_budget_returns_to_draft_with_a_reason(world):
    svc.fund_budget_submit(actor=world.fin_ccg, fund=world.fund, year=world.year)
    with pytest.raises(ApplicationError, match="Say why"):
        svc.fund_budget_return(actor=world.fin_host, fund=world.fund, year=world.year, reason=" ")
    budget = svc.fund_budget_return(
        actor=world.fin_host, fund=world.fund, year=world.year, reason="Prescribing line missing"
    )
    assert budget.status == "draft"
