from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from localities import roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    names = roles.role_names(user) if user is not None else frozenset()
    return {
        "is_commissioner": roles.COMMISSIONER in names,
        "is_finance_officer": roles.FINANCE_OFFICER in names,
        "is_board_member": roles.BOARD_MEMBER in names,
        "is_administrator": roles.ADMINISTRATOR in names,
    }
