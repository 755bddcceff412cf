"""Template filters for money, all through gmhsc.money: `gbp` (£1,234,567, negatives in
brackets) on every page, `gbp_pence` (£1,234.56) only where the page is about pence (postings,
ledger imports), `pct` (2.5% / (2.5%))."""

from __future__ import annotations

from decimal import Decimal

from django import template

from gmhsc.money import format_money, format_pct

register = template.Library()


@register.filter
def gbp(value: Decimal | None) -> str:
    return format_money(value)


@register.filter
def gbp_pence(value: Decimal | None) -> str:
    return format_money(value, pence=True)


@register.filter
def pct(value: Decimal | None) -> str:
    return format_pct(value)
