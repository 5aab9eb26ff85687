"""The API's type check of a JSON body against the operation's documented request schema.

A field documented as ``string`` takes text or null only: a number there would be read as
something else (``0.0`` as absent, ``5`` as ``"5"``). The field parsers in ``crm.validation``
stay lenient on purpose, as CSV imports hand them whatever a spreadsheet cell held.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, request

from crm.validation import FieldErrors
from web.api.openapi import request_schema


def refuse_wrong_types(payload: Mapping[str, Any], *, code: str = "invalid_input") -> None:
    """422 naming each top-level field documented as text that holds something else."""
    schema = request_schema(current_app, request.endpoint)
    if not schema:
        return
    errors = FieldErrors()
    properties = schema.get("properties", {})
    for name, prop in properties.items():
        value = payload.get(name)
        if value is not None and prop.get("type") == "string" and not isinstance(value, str):
            errors.add(name, "Must be text (a JSON string).")
    if errors.details:  # one problem does not hide another: objects and lists of the wrong kind
        for name, prop in properties.items():
            value, kind = payload.get(name), _CONTAINERS.get(prop.get("type", ""))
            if value is not None and kind is not None and not isinstance(value, kind[0]):
                errors.add(name, f"Must be a JSON {kind[1]}.")
    errors.raise_if_any("The request body has fields of the wrong type.", code=code)


_CONTAINERS: dict[str, tuple[type, str]] = {"object": (dict, "object"), "array": (list, "array")}
