"""Shared helpers for the CRM API tests: bearer tokens without password hashing, error shape."""

from __future__ import annotations

from typing import Any

from crm.models import User
from crm.users import create_token


def bearer(db: Any, user: User) -> dict[str, str]:
    """A token issued the way ``dialflow token create`` does."""
    with db() as session:
        token = create_token(session, session.get(User, user.id))
    return {"Authorization": f"Bearer {token}"}


def error_of(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code, error
    return error


def fields_of(error: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in error["details"]}
