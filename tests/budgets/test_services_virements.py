from decimal import Decimal

import pytest

from budgets.models import BudgetLine, FundBudget, FundPeriod, Period, StaleMark, Virement
from budgets.planning.services import virements as svc
from gmhsc.errors import ApplicationError, NotAllowed, NotFound
from tests.budgets.factories import budget_world

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return budget_world(status=FundBudget.Status.APPROVED)


def request(world, amount, actor=None, **kw):
    return svc.virement_request(
        actor=actor or world.comm_host,
        from_line=world.host_line,
        to_line=world.ccg_line,
        amount=amount,
        recurrent=kw.get("recurrent", False),
        reason=kw.get("reason", "Winter pressures"),
    )


def lines(world):
    return (
        BudgetLine.objects.get(pk=world.host_line.pk),
        BudgetLine.objects.get(pk=world.ccg_line.pk),
    )


def test_within_the_officer_limit_the_host_finance_officer_approves_and_it_applies(world):
    virement = request(world, "12000.00")
    assert virement.status == Virement.Status.REQUESTED
    assert virement.period.code == "2016/17-M01"
    StaleMark.objects.all().delete()
    virement = svc.virement_approve(actor=world.fin_host, virement=virement, note="Agreed at JOG")
    assert virement.status == Virement.Status.APPLIED
    assert virement.decided_by == world.fin_host
    assert virement.applied_at is not None
    src, dst = lines(world)
    assert (src.original_budget, src.changes, src.current_budget) == (
        D("120000.00"),
        D("-12000.00"),
        D("108000.00"),
    )
    assert (dst.original_budget, dst.changes, dst.current_budget) == (
        D("60000.00"),
        D("12000.00"),
        D("72000.00"),
    )
    assert src.phasing == [D("9000.00")] * 12
    assert dst.phasing == [D("6000.00")] * 12
    assert (src.version, dst.version) == (2, 2)
    assert set(StaleMark.objects.values_list("line_id", flat=True)) == {src.pk, dst.pk}


def test_applied_change_is_spread_over_the_open_months_only(world):
    for number in (1, 2, 3):
        FundPeriod.objects.create(
            fund=world.fund,
            period=Period.objects.get(year=world.year, number=number),
            status=FundPeriod.Status.CLOSED,
        )
    virement = svc.virement_approve(actor=world.fin_host, virement=request(world, "12000.00"))
    assert virement.period.code == "2016/17-M04"
    src, _ = lines(world)
    assert src.phasing == [D("10000.00")] * 3 + [D("8666.66")] * 3 + [D("8666.67")] * 6
    assert sum(src.phasing) == D("108000.00")


def test_above_the_limit_it_awaits_the_board_and_only_a_board_decision_applies_it(world):
    virement = request(world, "60000.00")
    assert virement.status == Virement.Status.AWAITING_BOARD
    assert virement.get_status_display() == "Awaiting board decision"
    with pytest.raises(NotAllowed, match="needs a board decision"):
        svc.virement_approve(actor=world.fin_host, virement=virement)
    with pytest.raises(ApplicationError, match="decision reference"):
        svc.virement_approve_by_board(actor=world.admin, virement=virement, decision_reference=" ")
    virement = svc.virement_approve_by_board(
        actor=world.admin, virement=virement, decision_reference="JCB/2016/017"
    )
    assert virement.status == Virement.Status.APPLIED
    assert virement.approval_reference == "JCB/2016/017"
    src, dst = lines(world)
    assert (src.current_budget, dst.current_budget) == (D("60000.00"), D("120000.00"))


def test_board_approval_refuses_a_virement_not_awaiting_the_board(world):
    with pytest.raises(ApplicationError, match="not awaiting a board decision"):
        svc.virement_approve_by_board(
            actor=world.admin, virement=request(world, "10.00"), decision_reference="JCB/1"
        )


def test_only_the_hosts_finance_officer_approves(world):
    virement = request(world, "100.00")
    with pytest.raises(NotAllowed):
        svc.virement_approve(actor=world.fin_ccg, virement=virement)
    with pytest.raises(NotAllowed):
        svc.virement_approve(actor=world.comm_host, virement=virement)
    with pytest.raises(NotFound):
        svc.virement_approve(actor=world.fin_outsider, virement=virement)
    assert Virement.objects.get(pk=virement.pk).status == Virement.Status.REQUESTED


def test_requests_are_refused_for_outsiders_zero_amounts_and_budgets_crossing_zero(world):
    with pytest.raises(NotFound):
        request(world, "10.00", actor=world.comm_outsider)
    with pytest.raises(ApplicationError, match="more than £0"):
        request(world, "0.00")
    with pytest.raises(ApplicationError, match=r"cannot give £120,000\.01"):
        request(world, "120000.01")
    with pytest.raises(ApplicationError, match="Say why"):
        request(world, "10.00", reason="  ")
    assert Virement.objects.count() == 0


def test_a_virement_needs_an_approved_budget(world):
    FundBudget.objects.filter(fund=world.fund).update(status=FundBudget.Status.DRAFT)
    with pytest.raises(ApplicationError, match="not approved yet"):
        request(world, "10.00")


def test_money_that_has_gone_since_the_request_is_not_moved(world):
    first = request(world, "100000.00", actor=world.fin_ccg)
    second = request(world, "30000.00")
    svc.virement_approve_by_board(actor=world.admin, virement=first, decision_reference="JCB/2")
    with pytest.raises(ApplicationError, match="cross zero"):
        svc.virement_approve(actor=world.fin_host, virement=second)
    assert Virement.objects.get(pk=second.pk).status == Virement.Status.REQUESTED
    src, _ = lines(world)
    assert src.current_budget == D("20000.00")


def test_reject_needs_a_reason_and_ends_the_request(world):
    virement = request(world, "100.00")
    with pytest.raises(ApplicationError, match="Say why"):
        svc.virement_reject(actor=world.fin_host, virement=virement, note="")
    virement = svc.virement_reject(actor=world.fin_host, virement=virement, note="Not evidenced")
    assert virement.status == Virement.Status.REJECTED
    with pytest.raises(ApplicationError, match="rejected; it cannot become approved"):
        svc.virement_approve(actor=world.fin_host, virement=virement)


def test_only_the_requester_withdraws(world):
    virement = request(world, "100.00")
    with pytest.raises(NotAllowed):
        svc.virement_withdraw(actor=world.comm_ccg, virement=virement)
    assert svc.virement_withdraw(actor=world.comm_host, virement=virement).status == "withdrawn"


def test_both_lines_history_records_the_virement_with_its_reason(world):
    virement = svc.virement_approve(actor=world.fin_host, virement=request(world, "500.00"))
    for line in lines(world):
        record = line.history.latest()
        assert record.history_user == world.fin_host
        assert record.history_change_reason == f"Virement #{virement.pk} (500.00): Winter pressures"


def test_nobody_approves_a_virement_they_requested_themselves(world):
    """Issue 21 item 14: the host's finance officer approved a virement they had asked for."""
    own = request(world, "6000.00", actor=world.fin_host)
    with pytest.raises(NotAllowed, match="You asked for this virement yourself"):
        svc.virement_approve(actor=world.fin_host, virement=own)
    own.refresh_from_db()
    assert (own.status, own.decided_by) == (Virement.Status.REQUESTED, None)
    assert lines(world)[0].current_budget == D("120000.00")
    # The other side: another's request is approved by the same officer and applies.
    theirs = request(world, "6000.00", actor=world.fin_ccg)
    assert svc.virement_approve(actor=world.fin_host, virement=theirs).status == "applied"
    assert lines(world)[0].current_budget == D("114000.00")


def test_nobody_records_the_boards_approval_of_their_own_virement(world):
    from tests.factories import UserFactory

    above = request(world, "60000.00", actor=world.comm_host)
    assert above.status == Virement.Status.AWAITING_BOARD
    with pytest.raises(NotAllowed, match="record the board's approval of it"):
        svc.virement_approve_by_board(
            actor=world.comm_host, virement=above, decision_reference="JCB/2016/001"
        )
    assert Virement.objects.get(pk=above.pk).status == Virement.Status.AWAITING_BOARD
    clerk = UserFactory(username="clerk")
    done = svc.virement_approve_by_board(
        actor=clerk, virement=above, decision_reference="JCB/2016/001"
    )
    assert (done.status, done.decided_by, done.approval_reference) == (
        Virement.Status.APPLIED,
        clerk,
        "JCB/2016/001",
    )
