"""Process owners' pages: process models, the modeler, versions with diff and migration, and
the instance view.

The pages are signed-in browser pages. Their actions (validate, deploy, migrate, retry) are
JSON requests to page routes here, protected by the session and the CSRF header, that call the
same engine functions as the bearer-token API: the API keeps its token-only contract, and no
browser holds a token.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _
from flask_login import current_user

from crm.models import User
from dialflow.errors import Forbidden

process_models_bp = Blueprint("process_models", __name__)

EDITORS = ("process_owner", "admin")
WATCHERS = ("process_owner", "admin", "manager", "director")


def require_role(*roles: str) -> None:
    """403 page (or JSON error) unless the signed-in user has one of ``roles``."""
    if current_user.role.value not in roles:
        raise Forbidden(_("This page is for process owners and administrators."))


def actor() -> User:
    """The signed-in user itself (not Flask-Login's proxy), for the engine's audit entries."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def may_edit() -> bool:
    return current_user.is_authenticated and current_user.role.value in EDITORS


from web.process_models import actions, decisions, pages  # noqa: E402  (routes register on import)

__all__ = ["actions", "decisions", "pages", "process_models_bp"]
