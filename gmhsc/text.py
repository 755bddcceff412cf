"""The one text cleaner: every piece of text a person or a system sends in (API fields, browser
forms, uploaded rows, command arguments) passes `clean_text` before a service stores it.

It refuses what no field should hold: values that are not text at all (a JSON object, a list, a
number or true/false where text is expected), the NUL character (PostgreSQL cannot store it),
other control characters (invisible, and they break exports and logs), and lone surrogates
(not encodable as UTF-8). Line breaks and tabs are allowed only in multi-line fields (reasons,
descriptions, commentary, notes). Blanks around a value are trimmed unless the caller keeps them.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from gmhsc.errors import ApplicationError

# Blanks trimmed around a value: the same set the ledger import's SQL trims (btrim).
BLANKS = " \t\r\n"
# C0 controls but tab, line feed and carriage return; DEL and the C1 controls; lone surrogates.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_NEVER = re.compile(f"[{_CONTROL}]")
_NOT_ONE_LINE = re.compile(f"[{_CONTROL}\t\n\r]")
# The same classes for PostgreSQL regular expressions (the ledger import's SQL engine; NUL never
# reaches it: COPY refuses the byte).
SQL_NEVER = r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
SQL_NOT_ONE_LINE = r"[\x01-\x1f\x7f-\x9f]"

TEXT_MESSAGES: dict[str, str] = {
    "type": "must be text, not {kind}",
    "nul": "contains the NUL character (U+0000); remove it",
    "control": "contains the control character {code}; remove it",
    "line_break": "must be on one line; remove the line break or tab",
    "surrogate": "contains {code}, which is not a character (text that is not valid Unicode)",
    "too_long": "is longer than {limit} characters",
    "required": "is required",
}

_KINDS = {
    dict: "an object",
    list: "a list",
    tuple: "a list",
    bool: "true or false",
    int: "a number",
    float: "a number",
}


class TextError(ValueError):
    """A value a text field cannot hold. The text says why, without the field name."""


def _kind(value: object) -> str:
    for cls, kind in _KINDS.items():
        if isinstance(value, cls):
            return kind
    return type(value).__name__


def kind_of(value: object) -> str | None:
    """What a value that is not text is ("an object", "a number"...), as `clean_text` names it
    when it refuses it; None for text and None (a field left out)."""
    if value is None or isinstance(value, str):
        return None
    return _kind(value)


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character `clean_text` would refuse in `text`, or None."""
    found = (_NEVER if multiline else _NOT_ONE_LINE).search(text)
    return found.group() if found else None


def problem(text: str, *, multiline: bool = False) -> str | None:
    """What is wrong with the characters of `text` (TEXT_MESSAGES wording), or None."""
    bad = control_character(text, multiline=multiline)
    if bad is None:
        return None
    if bad == "\x00":
        return TEXT_MESSAGES["nul"]
    if bad in "\t\n\r":
        return TEXT_MESSAGES["line_break"]
    if "\ud800" <= bad <= "\udfff":
        return TEXT_MESSAGES["surrogate"].format(code=f"U+{ord(bad):04X}")
    return TEXT_MESSAGES["control"].format(code=f"U+{ord(bad):04X}")


def clean_text(
    value: Any,
    *,
    multiline: bool = False,
    max_length: int | None = None,
    required: bool = False,
    strip: bool = True,
) -> str:
    """`value` as clean text, or TextError saying what is wrong.

    None is the empty string (a field left out). Anything else that is not a str is refused, so
    a JSON object sent as a document number is never stored as "{'a': 1}".
    """
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        raise TextError(TEXT_MESSAGES["type"].format(kind=_kind(value)))
    if strip:
        text = text.strip(BLANKS)
    wrong = problem(text, multiline=multiline)
    if wrong is not None:
        raise TextError(wrong)
    if required and not text:
        raise TextError(TEXT_MESSAGES["required"])
    if max_length is not None and len(text) > max_length:
        raise TextError(TEXT_MESSAGES["too_long"].format(limit=max_length))
    return text


class TextValidator:
    """Django/DRF validator form of the cleaner's character rule (for form and serializer fields)."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str):
            return
        wrong = problem(value, multiline=self.multiline)
        if wrong is not None:
            raise ValidationError(f"This field {wrong}.", code="control_character")


class TextFormField(forms.CharField):
    """A browser form's text field, cleaned by `clean_text`'s rule (no NUL or control characters;
    line breaks and tabs only in a textarea, or with multiline=True). Every form declares its
    text with this field (tests/hostile/test_forms.py fails on a plain CharField)."""

    def __init__(self, *, multiline: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if multiline is None:
            multiline = isinstance(self.widget, forms.Textarea)
        self.multiline = multiline
        self.validators.append(TextValidator(multiline=multiline))


def clean_field(value: Any, *, field: str, label: str, **rules: Any) -> str:
    """`clean_text` for a service that takes text straight from a page: the problem becomes an
    ApplicationError naming the field ("Reason contains the NUL character ...")."""
    try:
        return clean_text(value, **rules)
    except TextError as exc:
        raise ApplicationError(f"{label} {exc}.", extra={"field": field}) from None
