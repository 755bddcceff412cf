"""The fund archive's format: its name and version, the manifest, and how one CSV cell is written
and read back (natural keys, never database ids)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from budgets.models import SpendPosting
from gmhsc.errors import ApplicationError

FORMAT = "gmhsc-fund-archive"
VERSION = 1
MANIFEST = "manifest.json"


class ArchiveError(ApplicationError):
    code = "archive_invalid"


def cell(value: Any) -> str:
    """One CSV cell: '' for None, ISO dates, plain Decimals, JSON for dicts and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def optional_decimal(text: str) -> Decimal | None:
    return Decimal(text) if text != "" else None


def flag(text: str) -> bool:
    return text == "true"


def optional_date(text: str) -> date | None:
    return parse_date(text) if text else None


def optional_time(text: str) -> datetime | None:
    return parse_datetime(text) if text else None


def required_date(text: str) -> date:
    value = optional_date(text)
    if value is None:
        raise ArchiveError(f"A required date is missing or not a date: {text!r}.")
    return value


def required_time(text: str) -> datetime:
    value = optional_time(text)
    if value is None:
        raise ArchiveError(f"A required time is missing or not a time: {text!r}.")
    return value


def money_sum(value: Any) -> Decimal:
    """A database SUM in pounds and pence (exact NUMERIC on PostgreSQL; SQLite sums in binary)."""
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def username(user: Any) -> str:
    return user.username if user is not None else ""


def posting_key(posting: SpendPosting | None) -> str:
    if posting is None:
        return ""
    return f"{posting.organisation.code}|{posting.document_number}|{posting.line_number}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
