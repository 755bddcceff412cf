"""Reads for the financial year cycle: the budget-setting comparison, contributions with their
receipts and overdue instalments, and savings delivery. Figures come from the stored lines and the
recompute engine's snapshots, never from raw postings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from budgets.models import (
    BudgetLine,
    BudgetSetting,
    Contribution,
    ContributionReceipt,
    FinancialYear,
    FundBudget,
    FundPeriod,
    FundPosition,
    LineVariance,
    PooledFund,
    RiskShareAllocation,
    RolledLine,
    SavingsDelivery,
    SavingsScheme,
    YearEnd,
)
from budgets.planning import instalments, savings
from budgets.rag import Rag, Thresholds
from gmhsc.money import ZERO

# ---- which month a year's pages report on -------------------------------------------------------


def reporting_month(fund: Any, year: Any) -> int:
    """The latest closed month (1..12) of the fund's year; 0 before any month is closed."""
    numbers = FundPeriod.objects.filter(
        fund=fund, period__year=year, period__number__lte=12, status=FundPeriod.Status.CLOSED
    ).values_list("period__number", flat=True)
    return max(numbers, default=0)


def as_at_date(fund: Any, year: FinancialYear, today: date | None = None) -> date:
    """The day instalments are judged overdue on: today while the year runs (or before it
    starts); for a past year, the end of its latest closed month (its last day if none closed)."""
    today = today or timezone.localdate()
    if today <= year.end_date:
        return today
    month = reporting_month(fund, year)
    if month == 0:
        return year.end_date
    first = year.start_date.replace(day=1)
    # The last day of month `month` (M1 = April).
    end_month = (first.month - 1 + month) % 12 + 1
    end_year = first.year + (first.month - 1 + month) // 12
    return date(end_year, end_month, 1) - timedelta(days=1)


# ---- contributions, receipts, instalments ----------------------------------------------------------


@dataclass(frozen=True)
class InstalmentRow:
    fund_code: str
    fund_id: int
    year_code: str
    partner: str
    partner_code: str
    due_date: date
    amount: Decimal
    paid: Decimal
    paid_on: date | None
    overdue: bool

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid

    @property
    def late(self) -> bool:
        return self.paid_on is not None and self.paid_on > self.due_date


@dataclass
class ContributionStatus:
    contribution: Contribution
    receipts: list[ContributionReceipt]
    instalments: list[InstalmentRow]

    @property
    def received(self) -> Decimal:
        return sum((r.amount for r in self.receipts), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return self.contribution.due_in_cash - self.received


def contribution_statuses(
    fund: PooledFund, year: FinancialYear, as_at: date | None = None
) -> list[ContributionStatus]:
    """Each partner's contribution for the year, its receipts and which instalments they paid."""
    as_at = as_at or as_at_date(fund, year)
    contributions = (
        Contribution.objects.filter(fund=fund, year=year)
        .select_related("partner", "fund", "year")
        .prefetch_related(
            Prefetch(
                "receipts", queryset=ContributionReceipt.objects.order_by("received_on", "id")
            ),
            "instalments",
        )
        .order_by("partner__code")
    )
    out = []
    for c in contributions:
        receipts = list(c.receipts.all())
        states = instalments.allocate(
            [(i.due_date, i.amount) for i in c.instalments.all()],
            [(r.received_on, r.amount) for r in receipts],
        )
        out.append(ContributionStatus(c, receipts, [_row(c, s, as_at) for s in states]))
    return out


def _row(c: Contribution, s: instalments.InstalmentState, as_at: date) -> InstalmentRow:
    return InstalmentRow(
        fund_code=c.fund.code,
        fund_id=c.fund_id,
        year_code=c.year.code,
        partner=c.partner.name,
        partner_code=c.partner.code,
        due_date=s.due_date,
        amount=s.amount,
        paid=s.paid,
        paid_on=s.paid_on,
        overdue=s.is_overdue(as_at),
    )


def overdue_instalments(
    fund_years: Iterable[tuple[PooledFund, FinancialYear]],
) -> list[InstalmentRow]:
    """Instalments past their due date and not fully paid, for each (fund, year)."""
    rows: list[InstalmentRow] = []
    for fund, year in fund_years:
        for status in contribution_statuses(fund, year):
            rows.extend(i for i in status.instalments if i.overdue)
    return sorted(rows, key=lambda r: (r.due_date, r.fund_code, r.partner_code))


# ---- savings ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemeRow:
    scheme: SavingsScheme
    delivery: savings.Delivery
    line_codes: list[str]
    deliveries: dict[int, Decimal]


@dataclass
class SavingsSummary:
    fund_code: str
    year_code: str
    month: int
    schemes: list[SchemeRow] = field(default_factory=list)
    efficiency_assumed: Decimal | None = None

    def _sum(self, name: str) -> Decimal:
        return sum((getattr(r.delivery, name) for r in self.schemes), ZERO)

    @property
    def planned_year(self) -> Decimal:
        return self._sum("planned_year")

    @property
    def planned_to_date(self) -> Decimal:
        return self._sum("planned_to_date")

    @property
    def delivered_to_date(self) -> Decimal:
        return self._sum("delivered_to_date")

    @property
    def forecast(self) -> Decimal:
        return self._sum("forecast")

    @property
    def at_risk(self) -> Decimal:
        return self._sum("at_risk")

    @property
    def unallocated(self) -> Decimal | None:
        """Efficiency the budget assumes that no scheme plans to deliver."""
        if self.efficiency_assumed is None:
            return None
        return self.efficiency_assumed - self.planned_year

    def count(self, rag: str) -> int:
        return sum(1 for r in self.schemes if r.delivery.rag == rag)

    @property
    def red(self) -> int:
        return self.count(Rag.RED)

    @property
    def amber(self) -> int:
        return self.count(Rag.AMBER)


def savings_summary(
    fund: PooledFund, year: FinancialYear, month: int | None = None
) -> SavingsSummary:
    """Every scheme of the fund's year rated as at `month` (default: the latest closed month)."""
    month = reporting_month(fund, year) if month is None else month
    schemes = list(
        SavingsScheme.objects.filter(fund=fund, year=year)
        .select_related("lead_commissioner")
        .prefetch_related(
            Prefetch("lines", queryset=BudgetLine.objects.order_by("code").only("id", "code"))
        )
        .order_by("code")
    )
    delivered: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for scheme_id, n, amount in SavingsDelivery.objects.filter(scheme__in=schemes).values_list(
        "scheme_id", "month", "amount"
    ):
        delivered[scheme_id][n] = amount
    t = Thresholds.of(fund)
    summary = SavingsSummary(fund_code=fund.code, year_code=year.code, month=month)
    for scheme in schemes:
        summary.schemes.append(
            SchemeRow(
                scheme=scheme,
                delivery=savings.delivery(
                    scheme.planned, delivered[scheme.pk], month, t, scheme.forecast_delivery
                ),
                line_codes=[line.code for line in scheme.lines.all()],
                deliveries=delivered[scheme.pk],
            )
        )
    if BudgetSetting.objects.filter(fund=fund, year=year).exists():
        summary.efficiency_assumed = sum(
            RolledLine.objects.filter(setting__fund=fund, setting__year=year).values_list(
                "efficiency", flat=True
            ),
            ZERO,
        )
    return summary


# ---- budget setting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonRow:
    code: str
    name: str
    service_area: str
    line_id: int | None
    this_budget: Decimal | None
    this_forecast: Decimal | None
    prior_recurrent: Decimal | None
    uplift_pct: Decimal | None
    efficiency_pct: Decimal | None
    uplift: Decimal | None
    efficiency: Decimal | None
    rolled: Decimal | None
    draft: Decimal | None

    @property
    def change(self) -> Decimal | None:
        """Next year's draft against this year's budget."""
        if self.draft is None and self.this_budget is None:
            return None
        return (self.draft or ZERO) - (self.this_budget or ZERO)


@dataclass
class Comparison:
    setting: BudgetSetting | None
    from_year: FinancialYear | None
    forecast_month: int
    rows: list[ComparisonRow]

    def total(self, name: str) -> Decimal:
        return sum((getattr(r, name) or ZERO for r in self.rows), ZERO)

    @property
    def totals(self) -> dict[str, Decimal]:
        names = ("this_budget", "this_forecast", "prior_recurrent", "uplift", "efficiency")
        out = {name: self.total(name) for name in names}
        out.update(
            rolled=self.total("rolled"), draft=self.total("draft"), change=self.total("change")
        )
        return out


def budget_setting_comparison(fund: PooledFund, year: FinancialYear) -> Comparison:
    """Line by line: this year's budget and forecast outturn, the roll forward's columns, next
    year's draft and the change. Lines only in one of the two years are listed too."""
    setting = (
        BudgetSetting.objects.filter(fund=fund, year=year)
        .select_related("from_year", "rolled_by")
        .first()
    )
    from_year = (
        setting.from_year
        if setting is not None
        else FinancialYear.objects.filter(code=year.previous_code).first()
    )
    month = reporting_month(fund, from_year) if from_year is not None else 0
    this: dict[str, dict[str, Any]] = {}
    if from_year is not None:
        for row in BudgetLine.objects.filter(fund=fund, year=from_year).values(
            "id", "code", "name", "service_area__code", "current_budget"
        ):
            this[row["code"]] = dict(row)
        forecasts = dict(
            LineVariance.objects.filter(
                fund=fund, year=from_year, period_number=max(month, 1)
            ).values_list("line_id", "forecast_outturn")
        )
        for entry in this.values():
            entry["forecast"] = forecasts.get(entry["id"])
    rolled: dict[int, dict[str, Any]] = {
        r["line_id"]: dict(r)
        for r in RolledLine.objects.filter(line__fund=fund, line__year=year).values(
            "line_id",
            "prior_recurrent",
            "uplift_pct",
            "efficiency_pct",
            "uplift",
            "efficiency",
            "new_budget",
        )
    }
    rows: list[ComparisonRow] = []
    for line in (
        BudgetLine.objects.filter(fund=fund, year=year)
        .values("id", "code", "name", "service_area__code", "current_budget")
        .order_by("code")
    ):
        before = this.pop(line["code"], None)
        r: dict[str, Any] = rolled.get(line["id"], {})
        rows.append(
            ComparisonRow(
                code=line["code"],
                name=line["name"],
                service_area=line["service_area__code"],
                line_id=line["id"],
                this_budget=before["current_budget"] if before else None,
                this_forecast=before["forecast"] if before else None,
                prior_recurrent=r.get("prior_recurrent"),
                uplift_pct=r.get("uplift_pct"),
                efficiency_pct=r.get("efficiency_pct"),
                uplift=r.get("uplift"),
                efficiency=r.get("efficiency"),
                rolled=r.get("new_budget"),
                draft=line["current_budget"],
            )
        )
    for before in this.values():
        rows.append(
            ComparisonRow(
                code=before["code"],
                name=before["name"],
                service_area=before["service_area__code"],
                line_id=None,
                this_budget=before["current_budget"],
                this_forecast=before["forecast"],
                prior_recurrent=None,
                uplift_pct=None,
                efficiency_pct=None,
                uplift=None,
                efficiency=None,
                rolled=None,
                draft=None,
            )
        )
    rows.sort(key=lambda r: r.code)
    return Comparison(setting=setting, from_year=from_year, forecast_month=month, rows=rows)


# ---- across years ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearFigures:
    """One year's budget, outturn and variance: final once the year is closed, else the forecast
    outturn at the latest closed month (before any close: the phased budget itself)."""

    year: FinancialYear
    status: str  # "closed", "open" or "draft" (budget not yet approved)
    budget: Decimal
    outturn: Decimal
    month: int
    line_id: int | None = None
    shares: tuple[tuple[str, Decimal], ...] = ()

    @property
    def variance(self) -> Decimal:
        return self.outturn - self.budget

    @property
    def final(self) -> bool:
        return self.status == "closed"


def _year_states(fund: PooledFund) -> dict[int, str]:
    closed = set(
        YearEnd.objects.filter(fund=fund, status=YearEnd.Status.CLOSED).values_list(
            "year_id", flat=True
        )
    )
    approved = set(
        FundBudget.objects.filter(fund=fund, status=FundBudget.Status.APPROVED).values_list(
            "year_id", flat=True
        )
    )
    years = set(BudgetLine.objects.filter(fund=fund).values_list("year_id", flat=True).distinct())
    return {
        y: "closed" if y in closed else "open" if y in approved else "draft" for y in years | closed
    }


def line_years(line: BudgetLine) -> list[YearFigures]:
    """The line (same code, same fund) in every year it exists: budget, outturn, variance.
    Five queries however many years there are."""
    fund = line.fund
    same = list(
        BudgetLine.objects.filter(fund=fund, code=line.code)
        .select_related("year")
        .order_by("year__start_date")
    )
    years = [s.year_id for s in same]
    closed = set(
        YearEnd.objects.filter(
            fund=fund, year_id__in=years, status=YearEnd.Status.CLOSED
        ).values_list("year_id", flat=True)
    )
    approved = set(
        FundBudget.objects.filter(
            fund=fund, year_id__in=years, status=FundBudget.Status.APPROVED
        ).values_list("year_id", flat=True)
    )
    months: dict[int, int] = defaultdict(int)
    for year_id, number in FundPeriod.objects.filter(
        fund=fund,
        period__year_id__in=years,
        period__number__lte=12,
        status=FundPeriod.Status.CLOSED,
    ).values_list("period__year_id", "period__number"):
        months[year_id] = max(months[year_id], number)
    figures = {
        (line_id, n): (actual, outturn)
        for line_id, n, actual, outturn in LineVariance.objects.filter(
            line_id__in=[s.pk for s in same]
        ).values_list("line_id", "period_number", "ytd_actual", "forecast_outturn")
    }
    out = []
    for s in same:
        state = "closed" if s.year_id in closed else "open" if s.year_id in approved else "draft"
        month = 12 if state == "closed" else months[s.year_id]
        row = figures.get((s.pk, max(month, 1)))
        if state == "closed":
            outturn = row[0] if row else ZERO
        elif row is not None and month:
            outturn = row[1]
        else:
            outturn = s.current_budget
        out.append(YearFigures(s.year, state, s.current_budget, outturn, month, s.pk))
    return out


def fund_years(fund: PooledFund) -> list[YearFigures]:
    """The fund in every year it has lines: budget, outturn, variance and each partner's share
    (the settlement's once the year is closed, else the forecast risk share)."""
    states = _year_states(fund)
    out = []
    for year in FinancialYear.objects.filter(pk__in=list(states)).order_by("start_date"):
        state = states[year.pk]
        budget = sum(
            BudgetLine.objects.filter(fund=fund, year=year).values_list(
                "current_budget", flat=True
            ),
            ZERO,
        )
        shares: tuple[tuple[str, Decimal], ...]
        if state == "closed":
            close = YearEnd.objects.get(fund=fund, year=year, status=YearEnd.Status.CLOSED)
            outturn, month = close.outturn, 13
            budget = close.budget
            shares = tuple(
                (s.partner.name, s.variance_share)
                for s in close.settlements.select_related("partner").order_by("partner__code")
            )
        else:
            month = reporting_month(fund, year)
            position = FundPosition.objects.filter(
                fund=fund, year=year, period_number=max(month, 1)
            ).first()
            outturn = position.forecast_outturn if position is not None and month else budget
            shares = (
                tuple(
                    (a.partner.name, a.amount)
                    for a in RiskShareAllocation.objects.filter(
                        fund=fund,
                        year=year,
                        period_number=max(month, 1),
                        basis=RiskShareAllocation.Basis.FORECAST,
                    )
                    .select_related("partner")
                    .order_by("partner__code")
                )
                if month
                else ()
            )
        out.append(YearFigures(year, state, budget, outturn, month, None, shares))
    return out


def next_budget_year(fund: PooledFund) -> tuple[str, FinancialYear | None]:
    """The year whose budget is set next: the one after the fund's latest year with lines.
    Returns its code and the year, None when it has not been opened yet."""
    latest = (
        FinancialYear.objects.filter(lines__fund=fund).order_by("-start_date").distinct().first()
    )
    if latest is None:
        return "", None
    status = (
        FundBudget.objects.filter(fund=fund, year=latest).values_list("status", flat=True).first()
    )
    if status != FundBudget.Status.APPROVED:
        return latest.code, latest
    code = latest.next_code
    return code, FinancialYear.objects.filter(code=code).first()
