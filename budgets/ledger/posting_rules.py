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
budget line's financial year; an amount in pounds and pence, read and worded as the one money
parser (gmhsc.money) reads it (an exponent is named as such); text the one text cleaner
(gmhsc.text) accepts in the document number, supplier and description (no NUL or other control
character; a line break or tab only in the description); a budget line in a fund the posting
organisation hosts or contributes to; the period (given, or the month of the posting date) open
for the line's fund; no (document, line) twice in one batch. A row whose (organisation, document,
line) is already posted is skipped and counted as already posted - a re-sent batch never doubles
spend - and is not refused because its period has since closed.
"""

from __future__ import annotations

import dataclasses
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from django.db.models import Q, QuerySet

from budgets.ledger.formats import AMOUNT_RE, PLAIN, Dialect
from budgets.models import BudgetLine, FinancialYear, FundPeriod, Period, PooledFund
from gmhsc.money import EXPONENT_PATTERN, MAX_AMOUNT_TEXT, MAX_MONEY, MONEY_MESSAGES
from gmhsc.text import (
    BLANKS,
    SQL_NEVER,
    SQL_NOT_ONE_LINE,
    TEXT_MESSAGES,
    control_character,
    kind_of,
)
from localities.models import Organisation

# ---- the one set of messages ----------------------------------------------------------------------

# Text and amounts in the words of the one text cleaner (gmhsc.text) and money parser (gmhsc.money).
MESSAGES: dict[str, str] = {
    "required": TEXT_MESSAGES["required"],
    "too_long": TEXT_MESSAGES["too_long"],
    "text_type": TEXT_MESSAGES["type"],
    "text_nul": TEXT_MESSAGES["nul"],
    "text_control": TEXT_MESSAGES["control"],
    "text_surrogate": TEXT_MESSAGES["surrogate"],
    "text_line_break": TEXT_MESSAGES["line_break"],
    "line_number": "'{value}' is not a whole number of 1 or more",
    "date": "'{value}' is not a date (use {formats})",
    "amount_empty": MONEY_MESSAGES["empty"],
    "amount_nan": MONEY_MESSAGES["not_number"] + "{hint}",
    "amount_exponent": MONEY_MESSAGES["exponent"],
    "amount_places": MONEY_MESSAGES["places"],
    "amount_large": MONEY_MESSAGES["large"],
    "amount_both": "has a debit of '{debit}' and a credit of '{credit}'; a row has one or the other",
    "accrual": "'{value}' is not yes or no",
    "org_unknown": "unknown organisation '{value}'",
    "org_other": "is {value}; this file is for {expected}",
    "no_year": "{value} is not in a financial year that is set up",
    "outside_year": "{value} is outside {year} ({start} to {end})",
    "period_unknown": "'{value}' is not a known period (like 2016/17-M06)",
    "period_closed": "period {period} is closed for fund {fund}",
    "year_end_early": "period {period} takes year-end adjustments once {previous} is closed for fund {fund}",
    "year_end_host": "period {period} takes year-end adjustments for fund {fund} from its host only",
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
LINE_NUMBER_RE = re.compile(r"[0-9]{1,9}")
EXPONENT_RE = re.compile(EXPONENT_PATTERN)
# Blanks trimmed around values, the same in Python and in the import's SQL (btrim).
STRIP = BLANKS
# Free text, checked by the text cleaner's rule (gmhsc.text): (multi-line?) per field.
TEXT_FIELDS = {"document_number": False, "supplier": False, "description": True}
TRUE_WORDS = ("1", "true", "yes", "y", "t")
FALSE_WORDS = ("", "0", "false", "no", "n", "f")


def message(key: str, **values: Any) -> str:
    return MESSAGES[key].format(**values)


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


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

    def year_end_problem(
        self, fund: PooledFund, period: Period, organisation: Organisation
    ) -> str | None:
        """Why a posting into M13 is refused, or None: M13 takes year-end adjustments once M12 is
        closed for the fund, and from the fund's host only."""
        m12 = self.periods.get((period.year_id, 12))
        if m12 is None or (fund.pk, m12.pk) not in self.closed:
            previous = m12.code if m12 is not None else f"{period.year.code}-M12"
            return message("year_end_early", period=period.code, previous=previous, fund=fund.code)
        if organisation.pk != fund.host_id:
            return message("year_end_host", period=period.code, fund=fund.code)
        return None

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


def partner_funds(organisation: Organisation) -> QuerySet[PooledFund]:
    """Funds the organisation hosts or contributes to (it may post spend to their lines)."""
    return PooledFund.objects.filter(
        Q(host=organisation) | Q(contributions__partner=organisation)
    ).distinct()


def partner_fund_ids(organisation: Organisation) -> set[int]:
    return set(partner_funds(organisation).values_list("pk", flat=True))


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
    # Text fields sent as something else (a JSON object, a list, a number): field -> what it is.
    not_text: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def date_year_id(self) -> int | None:
        return self.date_year.pk if self.date_year else None

    @property
    def period(self) -> Period | None:
        return self.given_period or self.date_period


class LineSource(ABC):
    """Finds a resolved row's budget line. Subclasses: by id (API), by code or mapping (files)."""

    @abstractmethod
    def resolve(self, r: Resolved) -> None: ...


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
    for name in TEXT_FIELDS:
        kind = kind_of(values.get(name))
        if kind is not None:
            r.not_text[name] = kind
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
    apply to a file's rows (it is about rows whose line is given by id, through the API, or it is
    about NUL, which COPY refuses and the COPY engine names cell by cell). `scan`: the COPY engine
    leaves the rule out when the file's bytes show no row can break it ("controls": a control
    character; "line_breaks": a tab or a quote; see sql_engine.TextScan)."""

    key: str
    field: str
    message: str
    sql: str | None
    py: Callable[[Resolved, Context], bool]
    sql_values: dict[str, str] = dataclasses.field(default_factory=dict)
    py_values: Callable[[Resolved, Context], dict[str, Any]] = lambda r, c: {}
    scan: str = ""


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


def _first_refused(r: Resolved, column: str, multiline: bool) -> str:
    """The first character the text cleaner refuses in the row's text, or ''."""
    return control_character(getattr(r, column) or "", multiline=multiline) or ""


def _text_rules(name: str, column: str) -> list[Rule]:
    """The text cleaner's rule (gmhsc.text.clean_text) for one text field: the first character it
    refuses is named - NUL, a line break or tab in a one-line field, another control character."""
    multiline = TEXT_FIELDS[name]
    pattern = SQL_NEVER if multiline else SQL_NOT_ONE_LINE
    first = f"substring(r.{column} from '{pattern}')"
    code = f"'U+' || lpad(upper(to_hex(ascii({first}))), 4, '0')"

    def first_is(kind: str) -> Callable[[Resolved, Context], bool]:
        def test(r: Resolved, c: Context) -> bool:
            if name in r.not_text:
                return False
            char = _first_refused(r, column, multiline)
            if not char:
                return False
            found = (
                "nul"
                if char == "\x00"
                else "line_break"
                if char in "\t\n\r"
                else "surrogate"
                if "\ud800" <= char <= "\udfff"
                else "control"
            )
            return found == kind

        return test

    def code_of(r: Resolved, c: Context) -> dict[str, Any]:
        return {"code": f"U+{ord(_first_refused(r, column, multiline)):04X}"}

    rules = [
        # Only a caller of the service can send something that is not text (a file holds text).
        Rule(f"{name}_type", name, "text_type", None, lambda r, c: name in r.not_text,
             py_values=lambda r, c: {"kind": r.not_text[name]}),
        Rule(f"{name}_nul", name, "text_nul", None, first_is("nul")),
        # Lone surrogates come only through the API (a file is decoded strictly).
        Rule(f"{name}_surrogate", name, "text_surrogate", None, first_is("surrogate"),
             py_values=code_of),
    ]  # fmt: skip
    control_sql = f"r.{column} ~ '{pattern}'"
    if not multiline:
        line_break = f"{first} IN (E'\\t', E'\\n', E'\\r')"
        rules.append(
            Rule(f"{name}_line_break", name, "text_line_break", line_break,
                 first_is("line_break"), scan="line_breaks")
        )  # fmt: skip
        control_sql = f"{control_sql} AND NOT ({line_break})"
    rules.append(
        Rule(f"{name}_control", name, "text_control", control_sql, first_is("control"),
             {"code": code}, code_of, scan="controls")
    )  # fmt: skip
    return rules


def _is_exponent(r: Resolved) -> bool:
    """An amount written with an exponent ('1e5'): named as such, as gmhsc.money words it."""
    return (
        r.amt_text is not None
        and r.amount_raw is None
        and len(r.amt_text) <= MAX_AMOUNT_TEXT
        and EXPONENT_RE.fullmatch(r.amt_text) is not None
    )


_SQL_EXPONENT = (
    f"(length(r.amt_text) <= {MAX_AMOUNT_TEXT} AND r.amt_text ~ '^({EXPONENT_PATTERN})$')"
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
    *_text_rules("document_number", "doc"),
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
    Rule("amount_exponent", "amount", "amount_exponent",
         f"r.amt_text IS NOT NULL AND r.amount_raw IS NULL AND {_SQL_EXPONENT}",
         lambda r, c: _is_exponent(r),
         {"value": "r.amt_text"}, lambda r, c: {"value": r.amt_text}),
    Rule("amount_nan", "amount", "amount_nan",
         f"r.amt_text IS NOT NULL AND r.amount_raw IS NULL AND NOT {_SQL_EXPONENT}",
         lambda r, c: r.amt_text is not None and r.amount_raw is None and not _is_exponent(r),
         {"value": "r.amt_text", "hint": "{amount_hint}"},
         lambda r, c: {"value": r.amt_text, "hint": c.dialect.amount_hint}),
    Rule("amount_places", "amount", "amount_places",
         "scale(r.amount_raw) > 2 AND r.amount_raw <> round(r.amount_raw, 2)",
         lambda r, c: r.amount_raw is not None and not _places_ok(r.amount_raw),
         {"value": "r.amt_text"}, lambda r, c: {"value": r.amt_text}),
    Rule("amount_large", "amount", "amount_large",
         "abs(r.amount_raw) >= 1e16 AND r.amount_raw = round(r.amount_raw, 2)",
         lambda r, c: (r.amount_raw is not None and abs(r.amount_raw) > MAX_MONEY
                       and _places_ok(r.amount_raw)),
         {"value": "r.amt_text"}, lambda r, c: {"value": r.amt_text}),
    *_text_rules("supplier", "supplier"),
    _too_long("supplier", "supplier"),
    *_text_rules("description", "description"),
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
#   closed for its line's fund. Rows already posted are skipped, not refused;
# - "year_end_early" / "year_end_host" (the same field): a row not yet posted into M13, the
#   year-end adjustments period, before M12 is closed for its line's fund, or from an
#   organisation other than the fund's host (Calendar.year_end_problem).
BATCH_RULES = ("duplicate", "period_closed", "year_end_early", "year_end_host")
