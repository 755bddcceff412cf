from decimal import Decimal

import pytest
from django.db.models import Count, Sum

from budgets.demo import funds as demo
from budgets.models import (
    BudgetLine,
    Contribution,
    Forecast,
    FundBudget,
    PooledFund,
    RiskShareAgreement,
    SpendPosting,
    Virement,
)
from localities.demo import seed_users

pytestmark = pytest.mark.django_db


def test_demo_seed_is_realistic_consistent_and_idempotent(reference):
    seed_users()
    messages = list(demo.seed())
    assert messages[0].startswith("budgets demo: 12 funds, ")
    gm = PooledFund.objects.get(code="GM-POOL")
    assert gm.host.code == "E47000001"
    gm_lines = BudgetLine.objects.filter(fund=gm, year__code="2016/17")
    assert gm_lines.count() >= 2000
    assert gm_lines.values("locality").distinct().count() == 10
    partners = set(Contribution.objects.filter(fund=gm).values_list("partner__kind", flat=True))
    assert partners == {"council", "ccg", "nhs_england"}
    assert Contribution.objects.filter(fund=gm).count() == 23
    mcr = PooledFund.objects.get(code="LP-MANCHESTER")
    assert set(
        Contribution.objects.filter(fund=mcr, year__code="2016/17").values_list(
            "partner__code", flat=True
        )
    ) == {"E08000003", "00W", "01M", "01N"}
    assert PooledFund.objects.get(code="BCF-MAN").is_bcf
    assert PooledFund.objects.filter(code__startswith="LP-").count() == 10
    # Every fund's shares sum to exactly 1 and its contributions to its lines' original total.
    for fund in PooledFund.objects.all():
        contributions = Contribution.objects.filter(fund=fund, year__code="2016/17")
        assert sum(c.share for c in contributions) == Decimal("1")
        lines_total = BudgetLine.objects.filter(fund=fund, year__code="2016/17").aggregate(
            t=Sum("original_budget")
        )["t"]
        assert sum(c.amount for c in contributions) == lines_total
    assert set(RiskShareAgreement.objects.values_list("rule", flat=True)) == {
        "own_risk",
        "pro_rata",
        "fixed",
        "threshold",
    }
    assert set(
        FundBudget.objects.filter(year__code="2016/17").values_list("status", flat=True)
    ) == {"approved"}
    methods = dict(BudgetLine.objects.values_list("phasing_method").annotate(n=Count("id")))
    assert set(methods) == {"flat", "custom", "seasonal", "last_year"}
    assert sorted(Virement.objects.values_list("status", flat=True)) == [
        "applied",
        "applied",
        "awaiting_board",
        "requested",
    ]
    assert Forecast.objects.filter(period__number=6).exclude(commentary="").exists()
    assert SpendPosting.objects.filter(period__year__code="2015/16").exists()
    for line in BudgetLine.objects.filter(fund=gm)[:50]:
        assert sum(line.phasing) == line.current_budget
    # Later years come from the year cycle (budgets.demo.cycle), not from this loader.
    assert not BudgetLine.objects.filter(year__code="2017/18").exists()
    counts = (
        BudgetLine.objects.count(),
        Virement.objects.count(),
        Forecast.objects.count(),
        SpendPosting.objects.count(),
    )
    assert list(demo.seed()) == ["budgets demo: already loaded"]
    assert counts == (
        BudgetLine.objects.count(),
        Virement.objects.count(),
        Forecast.objects.count(),
        SpendPosting.objects.count(),
    )
