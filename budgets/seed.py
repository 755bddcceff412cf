"""Reference data for budgets: financial years with their periods and the service-area taxonomy."""

from __future__ import annotations

import calendar
import csv
from datetime import date
from pathlib import Path

from django.db import transaction

from budgets.models import FinancialYear, Period, ServiceArea

DATA = Path(__file__).resolve().parent / "data"
YEARS = ["2015/16", "2016/17", "2017/18"]


def year_dates(code: str) -> tuple[date, date]:
    start = int(code[:4])
    return date(start, 4, 1), date(start + 1, 3, 31)


def period_dates(code: str, number: int) -> tuple[date, date]:
    """M1 is April ... M12 is March; M13 (year-end adjustments) is dated 31 March."""
    start_year = int(code[:4])
    if number == 13:
        return date(start_year + 1, 3, 31), date(start_year + 1, 3, 31)
    month = (number + 2) % 12 + 1
    year = start_year if number <= 9 else start_year + 1
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@transaction.atomic
def seed_years(codes: list[str] | None = None) -> int:
    for code in codes or YEARS:
        start, end = year_dates(code)
        year, _ = FinancialYear.objects.update_or_create(
            code=code, defaults={"start_date": start, "end_date": end}
        )
        for number in range(1, 14):
            p_start, p_end = period_dates(code, number)
            Period.objects.update_or_create(
                year=year, number=number, defaults={"start_date": p_start, "end_date": p_end}
            )
    return FinancialYear.objects.count()


@transaction.atomic
def seed_service_areas() -> int:
    for name in ("service_areas.csv", "service_areas_optional.csv"):
        with (DATA / name).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        for row in sorted(rows, key=lambda r: bool(r["parent_code"])):  # level 1 first
            parent = (
                ServiceArea.objects.get(code=row["parent_code"]) if row["parent_code"] else None
            )
            ServiceArea.objects.update_or_create(
                code=row["code"],
                defaults={"name": row["name"], "parent": parent, "maps_to": row["maps_to"]},
            )
    return ServiceArea.objects.count()
