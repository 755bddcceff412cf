"""Spend postings: post a batch (all or nothing), reverse a posting. Postings are never changed.

One set of validation rules and messages (`MESSAGES`) serves the API, the service callers and the
ledger CSV import; the import's PostgreSQL path builds the same texts in SQL from these templates
(`budgets.ledger.imports`), so a row is refused with the same words whichever way it arrives.

Rules for every row: the document number and a line number of 1 or more; a posting date inside the
budget line's financial year; an amount in pounds and pence (`gmhsc.money.to_money`); a budget line
in a fund the posting organisation hosts or contributes to; the period (given, or the month of the
posting date) open for the line's fund; no (document, line) twice in one batch. A row whose
(organisation, document, line) is already posted is skipped and counted as already posted - a
re-sent batch never doubles spend - and is not refused because its period has since closed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, localcontext
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from budgets import rules
from budgets.models import (
    BudgetLine,
    FinancialYear,
    FundPeriod,
    LedgerImport,
    Period,
    PooledFund,
    SpendPosting,
)
from budgets.models.reference import YEAR_END_PERIOD
from budgets.outbox import mark_stale
from gmhsc.errors import ApplicationError, Conflict, NotAllowed, NotFound, PeriodClosed, RowErrors
from gmhsc.money import MoneyError, to_money
from localities import roles
from localities.actors import Actor
from localities.models import Organisation

# ---- the one set of messages ----------------------------------------------------------------------

MESSAGES: dict[str, str] = {
    "required": "is required",
    "too_long": "is longer than {limit} characters",
    "line_number": "'{value}' is not a whole number of 1 or more",
    "date": "'{value}' is not a date (use YYYY-MM-DD or DD/MM/YYYY)",
    "amount_empty": "is empty",
    "amount_nan": "'{value}' is not a number",
    "amount_places": "'{value}' has more than 2 decimal places",
    "amount_large": "'{value}' is too large",
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
AMOUNT_PATTERN = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)"
AMOUNT_RE = re.compile(AMOUNT_PATTERN)
ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
UK_DATE_RE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
LINE_NUMBER_RE = re.compile(r"[0-9]{1,9}")
# Blanks trimmed around values, the same in Python and in the import's SQL (btrim).
STRIP = " \t\r\n"
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"", "0", "false", "no", "n", "f"}
MAX_AMOUNT_TEXT = 60
DATE_YEARS = (1900, 2199)  # dates outside these years are "not a date" (both import engines)
LARGEST_AMOUNT = Decimal(10) ** 16  # 18 digits with the pence, as the database column holds


def message(key: str, **values: Any) -> str:
    return MESSAGES[key].format(**values)


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


# ---- parsing single values (shared by the API, the service callers and the CSV import) ----------


class FieldError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def parse_amount(value: Any) -> Decimal:
    """Pounds and pence. Text must look like a plain number: '1,2x' and '1e3' are refused."""
    if isinstance(value, float):
        raise FieldError(message("amount_nan", value=value))
    if isinstance(value, int | Decimal):
        try:
            return to_money(value)
        except MoneyError as exc:
            raise FieldError(str(exc)) from None
    text = "" if value is None else str(value).strip(STRIP)
    if not text:
        raise FieldError(message("amount_empty"))
    if len(text) > MAX_AMOUNT_TEXT or not AMOUNT_RE.fullmatch(text):
        raise FieldError(message("amount_nan", value=text))
    with localcontext() as exact:
        exact.prec = 2 * MAX_AMOUNT_TEXT
        amount = Decimal(text)
        pennies = amount * 100
        if pennies != pennies.to_integral_value():
            raise FieldError(message("amount_places", value=text))
        if abs(amount) >= LARGEST_AMOUNT:
            raise FieldError(message("amount_large", value=text))
        return amount.quantize(Decimal("0.01"))


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = "" if value is None else str(value).strip(STRIP)
    if not text:
        raise FieldError(message("required"))
    match = ISO_DATE_RE.fullmatch(text)
    parts: tuple[int, int, int] | None = None
    if match:
        parts = (int(match[1]), int(match[2]), int(match[3]))
    else:
        match = UK_DATE_RE.fullmatch(text)
        if match:
            parts = (int(match[3]), int(match[2]), int(match[1]))
    if parts is None or not DATE_YEARS[0] <= parts[0] <= DATE_YEARS[1]:
        raise FieldError(message("date", value=text))
    try:
        return date(*parts)
    except ValueError:
        raise FieldError(message("date", value=text)) from None


def parse_line_number(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldError(message("line_number", value=value))
    if isinstance(value, int):
        number = value
    else:
        text = "" if value is None else str(value).strip(STRIP)
        if not text:
            raise FieldError(message("required"))
        if not LINE_NUMBER_RE.fullmatch(text):
            raise FieldError(message("line_number", value=text))
        number = int(text)
    if number < 1 or number > 999_999_999:
        raise FieldError(message("line_number", value=value))
    return number


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    original = "" if value is None else str(value).strip(STRIP)
    text = original.lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise FieldError(message("accrual", value=original))


def parse_text(value: Any, name: str, *, required: bool = False, strip: bool = True) -> str:
    text = "" if value is None else str(value)
    if strip:
        text = text.strip(STRIP)
    if required and not text:
        raise FieldError(message("required"))
    limit = LIMITS.get(name)
    if limit is not None and len(text) > limit:
        raise FieldError(message("too_long", limit=limit))
    return text


# ---- lookups --------------------------------------------------------------------------------------


def partner_fund_ids(organisation: Organisation) -> set[int]:
    """Funds the organisation hosts or contributes to (it may post spend to their lines)."""
    return set(
        PooledFund.objects.filter(
            Q(host=organisation) | Q(contributions__partner=organisation)
        ).values_list("pk", flat=True)
    )


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

    def period(self, value: Any) -> Period:
        if isinstance(value, Period):
            return self.periods_by_id.get(value.pk, value)
        if isinstance(value, int) and not isinstance(value, bool):
            found = self.periods_by_id.get(value)
        else:
            found = self.periods_by_code.get(str(value).strip(STRIP))
        if found is None:
            raise FieldError(message("period_unknown", value=value))
        return found


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
class PostResult:
    """What a batch did. `summary` has one entry per fund and period of the batch's rows."""

    rows: int = 0
    posted: int = 0
    already_posted: int = 0
    postings: list[SpendPosting] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.posted == 0 and self.already_posted:
            return f"Nothing new to post: all {self.already_posted:,} rows were posted before."
        text = f"{self.posted:,} postings made."
        if self.already_posted:
            text += f" {self.already_posted:,} rows were already posted and were skipped."
        return text


# A resolver finds the budget line for a row: (values, year or None) -> (line, year) or raises
# RowFieldError naming the field. The API passes lines; the import maps cost centres.
class RowFieldError(Exception):
    def __init__(self, field_name: str, text: str) -> None:
        super().__init__(text)
        self.field = field_name
        self.text = text


LineResolver = Callable[[dict[str, Any], FinancialYear | None], BudgetLine | None]


class RowChecker:
    """Checks rows one by one (format, line, year, period), then the batch (duplicates, already
    posted, closed periods). Collects every problem as {"row", "field", "message"}."""

    def __init__(self, organisation: Organisation, calendar: Calendar | None = None) -> None:
        self.organisation = organisation
        self.calendar = calendar or Calendar()
        self.partner_funds = partner_fund_ids(organisation)
        self.errors: list[dict[str, Any]] = []
        self.rows: list[CheckedRow] = []
        self._seen: dict[tuple[str, int], int] = {}

    def error(self, row: int, field_name: str, text: str) -> None:
        self.errors.append({"row": row, "field": field_name, "message": text})

    def check(
        self, row: int, values: dict[str, Any], resolve: LineResolver, *, failed: bool = False
    ) -> None:
        before = len(self.errors) - (1 if failed else 0)
        parsed: dict[str, Any] = {}
        parsers: list[tuple[str, Callable[[Any], Any]]] = [
            ("document_number", lambda v: parse_text(v, "document_number", required=True)),
            ("line_number", parse_line_number),
            ("posting_date", parse_date),
            ("amount", parse_amount),
            ("supplier", lambda v: parse_text(v, "supplier")),
            ("description", lambda v: parse_text(v, "description", strip=False)),
            ("is_accrual", parse_bool),
        ]
        for name, parse in parsers:
            try:
                parsed[name] = parse(values.get(name))
            except FieldError as exc:
                self.error(row, name, exc.text)
        period: Period | None = None
        raw_period = values.get("period")
        if raw_period not in (None, ""):
            try:
                period = self.calendar.period(raw_period)
            except FieldError as exc:
                self.error(row, "period", exc.text)
        day: date | None = parsed.get("posting_date")
        year = period.year if period is not None else None
        if year is None and day is not None:
            year = self.calendar.year_of(day)
        line: BudgetLine | None = None
        resolved = True
        try:
            line = resolve(values, year)
        except RowFieldError as exc:
            resolved = False
            self.error(row, exc.field, exc.text)
        if resolved and line is None and year is None and period is None and day is not None:
            self.error(row, "posting_date", message("no_year", value=day.isoformat()))
        if line is not None:
            if line.fund_id not in self.partner_funds:
                self.error(
                    row,
                    "budget_line",
                    message(
                        "line_not_partner",
                        value=line.code,
                        fund=line.fund.code,
                        organisation=self.organisation.code,
                    ),
                )
            line_year = self.calendar.years_by_id.get(line.year_id, line.year)
            if period is not None and period.year_id != line.year_id:
                self.error(
                    row,
                    "period",
                    message(
                        "outside_year",
                        value=period.code,
                        year=line_year.code,
                        start=long_date(line_year.start_date),
                        end=long_date(line_year.end_date),
                    ),
                )
            elif day is not None and not (line_year.start_date <= day <= line_year.end_date):
                self.error(
                    row,
                    "posting_date",
                    message(
                        "outside_year",
                        value=day.isoformat(),
                        year=line_year.code,
                        start=long_date(line_year.start_date),
                        end=long_date(line_year.end_date),
                    ),
                )
            elif period is None and day is not None:
                period = self.calendar.month_of(line_year, day)
        if len(self.errors) > before or line is None or period is None:
            return
        key = (parsed["document_number"], parsed["line_number"])
        first = self._seen.get(key)
        if first is not None:
            self.error(
                row,
                "document_number",
                message(
                    "duplicate",
                    document=key[0],
                    line=key[1],
                    row=first,
                ),
            )
            return
        self._seen[key] = row
        self.rows.append(
            CheckedRow(
                row=row,
                line=line,
                period=period,
                period_given=raw_period not in (None, ""),
                **parsed,
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
            if r.already_posted:
                continue
            field_name = "period" if r.period_given else "posting_date"
            if (r.line.fund_id, r.period.pk) in self.calendar.closed:
                self.error(
                    r.row,
                    field_name,
                    message("period_closed", period=r.period.code, fund=r.line.fund.code),
                )
            elif r.period.number == YEAR_END_PERIOD:
                problem = self.calendar.year_end_problem(r.line.fund, r.period, self.organisation)
                if problem:
                    self.error(r.row, field_name, problem)
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


# ---- permission -----------------------------------------------------------------------------------


def require_poster(actor: Actor, organisation: Organisation) -> None:
    """Finance officers post their own organisation's ledger; administrators any organisation's."""
    if rules.may_post_for(actor, organisation):
        return
    raise NotAllowed(f"Only a finance officer of {organisation.name} can post its spend.")


def posting_visible(actor: Actor, posting: SpendPosting) -> bool:
    if roles.is_administrator(actor):
        return True
    if getattr(actor, "organisation_id", None) == posting.organisation_id:
        return True
    return bool(rules.can_view_fund(actor, posting.fund))


# ---- posting --------------------------------------------------------------------------------------


def _line_from_value(lines: dict[int, BudgetLine]) -> LineResolver:
    def resolve(values: dict[str, Any], year: FinancialYear | None) -> BudgetLine:
        raw = values.get("budget_line")
        if raw in (None, ""):
            raise RowFieldError("budget_line", message("required"))
        line_id = raw.pk if isinstance(raw, BudgetLine) else raw
        try:
            found = lines.get(int(line_id)) if isinstance(line_id, int | str) else None
        except ValueError:
            found = None
        if found is None:
            raise RowFieldError("budget_line", message("line_unknown", value=raw))
        return found

    return resolve


def _lines_for(rows: Sequence[dict[str, Any]]) -> dict[int, BudgetLine]:
    ids: set[int] = set()
    for values in rows:
        raw = values.get("budget_line")
        if isinstance(raw, BudgetLine):
            ids.add(raw.pk)
        else:
            try:
                ids.add(int(raw))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
    return {
        line.pk: line
        for line in BudgetLine.objects.filter(pk__in=ids).select_related("fund", "year")
    }


def lock_organisation(organisation: Organisation) -> None:
    """Serialise postings per organisation so 'already posted' counts are exact under concurrency."""
    Organisation.objects.select_for_update().filter(pk=organisation.pk).values_list("pk").first()


def insert_checked(
    *,
    actor: Actor,
    organisation: Organisation,
    rows: Sequence[CheckedRow],
    ledger_import: LedgerImport | None,
    return_postings: bool = True,
) -> list[SpendPosting]:
    """Insert the new rows (inside the caller's transaction) and mark their figures stale."""
    created_by = actor if getattr(actor, "is_authenticated", False) else None
    new = [
        SpendPosting(
            organisation=organisation,
            document_number=r.document_number,
            line_number=r.line_number,
            posting_date=r.posting_date,
            period=r.period,
            fund_id=r.line.fund_id,
            budget_line=r.line,
            amount=r.amount,
            supplier=r.supplier,
            description=r.description,
            is_accrual=r.is_accrual,
            ledger_import=ledger_import,
            created_by=created_by,
        )
        for r in rows
        if not r.already_posted
    ]
    for start in range(0, len(new), 2000):
        SpendPosting.objects.bulk_create(new[start : start + 2000], ignore_conflicts=True)
    stale_after_posting(
        (r.line.fund_id, r.line.year_id, r.line.pk, r.period.number)
        for r in rows
        if not r.already_posted
    )
    if not return_postings or not new:
        return []
    keys = {(p.document_number, p.line_number) for p in new}
    docs = sorted({k[0] for k in keys})
    found: list[SpendPosting] = []
    for start in range(0, len(docs), 2000):
        found.extend(
            p
            for p in SpendPosting.objects.filter(
                organisation=organisation, document_number__in=docs[start : start + 2000]
            )
            if (p.document_number, p.line_number) in keys
        )
    return sorted(found, key=lambda p: p.pk)


def stale_after_posting(items: Iterable[tuple[int, int, int, int]]) -> None:
    """items: (fund_id, year_id, line_id, period_number) of new postings -> one mark per fund."""
    by_fund: dict[tuple[int, int], tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    for fund_id, year_id, line_id, number in items:
        lines, periods = by_fund[(fund_id, year_id)]
        lines.add(line_id)
        periods.add(number)
    for (fund_id, year_id), (lines, periods) in sorted(by_fund.items()):
        mark_stale(
            fund_id=fund_id,
            year_id=year_id,
            line_ids=lines,
            period_numbers=[min(periods)],
            reason="spend posted",
        )


def spend_post(
    *,
    actor: Actor,
    organisation: Organisation,
    rows: list[dict[str, Any]],
    ledger_import: LedgerImport | None = None,
) -> PostResult:
    """Post a batch of spend for one organisation: every row checked first, all or nothing.

    rows: document_number, line_number, posting_date, amount, budget_line (object or id), period
    (optional object, id or code; else the month of the posting date), supplier, description,
    is_accrual. Raises RowErrors listing every bad row (numbered from 1); rows already posted are
    skipped and counted in `already_posted`.
    """
    require_poster(actor, organisation)
    if not rows:
        raise ApplicationError("There are no postings in the request.")
    lines = _lines_for(rows)
    # Parse and check every row before taking the lock: under it only the batch checks that
    # depend on what is already in the ledger (already posted, closed periods) and the insert.
    checker = RowChecker(organisation)
    resolve = _line_from_value(lines)
    for number, values in enumerate(rows, start=1):
        checker.check(number, values, resolve)
    with transaction.atomic():
        lock_organisation(organisation)
        checker.calendar.reload_closed()
        checker.finish()
        if checker.errors:
            raise_row_errors(checker.errors, closed_only=_only_closed(checker.errors))
        postings = insert_checked(
            actor=actor, organisation=organisation, rows=checker.rows, ledger_import=ledger_import
        )
    new = sum(1 for r in checker.rows if not r.already_posted)
    return PostResult(
        rows=len(checker.rows),
        posted=new,
        already_posted=len(checker.rows) - new,
        postings=postings,
        summary=summarise(checker.rows),
    )


def _only_closed(errors: list[dict[str, Any]]) -> bool:
    return all(e["message"].startswith("period ") and "is closed" in e["message"] for e in errors)


def raise_row_errors(errors: list[dict[str, Any]], *, closed_only: bool = False) -> None:
    rows = len({e["row"] for e in errors})
    text = (
        f"{rows:,} row{'s' if rows != 1 else ''} could not be posted "
        f"({len(errors):,} problem{'s' if len(errors) != 1 else ''}); nothing was posted."
    )
    if closed_only and len(errors) == 1:
        text = f"Row {errors[0]['row']}: {errors[0]['message']}; nothing was posted."
    raise RowErrors(text, errors)


# ---- reversal -------------------------------------------------------------------------------------


def reversal_document(document_number: str) -> str:
    return f"REV-{document_number}"[:40]


def _default_reversal_period(posting: SpendPosting, calendar: Calendar) -> Period:
    """The original's month if still open, else the first open month after it in that year."""
    original = calendar.periods_by_id.get(posting.period_id, posting.period)
    for number in range(original.number, YEAR_END_PERIOD + 1):
        candidate = calendar.periods.get((original.year_id, number))
        if candidate is None or (posting.fund_id, candidate.pk) in calendar.closed:
            continue
        if number == YEAR_END_PERIOD and calendar.year_end_problem(
            posting.fund, candidate, posting.organisation
        ):
            continue
        return candidate
    raise PeriodClosed(
        f"Every period from {original.code} is closed for fund {posting.fund.code}; "
        "ask an administrator to reopen one."
    )


def spend_reverse(
    *, actor: Actor, posting: SpendPosting, reason: str, period: Period | None = None
) -> SpendPosting:
    """Post the negative copy of `posting`, linked to it, into an open period. At most once."""
    if not posting_visible(actor, posting):
        raise NotFound("Posting not found.")
    require_poster(actor, posting.organisation)
    if not (reason or "").strip():
        raise ApplicationError("Say why the posting is reversed.", extra={"field": "reason"})
    with transaction.atomic():
        original = (
            SpendPosting.objects.select_for_update()
            .select_related("fund", "period__year", "budget_line")
            .get(pk=posting.pk)
        )
        if original.reverses_id is not None:
            raise ApplicationError("A reversal cannot itself be reversed; post a new entry.")
        already = SpendPosting.objects.filter(reverses=original).first()
        if already is not None:
            raise Conflict(
                f"Posting {original.document_number}/{original.line_number} was already reversed "
                f"by {already.document_number}.",
                extra={"reversal": already.pk},
            )
        calendar = Calendar()
        if period is None:
            target = _default_reversal_period(original, calendar)
        else:
            target = calendar.period(period.pk)
            if target.year_id != original.period.year_id:
                raise ApplicationError(
                    f"A reversal goes into {original.period.year.code}, not {target.code}.",
                    extra={"field": "period"},
                )
            if (original.fund_id, target.pk) in calendar.closed:
                text = message("period_closed", period=target.code, fund=original.fund.code)
                raise PeriodClosed(f"{text[0].upper()}{text[1:]}.", extra={"field": "period"})
            if target.number == YEAR_END_PERIOD:
                problem = calendar.year_end_problem(original.fund, target, original.organisation)
                if problem:
                    raise PeriodClosed(
                        f"{problem[0].upper()}{problem[1:]}.", extra={"field": "period"}
                    )
        day = original.posting_date
        if not (target.start_date <= day <= target.end_date):
            day = target.start_date
        reversal = SpendPosting(
            organisation_id=original.organisation_id,
            document_number=reversal_document(original.document_number),
            line_number=original.line_number,
            posting_date=day,
            period=target,
            fund_id=original.fund_id,
            budget_line_id=original.budget_line_id,
            amount=-original.amount,
            supplier=original.supplier,
            description=f"Reversal of {original.document_number}/{original.line_number}: "
            f"{reason.strip()}"[:500],
            is_accrual=original.is_accrual,
            reverses=original,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        try:
            with transaction.atomic():
                reversal.save()
        except IntegrityError:
            raise Conflict(
                f"Posting {original.document_number}/{original.line_number} was already reversed, "
                f"or document {reversal.document_number} line {original.line_number} exists."
            ) from None
        mark_stale(
            fund_id=original.fund_id,
            year_id=target.year_id,
            line_ids=[original.budget_line_id],
            period_numbers=[target.number],
            reason="spend reversed",
        )
    return reversal


def reversal_net(posting: SpendPosting) -> Decimal:
    """The original plus its reversal (0.00 once reversed)."""
    reversal = (
        SpendPosting.objects.filter(reverses=posting).values_list("amount", flat=True).first()
    )
    return posting.amount + (reversal or Decimal("0.00"))
