"""Transparency spend files, per organisation and month or quarter (domain.md 5).

- Councils: Local Government Transparency Code 2015, "spend over £500": the seven mandatory fields
  (date incurred, department, beneficiary, summary of purpose, amount, irrecoverable VAT, merchant
  category) plus body name and transaction number.
- NHS bodies: HM Treasury "spend over £25,000": department family, entity, date of payment, expense
  type, expense area, supplier, transaction number, amount, description.

The threshold applies to the whole invoice: postings are grouped by document number and every line
of an invoice whose net total exceeds the threshold (credit notes by their size) is published, so a
single line may be under it. Accruals and their reversals are not payments and are left out.

Payments to individuals are redacted (beneficiary and description), because the ledger carries no
personal-data flag of its own. A posting counts as a payment to an individual when either
- its budget line's service area is one whose payments go to people (default: ASC.DP, direct
  payments and personal budgets; setting GMHSC_TRANSPARENCY_INDIVIDUAL_SERVICE_AREAS), or
- its supplier name matches a configured marker (setting GMHSC_TRANSPARENCY_INDIVIDUAL_PATTERNS,
  regular expressions; by default a title such as "Mr", "Mrs", "Ms", "Miss", "Mx", "Dr" at the
  start, or the marker "[individual]" that finance teams can add to a supplier's name in the ledger).
Both are data the finance officer controls without a code change, and a false positive only hides
a name (the amount is still published), which is the safe way to be wrong.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from budgets.models import FinancialYear, SpendPosting
from budgets.reports.safety import neutralise
from localities.models import Organisation

REDACTED_BENEFICIARY = "Redacted: payment to an individual"
REDACTED_DESCRIPTION = "Redacted: personal data"
DEFAULT_INDIVIDUAL_PATTERNS = [r"^\s*(mr|mrs|ms|miss|mx|dr)\.?\s", r"\[individual\]"]
DEFAULT_INDIVIDUAL_SERVICE_AREAS = ["ASC.DP"]
NHS_KINDS = {"nhs_england", "ccg", "nhs_provider"}
BOM = "\ufeff"


@dataclass(frozen=True)
class TransparencyTemplate:
    code: str
    title: str
    threshold: Decimal
    header: tuple[str, ...]


LGTC500 = TransparencyTemplate(
    code="lgtc500",
    title="Local Government Transparency Code 2015: spend over £500",
    threshold=Decimal("500.00"),
    header=(
        "Body name",
        "Date incurred",
        "Department",
        "Beneficiary",
        "Summary of purpose",
        "Amount",
        "Irrecoverable VAT",
        "Merchant category",
        "Transaction number",
    ),
)
HMT25K = TransparencyTemplate(
    code="hmt25k",
    title="HM Treasury: spend over £25,000",
    threshold=Decimal("25000.00"),
    header=(
        "Department family",
        "Entity",
        "Date of payment",
        "Expense type",
        "Expense area",
        "Supplier",
        "Transaction number",
        "Amount",
        "Description",
    ),
)
TEMPLATES = {t.code: t for t in (LGTC500, HMT25K)}
DEPARTMENT_FAMILY = "Department of Health"


def default_template_for(organisation: Organisation) -> str:
    return HMT25K.code if organisation.kind in NHS_KINDS else LGTC500.code


def period_numbers(scope: str, number: int) -> list[int]:
    """month n -> [n]; quarter q (1..4) -> its three months (Q1 = M1..M3, April to June)."""
    if scope == "quarter":
        if not 1 <= number <= 4:
            raise ValueError("quarter must be 1 to 4")
        return [3 * number - 2, 3 * number - 1, 3 * number]
    if not 1 <= number <= 13:
        raise ValueError("month must be 1 to 13")
    return [number]


def _individual_rules() -> tuple[list[re.Pattern[str]], set[str]]:
    patterns = getattr(
        settings, "GMHSC_TRANSPARENCY_INDIVIDUAL_PATTERNS", DEFAULT_INDIVIDUAL_PATTERNS
    )
    areas = getattr(
        settings, "GMHSC_TRANSPARENCY_INDIVIDUAL_SERVICE_AREAS", DEFAULT_INDIVIDUAL_SERVICE_AREAS
    )
    return [re.compile(p, re.IGNORECASE) for p in patterns], set(areas)


def is_individual(supplier: str, service_area_code: str) -> bool:
    patterns, areas = _individual_rules()
    return service_area_code in areas or any(p.search(supplier or "") for p in patterns)


def transparency_rows(
    *, organisation: Organisation, year: FinancialYear, numbers: list[int], template: str
) -> list[list[str]]:
    """The file's rows (without header), invoices over the template's threshold, date order."""
    tpl = TEMPLATES[template]
    postings = list(
        SpendPosting.objects.filter(
            organisation=organisation,
            period__year=year,
            period__number__in=numbers,
            is_accrual=False,
        )
        .exclude(reverses__is_accrual=True)
        .select_related("budget_line__service_area__parent", "fund")
        .order_by("posting_date", "document_number", "line_number")
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for p in postings:
        totals[p.document_number] += p.amount
    published = {doc for doc, total in totals.items() if abs(total) > tpl.threshold}
    patterns, areas = _individual_rules()
    rows = []
    for p in postings:
        if p.document_number not in published:
            continue
        area = p.budget_line.service_area
        parent = area.parent or area
        person = area.code in areas or any(pat.search(p.supplier or "") for pat in patterns)
        supplier = REDACTED_BENEFICIARY if person else p.supplier
        description = REDACTED_DESCRIPTION if person else p.description
        date = p.posting_date.strftime("%d/%m/%Y")
        amount = f"{p.amount:.2f}"
        if tpl is LGTC500:
            values = [
                organisation.name,
                date,
                parent.name,
                supplier,
                description,
                amount,
                "",  # irrecoverable VAT: not held in the ledger feed (amounts are net)
                area.name,
                p.document_number,
            ]
        else:
            values = [
                DEPARTMENT_FAMILY,
                organisation.name,
                date,
                area.name,
                parent.name,
                supplier,
                p.document_number,
                amount,
                description,
            ]
        rows.append(values)
    return rows


def render_transparency_csv(
    rows: list[list[str]], template: str, progress: Callable[[float], None] | None = None
) -> bytes:
    tpl = TEMPLATES[template]
    amount_index = tpl.header.index("Amount")
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(tpl.header)
    for n, row in enumerate(rows, start=1):
        writer.writerow(
            [value if i == amount_index else neutralise(value) for i, value in enumerate(row)]
        )
        if progress is not None and n % 1000 == 0:
            progress(n / len(rows))
    return out.getvalue().encode("utf-8")
