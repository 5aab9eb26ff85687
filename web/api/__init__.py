"""The versioned JSON API (``/api/v1``): bearer tokens, one error shape, OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")


@api_bp.get("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    from web.api.openapi import build_document

    return jsonify(build_document(current_app))


from web.api import (  # noqa: E402  (routes register on import)
    analytics,
    auth,
    calls,
    customer_records,
    customers,
    deals,
    imports,
    instances,
    messages,
    process_models,
    signals,
    tasks,
    telephony,
    telesales,
    webhooks,
)

__all__ = [
    "analytics",
    "api_bp",
    "auth",
    "calls",
    "customer_records",
    "customers",
    "deals",
    "imports",
    "instances",
    "messages",
    "process_models",
    "signals",
    "tasks",
    "telephony",
    "telesales",
    "webhooks",
]
