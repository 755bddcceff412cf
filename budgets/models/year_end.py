"""Year end (domain.md 1.6): a fund's year closed with its final outturn frozen, and the settlement
with each partner under the year's risk-share agreement.

A close's figures are written once: settlement lines refuse any change, and reopening only marks the
close reopened (who, when, why) and keeps its figures for the record. Closing again writes a new run.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models.fields import MoneyField
from budgets.models.funds import PooledFund
from budgets.models.reference import FinancialYear
from localities.models import Organisation


class YearEnd(models.Model):
    """One close of a fund's financial year: the final outturn (actuals to M13) and how the
    over- or underspend was shared."""

    class Status(models.TextChoices):
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Reopened"

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="year_ends")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="year_ends")
    run = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.CLOSED)
    budget = MoneyField()
    outturn = MoneyField()
    variance = MoneyField()
    rule = models.CharField(max_length=10)
    underspend = models.CharField(max_length=16)
    inputs = models.JSONField(default=dict, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "year__start_date", "run"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "run"], name="uniq_year_end_run"),
            models.UniqueConstraint(
                fields=["fund", "year"],
                condition=models.Q(status="closed"),
                name="uniq_year_end_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.year.code} year end run {self.run} ({self.status})"


class FrozenSettlement(Exception):
    """A settlement line never changes once written."""


class Settlement(models.Model):
    """What one partner and the host owe each other when the year closes (domain.md 1.6).

    net_due = contribution - carried_forward_in - receipts + variance_share - underspend_returned
    (positive: the partner pays the host; negative: the host pays the partner). A share of an
    underspend is returned, retained in the pool or carried into next year's contribution, as the
    agreement says.
    """

    year_end = models.ForeignKey(YearEnd, on_delete=models.PROTECT, related_name="settlements")
    partner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    is_host = models.BooleanField(default=False)
    contribution = MoneyField()
    carried_forward_in = MoneyField(default=Decimal("0.00"))
    receipts = MoneyField()
    variance_share = MoneyField()
    underspend_returned = MoneyField(default=Decimal("0.00"))
    underspend_retained = MoneyField(default=Decimal("0.00"))
    underspend_carried_forward = MoneyField(default=Decimal("0.00"))
    net_due = MoneyField()

    class Meta:
        ordering = ["year_end_id", "-is_host", "partner__code"]
        constraints = [
            models.UniqueConstraint(fields=["year_end", "partner"], name="uniq_settlement_partner")
        ]

    def __str__(self) -> str:
        return f"settlement {self.partner_id}: {self.net_due}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise FrozenSettlement("A settlement is frozen when the year closes: it cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise FrozenSettlement("A settlement is frozen when the year closes: it cannot be deleted.")
