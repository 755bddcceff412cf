"""Places and partners: localities, neighbourhoods, organisations and the people who work for them."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords


class Locality(models.Model):
    """A Greater Manchester borough (metropolitan district), keyed by its GSS code."""

    gss_code = models.CharField(max_length=9, unique=True)
    name = models.CharField(max_length=100, unique=True)
    old_la_code = models.CharField(max_length=3, blank=True)
    population_mid2011 = models.PositiveIntegerField()
    population_mid2015 = models.PositiveIntegerField()
    population_mid2015_verified = models.BooleanField(default=False)
    # Fair-share weighting inputs (domain.md 7.2); 1.0 when no index is agreed.
    need_index = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("1.0000"))
    cost_index = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("1.0000"))

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "localities"

    def __str__(self) -> str:
        return self.name


class Neighbourhood(models.Model):
    locality = models.ForeignKey(Locality, on_delete=models.PROTECT, related_name="neighbourhoods")
    name = models.CharField(max_length=100)
    population = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["locality__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["locality", "name"], name="uniq_neighbourhood_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.locality})"


class Organisation(models.Model):
    class Kind(models.TextChoices):
        NHS_ENGLAND = "nhs_england", "NHS England"
        CCG = "ccg", "Clinical commissioning group"
        COUNCIL = "council", "Council"
        NHS_PROVIDER = "nhs_provider", "NHS provider trust"
        COMBINED_AUTHORITY = "combined_authority", "Combined authority"
        OTHER = "other", "Other organisation"

    class CodeSystem(models.TextChoices):
        ODS = "ODS", "NHS ODS code"
        GSS = "GSS", "ONS GSS code"
        LOCAL = "LOCAL", "Local code"

    code = models.CharField(max_length=12, unique=True)
    code_system = models.CharField(max_length=5, choices=CodeSystem.choices)
    name = models.CharField(max_length=200)
    short_name = models.CharField(max_length=60, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    localities = models.ManyToManyField(Locality, related_name="organisations", blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    verified = models.BooleanField(
        default=True, help_text="False where the reference source marks a fact unverified."
    )
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class User(AbstractUser):
    """A person who signs in. Everyone works for one organisation; roles are auth groups."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="staff", null=True, blank=True
    )
    job_title = models.CharField(max_length=120, blank=True)

    class Meta:
        swappable = "AUTH_USER_MODEL"
        verbose_name = "user"

    def __str__(self) -> str:
        return self.get_full_name() or self.username
