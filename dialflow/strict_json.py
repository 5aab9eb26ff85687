"""Strict JSON for what clients send (request bodies, uploaded forms, import mappings): what the
databases and our own responses can hold.

Python's parser accepts more than that: ``NaN`` and ``Infinity``, numbers too large for a
float (``1e400`` reads as infinity), lone surrogates (``"\\udcff"``, which no database can store
as UTF-8) and NULs (``"\\u0000"``, which PostgreSQL's text and JSON columns refuse). Each would
later be a 500 — in a column, in ``int()``, or as invalid JSON in our own answer — so the text is
refused whole before anything reads it. Nesting deeper than Python's parser goes is a
RecursionError, which callers refuse alike. Nesting deeper than ``MAX_DEPTH`` is refused too:
an instance keeps what it is sent, and SpiffWorkflow's serializer reads and writes its state
recursively, so data nested a few hundred levels failed the step that stored it, or every
step after the instance was next read from the database (500s; an instance no one could move).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any


class NotStorable(ValueError):
    """JSON holding what the databases or our answers cannot: ``what``, at ``path`` (the
    fields leading to it, as ``web.api.body_types`` names them: ``bpmn["x.bpmn"]``)."""

    def __init__(self, what: str, path: str = "") -> None:
        super().__init__(f"{what} in {path}" if path else what)
        self.what, self.path = what, path


# Levels of objects and lists a value may nest: far beyond any form or payload, well within
# what SpiffWorkflow's serializer can write and read again (it failed from about 250).
MAX_DEPTH = 64

# A key SpiffWorkflow's serializer reads as the type of a stored object: an object of an
# instance's data holding it came back as that type (a datetime, an event) or failed to.
RESERVED_KEY = "typename"


def loads_strict(raw: bytes | str) -> Any:
    """The JSON value of ``raw``; ValueError (or RecursionError) when it is not strict JSON,
    ``NotStorable`` when it is JSON holding what cannot be stored."""
    data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    opened = raw.count("{") + raw.count("[") if isinstance(raw, str) else _opened(raw)
    if opened > MAX_DEPTH:  # fewer openings cannot nest deeper: nothing to walk
        _check_depth(data)
    # In bytes, escapes are the only way a NUL or a lone surrogate gets into a string.
    if isinstance(raw, str) or b"\\u" in raw:
        _check_text(data)
    return data


NUL = "\x00"


def _check_text(value: Any, path: str = "") -> None:
    """NotStorable if a string in ``value`` (a key too) holds a NUL or a lone surrogate."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            _check_text(item, _field(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if NUL in value:
            raise NotStorable(f"a NUL character (\\u0000){_line_of(value, NUL)}", path)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            lone = value[exc.start]
            raise NotStorable(
                f"a lone surrogate (\\u{ord(lone):04x}){_line_of(value, lone)}", path
            ) from None


def _opened(raw: bytes) -> int:
    return raw.count(b"{") + raw.count(b"[")


def _check_depth(value: Any) -> None:
    """NotStorable if ``value`` nests objects and lists deeper than ``MAX_DEPTH``."""
    path = too_deep_at(value)
    if path is not None:
        raise NotStorable(f"values nested more than {MAX_DEPTH} levels deep", path)


# The way to a value: the way to its container and its key (text) or index, None at the top.
_Trail = tuple[Any, str | int] | None


def too_deep_at(value: Any) -> str | None:
    """The path (its first levels) to the first value of ``value`` nested deeper than
    ``MAX_DEPTH`` objects and lists, or None; walked without recursion."""
    found = shape_problem(value, depth=True, key=False)
    return None if found is None else found[1]


def reserved_key_at(value: Any) -> str | None:
    """The path of the first object in ``value`` with a key ``RESERVED_KEY`` (``""`` for
    ``value`` itself), or None."""
    found = shape_problem(value, depth=False, key=True)
    return None if found is None else found[1]


def shape_problem(value: Any, *, depth: bool, key: bool) -> tuple[str, str] | None:
    """``("depth", path)`` for a value nested deeper than ``MAX_DEPTH`` (with ``depth``; its
    path's first levels), else ``("key", path)`` for the first object with a key
    ``RESERVED_KEY`` (with ``key``), else None. One walk for both, without recursion, looking
    only into objects and lists (dicts, lists, tuples), keyed by text or not (a script's
    ``{101: [...]}``), and writing a path only for what it found: a path for every value took
    four times as long as writing the value's JSON."""
    if not depth and not key:
        return None
    keyed: list[_Trail] = []  # the way to the first object with the key, once found
    stack: list[tuple[Any, int, _Trail]] = [(value, 1, None)]
    while stack:
        item, level, trail = stack.pop()
        if depth and level > MAX_DEPTH:
            path = _path(trail)
            return "depth", path if len(path) <= 80 else path[:80] + "…"
        if isinstance(item, dict):
            if key and not keyed and RESERVED_KEY in item:
                if not depth:
                    return "key", _path(trail)
                keyed.append(trail)  # said unless a value is nested too deep
            stack.extend(
                (child, level + 1, (trail, str(name)))
                for name, child in item.items()
                if isinstance(child, dict | list | tuple)
            )
        elif isinstance(item, list | tuple):
            stack.extend(
                (child, level + 1, (trail, index))
                for index, child in enumerate(item)
                if isinstance(child, dict | list | tuple)
            )
    return ("key", _path(keyed[0])) if keyed else None


def _path(trail: _Trail) -> str:
    """The path ``_field`` and ``[index]`` write for ``trail``."""
    steps: list[str | int] = []
    while trail is not None:
        trail, step = trail
        steps.append(step)
    path = ""
    for step in reversed(steps):
        path = f"{path}[{step}]" if isinstance(step, int) else _field(path, step)
    return path


def _field(path: str, key: str) -> str:
    named = key if re.fullmatch(r"[A-Za-z_]\w*", key) else json.dumps(key, ensure_ascii=False)
    if named == key:
        return f"{path}.{key}" if path else key
    return f"{path}[{named}]"


def _line_of(text: str, character: str) -> str:
    """ " on line N" of a text of several lines (a diagram's XML), else nothing."""
    if "\n" not in text:
        return ""
    return f" on line {text.count(chr(10), 0, text.index(character)) + 1}"


def _no_constant(name: str) -> Any:
    raise NotStorable(f"{name}, which is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStorable(f"{text[:20]}, too large a number")
    return value
