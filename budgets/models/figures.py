"""Snapshots written only by the recompute engine (budgets.figures.recompute), plus commitments that feed it.

Screens, exports, the API and board packs read these, never raw postings.
"""

from __future__ import annotations

from django.db import models

from budgets.models.fields import MoneyField
from budgets.models.funds import PooledFund
from budgets.models.lines import BudgetLine
from budgets.models.reference import FinancialYear
from budgets.rag import Rag
from gmhsc.money import format_money
from localities.models import Locality, Organisation

#: The report's money columns (every snapshot, report row and total carries them, in this order).
MONEY_COLUMNS = (
    "original_budget",
    "changes",
    "current_budget",
    "ytd_budget",
    "ytd_actual",
    "ytd_variance",
    "commitments",
    "forecast_outturn",
    "forecast_variance",
    "movement",
)
#: The report's percentage columns, each recomputed from money sums (None for a zero base).
PERCENT_COLUMNS = ("ytd_variance_pct", "forecast_variance_pct")


class FigureColumns(models.Model):
    """The report's columns, as a line's and a fund's snapshots both store them (MONEY_COLUMNS and
    PERCENT_COLUMNS)."""

    original_budget = MoneyField()
    changes = MoneyField()
    current_budget = MoneyField()
    ytd_budget = MoneyField()
    ytd_actual = MoneyField()
    ytd_variance = MoneyField()
    ytd_variance_pct = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    commitments = MoneyField()
    forecast_outturn = MoneyField()
    forecast_variance = MoneyField()
    forecast_variance_pct = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    movement = MoneyField()

    class Meta:
        abstract = True


class LineVariance(FigureColumns):
    """Every report column for one budget line at one period (1..12). Variance = actual - budget."""

    # Derived rows, rewritten 120,000 at a time: no database FK constraints (their deferred checks
    # cost about a second per full recompute). Django's on_delete still cascades; reconcile checks.
    # No single-column FK indexes either: linevar_fund_period leads with fund and uniq_line_variance
    # with line, and each extra index costs about 0.3 s per full recompute.
    fund = models.ForeignKey(
        PooledFund,
        on_delete=models.CASCADE,
        related_name="line_variances",
        db_constraint=False,
        db_index=False,
    )
    year = models.ForeignKey(
        FinancialYear,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    line = models.ForeignKey(
        BudgetLine,
        on_delete=models.CASCADE,
        related_name="variances",
        db_constraint=False,
        db_index=False,
    )
    period_number = models.PositiveSmallIntegerField()
    rag = models.CharField(max_length=5, choices=Rag.choices)
    adverse_favourable = models.CharField(max_length=10, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["fund_id", "period_number", "line_id"]
        constraints = [
            models.UniqueConstraint(fields=["line", "period_number"], name="uniq_line_variance")
        ]
        indexes = [
            models.Index(fields=["fund", "year", "period_number"], name="linevar_fund_period")
        ]

    def __str__(self) -> str:
        return f"variance line {self.line_id} M{self.period_number:02d}: {format_money(self.forecast_variance)}"


class FundPosition(FigureColumns):
    """A fund's totals at one period, with counts of lines by RAG."""

    fund = models.ForeignKey(PooledFund, on_delete=models.CASCADE, related_name="positions")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    period_number = models.PositiveSmallIntegerField()
    red_count = models.PositiveIntegerField(default=0)
    amber_count = models.PositiveIntegerField(default=0)
    green_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["fund_id", "year_id", "period_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "year", "period_number"], name="uniq_fund_position"
            )
        ]

    def __str__(self) -> str:
        return f"position fund {self.fund_id} M{self.period_number:02d}: {format_money(self.forecast_variance)}"


class RiskShareAllocation(models.Model):
    """A partner's share of the fund's variance under the year's risk-share agreement."""

    class Basis(models.TextChoices):
        FORECAST = "forecast", "Forecast variance"
        ACTUAL = "actual", "Actual variance (year end)"

    fund = models.ForeignKey(PooledFund, on_delete=models.CASCADE, related_name="risk_allocations")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    period_number = models.PositiveSmallIntegerField()
    partner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    basis = models.CharField(max_length=8, choices=Basis.choices)
    amount = MoneyField()
    rule = models.CharField(max_length=10)
    inputs = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["fund_id", "period_number", "basis", "partner_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "year", "period_number", "basis", "partner"],
                name="uniq_risk_allocation",
            )
        ]

    def __str__(self) -> str:
        return f"risk share {self.partner_id} M{self.period_number:02d} {self.basis}: {format_money(self.amount)}"


class AllocationRun(models.Model):
    """One fair-share calculation (domain.md 7.2) with its policy, inputs and outputs."""

    class Method(models.TextChoices):
        PURE_FORMULA = "pure_formula", "Pure formula"
        PACE_OF_CHANGE = "pace_of_change", "Pace of change"
        UPLIFT = "uplift", "Last year + uplift"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"

    fund = models.ForeignKey(PooledFund, on_delete=models.CASCADE, related_name="allocation_runs")
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=15, choices=Method.choices)
    total_pot = MoneyField()
    policy = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    approved_by = models.CharField(max_length=200, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["fund_id", "year_id", "method"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "method"], name="uniq_allocation_run")
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} fund {self.fund_id}: {format_money(self.total_pot)}"


class AllocationResult(models.Model):
    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="results")
    locality = models.ForeignKey(Locality, on_delete=models.PROTECT, related_name="+")
    weighted_population = models.DecimalField(max_digits=20, decimal_places=4)
    baseline = MoneyField()
    target = MoneyField()
    dft_before = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    allocation = MoneyField()
    dft_after = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["run_id", "locality_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "locality"], name="uniq_allocation_result")
        ]

    def __str__(self) -> str:
        return f"{self.locality_id}: {format_money(self.allocation)}"


class LineCommitment(models.Model):
    """Orders raised but not invoiced, by month, from one source (e.g. a contract's profile)."""

    line = models.ForeignKey(BudgetLine, on_delete=models.CASCADE, related_name="commitments")
    period_number = models.PositiveSmallIntegerField()
    amount = MoneyField()
    source_ref = models.CharField(max_length=60)

    class Meta:
        ordering = ["line_id", "period_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_ref", "line", "period_number"], name="uniq_line_commitment"
            )
        ]

    def __str__(self) -> str:
        return f"commitment {self.source_ref} line {self.line_id} M{self.period_number:02d}"
