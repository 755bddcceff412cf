"""RAG: the one rule that rates a variance Red, Amber or Green (domain.md 2.4).

Every place that rates or counts a line (the recompute engine, forecasts, the variance report,
the board dashboard and pack) uses `Rag` and `rag_for` from here; no other module spells a
rating as a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from budgets.models import PooledFund


class Rag(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


#: The ratings that need commentary and that board papers single out.
NEEDS_COMMENTARY = frozenset({Rag.AMBER, Rag.RED})


@dataclass(frozen=True)
class Thresholds:
    amber_pct: Decimal
    red_pct: Decimal
    floor: Decimal

    @classmethod
    def of(cls, fund: PooledFund) -> Thresholds:
        return cls(fund.rag_amber_pct, fund.rag_red_pct, fund.rag_floor)


def rag_for(variance: Decimal, budget: Decimal, t: Thresholds) -> Rag:
    """RAG on |forecast variance| as a % of budget: green below the amber threshold, amber from
    it up to and including the red threshold, red above it (domain.md 2.4: "Green < 2%, Amber 2%
    to 5%, Red > 5%"). Compared unrounded (1.999% is green though it displays as 2.00%);
    variances under the £ floor stay green; any variance on a zero budget is red."""
    if variance == 0 or abs(variance) < t.floor:
        return Rag.GREEN
    if budget == 0:
        return Rag.RED
    pct = abs(variance) * 100 / abs(budget)
    if pct > t.red_pct:
        return Rag.RED
    if pct >= t.amber_pct:
        return Rag.AMBER
    return Rag.GREEN


def fund_rag(fund: PooledFund, variance: Decimal, budget: Decimal) -> Rag:
    """The fund's RAG for a variance against a budget, with the fund's own thresholds."""
    return rag_for(variance, budget, Thresholds.of(fund))
