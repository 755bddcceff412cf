"""Read queries for commissioning, shaped for pages, exports and the API. Scoping lives here."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from budgets.models import LineVariance, PooledFund
from budgets.selectors import funds_visible_to
from commissioning.models import BcfScheme, Contract, ContractDecision, Provider, Service
from gmhsc.money import ZERO
from localities import roles


def contracts_visible_to(user: Any) -> QuerySet[Contract]:
    """Contracts of funds the user may see (administrators: all)."""
    return (
        Contract.objects.filter(fund__in=funds_visible_to(user).values("pk"))
        .select_related(
            "fund",
            "year",
            "provider",
            "commissioner",
            "service",
            "service__service_area",
            "service__locality",
        )
        .order_by("reference")
    )


def contract_lines_with_headroom(contract: Contract, period_number: int) -> list[dict[str, Any]]:
    """Each linked line with its profile total and the engine's figures at `period_number`:
    headroom = current budget - YTD actual - remaining commitments (all contracts and orders)."""
    links = list(
        contract.contract_lines.select_related("line").prefetch_related("commitments").all()
    )
    variances = {
        v.line_id: v
        for v in LineVariance.objects.filter(
            line_id__in=[cl.line_id for cl in links], period_number=period_number
        )
    }
    out = []
    for cl in links:
        v = variances.get(cl.line_id)
        months = {c.period_number: c.amount for c in cl.commitments.all()}
        out.append(
            {
                "link": cl,
                "line": cl.line,
                "months": [months.get(n, ZERO) for n in range(1, 13)],
                "total": sum(months.values(), ZERO),
                "current_budget": v.current_budget if v else None,
                "ytd_actual": v.ytd_actual if v else None,
                "commitments": v.commitments if v else None,
                "headroom": headroom_of(v) if v else None,
            }
        )
    return out


def headroom_of(variance: Any) -> Decimal:
    """Uncommitted headroom of one snapshot row: current budget - actual - remaining commitments."""
    return variance.current_budget - variance.ytd_actual - variance.commitments


@dataclass
class FundHeadroom:
    current_budget: Decimal = ZERO
    ytd_actual: Decimal = ZERO
    commitments: Decimal = ZERO

    @property
    def headroom(self) -> Decimal:
        return self.current_budget - self.ytd_actual - self.commitments


def fund_headroom(fund: PooledFund, year_id: int, period_number: int) -> FundHeadroom:
    """The fund's totals at a period from the engine's snapshots (never raw postings)."""
    total = FundHeadroom()
    for v in LineVariance.objects.filter(
        fund=fund, year_id=year_id, period_number=period_number
    ).only("current_budget", "ytd_actual", "commitments"):
        total.current_budget += v.current_budget
        total.ytd_actual += v.ytd_actual
        total.commitments += v.commitments
    return total


def providers() -> QuerySet[Provider]:
    return Provider.objects.select_related("organisation").order_by("name")


def services_for(user: Any) -> QuerySet[Service]:
    qs = Service.objects.select_related("service_area", "locality", "commissioner")
    if getattr(user, "is_superuser", False):
        return qs
    if roles.is_administrator(user):
        return qs
    return qs.filter(commissioner_id=getattr(user, "organisation_id", None))


def decisions_visible_to(user: Any) -> QuerySet[ContractDecision]:
    return (
        ContractDecision.objects.filter(fund__in=funds_visible_to(user).values("pk"))
        .select_related(
            "contract",
            "contract__provider",
            "contract__service",
            "fund",
            "decided_by",
            "recorded_by",
        )
        .order_by("-recorded_at", "-id")
    )


def awaiting_board(fund_ids: Iterable[int]) -> list[ContractDecision]:
    """Contract decisions above the officer limit waiting for the board that oversees the fund."""
    return list(
        ContractDecision.objects.filter(
            fund_id__in=list(fund_ids), status=ContractDecision.Status.AWAITING_BOARD
        )
        .select_related("contract", "contract__provider", "fund")
        .order_by("recorded_at", "id")
    )


REGISTER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("contract_reference", "Contract reference"),
    ("service", "Service"),
    ("provider", "Provider"),
    ("fund", "Fund"),
    ("kind", "Decision"),
    ("value", "Value"),
    ("procurement_route", "Procurement route"),
    ("decided_on", "Date of decision"),
    ("decision_body", "Decision body"),
    ("status", "Status"),
    ("participants", "Who took part"),
    ("conflicts_declared", "Conflicts declared"),
    ("conflicts_handling", "How conflicts were handled"),
)


def register_rows(decisions: Iterable[ContractDecision]) -> list[dict[str, Any]]:
    """The procurement decisions register (NHS England COI guidance), one dict per decision."""
    rows = []
    for d in decisions:
        body = (
            f"Board decision {d.board_decision_reference}"
            if d.board_decision_reference
            else "Board (awaiting)"
            if d.status == ContractDecision.Status.AWAITING_BOARD
            else "Officer within delegation"
        )
        rows.append(
            {
                "obj": d,
                "contract_reference": d.contract.reference,
                "service": d.contract.service.name,
                "provider": d.contract.provider.name,
                "fund": d.fund.code,
                "kind": d.get_kind_display(),
                "value": d.value,
                "procurement_route": d.get_procurement_route_display(),
                "decided_on": d.decided_on.isoformat() if d.decided_on else "",
                "decision_body": body,
                "status": d.get_status_display(),
                "participants": "; ".join(
                    p.strip() for p in d.participants.splitlines() if p.strip()
                ),
                "conflicts_declared": d.conflicts_declared or "None declared",
                "conflicts_handling": d.conflicts_handling or "Not applicable",
            }
        )
    return rows


# ---- pipeline -----------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    import calendar

    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class PipelineGroup:
    locality: str
    service_area: str
    within_6: list[Contract] = field(default_factory=list)
    within_12: list[Contract] = field(default_factory=list)

    @property
    def value_6(self) -> Decimal:
        return sum((c.value for c in self.within_6), ZERO)

    @property
    def value_12(self) -> Decimal:
        return sum((c.value for c in self.within_12), ZERO)


@dataclass
class Pipeline:
    as_of: dt.date
    six: dt.date
    twelve: dt.date
    groups: list[PipelineGroup]

    @property
    def value_6(self) -> Decimal:
        return sum((g.value_6 for g in self.groups), ZERO)

    @property
    def value_12(self) -> Decimal:
        return sum((g.value_12 for g in self.groups), ZERO)


def pipeline(user: Any, as_of: dt.date) -> Pipeline:
    """Contracts not yet ended whose end date falls within 6 months of `as_of`, and within 6 to 12
    months, grouped by locality and service area (the 12-month column includes the 6)."""
    six, twelve = add_months(as_of, 6), add_months(as_of, 12)
    contracts = (
        contracts_visible_to(user)
        .filter(end_date__gte=as_of, end_date__lte=twelve)
        .exclude(status=Contract.Status.ENDED)
        .order_by("end_date", "reference")
    )
    groups: OrderedDict[tuple[str, str], PipelineGroup] = OrderedDict()
    for c in contracts:
        locality = c.service.locality.name if c.service.locality else "Greater Manchester-wide"
        area = c.service.service_area.name
        group = groups.setdefault((locality, area), PipelineGroup(locality, area))
        group.within_12.append(c)
        if c.end_date <= six:
            group.within_6.append(c)
    ordered = [groups[k] for k in sorted(groups)]
    return Pipeline(as_of=as_of, six=six, twelve=twelve, groups=ordered)


def bcf_funds_visible_to(user: Any) -> QuerySet[PooledFund]:
    return funds_visible_to(user).filter(is_bcf=True)


def bcf_schemes(fund: PooledFund, year_id: int) -> QuerySet[BcfScheme]:
    return BcfScheme.objects.filter(fund=fund, year_id=year_id).order_by("code")
