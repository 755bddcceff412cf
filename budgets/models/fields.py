"""Field helpers: money is NUMERIC(18,2), never float."""

from __future__ import annotations

from typing import Any

from django.db import models

from gmhsc.money import ZERO


def MoneyField(*args: Any, **kwargs: Any) -> models.DecimalField:
    kwargs.setdefault("max_digits", 18)
    kwargs.setdefault("decimal_places", 2)
    return models.DecimalField(*args, **kwargs)


def money_default() -> Any:
    return ZERO
