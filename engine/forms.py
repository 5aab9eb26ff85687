"""JSON-Schema forms: validate completion data before the engine sees it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from engine.errors import FormInvalid, FormUnusable

_FORMATS = FormatChecker()
# A form's ``$ref`` is looked up in the form only: without a registry of its own, jsonschema
# fetches an http(s) ``$ref`` from the network while it checks a task's data.
_NOTHING_TO_FETCH = Registry()
_DATA_KEYWORDS = ("enum", "const", "default", "examples")  # values, not schemas


def validate_form_data(schema: dict[str, Any] | None, data: Any) -> None:
    """Raise ``FormInvalid`` (422) with one ``{"field", "message"}`` detail per problem."""
    if not isinstance(data, dict):
        raise FormInvalid(
            "Task data must be a JSON object.",
            details=[{"field": "", "message": "expected an object"}],
        )
    if not schema:
        return
    validator = validator_for(schema)(schema, format_checker=_FORMATS, registry=_NOTHING_TO_FETCH)
    try:
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    except Unresolvable as exc:  # a form deployed before deploys checked its references
        raise FormUnusable(
            f"The task's form cannot check the data: its $ref {exc.ref!r} does not resolve "
            "within the form. A process owner must deploy a corrected form."
        ) from None
    if errors:
        details = [
            {"field": _field(e), "message": e.message, "validator": e.validator} for e in errors
        ]
        raise FormInvalid(
            f"The form has {len(details)} invalid field{'s' if len(details) > 1 else ''}.",
            details=details,
        )


def ref_problem(schema: Any) -> str | None:
    """What is wrong with the form's first ``$ref`` that points outside the form (a URL or a
    file, which would be fetched, or never found) or to nothing in it; None if all resolve."""
    refs = sorted(set(_refs(schema)))
    if not refs:
        return None
    base = schema.get("$id") if isinstance(schema.get("$id"), str) else ""
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    resolver = Registry().with_resource(base, resource).resolver(base_uri=base)
    for ref in refs:
        if not ref.startswith("#"):
            return (
                f"$ref {ref!r} points outside the form; a form holds what it refers to (under "
                '"$defs", referred to as "#/$defs/name")'
            )
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return f"$ref {ref!r} refers to nothing in the form"
    return None


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key not in _DATA_KEYWORDS:
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


def _field(error: Any) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        # one error per missing property, each saying which ("'budget' is a required property")
        absent = [name for name in error.validator_value if name not in error.instance]
        said = [name for name in absent if error.message.startswith(f"{name!r} ")]
        missing = next(iter(said or absent), None)
        if missing:
            return f"{path}.{missing}" if path else missing
    return path


def with_form_defaults(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """Every field of the form present in the task data: left-out fields take the schema's
    ``default`` or ``None``. Diagrams can then test ``amount is None`` instead of guessing
    whether a key exists, and a value from an earlier pass round a loop never lingers."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return data
    filled = {
        name: spec.get("default") if isinstance(spec, dict) else None
        for name, spec in properties.items()
        if name not in data
    }
    return {**filled, **data}
