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

from django.db import connection
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


@dataclass(frozen=True)
class _Month:
    period: Period
    closed: bool  # closed for the fund
    posted: bool  # the fund has postings in it


@dataclass(frozen=True)
class _FundCalendar:
    """Everything the rule reads about a fund, from one statement: its budget years with their
    status and, for each, the twelve months with whether each is closed and has postings."""

    years: list[YearChoice]
    months: dict[int, list[_Month]]  # by year id, M1..M12 in order

    def reporting_month(self, year: FinancialYear, on: dt.date) -> tuple[int | None, bool]:
        """(month number, closed) the year reports by default on `on`, or (None, False) when it
        has not started: its latest closed month that ended before `on`, else its latest ended
        month with postings."""
        ended = [m for m in self.months.get(year.pk, []) if m.period.end_date < on]
        closed = [m.period.number for m in ended if m.closed]
        if closed:
            return max(closed), True
        posted = [m.period.number for m in ended if m.posted]
        return (max(posted) if posted else None), False

    def closed_months(self, year: FinancialYear) -> frozenset[int]:
        return frozenset(m.period.number for m in self.months.get(year.pk, []) if m.closed)


def _calendar(fund: PooledFund) -> _FundCalendar:
    """One plain SQL statement (the pages ask on every request; built through the ORM, the four
    queries it replaces cost more to compile than to run). The years are those the fund has a
    budget for or, before any budget row, those it has lines in (as draft)."""
    budget, line = FundBudget._meta.db_table, BudgetLine._meta.db_table
    year, month = FinancialYear._meta.db_table, Period._meta.db_table
    status, posting = FundPeriod._meta.db_table, SpendPosting._meta.db_table
    sql = f"""
        WITH fund_years AS (
          SELECT year_id, status FROM {budget} WHERE fund_id = %(fund)s
          UNION ALL
          SELECT DISTINCT year_id, %(draft)s FROM {line}
          WHERE fund_id = %(fund)s
            AND NOT EXISTS (SELECT 1 FROM {budget} WHERE fund_id = %(fund)s)
        )
        SELECT y.id, y.code, y.start_date, y.end_date, fy.status,
          p.id, p.number, p.start_date, p.end_date,
          COALESCE(s.status = %(closed)s, FALSE),
          EXISTS (SELECT 1 FROM {posting} sp WHERE sp.fund_id = %(fund)s AND sp.period_id = p.id)
        FROM fund_years fy
        JOIN {year} y ON y.id = fy.year_id
        JOIN {month} p ON p.year_id = y.id AND p.number <= 12
        LEFT JOIN {status} s ON s.fund_id = %(fund)s AND s.period_id = p.id
        ORDER BY y.start_date, p.number
    """  # noqa: S608 (table names from the models; values are parameters)
    params: dict[str, int | str] = {
        "fund": fund.pk,
        "draft": FundBudget.Status.DRAFT.value,
        "closed": FundPeriod.Status.CLOSED.value,
    }
    years: dict[int, YearChoice] = {}
    months: dict[int, list[_Month]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for (
            y_id,
            code,
            y_start,
            y_end,
            budget_status,
            p_id,
            number,
            start,
            end,
            closed,
            posted,
        ) in cursor.fetchall():
            if y_id not in years:
                fy = FinancialYear(id=y_id, code=code, start_date=y_start, end_date=y_end)
                years[y_id] = YearChoice(fy, budget_status)
            period = Period(id=p_id, year_id=y_id, number=number, start_date=start, end_date=end)
            period.year = years[y_id].year  # no query for period.code
            months.setdefault(y_id, []).append(_Month(period, bool(closed), bool(posted)))
    return _FundCalendar(list(years.values()), months)


def fund_years(fund: PooledFund) -> list[YearChoice]:
    """The years the fund has a budget for (or, before any budget row, lines in), oldest first."""
    return _calendar(fund).years


def _default_year(calendar: _FundCalendar, on: dt.date) -> tuple[YearChoice, int | None, bool]:
    years = calendar.years
    approved = [c for c in years if c.budget_status == FundBudget.Status.APPROVED]
    begun = [c for c in approved if c.year.start_date <= on]
    for choice in reversed(begun):
        number, is_closed = calendar.reporting_month(choice.year, on)
        if number is not None:
            return choice, number, is_closed
    # Nothing approved has started: the latest approved year, else (a new fund) its latest year.
    choice = (begun or approved or years)[-1]
    number, is_closed = calendar.reporting_month(choice.year, on)
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

    One query; the switcher reuses what it read.
    """
    on = on or timezone.localdate()
    calendar = _calendar(fund)
    if not calendar.years:
        raise NoBudgetYear(f"{fund.code} has no budget yet.")
    by_code = {c.year.code: c for c in calendar.years}
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
    chosen = by_code.get(year_code)
    if chosen is None:
        chosen, number, is_closed = _default_year(calendar, on)
        period_number = 0
    else:
        number, is_closed = calendar.reporting_month(chosen.year, on)
    started = number is not None
    closed_months = calendar.closed_months(chosen.year)
    if period_number and period_year == chosen.year.code:
        number = period_number
        is_closed = number in closed_months
    months = tuple(m.period for m in calendar.months.get(chosen.year.pk, []))
    return ReportingContext(
        fund=fund,
        year=chosen.year,
        period=next((m for m in months if m.number == number), None),
        closed=is_closed,
        started=started,
        budget_status=chosen.budget_status,
        on=on,
        years=tuple(calendar.years),
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
    return _calendar(fund).reporting_month(year, on)[0] is not None


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
    calendar = _calendar(fund)
    for choice in calendar.years:
        if choice.budget_status != FundBudget.Status.APPROVED:
            continue
        months = calendar.months.get(choice.year.pk, [])
        if any(m.period.end_date < on and not m.closed for m in months):
            return choice.year
    return None
