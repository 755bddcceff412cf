"""Checking spend rows in Python: each row resolved and held against every rule of
budgets.ledger.posting_rules.ROW_RULES, then the batch (duplicates, rows already posted, closed
periods). The API, the browser, the demo and the Python import engine check rows here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from budgets.ledger.formats import PLAIN, Dialect
from budgets.ledger.posting_rules import (
    ROW_RULES,
    Calendar,
    Context,
    LineSource,
    Resolved,
    Rule,
    message,
    partner_fund_ids,
    resolve_values,
)
from budgets.models import BudgetLine, Period, SpendPosting
from budgets.models.reference import YEAR_END_PERIOD
from gmhsc.money import to_money
from localities.models import Organisation


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

    def explain(self, row: int, values: dict[str, Any]) -> tuple[Resolved, list[tuple[Rule, str]]]:
        """One row resolved, and every rule it breaks with its message; nothing kept."""
        r = resolve_values(
            row,
            values,
            context=self.context,
            calendar=self.calendar,
            lines=self.lines,
            org_ids=self._org_id,
        )
        problems = [
            (rule, message(rule.message, **rule.py_values(r, self.context)))
            for rule in ROW_RULES
            if rule.py(r, self.context)
        ]
        return r, problems

    def check(self, row: int, values: dict[str, Any]) -> None:
        """Check one row against every rule; keep it if it passes them all."""
        r, problems = self.explain(row, values)
        for rule, text in problems:
            self.error(row, rule.field, text)
            if rule.key == "no_mapping":
                self.unmapped.add(
                    r.year.code if r.year else "", r.cc or "", r.ec or "", r.amount_raw
                )
        if problems:
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
                amount=to_money(r.amount_raw),
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
