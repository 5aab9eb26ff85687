"""A task's JSON-Schema form checked at deploy for what its meta-schema allows but no one can
fill in.

jsonschema's ``check_schema`` accepted each of these, and the task deployed: a ``$schema`` of
no draft jsonschema knows (checked as the latest draft, whatever the form meant), ``required``
naming a field the form does not have (the task page shows no such field, so the form could
never be sent), an empty ``enum`` (no value is ever valid), and a ``default`` that its own
field refuses (it was filled in for a field left out, and then refused, or stored as it was),
and a list whose ``minItems`` is above ``MAX_MIN_ITEMS`` (the task page builds that many rows
before anyone types: 20,000 took 2.3 s to render and no one fills them in).
Each is said as one sentence naming the field (``company.name`` for a nested one), for
``engine.checks`` to put on the user task.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema.validators import validator_for
from referencing import Registry
from referencing.exceptions import Unresolvable

_NOTHING_TO_FETCH = Registry()
# The most rows a list's ``minItems`` may ask the task page to build at once.
MAX_MIN_ITEMS = 1_000
# Where a schema holds schemas: by name (``properties``), in a list (``allOf``), or one.
_NAMED = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_LISTED = ("allOf", "anyOf", "oneOf", "prefixItems")
_SINGLE = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def unknown_draft(schema: dict[str, Any]) -> str | None:
    """What is wrong with a ``$schema`` of no draft jsonschema knows (it checked such a form
    by the latest draft's rules, with a warning that this will fail), if it is so."""
    declared = schema.get("$schema")
    if declared is None or (
        isinstance(declared, str) and validator_for(schema, default=None) is not None
    ):
        return None
    return (
        f"$schema {declared!r} is no JSON Schema draft Dialflow knows; write "
        "'https://json-schema.org/draft/2020-12/schema' (or draft-07, draft-04), or leave "
        "$schema out"
    )


def form_problems(schema: dict[str, Any]) -> list[str]:
    """One sentence per field no one could fill in (of a form of a known draft)."""
    found: list[str] = []
    checker = validator_for(schema)(schema, registry=_NOTHING_TO_FETCH)
    for path, sub in _subschemas(schema, ()):
        field = ".".join(path) or "the form"
        properties = sub.get("properties")
        required = sub.get("required")
        if isinstance(properties, dict) and isinstance(required, list):
            missing = [r for r in required if isinstance(r, str) and r not in properties]
            if missing:
                names = ", ".join(repr(m) for m in missing)
                have = ", ".join(repr(p) for p in sorted(properties)) or "none"
                found.append(
                    f"{field} requires {names}, which {'is' if len(missing) == 1 else 'are'} "
                    f"not among its properties ({have}): the task page shows no such field, so "
                    "the form could never be sent; add the property or take it out of required"
                )
        low = sub.get("minItems")
        if isinstance(low, int | float) and not isinstance(low, bool) and low > MAX_MIN_ITEMS:
            found.append(
                f"{field} asks for at least {low:,} items (minItems), more than the "
                f"{MAX_MIN_ITEMS:,} rows a task page builds; lower minItems, or take such data "
                "in another way (an import, a service task)"
            )
        if sub.get("enum") == []:
            found.append(
                f"{field} has an empty enum, so no value is ever valid; list the values to "
                "choose from, or leave enum out"
            )
        if "default" in sub:
            problem = _default_problem(checker, sub)
            if problem:
                found.append(
                    f"the default {json.dumps(sub['default'], ensure_ascii=False)} of {field} "
                    f"does not fit its own field ({problem}); it is filled in when the field "
                    "is left out: correct it or leave it out"
                )
    return found


def _default_problem(checker: Any, sub: dict[str, Any]) -> str | None:
    """Why a field's ``default`` is not valid for the field itself, if it is not."""
    field = {key: value for key, value in sub.items() if key != "default"}
    try:
        error = next(iter(checker.evolve(schema=field).iter_errors(sub["default"])), None)
    except (Unresolvable, RecursionError):
        return None  # said by engine.forms.ref_problem
    return error.message if error is not None else None


def _subschemas(
    schema: Any, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every schema within ``schema`` (itself first), with the field path that leads to it."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for key in _NAMED:
        named = schema.get(key)
        if isinstance(named, dict):
            for name, sub in named.items():
                yield from _subschemas(sub, (*path, str(name)) if key == "properties" else path)
    for key in _LISTED:
        listed = schema.get(key)
        if isinstance(listed, list):
            for sub in listed:
                yield from _subschemas(sub, path)
    for key in _SINGLE:
        yield from _subschemas(schema.get(key), path)
