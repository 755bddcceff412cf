"""budgets.demo.cycle: 2016/17 to year end and settled, 2017/18 rolled forward and run to M6, 2018/19
opened with two funds in budget setting; idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from budgets.demo import cycle, funds, spend
from budgets.models import (
    BudgetLine,
    BudgetSetting,
    Contribution,
    FundBudget,
    FundPeriod,
    SavingsDelivery,
    SavingsScheme,
    Settlement,
    YearEnd,
)
from budgets.planning.services.lines import line_update
from budgets.planning.year_selectors import overdue_instalments
from localities.demo import seed_users
from localities.models import User

pytestmark = pytest.mark.django_db


def test_the_demo_takes_the_funds_through_the_cycle(reference):
    seed_users()
    list(funds.seed())
    list(spend.seed())
    messages = list(cycle.seed())
    assert messages[-1] == (
        "year cycle demo: 2018/19 opened; LP-BOLTON, LP-MANCHESTER rolled forward in draft"
    )
    closes = YearEnd.objects.filter(year__code="2016/17", status="closed")
    assert closes.count() == 12
    assert (
        FundPeriod.objects.filter(period__year__code="2016/17", status="closed").count() == 12 * 13
    )
    for close in closes:
        rows = Settlement.objects.filter(year_end=close)
        assert sum(r.variance_share for r in rows) == close.variance
    mcr = YearEnd.objects.get(fund__code="LP-MANCHESTER", year__code="2016/17")
    assert (mcr.underspend, mcr.variance < 0) == ("carry_forward", True)
    carried = Contribution.objects.filter(fund__code="LP-MANCHESTER", year__code="2017/18")
    assert sum(c.carried_forward for c in carried) == -mcr.variance
    assert set(
        FundBudget.objects.filter(year__code="2017/18").values_list("status", flat=True)
    ) == {"approved"}
    assert BudgetSetting.objects.filter(year__code="2017/18").count() == 12
    manchester_ccgs = set(
        BudgetLine.objects.filter(
            fund__code="LP-MANCHESTER", year__code="2017/18", lead_commissioner__kind="ccg"
        ).values_list("lead_commissioner__code", flat=True)
    )
    assert manchester_ccgs == {"14L"}
    assert SavingsScheme.objects.filter(year__code="2017/18").count() > 12
    assert set(SavingsDelivery.objects.values_list("month", flat=True)) == {1, 2, 3, 4, 5, 6}
    overdue = {
        (o.fund_code, o.partner)
        for o in overdue_instalments(
            [
                (c.fund, c.year)
                for c in Contribution.objects.filter(year__code="2017/18").select_related(
                    "fund", "year"
                )
            ]
        )
    }
    assert ("GM-POOL", "NHS England") in overdue
    assert ("LP-MANCHESTER", "NHS Manchester CCG") in overdue
    drafts = FundBudget.objects.filter(year__code="2018/19").values_list("fund__code", "status")
    assert sorted(drafts) == [("LP-BOLTON", "draft"), ("LP-MANCHESTER", "draft")]
    draft = (
        BudgetLine.objects.filter(
            fund__code="LP-MANCHESTER", year__code="2018/19", lead_commissioner__code="E08000003"
        )
        .order_by("code")
        .first()
    )
    edited = line_update(
        actor=User.objects.get(username="comm.manchester"),
        line=draft,
        expected_version=1,
        reason="demo edit",
        annual_budget="123456.00",
    )
    assert sum(edited.phasing) == Decimal("123456.00")
    assert list(cycle.seed()) == ["year cycle demo: already loaded"]
