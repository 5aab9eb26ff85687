"""The versioned JSON API (``/api/v1``): bearer tokens, one error shape, OpenAPI document."""

from __future__ import annotations

from flask import Blueprint

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import auth, customers  # noqa: E402,F401  (routes register on import)
