"""API input fields for text and money: the serializer faces of `gmhsc.text.clean_text` and
`gmhsc.money.to_money`, so the API refuses exactly what the forms, uploads and commands refuse.

Every input serializer declares its text as `TextField` and its amounts as `MoneyField`
(tests/gmhsc/test_hostile_input.py fails on a plain CharField or DecimalField in a request body).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gmhsc.money import MoneyError, to_money
from gmhsc.text import TextError, clean_text

MONEY_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?[0-9]{1,16}(\.[0-9]{1,2})?$",
    "example": "1234.56",
    "description": "pounds and pence as text, at most 2 decimal places (no exponent)",
}


class TextField(serializers.CharField):
    """Text only (a number, list, object or true/false is refused), no NUL or control characters;
    line breaks and tabs only when `multiline`."""

    default_error_messages = {"invalid": "Must be text."}

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        try:
            return clean_text(data, multiline=self.multiline, strip=self.trim_whitespace)
        except TextError as exc:
            raise serializers.ValidationError(f"This field {exc}.") from None


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    """An amount of money, parsed by `gmhsc.money.to_money` (a JSON number without an exponent is
    accepted too); written out as text with 2 decimal places."""

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return to_money(data)
        except MoneyError as exc:
            raise serializers.ValidationError(f"This amount {exc}.") from None

    def to_representation(self, value: Any) -> str:
        return f"{Decimal(value):.2f}"
