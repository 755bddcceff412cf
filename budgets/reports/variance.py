"""The monthly variance report, computed once into plain dataclasses of Decimals.

Figures come from the recompute engine's LineVariance snapshots (never raw postings). For a closed
month they come from the frozen ReportSnapshot instead, so a report, its exports and the board
papers that quote it never move. The HTML page, CSV, XLSX, PDF and the API all lay out the same
`VarianceReport`; subtotals and totals are computed here, on the server, from the same rows.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from budgets.context import year_started
from budgets.figures import selectors as figure_selectors
from budgets.freshness import as_at_text, fund_freshness
from budgets.models import (
    AllocationRun,
    FinancialYear,
    Forecast,
    FundPeriod,
    FundPosition,
    Period,
    PooledFund,
    ReportSnapshot,
    RiskShareAgreement,
    RiskShareAllocation,
    SavingsDelivery,
    SavingsScheme,
    StaleMark,
)
from budgets.models.figures import MONEY_COLUMNS, PERCENT_COLUMNS
from budgets.planning.year_selectors import savings_summary
from budgets.rag import Rag
from budgets.selectors import period_status
from gmhsc.money import ZERO, format_money, percentage

# (key, label, kind) in the CSV's column order; kind is "text", "money", "pct".
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("line_code", "Line code", "text"),
    ("line_name", "Line", "text"),
    ("service_area", "Service area", "text"),
    ("locality", "Locality", "text"),
    ("lead_commissioner", "Lead commissioner", "text"),
    ("original_budget", "Original budget", "money"),
    ("changes", "Virements and changes", "money"),
    ("current_budget", "Current budget", "money"),
    ("ytd_budget", "YTD budget", "money"),
    ("ytd_actual", "YTD actual", "money"),
    ("ytd_variance", "YTD variance £", "money"),
    ("ytd_variance_pct", "YTD variance %", "pct"),
    ("commitments", "Commitments", "money"),
    ("forecast_outturn", "Forecast outturn", "money"),
    ("forecast_variance", "Forecast variance £", "money"),
    ("forecast_variance_pct", "Forecast variance %", "pct"),
    ("movement", "Movement since last month", "money"),
    ("rag", "RAG", "text"),
    ("adverse_favourable", "Adverse / favourable", "text"),
    ("commentary", "Commentary", "text"),
)
CSV_HEADER = tuple(key for key, _, _ in COLUMNS)
# The text columns that belong to one line; a subtotal or total leaves them blank.
NOT_TOTALLED = frozenset(
    key for key, _, kind in COLUMNS if kind == "text" and key != "adverse_favourable"
)

GROUPINGS: dict[str, str] = {
    "service_area": "Service area",
    "locality": "Locality",
    "lead_commissioner": "Lead commissioner",
}
NO_LOCALITY = "Greater Manchester-wide (no locality)"

SIGN_CONVENTION = (
    "Variance is actual (or forecast) minus budget. A positive variance is an overspend and is "
    "adverse; a negative variance, shown in brackets, is an underspend or extra income and is "
    "favourable. Forecast variance is forecast outturn minus current annual budget; movement is "
    "this month's forecast variance minus last month's."
)


def adverse_or_favourable(variance: Decimal) -> str:
    if variance > 0:
        return "adverse"
    if variance < 0:
        return "favourable"
    return ""


@dataclass(frozen=True)
class ReportRow:
    """One budget line's figures for the month."""

    line_id: int
    line_code: str
    line_name: str
    service_area_code: str
    service_area: str
    service_area_parent_code: str
    service_area_parent: str
    locality: str
    lead_commissioner_code: str
    lead_commissioner: str
    original_budget: Decimal
    changes: Decimal
    current_budget: Decimal
    ytd_budget: Decimal
    ytd_actual: Decimal
    ytd_variance: Decimal
    ytd_variance_pct: Decimal | None
    commitments: Decimal
    forecast_outturn: Decimal
    forecast_variance: Decimal
    forecast_variance_pct: Decimal | None
    movement: Decimal
    rag: str
    adverse_favourable: str
    commentary: str

    def value(self, key: str) -> Any:
        return getattr(self, key)


@dataclass(frozen=True)
class Totals:
    """Sums of the money columns over some rows; percentages recomputed from the sums."""

    label: str
    lines: int
    original_budget: Decimal
    changes: Decimal
    current_budget: Decimal
    ytd_budget: Decimal
    ytd_actual: Decimal
    ytd_variance: Decimal
    ytd_variance_pct: Decimal | None
    commitments: Decimal
    forecast_outturn: Decimal
    forecast_variance: Decimal
    forecast_variance_pct: Decimal | None
    movement: Decimal
    adverse_favourable: str
    red: int
    amber: int
    green: int

    def value(self, key: str) -> Any:
        """A column's total; blank for the columns a total has no value for (line code, RAG...)."""
        return "" if key in NOT_TOTALLED else getattr(self, key)

    @property
    def rag_counts(self) -> str:
        if self.lines and not (self.red or self.amber or self.green):
            return "Not started"
        return f"{self.red} red, {self.amber} amber, {self.green} green"


def totals_of(label: str, rows: Iterable[ReportRow], *, started: bool = True) -> Totals:
    sums = dict.fromkeys(MONEY_COLUMNS, ZERO)
    count = red = amber = green = 0
    for row in rows:
        count += 1
        for key in MONEY_COLUMNS:
            sums[key] += getattr(row, key)
        red += row.rag == Rag.RED
        amber += row.rag == Rag.AMBER
        green += row.rag == Rag.GREEN
    return Totals(
        label=label,
        lines=count,
        ytd_variance_pct=percentage(sums["ytd_variance"], sums["ytd_budget"]) if started else None,
        forecast_variance_pct=(
            percentage(sums["forecast_variance"], sums["current_budget"]) if started else None
        ),
        adverse_favourable=adverse_or_favourable(sums["forecast_variance"]),
        red=red,
        amber=amber,
        green=green,
        **sums,
    )


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    rows: list[ReportRow]
    subtotal: Totals


@dataclass(frozen=True)
class RiskShareEntry:
    partner_code: str
    partner: str
    basis: str
    rule: str
    amount: Decimal


@dataclass(frozen=True)
class FairShareEntry:
    """One locality's allocation in the run the report shows, beside its pure formula target."""

    locality: str
    amount: Decimal  # the allocation
    detail: str = ""
    target: Decimal | None = None
    dft_after: Decimal | None = None  # distance from target after allocation, e.g. -0.031 (-3.1%)


@dataclass(frozen=True)
class SavingsEntry:
    """One savings scheme's delivery as at the report's month (budgets.planning.savings)."""

    code: str
    name: str
    lead: str
    planned_year: Decimal
    planned_to_date: Decimal
    delivered_to_date: Decimal
    forecast: Decimal
    at_risk: Decimal
    rag: str


SAVINGS_MONEY = (
    "planned_year",
    "planned_to_date",
    "delivered_to_date",
    "forecast",
    "at_risk",
)


def _group_key(row: ReportRow, grouping: str) -> tuple[tuple[Any, ...], str, str]:
    """(sort key, group key, group label) of a row under a grouping."""
    if grouping == "locality":
        label = row.locality or NO_LOCALITY
        return (row.locality == "", row.locality), label, label
    if grouping == "lead_commissioner":
        return (row.lead_commissioner,), row.lead_commissioner_code, row.lead_commissioner
    label = row.service_area
    if row.service_area_parent:
        label = f"{row.service_area_parent}: {row.service_area}"
    return (row.service_area_parent_code, row.service_area_code), row.service_area_code, label


def group_rows(rows: list[ReportRow], grouping: str, *, started: bool = True) -> list[Group]:
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}")
    buckets: dict[str, tuple[tuple[Any, ...], str, list[ReportRow]]] = {}
    for row in rows:
        sort_key, key, label = _group_key(row, grouping)
        buckets.setdefault(key, (sort_key, label, []))[2].append(row)
    groups = []
    for key, (_, label, members) in sorted(buckets.items(), key=lambda kv: (kv[1][0], kv[0])):
        members.sort(key=lambda r: r.line_code)
        subtotal = totals_of(label, members, started=started)
        groups.append(Group(key=key, label=label, rows=members, subtotal=subtotal))
    return groups


@dataclass(frozen=True)
class VarianceReport:
    """Everything every layout of the monthly variance report shows."""

    fund_id: int
    fund_code: str
    fund_name: str
    host: str
    year_code: str
    period_id: int
    period_code: str
    period_number: int
    period_end: str
    as_at: datetime | None
    pending: int
    closed: bool
    source: str  # "live" (LineVariance snapshots) or "snapshot" (frozen at close)
    snapshot_run: int | None
    snapshot_checksum: str
    rag_amber_pct: Decimal
    rag_red_pct: Decimal
    rag_floor: Decimal
    rows: list[ReportRow]
    risk_share: list[RiskShareEntry]
    risk_share_rule: str
    fair_share: list[FairShareEntry]
    fair_share_note: str
    fair_share_method: str = ""  # "pure_formula", "pace_of_change", "uplift" or "" (no run)
    # The year has a month to report (budgets.context): when not, no RAG and no percentages.
    started: bool = True
    grouping: str = "service_area"
    groups: list[Group] = field(default_factory=list)
    totals: Totals | None = None
    sign_convention: str = SIGN_CONVENTION
    savings: list[SavingsEntry] = field(default_factory=list)

    def savings_total(self, name: str) -> Decimal:
        return sum((getattr(e, name) for e in self.savings), Decimal("0.00"))

    @property
    def savings_totals(self) -> dict[str, Decimal]:
        return {name: self.savings_total(name) for name in SAVINGS_MONEY}

    @property
    def grouping_label(self) -> str:
        return GROUPINGS[self.grouping]

    @property
    def rag_thresholds(self) -> str:
        floor = (
            f"; variances under {format_money(self.rag_floor)} stay green" if self.rag_floor else ""
        )
        return (
            f"Rated on forecast variance % of current budget: green below {self.rag_amber_pct}%, "
            f"amber from {self.rag_amber_pct}% to {self.rag_red_pct}%, red above "
            f"{self.rag_red_pct}%{floor}."
        )

    @property
    def as_at_text(self) -> str:
        return as_at_text(self.as_at)

    def regroup(self, grouping: str) -> VarianceReport:
        """The same figures grouped another way (no recomputation of any line)."""
        return dataclasses.replace(
            self,
            grouping=grouping,
            groups=group_rows(list(self.rows), grouping, started=self.started),
            totals=totals_of("Total", self.rows, started=self.started),
        )

    # ---- plain JSON (frozen snapshots, API) --------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        """JSON-ready figures (money as strings); groups and totals are derived again on load."""
        return {
            "fund_id": self.fund_id,
            "fund_code": self.fund_code,
            "fund_name": self.fund_name,
            "host": self.host,
            "year_code": self.year_code,
            "period_id": self.period_id,
            "period_code": self.period_code,
            "period_number": self.period_number,
            "period_end": self.period_end,
            "as_at": self.as_at.isoformat() if self.as_at else None,
            "rag_amber_pct": str(self.rag_amber_pct),
            "rag_red_pct": str(self.rag_red_pct),
            "rag_floor": str(self.rag_floor),
            "rows": [_plain(dataclasses.asdict(row)) for row in self.rows],
            "risk_share": [_plain(dataclasses.asdict(e)) for e in self.risk_share],
            "risk_share_rule": self.risk_share_rule,
            "fair_share": [_plain(dataclasses.asdict(e)) for e in self.fair_share],
            "fair_share_note": self.fair_share_note,
            "savings": [_plain(dataclasses.asdict(e)) for e in self.savings],
            "fair_share_method": self.fair_share_method,
        }


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def report_from_data(
    data: dict[str, Any],
    *,
    grouping: str = "service_area",
    closed: bool,
    source: str,
    pending: int = 0,
    snapshot_run: int | None = None,
    snapshot_checksum: str = "",
) -> VarianceReport:
    rows = []
    for raw in data["rows"]:
        values = dict(raw)
        for key in MONEY_COLUMNS:
            values[key] = Decimal(values[key])
        for key in PERCENT_COLUMNS:
            values[key] = _dec(values[key])
        rows.append(ReportRow(**values))
    report = VarianceReport(
        fund_id=data["fund_id"],
        fund_code=data["fund_code"],
        fund_name=data["fund_name"],
        host=data["host"],
        year_code=data["year_code"],
        period_id=data["period_id"],
        period_code=data["period_code"],
        period_number=data["period_number"],
        period_end=data["period_end"],
        as_at=datetime.fromisoformat(data["as_at"]) if data["as_at"] else None,
        pending=pending,
        closed=closed,
        source=source,
        snapshot_run=snapshot_run,
        snapshot_checksum=snapshot_checksum,
        rag_amber_pct=Decimal(data["rag_amber_pct"]),
        rag_red_pct=Decimal(data["rag_red_pct"]),
        rag_floor=Decimal(data["rag_floor"]),
        rows=rows,
        risk_share=[
            RiskShareEntry(**{**e, "amount": Decimal(e["amount"])}) for e in data["risk_share"]
        ],
        risk_share_rule=data["risk_share_rule"],
        fair_share=[
            FairShareEntry(
                **{
                    **e,
                    "amount": Decimal(e["amount"]),
                    # Snapshots frozen before the target was recorded carry none.
                    "target": _dec(e.get("target")),
                    "dft_after": _dec(e.get("dft_after")),
                }
            )
            for e in data["fair_share"]
        ],
        fair_share_note=data["fair_share_note"],
        # Snapshots frozen before savings plans existed carry none.
        savings=[
            SavingsEntry(**{**e, **{k: Decimal(e[k]) for k in SAVINGS_MONEY}})
            for e in data.get("savings", [])
        ],
        fair_share_method=data.get("fair_share_method", ""),
    )
    return report.regroup(grouping)


# ---- computing ---------------------------------------------------------------------------------


def latest_snapshot(fund: PooledFund, period: Period) -> ReportSnapshot | None:
    return (
        ReportSnapshot.objects.filter(fund=fund, period=period, kind=ReportSnapshot.Kind.VARIANCE)
        .order_by("-run")
        .first()
    )


def compute_variance_report(
    *,
    fund: PooledFund,
    period: Period,
    grouping: str = "service_area",
    started: bool | None = None,
) -> VarianceReport:
    """The month's report. A closed month with a frozen snapshot reads the snapshot.

    `started`: whether the year has started (budgets.context.year_started; worked out if not
    given). A year that has not started is reported without RAG and without percentages."""
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}")

    if period_status(fund, period) == "closed":
        snapshot = latest_snapshot(fund, period)
        if snapshot is not None:
            return report_from_data(
                snapshot.data,
                grouping=grouping,
                closed=True,
                source="snapshot",
                snapshot_run=snapshot.run,
                snapshot_checksum=snapshot.checksum,
            )
        return compute_live_report(fund=fund, period=period, grouping=grouping, closed=True)
    if started is None:
        started = year_started(fund, period.year)
    return compute_live_report(fund=fund, period=period, grouping=grouping, started=started)


def compute_live_report(
    *,
    fund: PooledFund,
    period: Period,
    grouping: str = "service_area",
    closed: bool = False,
    started: bool = True,
) -> VarianceReport:
    """From the recompute engine's LineVariance snapshots (never raw postings)."""

    number = min(period.number, 12)
    variances = figure_selectors.variance_rows(fund, number).filter(year_id=period.year_id)
    commentary = _commentary(fund, period)
    rows: list[ReportRow] = []
    latest: datetime | None = None
    for v in variances:
        line = v.line
        area = line.service_area
        parent = area.parent
        if latest is None or (v.computed_at and v.computed_at > latest):
            latest = v.computed_at
        rows.append(
            ReportRow(
                line_id=line.pk,
                line_code=line.code,
                line_name=line.name,
                service_area_code=area.code,
                service_area=area.name,
                service_area_parent_code=parent.code if parent else "",
                service_area_parent=parent.name if parent else "",
                locality=line.locality.name if line.locality_id else "",
                lead_commissioner_code=line.lead_commissioner.code,
                lead_commissioner=line.lead_commissioner.name,
                original_budget=v.original_budget,
                changes=v.changes,
                current_budget=v.current_budget,
                ytd_budget=v.ytd_budget,
                ytd_actual=v.ytd_actual,
                ytd_variance=v.ytd_variance,
                ytd_variance_pct=v.ytd_variance_pct if started else None,
                commitments=v.commitments,
                forecast_outturn=v.forecast_outturn,
                forecast_variance=v.forecast_variance,
                forecast_variance_pct=v.forecast_variance_pct if started else None,
                movement=v.movement,
                rag=v.rag if started else "",
                adverse_favourable=v.adverse_favourable,
                commentary=commentary.get(line.pk, ""),
            )
        )
    rows.sort(key=lambda r: (r.service_area_parent_code, r.service_area_code, r.line_code))
    freshness = _freshness(fund, period.year)
    as_at = freshness[0] or latest
    risk_share, rule = _risk_share(fund, period.year, number)
    fair_share, note, method = _fair_share(fund, period.year)
    report = VarianceReport(
        fund_id=fund.pk,
        fund_code=fund.code,
        fund_name=fund.name,
        host=fund.host.name,
        year_code=period.year.code,
        period_id=period.pk,
        period_code=period.code,
        period_number=period.number,
        period_end=period.end_date.isoformat(),
        as_at=as_at,
        pending=freshness[1],
        closed=closed,
        source="live",
        snapshot_run=None,
        snapshot_checksum="",
        rag_amber_pct=fund.rag_amber_pct,
        rag_red_pct=fund.rag_red_pct,
        rag_floor=fund.rag_floor,
        rows=rows,
        risk_share=risk_share,
        risk_share_rule=rule,
        fair_share=fair_share,
        fair_share_note=note,
        savings=_savings(fund, period.year, number),
        fair_share_method=method,
        started=started,
    )
    return report.regroup(grouping)


def _savings(fund: Any, year: Any, number: int) -> list[SavingsEntry]:
    summary = savings_summary(fund, year, month=number)
    return [
        SavingsEntry(
            code=r.scheme.code,
            name=r.scheme.name,
            lead=r.scheme.lead_commissioner.name,
            planned_year=r.delivery.planned_year,
            planned_to_date=r.delivery.planned_to_date,
            delivered_to_date=r.delivery.delivered_to_date,
            forecast=r.delivery.forecast,
            at_risk=r.delivery.at_risk,
            rag=r.delivery.rag,
        )
        for r in summary.schemes
    ]


def _commentary(fund: PooledFund, period: Period) -> dict[int, str]:
    """Each line's commentary: from this month's forecast, else the latest earlier one."""

    found: dict[int, str] = {}
    forecasts = (
        Forecast.objects.filter(
            line__fund=fund, period__year_id=period.year_id, period__number__lte=period.number
        )
        .order_by("line_id", "-period__number")
        .values_list("line_id", "commentary")
    )
    for line_id, text in forecasts:
        if line_id not in found:
            found[line_id] = text
    return found


def _freshness(fund: PooledFund, year: FinancialYear) -> tuple[datetime | None, int]:
    fresh = fund_freshness(fund, year)
    return fresh.computed_at, fresh.pending


def _risk_share(
    fund: PooledFund, year: FinancialYear, number: int
) -> tuple[list[RiskShareEntry], str]:

    agreement = RiskShareAgreement.objects.filter(fund=fund, year=year).first()
    rule = agreement.get_rule_display() if agreement else "No risk-share agreement recorded"
    entries = [
        RiskShareEntry(
            partner_code=a.partner.code,
            partner=a.partner.name,
            basis=a.basis,
            rule=a.rule,
            amount=a.amount,
        )
        for a in RiskShareAllocation.objects.filter(fund=fund, year=year, period_number=number)
        .select_related("partner")
        .order_by("partner__name", "basis")
    ]
    return entries, rule


def _fair_share(fund: Any, year: Any) -> tuple[list[FairShareEntry], str, str]:
    """The fair-share run the report shows, per locality with its pure formula target
    (domain.md 7.2): the approved run if the board approved one, else the pace-of-change run
    (the policy a board normally adopts). Returns (entries, note naming the run, method)."""
    runs = {run.method: run for run in figure_selectors.allocation_runs(fund, year)}
    if not runs:
        return [], "No fair-share allocation has been run.", ""
    approved = [r for r in runs.values() if r.status == AllocationRun.Status.APPROVED]
    run = approved[0] if approved else runs.get(AllocationRun.Method.PACE_OF_CHANGE)
    if run is None:
        run = runs[sorted(runs)[0]]
    results = sorted(run.results.all(), key=lambda r: r.locality.name)
    entries = [
        FairShareEntry(
            locality=r.locality.name,
            amount=r.allocation,
            target=r.target,
            dft_after=r.dft_after,
            detail=_distance_text(r.dft_after),
        )
        for r in results
    ]
    others = [
        AllocationRun.Method(m).label.lower()
        for m in AllocationRun.Method.values
        if m in runs and m != run.method
    ]
    local = timezone.localtime(run.computed_at)
    note = (
        f"{run.get_method_display()} run ({run.get_status_display().lower()}"
        f"{', approved by ' + run.approved_by if run.approved_by else ''}), calculated at "
        f"{local:%H:%M} on {local.day} {local:%B %Y}: each locality's allocation beside its "
        f"pure formula target."
    )
    if others:
        note += f" Also calculated for comparison: {' and '.join(others)}."
    return entries, note, run.method


def _distance_text(dft: Decimal | None) -> str:
    """'3.10% under target', '1.25% over target', 'at target'."""
    if dft is None:
        return ""
    pct = (abs(dft) * 100).quantize(Decimal("0.01"))
    if pct == 0:
        return "at target"
    return f"{pct}% {'under' if dft < 0 else 'over'} target"


# ---- a small in-process cache: the page is read far more often than figures change ------------

_CACHE: OrderedDict[tuple[Any, ...], VarianceReport] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def cached_variance_report(
    *,
    fund: PooledFund,
    period: Period,
    grouping: str = "service_area",
    started: bool | None = None,
    compute: Callable[..., VarianceReport] = compute_variance_report,
) -> VarianceReport:
    """compute_variance_report, reused while nothing the report reads has changed.

    The key is the figures' version: when the engine last wrote the period's figures and for how
    many lines (the fund position), the pending recompute marks, the period's status and the latest
    frozen snapshot; and whether the year has started (`started`, from the caller's reporting
    context, else worked out here: a month ending can start a year without any figure changing).
    """
    if started is None:
        started = year_started(fund, period.year)
    version = (*_version(fund, period), started)
    key = (fund.pk, period.pk, grouping, *version)
    base_key = (fund.pk, period.pk, "service_area", *version)
    with _CACHE_LOCK:
        report = _CACHE.get(key)
        base = _CACHE.get(base_key)
        if report is not None:
            _CACHE.move_to_end(key)
    if report is None:
        if base is None:
            base = compute(fund=fund, period=period, grouping="service_area", started=started)
        report = base if grouping == "service_area" else base.regroup(grouping)
        with _CACHE_LOCK:
            _CACHE[base_key] = base
            _CACHE[key] = report
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return report


def _version(fund: PooledFund, period: Period) -> tuple[Any, ...]:
    """Everything the report depends on, read in one query (the page asks on every request).

    The period's status and when it last changed, the latest frozen snapshot (run and checksum),
    the pending recompute marks, the savings schemes' latest change, and the fund position's
    computed time and line count: the engine
    rewrites the position, stamped like the LineVariance rows, on every recompute, full or partial,
    so one row stands for a MAX and COUNT over 10,000 snapshot rows. Plain SQL: compiling the same
    statement through the ORM took three times as long as running it.
    """

    status, snapshot = FundPeriod._meta.db_table, ReportSnapshot._meta.db_table
    position, stale = FundPosition._meta.db_table, StaleMark._meta.db_table
    scheme, delivery = SavingsScheme._meta.db_table, SavingsDelivery._meta.db_table
    sql = f"""
        SELECT
          (SELECT status FROM {status} WHERE fund_id = %(fund)s AND period_id = %(period)s),
          (SELECT changed_at FROM {status} WHERE fund_id = %(fund)s AND period_id = %(period)s),
          (SELECT run FROM {snapshot} WHERE fund_id = %(fund)s AND period_id = %(period)s
            ORDER BY run DESC LIMIT 1),
          (SELECT checksum FROM {snapshot} WHERE fund_id = %(fund)s AND period_id = %(period)s
            ORDER BY run DESC LIMIT 1),
          (SELECT COUNT(*) FROM {stale} WHERE fund_id = %(fund)s),
          (SELECT computed_at FROM {position}
            WHERE fund_id = %(fund)s AND year_id = %(year)s AND period_number = %(number)s),
          (SELECT red_count + amber_count + green_count FROM {position}
            WHERE fund_id = %(fund)s AND year_id = %(year)s AND period_number = %(number)s),
          (SELECT COUNT(*) FROM {scheme} WHERE fund_id = %(fund)s AND year_id = %(year)s),
          (SELECT MAX(updated_at) FROM {scheme} WHERE fund_id = %(fund)s AND year_id = %(year)s),
          (SELECT MAX(d.recorded_at) FROM {delivery} d JOIN {scheme} s ON s.id = d.scheme_id
            WHERE s.fund_id = %(fund)s AND s.year_id = %(year)s)
    """  # noqa: S608 (table names from the models; values are parameters)
    params = {
        "fund": fund.pk,
        "period": period.pk,
        "year": period.year_id,
        "number": min(period.number, 12),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return tuple(cursor.fetchone())
