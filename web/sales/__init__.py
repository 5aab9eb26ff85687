"""Telesales pages beyond the inbox: approvals, team board, pipeline, public pool, new lead and
settings. One blueprint; each page lives in its own module."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort
from flask_login import current_user, login_required

from web.service_messages import localize

sales_bp = Blueprint("sales", __name__)

MANAGERS = frozenset({"manager", "director", "admin"})


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed in, and one of ``roles`` (else 403: the page exists, it is not for you)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role.value not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def field_messages(details: list[dict[str, Any]]) -> dict[str, str]:
    """Error details → the first message per form field (``phones[0]`` → ``phone``)."""
    out: dict[str, str] = {}
    for detail in details:
        name = str(detail.get("field") or "").split("[")[0].split(".")[0]
        name = "phone" if name == "phones" else name
        out.setdefault(name or "_form", localize(detail.get("message")))
    return out


from web.sales import (  # noqa: E402, F401
    analytics,
    approvals,
    leads,
    pipeline,
    pool,
    settings_page,
    team,
)
