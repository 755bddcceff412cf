"""The board's finance dashboard, read only from the recompute engine's snapshots.

Each fund the board oversees is shown in its reporting context (budgets.context) on a day: today
for the live dashboard, the meeting's date for a board pack. Figures come from FundPosition and
LineVariance at that context's month and partner shares from RiskShareAllocation; raw postings are
never read here. `Dashboard.to_json()` freezes the figures for a board pack; `Dashboard.from_json()`
restores them so the pack prints exactly what was frozen.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from boards.models import Board, Meeting
from budgets.context import NoBudgetYear, ReportingContext, reporting_context
from budgets.figures import selectors as figure_selectors
from budgets.freshness import fund_freshness
from budgets.models import (
    FinancialYear,
    Forecast,
    FundPosition,
    LineVariance,
    PooledFund,
    RiskShareAllocation,
)
from budgets.models.reference import MONTH_NAMES
from budgets.planning import selectors as planning_selectors
from budgets.planning.year_selectors import overdue_instalments, savings_summary
from budgets.rag import Rag
from gmhsc.money import ZERO


@dataclass
class Headline:
    current_budget: Decimal = ZERO
    ytd_actual: Decimal = ZERO
    forecast_outturn: Decimal = ZERO
    forecast_variance: Decimal = ZERO
    red: int = 0
    amber: int = 0
    green: int = 0

    @classmethod
    def of(cls, position: FundPosition) -> Headline:
        return cls(
            current_budget=position.current_budget,
            ytd_actual=position.ytd_actual,
            forecast_outturn=position.forecast_outturn,
            forecast_variance=position.forecast_variance,
            red=position.red_count,
            amber=position.amber_count,
            green=position.green_count,
        )

    def add(self, other: Headline) -> None:
        self.current_budget += other.current_budget
        self.ytd_actual += other.ytd_actual
        self.forecast_outturn += other.forecast_outturn
        self.forecast_variance += other.forecast_variance
        self.red += other.red
        self.amber += other.amber
        self.green += other.green


@dataclass
class FundSummary:
    fund_id: int
    code: str
    name: str
    year: str
    period_number: int  # 0: the year has not started
    headline: Headline
    period_code: str = ""
    state: str = ""  # "closed", "not yet closed" or "not started"

    @property
    def started(self) -> bool:
        return self.state != "not started"


@dataclass
class Movement:
    line_code: str
    line_name: str
    fund_code: str
    before: Decimal
    after: Decimal
    movement: Decimal


@dataclass
class RedLine:
    line_code: str
    line_name: str
    fund_code: str
    current_budget: Decimal
    forecast_variance: Decimal
    forecast_variance_pct: Decimal | None
    commentary: str


@dataclass
class FundSavings:
    """A fund's savings schemes as at the dashboard's month: planned, delivered and at risk."""

    fund_code: str
    schemes: int
    planned_year: Decimal
    planned_to_date: Decimal
    delivered_to_date: Decimal
    at_risk: Decimal
    red: int
    amber: int


@dataclass
class Overdue:
    """A partner's contribution instalment past its due date and not fully paid."""

    fund_code: str
    partner: str
    due_date: dt.date
    outstanding: Decimal


@dataclass
class Dashboard:
    board_code: str
    board_name: str
    period_label: str = ""
    funds: list[FundSummary] = field(default_factory=list)
    total: Headline = field(default_factory=Headline)
    by_service_area: list[tuple[str, Decimal]] = field(default_factory=list)
    by_locality: list[tuple[str, Decimal]] = field(default_factory=list)
    trend: list[tuple[str, Decimal, Decimal]] = field(default_factory=list)
    risk_share: list[tuple[str, Decimal]] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    movements_since: str = ""
    red_lines: list[RedLine] = field(default_factory=list)
    red_lines_more: int = 0
    as_at: dt.datetime | None = None
    pending: int = 0
    savings: list[FundSavings] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)
    on: str = ""  # the day the reporting context was judged (ISO date)

    @property
    def has_figures(self) -> bool:
        return bool(self.funds)

    def to_json(self) -> dict[str, Any]:
        def enc(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dt.date):  # datetimes too
                return value.isoformat()
            if isinstance(value, dict):
                return {k: enc(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [enc(v) for v in value]
            return value

        return enc(asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Dashboard:
        """Packs frozen before a key existed are read with its empty value."""

        def dec(v: Any) -> Decimal:
            return Decimal(v)

        def head(h: dict[str, Any]) -> Headline:
            return Headline(
                current_budget=dec(h["current_budget"]),
                ytd_actual=dec(h["ytd_actual"]),
                forecast_outturn=dec(h["forecast_outturn"]),
                forecast_variance=dec(h["forecast_variance"]),
                red=h["red"],
                amber=h["amber"],
                green=h["green"],
            )

        return cls(
            board_code=data["board_code"],
            board_name=data["board_name"],
            period_label=data["period_label"],
            funds=[
                FundSummary(
                    fund_id=f["fund_id"],
                    code=f["code"],
                    name=f["name"],
                    year=f["year"],
                    period_number=f["period_number"],
                    headline=head(f["headline"]),
                    period_code=f.get("period_code", ""),
                    state=f.get("state", ""),
                )
                for f in data["funds"]
            ],
            total=head(data["total"]),
            by_service_area=[(a, dec(b)) for a, b in data["by_service_area"]],
            by_locality=[(a, dec(b)) for a, b in data["by_locality"]],
            trend=[(a, dec(b), dec(c)) for a, b, c in data["trend"]],
            risk_share=[(a, dec(b)) for a, b in data["risk_share"]],
            movements=[
                Movement(
                    m["line_code"],
                    m["line_name"],
                    m["fund_code"],
                    dec(m["before"]),
                    dec(m["after"]),
                    dec(m["movement"]),
                )
                for m in data["movements"]
            ],
            movements_since=data["movements_since"],
            red_lines=[
                RedLine(
                    r["line_code"],
                    r["line_name"],
                    r["fund_code"],
                    dec(r["current_budget"]),
                    dec(r["forecast_variance"]),
                    None if r["forecast_variance_pct"] is None else dec(r["forecast_variance_pct"]),
                    r["commentary"],
                )
                for r in data["red_lines"]
            ],
            red_lines_more=data.get("red_lines_more", 0),
            as_at=dt.datetime.fromisoformat(data["as_at"]) if data["as_at"] else None,
            pending=data["pending"],
            # Packs frozen before savings plans and receipts existed carry neither.
            savings=[
                FundSavings(
                    fund_code=s["fund_code"],
                    schemes=s["schemes"],
                    planned_year=dec(s["planned_year"]),
                    planned_to_date=dec(s["planned_to_date"]),
                    delivered_to_date=dec(s["delivered_to_date"]),
                    at_risk=dec(s["at_risk"]),
                    red=s["red"],
                    amber=s["amber"],
                )
                for s in data.get("savings", [])
            ],
            overdue=[
                Overdue(
                    fund_code=o["fund_code"],
                    partner=o["partner"],
                    due_date=dt.date.fromisoformat(o["due_date"]),
                    outstanding=dec(o["outstanding"]),
                )
                for o in data.get("overdue", [])
            ],
            on=data.get("on", ""),
        )


@dataclass
class _FundFigures:
    """One fund's share of the dashboard, in its reporting context."""

    fund: PooledFund
    ctx: ReportingContext
    rows: list[LineVariance]
    before_by_line: dict[int, Decimal]
    previous_period: int | None


def _fund_context(
    fund: PooledFund, on: dt.date, year: str | None, period: str | None
) -> ReportingContext | None:
    try:
        return reporting_context(fund, year=year, period=period, on=on)
    except NoBudgetYear:
        return None


def _previous_period(fund: PooledFund, ctx: ReportingContext, since: Meeting | None) -> int | None:
    """The month the previous meeting reviewed for this fund, when it is an earlier month of the
    same year (the movements are measured from it)."""
    if since is None or ctx.period is None:
        return None
    before = _fund_context(fund, since.date, None, None)
    if before is None or before.year.pk != ctx.year.pk or before.period is None:
        return None
    return before.period.number if before.period.number < ctx.period.number else None


def build_dashboard(
    board: Board,
    *,
    since: Meeting | None = None,
    on: dt.date | None = None,
    year: str | None = None,
    period: str | None = None,
) -> Dashboard:
    """Headline figures, charts' data, movements and red lines for the funds the board oversees,
    each in its reporting context on `on` (default today; a pack passes the meeting's date), or
    in the year and month asked for (`year`, `period` codes)."""
    on = on or timezone.localdate()
    dash = Dashboard(board_code=board.code, board_name=board.name, on=on.isoformat())
    trend: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    risk: dict[str, Decimal] = defaultdict(lambda: ZERO)
    figures: list[_FundFigures] = []
    as_at: list[dt.datetime] = []
    funds = list(board.funds.order_by("code"))
    for fund in funds:
        ctx = _fund_context(fund, on, year, period)
        if ctx is None:
            continue
        freshness = fund_freshness(fund, ctx.year)
        dash.pending += freshness.pending
        if freshness.computed_at is not None:
            as_at.append(freshness.computed_at)
        if not ctx.started or ctx.period is None:
            budget = planning_selectors.fund_line_totals(fund, ctx.year)["current"]
            dash.funds.append(_summary(ctx, Headline(current_budget=budget)))
            continue
        number = ctx.period.number
        position = FundPosition.objects.filter(
            fund=fund, year=ctx.year, period_number=number
        ).first()
        if position is None:  # not computed yet: the pending count says so
            continue
        head = Headline.of(position)
        dash.funds.append(_summary(ctx, head))
        dash.total.add(head)
        for p in figure_selectors.fund_positions(fund, ctx.year).filter(period_number__lte=number):
            trend[p.period_number][0] += p.forecast_outturn
            trend[p.period_number][1] += p.current_budget
        previous = _previous_period(fund, ctx, since)
        before = (
            dict(
                LineVariance.objects.filter(
                    fund=fund, year=ctx.year, period_number=previous
                ).values_list("line_id", "forecast_variance")
            )
            if previous is not None
            else {}
        )
        rows = list(figure_selectors.variance_rows(fund, number, ctx.year))
        figures.append(_FundFigures(fund, ctx, rows, before, previous))
        for a in figure_selectors.risk_share_allocations(fund, ctx.year, number).filter(
            basis=RiskShareAllocation.Basis.FORECAST
        ):
            risk[a.partner.short_name or a.partner.name] += a.amount
    dash.period_label = _period_label(dash.funds)
    dash.as_at = min(as_at) if as_at else None
    rows_all = [(f.fund, row) for f in figures for row in f.rows]
    dash.by_service_area = _group(rows_all, _service_area_label)
    dash.by_locality = _group(rows_all, _locality_label)
    dash.trend = [(MONTH_NAMES[n - 1], v[0], v[1]) for n, v in sorted(trend.items())]
    dash.risk_share = sorted(risk.items(), key=lambda kv: kv[0])
    before_by_line = {k: v for f in figures for k, v in f.before_by_line.items()}
    dash.movements = _movements(rows_all, before_by_line)
    dash.movements_since = _movements_label(since, {f.previous_period for f in figures})
    dash.red_lines, dash.red_lines_more = _red_lines(rows_all)
    _cycle(dash, funds)
    return dash


def _cycle(dash: Dashboard, funds: list[Any]) -> None:
    """Savings delivery and overdue contribution instalments for the year each fund shows."""
    shown = {s.fund_id: s for s in dash.funds}
    years = {y.code: y for y in FinancialYear.objects.filter(code__in={s.year for s in dash.funds})}
    pairs = [(f, years[shown[f.pk].year]) for f in funds if f.pk in shown]
    for fund, year in pairs:
        summary = savings_summary(fund, year, month=shown[fund.pk].period_number)
        if summary.schemes:
            dash.savings.append(
                FundSavings(
                    fund_code=fund.code,
                    schemes=len(summary.schemes),
                    planned_year=summary.planned_year,
                    planned_to_date=summary.planned_to_date,
                    delivered_to_date=summary.delivered_to_date,
                    at_risk=summary.at_risk,
                    red=summary.red,
                    amber=summary.amber,
                )
            )
    dash.overdue = [
        Overdue(o.fund_code, o.partner, o.due_date, o.outstanding)
        for o in overdue_instalments(pairs)
    ]


def _summary(ctx: ReportingContext, head: Headline) -> FundSummary:
    fund = ctx.fund
    number = ctx.period.number if ctx.started and ctx.period is not None else 0
    return FundSummary(
        fund.pk, fund.code, fund.name, ctx.year.code, number, head, ctx.period_code, ctx.state
    )


def _period_label(funds: list[FundSummary]) -> str:
    """The month every fund shows, or each fund's when they differ."""
    labels = {_summary_label(f) for f in funds}
    if len(labels) == 1:
        return labels.pop()
    return "; ".join(f"{f.code}: {_summary_label(f)}" for f in funds)


def _summary_label(summary: FundSummary) -> str:
    if not summary.started:
        return f"{summary.year}: not started"
    return f"{summary.period_code} ({summary.state})"


def _service_area_label(row: Any) -> str:
    area = row.line.service_area
    top = area.parent if area.parent_id else area
    return str(top.name)


def _locality_label(row: Any) -> str:
    return str(row.line.locality.name) if row.line.locality_id else "Greater Manchester-wide"


def _group(rows: list[tuple[Any, Any]], key: Any) -> list[tuple[str, Decimal]]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for _, row in rows:
        totals[key(row)] += row.forecast_variance
    return sorted(totals.items(), key=lambda kv: kv[0])


def _movements(rows: list[tuple[Any, Any]], before_by_line: dict[int, Decimal]) -> list[Movement]:
    """The ten largest movements in forecast variance: since the month the previous meeting
    reviewed for lines of funds that have one, else the engine's month-on-month movement."""
    moves: list[Movement] = []
    for fund, row in rows:
        if row.line_id in before_by_line:
            before = before_by_line[row.line_id]
            change = row.forecast_variance - before
        else:
            change = row.movement
            before = row.forecast_variance - change
        if change:
            moves.append(
                Movement(
                    row.line.code, row.line.name, fund.code, before, row.forecast_variance, change
                )
            )
    moves.sort(key=lambda m: (-abs(m.movement), m.fund_code, m.line_code))
    return moves[:10]


def _movements_label(since: Meeting | None, previous: set[int | None]) -> str:
    months = sorted(p for p in previous if p is not None)
    if since is None or not months:
        return "in the latest month"
    figures = ", ".join(f"M{p:02d}" for p in months)
    return f"since the last meeting ({since.date:%-d %B %Y}, figures for {figures})"


RED_LINES_SHOWN = 20


def _red_lines(rows: list[tuple[Any, Any]]) -> tuple[list[RedLine], int]:
    """The red lines with the largest forecast variances (at most 20) and how many more there are."""
    reds = [(fund, row) for fund, row in rows if row.rag == Rag.RED]
    reds.sort(key=lambda fr: (-abs(fr[1].forecast_variance), fr[0].code, fr[1].line.code))
    hidden = max(len(reds) - RED_LINES_SHOWN, 0)
    reds = reds[:RED_LINES_SHOWN]
    period_of = {r.line_id: r.period_number for _, r in reds}
    commentary: dict[int, str] = {}
    if reds:
        for f in (
            Forecast.objects.filter(line_id__in=list(period_of))
            .exclude(commentary="")
            .select_related("period")
            .order_by("line_id", "period__year__start_date", "period__number")
        ):
            if f.period.number <= period_of[f.line_id]:
                commentary[f.line_id] = f.commentary
    out = [
        RedLine(
            row.line.code,
            row.line.name,
            fund.code,
            row.current_budget,
            row.forecast_variance,
            row.forecast_variance_pct,
            commentary.get(row.line_id, ""),
        )
        for fund, row in reds
    ]
    return out, hidden
