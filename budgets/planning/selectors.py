"""Read queries for the planning pages: the lines table with its filters, sorts and totals, a
line's postings and forecasts, and virements waiting for a board."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, DecimalField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from budgets.models import BudgetLine, Forecast, LineVariance, ServiceArea, SpendPosting, Virement
from budgets.selectors import lines_visible_to, ytd_actual
from gmhsc.money import ZERO
from localities.models import Locality, Organisation


def suggested_forecast(line: Any, period: Any) -> Any:
    """YTD actual to the end of `period` plus the phased budget of the months after it."""
    remaining = sum(line.phasing[period.number :], ZERO)
    return ytd_actual(line, period.number) + remaining


def virements_awaiting_board(fund_ids: Any) -> QuerySet[Any]:
    """Virements above the officer limit waiting for a board decision, for the boards that oversee
    these funds."""
    return (
        Virement.objects.filter(fund_id__in=list(fund_ids), status=Virement.Status.AWAITING_BOARD)
        .select_related("fund", "from_line", "to_line", "requested_by")
        .order_by("requested_at", "id")
    )


LINE_SORTS = {
    "code": ("code",),
    "name": ("name", "code"),
    "service_area": ("service_area__code", "code"),
    "locality": ("locality__name", "code"),
    "lead": ("lead_commissioner__name", "code"),
    "original": ("original_budget", "code"),
    "changes": ("changes", "code"),
    "current": ("current_budget", "code"),
}


TABLE_COLUMNS = (
    "id",
    "fund_id",
    "year_id",
    "code",
    "name",
    "original_budget",
    "changes",
    "current_budget",
    "service_area__code",
    "service_area__name",
    "locality__name",
    "locality__gss_code",
    "lead_commissioner__name",
    "lead_commissioner__code",
)


def line_filter_choices(fund: Any, year: Any) -> dict[str, Any]:
    """Choices for the lines table filters from the small reference tables (no scan of the
    fund's lines): leaf service areas, localities, and the fund's partners (leads must be one)."""
    partners = Organisation.objects.filter(
        Q(pk=fund.host_id) | Q(contributions__fund=fund, contributions__year=year)
    ).distinct()
    return {
        "service_areas": ServiceArea.objects.order_by("code"),
        "localities": Locality.objects.order_by("name"),
        "leads": partners.order_by("name"),
    }


def line_table(
    user: Any,
    fund: Any,
    year: Any,
    *,
    service_area: str = "",
    locality: str = "",
    lead: str = "",
    rag: str = "",
    sort: str = "code",
    rag_period: int | None = None,
    fund_checked: bool = False,
) -> QuerySet[Any]:
    """A fund's lines for the lines table: filtered, sorted, with the RAG of `rag_period`.

    `fund_checked`: the caller has already found `fund` among the funds the user may see (the
    pages' get_fund), so the same check is not made again.
    """
    base = BudgetLine.objects.filter(fund=fund) if fund_checked else lines_visible_to(user, fund)
    qs = base.filter(year=year)
    if service_area:
        qs = qs.filter(
            Q(service_area__code=service_area) | Q(service_area__parent__code=service_area)
        )
    if locality == "none":
        qs = qs.filter(locality__isnull=True)
    elif locality:
        qs = qs.filter(locality__gss_code=locality)
    if lead:
        qs = qs.filter(lead_commissioner__code=lead)
    if rag_period:
        qs = qs.annotate(
            rag=Subquery(
                LineVariance.objects.filter(line=OuterRef("pk"), period_number=rag_period).values(
                    "rag"
                )[:1]
            )
        )
        if rag:
            qs = qs.filter(rag=rag)
    descending = sort.startswith("-")
    keys = LINE_SORTS.get(sort.lstrip("-"), LINE_SORTS["code"])
    # Only the columns the table shows: 2,000-line funds are read 50 rows at a time, and the
    # monthly phasing and the fund/year rows are not needed here.
    qs = qs.select_related(None).select_related("service_area", "locality", "lead_commissioner")
    qs = qs.only(*TABLE_COLUMNS)
    return qs.order_by(*[f"-{k}" if descending else k for k in keys])


def line_table_totals(qs: QuerySet[Any]) -> dict[str, Any]:
    """Server-side totals of the (filtered) lines: one aggregate query."""
    totals = qs.order_by().aggregate(
        count=Count("pk"),
        original=Sum("original_budget"),
        changes=Sum("changes"),
        current=Sum("current_budget"),
        # Every save of a line raises its version and stamps updated_at: together with the count
        # they change whenever any of these lines does (the lines table's cache key).
        versions=Sum("version"),
        changed=Max("updated_at"),
    )
    # No lines: the sums are nothing, shown as zero (read on every lines page, so no SQL wrapper
    # expressions to compile).
    for key in ("original", "changes", "current"):
        if totals[key] is None:
            totals[key] = ZERO
    return totals


def fund_line_totals(fund: Any, year: Any, organisation_id: int | None = None) -> dict[str, Any]:
    """Totals of all the fund's lines that year, and of those `organisation_id` leads."""
    zero = Value(ZERO, output_field=DecimalField(max_digits=18, decimal_places=2))
    mine = Q(lead_commissioner_id=organisation_id)
    return BudgetLine.objects.filter(fund=fund, year=year).aggregate(
        count=Count("pk"),
        original=Coalesce(Sum("original_budget"), zero),
        changes=Coalesce(Sum("changes"), zero),
        current=Coalesce(Sum("current_budget"), zero),
        mine_count=Count("pk", filter=mine),
        mine_current=Coalesce(Sum("current_budget", filter=mine), zero),
    )


def line_postings(line: Any) -> QuerySet[Any]:
    """A line's spend postings, newest first, for the line page (paginate the result)."""
    return (
        SpendPosting.objects.filter(budget_line=line)
        .select_related("period__year", "organisation")
        .order_by("-posting_date", "-id")
    )


def line_forecasts(line: Any) -> list[Any]:
    return list(
        Forecast.objects.filter(line=line)
        .select_related("period__year", "updated_by")
        .order_by("period__number")
    )
