"""Statements the driver runs itself (``dialflow.direct``) behave as SQLAlchemy's would: the
same values come back converted by their column types, the same values are stored, the
driver's errors arrive as SQLAlchemy's, and everything stays in the unit of work."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Float, Numeric, bindparam, cast, func, insert, literal, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError

from crm import audit
from crm.models import AuditEntry, CustomerPhone, Notification, Role, User
from dialflow.db import fetch, inserted_id, pipelined
from dialflow.direct import direct_statement
from tests.conftest import backend

_USERS, _AUDIT = User.__table__, AuditEntry.__table__
_BY_ID = select(_USERS.c.id, _USERS.c.role).where(_USERS.c.id == bindparam("id"))
_NOTIFICATIONS = Notification.__table__
_NOTIFY = insert(_NOTIFICATIONS).inline()
_NOTIFY_RETURNING = insert(_NOTIFICATIONS).returning(_NOTIFICATIONS.c.id)


def test_a_read_gives_the_values_sqlalchemy_gives(runtime, make_user, db):
    user = make_user("manager", username="direct_reader")
    with runtime.db.unit_of_work() as session:
        audit.record(
            session,
            actor=user,
            action="direct",
            entity_type="user",
            entity_id=user.id,
            after={"名": "张三", "n": [1, 2.5, None]},
        )
    read = (
        select(*_USERS.c, *_AUDIT.c)
        .join_from(_USERS, _AUDIT, _AUDIT.c.actor_id == _USERS.c.id)
        .where(_USERS.c.id == bindparam("id"), _AUDIT.c.entity_id == bindparam("key"))
    )
    with db() as session:
        assert direct_statement(session.connection().dialect, read, {"id": 1, "key": ""})
        direct = fetch(session, read, {"id": user.id, "key": str(user.id)})
        through_sqlalchemy = session.execute(read, {"id": user.id, "key": str(user.id)}).all()
    assert direct == [tuple(r) for r in through_sqlalchemy]
    values = dict(zip([*_USERS.c.keys(), *_AUDIT.c.keys()], direct[0], strict=True))
    assert values["role"] is Role.MANAGER  # the enum, not its text
    assert values["after"] == {"名": "张三", "n": [1, 2.5, None]}  # JSON decoded
    assert values["at"].tzinfo is not None  # UTCDateTime's processing
    assert values["before"] is None


def test_a_read_of_nothing_and_a_read_that_fails(runtime, db):
    with db() as session:
        assert fetch(session, _BY_ID, {"id": 123456}) == []
    bad = select(_USERS.c.id).where(_USERS.c.id == func.no_such_function(bindparam("id")))
    with pytest.raises(DBAPIError), runtime.db.unit_of_work() as session:
        fetch(session, bad, {"id": 1})
    with db() as session:  # the connection went back to the pool usable
        assert fetch(session, _BY_ID, {"id": 1}) == []


def test_direct_writes_store_what_the_orm_reads_back(runtime, make_user, db):
    user = make_user("agent", username="direct_writer")
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    values = {"user_id": user.id, "message": "直接写入", "instance_id": None, "created_at": at}
    with runtime.db.unit_of_work() as session:
        new_id = inserted_id(session, _NOTIFY, _NOTIFY_RETURNING, values)
        with pipelined(session) as batch:
            batch.execute(_NOTIFY, [{**values, "message": "second"}, {**values, "message": "3"}])
    with db() as session:
        stored = session.get(Notification, new_id)
        assert (stored.message, stored.created_at, stored.user_id) == ("直接写入", at, user.id)
        messages = session.scalars(select(Notification.message).order_by(Notification.id))
        assert list(messages) == ["直接写入", "second", "3"]


def test_a_failing_direct_write_is_sqlalchemys_error_and_keeps_nothing(runtime, make_customer, db):
    taken = make_customer(name="已有", phone="13900003333")
    other = make_customer(name="别的", phone="13900004444")
    duplicate = {"customer_id": other.id, "e164": taken.primary_phone, "label": "m", "position": 1}
    with pytest.raises(IntegrityError), runtime.db.unit_of_work() as session:
        session.add(
            Notification(user_id=None, message="must not stay", created_at=datetime.now(UTC))
        )
        session.flush()
        with pipelined(session) as batch:
            batch.execute(CustomerPhone.__table__.insert().inline(), duplicate)
        session.scalar(select(func.count(Notification.id)))  # syncs a pipeline, if any
    with db() as session:
        assert session.scalar(select(func.count(Notification.id))) == 0


def test_a_read_sees_what_the_session_has_not_flushed_yet(runtime, make_user):
    user = make_user("agent", username="direct_flush")
    count = select(func.count(_NOTIFICATIONS.c.id)).where(_NOTIFICATIONS.c.user_id == user.id)
    with runtime.db.unit_of_work() as session:
        session.add(Notification(user_id=user.id, message="pending", created_at=datetime.now(UTC)))
        assert fetch(session, count, {}) == [(1,)]


def test_a_missing_or_unconvertible_value_is_refused_and_nothing_is_stored(runtime, make_user, db):
    user = make_user("agent", username="direct_missing")
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    full = {"user_id": user.id, "message": "kept", "instance_id": None, "created_at": at}
    with runtime.db.unit_of_work() as session, pipelined(session) as batch:
        batch.execute(_NOTIFY, full)
    relabel = (
        update(_NOTIFICATIONS)
        .where(_NOTIFICATIONS.c.user_id == bindparam("_user"))
        .values(message=bindparam("message"), link=bindparam("link"))
    )
    naive = {**full, "created_at": datetime(2026, 3, 1, 9, 30)}
    attempts = [
        (relabel, {"_user": user.id, "message": "no link given"}),  # a value left out
        (_NOTIFY, [full, {k: v for k, v in full.items() if k != "message"}]),  # one row short
        (_NOTIFY, naive),  # UTCDateTime refuses naive datetimes
    ]
    for statement, params in attempts:
        with (
            pytest.raises(StatementError),
            runtime.db.unit_of_work() as session,
            pipelined(session) as batch,
        ):
            batch.execute(statement, params)
    with pytest.raises(StatementError), runtime.db.unit_of_work() as session:
        fetch(session, _BY_ID, {})
    with db() as session:
        stored = session.scalars(
            select(Notification.message).where(Notification.user_id == user.id)
        )
        assert list(stored) == ["kept"]


def test_a_read_of_a_type_that_needs_the_driver_s_type_codes(db):
    amount = select(cast(literal(1.5), Numeric(10, 2)), cast(literal(2.25), Float))
    with db() as session:
        assert fetch(session, amount, {}) == [tuple(session.execute(amount).one())]
        assert fetch(session, amount, {})[0][0] == Decimal("1.50")


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's write lock")
def test_a_locked_sqlite_database_is_sqlalchemy_s_operational_error(runtime, settings):
    path = settings.database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with runtime.db.engine.connect() as connection:
            connection.connection.driver_connection.execute("PRAGMA busy_timeout=50")
            with pytest.raises(OperationalError):
                connection.begin()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_read_with_a_fixed_parameter_of_its_own(runtime, make_user, db):
    """A LIMIT is a parameter the caller does not give: its value comes with the statement,
    and the values are the ones SQLAlchemy binds."""
    for n in range(3):
        make_user("agent", username=f"direct_limit{n}")
    newest = (
        select(_USERS.c.id, _USERS.c.username)
        .where(_USERS.c.username.startswith(bindparam("prefix")))
        .order_by(_USERS.c.id.desc())
        .limit(2)
    )
    with db() as session:
        dialect = session.connection().dialect
        direct = direct_statement(dialect, newest, {"prefix": "direct_limit"})
        assert direct is not None and direct._keys == frozenset({"prefix"})
        rows = fetch(session, newest, {"prefix": "direct_limit"})
        assert rows == [tuple(r) for r in session.execute(newest, {"prefix": "direct_limit"})]
    assert [name for _id, name in rows] == ["direct_limit2", "direct_limit1"]


def test_times_are_bound_as_sqlalchemy_binds_them():
    """UTCDateTime's own processor on SQLite writes the text SQLite's DATETIME writes."""
    from datetime import timedelta, timezone

    from sqlalchemy.dialects import sqlite
    from sqlalchemy.types import TypeDecorator

    from dialflow.db import UTCDateTime

    dialect = sqlite.dialect()
    column_type = UTCDateTime().dialect_impl(dialect)
    own, general = (
        column_type.bind_processor(dialect),
        TypeDecorator.bind_processor(column_type, dialect),
    )
    assert own is not None and general is not None
    for value in (
        datetime(2026, 12, 5, 7, 0, tzinfo=UTC),
        datetime(2026, 12, 5, 7, 0, 1, 5, tzinfo=timezone(timedelta(hours=8))),
        datetime(999, 1, 2, 3, 4, 5, 999999, tzinfo=timezone(timedelta(hours=-5))),
        datetime(1, 1, 1, 0, 0, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 10, 9, 8, 7, 6, 54321, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(1000, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=1))),
        None,
    ):
        assert own(value) == general(value)
    with pytest.raises(ValueError, match="naive"):
        own(datetime(2026, 1, 1))


def test_json_columns_hold_the_text_json_dumps_writes(runtime, make_user, db):
    """Written by the ORM or by a step's direct statements, a JSON column's stored text is
    json.dumps's own (PostgreSQL's json columns keep it as sent); a value that contains
    itself is refused with json's error and nothing is stored."""
    import json

    from sqlalchemy import String, cast

    user = make_user("agent", username="json_text")
    after = {"名": "张三", "n": [1, 2.5, -0.0, 1e16, None, True], "nested": {"k": ["é\u2028"]}}
    entry = audit.entry_values(actor=user, action="json", entity_type="user", after=after)
    with runtime.db.unit_of_work() as session:
        audit.record(session, actor=user, action="json", entity_type="orm", after=after)
        with pipelined(session) as batch:
            audit.append(batch, [{**entry, "entity_type": "direct"}])
    stored = (
        select(_AUDIT.c.entity_type, cast(_AUDIT.c.after, String), cast(_AUDIT.c.before, String))
        .where(_AUDIT.c.action == "json")
        .order_by(_AUDIT.c.entity_type)
    )
    with db() as session:
        rows = session.execute(stored).all()
    assert [tuple(r) for r in rows] == [
        ("direct", json.dumps(after), "null"),
        ("orm", json.dumps(after), "null"),
    ]
    looped: dict[str, object] = {}
    looped["self"] = looped
    # SQLAlchemy's StatementError on SQLite; psycopg's dumper lets json's ValueError through
    with (
        pytest.raises((StatementError, ValueError), match="Circular reference"),
        runtime.db.unit_of_work() as session,
    ):
        audit.record(session, actor=user, action="loop", entity_type="user", after=looped)
    with db() as session:
        assert session.scalar(select(func.count()).where(_AUDIT.c.action == "loop")) == 0
