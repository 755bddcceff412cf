"""Hostile values, by what they attack. Shared by the API and form suites.

`Raw` is sent as a JSON token exactly as written (e.g. the number 1e400, which json.dumps cannot
write), so the API's parser meets it as an attacker would send it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Raw:
    token: str

    def __repr__(self) -> str:
        return f"Raw({self.token[:40]})"


# Characters no text field may hold: refused in every field, whatever it is.
CONTROL_TEXT = [
    "\x00",
    "INV\x00-1",
    "a\x01b",
    "red\x1b[31m",
    "del\x7f",
    "c\x851",
    "\ud800",  # a lone surrogate (JSON \ud800): not encodable as UTF-8
]
# Not text at all: refused where the field is text (or a number, or a date...).
NOT_TEXT = [{"a": 1}, [1, 2], True]
# Amounts no money field accepts: non-finite, exponent, over-precise, beyond NUMERIC(18,2).
BAD_MONEY = [
    "1e400",
    Raw("1e400"),
    Raw("-1e400"),
    "1e5",
    Raw("1e5"),
    Raw("1E+5"),
    "NaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1" * 30,
    Raw("1" * 30),
    "10000000000000000.00",
    "-10000000000000000",
    "0.001",
    "12.345",
    Raw("12.345"),
    "1_000",
    "",
    " ",
    Raw("0.1e1"),
]
# Odd but legitimate elsewhere: must never give a server error.
ODD = [
    None,
    "",
    "x" * 100_000,
    -1,
    0,
    2**63,
    Raw("1" * 40),
    Raw("-0"),
    "9999999999999999.99",
    "-9999999999999999.99",
    '=HYPERLINK("http://evil.example","x")',
    "../../etc/passwd",
    "1; DROP TABLE budgets_budgetline;--",
    "<script>alert(1)</script>",
    "2016-02-30",
    "99999-01-01",
    "٣",
    "\u202etxt.exe",
    "a\tb",
    "line\nbreak",
]
ALL = CONTROL_TEXT + NOT_TEXT + BAD_MONEY + ODD
# What a browser form can carry, kept short (every form field gets each): every control
# character class, and the odd values most likely to break a page; amounts get FORM_MONEY too.
FORM_TEXT = [
    "\x00",
    "a\x01b",
    "red\x1b[31m",
    "del\x7f",
    "c\x851",
    "x" * 100_000,
    "",
    "-1",
    "9999999999999999.99",
    '=HYPERLINK("http://evil.example","x")',
    "2016-02-30",
    "line\nbreak",
]
FORM_MONEY = ["1e400", "1e5", "NaN", "Infinity", "1" * 30, "10000000000000000.00", "0.001", "1_000"]


def dumps(value: Any) -> str:
    """JSON text of `value` with every Raw written as its own token."""
    raws: dict[str, str] = {}

    def mark(item: Any) -> Any:
        if isinstance(item, Raw):
            key = f"__raw_{len(raws)}__"
            raws[key] = item.token
            return key
        if isinstance(item, dict):
            return {k: mark(v) for k, v in item.items()}
        if isinstance(item, list):
            return [mark(v) for v in item]
        return item

    text = json.dumps(mark(value))
    for key, token in raws.items():
        text = text.replace(f'"{key}"', token)
    return text


def form_text(value: Any) -> str | None:
    """What a browser form can send for a value (forms carry text only); None: not sendable."""
    if isinstance(value, Raw):
        return value.token
    if isinstance(value, str):
        return None if "\ud800" in value else value
    if value is None or isinstance(value, dict | list | bool):
        return None
    return str(value)
