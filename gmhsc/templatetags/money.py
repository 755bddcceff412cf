"""Template filters for money: £1,234,567 with negatives in brackets."""

from __future__ import annotations

from decimal import Decimal

from django import template

from gmhsc.money import format_money

register = template.Library()


@register.filter
def gbp(value: Decimal | None) -> str:
    return format_money(value)


@register.filter
def gbp_pence(value: Decimal | None) -> str:
    return format_money(value, pence=True)


@register.filter
def pct(value: Decimal | None) -> str:
    if value is None:
        return "–"
    return f"({abs(value):.1f}%)" if value < 0 else f"{value:.1f}%"
