"""JSON-Schema forms: validate completion data before the engine sees it."""

from __future__ import annotations

from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for

from engine.errors import FormInvalid

_FORMATS = FormatChecker()


def validate_form_data(schema: dict[str, Any] | None, data: Any) -> None:
    """Raise ``FormInvalid`` (422) with one ``{"field", "message"}`` detail per problem."""
    if not isinstance(data, dict):
        raise FormInvalid(
            "Task data must be a JSON object.",
            details=[{"field": "", "message": "expected an object"}],
        )
    if not schema:
        return
    validator = validator_for(schema)(schema, format_checker=_FORMATS)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        details = [
            {"field": _field(e), "message": e.message, "validator": e.validator} for e in errors
        ]
        raise FormInvalid(
            f"The form has {len(details)} invalid field{'s' if len(details) > 1 else ''}.",
            details=details,
        )


def _field(error: Any) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next((name for name in error.validator_value if name not in error.instance), None)
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
