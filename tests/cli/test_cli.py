"""The real ``dialflow`` click CLI, run in-process against the test database."""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from crm import demo
from crm.models import ApiToken, Customer, CustomerPhone, Role, User
from crm.users import create_user
from dialflow import schema
from dialflow.cli import main
from tests.conftest import PASSWORD, count, midday_zone

Invoke = Callable[..., Result]
MAINLAND_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")


@pytest.fixture
def cli_env(test_env: dict[str, str]) -> dict[str, str | None]:
    """The test database's environment, with nothing inherited that could change behaviour."""
    env: dict[str, str | None] = {**test_env, "REDIS_URL": None, "LOG_LEVEL": None}
    env.setdefault("DATABASE_SCHEMA", None)
    return env


@pytest.fixture
def invoke(cli_env, runtime) -> Invoke:
    """``invoke("user", "create", ...)``; depends on ``runtime`` so PostgreSQL starts empty."""

    def _invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=env or cli_env, catch_exceptions=False)

    return _invoke


@pytest.fixture
def make_user(db):
    """conftest's ``make_user`` without a password: argon2 is slow and tokens need none."""

    def _make(role="agent", username=None, team="East"):
        with db() as session:
            return create_user(session, username=username or role, role=role, team=team)

    return _make


def assert_error(result: Result, *fragments: str) -> None:
    assert result.exit_code != 0, result.output
    assert result.stderr.startswith("error:"), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_help_lists_the_commands(invoke):
    result = invoke("--help")
    assert result.exit_code == 0
    for name in ("db", "user", "token", "seed-demo", "serve", "worker", "scheduler"):
        assert name in result.stdout


# --- db upgrade -----------------------------------------------------------------------------


def test_db_upgrade_on_a_migrated_database_says_up_to_date(invoke):
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert schema.head_revision() in result.stdout


def test_db_upgrade_creates_a_fresh_sqlite_database(invoke, cli_env, tmp_path):
    env = {**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "DATABASE_SCHEMA": None}
    result = invoke("db", "upgrade", env=env)
    assert result.exit_code == 0, result.output
    assert "upgraded" in result.stdout
    assert "empty" in result.stdout
    assert (tmp_path / "fresh.db").is_file()
    again = invoke("db", "upgrade", env=env)
    assert "up to date" in again.stdout


def test_invalid_configuration_is_one_clear_error(invoke, cli_env):
    result = invoke("db", "upgrade", env={**cli_env, "LOG_LEVEL": "LOUD"})
    assert_error(result, "LOG_LEVEL")


# --- user create ----------------------------------------------------------------------------


def test_user_create(invoke, db):
    result = invoke(
        *("user", "create", "zhangwei", "--role", "agent", "--password", "long-enough-1"),
        *("--team", "华东一组", "--display-name", "张伟"),
    )
    assert result.exit_code == 0, result.output
    assert "zhangwei" in result.stdout
    assert result.stderr == ""
    with db() as session:
        user = session.scalar(select(User).where(User.username == "zhangwei"))
        assert user.role == Role.AGENT
        assert user.display_name == "张伟"
        assert user.team.name == "华东一组"
        assert user.password_hash.startswith("$argon2")


def test_user_create_with_a_manager(invoke, db):
    assert (
        invoke("user", "create", "boss", "--role", "manager", "--password", PASSWORD).exit_code == 0
    )
    result = invoke(
        "user", "create", "li", "--role", "agent", "--manager", "boss", "--password", PASSWORD
    )
    assert result.exit_code == 0, result.output
    with db() as session:
        li = session.scalar(select(User).where(User.username == "li"))
        assert li.manager.username == "boss"


def test_user_create_without_password_makes_a_token_only_user(invoke, db):
    result = invoke("user", "create", "robot", "--role", "agent")
    assert result.exit_code == 0, result.output
    assert "no password" in result.stdout
    with db() as session:
        assert session.scalar(select(User.password_hash).where(User.username == "robot")) is None


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--role", "wizard", "--password", PASSWORD], ["role", "wizard"]),
        (["--role", "agent", "--password", "short"], ["password", "8"]),
        (["--role", "agent", "--password", PASSWORD, "--manager", "ghost"], ["manager", "ghost"]),
    ],
    ids=["bad-role", "short-password", "unknown-manager"],
)
def test_user_create_errors(invoke, db, args, fragments):
    result = invoke("user", "create", "newbie", *args)
    assert_error(result, *fragments)
    assert result.stdout == ""
    with db() as session:
        assert count(session, User) == 0


def test_user_create_reports_all_problems_at_once(invoke):
    result = invoke("user", "create", "bad name", "--role", "wizard", "--password", "x")
    assert_error(result, "username", "role", "password")


def test_user_create_refuses_a_duplicate(invoke, db):
    assert (
        invoke("user", "create", "zhangwei", "--role", "agent", "--password", PASSWORD).exit_code
        == 0
    )
    result = invoke("user", "create", "zhangwei", "--role", "admin", "--password", PASSWORD)
    assert_error(result, "zhangwei", "already exists")
    with db() as session:
        assert count(session, User) == 1
        assert session.scalar(select(User.role)) == Role.AGENT


def test_user_create_needs_a_role(invoke):
    result = invoke("user", "create", "zhangwei")
    assert result.exit_code != 0
    assert "--role" in result.stderr


# --- token create ---------------------------------------------------------------------------


def test_token_create_prints_a_token_that_works_on_the_api(
    invoke, client, make_user, make_customer
):
    agent = make_user("agent", username="zhangwei")
    make_customer(actor=agent, name="王小明", phone="13800138000")
    result = invoke("token", "create", "zhangwei")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("dft_")
    assert token not in result.stderr

    response = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [c["name"] for c in response.get_json()["items"]] == ["王小明"]


def test_token_create_with_a_name(invoke, db, make_user):
    make_user("agent", username="zhangwei")
    assert invoke("token", "create", "zhangwei", "--name", "dialer").exit_code == 0
    with db() as session:
        assert session.scalar(select(ApiToken.name)) == "dialer"


def test_token_create_for_an_unknown_user_fails(invoke, db):
    result = invoke("token", "create", "nobody")
    assert_error(result, "nobody")
    assert result.stdout == ""
    with db() as session:
        assert count(session, ApiToken) == 0


# --- seed-demo ------------------------------------------------------------------------------


def test_seed_demo_sends_leads_through_the_shipped_processes(invoke, cli_env, db):
    from engine.models import WorkItem, WorkItemStatus

    # New customers live in the default time zone: one where it is about noon now, so their
    # first calls fall inside the calling window whatever time the test runs.
    zone = midday_zone()
    env = {**cli_env, "DIALFLOW_DEFAULT_TIMEZONE": zone}
    result = invoke("seed-demo", "--customers", "20", "--leads", "9", env=env)
    assert result.exit_code == 0, result.output
    assert "sent 9 leads through the processes" in result.stdout
    with db() as session:
        lead_zones = session.scalars(  # the demo's leads call from 1770000xxxx
            select(Customer.timezone)
            .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(CustomerPhone.e164.like("+861770000%"))
        )
        assert set(lead_zones) == {zone}
        open_items = list(
            session.scalars(select(WorkItem).where(WorkItem.status == WorkItemStatus.OPEN))
        )
        processes = {item.process_id for item in open_items}
        assert "call_cadence" in processes  # agents have calls to make
        assert all(item.candidates for item in open_items)


def test_seed_demo_at_night_still_gives_agents_calls_callbacks_and_quotes(invoke, cli_env, db):
    from datetime import UTC, datetime

    from engine.models import WorkItem, WorkItemStatus

    # A zone where it is about 02:00: the calling window (08:00-22:00) is closed, so the demo
    # works its leads on the last morning's clock instead of leaving them all waiting.
    offset = (2 - datetime.now(UTC).hour + 12) % 24 - 12  # Etc/GMT-N is UTC+N
    zone = f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"
    env = {**cli_env, "DIALFLOW_DEFAULT_TIMEZONE": zone}
    result = invoke("seed-demo", "--customers", "20", "--leads", "9", env=env)
    assert result.exit_code == 0, result.output
    found = re.search(r"(\d+) callbacks, (\d+) quotes", result.stdout)
    assert found, result.stdout
    assert int(found.group(1)) > 0 and int(found.group(2)) > 0
    with db() as session:
        open_calls = session.scalar(
            select(func.count(WorkItem.id)).where(
                WorkItem.process_id == "call_cadence",
                WorkItem.status == WorkItemStatus.OPEN,
            )
        )
    assert open_calls > 0  # agents have calls to make tonight


def test_seed_demo_creates_logins_and_unique_valid_customers_once(invoke, db, client):
    result = invoke("seed-demo", "--customers", "300", "--if-empty", "--leads", "0")
    assert result.exit_code == 0, result.output
    assert "skipped" not in result.stdout
    assert "300" in result.stdout
    assert demo.DEMO_PASSWORD in result.stdout
    usernames = [d.username for d in demo.DEMO_USERS]
    assert len(usernames) == 13
    for username in usernames:
        assert re.search(rf"^\s+{username}\s", result.stdout, re.MULTILINE), username

    with db() as session:
        assert set(session.scalars(select(User.username))) == set(usernames)
        assert count(session, Customer) == 300
        phones = list(session.scalars(select(CustomerPhone.e164)))
        assert len(phones) == 300
        assert len(set(phones)) == 300
        for e164 in phones:
            assert MAINLAND_MOBILE.match(e164), e164
            number = phonenumbers.parse(e164)
            assert phonenumbers.is_valid_number(number), e164
            assert phonenumbers.number_type(number) in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            ), e164
        without_phone = session.scalar(
            select(func.count(Customer.id)).where(~Customer.phones.any())
        )
        assert without_phone == 0

    # the printed logins work
    response = client.post(
        "/api/v1/auth/token", json={"username": "agent1", "password": demo.DEMO_PASSWORD}
    )
    assert response.status_code == 201

    again = invoke("seed-demo", "--customers", "300", "--if-empty")
    assert again.exit_code == 0, again.output
    assert "skipped" in again.stdout
    with db() as session:
        assert count(session, Customer) == 300
        assert count(session, User) == 13


def test_seed_demo_refuses_a_negative_count(invoke):
    result = invoke("seed-demo", "--customers", "-5")
    assert result.exit_code != 0
    assert "--customers" in result.stderr


# --- serve, worker, scheduler ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_worker_and_scheduler_need_redis(invoke, command):
    result = invoke(command)
    assert_error(result, "REDIS_URL")


def test_serve_on_a_database_that_was_never_migrated_says_to_upgrade(
    invoke, cli_env, tmp_path, monkeypatch
):
    import waitress

    def _must_not_serve(*_args, **_kwargs):
        raise AssertionError("serve started the server on an unmigrated database")

    monkeypatch.setattr(waitress, "serve", _must_not_serve)
    env = {**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}", "DATABASE_SCHEMA": None}
    result = invoke("serve", "--port", "1", env=env)
    assert_error(result, "dialflow db upgrade")


def test_user_create_on_a_database_that_was_never_migrated_says_to_upgrade(
    invoke, cli_env, tmp_path
):
    env = {**cli_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}", "DATABASE_SCHEMA": None}
    result = invoke("user", "create", "x1", "--role", "agent", env=env)
    assert_error(result, "dialflow db upgrade")


def test_a_command_behind_a_writer_holding_the_database_says_it_is_busy(invoke, cli_env, db):
    """Another transaction holds what ``dialflow user create`` must write (SQLite's write lock,
    PostgreSQL's users table) past ``DIALFLOW_LOCK_WAIT_SECONDS``: the command says the
    database is busy and nothing was changed, and works once the writer is gone. It said
    "cannot reach the database: database is locked" (PostgreSQL: it waited without end)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    from tests.conftest import PG_URL
    from tests.engine.test_crash_review import pg_connection

    env = {**cli_env, "DIALFLOW_LOCK_WAIT_SECONDS": "1"}
    if PG_URL:
        holder = pg_connection(cli_env)
        hold = "LOCK TABLE users IN EXCLUSIVE MODE"
    else:
        holder = sqlite3.connect(make_url(cli_env["DATABASE_URL"]).database, isolation_level=None)
        hold = "BEGIN IMMEDIATE"
    try:
        holder.execute(hold)
        busy = invoke("user", "create", "robot", "--role", "agent", env=env)
    finally:
        holder.rollback() if PG_URL else holder.execute("ROLLBACK")
        holder.close()
    assert_error(busy, "the database is busy", "nothing was changed, run the command again")
    with db() as session:
        assert count(session, User) == 0
    assert invoke("user", "create", "robot", "--role", "agent", env=env).exit_code == 0


def test_deploy_behind_a_writer_holding_the_database_says_it_is_busy(invoke, cli_env, db, tmp_path):
    """``dialflow deploy`` while a step (or a backup, an import) holds SQLite's write lock, or
    PostgreSQL's process versions, past ``DIALFLOW_LOCK_WAIT_SECONDS``: the command says the
    database is busy and nothing was deployed, and deploys once the writer is gone."""
    import sqlite3

    from sqlalchemy import func, select
    from sqlalchemy.engine import make_url

    from engine.models import ProcessVersion
    from tests.conftest import PG_URL
    from tests.engine.conftest import one_process
    from tests.engine.test_crash_review import pg_connection

    path = tmp_path / "busy_deploy.bpmn"
    path.write_bytes(
        one_process(
            "busy_deploy",
            """
            <startEvent id="start" />
            <endEvent id="end" />
            <sequenceFlow id="f1" sourceRef="start" targetRef="end" />
            """,
        )
    )
    env = {**cli_env, "DIALFLOW_LOCK_WAIT_SECONDS": "1"}

    def deployed() -> int:
        with db() as session:
            return session.scalar(
                select(func.count())
                .select_from(ProcessVersion)
                .where(ProcessVersion.process_id == "busy_deploy")
            )

    if PG_URL:
        holder = pg_connection(cli_env)
        hold = "LOCK TABLE process_versions IN EXCLUSIVE MODE"
    else:
        holder = sqlite3.connect(make_url(cli_env["DATABASE_URL"]).database, isolation_level=None)
        hold = "BEGIN IMMEDIATE"
    try:
        holder.execute(hold)
        busy = invoke("deploy", str(path), env=env)
    finally:
        holder.rollback() if PG_URL else holder.execute("ROLLBACK")
        holder.close()
    assert_error(busy, "the database is busy", "nothing was changed, run the command again")
    assert deployed() == 0
    done = invoke("deploy", str(path), env=env)
    assert done.exit_code == 0, done.output
    assert deployed() == 1
