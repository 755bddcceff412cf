"""The first rows of a sample file read through a profile that is being built: each row's values
as gmhsc reads them (the date as a date, the amount in pounds and pence through gmhsc.money), the
budget line the mappings send it to, and every problem the posting rules find. Nothing is saved."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Any

from budgets.ledger.imports import reading
from budgets.ledger.mapping_rules import LinesByMapping
from budgets.ledger.posting_rules import partner_fund_ids
from budgets.ledger.profiles import ProfileSpec
from budgets.ledger.row_checker import RowChecker
from gmhsc.money import MoneyError, to_money
from localities.models import Organisation


@dataclass
class SampleRow:
    row: int
    document_number: str
    line_number: str
    posting_date: date | None
    date_text: str
    amount: Decimal | None
    amount_text: str
    cost_centre: str
    expense_code: str
    supplier: str
    description: str
    budget_line: str  # "FUND · LINE", or "" when not mapped
    outside: bool
    problems: list[str] = field(default_factory=list)


def parsed_rows(
    handle: IO[bytes], spec: ProfileSpec, organisation: Organisation, *, limit: int = 20
) -> list[SampleRow]:
    """The first `limit` data rows of the file as the profile reads them. Raises HeaderError or
    UploadRefused when the profile cannot read the file at all."""
    reading.check_sample(handle, spec)
    table = reading.open_table(handle, spec)
    project = reading.Projection(spec, table.columns, organisation.code)
    checker = RowChecker(
        organisation,
        lines=LinesByMapping(organisation, partner_fund_ids(organisation)),
        dialect=spec.dialect,
        leave_outside=spec.outside_pools == "leave",
    )
    rows: list[SampleRow] = []
    for number, cells in itertools.islice(table.rows, limit):
        values: dict[str, Any] = project(cells)
        r, problems = checker.explain(number, values)
        amount = None
        if r.amt_text is not None:
            try:
                amount = to_money(r.amt_text)
            except MoneyError:
                amount = None
        line = r.line
        rows.append(
            SampleRow(
                row=number,
                document_number=r.doc or "",
                line_number=r.ln_text or "",
                posting_date=r.posting_date,
                date_text=r.date_text or "",
                amount=amount,
                amount_text=r.amt_text or "",
                cost_centre=r.cc or "",
                expense_code=r.ec or "",
                supplier=r.supplier or "",
                description=r.description,
                budget_line=f"{line.fund.code} · {line.code} {line.name}" if line else "",
                outside=r.outside,
                problems=[f"{rule.field}: {text}" for rule, text in problems],
            )
        )
    for problem in table.problems:
        if len(rows) < limit:
            rows.append(
                SampleRow(
                    row=problem["row"],
                    document_number="",
                    line_number="",
                    posting_date=None,
                    date_text="",
                    amount=None,
                    amount_text="",
                    cost_centre="",
                    expense_code="",
                    supplier="",
                    description="",
                    budget_line="",
                    outside=False,
                    problems=[problem["message"]],
                )
            )
    handle.seek(0)
    return sorted(rows, key=lambda r: r.row)
