"""Spend: ledger mappings and mapping rules, import profiles, immutable postings, ledger imports
and API idempotency records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models.fields import MoneyField, money_default
from budgets.models.funds import PooledFund
from budgets.models.lines import BudgetLine
from budgets.models.reference import FinancialYear, Period
from gmhsc.jobs import JobFields
from gmhsc.money import format_money
from localities.models import Organisation


class LedgerMapping(models.Model):
    """(organisation, cost centre, expense code) -> budget line, per year.

    Each code is matched exactly, by prefix (`C027*`), by range (`5140-5199`, numeric or
    alphabetic) or as any code (`*`); a pair matched exactly on both is a plain mapping, anything
    else a mapping rule. The most specific rule wins (exact > range > prefix > any, the cost
    centre first, then the expense code); rules that could both match one pair at the same
    precedence are refused when saved (budgets.ledger.mapping_rules).
    """

    class Match(models.TextChoices):
        EXACT = "exact", "Exactly"
        RANGE = "range", "In the range"
        PREFIX = "prefix", "Starting with"
        ANY = "any", "Any code"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="ledger_mappings"
    )
    year = models.ForeignKey(FinancialYear, on_delete=models.PROTECT, related_name="+")
    cost_centre = models.CharField(max_length=30)
    cost_centre_match = models.CharField(max_length=6, choices=Match.choices, default=Match.EXACT)
    expense_code = models.CharField(max_length=30)
    expense_code_match = models.CharField(max_length=6, choices=Match.choices, default=Match.EXACT)
    budget_line = models.ForeignKey(
        BudgetLine, on_delete=models.PROTECT, related_name="ledger_mappings"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["organisation__code", "cost_centre", "expense_code"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organisation",
                    "year",
                    "cost_centre_match",
                    "cost_centre",
                    "expense_code_match",
                    "expense_code",
                ],
                name="uniq_ledger_mapping",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation.code} {self.cost_centre}/{self.expense_code} -> {self.budget_line.code}"

    @property
    def is_rule(self) -> bool:
        return not (
            self.cost_centre_match == self.Match.EXACT
            and self.expense_code_match == self.Match.EXACT
        )


class ImportProfile(models.Model):
    """How one partner's ledger export is read: file type, encoding, delimiter, header row, rows to
    skip, and which of the file's columns is which gmhsc field, with its date and amount formats.

    `spec` is data, never code (no expressions or regular expressions): its shape is checked by
    budgets.ledger.profiles.ProfileSpec whenever it is saved. A profile without an organisation
    ships with gmhsc (budgets/data/import_profiles/) and is loaded by seed_reference.
    """

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="import_profiles",
        null=True,
        blank=True,
    )
    name = models.SlugField(max_length=60)
    title = models.CharField(max_length=200, blank=True)
    spec = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="uniq_import_profile_name"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(organisation__isnull=True),
                name="uniq_shipped_import_profile_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shipped(self) -> bool:
        return self.organisation_id is None


class LedgerImport(JobFields):
    """One uploaded ledger file: its progress, its errors and its summary."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        CHECKING = "checking", "Checking rows"
        POSTING = "posting", "Posting"
        PREVIEWED = "previewed", "Checked: ready to post"
        POSTED = "posted", "Posted"
        NOTHING_NEW = "nothing_new", "Already imported: nothing new"
        REJECTED = "rejected", "Rejected: nothing posted"
        FAILED = "failed", "Failed: nothing posted"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="ledger_imports"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to="ledger-imports/%Y/%m/", blank=True)
    # How the file is read: an import profile, or (none) the plain gmhsc ledger CSV.
    profile = models.ForeignKey(
        ImportProfile,
        on_delete=models.PROTECT,
        related_name="imports",
        null=True,
        blank=True,
    )
    # Rows no mapping covers: refuse the file, or leave them out as outside the pooled funds.
    outside_pools = models.CharField(
        max_length=6,
        choices=[("refuse", "Refuse the file"), ("leave", "Leave them out")],
        default="refuse",
    )
    # True: check and show what would be posted, post nothing (until "Post" turns it off).
    dry_run = models.BooleanField(default=False)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_posted = models.PositiveIntegerField(default=0)
    rows_already_posted = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=list, blank=True)
    # What the check found beyond the summary: rows to post by line, rows outside the pools,
    # unmapped pairs, and the fingerprint "Post" compares with.
    preview = models.JSONField(default=dict, blank=True)
    rows_outside = models.PositiveIntegerField(default=0)
    amount_outside = MoneyField(default=money_default)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} {self.original_name} ({self.status})"


class SpendPosting(models.Model):
    """An immutable ledger line. Corrections are reversals; on PostgreSQL a trigger refuses UPDATE/DELETE.

    Bulk imports of a million rows set the shape of this table:
    - single-column indexes are left off the foreign keys the composite indexes already lead with
      (organisation, fund, budget line) and off period and created_by;
    - no database foreign-key constraints, as reliability-and-performance.md 4.2 advises: each
      is a row-by-row check, which a million-row insert pays for per row. Budget line, organisation,
      period and fund are checked set-based before every insert (services and the import's SQL;
      fund and period are derived from the line); ledger_import and created_by are provenance; a
      reversal links to a posting the trigger never lets go. A trigger on budget lines refuses
      to delete one that has postings, and `reconcile` reports any posting without its line.
      Deleting a referenced row through Django is still refused (on_delete=PROTECT).
    """

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="postings",
        db_index=False,
        db_constraint=False,
    )
    document_number = models.CharField(max_length=40)
    line_number = models.PositiveIntegerField()
    posting_date = models.DateField()
    period = models.ForeignKey(
        Period,
        on_delete=models.PROTECT,
        related_name="postings",
        db_index=False,
        db_constraint=False,
    )
    fund = models.ForeignKey(
        PooledFund,
        on_delete=models.PROTECT,
        related_name="postings",
        db_index=False,
        db_constraint=False,
    )
    budget_line = models.ForeignKey(
        BudgetLine,
        on_delete=models.PROTECT,
        related_name="postings",
        db_index=False,
        db_constraint=False,
    )
    amount = MoneyField()
    supplier = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=500, blank=True)
    is_accrual = models.BooleanField(default=False)
    # A reversal links to its original, at most one per posting: a unique index on the non-null
    # links only (a million imported rows have none), and no FK check (the trigger never lets a
    # posting go; spend_reverse sets the link from the original it has locked).
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="reversals",
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
    )
    ledger_import = models.ForeignKey(
        LedgerImport,
        on_delete=models.PROTECT,
        related_name="postings",
        null=True,
        blank=True,
        db_index=False,  # provenance: nothing reads postings by import
        db_constraint=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["posting_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "document_number", "line_number"],
                name="uniq_posting_source",
            ),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=models.Q(reverses__isnull=False),
                name="uniq_posting_reversal",
            ),
        ]
        indexes = [
            models.Index(fields=["budget_line", "period"], name="posting_line_period"),
            models.Index(fields=["fund", "period"], name="posting_fund_period"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation.code} {self.document_number}/{self.line_number}: {format_money(self.amount, pence=True)}"

    @property
    def reversed_by(self) -> SpendPosting | None:
        """The reversal of this posting, if any (at most one; prefetch "reversals" for lists)."""
        return next(iter(self.reversals.all()), None)


class IdempotencyRecord(models.Model):
    """The first response to a request carrying an Idempotency-Key, replayed for retries."""

    key = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "endpoint", "key"], name="uniq_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
