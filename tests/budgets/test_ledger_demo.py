"""budgets.demo.spend: mappings for every demo line and six months of spend, quick and idempotent."""

from __future__ import annotations

import pytest
from django.db.models import Count, Sum

from budgets.demo import funds as demo
from budgets.demo import spend as demo_spend
from budgets.models import BudgetLine, LedgerMapping, SpendPosting
from localities.demo import seed_users

pytestmark = pytest.mark.django_db


def test_without_lines_it_says_so(reference):
    assert list(demo_spend.seed()) == [
        "spend demo: no budget lines for 2016/17 yet (run budgets.demo.funds first); nothing posted"
    ]


def test_demo_spend_is_realistic_quick_and_idempotent(reference):
    seed_users()
    list(demo.seed())
    messages = list(demo_spend.seed())
    lines = BudgetLine.objects.filter(year__code="2016/17").count()
    assert LedgerMapping.objects.filter(year__code="2016/17").count() == lines
    spend = SpendPosting.objects.filter(period__year__code="2016/17")
    count = spend.count()
    assert count >= 20_000, messages
    assert set(spend.values_list("period__number", flat=True).distinct()) == {1, 2, 3, 4, 5, 6}
    assert spend.filter(is_accrual=True).exists()
    reversals = spend.filter(reverses__isnull=False)
    assert reversals.exists()
    for reversal in reversals[:20]:
        assert reversal.amount == -reversal.reverses.amount
    suppliers = set(spend.values_list("supplier", flat=True).distinct())
    assert any("NHS" in s for s in suppliers)
    assert "Making Space" in suppliers
    # Spend lands near the phased budget: M1-M6 actuals within 15% of six months' budget.
    total = spend.aggregate(t=Sum("amount"))["t"]
    budget = sum(
        sum(getattr(line, f"m{n:02d}") for n in range(1, 7))
        for line in BudgetLine.objects.filter(year__code="2016/17")
    )
    assert abs(total - budget) / budget < 0.15
    assert (
        not spend.values("organisation", "document_number", "line_number")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    again = list(demo_spend.seed())
    assert SpendPosting.objects.filter(period__year__code="2016/17").count() == count
    assert any("0 postings" in m for m in again), again
    assert any("0 accruals" in m for m in again), again
