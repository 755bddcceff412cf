"""Budget lines with their phasing, the recorded changes to them, and forecasts."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models.fields import MoneyField
from budgets.models.funds import PooledFund
from budgets.models.reference import FinancialYear, Period, ServiceArea
from gmhsc.money import format_money
from localities.models import Locality, Organisation

MONTH_FIELDS = [f"m{n:02d}" for n in range(1, 13)]
HALF_PENNY = Decimal("0.005")


def _equal_to_the_penny(field: str, expression: models.Expression | models.F) -> models.Q:
    """field == expression for amounts in whole pennies. Written as "within half a penny" because
    SQLite evaluates CHECK arithmetic on NUMERIC columns in binary floating point (10833.34 * 4 +
    10833.33 * 8 is not exactly 130000 there); on PostgreSQL's exact NUMERIC it means equality."""
    return models.Q(**{f"{field}__gt": expression - models.Value(HALF_PENNY)}) & models.Q(
        **{f"{field}__lt": expression + models.Value(HALF_PENNY)}
    )


class BudgetLine(models.Model):
    """One line of a fund's budget for one year.

    current_budget = original_budget + changes, and m01..m12 always sum to current_budget;
    both are database constraints. `version` increases on every save (optimistic locking).
    """

    class Phasing(models.TextChoices):
        FLAT = "flat", "Flat (1/12 a month)"
        CUSTOM = "custom", "Custom (12 values)"
        SEASONAL = "seasonal", "Seasonal (winter-weighted)"
        LAST_YEAR = "last_year", "Last year's actual pattern"

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="lines")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="lines")
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    service_area = models.ForeignKey(ServiceArea, on_delete=models.PROTECT, related_name="lines")
    locality = models.ForeignKey(
        Locality, on_delete=models.PROTECT, related_name="lines", null=True, blank=True
    )
    lead_commissioner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="led_lines"
    )
    recurrent = models.BooleanField(default=True)
    original_budget = MoneyField(default=Decimal("0.00"))
    changes = MoneyField(default=Decimal("0.00"))
    current_budget = MoneyField(default=Decimal("0.00"))
    phasing_method = models.CharField(max_length=10, choices=Phasing.choices, default=Phasing.FLAT)
    m01 = MoneyField(default=Decimal("0.00"))
    m02 = MoneyField(default=Decimal("0.00"))
    m03 = MoneyField(default=Decimal("0.00"))
    m04 = MoneyField(default=Decimal("0.00"))
    m05 = MoneyField(default=Decimal("0.00"))
    m06 = MoneyField(default=Decimal("0.00"))
    m07 = MoneyField(default=Decimal("0.00"))
    m08 = MoneyField(default=Decimal("0.00"))
    m09 = MoneyField(default=Decimal("0.00"))
    m10 = MoneyField(default=Decimal("0.00"))
    m11 = MoneyField(default=Decimal("0.00"))
    m12 = MoneyField(default=Decimal("0.00"))
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["fund__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "code"], name="uniq_line_code"),
            models.CheckConstraint(
                condition=_equal_to_the_penny(
                    "current_budget", models.F("original_budget") + models.F("changes")
                ),
                name="line_current_is_original_plus_changes",
            ),
            models.CheckConstraint(
                condition=_equal_to_the_penny(
                    "current_budget",
                    models.F("m01")
                    + models.F("m02")
                    + models.F("m03")
                    + models.F("m04")
                    + models.F("m05")
                    + models.F("m06")
                    + models.F("m07")
                    + models.F("m08")
                    + models.F("m09")
                    + models.F("m10")
                    + models.F("m11")
                    + models.F("m12"),
                ),
                name="line_phasing_sums_to_current",
            ),
        ]
        indexes = [
            models.Index(fields=["fund", "year", "service_area"]),
            models.Index(fields=["lead_commissioner"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def phasing(self) -> list[Decimal]:
        return [getattr(self, f) for f in MONTH_FIELDS]

    def ytd_budget(self, period_number: int) -> Decimal:
        return sum(self.phasing[: min(period_number, 12)], Decimal("0.00"))


class BudgetAdjustment(models.Model):
    """A recorded change to an approved line's budget (e.g. an agreed in-year contribution change)."""

    line = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="adjustments")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()
    recurrent = models.BooleanField(default=False)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Adjustment {format_money(self.amount, pence=True)} to {self.line.code}"


class Virement(models.Model):
    """A zero-sum move of budget between two lines of one fund."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        AWAITING_BOARD = "awaiting_board", "Awaiting board decision"
        APPROVED = "approved", "Approved"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    TRANSITIONS = {
        Status.REQUESTED: {
            Status.APPROVED,
            Status.AWAITING_BOARD,
            Status.REJECTED,
            Status.WITHDRAWN,
        },
        Status.AWAITING_BOARD: {Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
        Status.APPROVED: {Status.APPLIED},
        Status.APPLIED: set(),
        Status.REJECTED: set(),
        Status.WITHDRAWN: set(),
    }

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="virements")
    from_line = models.ForeignKey(
        BudgetLine, on_delete=models.PROTECT, related_name="virements_out"
    )
    to_line = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="virements_in")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()
    recurrent = models.BooleanField(default=False)
    reason = models.TextField()
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    # A board decision's reference (e.g. JCB/2016/017) when a board approved it; budgets never imports boards.
    approval_reference = models.CharField(max_length=40, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="virement_amount_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_line=models.F("to_line")),
                name="virement_between_two_lines",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Virement {format_money(self.amount)} {self.from_line.code} -> {self.to_line.code} "
            f"({self.get_status_display().lower()})"
        )


class Forecast(models.Model):
    """Forecast outturn for a line, as at one period, with commentary."""

    line = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="forecasts")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="forecasts")
    amount = MoneyField()
    commentary = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["line_id", "period_id"]
        constraints = [models.UniqueConstraint(fields=["line", "period"], name="uniq_forecast")]

    def __str__(self) -> str:
        return f"Forecast {self.line.code} {self.period.code}: {format_money(self.amount)}"
