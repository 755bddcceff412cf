"""Field helpers: money is NUMERIC(18,2), never float."""

from __future__ import annotations

from typing import Any

from django.db import models

from gmhsc.money import PENNY, ZERO


def MoneyField(*args: Any, **kwargs: Any) -> models.DecimalField:
    kwargs.setdefault("max_digits", 18)
    kwargs.setdefault("decimal_places", 2)
    return models.DecimalField(*args, **kwargs)


def money_default() -> Any:
    return ZERO


class MoneySum(models.Sum):
    """SUM of a money column, exact to the penny on every database.

    PostgreSQL sums NUMERIC exactly. SQLite (the `make run` default) sums decimals as floats and
    Django hands the result back unrounded (79627.7400000000001), so the result is put back on the
    penny here; float error on any real sum is far below half a penny.
    """

    def __init__(self, *expressions: Any, **extra: Any) -> None:
        extra.setdefault("output_field", MoneyField())
        super().__init__(*expressions, **extra)

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [*super().get_db_converters(connection), _to_penny]


def _to_penny(value: Any, expression: Any, connection: Any) -> Any:
    return None if value is None else value.quantize(PENNY)
