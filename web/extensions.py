"""Flask extensions: sign-in sessions, CSRF protection and translations."""

from __future__ import annotations

from flask import Flask, redirect, request, session, url_for
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

from crm.models import User
from web.context import unit_of_work

LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def select_locale() -> str:
    """The user's saved choice, then the switcher in this browser session, then Accept-Language."""
    user_locale = getattr(current_user, "locale", None) if current_user else None
    for choice in (user_locale, session.get("locale")):
        if choice in LANGUAGES:
            return choice
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best is None:
        return DEFAULT_LOCALE
    return "zh_CN" if best.startswith("zh") else "en"


def select_timezone() -> str | None:
    """Times on pages are shown in the user's team time zone (else the default)."""
    team = getattr(current_user, "team", None) if current_user else None
    return getattr(team, "timezone", None)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not (user_id.isascii() and user_id.isdigit()):
        return None
    with unit_of_work(read_only=True) as db:
        user = db.get(User, int(user_id))
        return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def _to_sign_in() -> Response:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_locale=DEFAULT_LOCALE,
        default_timezone="Asia/Shanghai",
    )

    @app.context_processor
    def _layout_context() -> dict:
        from flask_babel import get_locale

        locale = get_locale()
        code = "zh_CN" if locale is not None and locale.language == "zh" else "en"
        return {"languages": LANGUAGES, "current_locale": code}

    from flask_babel import (
        format_currency,
        format_date,
        format_datetime,
        format_decimal,
        format_timedelta,
    )

    from web.labels import disposition_label, role_label, stage_label

    app.jinja_env.globals.update(role_label=role_label, stage_label=stage_label)
    app.jinja_env.globals.update(
        disposition_label=disposition_label, format_timedelta=format_timedelta
    )
    app.jinja_env.filters.update(format_datetime=format_datetime, format_number=format_decimal)
    app.jinja_env.filters.update(
        format_date=format_date,
        format_money=lambda amount, currency="CNY": format_currency(amount, currency),
        format_when=_format_when,
    )
    from web.service_messages import deal_title, localize, task_title

    app.jinja_env.filters["localize"] = localize  # the services' messages, translated
    app.jinja_env.filters["task_title"] = task_title  # titles the shipped processes wrote
    app.jinja_env.filters["deal_title"] = deal_title


def _format_when(value: object, style: str = "short") -> str:
    """A datetime, or an ISO 8601 string as stored in JSON (waits, snapshots), in the reader's
    locale and time zone; anything else as it is."""
    from datetime import datetime

    from flask_babel import format_datetime

    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return format_datetime(value, style)
    return "" if value is None else str(value)
