"""The board's finance dashboard, read only from the recompute engine's snapshots.

Figures come from FundPosition and LineVariance (budgets.figure_selectors.variance_rows) and partner
shares from RiskShareAllocation; raw postings are never read here. `Dashboard.to_json()` freezes
the figures for a board pack; `Dashboard.from_json()` restores them so the pack prints exactly what
was frozen.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.utils import timezone

from boards.models import Board, Meeting
from budgets.models import FinancialYear
from budgets.planning.year_selectors import overdue_instalments, savings_summary
from gmhsc.money import ZERO

MONTHS = ["Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "M13"]


def _model(name: str) -> Any:
    try:
        return apps.get_model("budgets", name)
    except LookupError:
        return None


@dataclass
class Headline:
    current_budget: Decimal = ZERO
    ytd_actual: Decimal = ZERO
    forecast_outturn: Decimal = ZERO
    forecast_variance: Decimal = ZERO
    red: int = 0
    amber: int = 0
    green: int = 0

    def add(self, other: Any) -> None:
        self.current_budget += other.current_budget
        self.ytd_actual += other.ytd_actual
        self.forecast_outturn += other.forecast_outturn
        self.forecast_variance += other.forecast_variance
        self.red += _count(other, "red")
        self.amber += _count(other, "amber")
        self.green += _count(other, "green")


def _count(obj: Any, colour: str) -> int:
    for name in (colour, f"{colour}_count", f"rag_{colour}"):
        value = getattr(obj, name, None)
        if isinstance(value, int):
            return value
    return 0


@dataclass
class FundSummary:
    fund_id: int
    code: str
    name: str
    year: str
    period_number: int
    headline: Headline


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
        )


def reporting_period_at(day: dt.date) -> int:
    """The month a board reviews on `day`: the last complete month (April = 1)."""
    current = (day.month - 4) % 12 + 1
    return max(current - 1, 1)


def _latest_position(fund_id: int) -> Any:
    position = _model("FundPosition")
    if position is None:
        return None
    return (
        position.objects.filter(fund_id=fund_id)
        .select_related("year")
        .order_by("-year__start_date", "-period_number")
        .first()
    )


def _variance_rows(fund: Any, year_id: int, period_number: int) -> list[Any]:
    from budgets import selectors as budget_selectors

    selector = getattr(budget_selectors, "variance_rows", None)
    if selector is not None:
        qs = selector(fund, period_number)
    else:
        qs = (
            _model("LineVariance")
            .objects.filter(fund=fund, period_number=period_number)
            .select_related("line__service_area__parent", "line__locality")
        )
    return list(qs.filter(year_id=year_id))


def build_dashboard(board: Board, *, since: Meeting | None = None) -> Dashboard:
    """Headline figures, charts' data, movements and red lines for the funds the board oversees."""
    dash = Dashboard(board_code=board.code, board_name=board.name)
    position_model = _model("FundPosition")
    if position_model is None:
        return dash
    funds = list(board.funds.order_by("code"))
    rows_all: list[tuple[Any, Any]] = []
    as_at: list[dt.datetime] = []
    trend: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    risk: dict[str, Decimal] = defaultdict(lambda: ZERO)
    labels: list[str] = []
    prev_period = reporting_period_at(since.date) if since is not None else None
    before_by_line: dict[int, Decimal] = {}
    for fund in funds:
        pos = _latest_position(fund.pk)
        if pos is None:
            continue
        head = Headline()
        head.add(pos)
        dash.funds.append(
            FundSummary(fund.pk, fund.code, fund.name, pos.year.code, pos.period_number, head)
        )
        dash.total.add(pos)
        labels.append(f"{MONTHS[pos.period_number - 1]} {pos.year.code} (M{pos.period_number:02d})")
        if pos.computed_at:
            as_at.append(pos.computed_at)
        for p in position_model.objects.filter(
            fund=fund, year=pos.year, period_number__lte=pos.period_number
        ).order_by("period_number"):
            trend[p.period_number][0] += p.forecast_outturn
            trend[p.period_number][1] += p.current_budget
        rows = _variance_rows(fund, pos.year_id, pos.period_number)
        rows_all.extend((fund, r) for r in rows)
        if prev_period is not None and prev_period < pos.period_number:
            before_by_line.update(
                _model("LineVariance")
                .objects.filter(fund=fund, year=pos.year, period_number=prev_period)
                .values_list("line_id", "forecast_variance")
            )
        allocation = _model("RiskShareAllocation")
        if allocation is not None:
            for a in allocation.objects.filter(
                fund=fund, year=pos.year, period_number=pos.period_number, basis="forecast"
            ).select_related("partner"):
                risk[a.partner.short_name or a.partner.name] += a.amount
    dash.period_label = ", ".join(sorted(set(labels)))
    dash.as_at = min(as_at) if as_at else None
    dash.pending = _pending(funds)
    _apply_freshness(dash, [f for f in funds if any(s.fund_id == f.pk for s in dash.funds)])
    dash.by_service_area = _group(rows_all, _service_area_label)
    dash.by_locality = _group(rows_all, _locality_label)
    dash.trend = [(MONTHS[n - 1], v[0], v[1]) for n, v in sorted(trend.items())]
    dash.risk_share = sorted(risk.items(), key=lambda kv: kv[0])
    dash.movements, dash.movements_since = _movements(rows_all, before_by_line, since, prev_period)
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


def _apply_freshness(dash: Dashboard, funds: list[Any]) -> None:
    """Prefer the engine's own freshness (budgets.freshness) when it is there."""
    try:
        from budgets.freshness import fund_freshness  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    times, pending = [], 0
    for fund in funds:
        fresh = fund_freshness(fund)
        if fresh.computed_at is not None:
            times.append(fresh.computed_at)
        pending += fresh.pending
    if times:
        dash.as_at = min(times)
    dash.pending = pending


def _pending(funds: Iterable[Any]) -> int:
    mark = _model("StaleMark")
    if mark is None:
        return 0
    ids = [f.pk for f in funds]
    qs = mark.objects.filter(fund_id__in=ids)
    if "processed_at" in {f.name for f in mark._meta.get_fields()}:
        qs = qs.filter(processed_at__isnull=True)
    return qs.count()


def _service_area_label(row: Any) -> str:
    area = row.line.service_area
    top = area.parent if area.parent_id else area
    return top.name


def _locality_label(row: Any) -> str:
    return row.line.locality.name if row.line.locality_id else "Greater Manchester-wide"


def _group(rows: list[tuple[Any, Any]], key: Any) -> list[tuple[str, Decimal]]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for _, row in rows:
        totals[key(row)] += row.forecast_variance
    return sorted(totals.items(), key=lambda kv: kv[0])


def _movements(
    rows: list[tuple[Any, Any]],
    before_by_line: dict[int, Decimal],
    since: Meeting | None,
    prev_period: int | None,
) -> tuple[list[Movement], str]:
    moves: list[Movement] = []
    for fund, row in rows:
        if before_by_line:
            before = before_by_line.get(row.line_id, ZERO)
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
    if before_by_line and since is not None and prev_period is not None:
        label = f"since the last meeting ({since.date:%-d %B %Y}, figures for M{prev_period:02d})"
    else:
        label = "in the latest month"
    return moves[:10], label


RED_LINES_SHOWN = 20


def _red_lines(rows: list[tuple[Any, Any]]) -> tuple[list[RedLine], int]:
    """The red lines with the largest forecast variances (at most 20) and how many more there are."""
    forecast = _model("Forecast")
    reds = [(fund, row) for fund, row in rows if row.rag == "red"]
    reds.sort(key=lambda fr: (-abs(fr[1].forecast_variance), fr[0].code, fr[1].line.code))
    hidden = max(len(reds) - RED_LINES_SHOWN, 0)
    reds = reds[:RED_LINES_SHOWN]
    period_of = {r.line_id: r.period_number for _, r in reds}
    commentary: dict[int, str] = {}
    if reds and forecast is not None:
        for f in (
            forecast.objects.filter(line_id__in=[r.line_id for _, r in reds])
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


def figures_as_at_text(dash: Dashboard) -> str:
    if dash.as_at is None:
        return "No figures have been calculated yet"
    local = timezone.localtime(dash.as_at)
    return f"Figures as at {local:%H:%M} on {local:%-d %B %Y}"
