"""Budget setting: how next year's draft budget was rolled forward from this year's (domain.md 1.3).

One BudgetSetting per fund and target year records the rates used (fund-wide, and per service area
in BudgetSettingRate) and what was dropped; one RolledLine per carried line keeps its columns
(prior recurrent budget, uplift, efficiency, new budget) even after the draft line is edited.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models.fields import MoneyField
from budgets.models.funds import PooledFund
from budgets.models.lines import BudgetLine
from budgets.models.reference import FinancialYear, ServiceArea


def PercentField(**kwargs: object) -> models.DecimalField:
    """A rate in percent to 2 places, e.g. 2.10 (uplift) or 1.50 (efficiency)."""
    kwargs.setdefault("max_digits", 7)
    kwargs.setdefault("decimal_places", 2)
    return models.DecimalField(**kwargs)  # type: ignore[arg-type]


class BudgetSetting(models.Model):
    """The roll forward of a fund's budget into `year` from `from_year`, and its rates."""

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="budget_settings")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    from_year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    uplift_pct = PercentField(default=Decimal("0.00"))
    efficiency_pct = PercentField(default=Decimal("0.00"))
    contribution_uplift_pct = PercentField(default=Decimal("0.00"))
    # {partner code: pct} where a partner's contribution uplift differs from the fund's.
    contribution_rates = models.JSONField(default=dict, blank=True)
    # What did not carry: [{"code", "name", "kind": "line"|"one_off", "amount", "why"}].
    dropped = models.JSONField(default=list, blank=True)
    # What else the roll forward did, in words (successor organisations, agreement, mappings).
    notes = models.JSONField(default=list, blank=True)
    # Each partner's contribution: [{"partner", "prior", "uplift_pct", "new"}].
    contributions = models.JSONField(default=list, blank=True)
    lines_carried = models.PositiveIntegerField(default=0)
    rolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    rolled_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "year__start_date"]
        constraints = [models.UniqueConstraint(fields=["fund", "year"], name="uniq_budget_setting")]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.year.code} set from {self.from_year.code}"


class BudgetSettingRate(models.Model):
    """A service area's own uplift and efficiency, in place of the fund-wide rates."""

    setting = models.ForeignKey(BudgetSetting, on_delete=models.CASCADE, related_name="rates")
    service_area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="+")
    uplift_pct = PercentField()
    efficiency_pct = PercentField()

    class Meta:
        ordering = ["setting_id", "service_area__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["setting", "service_area"], name="uniq_budget_setting_rate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_area.code}: +{self.uplift_pct}% -{self.efficiency_pct}%"


class RolledLine(models.Model):
    """One carried line's budget-setting columns: new = prior + uplift - efficiency."""

    setting = models.ForeignKey(BudgetSetting, on_delete=models.CASCADE, related_name="lines")
    line = models.OneToOneField(BudgetLine, on_delete=models.CASCADE, related_name="rolled_from")
    source_line = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="+")
    prior_recurrent = MoneyField()
    one_off_dropped = MoneyField(default=Decimal("0.00"))
    uplift_pct = PercentField()
    efficiency_pct = PercentField()
    uplift = MoneyField()
    efficiency = MoneyField()
    new_budget = MoneyField()

    class Meta:
        ordering = ["setting_id", "line_id"]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.prior_recurrent} -> {self.new_budget}"
