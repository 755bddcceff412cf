"""Read queries for boards, scoped to the user."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from localities import roles

from .models import Board


def boards_visible_to(user: Any) -> QuerySet[Board]:
    qs = Board.objects.select_related("reports_to", "locality")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if roles.is_administrator(user):
        return qs
    return qs.filter(memberships__person=user).distinct()
