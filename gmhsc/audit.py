"""The audit helper: every service that saves an audited record says who and why, here.

django-simple-history writes the history row on save; this tells it the person (`history_user`)
and the reason (`history_change_reason`, at most 100 characters as the history tables hold).
"""

from __future__ import annotations

from typing import Any

REASON_LENGTH = 100
BASELINE_REASON = "As loaded, before its first recorded change"


def audit(obj: Any, *, actor: Any, reason: str) -> None:
    """Record who makes the next save of `obj` and why. `actor` is the signed-in person."""
    _record_baseline(obj)
    obj._change_reason = (reason or "")[:REASON_LENGTH]
    if getattr(actor, "is_authenticated", False):
        obj._history_user = actor


def _record_baseline(obj: Any) -> None:
    """A record loaded in bulk (the demo and archive loaders write no history rows) gets one row
    of its stored values before its first audited change, so that change has a "before"."""
    if obj.pk is None:
        return
    model = type(obj)
    manager = model.history
    if manager.filter(**{model._meta.pk.attname: obj.pk}).exists():
        return
    stored = model._default_manager.filter(pk=obj.pk).first()
    if stored is not None:
        manager.bulk_history_create([stored], default_change_reason=BASELINE_REASON)
