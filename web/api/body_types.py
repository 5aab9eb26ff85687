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
    for name, prop in schema.get("properties", {}).items():
        value = payload.get(name)
        if value is not None and prop.get("type") == "string" and not isinstance(value, str):
            errors.add(name, "Must be text (a JSON string).")
    errors.raise_if_any("The request body has fields of the wrong type.", code=code)
