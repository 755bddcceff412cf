"""The memorandum account of a pooled fund (domain.md 1.2, 1.6): income by partner, expenditure by
service area and by locality, the over- or underspend and how it was shared.

Computed once into plain dataclasses, then laid out as HTML, PDF and XLSX. The year's account is
frozen when the year closes (a ReportSnapshot of kind "memorandum" for M13, never changed); the
account for a quarter is computed on demand from the recompute engine's snapshots at the quarter's
last month.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from budgets.figures.settlement import SettlementResult
from budgets.models import (
    BudgetLine,
    Contribution,
    ContributionInstalment,
    ContributionReceipt,
    FinancialYear,
    LineVariance,
    Period,
    PooledFund,
    ReportSnapshot,
    RiskShareAgreement,
    RiskShareAllocation,
    Settlement,
    YearEnd,
)
from gmhsc.money import ZERO

GM_WIDE = "Greater Manchester-wide (no locality)"
SIGN = (
    "Variance is actual (or forecast) minus budget: a positive variance is an overspend, a "
    "bracketed one an underspend. Net due: positive, the partner pays the host; bracketed, the host "
    "pays the partner."
)


@dataclass(frozen=True)
class IncomeRow:
    """A partner's contribution, the part of it carried forward from last year's underspend, the
    instalments due by the account's end (the rest of the contribution) and what was received."""

    partner_code: str
    partner: str
    contribution: Decimal
    carried_forward: Decimal
    due: Decimal
    received: Decimal

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.received


@dataclass(frozen=True)
class SpendRow:
    label: str
    annual_budget: Decimal
    budget_to_date: Decimal
    actual_to_date: Decimal
    forecast_outturn: Decimal

    @property
    def variance_to_date(self) -> Decimal:
        return self.actual_to_date - self.budget_to_date

    @property
    def forecast_variance(self) -> Decimal:
        return self.forecast_outturn - self.annual_budget


@dataclass(frozen=True)
class ShareRow:
    partner_code: str
    partner: str
    share: Decimal
    returned: Decimal = ZERO
    retained: Decimal = ZERO
    carried_forward: Decimal = ZERO
    net_due: Decimal | None = None


@dataclass
class MemorandumAccount:
    fund_code: str
    fund_name: str
    host: str
    year_code: str
    scope: str  # "year" or "Q1".."Q4"
    through_month: int
    start: date
    end: date
    basis: str
    rule: str
    underspend: str
    income: list[IncomeRow] = field(default_factory=list)
    by_service_area: list[SpendRow] = field(default_factory=list)
    by_locality: list[SpendRow] = field(default_factory=list)
    shares: list[ShareRow] = field(default_factory=list)
    frozen: bool = False
    run: int | None = None
    closed_at: datetime | None = None
    checksum: str = ""
    sign_convention: str = SIGN

    @property
    def title(self) -> str:
        if self.scope == "year":
            return f"Memorandum account {self.year_code}"
        return f"Memorandum account {self.year_code} {self.scope}"

    @property
    def sections(self) -> list[tuple[str, list[SpendRow]]]:
        return [("service area", self.by_service_area), ("locality", self.by_locality)]

    @property
    def period_text(self) -> str:
        return f"{self.start.day} {self.start:%B %Y} to {self.end.day} {self.end:%B %Y}"

    @property
    def status_text(self) -> str:
        if self.frozen and self.closed_at is not None:
            local = timezone.localtime(self.closed_at)
            return f"Frozen when the year closed at {local:%H:%M} on {local.day} {local:%B %Y} (run {self.run})"
        return f"Computed {timezone.localtime():%H:%M on %-d %B %Y} from the latest figures"

    def _total(self, rows: list[Any], name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), ZERO)

    @property
    def income_total(self) -> IncomeRow:
        rows = self.income
        return IncomeRow(
            "",
            "Total income",
            self._total(rows, "contribution"),
            self._total(rows, "carried_forward"),
            self._total(rows, "due"),
            self._total(rows, "received"),
        )

    @property
    def spend_total(self) -> SpendRow:
        rows = self.by_service_area
        return SpendRow(
            "Total expenditure",
            self._total(rows, "annual_budget"),
            self._total(rows, "budget_to_date"),
            self._total(rows, "actual_to_date"),
            self._total(rows, "forecast_outturn"),
        )

    @property
    def variance(self) -> Decimal:
        total = self.spend_total
        return (
            total.actual_to_date - total.budget_to_date
            if self.scope == "year"
            else total.forecast_variance
        )

    @property
    def share_total(self) -> Decimal:
        return self._total(self.shares, "share")

    def to_data(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, date | datetime):
                return value.isoformat()
            return value

        return {
            "fund_code": self.fund_code,
            "fund_name": self.fund_name,
            "host": self.host,
            "year_code": self.year_code,
            "scope": self.scope,
            "through_month": self.through_month,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "basis": self.basis,
            "rule": self.rule,
            "underspend": self.underspend,
            "income": [
                {k: plain(v) for k, v in dataclasses.asdict(r).items()} for r in self.income
            ],
            "by_service_area": [
                {k: plain(v) for k, v in dataclasses.asdict(r).items()}
                for r in self.by_service_area
            ],
            "by_locality": [
                {k: plain(v) for k, v in dataclasses.asdict(r).items()} for r in self.by_locality
            ],
            "shares": [
                {k: plain(v) for k, v in dataclasses.asdict(r).items()} for r in self.shares
            ],
        }

    @classmethod
    def from_snapshot(cls, snapshot: ReportSnapshot) -> MemorandumAccount:
        d = snapshot.data

        def money(row: dict[str, Any], *names: str) -> dict[str, Any]:
            out = dict(row)
            for name in names:
                if out.get(name) is not None:
                    out[name] = Decimal(out[name])
            return out

        spend = ("annual_budget", "budget_to_date", "actual_to_date", "forecast_outturn")
        return cls(
            fund_code=d["fund_code"],
            fund_name=d["fund_name"],
            host=d["host"],
            year_code=d["year_code"],
            scope=d["scope"],
            through_month=d["through_month"],
            start=date.fromisoformat(d["start"]),
            end=date.fromisoformat(d["end"]),
            basis=d["basis"],
            rule=d["rule"],
            underspend=d["underspend"],
            income=[
                IncomeRow(**money(r, "contribution", "carried_forward", "due", "received"))
                for r in d["income"]
            ],
            by_service_area=[SpendRow(**money(r, *spend)) for r in d["by_service_area"]],
            by_locality=[SpendRow(**money(r, *spend)) for r in d["by_locality"]],
            shares=[
                ShareRow(**money(r, "share", "returned", "retained", "carried_forward", "net_due"))
                for r in d["shares"]
            ],
            frozen=True,
            run=snapshot.run,
            closed_at=snapshot.closed_at,
            checksum=snapshot.checksum,
        )


# ---- computing ------------------------------------------------------------------------------------


def _line_labels(fund: PooledFund, year: FinancialYear) -> dict[int, tuple[str, str]]:
    return {
        pk: (f"{code} {name}", locality or GM_WIDE)
        for pk, code, name, locality in BudgetLine.objects.filter(fund=fund, year=year).values_list(
            "id", "service_area__code", "service_area__name", "locality__name"
        )
    }


def _spend_rows(
    figures: dict[int, tuple[Decimal, Decimal, Decimal, Decimal]],
    labels: dict[int, tuple[str, str]],
) -> tuple[list[SpendRow], list[SpendRow]]:
    """figures: {line id: (annual budget, budget to date, actual to date, forecast outturn)}."""
    by_area: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * 4)
    by_locality: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * 4)
    for line_id, values in figures.items():
        area, locality = labels[line_id]
        for bucket in (by_area[area], by_locality[locality]):
            for i, v in enumerate(values):
                bucket[i] += v
    return (
        [SpendRow(label, *v) for label, v in sorted(by_area.items())],
        [SpendRow(label, *v) for label, v in sorted(by_locality.items())],
    )


def _income(fund: PooledFund, year: FinancialYear, end: date) -> list[IncomeRow]:
    contributions = list(
        Contribution.objects.filter(fund=fund, year=year)
        .select_related("partner")
        .order_by("partner__code")
    )
    due: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for cid, amount in ContributionInstalment.objects.filter(
        contribution__in=contributions, due_date__lte=end
    ).values_list("contribution_id", "amount"):
        due[cid] += amount
    received: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for cid, amount in ContributionReceipt.objects.filter(
        contribution__in=contributions, received_on__lte=end
    ).values_list("contribution_id", "amount"):
        received[cid] += amount
    return [
        IncomeRow(
            partner_code=c.partner.code,
            partner=c.partner.name,
            contribution=c.amount,
            carried_forward=c.carried_forward,
            due=due[c.pk],
            received=received[c.pk],
        )
        for c in contributions
    ]


def _labels(agreement: RiskShareAgreement | None) -> tuple[str, str]:
    if agreement is None:
        return "No risk-share agreement", ""
    return agreement.get_rule_display(), agreement.get_underspend_display()


def year_end_account(result: SettlementResult) -> MemorandumAccount:
    """The year's account from the settlement being frozen: actuals to M13, every receipt."""
    fund, year = result.fund, result.year
    labels = _line_labels(fund, year)
    figures = {
        line_id: (budget, budget, spent, spent) for line_id, (budget, spent) in result.lines.items()
    }
    by_area, by_locality = _spend_rows(figures, labels)
    rule, underspend = _labels(result.agreement)
    return MemorandumAccount(
        fund_code=fund.code,
        fund_name=fund.name,
        host=fund.host.name,
        year_code=year.code,
        scope="year",
        through_month=13,
        start=year.start_date,
        end=year.end_date,
        basis="Final outturn: actuals to M13 (year-end adjustments)",
        rule=rule,
        underspend=underspend,
        income=_income(fund, year, date.max),
        by_service_area=by_area,
        by_locality=by_locality,
        shares=[
            ShareRow(
                partner_code=result.names[p.partner_id].code,
                partner=result.names[p.partner_id].name,
                share=p.variance_share,
                returned=p.underspend_returned,
                retained=p.underspend_retained,
                carried_forward=p.underspend_carried_forward,
                net_due=p.net_due,
            )
            for p in result.partners
        ],
    )


def quarter_account(fund: PooledFund, year: FinancialYear, quarter: int) -> MemorandumAccount:
    """The account for April to the quarter's end, from the snapshots at its last month."""
    month = quarter * 3
    end_period = Period.objects.get(year=year, number=month)
    labels = _line_labels(fund, year)
    figures = {
        line_id: values
        for line_id, *values in LineVariance.objects.filter(
            fund=fund, year=year, period_number=month
        ).values_list("line_id", "current_budget", "ytd_budget", "ytd_actual", "forecast_outturn")
    }
    by_area, by_locality = _spend_rows(figures, labels)  # type: ignore[arg-type]
    agreement = RiskShareAgreement.objects.filter(fund=fund, year=year).first()
    rule, underspend = _labels(agreement)
    shares = [
        ShareRow(partner_code=a.partner.code, partner=a.partner.name, share=a.amount)
        for a in RiskShareAllocation.objects.filter(
            fund=fund, year=year, period_number=month, basis=RiskShareAllocation.Basis.FORECAST
        )
        .select_related("partner")
        .order_by("partner__code")
    ]
    return MemorandumAccount(
        fund_code=fund.code,
        fund_name=fund.name,
        host=fund.host.name,
        year_code=year.code,
        scope=f"Q{quarter}",
        through_month=month,
        start=year.start_date,
        end=end_period.end_date,
        basis=f"Year to date to {end_period.code}, and the forecast outturn for the year",
        rule=rule,
        underspend=underspend,
        income=_income(fund, year, end_period.end_date),
        by_service_area=by_area,
        by_locality=by_locality,
        shares=shares,
    )


def frozen_year_account(fund: PooledFund, year: FinancialYear) -> MemorandumAccount | None:
    """The year's account as frozen at its current close (None while the year is open)."""
    closed = YearEnd.objects.filter(fund=fund, year=year, status=YearEnd.Status.CLOSED).first()
    if closed is None:
        return None
    snapshot = ReportSnapshot.objects.get(
        fund=fund,
        period__year=year,
        period__number=13,
        kind=ReportSnapshot.Kind.MEMORANDUM,
        run=closed.run,
    )
    return MemorandumAccount.from_snapshot(snapshot)


def settlement_rows(year_end: YearEnd) -> list[Settlement]:
    return list(
        year_end.settlements.select_related("partner").order_by("-is_host", "partner__code")
    )
