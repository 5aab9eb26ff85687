"""Groovy's Elvis operator (``a ?: b``: ``a`` unless it is empty, else ``b``) as the Python
that does the same, ``a or b``.

Bonita declares Groovy as a file's expression language, and its users give a timer or a value
a fallback that way: ``callback_after ?: "PT2H"``. Dialflow evaluates Python, where ``?:`` is
a syntax error; the refusal said only that, and a timer's refusal then explained what ISO 8601
durations look like. When each side is Python on its own, the refusal says the Python to
write instead.
"""

from __future__ import annotations

import ast
import re

_ELVIS = re.compile(r"\?:")


def as_python(text: str) -> str | None:
    """``a or b`` for ``a ?: b`` (each side Python, outside strings), else ``None``."""
    parts = _ELVIS.split(text)
    if len(parts) < 2 or any(not part.strip() for part in parts):
        return None
    python = " or ".join(part.strip() for part in parts)
    try:
        ast.parse(python, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):  # too deep to parse: no translation
        return None
    return python if _outside_strings(text) else None


def _outside_strings(text: str) -> bool:
    """Whether every ``?:`` of ``text`` stands outside its string literals."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', text)
    return bare.count("?:") == text.count("?:")
