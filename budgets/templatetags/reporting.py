"""Template tags for the reporting context and the freshness of figures.

`{% figures_as_at as_at pending %}` is the one way a page, the dashboard and the board pack say
when their figures were computed; `{% context_caption ctx %}` names fund, year and month in a
page's heading and `{% context_switcher ctx action %}` offers the year and month (a plain GET
form, no JavaScript needed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import template

from budgets.context import ReportingContext, month_choices
from budgets.freshness import Freshness

register = template.Library()


@register.inclusion_tag("budgets/includes/freshness.html")
def figures_as_at(as_at: datetime | None, pending: int = 0) -> dict[str, Any]:
    return {"freshness": Freshness(computed_at=as_at, pending=pending or 0)}


@register.inclusion_tag("budgets/includes/context_caption.html")
def context_caption(ctx: ReportingContext) -> dict[str, Any]:
    return {"ctx": ctx}


@register.inclusion_tag("budgets/includes/context_switcher.html")
def context_switcher(
    ctx: ReportingContext,
    action: str,
    keep: Iterable[tuple[str, Any]] = (),
    years: bool = True,
    months: bool = True,
) -> dict[str, Any]:
    """The year and month switcher. `keep`: (name, value) pairs the switch carries (filters,
    sort, grouping); `years=False` offers the month only (a line belongs to one year);
    `months=False` the year only (a page of quarterly figures)."""
    return {
        "ctx": ctx,
        "action": action,
        "keep": [(name, value) for name, value in keep if value not in ("", None)],
        "years": list(ctx.years) if years else [],
        "months": month_choices(ctx) if months else [],
        "show_months": months,
    }


@register.inclusion_tag("budgets/includes/context_fields.html")
def context_fields(ctx: ReportingContext) -> dict[str, Any]:
    """The year and month selects alone, for a page whose own form carries more choices."""
    return {"ctx": ctx, "years": list(ctx.years), "months": month_choices(ctx)}
