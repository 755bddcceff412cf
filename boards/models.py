"""Governance: boards, their place in the hierarchy, members and delegated limits."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from budgets.models import PooledFund
from budgets.models.fields import MoneyField
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
