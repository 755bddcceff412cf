"""Financial years, periods and the service-area taxonomy."""

from __future__ import annotations

import re

from django.db import models
from simple_history.models import HistoricalRecords

# M13 takes year-end adjustments: it opens once M12 closes, and closes and reopens with the year.
YEAR_END_PERIOD = 13
PERIOD_CODE = re.compile(r"^(?P<year>\d{4}/\d{2})-M(?P<number>\d{2})$")
MONTH_NAMES = [
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
    "Jan",
    "Feb",
    "Mar",
    "Adj",
]


class FinancialYear(models.Model):
    """April to March, named `2016/17`."""

    code = models.CharField(max_length=7, unique=True)
    start_date = models.DateField()
    end_date = models.DateField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date"]

    def __str__(self) -> str:
        return self.code

    @property
    def previous_code(self) -> str:
        return year_code(int(self.code[:4]) - 1)

    @property
    def next_code(self) -> str:
        return year_code(int(self.code[:4]) + 1)


def year_code(start: int) -> str:
    """The financial year that starts in April of `start`: 2016 -> '2016/17'."""
    return f"{start}/{(start + 1) % 100:02d}"


class Period(models.Model):
    """M1 (April) .. M12 (March), plus M13 for year-end adjustments. Referred to as `2016/17-M06`."""

    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="periods")
    number = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["year__start_date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="uniq_period_number"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1, number__lte=13), name="period_number_1_to_13"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def code(self) -> str:
        return f"{self.year.code}-M{self.number:02d}"

    @property
    def month_name(self) -> str:
        return MONTH_NAMES[self.number - 1]


class ServiceArea(models.Model):
    """Two-level taxonomy (domain.md 3.4): level 1 for dashboards, level 2 for lines and exports."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="children", null=True, blank=True
    )
    maps_to = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def level(self) -> int:
        return 1 if self.parent_id is None else 2
