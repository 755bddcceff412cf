"""Read queries for budgets, shaped for screens, reports and the API. Scoping lives here."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from budgets.models import PooledFund
from localities import roles


def funds_visible_to(user: Any) -> QuerySet[PooledFund]:
    """Funds a user may see: administrators see all; others the funds their organisation
    hosts or contributes to. Board members also see the funds their boards oversee."""
    qs = PooledFund.objects.select_related("host", "locality")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    org_id = user.organisation_id
    condition = Q(host_id=org_id) | Q(contributions__partner_id=org_id)
    if roles.has_role(user, roles.BOARD_MEMBER):
        condition |= Q(boards__memberships__person=user)
    return qs.filter(condition).distinct()


def oldest_stale_mark_age() -> float | None:
    """Seconds since the oldest recompute mark still waiting; None when nothing waits.

    The recompute engine (budgets.figures.recompute) owns the marks; until it exists nothing can wait.
    """
    from django.apps import apps

    try:
        mark_model = apps.get_model("budgets", "StaleMark")
    except LookupError:
        return None
    from django.utils import timezone

    oldest = mark_model.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return None if oldest is None else round((timezone.now() - oldest).total_seconds(), 1)


# ---- budget lines, history, periods and forecasts (budget services) --------------------------------


def lines_visible_to(user: Any, fund: Any = None) -> QuerySet[Any]:
    """Budget lines in funds the user may see, optionally of one fund, shaped for tables."""
    from budgets.models import BudgetLine

    qs = BudgetLine.objects.select_related(
        "fund", "year", "service_area", "service_area__parent", "locality", "lead_commissioner"
    )
    if fund is not None:
        qs = qs.filter(fund=fund)
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    if fund is not None:
        # One visibility check for the fund, not a semi-join evaluated per line (the planner ran
        # it 2,100 times on the largest demo fund: 20 ms per query).
        fund_pk = getattr(fund, "pk", fund)
        return qs if funds_visible_to(user).filter(pk=fund_pk).exists() else qs.none()
    return qs.filter(fund_id__in=funds_visible_to(user).values("pk"))


# Fields whose changes are bookkeeping, not something a reader of the history needs.
_HISTORY_SKIP = {"version", "updated_at", "updated_by", "id"}


def _who(record: Any) -> str:
    user = getattr(record, "history_user", None)
    if user is None:
        return "system"
    return user.get_full_name() or user.username


def _display(value: Any, field: str, names: dict[str, dict[Any, str]]) -> Any:
    if value is None:
        return None
    lookup = names.get(field)
    if lookup is not None:
        return lookup.get(value, value)
    return value


def object_history(obj: Any) -> list[dict[str, Any]]:
    """Field-level history of any simple-history object: who, when, before, after, why; newest first."""
    records = list(
        obj.history.select_related("history_user").order_by("history_date", "history_id")
    )
    entries: list[dict[str, Any]] = []
    previous = None
    action_names = {"+": "created", "~": "changed", "-": "deleted"}
    fk_names = _fk_names(obj, records)
    for record in records:
        base = {
            "when": record.history_date,
            "who": _who(record),
            "action": action_names.get(record.history_type, record.history_type),
            "why": record.history_change_reason or "",
        }
        if previous is None or record.history_type != "~":
            entries.append({**base, "field": "", "before": None, "after": None})
        else:
            delta = record.diff_against(previous)
            for change in delta.changes:
                if change.field in _HISTORY_SKIP:
                    continue
                entries.append(
                    {
                        **base,
                        "field": change.field,
                        "before": _display(change.old, change.field, fk_names),
                        "after": _display(change.new, change.field, fk_names),
                    }
                )
        previous = record
    entries.reverse()
    return entries


def _fk_names(obj: Any, records: list[Any]) -> dict[str, dict[Any, str]]:
    """Readable names for the foreign keys a line's history mentions (one query per kind)."""
    from budgets.models import BudgetLine, ServiceArea
    from localities.models import Locality, Organisation

    if not isinstance(obj, BudgetLine):
        return {}
    wanted: dict[str, tuple[Any, str, set[Any]]] = {
        "service_area": (ServiceArea, "code", set()),
        "locality": (Locality, "name", set()),
        "lead_commissioner": (Organisation, "name", set()),
    }
    for record in records:
        for field, (_, _, ids) in wanted.items():
            value = getattr(record, f"{field}_id", None)
            if value is not None:
                ids.add(value)
    return {
        field: dict(model.objects.filter(pk__in=ids).values_list("pk", attr))
        for field, (model, attr, ids) in wanted.items()
        if ids
    }


def line_history(line: Any) -> list[dict[str, Any]]:
    """Everything that happened to a line: field changes, adjustments, virements in and out."""
    from budgets.models import BudgetAdjustment, Virement

    entries = object_history(line)
    for adj in BudgetAdjustment.objects.filter(line=line).select_related("created_by", "period"):
        entries.append(
            {
                "when": adj.created_at,
                "who": adj.created_by.get_full_name() or adj.created_by.username,
                "action": "adjustment",
                "field": "changes",
                "before": None,
                "after": adj.amount,
                "why": f"{adj.reason} ({adj.period.code})",
            }
        )
    virements = Virement.objects.filter(Q(from_line=line) | Q(to_line=line)).select_related(
        "requested_by", "from_line", "to_line"
    )
    for vir in virements:
        outgoing = vir.from_line_id == line.pk
        other = vir.to_line if outgoing else vir.from_line
        entries.append(
            {
                "when": vir.applied_at or vir.requested_at,
                "who": vir.requested_by.get_full_name() or vir.requested_by.username,
                "action": "virement out" if outgoing else "virement in",
                "field": "changes",
                "before": None,
                "after": -vir.amount if outgoing else vir.amount,
                "why": f"{vir.reason} ({'to' if outgoing else 'from'} {other.code}; "
                f"{vir.get_status_display().lower()})",
            }
        )
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries


def get_period(code: str) -> Any:
    """'2016/17-M06' -> Period, or NotFound."""
    from budgets.models import Period
    from budgets.models.reference import PERIOD_CODE
    from gmhsc.errors import NotFound

    match = PERIOD_CODE.match(code or "")
    if not match:
        raise NotFound(f"'{code}' is not a period code like 2016/17-M06.")
    period = (
        Period.objects.select_related("year")
        .filter(year__code=match["year"], number=int(match["number"]))
        .first()
    )
    if period is None:
        raise NotFound(f"There is no period {code}.")
    return period


def period_status(fund: Any, period: Any) -> str:
    from budgets.models import FundPeriod

    status = (
        FundPeriod.objects.filter(fund=fund, period=period).values_list("status", flat=True).first()
    )
    return status or FundPeriod.Status.OPEN


def fund_periods(fund: Any, year: Any) -> list[dict[str, Any]]:
    """M1..M13 of a year with the fund's status for each."""
    from budgets.models import FundPeriod, Period

    statuses = {
        row.period_id: row
        for row in FundPeriod.objects.filter(fund=fund, period__year=year).select_related(
            "changed_by"
        )
    }
    result = []
    for period in Period.objects.filter(year=year).select_related("year").order_by("number"):
        row = statuses.get(period.pk)
        result.append(
            {
                "period": period,
                "code": period.code,
                "status": row.status if row else FundPeriod.Status.OPEN,
                "changed_by": str(row.changed_by) if row and row.changed_by else "",
                "changed_at": row.changed_at if row else None,
                "reason": row.reason if row else "",
            }
        )
    return result


def ytd_actual(line: Any, period_number: int) -> Any:
    from budgets.models import SpendPosting
    from budgets.models.fields import MoneySum
    from gmhsc.money import ZERO

    total = SpendPosting.objects.filter(
        budget_line=line, period__year_id=line.year_id, period__number__lte=period_number
    ).aggregate(total=MoneySum("amount"))["total"]
    return total if total is not None else ZERO


def suggested_forecast(line: Any, period: Any) -> Any:
    """YTD actual to the end of `period` plus the phased budget of the months after it."""
    from gmhsc.money import ZERO

    remaining = sum(line.phasing[period.number :], ZERO)
    return ytd_actual(line, period.number) + remaining


def fund_budget_status(fund: Any, year: Any) -> str:
    """'draft' | 'submitted' | 'approved' for the fund's budget that year (no row yet: draft)."""
    from budgets.models import FundBudget

    status = (
        FundBudget.objects.filter(fund=fund, year=year).values_list("status", flat=True).first()
    )
    return status or FundBudget.Status.DRAFT


def virements_visible_to(user: Any, fund: Any = None, status: str | None = None) -> QuerySet[Any]:
    """Virements in funds the user may see, newest first, shaped for lists."""
    from budgets.models import Virement

    qs = Virement.objects.select_related(
        "fund", "from_line", "to_line", "period__year", "requested_by", "decided_by"
    ).order_by("-requested_at", "-id")
    if fund is not None:
        qs = qs.filter(fund=fund)
    if status is not None:
        qs = qs.filter(status=status)
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(fund_id__in=funds_visible_to(user).values("pk"))


def virements_awaiting_board(fund_ids: Any) -> QuerySet[Any]:
    """Virements above the officer limit waiting for a board decision, for the boards that oversee
    these funds."""
    from budgets.models import Virement

    return (
        Virement.objects.filter(fund_id__in=list(fund_ids), status=Virement.Status.AWAITING_BOARD)
        .select_related("fund", "from_line", "to_line", "requested_by")
        .order_by("requested_at", "id")
    )


# ---- H4: commissioner workspace (lines table, line detail, requests) ------------------------------

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


def fund_year(fund: Any, code: str | None = None) -> Any:
    """The year a fund's pages show: the one asked for, else the latest with a budget or lines."""
    from budgets.models import BudgetLine, FinancialYear

    budgeted = FinancialYear.objects.filter(fund_budgets__fund=fund)
    # Pages ask for a year the fund has a budget for: one query.
    if code and (chosen := budgeted.filter(code=code).first()) is not None:
        return chosen
    if budgeted.exists():
        return budgeted.order_by("-start_date").first()
    with_lines = FinancialYear.objects.filter(
        pk__in=BudgetLine.objects.filter(fund=fund).values("year_id")
    )
    if code and (chosen := with_lines.filter(code=code).first()) is not None:
        return chosen
    return with_lines.order_by("-start_date").first()


def line_filter_choices(fund: Any, year: Any) -> dict[str, Any]:
    """Choices for the lines table filters from the small reference tables (no scan of the
    fund's lines): leaf service areas, localities, and the fund's partners (leads must be one)."""
    from budgets.models import ServiceArea
    from localities.models import Locality, Organisation

    partners = Organisation.objects.filter(
        Q(pk=fund.host_id) | Q(contributions__fund=fund, contributions__year=year)
    ).distinct()
    return {
        "service_areas": ServiceArea.objects.order_by("code"),
        "localities": Locality.objects.order_by("name"),
        "leads": partners.order_by("name"),
    }


def _variance_model() -> Any:
    """The recompute engine's snapshot (H3); None until it exists."""
    from django.apps import apps

    try:
        return apps.get_model("budgets", "LineVariance")
    except LookupError:
        return None


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
    from django.db.models import OuterRef, Subquery

    from budgets.models import BudgetLine

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
    variance = _variance_model()
    if variance is not None and rag_period:
        qs = qs.annotate(
            rag=Subquery(
                variance.objects.filter(line=OuterRef("pk"), period_number=rag_period).values(
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
    from django.db.models import Count, DecimalField, Max, Sum, Value
    from django.db.models.functions import Coalesce

    from gmhsc.money import ZERO

    zero = Value(ZERO, output_field=DecimalField(max_digits=18, decimal_places=2))
    return qs.order_by().aggregate(
        count=Count("pk"),
        original=Coalesce(Sum("original_budget"), zero),
        changes=Coalesce(Sum("changes"), zero),
        current=Coalesce(Sum("current_budget"), zero),
        # Every save of a line raises its version and stamps updated_at: together with the count
        # they change whenever any of these lines does (the lines table's cache key).
        versions=Sum("version"),
        changed=Max("updated_at"),
    )


def fund_line_totals(fund: Any, year: Any, organisation_id: int | None = None) -> dict[str, Any]:
    """Totals of all the fund's lines that year, and of those `organisation_id` leads."""
    from django.db.models import Count, DecimalField, Sum, Value
    from django.db.models.functions import Coalesce

    from budgets.models import BudgetLine
    from gmhsc.money import ZERO

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
    from budgets.models import SpendPosting

    return (
        SpendPosting.objects.filter(budget_line=line)
        .select_related("period__year", "organisation")
        .order_by("-posting_date", "-id")
    )


def open_periods(fund: Any, year: Any) -> list[Any]:
    """The months (M1..M12) of `year` still open for `fund`, in order, with their year."""
    from budgets.models import Period
    from budgets.planning.services.funds import open_months

    return list(
        Period.objects.select_related("year")
        .filter(year=year, number__in=open_months(fund, year))
        .order_by("number")
    )


def line_forecasts(line: Any) -> list[Any]:
    from budgets.models import Forecast

    return list(
        Forecast.objects.filter(line=line)
        .select_related("period__year", "updated_by")
        .order_by("period__number")
    )


def virements_for(user: Any) -> QuerySet[Any]:
    """'My requests': virements the user asked for, or touching lines their organisation leads."""
    org_id = getattr(user, "organisation_id", None)
    condition = Q(requested_by=user)
    if org_id is not None:
        condition |= Q(from_line__lead_commissioner_id=org_id) | Q(
            to_line__lead_commissioner_id=org_id
        )
    return virements_visible_to(user).filter(condition)


# ---- recompute snapshots (H3): figures are read from snapshots, never raw postings ---------------


def variance_rows(fund: Any, period_number: int, year: Any = None) -> QuerySet[Any]:
    """LineVariance rows of a fund at one period, shaped for tables (no N+1)."""
    from budgets.models import LineVariance

    qs = LineVariance.objects.filter(fund=fund, period_number=period_number).select_related(
        "line__service_area__parent", "line__locality", "line__lead_commissioner"
    )
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("line__code")


def fund_positions(fund: Any, year: Any = None) -> QuerySet[Any]:
    from budgets.models import FundPosition

    qs = FundPosition.objects.filter(fund=fund).select_related("year")
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("year__start_date", "period_number")


def risk_share_allocations(
    fund: Any, year: Any = None, period_number: int | None = None
) -> QuerySet[Any]:
    from budgets.models import RiskShareAllocation

    qs = RiskShareAllocation.objects.filter(fund=fund).select_related("partner", "year")
    if year is not None:
        qs = qs.filter(year=year)
    if period_number is not None:
        qs = qs.filter(period_number=period_number)
    return qs.order_by("period_number", "basis", "partner__name")


def allocation_runs(fund: Any, year: Any = None) -> QuerySet[Any]:
    from django.db.models import Prefetch

    from budgets.models import AllocationResult, AllocationRun

    qs = (
        AllocationRun.objects.filter(fund=fund)
        .select_related("year")
        .prefetch_related(
            Prefetch("results", queryset=AllocationResult.objects.select_related("locality"))
        )
    )
    if year is not None:
        qs = qs.filter(year=year)
    return qs.order_by("year__start_date", "method")


def lines_missing_commentary(fund: Any, period_number: int, year: Any = None) -> QuerySet[Any]:
    """Amber and red lines at a period whose Forecast for that period has no commentary."""
    from django.db.models import Exists, OuterRef

    from budgets.models import Forecast

    with_comment = Forecast.objects.filter(
        line_id=OuterRef("line_id"),
        period__number=period_number,
        period__year_id=OuterRef("year_id"),
    ).exclude(commentary="")
    return (
        variance_rows(fund, period_number, year)
        .filter(rag__in=["amber", "red"])
        .annotate(has_commentary=Exists(with_comment))
        .filter(has_commentary=False)
    )
