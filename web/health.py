"""GET /healthz: is the database reachable, and the broker (or is work embedded)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from web.context import runtime

health_bp = Blueprint("health", __name__)


@health_bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    rt = runtime()
    body = {"status": "ok", "database": "ok", "broker": "embedded"}
    try:
        with rt.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        body.update(status="error", database=f"error: {type(exc).__name__}")
    if rt.settings.redis_url:
        body["broker"] = _broker_status(rt.settings.redis_url)
        if body["broker"] != "ok":
            body["status"] = "error"
    return jsonify(body), 200 if body["status"] == "ok" else 503


def _broker_status(redis_url: str) -> str:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
