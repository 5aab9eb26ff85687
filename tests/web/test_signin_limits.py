"""Sign-in throttling (5 failures per username and address per 15 minutes), sign-out, cookies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from crm.models import AuditEntry
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.conftest import PASSWORD
from tests.web.test_pages import EN, csrf_token, is_signed_in
from web import create_app

T0 = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def clocked(runtime: Runtime, settings: Settings, clock: ManualClock) -> Iterator[Flask]:
    """An app whose clock only moves when told to (``runtime`` has emptied the database)."""
    rt = Runtime.build(settings, clock=clock)
    yield create_app({"TESTING": True}, runtime=rt)
    rt.close()


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="zhangwei", password=PASSWORD)


def browser(app: Flask, address: str = "10.0.0.1"):
    """A test client whose requests all come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def attempt(client, password: str, username: str = "zhangwei"):
    page = client.get("/login", headers=EN)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
        headers=EN,
    )


def fail(client, times: int, **kwargs) -> None:
    for _ in range(times):
        assert attempt(client, "wrong-password", **kwargs).status_code == 401


def test_sixth_failure_is_429_with_retry_after_even_with_the_right_password(clocked, agent, clock):
    client = browser(clocked)
    fail(client, 5)
    clock.advance(timedelta(minutes=3))
    response = attempt(client, PASSWORD)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(12 * 60)
    assert "Too many failed sign-in attempts. Try again in 12 minutes." in response.text
    assert not is_signed_in(client)


def test_the_window_slides_after_fifteen_minutes(clocked, agent, clock):
    client = browser(clocked)
    fail(client, 5)
    clock.advance(timedelta(minutes=14, seconds=59))
    assert attempt(client, PASSWORD).status_code == 429
    clock.advance(timedelta(seconds=2))
    assert attempt(client, PASSWORD).status_code == 302
    assert is_signed_in(client)


def test_refused_attempts_do_not_extend_the_lock(clocked, agent, clock):
    client = browser(clocked)
    fail(client, 5)
    for _ in range(10):
        assert attempt(client, "wrong-password").status_code == 429
    clock.advance(timedelta(minutes=15, seconds=1))
    assert attempt(client, PASSWORD).status_code == 302


def test_other_addresses_and_other_usernames_are_not_locked(clocked, agent, make_user):
    make_user("agent", username="lina", password=PASSWORD)
    client = browser(clocked)
    fail(client, 5)
    assert attempt(client, "wrong-password").status_code == 429
    assert attempt(client, "wrong-password", username="lina").status_code == 401
    elsewhere = browser(clocked, "10.0.0.2")
    assert attempt(elsewhere, PASSWORD).status_code == 302
    assert is_signed_in(elsewhere)


def test_unknown_usernames_are_limited_the_same_way(clocked):
    client = browser(clocked)
    fail(client, 5, username="nobody")
    assert attempt(client, "wrong-password", username="nobody").status_code == 429


def test_failures_are_counted_across_web_processes(clocked, agent, settings, clock, db):
    """Two apps on one database stand for two gunicorn workers: the count lives in the database."""
    other_runtime = Runtime.build(settings, clock=clock)
    try:
        other = browser(create_app({"TESTING": True}, runtime=other_runtime))
        fail(browser(clocked), 3)
        fail(other, 2)
        assert attempt(browser(clocked), PASSWORD).status_code == 429
        assert attempt(other, PASSWORD).status_code == 429
    finally:
        other_runtime.close()
    with db() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "sign_in_failed")
        ).all()
        assert len(entries) == 5
        assert {e.after["username"] for e in entries} == {"zhangwei"}
        assert {e.after["address"] for e in entries} == {"10.0.0.1"}
        assert {e.source for e in entries} == {"web"}


def test_the_api_token_door_shares_the_limit(clocked, agent):
    client = browser(clocked)
    fail(client, 4)
    body = {"username": "zhangwei", "password": "wrong-password"}
    assert client.post("/api/v1/auth/token", json=body).status_code == 401
    response = client.post("/api/v1/auth/token", json={**body, "password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "too_many_sign_in_attempts"
    assert int(response.headers["Retry-After"]) == 15 * 60
    assert attempt(client, PASSWORD).status_code == 429


def test_sign_out_is_a_post_with_csrf(client, agent):
    attempt(client, PASSWORD)
    assert is_signed_in(client)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert is_signed_in(client)
    page = client.get("/inbox")
    assert client.post("/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 302
    assert not is_signed_in(client)


def test_session_cookie_is_http_only_and_same_site(client, agent):
    response = attempt(client, PASSWORD)
    cookies = response.headers.getlist("Set-Cookie")
    cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure(runtime, test_env):
    settings = Settings.from_env({**test_env, "DIALFLOW_ENV": "production"})
    rt = Runtime.build(settings)
    try:
        app = create_app({"TESTING": True}, runtime=rt)
    finally:
        rt.close()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_keep_me_signed_in_cookie_is_http_only_and_same_site(client, agent):
    page = client.get("/login", headers=EN)
    response = client.post(
        "/login",
        data={
            "username": "zhangwei",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf_token(page.text),
        },
        headers=EN,
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    cookie = next(c for c in cookies if c.startswith("remember_token="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # only in production (see below)
