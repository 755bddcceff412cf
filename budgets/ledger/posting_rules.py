"""The posting rules: one statement of what makes a spend row postable, however it arrives (an
API batch, the browser, a ledger file through either import engine).

Every row is first *resolved*: its values trimmed and read (document, line number, date, amount,
...), its year and period found, its budget line found (by id, by line code or through the ledger
mappings). Each rule in ROW_RULES is then a condition over the resolved row, written twice side by
side over the same column names: as SQL for the COPY engine (budgets.ledger.imports.sql_engine,
which resolves a million rows in one statement) and as Python for RowChecker (the API, the
browser, the Python import engine and the demo). A rule is changed in one place, in both
languages at once; tests/budgets/test_posting_rules.py holds a case for every rule (a test fails
if a rule has none) and, on PostgreSQL, runs every case through both engines and compares the
accepted rows, the messages and the totals.

How a file writes dates and amounts (its *dialect*: the plain gmhsc CSV, or an import profile's
formats) is data too: DATE_FORMATS and the ledger amount pattern are read by both engines.

Rules for every row: the document number and a line number of 1 or more; a posting date inside the
budget line's financial year; an amount in pounds and pence; a budget line in a fund the posting
organisation hosts or contributes to; the period (given, or the month of the posting date) open
for the line's fund; no (document, line) twice in one batch. A row whose (organisation, document,
line) is already posted is skipped and counted as already posted - a re-sent batch never doubles
spend - and is not refused because its period has since closed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from django.db.models import Q

from budgets.models import BudgetLine, FinancialYear, FundPeriod, Period, PooledFund, SpendPosting
from localities.models import Organisation

# ---- the one set of messages ----------------------------------------------------------------------

MESSAGES: dict[str, str] = {
    "required": "is required",
    "too_long": "is longer than {limit} characters",
    "line_number": "'{value}' is not a whole number of 1 or more",
    "date": "'{value}' is not a date (use {formats})",
    "amount_empty": "is empty",
    "amount_nan": "'{value}' is not a number{hint}",
    "amount_places": "'{value}' has more than 2 decimal places",
    "amount_large": "'{value}' is too large",
    "amount_both": "has a debit of '{debit}' and a credit of '{credit}'; a row has one or the other",
    "accrual": "'{value}' is not yes or no",
    "org_unknown": "unknown organisation '{value}'",
    "org_other": "is {value}; this file is for {expected}",
    "no_year": "{value} is not in a financial year that is set up",
    "outside_year": "{value} is outside {year} ({start} to {end})",
    "period_unknown": "'{value}' is not a known period (like 2016/17-M06)",
    "period_closed": "period {period} is closed for fund {fund}",
    "line_unknown": "unknown budget line '{value}'",
    "line_ambiguous": "budget line '{value}' is in more than one fund; ask for a ledger mapping",
    "line_not_partner": "budget line {value} is in fund {fund}, which {organisation} is not a partner of",
    "no_mapping": "no ledger mapping for cost centre '{cost_centre}' and expense code "
    "'{expense_code}' in {year}",
    "duplicate": "document {document} line {line} is already on row {row}",
    "columns": "has {found} columns; expected {expected}",
}

LIMITS = {
    "document_number": 40,
    "supplier": 200,
    "description": 500,
    "cost_centre": 30,
    "expense_code": 30,
}
AMOUNT_PATTERN = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)"
AMOUNT_RE = re.compile(AMOUNT_PATTERN)
LINE_NUMBER_RE = re.compile(r"[0-9]{1,9}")
# Blanks trimmed around values, the same in Python and in the import's SQL (btrim).
STRIP = " \t\r\n"
TRUE_WORDS = ("1", "true", "yes", "y", "t")
FALSE_WORDS = ("", "0", "false", "no", "n", "f")
MAX_AMOUNT_TEXT = 60
DATE_YEARS = (1900, 2199)  # dates outside these years are "not a date" (both import engines)
LARGEST_AMOUNT = Decimal(10) ** 16  # 18 digits with the pence, as the database column holds


def message(key: str, **values: Any) -> str:
    return MESSAGES[key].format(**values)


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


# ---- dialects: how a file writes dates and amounts ---------------------------------------------------

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (its serial 60 is the 29 February 1900 it invents)


@dataclass(frozen=True)
class DateFormat:
    """One way of writing a date. `pattern` (Python) and `sql` (PostgreSQL to_char templates, one
    per spelling it accepts) describe the same set of texts: the COPY engine joins the text to a
    table of every day written each `sql` way; RowChecker matches `pattern`."""

    key: str
    label: str
    pattern: str  # groups in `order`
    order: str  # "ymd", "dmy", "mdy", "dMy" (month name), "n" (Excel serial)
    sql: tuple[str, ...] = ()
    two_digit_year: bool = False  # YY: 50-99 are 1950-1999, 00-49 are 2000-2049
    lower: bool = False  # compared in lower case (month names)

    def parse(self, text: str) -> date | None:
        match = re.fullmatch(self.pattern, text.lower() if self.lower else text)
        if match is None:
            return None
        if self.order == "n":
            day = EXCEL_EPOCH + timedelta(days=int(match[1]))
            return day if DATE_YEARS[0] <= day.year <= DATE_YEARS[1] else None
        parts = dict(zip(self.order, match.groups(), strict=True))
        if "M" in parts and parts["M"] not in MONTHS:
            return None
        month = MONTHS.index(parts["M"]) + 1 if "M" in parts else int(parts["m"])
        year = int(parts["y"])
        if self.two_digit_year:
            year += 2000 if year < 50 else 1900
        if not DATE_YEARS[0] <= year <= DATE_YEARS[1]:
            return None
        try:
            return date(year, month, int(parts["d"]))
        except ValueError:
            return None

    def write(self, day: date) -> str:
        """The date as this format writes it (for spreadsheet cells that hold real dates)."""
        if self.order == "n":
            return str((day - EXCEL_EPOCH).days)
        month = MONTHS[day.month - 1].title()
        return {
            "YYYY-MM-DD": f"{day:%Y-%m-%d}",
            "DD/MM/YYYY": f"{day:%d/%m/%Y}",
            "DD.MM.YYYY": f"{day:%d.%m.%Y}",
            "M/D/YYYY": f"{day.month}/{day.day}/{day.year}",
            "DD-Mon-YY": f"{day.day:02d}-{month}-{day.year % 100:02d}",
            "DD-Mon-YYYY": f"{day.day:02d}-{month}-{day.year}",
            "ISO": f"{day:%Y-%m-%d}",
            "UK": f"{day:%d/%m/%Y}",
        }[self.key]


_D, _M = "([0-9]{1,2})", "([a-z]{3})"
DATE_FORMATS: dict[str, DateFormat] = {
    f.key: f
    for f in (
        # The plain gmhsc CSV: exactly these two, with leading zeros.
        DateFormat("ISO", "YYYY-MM-DD", r"([0-9]{4})-([0-9]{2})-([0-9]{2})", "ymd", ("YYYY-MM-DD",)),
        DateFormat("UK", "DD/MM/YYYY", r"([0-9]{2})/([0-9]{2})/([0-9]{4})", "dmy", ("DD/MM/YYYY",)),
        # Import profiles: day and month with or without a leading zero.
        DateFormat("YYYY-MM-DD", "YYYY-MM-DD", r"([0-9]{4})-([0-9]{2})-([0-9]{2})", "ymd",
                   ("YYYY-MM-DD",)),
        DateFormat("DD/MM/YYYY", "DD/MM/YYYY", rf"{_D}/{_D}/([0-9]{{4}})", "dmy",
                   ("DD/MM/YYYY", "FMDD/FMMM/YYYY", "FMDD/MM/YYYY", "DD/FMMM/YYYY")),
        DateFormat("DD.MM.YYYY", "DD.MM.YYYY", rf"{_D}[.]{_D}[.]([0-9]{{4}})", "dmy",
                   ("DD.MM.YYYY", "FMDD.FMMM.YYYY", "FMDD.MM.YYYY", "DD.FMMM.YYYY")),
        DateFormat("M/D/YYYY", "M/D/YYYY", rf"{_D}/{_D}/([0-9]{{4}})", "mdy",
                   ("MM/DD/YYYY", "FMMM/FMDD/YYYY", "FMMM/DD/YYYY", "MM/FMDD/YYYY")),
        DateFormat("DD-Mon-YY", "DD-Mon-YY", rf"{_D}-{_M}-([0-9]{{2}})", "dMy",
                   ("DD-Mon-YY", "FMDD-Mon-YY"), two_digit_year=True, lower=True),
        DateFormat("DD-Mon-YYYY", "DD-Mon-YYYY", rf"{_D}-{_M}-([0-9]{{4}})", "dMy",
                   ("DD-Mon-YYYY", "FMDD-Mon-YYYY"), lower=True),
        DateFormat("Excel", "an Excel date number like 42643", r"([1-9][0-9]{0,5})", "n"),
    )
}  # fmt: skip
PROFILE_DATE_FORMATS = [k for k in DATE_FORMATS if k not in ("ISO", "UK")]

# Ledger amounts: a pound sign, thousands commas, and a negative written -12.00, (12.00) or
# 12.00-. Groups: 1 "(", 2 sign, 3 "-" after the pound sign, 4 the number, 5 trailing "-", 6 ")".
# The same pattern is matched by Python (re) and PostgreSQL (~ and regexp_match).
LEDGER_AMOUNT_PATTERN = (
    r"(\()?([-+])?(?:£ ?)?(-)?"
    r"([0-9]{1,3}(?:,[0-9]{3})+(?:[.][0-9]*)?|[0-9]+(?:[.][0-9]*)?|[.][0-9]+)(-)?(\))?"
)
_LEDGER_AMOUNT_RE = re.compile(LEDGER_AMOUNT_PATTERN)
ZERO_AMOUNT_PATTERN = r"[-+]?0*[.]?0*"
NOT_AMOUNTS = ("", "-", "+", ".")
LEDGER_AMOUNT_HINT = " (write amounts like 1234.56, £1,234.56, (1,234.56) or 1,234.56-)"


def clean_ledger_amount(text: str) -> str:
    """'£1,234.56' -> '1234.56', '(12.00)' and '12.00-' -> '-12.00'. Anything else is returned as
    it is (and then refused as not a number, quoting what the file holds). A plain number is
    left as it is, so its problems are named in its own words."""
    if AMOUNT_RE.fullmatch(text):
        return text
    match = _LEDGER_AMOUNT_RE.fullmatch(text)
    if match is None:
        return text
    opened, sign, sign2, number, trailing, closed = match.groups()
    marks = sum(1 for part in (opened, sign, sign2, trailing) if part)
    if (opened is None) != (closed is None) or marks > 1:
        return text
    negative = bool(opened or sign == "-" or sign2 or trailing)
    return ("-" if negative else "") + number.replace(",", "")


def negate_amount(text: str) -> str:
    """A credit column's amount as a signed amount; text that is not a plain number as it is."""
    if not AMOUNT_RE.fullmatch(text):
        return text
    if text.startswith("-"):
        return text[1:]
    return "-" + text.lstrip("+")


def is_zero_amount(text: str) -> bool:
    """'0', '0.00', '-0', '.0': a debit or credit column's empty value."""
    return re.fullmatch(ZERO_AMOUNT_PATTERN, text) is not None and text not in NOT_AMOUNTS


@dataclass(frozen=True)
class Dialect:
    """How a file writes dates and amounts. PLAIN is the gmhsc CSV; an import profile gives its
    own date format and ledger amounts (optionally in separate debit and credit columns)."""

    date_formats: tuple[str, ...]
    ledger_amounts: bool = False
    debit_credit: bool = False

    @property
    def date_label(self) -> str:
        return " or ".join(DATE_FORMATS[k].label for k in self.date_formats)

    @property
    def amount_hint(self) -> str:
        return LEDGER_AMOUNT_HINT if self.ledger_amounts else ""

    def parse_date(self, text: str) -> date | None:
        for key in self.date_formats:
            day = DATE_FORMATS[key].parse(text)
            if day is not None:
                return day
        return None

    def amount_text(self, raw: str | None) -> str | None:
        return clean_ledger_amount(raw) if raw is not None and self.ledger_amounts else raw

    def debit_credit_amount(self, debit: str | None, credit: str | None) -> str | None:
        """The row's amount from a debit and a credit column (blank or zero: not given)."""
        d = None if debit is None else clean_ledger_amount(debit)
        c = None if credit is None else clean_ledger_amount(credit)
        if d is not None and c is not None:
            if is_zero_amount(c):
                return d
            if is_zero_amount(d):
                return negate_amount(c)
            return None  # both: refused (amount_both)
        if c is not None:
            return negate_amount(c)
        return d


PLAIN = Dialect(date_formats=("ISO", "UK"))


# ---- the calendar ---------------------------------------------------------------------------------


class Calendar:
    """Years, periods and closed (fund, period) pairs, loaded once per batch."""

    def __init__(self) -> None:
        self.years = list(FinancialYear.objects.order_by("start_date"))
        self.years_by_id = {y.pk: y for y in self.years}
        self.periods: dict[tuple[int, int], Period] = {}
        self.periods_by_code: dict[str, Period] = {}
        self.periods_by_id: dict[int, Period] = {}
        for p in Period.objects.select_related("year"):
            self.periods[(p.year_id, p.number)] = p
            self.periods_by_code[p.code] = p
            self.periods_by_id[p.pk] = p
        self.reload_closed()

    def reload_closed(self) -> None:
        """Read which (fund, period) pairs are closed; call again under the posting lock."""
        self.closed: set[tuple[int, int]] = set(
            FundPeriod.objects.filter(status=FundPeriod.Status.CLOSED).values_list(
                "fund_id", "period_id"
            )
        )

    def year_of(self, day: date) -> FinancialYear | None:
        for year in self.years:
            if year.start_date <= day <= year.end_date:
                return year
        return None

    def month_of(self, year: FinancialYear, day: date) -> Period | None:
        for number in range(1, 13):
            period = self.periods.get((year.pk, number))
            if period is not None and period.start_date <= day <= period.end_date:
                return period
        return None

    def find_period(self, value: Any) -> Period | None:
        if isinstance(value, Period):
            return self.periods_by_id.get(value.pk, value)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.periods_by_id.get(value)
        return self.periods_by_code.get(str(value).strip(STRIP))


def partner_fund_ids(organisation: Organisation) -> set[int]:
    """Funds the organisation hosts or contributes to (it may post spend to their lines)."""
    return set(
        PooledFund.objects.filter(
            Q(host=organisation) | Q(contributions__partner=organisation)
        ).values_list("pk", flat=True)
    )


# ---- a resolved row -------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """Trimmed text; empty is None (as the COPY engine's nullif(btrim(...), ''))."""
    if value is None:
        return None
    text = str(value).strip(STRIP)
    return text or None


@dataclass
class Resolved:
    """One row, read and resolved. The attribute names are the SQL engine's column names."""

    row_no: int
    org_code: str | None = None
    org_id: int | None = None
    doc: str | None = None
    ln_text: str | None = None
    line_no: int | None = None
    date_text: str | None = None
    posting_date: date | None = None
    date_year: FinancialYear | None = None
    date_period: Period | None = None
    amt_text: str | None = None
    amount_raw: Decimal | None = None
    debit_text: str | None = None
    credit_text: str | None = None
    supplier: str | None = None
    description: str = ""
    accrual_text: str | None = None
    is_accrual: bool = False
    period_code: str | None = None
    given_period: Period | None = None
    year: FinancialYear | None = None
    cc: str | None = None
    ec: str | None = None
    by_id: bool = False  # the line is given by id (API), not by code or mapping (files)
    line_code: str | None = None
    n_lines: int | None = None
    mapped_line: BudgetLine | None = None
    line: BudgetLine | None = None
    outside: bool = False  # no mapping, and rows outside the pools are left out

    @property
    def date_year_id(self) -> int | None:
        return self.date_year.pk if self.date_year else None

    @property
    def period(self) -> Period | None:
        return self.given_period or self.date_period


class LineSource:
    """Finds a resolved row's budget line. Subclasses: by id (API), by code or mapping (files)."""

    def resolve(self, r: Resolved) -> None:
        raise NotImplementedError


class LinesById(LineSource):
    """The API's rows name their budget line by id (or a BudgetLine), in any year."""

    def __init__(self, lines: dict[int, BudgetLine]) -> None:
        self.lines = lines

    def resolve(self, r: Resolved) -> None:
        r.by_id = True
        if r.line_code is None:
            return
        try:
            found = self.lines.get(int(r.line_code))
        except ValueError:
            found = None
        r.n_lines = 1 if found is not None else None
        r.line = found


@dataclass(frozen=True)
class Context:
    """What the rules need beyond the row: who posts, into which funds, how unmapped rows go."""

    organisation: Organisation
    partner_funds: frozenset[int]
    dialect: Dialect = PLAIN
    leave_outside: bool = False


def resolve_values(
    row_no: int,
    values: dict[str, Any],
    *,
    context: Context,
    calendar: Calendar,
    lines: LineSource,
    org_ids: Callable[[str], int | None],
) -> Resolved:
    """Read one row's values the way the COPY engine's resolving statement does."""
    dialect = context.dialect
    r = Resolved(row_no=row_no)
    r.org_code = _text(values.get("organisation", context.organisation.code))
    if r.org_code is not None:
        r.org_id = (
            context.organisation.pk
            if r.org_code == context.organisation.code
            else org_ids(r.org_code)
        )
    r.doc = _text(values.get("document_number"))
    number = values.get("line_number")
    r.ln_text = _text(number)
    if r.ln_text is not None and LINE_NUMBER_RE.fullmatch(r.ln_text) and int(r.ln_text) >= 1:
        r.line_no = int(r.ln_text)
    day = values.get("posting_date")
    if isinstance(day, datetime):
        day = day.date()
    if isinstance(day, date):
        r.date_text, r.posting_date = day.isoformat(), day
    else:
        r.date_text = _text(day)
        if r.date_text is not None:
            r.posting_date = dialect.parse_date(r.date_text)
    if r.posting_date is not None:
        r.date_year = calendar.year_of(r.posting_date)
        if r.date_year is not None:
            r.date_period = calendar.month_of(r.date_year, r.posting_date)
    _resolve_amount(r, values, dialect)
    r.supplier = _text(values.get("supplier"))
    description = values.get("description")
    r.description = "" if description is None else str(description)
    accrual = values.get("is_accrual")
    r.accrual_text = (
        ("true" if accrual else "false") if isinstance(accrual, bool) else _text(accrual)
    )
    r.is_accrual = r.accrual_text is not None and r.accrual_text.lower() in TRUE_WORDS
    period = values.get("period")
    if isinstance(period, Period | int) and not isinstance(period, bool):
        r.given_period = calendar.find_period(period)
        r.period_code = period.code if isinstance(period, Period) else str(period)
    else:
        r.period_code = _text(period)
        if r.period_code is not None:
            r.given_period = calendar.find_period(r.period_code)
    r.year = r.given_period.year if r.given_period is not None else r.date_year
    r.cc = _text(values.get("cost_centre"))
    r.ec = _text(values.get("expense_code"))
    line = values.get("budget_line")
    r.line_code = str(line.pk) if isinstance(line, BudgetLine) else _text(line)
    lines.resolve(r)
    if (
        not r.by_id
        and r.line_code is None
        and r.year is not None
        and r.mapped_line is None
        and context.leave_outside
    ):
        r.outside = True
    return r


def _resolve_amount(r: Resolved, values: dict[str, Any], dialect: Dialect) -> None:
    amount = values.get("amount")
    if dialect.debit_credit:
        r.debit_text = _text(values.get("debit"))
        r.credit_text = _text(values.get("credit"))
        r.amt_text = dialect.debit_credit_amount(r.debit_text, r.credit_text)
    elif isinstance(amount, float):
        r.amt_text = str(amount)  # money is never a float: refused as not a number
        return
    elif isinstance(amount, int | Decimal) and not isinstance(amount, bool):
        r.amt_text = str(amount)
        r.amount_raw = Decimal(amount) if Decimal(amount).is_finite() else None
        return
    else:
        r.amt_text = dialect.amount_text(_text(amount))
    if (
        r.amt_text is not None
        and len(r.amt_text) <= MAX_AMOUNT_TEXT
        and AMOUNT_RE.fullmatch(r.amt_text)
    ):
        try:
            r.amount_raw = Decimal(r.amt_text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            r.amount_raw = None


def _places_ok(amount: Decimal) -> bool:
    with localcontext() as exact:
        exact.prec = 2 * MAX_AMOUNT_TEXT
        pennies = amount * 100
        return bool(pennies == pennies.to_integral_value())


# ---- the rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One rule. `sql` is a condition over the COPY engine's resolved row `r` ({org_id} and
    {funds} are filled in per import); `sql_values` gives each placeholder of the message as a SQL
    expression. `py` and `py_values` are the same over a Resolved row. sql None: the rule cannot
    apply to a file's rows (it is about rows whose line is given by id, through the API)."""

    key: str
    field: str
    message: str
    sql: str | None
    py: Callable[[Resolved, Context], bool]
    sql_values: dict[str, str] = dataclasses.field(default_factory=dict)
    py_values: Callable[[Resolved, Context], dict[str, Any]] = lambda r, c: {}


def _year_values(r: Resolved) -> dict[str, Any]:
    assert r.line is not None
    year = r.line.year
    return {"year": year.code, "start": long_date(year.start_date), "end": long_date(year.end_date)}


_SQL_YEAR = {
    "year": "r.year_code",
    "start": "to_char(r.year_start, 'FMDD FMMonth YYYY')",
    "end": "to_char(r.year_end, 'FMDD FMMonth YYYY')",
}


def _too_long(name: str, column: str) -> Rule:
    limit = LIMITS[name]
    return Rule(
        f"{name}_too_long",
        name,
        "too_long",
        # The byte length (free to read) settles almost every value.
        f"(octet_length(r.{column}) > {limit} AND length(r.{column}) > {limit})",
        lambda r, c: len(getattr(r, column) or "") > limit,
        {"limit": f"'{limit}'"},
        lambda r, c: {"limit": limit},
    )


def _period_year_differs(r: Resolved) -> bool:
    return bool(r.line and r.given_period and r.given_period.year_id != r.line.year_id)


# In the order problems are listed within a row and field. Every good row is tested against
# every SQL condition, so each puts its cheap test first.
ROW_RULES: list[Rule] = [
    Rule("org_required", "organisation", "required", "r.org_code IS NULL",
         lambda r, c: r.org_code is None),
    Rule("org_unknown", "organisation", "org_unknown",
         "r.org_code IS NOT NULL AND r.org_id IS NULL",
         lambda r, c: r.org_code is not None and r.org_id is None,
         {"value": "r.org_code"}, lambda r, c: {"value": r.org_code}),
    Rule("org_other", "organisation", "org_other", "r.org_id <> {org_id}",
         lambda r, c: r.org_id is not None and r.org_id != c.organisation.pk,
         {"value": "r.org_code", "expected": "{org_code}"},
         lambda r, c: {"value": r.org_code, "expected": c.organisation.code}),
    Rule("doc_required", "document_number", "required", "r.doc IS NULL",
         lambda r, c: r.doc is None),
    _too_long("document_number", "doc"),
    Rule("line_number_required", "line_number", "required", "r.ln_text IS NULL",
         lambda r, c: r.ln_text is None),
    Rule("line_number", "line_number", "line_number",
         "r.ln_text IS NOT NULL AND r.line_no IS NULL",
         lambda r, c: r.ln_text is not None and r.line_no is None,
         {"value": "r.ln_text"}, lambda r, c: {"value": r.ln_text}),
    Rule("date_required", "posting_date", "required", "r.date_text IS NULL",
         lambda r, c: r.date_text is None),
    Rule("date", "posting_date", "date", "r.date_text IS NOT NULL AND r.posting_date IS NULL",
         lambda r, c: r.date_text is not None and r.posting_date is None,
         {"value": "r.date_text", "formats": "{date_label}"},
         lambda r, c: {"value": r.date_text, "formats": c.dialect.date_label}),
    Rule("amount_both", "amount", "amount_both",
         "r.debit_text IS NOT NULL AND r.credit_text IS NOT NULL AND r.amt_text IS NULL",
         lambda r, c: r.debit_text is not None and r.credit_text is not None and r.amt_text is None,
         {"debit": "r.debit_text", "credit": "r.credit_text"},
         lambda r, c: {"debit": r.debit_text, "credit": r.credit_text}),
    Rule("amount_empty", "amount", "amount_empty",
         "r.amt_text IS NULL AND (r.debit_text IS NULL OR r.credit_text IS NULL)",
         lambda r, c: r.amt_text is None and (r.debit_text is None or r.credit_text is None)),
    Rule("amount_nan", "amount", "amount_nan", "r.amt_text IS NOT NULL AND r.amount_raw IS NULL",
         lambda r, c: r.amt_text is not None and r.amount_raw is None,
         {"value": "r.amt_text", "hint": "{amount_hint}"},
         lambda r, c: {"value": r.amt_text, "hint": c.dialect.amount_hint}),
    Rule("amount_places", "amount", "amount_places",
         "scale(r.amount_raw) > 2 AND r.amount_raw <> round(r.amount_raw, 2)",
         lambda r, c: r.amount_raw is not None and not _places_ok(r.amount_raw),
         {"value": "r.amt_text"}, lambda r, c: {"value": r.amt_text}),
    Rule("amount_large", "amount", "amount_large",
         "abs(r.amount_raw) >= 1e16 AND r.amount_raw = round(r.amount_raw, 2)",
         lambda r, c: (r.amount_raw is not None and abs(r.amount_raw) >= LARGEST_AMOUNT
                       and _places_ok(r.amount_raw)),
         {"value": "r.amt_text"}, lambda r, c: {"value": r.amt_text}),
    _too_long("supplier", "supplier"),
    _too_long("description", "description"),
    Rule("accrual", "is_accrual", "accrual",
         f"lower(r.accrual_text) NOT IN {TRUE_WORDS} AND lower(r.accrual_text) NOT IN {FALSE_WORDS}",
         lambda r, c: (r.accrual_text is not None
                       and r.accrual_text.lower() not in TRUE_WORDS + FALSE_WORDS),
         {"value": "r.accrual_text"}, lambda r, c: {"value": r.accrual_text}),
    Rule("period_unknown", "period", "period_unknown",
         "r.period_code IS NOT NULL AND r.given_period_id IS NULL",
         lambda r, c: r.period_code is not None and r.given_period is None,
         {"value": "r.period_code"}, lambda r, c: {"value": r.period_code}),
    Rule("no_year", "posting_date", "no_year",
         "r.given_period_id IS NULL AND r.posting_date IS NOT NULL AND r.year_id IS NULL",
         # A line given by id has a year of its own: outside_year names the date instead.
         lambda r, c: (r.given_period is None and r.posting_date is not None and r.year is None
                       and not r.by_id),
         {"value": "to_char(r.posting_date, 'YYYY-MM-DD')"},
         lambda r, c: {"value": r.posting_date.isoformat() if r.posting_date else ""}),
    Rule("line_required", "budget_line", "required", None,
         lambda r, c: r.by_id and r.line_code is None),
    Rule("line_unknown", "budget_line", "line_unknown",
         "r.line_code IS NOT NULL AND r.year_id IS NOT NULL AND r.n_lines IS NULL",
         lambda r, c: (r.line_code is not None and r.n_lines is None
                       and (r.by_id or r.year is not None)),
         {"value": "r.line_code"}, lambda r, c: {"value": r.line_code}),
    Rule("line_ambiguous", "budget_line", "line_ambiguous", "r.n_lines > 1",
         lambda r, c: (r.n_lines or 0) > 1,
         {"value": "r.line_code"}, lambda r, c: {"value": r.line_code}),
    Rule("no_mapping", "cost_centre", "no_mapping",
         "r.line_code IS NULL AND r.year_id IS NOT NULL AND r.mapped_line_id IS NULL "
         "AND NOT {leave_outside}",
         lambda r, c: (not r.by_id and r.line_code is None and r.year is not None
                       and r.mapped_line is None and not c.leave_outside),
         {"cost_centre": "coalesce(r.cc, '')", "expense_code": "coalesce(r.ec, '')",
          "year": "r.year_code"},
         lambda r, c: {"cost_centre": r.cc or "", "expense_code": r.ec or "",
                       "year": r.year.code if r.year else ""}),
    Rule("line_not_partner", "budget_line", "line_not_partner",
         "r.line_id IS NOT NULL AND NOT (r.fund_id = ANY({funds}))",
         lambda r, c: r.line is not None and r.line.fund_id not in c.partner_funds,
         {"value": "r.line_label", "fund": "r.fund_code", "organisation": "{org_code}"},
         lambda r, c: {"value": r.line.code if r.line else "",
                       "fund": r.line.fund.code if r.line else "",
                       "organisation": c.organisation.code}),
    # A file's line is looked up in the period's year, so its year is the period's: only a line
    # given by id can be in another year than the period given.
    Rule("period_outside_year", "period", "outside_year", None,
         lambda r, c: _period_year_differs(r),
         py_values=lambda r, c: {"value": r.given_period.code if r.given_period else "",
                                 **_year_values(r)}),
    Rule("outside_year", "posting_date", "outside_year",
         "r.line_id IS NOT NULL AND r.posting_date IS NOT NULL "
         "AND r.date_year_id IS DISTINCT FROM r.year_id",
         lambda r, c: (r.line is not None and r.posting_date is not None
                       and not _period_year_differs(r) and r.date_year_id != r.line.year_id),
         {"value": "to_char(r.posting_date, 'YYYY-MM-DD')", **_SQL_YEAR},
         lambda r, c: {"value": r.posting_date.isoformat() if r.posting_date else "",
                       **_year_values(r)}),
]  # fmt: skip
RULES_BY_KEY = {rule.key: rule for rule in ROW_RULES}
assert len(RULES_BY_KEY) == len(ROW_RULES), "rule keys must be unique"

# Rules over the whole batch, after every row passed the row rules (both engines, same words):
# - "duplicate" (document_number): the same (document, line) twice: every row after the first;
# - "period_closed" (posting_date, or period when given): a row not yet posted into a period
#   closed for its line's fund. Rows already posted are skipped, not refused.
BATCH_RULES = ("duplicate", "period_closed")


# ---- checking rows in Python ----------------------------------------------------------------------


@dataclass
class CheckedRow:
    row: int
    document_number: str
    line_number: int
    posting_date: date
    amount: Decimal
    line: BudgetLine
    period: Period
    supplier: str
    description: str
    is_accrual: bool
    already_posted: bool = False
    period_given: bool = False


@dataclass
class Outside:
    """Rows no rule maps, left out as outside the pooled funds: counted and summed, never posted."""

    rows: int = 0
    amount: Decimal = Decimal("0.00")
    by_cost_centre: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, cost_centre: str, amount: Decimal) -> None:
        self.rows += 1
        self.amount += amount
        entry = self.by_cost_centre.setdefault(cost_centre, [0, Decimal("0.00")])
        entry[0] += 1
        entry[1] += amount


@dataclass
class Unmapped:
    """(year, cost centre, expense code) pairs no rule maps (rows refused), with rows and amount."""

    pairs: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)

    def add(self, year: str, cost_centre: str, expense_code: str, amount: Decimal | None) -> None:
        entry = self.pairs.setdefault((year, cost_centre, expense_code), [0, Decimal("0.00")])
        entry[0] += 1
        entry[1] += amount or Decimal("0.00")


class RowChecker:
    """Checks rows one by one against ROW_RULES, then the batch (duplicates, already posted,
    closed periods). Collects every problem as {"row", "field", "message"}."""

    def __init__(
        self,
        organisation: Organisation,
        calendar: Calendar | None = None,
        *,
        lines: LineSource,
        dialect: Dialect = PLAIN,
        leave_outside: bool = False,
    ) -> None:
        self.organisation = organisation
        self.calendar = calendar or Calendar()
        self.lines = lines
        self.context = Context(
            organisation=organisation,
            partner_funds=frozenset(partner_fund_ids(organisation)),
            dialect=dialect,
            leave_outside=leave_outside,
        )
        self.errors: list[dict[str, Any]] = []
        self.rows: list[CheckedRow] = []
        self.outside = Outside()
        self.unmapped = Unmapped()
        self._seen: dict[tuple[str, int], int] = {}
        self._org_ids: dict[str, int | None] = {}

    def error(self, row: int, field_name: str, text: str) -> None:
        self.errors.append({"row": row, "field": field_name, "message": text})

    def _org_id(self, code: str) -> int | None:
        if code not in self._org_ids:
            self._org_ids[code] = (
                Organisation.objects.filter(code=code).values_list("pk", flat=True).first()
            )
        return self._org_ids[code]

    def check(self, row: int, values: dict[str, Any]) -> None:
        """Check one row against every rule; keep it if it passes them all."""
        r = resolve_values(
            row,
            values,
            context=self.context,
            calendar=self.calendar,
            lines=self.lines,
            org_ids=self._org_id,
        )
        failed = False
        for rule in ROW_RULES:
            if not rule.py(r, self.context):
                continue
            failed = True
            self.error(row, rule.field, message(rule.message, **rule.py_values(r, self.context)))
            if rule.key == "no_mapping":
                self.unmapped.add(
                    r.year.code if r.year else "", r.cc or "", r.ec or "", r.amount_raw
                )
        if failed:
            return
        if r.outside:
            assert r.amount_raw is not None
            self.outside.add(r.cc or "", r.amount_raw)
            return
        period = r.period
        if r.line is None or period is None:
            return
        assert r.doc is not None
        assert r.line_no is not None
        assert r.posting_date is not None
        assert r.amount_raw is not None
        key = (r.doc, r.line_no)
        first = self._seen.get(key)
        if first is not None:
            self.error(
                row,
                "document_number",
                message("duplicate", document=key[0], line=key[1], row=first),
            )
            return
        self._seen[key] = row
        self.rows.append(
            CheckedRow(
                row=row,
                document_number=r.doc,
                line_number=r.line_no,
                posting_date=r.posting_date,
                amount=r.amount_raw.quantize(Decimal("0.01")),
                line=r.line,
                period=period,
                supplier=r.supplier or "",
                description=r.description,
                is_accrual=r.is_accrual,
                period_given=r.given_period is not None,
            )
        )

    def finish(self) -> None:
        """Mark rows already posted; refuse new rows into closed periods. Call after every check()."""
        docs = sorted({r.document_number for r in self.rows})
        existing: set[tuple[str, int]] = set()
        for start in range(0, len(docs), 2000):
            existing.update(
                SpendPosting.objects.filter(
                    organisation=self.organisation, document_number__in=docs[start : start + 2000]
                ).values_list("document_number", "line_number")
            )
        for r in self.rows:
            r.already_posted = (r.document_number, r.line_number) in existing
            if not r.already_posted and (r.line.fund_id, r.period.pk) in self.calendar.closed:
                field_name = "period" if r.period_given else "posting_date"
                self.error(
                    r.row,
                    field_name,
                    message("period_closed", period=r.period.code, fund=r.line.fund.code),
                )
        self.errors.sort(key=lambda e: (e["row"], e["field"]))


def summarise(rows: Iterable[CheckedRow]) -> list[dict[str, Any]]:
    """Rows and total amount per fund and period (new and already-posted rows of the batch)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r.line.fund.code, r.period.code)
        entry = groups.setdefault(
            key,
            {"fund": key[0], "period": key[1], "rows": 0, "posted": 0, "amount": Decimal("0.00")},
        )
        entry["rows"] += 1
        entry["posted"] += 0 if r.already_posted else 1
        entry["amount"] += r.amount
    return [{**g, "amount": str(g["amount"])} for _, g in sorted(groups.items())]


def summarise_lines(rows: Iterable[CheckedRow]) -> list[dict[str, Any]]:
    """Rows, new rows and amount per fund, budget line and period: what a preview shows."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r.line.fund.code, r.line.code, r.period.code)
        entry = groups.setdefault(
            key,
            {
                "fund": key[0],
                "line": key[1],
                "line_name": r.line.name,
                "period": key[2],
                "rows": 0,
                "new": 0,
                "amount": Decimal("0.00"),
            },
        )
        entry["rows"] += 1
        entry["new"] += 0 if r.already_posted else 1
        entry["amount"] += r.amount
    return [{**g, "amount": str(g["amount"])} for _, g in sorted(groups.items())]
