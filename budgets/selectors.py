"""Read queries for budgets, shaped for screens, reports and the API. Scoping lives here."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from localities import roles

from .models import PooledFund


def funds_visible_to(user: Any) -> QuerySet[PooledFund]:
    """Funds a user may see: administrators see all; others the funds their organisation
    hosts or contributes to. Board members also see the funds their boards oversee."""
    qs = PooledFund.objects.select_related("host", "locality")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    org_id = user.organisation_id
    condition = Q(host_id=org_id) | Q(contributions__partner_id=org_id)
    if roles.has_role(user, roles.BOARD_MEMBER):
        condition |= Q(boards__memberships__person=user)
    return qs.filter(condition).distinct()


def oldest_stale_mark_age() -> float | None:
    """Seconds since the oldest recompute mark still waiting; None when nothing waits.

    The recompute engine (budgets.recompute) owns the marks; until it exists nothing can wait.
    """
    from django.apps import apps

    try:
        mark_model = apps.get_model("budgets", "StaleMark")
    except LookupError:
        return None
    from django.utils import timezone

    oldest = mark_model.objects.order_by("created_at").values_list("created_at", flat=True).first()
    return None if oldest is None else round((timezone.now() - oldest).total_seconds(), 1)
