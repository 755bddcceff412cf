from decimal import Decimal

import pytest

from budgets.models import FundBudget
from budgets.planning.selectors import virements_awaiting_board
from budgets.planning.services.virements import virement_request
from budgets.selectors import fund_budget_status, lines_visible_to, virements_visible_to
from tests.budgets.factories import budget_world

pytestmark = pytest.mark.django_db


def test_lines_are_visible_to_partners_and_administrators_only():
    w = budget_world()
    assert sorted(lines_visible_to(w.comm_ccg).values_list("code", flat=True)) == ["CH01", "HC01"]
    assert sorted(lines_visible_to(w.admin, fund=w.fund).values_list("code", flat=True)) == [
        "CH01",
        "HC01",
    ]
    assert not lines_visible_to(w.comm_outsider).exists()


def test_virement_lists_are_scoped_and_awaiting_board_lists_only_those():
    w = budget_world(status=FundBudget.Status.APPROVED)
    small = virement_request(
        actor=w.comm_host,
        from_line=w.host_line,
        to_line=w.ccg_line,
        amount=Decimal("10.00"),
        recurrent=False,
        reason="small",
    )
    big = virement_request(
        actor=w.comm_host,
        from_line=w.host_line,
        to_line=w.ccg_line,
        amount=Decimal("50000.01"),
        recurrent=False,
        reason="big",
    )
    assert list(virements_visible_to(w.fin_ccg)) == [big, small]
    assert not virements_visible_to(w.fin_outsider).exists()
    assert list(virements_awaiting_board([w.fund.pk])) == [big]
    assert fund_budget_status(w.fund, w.year) == "approved"
