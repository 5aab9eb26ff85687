"""The OpenAPI 3 document, built from the routes themselves.

Each API view carries its documentation through ``@documented(...)``; ``build_document`` walks
the app's URL map, so a route cannot exist without appearing in the document (a test checks
that every ``/api/v1`` route is documented).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask

from crm.webhooks.signing import SCHEME
from dialflow.strict_json import MAX_DEPTH, RESERVED_KEY
from web import MAX_ID, MAX_OFFSET

F = TypeVar("F", bound=Callable[..., Any])
_DOC_ATTR = "__openapi__"

ERROR = {"$ref": "#/components/schemas/Error"}
# Query parameters that mean the same on every operation that reads them: paging and the ids
# of filters (an id filter sent empty, ``?owner_id=`` as an HTML form sends it, is not given).
# Others are documented as text (dates, flags, enums read loosely).
ID_QUERY = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 1},
    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
    "customer_id": ID_QUERY,
    "agent_id": ID_QUERY,
    "owner_id": ID_QUERY,
    "team_id": ID_QUERY,
}
EMPTY_MEANS_NOT_GIVEN = {"customer_id", "agent_id", "owner_id", "team_id"}
ERROR_RESPONSES = {
    "400": "Malformed request",
    "401": "Missing or invalid bearer token",
    "403": "Not allowed for this user",
    "404": "Not found",
    "409": "Conflict with the current state",
    "413": "The body is larger than the server accepts",
    "422": "Invalid input; details name the fields or elements",
    "503": "database_busy: another transaction held the records past the lock wait (or the "
    "database broke a deadlock); nothing was changed, send it again after Retry-After seconds; "
    "database_unavailable: the connection to the database was lost while the request ran, "
    "send it again after Retry-After seconds (a repeated request finds what was stored); "
    "commit_unknown: the connection was lost after the request's COMMIT was sent, so its "
    "changes may or may not be stored: GET the instance, task or record it changed before "
    "sending it again",
}

# What ``web.api.auth.json_body`` (``dialflow.strict_json``) refuses of a JSON body, said on
# every operation that reads one: the request body's description and its 422 answer.
INVALID_JSON = (
    "422 invalid_json: the body is refused whole, nothing stored, when it is not JSON or not "
    "a JSON object; holds NaN, Infinity or a number beyond a float's range, or a string with "
    "a NUL (\\u0000) or a lone surrogate; nests objects and lists more than "
    f"{MAX_DEPTH} levels deep (the body itself is level 1)"
)
JSON_BODY = "Sent as JSON: an object (Content-Type: application/json)."
RESERVED_KEY_SAID = (
    f"; or holds, in any of its objects at any depth, a key named '{RESERVED_KEY}', which "
    "Dialflow keeps for the types of what it stores (rename the field)"
)


def invalid_json(*, reserved_key: bool = True) -> str:
    """What a JSON body answered ``422 invalid_json`` held; ``reserved_key``: the view reads
    it with ``json_body``, which refuses a ``typename`` key too."""
    return INVALID_JSON + (RESERVED_KEY_SAID if reserved_key else "") + "."


def choice(description: str, values: Iterable[str], *, empty_is_none: bool = True) -> dict:
    """A query parameter taking one of ``values``; sent empty, the filter is not given
    (``empty_is_none``) or refused."""
    parameter: dict[str, Any] = {
        "description": description,
        "schema": {"type": "string", "enum": [str(value) for value in values]},
    }
    if empty_is_none:
        parameter["allowEmptyValue"] = True
    return parameter


def documented(
    summary: str,
    *,
    tag: str,
    description: str | None = None,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (401, 422),
    auth: bool = True,
    query: dict[str, str | dict[str, Any]] | None = None,
    content_type: str = "application/json",
    response_type: str = "application/json",
    also: dict[int, tuple[str, dict[str, Any] | None]] | None = None,
    other_requests: dict[str, dict[str, Any]] | None = None,
    other_responses: dict[str, dict[str, Any]] | None = None,
    reserved_key: bool = True,
) -> Callable[[F], F]:
    """``query``: each parameter's description (its schema text, or that of ``QUERY_SCHEMAS``),
    or the parameter's fields (``description``, ``schema``…; ``choice`` builds them).
    ``also``: other success statuses the view answers, each with its description and response
    schema (None: the same as ``status``'s).
    ``other_requests``: other media types the view reads its body from
    (``multipart/form-data`` beside JSON), with their schema. ``other_responses``: other media
    types of the success answer (an export's XLSX beside CSV), with their schema.
    ``reserved_key``: a JSON body with a ``typename`` key is refused (``json_body`` reads it)."""

    def decorate(view: F) -> F:
        setattr(
            view,
            _DOC_ATTR,
            {
                "summary": summary,
                "description": description,
                "tag": tag,
                "request": request,
                "response": response,
                "status": status,
                "errors": errors,
                "auth": auth,
                "query": query or {},
                "content_type": content_type,
                "response_type": response_type,
                "also": also or {},
                "other_requests": other_requests or {},
                "other_responses": other_responses or {},
                "reserved_key": reserved_key,
            },
        )
        return view

    return decorate


def build_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1"):
            continue
        meta = getattr(app.view_functions[rule.endpoint], _DOC_ATTR, None)
        if meta is None:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, meta, method)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Dialflow API",
            "version": "1.0.0",
            "description": "Telesales CRM and BPMN engine. Errors share one shape. "
            "Webhooks out: " + SCHEME,
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "details"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    },
                }
            },
        },
    }


def undocumented_routes(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        and getattr(app.view_functions[rule.endpoint], _DOC_ATTR, None) is None
    )


def _operation(rule: Any, meta: dict[str, Any], method: str = "GET") -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if f"int:{name}" in rule.rule else "string"},
        }
        for name in rule.arguments
    ]
    for name, described in meta["query"].items():
        parameter = {"name": name, "in": "query", "required": False}
        if isinstance(described, dict):
            parameter.update(described)
        else:
            parameter["description"] = described
        if "schema" in parameter:
            pass
        elif name in QUERY_SCHEMAS:
            parameter["schema"] = QUERY_SCHEMAS[name]
            if name in EMPTY_MEANS_NOT_GIVEN:
                parameter["allowEmptyValue"] = True
        else:
            parameter["schema"] = {"type": "string"}
        parameters.append(parameter)
    responses: dict[str, Any] = {
        str(meta["status"]): {
            "description": "Success",
            "content": {
                meta.get("response_type", "application/json"): {
                    "schema": meta["response"] or {"type": "object"}
                },
                **{
                    media_type: {"schema": schema}
                    for media_type, schema in meta.get("other_responses", {}).items()
                },
            },
        },
    }
    for status, (description, schema) in meta["also"].items():
        responses[str(status)] = {
            "description": description,
            "content": {
                meta.get("response_type", "application/json"): {
                    "schema": schema or meta["response"] or {"type": "object"}
                }
            },
        }
    json_request = meta["request"] is not None and (
        meta["content_type"] == "application/json"
        or "application/json" in meta.get("other_requests", {})
    )
    errors = tuple(meta["errors"])
    if json_request and 422 not in errors:
        errors += (422,)  # a body ``json_body`` refuses (``invalid_json``)
    if meta["request"] is not None and 413 not in errors:
        # Any body over MAX_CONTENT_LENGTH is refused before the view runs (web/errors.py).
        errors += (413,)
    if method != "GET" and 503 not in errors:
        # A write that cannot get its locks is rolled back whole (web/errors.py).
        errors += (503,)
    refused = invalid_json(reserved_key=meta.get("reserved_key", True))
    for status in errors:
        described = ERROR_RESPONSES.get(str(status), "Error")
        if status == 422 and json_request:
            described = f"{described}; {refused}"
        responses[str(status)] = {
            "description": described,
            "content": {"application/json": {"schema": ERROR}},
        }
    operation: dict[str, Any] = {
        "summary": meta["summary"],
        "tags": [meta["tag"]],
        "operationId": rule.endpoint,
        "parameters": parameters,
        "responses": responses,
    }
    if meta.get("description"):
        operation["description"] = meta["description"]
    if meta["auth"]:
        operation["security"] = [{"bearer": []}]
    if meta["request"] is not None:
        operation["requestBody"] = {
            "required": True,
            **({"description": f"{JSON_BODY} {refused}"} if json_request else {}),
            "content": {
                meta["content_type"]: {"schema": meta["request"]},
                **{
                    media_type: {"schema": schema}
                    for media_type, schema in meta.get("other_requests", {}).items()
                },
            },
        }
    return operation


def request_schema(app: Flask, endpoint: str | None) -> dict[str, Any] | None:
    """The documented JSON request schema of the view at ``endpoint``, if it has one."""
    view = app.view_functions.get(endpoint or "")
    meta = getattr(view, _DOC_ATTR, None)
    return meta["request"] if meta else None
