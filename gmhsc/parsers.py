"""The API's request body parser (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

JSON numbers become exact Decimals, never floats; a number written with an exponent (1e5, 1e400)
arrives as its text, so the field it is sent for refuses it in its own words (an amount: "written
with an exponent"). NaN and Infinity are not JSON. A body nested too deeply for the parser, or
not UTF-8, is a parse error (400 with the API's error shape), never a server error.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers
from rest_framework.exceptions import ParseError

_EXPONENT = re.compile(r"[eE]")
# No request of the API nests deeper than 4 (a batch of postings, a contract's monthly amounts);
# deeper bodies are refused before anything walks them recursively.
MAX_DEPTH = 32


def _number(text: str) -> Decimal | str:
    return text if _EXPONENT.search(text) else Decimal(text)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_SURROGATE = re.compile("[\ud800-\udfff]")


class _TooDeep(Exception):
    pass


def _check(data: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH, and text that is not Unicode (a lone surrogate such
    as "\\ud800" is valid JSON, but no field can store or even print it)."""
    pending = [(data, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ValueError(
                    "a text value holds a lone surrogate (\\ud800 to \\udfff), which is not a "
                    "character"
                )
            continue
        if isinstance(value, dict):
            value = [*value.keys(), *value.values()]
        if isinstance(value, list):
            if level > MAX_DEPTH:
                raise _TooDeep
            pending.extend((item, level + 1) for item in value)


def loads(raw: bytes | str) -> Any:
    """Parse a JSON body as the API does: Decimals, exponents as text, no NaN, bounded nesting,
    Unicode text only."""
    data = json.loads(raw, parse_float=_number, parse_constant=_not_json)
    _check(data)
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig("The request body is too large.")
        if not raw:
            return {}
        try:
            return loads(raw.decode("utf-8"))
        except (RecursionError, _TooDeep):
            raise ParseError(
                f"JSON parse error - the JSON is nested more than {MAX_DEPTH} levels deep."
            ) from None
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - the body is not UTF-8 text.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
