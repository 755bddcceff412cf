"""Financial years: an administrator opens any year, April to March, with its periods M1..M13.

Opening is idempotent: an existing year is returned as it is, with any missing period added.
"""

from __future__ import annotations

import re

from django.db import transaction

from budgets.models import FinancialYear, Period
from budgets.models.reference import year_code
from budgets.seed import period_dates, year_dates
from gmhsc.audit import audit
from gmhsc.errors import ApplicationError, NotAllowed
from localities import roles
from localities.actors import Actor

YEAR_CODE = re.compile(r"^(?P<start>\d{4})/(?P<end>\d{2})$")
EARLIEST, LATEST = 1990, 2199


def parse_year_code(code: object) -> int:
    """'2017/18' -> 2017. Refuses anything not written YYYY/YY with consecutive years."""
    text = str(code or "").strip()
    match = YEAR_CODE.match(text)
    if match is None:
        raise ApplicationError(
            f"'{text}' is not a financial year: write it like 2017/18.", extra={"field": "code"}
        )
    start = int(match["start"])
    if year_code(start) != text:
        raise ApplicationError(
            f"{text} is not one year: the years must be consecutive, like {year_code(start)}.",
            extra={"field": "code"},
        )
    if not EARLIEST <= start <= LATEST:
        raise ApplicationError(
            f"{text} is outside the years gmhsc keeps ({year_code(EARLIEST)} to "
            f"{year_code(LATEST)}).",
            extra={"field": "code"},
        )
    return start


def financial_year_open(*, actor: Actor, code: str, reason: str = "") -> tuple[FinancialYear, bool]:
    """Open the year `code` (e.g. '2018/19') with M1 (April) .. M12 (March) and M13 (year-end
    adjustments). Returns (year, created); opening a year that exists changes nothing."""
    if not roles.is_administrator(actor):
        raise NotAllowed("Only an administrator can open a financial year.")
    start = parse_year_code(code)
    text = year_code(start)
    with transaction.atomic():
        year = FinancialYear.objects.select_for_update().filter(code=text).first()
        created = year is None
        if year is None:
            first, last = year_dates(text)
            year = FinancialYear(code=text, start_date=first, end_date=last)
            audit(year, actor=actor, reason=reason or f"Financial year {text} opened")
            year.save()
        have = set(Period.objects.filter(year=year).values_list("number", flat=True))
        missing = []
        for number in range(1, 14):
            if number in have:
                continue
            p_start, p_end = period_dates(text, number)
            missing.append(Period(year=year, number=number, start_date=p_start, end_date=p_end))
        Period.objects.bulk_create(missing)
    return year, created
