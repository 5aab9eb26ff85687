"""The Flask web layer: ``create_app`` wires settings, database and one blueprint per area."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from dialflow.clock import SystemClock, pin_time_token, unpin
from dialflow.runtime import Runtime
from dialflow.settings import Settings

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER
MAX_OFFSET = 10_000_000  # the deepest a list's ``offset`` pages


class OutOfRangeId(int):
    """An id too large for any row: the number 0 to the database (no row has it, and SQL never
    sees a number beyond INTEGER), but the digits asked for in formatted text (f-strings), so
    "not found" messages name the id the client sent rather than #0."""

    digits: str

    def __new__(cls, digits: str) -> OutOfRangeId:
        self = super().__new__(cls, 0)
        self.digits = digits
        return self

    # str() stays "0": a database driver may write an int parameter through str().
    def __format__(self, spec: str) -> str:
        return format(int(self.digits), spec)


def database_id(digits: str) -> int:
    """``digits`` as an id: itself up to ``MAX_ID``, else an ``OutOfRangeId``."""
    number = int(digits)
    return number if number <= MAX_ID else OutOfRangeId(str(number))


class DatabaseIdConverter(IntegerConverter):
    # ASCII digits: werkzeug's ``\d+`` also matches "１" or "١", which int() reads as 1, so
    # /customers/１ answered (and erased) customer 1.
    regex = r"[0-9]+"

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]

    def to_python(self, value: str) -> int:
        # An id too large becomes 0, which no row has: the view answers "not found". (Refusing
        # it here would make werkzeug answer 405 when another method has a route on the path.)
        return database_id(value)


def id_arg(name: str) -> int | None:
    """An id in a page's query string: ASCII digits, or ``None`` (the filter is left out).
    One too large for any row becomes 0, which no row has, as in paths: a filter on it finds
    nothing, a view that needs it answers "not found"; the database never sees it."""
    raw = (request.args.get(name) or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    return database_id(raw)


def create_app(config: dict[str, Any] | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the app. ``config`` overrides Flask settings; ``runtime`` injects a test database."""
    runtime = runtime or Runtime.build()
    settings: Settings = runtime.settings
    settings.configure_logging()

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.environment == "production",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.environment == "production",
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,
        JSON_SORT_KEYS=False,
        WTF_CSRF_TIME_LIMIT=None,
    )
    if config:
        app.config.update(config)
    app.extensions["dialflow"] = runtime
    # Ids in URLs fit the database's integer columns; anything larger is simply not found.
    app.url_map.converters["int"] = DatabaseIdConverter

    from web import errors, extensions, request_checks

    extensions.init_app(app)
    errors.init_app(app)
    request_checks.init_app(app)

    from web.account import account_bp
    from web.api import api_bp
    from web.auth import auth_bp
    from web.customers import customers_bp
    from web.health import health_bp
    from web.imports import imports_bp
    from web.inbox import inbox_bp
    from web.process_models import process_models_bp
    from web.sales import sales_bp
    from web.task_page import task_bp
    from web.webhooks import webhooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(task_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(process_models_bp)
    app.register_blueprint(sales_bp)
    app.register_blueprint(webhooks_bp)
    extensions.csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    if not isinstance(runtime.clock, SystemClock):
        _pin_request_time(app, runtime)
    if app.config.get("DEPLOY_SHIPPED_MODELS", not app.testing):
        for version in runtime.deploy_shipped_models():
            app.logger.info("deployed shipped model %s", version)
    return app


def _pin_request_time(app: Flask, runtime: Runtime) -> None:
    """On a test clock, each request's records carry the clock's time (see dialflow.clock)."""
    from flask import g

    @app.before_request
    def pin() -> None:
        g.dialflow_time_token = pin_time_token(runtime.clock.now())

    @app.teardown_request
    def release(_exc: BaseException | None) -> None:
        token = g.pop("dialflow_time_token", None)
        if token is not None:
            with suppress(ValueError):  # another context ran the request: nothing to undo
                unpin(token)
