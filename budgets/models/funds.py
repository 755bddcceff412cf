"""Pooled funds, who contributes, how over- and underspends are shared, and period status."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models.fields import MoneyField
from budgets.models.reference import FinancialYear, Period
from gmhsc.money import format_money
from localities.models import Locality, Organisation


class PooledFund(models.Model):
    class Scope(models.TextChoices):
        GM = "gm", "Greater Manchester-wide"
        LOCALITY = "locality", "Locality"

    class Arrangement(models.TextChoices):
        POOLED = "pooled", "Pooled (Section 75, host holds the money)"
        ALIGNED = "aligned", "Aligned (partners keep their own budgets)"

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    locality = models.ForeignKey(
        Locality, on_delete=models.PROTECT, related_name="funds", null=True, blank=True
    )
    arrangement = models.CharField(
        max_length=10, choices=Arrangement.choices, default=Arrangement.POOLED
    )
    host = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="hosted_funds")
    is_bcf = models.BooleanField("Better Care Fund pool", default=False)
    # RAG on forecast variance %: green below amber, amber from amber_pct, red above red_pct.
    rag_amber_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("2.00"))
    rag_red_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("5.00"))
    rag_floor = MoneyField(
        default=Decimal("0.00"), help_text="Variances below this £ amount stay green."
    )
    officer_virement_limit = MoneyField(default=Decimal("250000.00"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rag_amber_pct__gte=0)
                & models.Q(rag_red_pct__gte=models.F("rag_amber_pct")),
                name="fund_rag_thresholds_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(officer_virement_limit__gte=0), name="fund_limit_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class FundBudget(models.Model):
    """A fund's budget for one year: drafted, submitted, then approved by the host's finance officer."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for approval"
        APPROVED = "approved", "Approved"

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.APPROVED, Status.DRAFT},
        Status.APPROVED: set(),
    }

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="budgets")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="fund_budgets")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "year__start_date"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year"], name="uniq_fund_budget_year")
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.year.code} ({self.get_status_display()})"


class FundPeriod(models.Model):
    """Open/closed status of one period for one fund. No row means open."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="period_statuses")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="fund_statuses")
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    changed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "period__year__start_date", "period__number"]
        constraints = [models.UniqueConstraint(fields=["fund", "period"], name="uniq_fund_period")]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.period.code} {self.status}"


class Contribution(models.Model):
    """A partner's contribution to a fund for a year. Its share is fixed at the start of the year."""

    fund = models.ForeignKey(PooledFund, on_delete=models.PROTECT, related_name="contributions")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="contributions")
    partner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="contributions"
    )
    amount = MoneyField()
    # Last year's underspend share carried into this year's contribution (UNDERSPEND_CARRY_FORWARD):
    # it counts as paid in, so the instalments add up to amount - carried_forward.
    carried_forward = MoneyField(default=Decimal("0.00"))
    # Fraction of the pool (0..1), fixed when the year's shares are fixed; drives pro-rata risk share.
    share = models.DecimalField(max_digits=9, decimal_places=8, null=True, blank=True)
    shares_fixed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "year__start_date", "partner__name"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "partner"], name="uniq_contribution"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="contribution_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(carried_forward__gte=0), name="contribution_carried_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} to {self.fund.code} {self.year.code}: {format_money(self.amount)}"

    @property
    def due_in_cash(self) -> Decimal:
        """What the partner pays in instalments: the contribution less any carried-forward credit."""
        return max(self.amount - self.carried_forward, Decimal("0.00"))


class ContributionInstalment(models.Model):
    contribution = models.ForeignKey(
        Contribution, on_delete=models.CASCADE, related_name="instalments"
    )
    due_date = models.DateField()
    amount = MoneyField()
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["contribution_id", "due_date"]

    def __str__(self) -> str:
        return f"{self.contribution} instalment {self.due_date}: {format_money(self.amount)}"


class ContributionReceipt(models.Model):
    """Money received from a partner towards its contribution (part payments allowed)."""

    contribution = models.ForeignKey(
        Contribution, on_delete=models.PROTECT, related_name="receipts"
    )
    received_on = models.DateField()
    amount = MoneyField()
    reference = models.CharField(max_length=60)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contribution_id", "received_on", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="receipt_amount_positive")
        ]

    def __str__(self) -> str:
        return f"Receipt {self.reference} {self.amount} on {self.received_on}"


class RiskShareAgreement(models.Model):
    """The rule for sharing a fund's over- or underspend between partners for one year.

    `parameters` by rule:
    - own_risk: {} (variance falls on each line's lead commissioner)
    - pro_rata: {"cap_at_contribution": bool}
    - fixed: {"percentages": {"<organisation code>": "40.00", ...}} summing to 100
    - threshold: {"host_first_pct": "2.00", "then": "pro_rata"|"equal", "cap_at_contribution": bool}
      (the host bears variance up to host_first_pct of the pool, the rest is shared)
    """

    class Rule(models.TextChoices):
        OWN_RISK = "own_risk", "Own risk: each lead commissioner bears its lines"
        PRO_RATA = "pro_rata", "Pro rata to contributions"
        FIXED = "fixed", "Fixed percentages"
        THRESHOLD = "threshold", "Threshold tiers: host bears the first X%, the rest shared"

    class Underspend(models.TextChoices):
        """What happens to a final underspend (domain.md 1.4, UNDERSPEND_*)."""

        RETURN_PRO_RATA = "return_pro_rata", "Returned to the partners (UNDERSPEND_RETURN_PRORATA)"
        RETAIN = "retain", "Retained in the pool (UNDERSPEND_RETAIN)"
        CARRY_FORWARD = "carry_forward", "Carried forward into next year's contributions"

    fund = models.ForeignKey(
        PooledFund, on_delete=models.PROTECT, related_name="risk_share_agreements"
    )
    year = models.ForeignKey(
        FinancialYear, on_delete=models.PROTECT, related_name="risk_share_agreements"
    )
    rule = models.CharField(max_length=10, choices=Rule.choices)
    parameters = models.JSONField(default=dict, blank=True)
    underspend = models.CharField(
        max_length=16, choices=Underspend.choices, default=Underspend.RETURN_PRO_RATA
    )
    agreed_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["fund__code", "year__start_date"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year"], name="uniq_risk_share_agreement")
        ]

    def __str__(self) -> str:
        return f"{self.fund.code} {self.year.code}: {self.get_rule_display()}"
