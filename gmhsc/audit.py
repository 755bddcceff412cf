"""The audit helper: every service that saves an audited record says who and why, here.

django-simple-history writes the history row on save; this tells it the person (`history_user`)
and the reason (`history_change_reason`, at most 100 characters as the history tables hold).
"""

from __future__ import annotations

from typing import Any

REASON_LENGTH = 100


def audit(obj: Any, *, actor: Any, reason: str) -> None:
    """Record who makes the next save of `obj` and why. `actor` is the signed-in person."""
    obj._change_reason = (reason or "")[:REASON_LENGTH]
    if getattr(actor, "is_authenticated", False):
        obj._history_user = actor
