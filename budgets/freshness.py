"""How fresh a fund's figures are: when they were computed and how many changes are still pending.

The one wording of "figures as at" and "Recalculating: N changes pending": every page, export
and board pack says it through `as_at_text` and `pending_text` (pages through the
`figures_as_at` template tag in budgets.templatetags.reporting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from budgets.models import FinancialYear, FundPosition, StaleMark


def as_at_text(computed_at: datetime | None) -> str:
    """ "Figures as at 14:02 on 3 October 2016" (local time), or that none are computed yet."""
    if computed_at is None:
        return "Figures not yet calculated"
    local = timezone.localtime(computed_at)
    return f"Figures as at {local:%H:%M} on {local.day} {local:%B %Y}"


def pending_text(pending: int) -> str:
    if not pending:
        return ""
    noun = "change" if pending == 1 else "changes"
    return f"Recalculating: {pending} {noun} pending"


@dataclass(frozen=True)
class Freshness:
    computed_at: datetime | None
    pending: int

    @property
    def as_at_text(self) -> str:
        return as_at_text(self.computed_at)

    @property
    def pending_text(self) -> str:
        return pending_text(self.pending)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_at": self.computed_at.isoformat() if self.computed_at else None,
            "pending_changes": self.pending,
        }


def fund_freshness(fund: Any, year: Any = None) -> Freshness:
    """When the fund's figures (that year's, when given) were last computed, and how many changes
    wait for the recompute: one statement, as every figures page asks it."""
    params: list[Any] = [fund.pk]
    where = "fund_id = %s"
    if year is not None:
        where += " AND year_id = %s"
        params.append(year.pk if isinstance(year, FinancialYear) else year)
    # Table names and constant conditions only; the values are parameters.
    sql = (
        f"SELECT (SELECT max(computed_at) FROM {FundPosition._meta.db_table} WHERE {where}), "  # noqa: S608
        f"(SELECT count(*) FROM {StaleMark._meta.db_table} WHERE {where})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params * 2)
        computed_at, pending = cursor.fetchone()
    return Freshness(computed_at=computed_at, pending=int(pending))
