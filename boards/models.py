"""Governance: boards, their place in the hierarchy, members and delegated limits."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models import PooledFund
from budgets.models.fields import MoneyField
from gmhsc.jobs import JobFields
from localities.models import Locality, Organisation


class Board(models.Model):
    class Kind(models.TextChoices):
        STRATEGIC_PARTNERSHIP = "strategic_partnership", "Strategic partnership board"
        JOINT_COMMISSIONING = "joint_commissioning", "Joint commissioning board"
        JOINT_COMMISSIONING_EXECUTIVE = (
            "joint_commissioning_executive",
            "Joint commissioning executive",
        )
        LOCALITY = "locality", "Locality board"

    code = models.CharField(
        max_length=12, unique=True, help_text="Used in decision references, e.g. JCB."
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, choices=Kind.choices)
    locality = models.ForeignKey(
        Locality, on_delete=models.PROTECT, related_name="boards", null=True, blank=True
    )
    reports_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="reporting_boards", null=True, blank=True
    )
    funds = models.ManyToManyField(PooledFund, related_name="boards", blank=True)
    delegated_limit = MoneyField(
        null=True,
        blank=True,
        help_text="Largest single decision the board may take; blank means no limit.",
    )
    legal_basis = models.CharField(max_length=200, blank=True)
    quorum_rule = models.CharField(max_length=300, blank=True)
    papers_deadline_working_days = models.PositiveSmallIntegerField(default=5)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    def may_decide(self, amount: Decimal) -> bool:
        return self.delegated_limit is None or amount <= self.delegated_limit


class Membership(models.Model):
    class Role(models.TextChoices):
        CHAIR = "chair", "Chair"
        VICE_CHAIR = "vice_chair", "Vice-chair"
        MEMBER = "member", "Member"
        OFFICER = "officer", "Officer in attendance"

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="board_memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="board_seats"
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.MEMBER)
    voting = models.BooleanField(default=True)
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="deputy_for",
        null=True,
        blank=True,
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["board__name", "role", "person__last_name"]
        constraints = [
            models.UniqueConstraint(fields=["board", "person"], name="uniq_board_membership")
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.board} ({self.get_role_display()})"


def paper_upload_to(instance: AgendaItem, filename: str) -> str:
    return f"boards/papers/{instance.meeting_id}/{uuid.uuid4().hex}.pdf"


def pack_upload_to(instance: BoardPack, filename: str) -> str:
    return f"boards/packs/{instance.meeting_id}/v{instance.version}-{uuid.uuid4().hex[:8]}.pdf"


class Meeting(models.Model):
    """One meeting of a board. Status moves only through `TRANSITIONS` (services.meeting_transition)."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        PAPERS_PUBLISHED = "papers_published", "Papers published"
        HELD = "held", "Held"
        MINUTES_APPROVED = "minutes_approved", "Minutes approved"

    TRANSITIONS: dict[str, set[str]] = {
        Status.PLANNED: {Status.PAPERS_PUBLISHED},
        Status.PAPERS_PUBLISHED: {Status.HELD},
        Status.HELD: {Status.MINUTES_APPROVED},
        Status.MINUTES_APPROVED: set(),
    }

    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="meetings")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    minutes = models.TextField(blank=True)
    minutes_approved_at = models.DateTimeField(null=True, blank=True)
    papers_published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["board", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.board.code} {self.title}"

    @property
    def date(self) -> dt.date:
        from django.utils import timezone

        return timezone.localtime(self.starts_at).date()

    @property
    def papers_deadline(self) -> dt.date:
        """`papers_deadline_working_days` working days (Monday to Friday) before the meeting."""
        day = self.date
        left = self.board.papers_deadline_working_days
        while left > 0:
            day -= dt.timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
        return day


class AgendaItem(models.Model):
    class Purpose(models.TextChoices):
        DECISION = "decision", "Decision"
        ASSURANCE = "assurance", "Assurance"
        INFORMATION = "information", "Information"
        DISCUSSION = "discussion", "Discussion"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    presenter = models.CharField(max_length=120, blank=True)
    is_private = models.BooleanField(
        "Private (part B)", default=False, help_text="Only voting members and officers see it."
    )
    paper = models.FileField(upload_to=paper_upload_to, blank=True)
    paper_name = models.CharField(max_length=200, blank=True)
    paper_pages = models.PositiveIntegerField(default=0)
    organisations = models.ManyToManyField(
        Organisation,
        related_name="agenda_items",
        blank=True,
        help_text="Providers and contract counterparties the item concerns (for conflicts).",
    )

    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["meeting", "order"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "order"], name="uniq_agenda_item_order")
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"


class Decision(models.Model):
    class Outcome(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        DEFERRED = "deferred", "Deferred"
        NOTED = "noted", "Noted"

    class Subject(models.TextChoices):
        NONE = "", "None"
        VIREMENT = "budgets.virement", "Virement"
        CONTRACT_DECISION = "commissioning.contractdecision", "Contract award"

    reference = models.CharField(max_length=30, unique=True)
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="decisions")
    year = models.PositiveSmallIntegerField(help_text="Start year of the financial year.")
    sequence = models.PositiveIntegerField()
    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="decisions")
    item = models.ForeignKey(
        AgendaItem, on_delete=models.PROTECT, related_name="decisions", null=True, blank=True
    )
    text = models.TextField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    amount = MoneyField(null=True, blank=True)
    funds = models.ManyToManyField(PooledFund, related_name="board_decisions", blank=True)
    delegated_authority = models.CharField(max_length=300, blank=True)
    conflicts_declared = models.TextField(blank=True)
    conflicts_handling = models.TextField(blank=True)
    subject_type = models.CharField(max_length=40, choices=Subject.choices, blank=True)
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["board", "year", "sequence"], name="uniq_decision_sequence"
            )
        ]

    def __str__(self) -> str:
        return self.reference


class Interest(models.Model):
    """A declared interest (NHS England 2017 guidance, Annex A)."""

    class Kind(models.TextChoices):
        FINANCIAL = "financial", "Financial"
        NON_FINANCIAL_PROFESSIONAL = "nf_professional", "Non-financial professional"
        NON_FINANCIAL_PERSONAL = "nf_personal", "Non-financial personal"
        INDIRECT = "indirect", "Indirect"

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="interests"
    )
    position = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.TextField()
    relationship = models.CharField(
        max_length=120, blank=True, help_text="For indirect interests: who holds it."
    )
    related_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="declared_interests",
        null=True,
        blank=True,
    )
    related_organisation_name = models.CharField(max_length=200, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    mitigation = models.TextField(blank=True)
    consent_to_publish = models.BooleanField(default=True)
    no_consent_reason = models.CharField(max_length=300, blank=True)
    declared_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["person__last_name", "-valid_from"]
        indexes = [models.Index(fields=["related_organisation", "valid_from"])]

    def __str__(self) -> str:
        return f"{self.person}: {self.get_kind_display()} – {self.organisation_label}"

    @property
    def organisation_label(self) -> str:
        org = self.related_organisation
        return org.name if org is not None else self.related_organisation_name

    DECLARE_WITHIN_DAYS = 28

    @property
    def declared_late(self) -> bool:
        """Declared more than 28 days after the interest began (NHS Act 2006 s.140 guidance)."""
        return (self.declared_on - self.valid_from).days > self.DECLARE_WITHIN_DAYS

    def active_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)


class Declaration(models.Model):
    """An interest declared at a meeting, against an agenda item, and what was done about it."""

    class Action(models.TextChoices):
        NOTED = "noted", "Noted; took part"
        NO_VOTE = "no_vote", "Took part in discussion, did not vote"
        LEFT_ROOM = "left_room", "Left the room for the item"
        EXCLUDED = "excluded", "Papers withheld and excluded from the item"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="declarations")
    item = models.ForeignKey(
        AgendaItem, on_delete=models.CASCADE, related_name="declarations", null=True, blank=True
    )
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    interest = models.ForeignKey(
        Interest, on_delete=models.SET_NULL, related_name="declarations", null=True, blank=True
    )
    description = models.TextField()
    action_taken = models.CharField(max_length=12, choices=Action.choices)
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["meeting", "item__order", "id"]

    def __str__(self) -> str:
        return f"{self.person} at {self.meeting}: {self.get_action_taken_display()}"


class GiftHospitality(models.Model):
    class Kind(models.TextChoices):
        GIFT = "gift", "Gift"
        HOSPITALITY = "hospitality", "Hospitality"

    class Outcome(models.TextChoices):
        ACCEPT = "accept", "May be accepted; no declaration needed"
        ACCEPT_DECLARE = "accept_declare", "May be accepted; must be declared"
        ON_BEHALF = "on_behalf", "Accept only on behalf of the organisation; must be declared"
        REFUSE = "refuse", "Must be refused"
        REFUSE_UNLESS_APPROVED = (
            "refuse_unless_approved",
            "Refuse unless a senior manager approves; must be declared",
        )

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gifts_hospitality"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    description = models.CharField(max_length=300)
    offered_by = models.CharField(max_length=200)
    offered_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    from_supplier = models.BooleanField(
        "From a supplier or contractor", default=False, help_text="Current or prospective."
    )
    value = MoneyField()
    offered_on = models.DateField()
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    must_declare = models.BooleanField(default=False)
    accepted = models.BooleanField(default=False)
    senior_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-offered_on", "id"]
        verbose_name = "gift or hospitality"
        verbose_name_plural = "gifts and hospitality"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.offered_by} to {self.person}"


class ActionItem(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CLOSED = "closed", "Closed by the board"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="actions")
    item = models.ForeignKey(
        AgendaItem, on_delete=models.SET_NULL, related_name="actions", null=True, blank=True
    )
    reference = models.CharField(max_length=30)
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    update_note = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = "action"

    def __str__(self) -> str:
        return f"{self.reference}: {self.description[:60]}"

    def is_overdue(self, today: dt.date | None = None) -> bool:
        from django.utils import timezone

        today = today or timezone.localdate()
        return self.status == self.Status.OPEN and self.due_date < today


class BoardPack(JobFields):
    """One version of a meeting's pack PDF; supplements add versions, old ones stay downloadable."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="packs")
    version = models.PositiveIntegerField()
    change_note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=120, blank=True)
    error = models.TextField(blank=True)
    file = models.FileField(
        upload_to=pack_upload_to, blank=True, help_text="Full pack (part A and B)."
    )
    public_file = models.FileField(
        upload_to=pack_upload_to, blank=True, help_text="Pack without private (part B) items."
    )
    pages = models.PositiveIntegerField(default=0)
    public_pages = models.PositiveIntegerField(default=0)
    figures_as_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="uniq_pack_version")
        ]

    def __str__(self) -> str:
        return f"Pack v{self.version} for {self.meeting}"
