"""The reporting context: the one answer to "which fund, year and month am I looking at".

Every page, export, API answer, dashboard and board pack that shows figures works in one
`ReportingContext` (fund, financial year, period), chosen by `reporting_context` and nowhere
else. The default rule (README, "Which year and month you see"):

- the year is the latest year of the fund whose budget is approved and which has started; a
  draft (or submitted) year only when asked for, or when the fund has no approved year at all;
- the month is the latest closed month of that year or, before any close, the latest month that
  has ended and has postings, shown as "not yet closed";
- a year has *started* when it has such a month. A year that has not started has no month to
  report: pages show its budget but no RAG and no percentages ("not started").

Everything is judged on a day (`on`, default today): a board's dashboard and pack use the day of
the meeting. Only months that ended before that day count; a close counts whenever it was made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef
from django.utils import timezone

from budgets.models import (
    BudgetLine,
    FinancialYear,
    FundBudget,
    FundPeriod,
    Period,
    PooledFund,
    SpendPosting,
)
from budgets.models.reference import PERIOD_CODE
from gmhsc.errors import NotFound

#: The query parameters that carry the context from page to page.
YEAR_PARAM = "year"
PERIOD_PARAM = "period"
CONTEXT_PARAMS = (YEAR_PARAM, PERIOD_PARAM)


class NoBudgetYear(NotFound):
    """The fund has no budget for any year yet, so there is nothing to report."""

    code = "no_budget_year"


@dataclass(frozen=True)
class ReportingContext:
    """Fund, year and month a page, export or pack shows, and what state that month is in."""

    fund: PooledFund
    year: FinancialYear
    #: The month shown; None when the year has not started (nothing to report yet).
    period: Period | None
    #: The month is closed for the fund (its figures are frozen).
    closed: bool
    #: The year has a month to report (see the module docstring); False: no RAG, no percentages.
    started: bool
    budget_status: str
    on: dt.date
    #: What choosing the context read, kept for the switcher: the fund's budget years, the
    #: year's twelve months, and which of them are closed for the fund.
    years: tuple[YearChoice, ...] = field(default=(), compare=False, repr=False)
    months: tuple[Period, ...] = field(default=(), compare=False, repr=False)
    closed_months: frozenset[int] = field(default=frozenset(), compare=False, repr=False)

    @property
    def period_number(self) -> int | None:
        return self.period.number if self.period is not None else None

    @property
    def period_code(self) -> str:
        return self.period.code if self.period is not None else ""

    @property
    def month_name(self) -> str:
        """'August 2016', or '' before the year has started."""
        if self.period is None:
            return ""
        return f"{self.period.start_date:%B %Y}"

    @property
    def state(self) -> str:
        """'closed', 'not yet closed' or 'not started'."""
        if not self.started or self.period is None:
            return "not started"
        return "closed" if self.closed else "not yet closed"

    @property
    def label(self) -> str:
        """'2016/17-M05 (August 2016), closed', or '2017/18: not started'."""
        if self.period is None:
            return f"{self.year.code}: not started"
        return f"{self.period.code} ({self.month_name}), {self.state}"

    @property
    def is_draft(self) -> bool:
        return self.budget_status != FundBudget.Status.APPROVED

    @property
    def params(self) -> dict[str, str]:
        """The query parameters that name this context exactly."""
        params = {YEAR_PARAM: self.year.code}
        if self.period is not None:
            params[PERIOD_PARAM] = self.period.code
        return params

    @property
    def query(self) -> str:
        """'year=2016%2F17&period=2016%2F17-M05': add to every link that should keep it."""
        return urlencode(self.params)

    @property
    def fund_query(self) -> str:
        """The context with the fund's code, as the variance report's address takes it."""
        return urlencode({"fund": self.fund.code, **self.params})

    def query_with(self, **extra: Any) -> str:
        """This context's query plus other parameters (empty values are left out)."""
        return urlencode({**self.params, **{k: v for k, v in extra.items() if v not in ("", None)}})


@dataclass(frozen=True)
class YearChoice:
    year: FinancialYear
    budget_status: str

    @property
    def label(self) -> str:
        status = FundBudget.Status(self.budget_status).label.lower()
        return f"{self.year.code} (budget {status})"


@dataclass(frozen=True)
class MonthChoice:
    period: Period
    closed: bool
    ended: bool

    @property
    def state(self) -> str:
        if self.closed:
            return "closed"
        return "not yet closed" if self.ended else "not ended"

    @property
    def label(self) -> str:
        return f"M{self.period.number:02d} {self.period.start_date:%B %Y} ({self.state})"


# ---- reads ------------------------------------------------------------------------------------


def fund_years(fund: PooledFund) -> list[YearChoice]:
    """The years the fund has a budget for (or, before any budget row, lines in), oldest first."""
    budgets = list(
        FundBudget.objects.filter(fund=fund).select_related("year").order_by("year__start_date")
    )
    if budgets:
        return [YearChoice(b.year, b.status) for b in budgets]
    years = FinancialYear.objects.filter(
        pk__in=BudgetLine.objects.filter(fund=fund).values("year_id")
    ).order_by("start_date")
    return [YearChoice(y, FundBudget.Status.DRAFT) for y in years]


def _closes(fund: PooledFund) -> dict[int, list[tuple[int, dt.date]]]:
    """{year id: [(month number, month end)]} of the fund's closed months (M1..M12)."""
    closes: dict[int, list[tuple[int, dt.date]]] = {}
    rows = FundPeriod.objects.filter(
        fund=fund, status=FundPeriod.Status.CLOSED, period__number__lte=12
    ).values_list("period__year_id", "period__number", "period__end_date")
    for year_id, number, end in rows:
        closes.setdefault(year_id, []).append((number, end))
    return closes


def _latest_posted(fund: PooledFund, year: FinancialYear, on: dt.date) -> int | None:
    """The latest month of `year` that ended before `on` and has postings in the fund."""
    posted = SpendPosting.objects.filter(fund=fund, period=OuterRef("pk"))
    return (
        Period.objects.filter(year=year, number__lte=12, end_date__lt=on)
        .filter(Exists(posted))
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )


def _reporting_month(
    fund: PooledFund,
    year: FinancialYear,
    closes: dict[int, list[tuple[int, dt.date]]],
    on: dt.date,
) -> tuple[int | None, bool]:
    """(month number, closed) the year reports by default, or (None, False) if not started: the
    latest closed month that ended before `on`, else the latest ended month with postings."""
    ended = [number for number, end in closes.get(year.pk, []) if end < on]
    if ended:
        return max(ended), True
    return _latest_posted(fund, year, on), False


def _default_year(
    fund: PooledFund,
    years: list[YearChoice],
    closes: dict[int, list[tuple[int, dt.date]]],
    on: dt.date,
) -> tuple[YearChoice, int | None, bool]:
    approved = [c for c in years if c.budget_status == FundBudget.Status.APPROVED]
    begun = [c for c in approved if c.year.start_date <= on]
    for choice in reversed(begun):
        number, is_closed = _reporting_month(fund, choice.year, closes, on)
        if number is not None:
            return choice, number, is_closed
    # Nothing approved has started: the latest approved year, else (a new fund) its latest year.
    choice = (begun or approved or years)[-1]
    number, is_closed = _reporting_month(fund, choice.year, closes, on)
    return choice, number, is_closed


def reporting_context(
    fund: PooledFund,
    *,
    year: str | FinancialYear | None = None,
    period: str | Period | None = None,
    on: dt.date | None = None,
) -> ReportingContext:
    """The context a page shows: the year and month asked for, else the default rule.

    `year`: a year code or FinancialYear the fund has a budget for (otherwise ignored: the default
    applies and the page's heading says which year it shows). `period`: a period code such as
    '2016/17-M05' or a Period (M1..M12) of that year; asked for without a year, it chooses its
    year too; a period of another year than the one asked for is ignored (a year switcher that
    still carries the old month). `on`: the day judged (default today; a meeting's date).

    Three or four small queries (budget years, closes, the year's months, and postings only
    before a year's first close); the switcher reuses what they read.
    """
    on = on or timezone.localdate()
    years = fund_years(fund)
    if not years:
        raise NoBudgetYear(f"{fund.code} has no budget yet.")
    by_code = {c.year.code: c for c in years}
    year_code = year.code if isinstance(year, FinancialYear) else (year or "").strip()
    if isinstance(period, Period):
        period_year, period_number = period.year.code, period.number
    else:
        match = PERIOD_CODE.match((period or "").strip())
        period_year = match["year"] if match else ""
        period_number = int(match["number"]) if match else 0
    if not 1 <= period_number <= 12 or (year_code and period_year != year_code):
        period_year, period_number = "", 0
    year_code = year_code or period_year
    closes = _closes(fund)
    chosen = by_code.get(year_code)
    if chosen is None:
        chosen, number, is_closed = _default_year(fund, years, closes, on)
        period_number = 0
    else:
        number, is_closed = _reporting_month(fund, chosen.year, closes, on)
    started = number is not None
    closed_months = frozenset(n for n, _ in closes.get(chosen.year.pk, []))
    if period_number and period_year == chosen.year.code:
        number = period_number
        is_closed = number in closed_months
    months = tuple(Period.objects.filter(year=chosen.year, number__lte=12).order_by("number"))
    for month in months:
        month.year = chosen.year  # already loaded: no query for month.code
    return ReportingContext(
        fund=fund,
        year=chosen.year,
        period=next((m for m in months if m.number == number), None),
        closed=is_closed,
        started=started,
        budget_status=chosen.budget_status,
        on=on,
        years=tuple(years),
        months=months,
        closed_months=closed_months,
    )


def context_from_query(
    fund: PooledFund, query: Mapping[str, Any], *, on: dt.date | None = None
) -> ReportingContext:
    """The context named by a request's `year` and `period` parameters (either may be absent)."""
    return reporting_context(
        fund, year=query.get(YEAR_PARAM) or None, period=query.get(PERIOD_PARAM) or None, on=on
    )


def year_started(fund: PooledFund, year: FinancialYear, *, on: dt.date | None = None) -> bool:
    """Whether `year` has a month to report for the fund (see the module docstring)."""
    on = on or timezone.localdate()
    return _reporting_month(fund, year, _closes(fund), on)[0] is not None


def month_choices(context: ReportingContext) -> list[MonthChoice]:
    """M1..M12 of the context's year with each month's state, for the month switcher."""
    return [
        MonthChoice(m, m.number in context.closed_months, m.end_date < context.on)
        for m in context.months
    ]


def year_due_for_close(fund: PooledFund, *, on: dt.date | None = None) -> FinancialYear | None:
    """The year whose next month is due to close: the earliest approved year with a month that
    has ended and is still open (the month-end close page opens on it)."""
    on = on or timezone.localdate()
    closes = _closes(fund)
    for choice in fund_years(fund):
        if choice.budget_status != FundBudget.Status.APPROVED:
            continue
        ended = Period.objects.filter(year=choice.year, number__lte=12, end_date__lt=on)
        closed = {n for n, _ in closes.get(choice.year.pk, [])}
        if set(ended.values_list("number", flat=True)) - closed:
            return choice.year
    return None
