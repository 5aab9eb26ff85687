"""The API's type check of a JSON body against the operation's documented request schema.

A field documented as ``string`` takes text or null only: a number there would be read as
something else (``0.0`` as absent, ``5`` as ``"5"``). The field parsers in ``crm.validation``
stay lenient on purpose, as CSV imports hand them whatever a spreadsheet cell held. Text
inside an object or a list of the body is checked where the schema says string (a lead's
``tags``, a customer's ``phones``, a deploy's ``dmn``), each wrong value named by its path:
``phones[1]``, ``address.city``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, request

from crm.validation import FieldErrors
from web.api.openapi import request_schema


def refuse_wrong_types(payload: Mapping[str, Any], *, code: str = "invalid_input") -> None:
    """422 naming each field documented as text that holds something else, at the top level
    or inside the body's objects and lists (by its path)."""
    schema = request_schema(current_app, request.endpoint)
    if not schema:
        return
    errors = FieldErrors()
    properties = schema.get("properties", {})
    for name, prop in properties.items():
        _refuse_non_text(payload.get(name), prop, name, errors)
    if errors.details:  # one problem does not hide another: objects and lists of the wrong kind
        for name, prop in properties.items():
            value, kind = payload.get(name), _CONTAINERS.get(prop.get("type", ""))
            if value is not None and kind is not None and not isinstance(value, kind[0]):
                errors.add(name, f"Must be a JSON {kind[1]}.")
    errors.raise_if_any("The request body has fields of the wrong type.", code=code)


_CONTAINERS: dict[str, tuple[type, str]] = {"object": (dict, "object"), "array": (list, "array")}


def _refuse_non_text(value: Any, prop: Any, path: str, errors: FieldErrors) -> None:
    """Each value under ``path`` that the schema ``prop`` says is text and is not; objects and
    lists are followed through their ``properties`` and ``items`` (a value of another kind
    there is left to the view's own checks, as at the top level)."""
    if value is None or not isinstance(prop, Mapping):
        return
    kind = prop.get("type")
    if kind == "string":
        if not isinstance(value, str):
            errors.add(path, "Must be text (a JSON string).")
    elif kind == "object" and isinstance(value, dict):
        inner = prop.get("properties")
        if isinstance(inner, Mapping):
            for name, sub in inner.items():
                _refuse_non_text(value.get(name), sub, f"{path}.{name}", errors)
    elif kind == "array" and isinstance(value, list):
        items = prop.get("items")
        if not isinstance(items, Mapping) or items.get("type") not in _FOLLOWED:
            return
        before = len(errors.details)
        for index, item in enumerate(value):
            if item is None and items.get("type") == "string" and not items.get("nullable"):
                errors.add(f"{path}[{index}]", "Must be text (a JSON string), not null.")
            else:
                _refuse_non_text(item, items, f"{path}[{index}]", errors)
            if len(errors.details) - before >= MAX_ITEM_ERRORS:  # a 1 MB list of numbers
                break


MAX_ITEM_ERRORS = 20  # wrong items named per list; the rest go unnamed
_FOLLOWED = ("string", "object", "array")
