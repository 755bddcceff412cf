"""Savings plans (QIPP / cost improvement): the named schemes that deliver a budget's efficiencies
(domain.md 1.6), their planned saving by month and what was delivered each month."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models.fields import MoneyField
from budgets.models.funds import PooledFund
from budgets.models.lines import BudgetLine
from budgets.models.reference import FinancialYear
from localities.models import Organisation

PLANNED_FIELDS = [f"p{n:02d}" for n in range(1, 13)]


class SavingsScheme(models.Model):
    """A named saving in one fund and year: who leads it, which lines it reduces, and the saving
    planned in each month M1..M12."""

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="savings_schemes")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    lead_commissioner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="savings_schemes"
    )
    lines = models.ManyToManyField(BudgetLine, related_name="savings_schemes", blank=True)
    p01 = MoneyField(default=Decimal("0.00"))
    p02 = MoneyField(default=Decimal("0.00"))
    p03 = MoneyField(default=Decimal("0.00"))
    p04 = MoneyField(default=Decimal("0.00"))
    p05 = MoneyField(default=Decimal("0.00"))
    p06 = MoneyField(default=Decimal("0.00"))
    p07 = MoneyField(default=Decimal("0.00"))
    p08 = MoneyField(default=Decimal("0.00"))
    p09 = MoneyField(default=Decimal("0.00"))
    p10 = MoneyField(default=Decimal("0.00"))
    p11 = MoneyField(default=Decimal("0.00"))
    p12 = MoneyField(default=Decimal("0.00"))
    # The lead's forecast of the year's delivery; blank: delivered so far plus the plan still to come.
    forecast_delivery = MoneyField(null=True, blank=True)
    commentary = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[lines], excluded_fields=["updated_at"])

    class Meta:
        ordering = ["fund__code", "year__start_date", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "code"], name="uniq_savings_scheme"),
            models.CheckConstraint(
                condition=models.Q(forecast_delivery__gte=0)
                | models.Q(forecast_delivery__isnull=True),
                name="savings_forecast_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def planned(self) -> list[Decimal]:
        return [getattr(self, f) for f in PLANNED_FIELDS]

    @property
    def planned_total(self) -> Decimal:
        return sum(self.planned, Decimal("0.00"))


class SavingsDelivery(models.Model):
    """The saving delivered by a scheme in one month, as its lead recorded it."""

    scheme = models.ForeignKey(SavingsScheme, on_delete=models.CASCADE, related_name="deliveries")
    month = models.PositiveSmallIntegerField()
    amount = MoneyField()
    commentary = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["recorded_at"])

    class Meta:
        ordering = ["scheme_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "month"], name="uniq_savings_delivery"),
            models.CheckConstraint(
                condition=models.Q(month__gte=1, month__lte=12), name="savings_month_1_to_12"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scheme_id} M{self.month:02d}: {self.amount}"
