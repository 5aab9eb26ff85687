"""Strict JSON for what clients send (request bodies, uploaded forms, import mappings): what the
databases and our own responses can hold.

Python's parser accepts more than that: ``NaN`` and ``Infinity``, numbers too large for a
float (``1e400`` reads as infinity), lone surrogates (``"\\udcff"``, which no database can store
as UTF-8) and NULs (``"\\u0000"``, which PostgreSQL's text and JSON columns refuse). Each would
later be a 500 — in a column, in ``int()``, or as invalid JSON in our own answer — so the text is
refused whole before anything reads it. Nesting deeper than Python's parser goes is a
RecursionError, which callers refuse alike.
"""

from __future__ import annotations

import json
import math
from typing import Any


def loads_strict(raw: bytes | str) -> Any:
    """The JSON value of ``raw``; ValueError (or RecursionError) when it is not strict JSON."""
    data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    # In bytes, escapes are the only way a NUL or a lone surrogate gets into a string.
    if isinstance(raw, str) or b"\\u" in raw:
        _check_text(data)
    return data


def _check_text(value: Any) -> None:
    """ValueError if a string in ``value`` (a key too) holds a NUL or a lone surrogate."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)
    elif isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL in a string")
        value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value
