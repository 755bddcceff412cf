"""Which rows belong to one fund's year: everything an archive holds points back to these, and
the control totals that must match after a restore."""

from __future__ import annotations

from django.db import models

from budgets.archive.codec import cell, money_sum
from budgets.models import (
    BudgetAdjustment,
    BudgetLine,
    Contribution,
    FinancialYear,
    Forecast,
    FundBudget,
    FundPeriod,
    LedgerMapping,
    PooledFund,
    ServiceArea,
    SpendPosting,
    Virement,
)
from budgets.models.fields import MoneySum
from localities.models import Locality, Organisation, User


def fund_lines(fund: PooledFund, year: FinancialYear) -> models.QuerySet[BudgetLine]:
    return BudgetLine.objects.filter(fund=fund, year=year).select_related(
        "service_area", "locality", "lead_commissioner", "updated_by"
    )


def fund_postings(fund: PooledFund, year: FinancialYear) -> models.QuerySet[SpendPosting]:
    return (
        SpendPosting.objects.filter(fund=fund, budget_line__year=year)
        .select_related(
            "organisation", "period__year", "budget_line", "created_by", "reverses__organisation"
        )
        .order_by("id")
    )


def organisations_named(fund: PooledFund, year: FinancialYear) -> list[Organisation]:
    codes = {fund.host.code}
    codes |= set(
        Contribution.objects.filter(fund=fund, year=year).values_list("partner__code", flat=True)
    )
    codes |= set(fund_lines(fund, year).values_list("lead_commissioner__code", flat=True))
    codes |= set(fund_postings(fund, year).values_list("organisation__code", flat=True).distinct())
    codes |= set(
        LedgerMapping.objects.filter(budget_line__fund=fund, year=year).values_list(
            "organisation__code", flat=True
        )
    )
    codes |= {u.organisation.code for u in people_named(fund, year) if u.organisation is not None}
    return list(
        Organisation.objects.filter(code__in=codes).prefetch_related("localities").order_by("code")
    )


def localities_named(fund: PooledFund, year: FinancialYear) -> list[Locality]:
    ids = {fund.locality_id} | set(fund_lines(fund, year).values_list("locality_id", flat=True))
    for org in organisations_named(fund, year):
        ids |= {loc.pk for loc in org.localities.all()}
    return list(Locality.objects.filter(pk__in=[i for i in ids if i]).order_by("gss_code"))


def service_areas_named(fund: PooledFund, year: FinancialYear) -> list[ServiceArea]:
    ids = set(fund_lines(fund, year).values_list("service_area_id", flat=True))
    areas = {a.pk: a for a in ServiceArea.objects.filter(pk__in=ids).select_related("parent")}
    for area in list(areas.values()):
        if area.parent_id and area.parent_id not in areas:
            areas[area.parent_id] = area.parent  # type: ignore[assignment]
    return sorted(areas.values(), key=lambda a: (a.parent_id is not None, a.code))


def people_named(fund: PooledFund, year: FinancialYear) -> list[User]:
    ids: set[int] = set()
    for budget in FundBudget.objects.filter(fund=fund, year=year):
        ids |= {budget.submitted_by_id or 0, budget.approved_by_id or 0}
    ids |= set(
        FundPeriod.objects.filter(fund=fund, period__year=year).values_list(
            "changed_by_id", flat=True
        )
    )
    ids |= set(fund_lines(fund, year).values_list("updated_by_id", flat=True))
    ids |= set(
        BudgetAdjustment.objects.filter(line__fund=fund, line__year=year).values_list(
            "created_by_id", flat=True
        )
    )
    for field in ("requested_by_id", "decided_by_id"):
        ids |= set(
            Virement.objects.filter(fund=fund, from_line__year=year).values_list(field, flat=True)
        )
    ids |= set(
        Forecast.objects.filter(line__fund=fund, line__year=year).values_list(
            "updated_by_id", flat=True
        )
    )
    ids |= set(fund_postings(fund, year).values_list("created_by_id", flat=True).distinct())
    return list(
        User.objects.filter(pk__in=[i for i in ids if i])
        .select_related("organisation")
        .order_by("username")
    )


def control_totals(fund: PooledFund, year: FinancialYear) -> dict[str, str]:
    lines = fund_lines(fund, year)
    postings = SpendPosting.objects.filter(fund=fund, budget_line__year=year)
    return {
        "budget_lines": str(lines.count()),
        "current_budget": cell(money_sum(lines.aggregate(t=MoneySum("current_budget"))["t"])),
        "spend_postings": str(postings.count()),
        "spend_amount": cell(money_sum(postings.aggregate(t=MoneySum("amount"))["t"])),
    }
