"""The four roles, held through Django auth groups. One place to ask 'does this person hold role X?'."""

from __future__ import annotations

from typing import Any

COMMISSIONER = "commissioner"
FINANCE_OFFICER = "finance_officer"
BOARD_MEMBER = "board_member"
ADMINISTRATOR = "administrator"

ROLES: dict[str, str] = {
    COMMISSIONER: "Commissioner",
    FINANCE_OFFICER: "Finance officer",
    BOARD_MEMBER: "Board member",
    ADMINISTRATOR: "Administrator",
}


def role_names(user: Any) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_gmhsc_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached = cached | {ADMINISTRATOR}
        user._gmhsc_roles = cached
    return cached


def has_role(user: Any, role: str) -> bool:
    return role in role_names(user)


def is_administrator(user: Any) -> bool:
    return has_role(user, ADMINISTRATOR)


def ensure_role_groups() -> int:
    """Create the four role groups (idempotent)."""
    from django.contrib.auth.models import Group

    for name in ROLES:
        Group.objects.get_or_create(name=name)
    return len(ROLES)
