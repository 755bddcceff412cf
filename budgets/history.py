"""History in words: who changed a record, when, what (before and after) and why.

Read from the audit-history tables (django-simple-history) for the line, fund, contribution,
virement and forecast pages and their API `history/` endpoints.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from budgets.models import BudgetAdjustment, BudgetLine, ServiceArea, Virement
from localities.models import Locality, Organisation

# Fields whose changes are bookkeeping, not something a reader of the history needs.
_HISTORY_SKIP = {"version", "updated_at", "updated_by", "id"}


def _who(record: Any) -> str:
    user = getattr(record, "history_user", None)
    if user is None:
        return "system"
    return user.get_full_name() or user.username


def _display(value: Any, field: str, names: dict[str, dict[Any, str]]) -> Any:
    if value is None:
        return None
    lookup = names.get(field)
    if lookup is not None:
        return lookup.get(value, value)
    return value


def object_history(obj: Any) -> list[dict[str, Any]]:
    """Field-level history of any simple-history object: who, when, before, after, why; newest first."""
    records = list(
        obj.history.select_related("history_user").order_by("history_date", "history_id")
    )
    entries: list[dict[str, Any]] = []
    previous = None
    action_names = {"+": "created", "~": "changed", "-": "deleted"}
    fk_names = _fk_names(obj, records)
    for record in records:
        base = {
            "when": record.history_date,
            "who": _who(record),
            "action": action_names.get(record.history_type, record.history_type),
            "why": record.history_change_reason or "",
        }
        if previous is None or record.history_type != "~":
            entries.append({**base, "field": "", "before": None, "after": None})
        else:
            delta = record.diff_against(previous)
            for change in delta.changes:
                if change.field in _HISTORY_SKIP:
                    continue
                entries.append(
                    {
                        **base,
                        "field": change.field,
                        "before": _display(change.old, change.field, fk_names),
                        "after": _display(change.new, change.field, fk_names),
                    }
                )
        previous = record
    entries.reverse()
    return entries


def _fk_names(obj: Any, records: list[Any]) -> dict[str, dict[Any, str]]:
    """Readable names for the foreign keys a line's history mentions (one query per kind)."""
    if not isinstance(obj, BudgetLine):
        return {}
    wanted: dict[str, tuple[Any, str, set[Any]]] = {
        "service_area": (ServiceArea, "code", set()),
        "locality": (Locality, "name", set()),
        "lead_commissioner": (Organisation, "name", set()),
    }
    for record in records:
        for field, (_, _, ids) in wanted.items():
            value = getattr(record, f"{field}_id", None)
            if value is not None:
                ids.add(value)
    return {
        field: dict(model.objects.filter(pk__in=ids).values_list("pk", attr))
        for field, (model, attr, ids) in wanted.items()
        if ids
    }


def line_history(line: Any) -> list[dict[str, Any]]:
    """Everything that happened to a line: field changes, adjustments, virements in and out."""
    entries = object_history(line)
    for adj in BudgetAdjustment.objects.filter(line=line).select_related("created_by", "period"):
        entries.append(
            {
                "when": adj.created_at,
                "who": adj.created_by.get_full_name() or adj.created_by.username,
                "action": "adjustment",
                "field": "changes",
                "before": None,
                "after": adj.amount,
                "why": f"{adj.reason} ({adj.period.code})",
            }
        )
    virements = Virement.objects.filter(Q(from_line=line) | Q(to_line=line)).select_related(
        "requested_by", "from_line", "to_line"
    )
    for vir in virements:
        outgoing = vir.from_line_id == line.pk
        other = vir.to_line if outgoing else vir.from_line
        entries.append(
            {
                "when": vir.applied_at or vir.requested_at,
                "who": vir.requested_by.get_full_name() or vir.requested_by.username,
                "action": "virement out" if outgoing else "virement in",
                "field": "changes",
                "before": None,
                "after": -vir.amount if outgoing else vir.amount,
                "why": f"{vir.reason} ({'to' if outgoing else 'from'} {other.code}; "
                f"{vir.get_status_display().lower()})",
            }
        )
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries
