"""Inserting many rows at once without building a model instance per row: COPY on PostgreSQL
(psycopg adapts and escapes each value), executemany elsewhere (SQLite, `make run`).

For writes of thousands of rows in one service (budget setting's lines, their history and ledger
mappings): Django's bulk_create prepares every value of every row field by field, which for 10,000
lines and their history took five times as long as the rest of the roll forward. The caller passes
values as the columns hold them (ids for foreign keys) and is responsible for what they mean;
nothing here skips a check the service makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models


def columns_of(model: type[models.Model], *, without: Sequence[str] = ("id",)) -> list[str]:
    """The model's concrete columns (attnames, so foreign keys as `..._id`), in table order."""
    return [f.attname for f in model._meta.concrete_fields if f.attname not in without]


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> int:
    """Insert `rows` (each a mapping with every one of `columns`) into the model's table."""
    table = model._meta.db_table
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([row[c] for c in columns])
                count += 1
        return count
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608 (names from the model)
    adapt = connection.ops.adapt_datetimefield_value
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(
                [adapt(v) if isinstance(v, datetime) else v for v in (row[c] for c in columns)]
            )
            count += 1
            if len(batch) >= 2000:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
    return count


def history_rows(
    model: type[models.Model],
    rows: Iterable[Mapping[str, Any]],
    *,
    user_id: int | None,
    reason: str,
    when: datetime,
    kind: str = "+",
) -> int:
    """One django-simple-history record per row (rows hold the object's columns, `id` included):
    who, when, why and what, as `history.bulk_history_create` would write them."""
    historical = model.history.model  # type: ignore[attr-defined]
    columns = columns_of(historical, without=("history_id",))
    tracked = set(columns) - {
        "history_date",
        "history_change_reason",
        "history_type",
        "history_user_id",
    }
    extra = {
        "history_date": when,
        "history_change_reason": reason[:100],
        "history_type": kind,
        "history_user_id": user_id,
    }
    return insert_rows(
        historical, columns, ({**{c: row[c] for c in tracked}, **extra} for row in rows)
    )
