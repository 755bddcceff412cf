"""Spreadsheet formula injection (CSV/XLSX): a text cell that starts with a formula trigger is
neutralised by a leading single quote, so Excel and LibreOffice show it as text and never run it.
Numbers are never touched: a negative amount stays a number."""

from __future__ import annotations

from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text starting with = + - @ tab or carriage return gets a leading `'`; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value
