"""History in words: who changed a record, when, what (before and after) and why.

Read from the audit-history tables (django-simple-history) for the line, fund, contribution,
virement, forecast and contract pages and their API `history/` endpoints. Each entry names the
field as the pages label it ("Annual budget", "April") and gives the values before and after both
as stored (`before`, `after`) and in words (`before_text`, `after_text`: money as £1,234,567,
names for related records, Yes/No, the label of a choice).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils import timezone

from budgets.models import BudgetAdjustment, BudgetLine, Virement
from budgets.models.lines import MONTH_FIELDS
from gmhsc.money import format_money

# Fields whose changes are bookkeeping, not something a reader of the history needs.
_HISTORY_SKIP = {"version", "updated_at", "updated_by", "id"}

MONTH_NAMES = (
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "January",
    "February",
    "March",
)

# A line's fields as the line pages label them; other records use their fields' verbose names.
FIELD_LABELS: dict[str, str] = {
    **dict(zip(MONTH_FIELDS, MONTH_NAMES, strict=True)),
    "code": "Line code",
    "name": "Line name",
    "current_budget": "Annual budget",
    "original_budget": "Original budget",
    "changes": "Virements and changes",
    "phasing_method": "Phasing",
    "lead_commissioner": "Lead commissioner",
    "service_area": "Service area",
    "recurrent": "Recurrent",
}


def _model_field(model: type[models.Model], name: str) -> models.Field | None:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def field_label(model: type[models.Model], field: str) -> str:
    """How the pages name `field` of `model` ("current_budget" on a line is "Annual budget")."""
    if model is BudgetLine and field in FIELD_LABELS:
        return FIELD_LABELS[field]
    model_field = _model_field(model, field)
    verbose = str(model_field.verbose_name) if model_field else field.replace("_", " ")
    return verbose[:1].upper() + verbose[1:]


def _who(record: Any) -> str:
    user = record.history_user
    if user is None:
        return "system"
    return user.get_full_name() or user.username


def in_words(model: type[models.Model], field: str, value: Any, names: dict[str, dict]) -> str:
    """A stored value as a reader sees it on the page."""
    if value is None or value == "":
        return ""
    model_field = _model_field(model, field)
    if isinstance(model_field, models.ForeignKey):
        return names.get(field, {}).get(value, str(value))
    if isinstance(model_field, models.BooleanField) or isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(model_field, models.DecimalField) or isinstance(value, Decimal):
        return format_money(Decimal(value))
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%-d %b %Y %H:%M")
    return str(value)


def _entry(
    model: type[models.Model],
    base: dict[str, Any],
    field: str,
    before: Any,
    after: Any,
    names: dict[str, dict],
) -> dict[str, Any]:
    return {
        **base,
        "field": field_label(model, field) if field else "",
        "field_key": field,
        "before": before,
        "after": after,
        "before_text": in_words(model, field, before, names) if field else "",
        "after_text": in_words(model, field, after, names) if field else "",
    }


def object_history(obj: Any) -> list[dict[str, Any]]:
    """Field-level history of any simple-history object: who, when, before, after, why; newest first."""
    model = type(obj)
    records = list(
        obj.history.select_related("history_user").order_by("history_date", "history_id")
    )
    action_names = {"+": "created", "~": "changed", "-": "deleted"}
    changes: list[tuple[Any, list[Any]]] = []
    previous = None
    for record in records:
        if previous is None or record.history_type != "~":
            changes.append((record, []))
        else:
            delta = record.diff_against(previous)
            changes.append((record, [c for c in delta.changes if c.field not in _HISTORY_SKIP]))
        previous = record
    names = _fk_names(model, [c for _, cs in changes for c in cs])
    entries: list[dict[str, Any]] = []
    for record, field_changes in changes:
        base = {
            "when": record.history_date,
            "who": _who(record),
            "action": action_names.get(record.history_type, record.history_type),
            "why": record.history_change_reason or "",
        }
        if not field_changes:
            entries.append(_entry(model, base, "", None, None, names))
        for change in field_changes:
            entries.append(_entry(model, base, change.field, change.old, change.new, names))
    entries.reverse()
    return entries


def _fk_names(model: type[models.Model], field_changes: list[Any]) -> dict[str, dict[Any, str]]:
    """Readable names for the related records the changes mention (one query per field)."""
    wanted: dict[str, set[Any]] = {}
    for change in field_changes:
        model_field = _model_field(model, change.field)
        if isinstance(model_field, models.ForeignKey):
            ids = wanted.setdefault(change.field, set())
            ids.update(v for v in (change.old, change.new) if v is not None)
    names: dict[str, dict[Any, str]] = {}
    for field, ids in wanted.items():
        related: Any = model._meta.get_field(field).related_model
        names[field] = {o.pk: str(o) for o in related._default_manager.filter(pk__in=ids)}
    return names


def _money_entry(when: Any, who: Any, action: str, amount: Decimal, why: str) -> dict[str, Any]:
    return {
        "when": when,
        "who": who.get_full_name() or who.username,
        "action": action,
        "field": FIELD_LABELS["changes"],
        "field_key": "changes",
        "before": None,
        "after": amount,
        "before_text": "",
        "after_text": format_money(amount),
        "why": why,
    }


def line_history(line: Any) -> list[dict[str, Any]]:
    """Everything that happened to a line: field changes, adjustments, virements in and out."""
    entries = object_history(line)
    for adj in BudgetAdjustment.objects.filter(line=line).select_related("created_by", "period"):
        entries.append(
            _money_entry(
                adj.created_at,
                adj.created_by,
                "adjustment",
                adj.amount,
                f"{adj.reason} ({adj.period.code})",
            )
        )
    virements = Virement.objects.filter(Q(from_line=line) | Q(to_line=line)).select_related(
        "requested_by", "from_line", "to_line"
    )
    for vir in virements:
        outgoing = vir.from_line_id == line.pk
        other = vir.to_line if outgoing else vir.from_line
        entries.append(
            _money_entry(
                vir.applied_at or vir.requested_at,
                vir.requested_by,
                "virement out" if outgoing else "virement in",
                -vir.amount if outgoing else vir.amount,
                f"{vir.reason} ({'to' if outgoing else 'from'} {other.code}; "
                f"{vir.get_status_display().lower()})",
            )
        )
    entries.sort(key=lambda e: e["when"], reverse=True)
    return entries
