"""How fresh a fund's figures are: when they were computed and how many changes are still pending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max
from django.utils import timezone

from budgets.models import FundPosition, StaleMark


def figures_as_at(moment: datetime | None) -> str:
    """ "Figures as at 14:02 on 3 October 2016" (local time), or that none are computed yet: the
    one wording every page, export and paper uses for when its figures were calculated."""
    if moment is None:
        return "Figures not yet calculated"
    local = timezone.localtime(moment)
    return f"Figures as at {local:%H:%M} on {local.day} {local:%B %Y}"


@dataclass(frozen=True)
class Freshness:
    computed_at: datetime | None
    pending: int

    @property
    def as_at_text(self) -> str:
        return figures_as_at(self.computed_at)

    @property
    def pending_text(self) -> str:
        if not self.pending:
            return ""
        noun = "change" if self.pending == 1 else "changes"
        return f"Recalculating: {self.pending} {noun} pending"

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_at": self.computed_at.isoformat() if self.computed_at else None,
            "pending_changes": self.pending,
        }


def fund_freshness(fund: Any, year: Any = None) -> Freshness:
    positions = FundPosition.objects.filter(fund=fund)
    marks = StaleMark.objects.filter(fund=fund)
    if year is not None:
        positions = positions.filter(year=year)
        marks = marks.filter(year_id=getattr(year, "pk", year))
    computed_at = positions.aggregate(at=Max("computed_at"))["at"]
    return Freshness(computed_at=computed_at, pending=marks.count())
