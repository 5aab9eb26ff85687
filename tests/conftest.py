"""Fixtures: a migrated database per test (SQLite file copy, or a PostgreSQL schema per run).

``DIALFLOW_TEST_DATABASE_URL`` selects PostgreSQL; unset, tests use SQLite files. Each pytest
process (xdist worker) on PostgreSQL migrates its own schema once and truncates between tests.
"""

from __future__ import annotations

import functools
import gc
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from crm.customers import create_customer
from crm.models import Customer, User
from crm.users import create_user, hash_password
from dialflow import schema
from dialflow.db import Base, Database
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from web import create_app

PG_URL = os.environ.get("DIALFLOW_TEST_DATABASE_URL")
PASSWORD = "correct-horse-42"


def _compile_each_url_builder_once() -> None:
    """Werkzeug compiles Python code for every route of every app it builds (``create_app``:
    about 60 ms, most of a test's set-up) and the suite builds an app per test. A builder
    depends only on its rule's text and parts, so the suite's processes compile each once and
    share it. Rules with defaults (folded into their builder) are compiled as usual."""
    compile_builder = Rule._compile_builder
    compiled: dict[tuple[Any, ...], Any] = {}

    def compile_once(rule: Rule, append_unknown: bool = True) -> Any:
        if rule.defaults:
            return compile_builder(rule, append_unknown)
        key = (rule.rule, tuple(rule._trace), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(rule, append_unknown)
        return compiled[key]

    Rule._compile_builder = compile_once  # type: ignore[method-assign]


def _parse_each_url_rule_once() -> None:
    """Parsing a rule's text into its parts (``Rule.compile``) was half of what building an
    app still cost (about 7 ms of 12). A rule's parts, trace and converters depend only on its
    text, its map's converter classes and slash merging, so the suite's processes parse each
    once; the converters are stateless and shared, the builders come from the cache above."""
    compile_rule = Rule.compile
    parsed: dict[tuple[Any, ...], tuple[list[Any], list[Any], dict[str, Any]]] = {}

    def compile_once(rule: Rule) -> None:
        url_map = rule.map
        assert url_map is not None, "rule not bound"
        key = (
            rule.rule,
            rule.host if url_map.host_matching else rule.subdomain,
            url_map.host_matching,
            rule.merge_slashes,
            tuple(url_map.converters.items()),
        )
        found = parsed.get(key)
        if found is None:
            compile_rule(rule)
            parsed[key] = (list(rule._parts), list(rule._trace), dict(rule._converters))
            return
        parts, trace, converters = found
        rule._parts, rule._trace, rule._converters = list(parts), list(trace), dict(converters)
        rule.arguments.update(converters)
        rule._build = rule._compile_builder(False).__get__(rule, None)  # type: ignore[method-assign]
        rule._build_unknown = rule._compile_builder(True).__get__(rule, None)  # type: ignore[method-assign]

    Rule.compile = compile_once  # type: ignore[method-assign]


_compile_each_url_builder_once()
_parse_each_url_rule_once()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collecting imports the whole codebase and every test module: some 160,000 objects
    that live to the end. Each of the garbage collector's full passes walked them all again
    (about a tenth of the tests' CPU); frozen once collected, the passes walk only what the
    tests made. Nothing frozen is garbage: it was collected just before."""
    gc.collect()
    gc.freeze()


def backend() -> str:
    return "postgresql" if PG_URL else "sqlite"


@pytest.fixture(scope="session")
def _pg_schema(worker_id: str) -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    worker = re.sub(r"\W", "", worker_id)
    name = f"dft_{uuid.uuid4().hex[:8]}_{worker}"
    settings = Settings.from_env(
        {
            "DATABASE_URL": PG_URL,
            "DATABASE_SCHEMA": name,
            "DIALFLOW_ENV": "test",
            "SECRET_KEY": "x" * 32,
        }
    )
    database = Database(settings)
    schema.upgrade(database.engine, schema=name)
    database.dispose()
    yield name
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if PG_URL:
        return None
    path = tmp_path_factory.mktemp("template") / "dialflow.db"
    settings = Settings.from_env(
        {"DATABASE_URL": f"sqlite:///{path}", "DIALFLOW_ENV": "test", "SECRET_KEY": "x" * 32}
    )
    database = Database(settings)
    schema.upgrade(database.engine)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def _sqlite_shipped_template(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path | None
) -> Path:
    """The migrated template with ``bpmn/`` deployed as the ``team`` fixture deploys it (on
    its clock, at T0). Deploying the shipped diagrams cost that fixture about 180 ms of CPU a
    test; on this copy its own deploy finds every bundle there (content-addressed) and adds
    nothing, so the test's database holds the same rows. PostgreSQL deploys per test."""
    from dialflow.clock import ManualClock
    from tests.engine.conftest import T0

    folder = tmp_path_factory.mktemp("shipped")
    path = folder / "dialflow.db"
    shutil.copy(_sqlite_template, path)  # type: ignore[arg-type]
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "DIALFLOW_ENV": "test",
            "SECRET_KEY": "x" * 32,
            "DIALFLOW_VAR_DIR": str(folder / "var"),
        }
    )
    runtime = Runtime.build(settings, clock=ManualClock(T0))
    runtime.deploy_shipped_models()
    runtime.close()
    return path


@pytest.fixture
def test_env(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _pg_schema: str | None,
    _sqlite_template: Path | None,
) -> dict[str, str]:
    """Environment variables naming this test's fresh, migrated database.

    Webhook tests post to receivers on 127.0.0.1, which the default refuses as internal: they
    say so with ``@pytest.mark.webhook_targets("127.0.0.1")`` (module or test)."""
    env = {
        "DIALFLOW_ENV": "test",
        "SECRET_KEY": "test-secret-key-0123456789",
        "DIALFLOW_VAR_DIR": str(tmp_path / "var"),
    }
    allowed = request.node.get_closest_marker("webhook_targets")
    if allowed is not None:
        env["DIALFLOW_WEBHOOK_ALLOWED_TARGETS"] = " ".join(allowed.args)
    if PG_URL:
        env.update(DATABASE_URL=PG_URL, DATABASE_SCHEMA=_pg_schema or "")
    else:
        template = _sqlite_template
        if "team" in request.fixturenames:  # tests.processes.conftest.team
            template = request.getfixturevalue("_sqlite_shipped_template")
        db_file = tmp_path / "dialflow.db"
        shutil.copy(template, db_file)  # type: ignore[arg-type]
        env["DATABASE_URL"] = f"sqlite:///{db_file}"
    return env


@pytest.fixture
def settings(test_env: dict[str, str]) -> Settings:
    return Settings.from_env(test_env)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings)
    if PG_URL:
        _truncate_all(rt.db)
    yield rt
    rt.close()


def _truncate_all(database: Database) -> None:
    """Empty every table. DELETE on small tables is far cheaper than TRUNCATE (34 ms for the
    audit log alone, the most of a test's set-up). The audit log refuses DELETE (an append-only
    trigger), so the DELETEs run as a replica, which fires no triggers; a role that may not do
    that truncates the audit log instead."""
    deletes = [
        f'DELETE FROM "{table.name}"'
        for table in reversed(Base.metadata.sorted_tables)
        if table.name != "audit_log"
    ]
    as_replica = ["SET LOCAL session_replication_role = replica", 'DELETE FROM "audit_log"']
    try:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("; ".join([*as_replica, *deletes]))
    except DBAPIError:
        with database.engine.begin() as connection:
            connection.exec_driver_sql("; ".join(['TRUNCATE "audit_log"', *deletes]))


@pytest.fixture
def db(runtime: Runtime) -> Callable[..., Any]:
    """``with db() as session:`` opens one committed unit of work on the test database."""
    return runtime.db.unit_of_work


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app({"TESTING": True}, runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@functools.cache
def password_hash(password: str) -> str:
    """argon2 is slow on purpose; hash each test password once per process, not per user."""
    return hash_password(password)


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A real HTTP server on 127.0.0.1 that records webhook deliveries (``webhook_receiver``)."""
    from tests.webhook_receiver import serving_receiver

    with serving_receiver() as found:
        yield found


@pytest.fixture
def make_user(db: Callable[..., Any]) -> Callable[..., User]:
    """Users without a password unless one is given (then stored as a cached argon2 hash)."""
    counter = iter(range(1, 10_000))

    def _make(
        role: str = "agent",
        username: str | None = None,
        team: str | None = "East",
        manager: str | None = None,
        password: str | None = None,
    ) -> User:
        with db() as session:
            user = create_user(
                session,
                username=username or f"{role}{next(counter)}",
                role=role,
                team=team,
                manager=manager,
            )
            if password is not None:
                user.password_hash = password_hash(password)
            return user

    return _make


@pytest.fixture
def make_customer(db: Callable[..., Any]) -> Callable[..., Customer]:
    counter = iter(range(10_000_000, 99_999_999))

    def _make(actor: User | None = None, **fields: Any) -> Customer:
        fields.setdefault("name", "测试客户")
        if "phone" not in fields and "phones" not in fields and "email" not in fields:
            fields["phone"] = f"139{next(counter):08d}"
        with db() as session:
            return create_customer(session, fields, actor=actor)

    return _make


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the real form, CSRF token included."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token, "sign-in form has no CSRF token"
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token.group(1)}
    )


def api_token(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def count(session: Session, model: type) -> int:
    from sqlalchemy import func, select

    return session.scalar(select(func.count()).select_from(model)) or 0


def midday_zone() -> str:
    """A fixed-offset zone where the wall clock reads about noon, so a customer living there is
    inside the calling window (which click-to-call respects) whenever a wall-clock test runs."""
    offset = 12 - datetime.now(UTC).hour  # Etc/GMT-N is UTC+N
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"
