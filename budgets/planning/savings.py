"""A savings scheme's delivery as at a month: planned and delivered to date, the year's forecast,
what is at risk, and its RAG (rated by `budgets.rag`, on the shortfall, not on over-delivery).

- shortfall to date = planned to date - delivered to date;
- forecast = the lead's forecast of the year's delivery, else delivered to date plus the plan for
  the months still to come;
- at risk = planned for the year - forecast (never below zero);
- RAG = the worse of the shortfall against planned to date and the amount at risk against the year's
  plan, each rated with the fund's thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from budgets.rag import Rag, Thresholds, rag_for
from gmhsc.money import ZERO

ORDER = {Rag.GREEN: 0, Rag.AMBER: 1, Rag.RED: 2}


@dataclass(frozen=True)
class Delivery:
    month: int
    planned_year: Decimal
    planned_to_date: Decimal
    delivered_to_date: Decimal
    forecast: Decimal
    rag: Rag

    @property
    def shortfall(self) -> Decimal:
        return self.planned_to_date - self.delivered_to_date

    @property
    def at_risk(self) -> Decimal:
        return max(self.planned_year - self.forecast, ZERO)


def delivery(
    planned: Sequence[Decimal],
    delivered: Mapping[int, Decimal],
    month: int,
    thresholds: Thresholds,
    forecast: Decimal | None = None,
) -> Delivery:
    """The scheme's delivery as at `month` (0: before the year has started; 12: the year)."""
    month = max(0, min(month, 12))
    planned_year = sum(planned, ZERO)
    planned_to_date = sum(planned[:month], ZERO)
    delivered_to_date = sum((a for m, a in delivered.items() if m <= month), ZERO)
    if forecast is None:
        forecast = delivered_to_date + sum(planned[month:], ZERO)
    shortfall = max(planned_to_date - delivered_to_date, ZERO)
    at_risk = max(planned_year - forecast, ZERO)
    rag = max(
        rag_for(shortfall, planned_to_date, thresholds),
        rag_for(at_risk, planned_year, thresholds),
        key=ORDER.__getitem__,
    )
    return Delivery(
        month=month,
        planned_year=planned_year,
        planned_to_date=planned_to_date,
        delivered_to_date=delivered_to_date,
        forecast=forecast,
        rag=rag,
    )
