"""The Flask web layer: ``create_app`` wires settings, database and one blueprint per area."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from dialflow.runtime import Runtime
from dialflow.settings import Settings

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER


class DatabaseIdConverter(IntegerConverter):
    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


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

    from web import errors, extensions

    extensions.init_app(app)
    errors.init_app(app)

    from web.api import api_bp
    from web.auth import auth_bp
    from web.customers import customers_bp
    from web.health import health_bp
    from web.imports import imports_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(api_bp)
    extensions.csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    if app.config.get("DEPLOY_SHIPPED_MODELS", not app.testing):
        for version in runtime.deploy_shipped_models():
            app.logger.info("deployed shipped model %s", version)
    return app
