from __future__ import annotations

from decimal import Decimal

import pytest

from boards import services
from boards.models import Decision, Membership
from budgets.models import BudgetLine, FundBudget, Virement
from budgets.planning.services.virements import virement_request
from gmhsc.errors import NotAllowed, NotFound
from tests.boards.factories import BoardFactory, MeetingFactory, MembershipFactory
from tests.budgets.factories import budget_world


@pytest.fixture
def world(db):
    w = budget_world(status=FundBudget.Status.APPROVED)
    board = BoardFactory(
        code="LB-TST", name="Test Locality Board", delegated_limit=Decimal("70000.00")
    )
    board.funds.add(w.fund)
    chair = MembershipFactory(board=board, role=Membership.Role.CHAIR).person
    meeting = MeetingFactory(board=board)
    v = virement_request(
        actor=w.comm_host,
        from_line=w.host_line,
        to_line=w.ccg_line,
        amount=Decimal("60000.00"),
        recurrent=False,
        reason="Shift to community health",
    )
    assert v.status == Virement.Status.AWAITING_BOARD
    return w, board, chair, meeting, v


def test_board_approves_virement_and_links_it(world):
    w, _board, chair, meeting, v = world
    d = services.decision_record(
        actor=chair, meeting=meeting, text="Approve the virement", outcome="approved", virement=v
    )
    v.refresh_from_db()
    assert v.status == Virement.Status.APPLIED
    assert v.approval_reference == d.reference == "LB-TST/2016/001"
    assert (d.subject_type, d.subject_id) == ("budgets.virement", v.pk)
    assert d.amount == Decimal("60000.00")
    assert list(d.funds.all()) == [w.fund]
    assert BudgetLine.objects.get(pk=w.host_line.pk).current_budget == Decimal("60000.00")
    assert BudgetLine.objects.get(pk=w.ccg_line.pk).current_budget == Decimal("120000.00")


def test_virement_above_board_limit_is_refused_and_untouched(world):
    _w, board, chair, meeting, v = world
    board.delegated_limit = Decimal("50000.00")
    board.save()
    with pytest.raises(NotAllowed, match="delegated limit of £50,000"):
        services.decision_record(
            actor=chair, meeting=meeting, text="Approve", outcome="approved", virement=v
        )
    v.refresh_from_db()
    assert v.status == Virement.Status.AWAITING_BOARD
    assert Decision.objects.count() == 0


def test_board_rejects_virement(world):
    _w, _board, chair, meeting, v = world
    d = services.decision_record(
        actor=chair, meeting=meeting, text="Not now", outcome="rejected", virement=v
    )
    v.refresh_from_db()
    assert v.status == Virement.Status.REJECTED
    assert v.approval_reference == d.reference


def test_virement_of_a_fund_the_board_does_not_oversee_is_not_found(world):
    _w, board, chair, meeting, v = world
    board.funds.clear()
    with pytest.raises(NotFound):
        services.decision_record(
            actor=chair, meeting=meeting, text="Approve", outcome="approved", virement=v
        )
