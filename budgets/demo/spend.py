"""Demo spend for 2016/17: ledger mappings for every demo budget line and six months (M1..M6) of
postings, with a few accruals (reversed the month after) and corrected mistakes.

Deterministic (random.Random(2016)) and idempotent: every posting has its ledger's natural key
(organisation, document, line), so a second run posts nothing. Rows go through the same checks as
every posting (budgets.ledger.posting_rules.RowChecker) and are inserted in bulk, then marked stale.
Suppliers are NHS trusts from the reference data and care providers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from budgets.ledger.posting_rules import Calendar, LinesById, partner_fund_ids
from budgets.ledger.row_checker import RowChecker
from budgets.ledger.services.mappings import bulk_mappings_create
from budgets.ledger.services.postings import insert_checked, lock_organisation, spend_reverse
from budgets.models import BudgetLine, FinancialYear, LedgerMapping, Period, SpendPosting
from gmhsc.money import split_largest_remainder
from localities import roles
from localities.models import Organisation, User

SEED = 2016
YEAR = "2016/17"
MONTHS = range(1, 7)
CARE_PROVIDERS = [
    "Anchor Hanover Care Homes",
    "Care UK Community Partnerships",
    "Allied Healthcare Ltd",
    "Making Space",
    "Bupa Care Homes",
    "Mears Care Ltd",
    "Creative Support Ltd",
    "Community Integrated Care",
    "Turning Point",
    "Bridgewater Community Healthcare",
    "Age UK Salford",
    "Stockport Homes Care and Repair",
]


def _lines(year: FinancialYear) -> list[BudgetLine]:
    return list(
        BudgetLine.objects.filter(year=year)
        .select_related("fund", "year", "service_area", "lead_commissioner")
        .order_by("fund__code", "code")
    )


def _poster(line: BudgetLine, partners: dict[int, set[int]]) -> int:
    """The lead commissioner posts its line's spend when it is a partner, else the host."""
    if line.fund_id in partners.get(line.lead_commissioner_id, set()):
        return line.lead_commissioner_id
    return line.fund.host_id


def _suppliers() -> list[str]:
    trusts = list(
        Organisation.objects.filter(kind=Organisation.Kind.NHS_PROVIDER)
        .order_by("code")
        .values_list("name", flat=True)[:30]
    )
    return trusts + CARE_PROVIDERS


def _actor() -> User:
    """The demo's first administrator, who records the demo postings (the demo users come first)."""
    return User.objects.filter(groups__name=roles.ADMINISTRATOR).order_by("pk")[:1].get()


def seed() -> Iterator[str]:
    year = FinancialYear.objects.filter(code=YEAR).first()
    lines = _lines(year) if year else []
    if not lines:
        yield f"spend demo: no budget lines for {YEAR} yet (run budgets.demo.funds first); nothing posted"
        return
    assert year is not None
    rng = random.Random(SEED)
    suppliers = _suppliers()
    org_ids = sorted(
        {line.lead_commissioner_id for line in lines} | {line.fund.host_id for line in lines}
    )
    organisations = {o.pk: o for o in Organisation.objects.filter(pk__in=org_ids)}
    partners = {pk: partner_fund_ids(org) for pk, org in organisations.items()}
    areas = sorted({line.service_area.code for line in lines})
    expense = {code: f"E{5100 + 10 * i}" for i, code in enumerate(areas)}
    periods = {p.number: p for p in Period.objects.filter(year=year, number__lte=12)}
    actor = _actor()

    # Ledger mappings: one cost centre per line, the expense code by service area.
    by_org: dict[int, list[tuple[str, str, BudgetLine]]] = defaultdict(list)
    rows_by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for index, line in enumerate(lines, start=1):
        poster = _poster(line, partners)
        by_org[poster].append((f"C{index:05d}", expense[line.service_area.code], line))
        for number in MONTHS:
            rows_by_org[poster].extend(_month_rows(rng, line, index, periods[number], suppliers))
    mapped = 0
    with transaction.atomic():
        for org_id, mapping_rows in sorted(by_org.items()):
            mapped += bulk_mappings_create(
                organisation=organisations[org_id], year=year, rows=mapping_rows
            )
    yield f"spend demo: {mapped} ledger mappings ({LedgerMapping.objects.filter(year=year).count()} in {YEAR})"

    posted = already = 0
    calendar = Calendar()
    by_id = LinesById({line.pk: line for line in lines})

    with transaction.atomic():
        for org_id, rows in sorted(rows_by_org.items()):
            organisation = organisations[org_id]
            lock_organisation(organisation)
            checker = RowChecker(organisation, calendar, lines=by_id)
            for number, values in enumerate(rows, start=1):
                checker.check(number, values)
            checker.finish()
            if checker.errors:
                first = checker.errors[0]
                yield (
                    f"spend demo: {organisation.code} not posted: {len(checker.errors)} problems, "
                    f"first row {first['row']} {first['field']}: {first['message']}"
                )
                continue
            insert_checked(
                actor=actor,
                organisation=organisation,
                rows=checker.rows,
                ledger_import=None,
                return_postings=False,
            )
            new = sum(1 for r in checker.rows if not r.already_posted)
            posted += new
            already += len(checker.rows) - new
    yield f"spend demo: {posted} postings for {YEAR} M1-M6 ({already} already posted)"
    reversed_count = _reverse_accruals_and_mistakes(actor, year)
    yield f"spend demo: {reversed_count} accruals and mistakes reversed"


def _month_rows(
    rng: random.Random, line: BudgetLine, index: int, period: Period, suppliers: list[str]
) -> list[dict[str, Any]]:
    """A month of invoices for one line: its phased budget give or take 12%, in 1 to 3 invoice
    lines; now and then an accrual at month end, or a mistake (posted twice)."""
    budget = getattr(line, f"m{period.number:02d}")
    if budget <= 0:
        return []
    actual = (budget * Decimal(rng.randrange(88, 113)) / 100).quantize(Decimal("0.01"))
    parts = split_largest_remainder(
        actual, [rng.randrange(1, 10) for _ in range(rng.randrange(1, 4))]
    )
    document = f"AP{period.number:02d}-{index:05d}"
    days = (period.end_date - period.start_date).days
    rows = []
    for n, amount in enumerate(parts, start=1):
        supplier = suppliers[rng.randrange(len(suppliers))]
        rows.append(
            {
                "document_number": document,
                "line_number": n,
                "posting_date": period.start_date + timedelta(days=rng.randrange(days + 1)),
                "amount": amount,
                "budget_line": line.pk,
                "supplier": supplier,
                "description": f"{line.name}: {period.month_name} services",
                "is_accrual": False,
            }
        )
    roll = rng.random()
    if roll < 0.02 and period.number < 6:
        rows.append(
            {
                "document_number": f"ACR{period.number:02d}-{index:05d}",
                "line_number": 1,
                "posting_date": period.end_date,
                "amount": (budget * Decimal("0.05")).quantize(Decimal("0.01")),
                "budget_line": line.pk,
                "supplier": suppliers[rng.randrange(len(suppliers))],
                "description": f"Accrual: {period.month_name} activity not yet invoiced",
                "is_accrual": True,
            }
        )
    elif roll > 0.995:
        rows.append(
            {
                **rows[0],
                "document_number": f"DUP{period.number:02d}-{index:05d}",
                "description": "Invoice keyed twice (reversed)",
            }
        )
    return rows


def _reverse_accruals_and_mistakes(actor: User, year: FinancialYear) -> int:
    """Accruals reverse in the following month; invoices keyed twice reverse in their month."""
    candidates = (
        SpendPosting.objects.filter(period__year=year, reverses__isnull=True)
        .filter(document_number__regex=r"^(ACR|DUP)[0-9]{2}-")
        .select_related("organisation", "fund", "period__year", "budget_line")
        .order_by("document_number", "organisation_id", "line_number")
    )
    count = 0
    periods = {p.number: p for p in Period.objects.filter(year=year, number__lte=12)}
    for posting in candidates:
        if SpendPosting.objects.filter(reverses=posting).exists():
            continue
        accrual = posting.document_number.startswith("ACR")
        target = periods[posting.period.number + 1] if accrual else posting.period
        spend_reverse(
            actor=actor,
            posting=posting,
            reason="Accrual reversed on invoice" if accrual else "Invoice keyed twice",
            period=target,
        )
        count += 1
    return count


__all__ = ["seed"]
