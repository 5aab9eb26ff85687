"""A step's writes travel with the commit (PostgreSQL pipeline): what follows them in the
same transaction still works, and a failing write rolls the whole transaction back."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import DBAPIError

from crm.models import Activity, ActivityKind, CustomerPhone, Notification
from dialflow.bulk import bulk_insert
from dialflow.db import pipelined
from engine.instances import start_instance
from engine.models import ProcessInstance


def test_copy_after_a_step_in_the_same_transaction(runtime, owner, make_user, db):
    owner.deploy("call_note.bpmn", "call-form.json")
    user = make_user("agent", username="copy_after_step")
    with runtime.db.unit_of_work() as session:
        row = start_instance(runtime.engine, session, "call_note", actor=None)
        bulk_insert(
            session,
            Notification.__table__,
            [
                {
                    "user_id": user.id,
                    "message": "after a step",
                    "instance_id": row.id,
                    "created_at": runtime.clock.now(),
                }
            ],
        )
        instance_id = row.id
    with db() as session:
        assert session.get(ProcessInstance, instance_id) is not None
        assert session.scalar(select(Notification.message)) == "after a step"


def test_a_failing_pipelined_write_rolls_back_the_transaction(runtime, make_customer, db):
    taken = make_customer(name="已有号码", phone="13900001111")
    other = make_customer(name="另一个", phone="13900002222")
    table = CustomerPhone.__table__
    with pytest.raises(DBAPIError), runtime.db.unit_of_work() as session:
        session.add(Activity(customer_id=other.id, kind=ActivityKind.NOTE, body="must not stay"))
        session.flush()
        with pipelined(session) as batch:
            batch.execute(
                table.insert().inline(),  # nobody reads its results: no RETURNING
                {
                    "customer_id": other.id,
                    "e164": taken.primary_phone,
                    "label": "mobile",
                    "position": 1,
                },
            )
    with db() as session:
        assert session.scalar(select(func.count(Activity.id))) == 0
        owners = session.scalars(
            select(CustomerPhone.customer_id).where(CustomerPhone.e164 == taken.primary_phone)
        )
        assert list(owners) == [taken.id]


def test_a_start_stores_its_instance_row_with_one_insert_and_no_update(runtime, owner, db):
    """The first save inserts the row with every column it set; nothing rewrites it after.
    Counted with SQLite's own trace of the statements it runs (the step's writes go to the
    driver directly, past SQLAlchemy's events)."""
    if runtime.settings.database_url.startswith("postgresql"):
        pytest.skip("counted with SQLite's statement trace")
    owner.deploy("call_note.bpmn", "call-form.json")
    statements: list[str] = []

    def trace(dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    def untrace(dbapi_connection, _record) -> None:
        dbapi_connection.set_trace_callback(None)

    event.listen(runtime.db.engine, "checkout", trace)
    event.listen(runtime.db.engine, "checkin", untrace)
    try:
        with runtime.db.unit_of_work() as session:
            row = start_instance(runtime.engine, session, "call_note", actor=None)
            seen = (row.id, row.status, row.step_count, row.lock_version, row.state, row.waiting)
    finally:
        event.remove(runtime.db.engine, "checkout", trace)
        event.remove(runtime.db.engine, "checkin", untrace)
    writes = [
        s.split()[0].upper()
        for s in statements
        if "process_instances" in s and s.split()[0].upper() in ("INSERT", "UPDATE")
    ]
    assert writes == ["INSERT"]
    with db() as session:
        stored = session.get(ProcessInstance, seen[0])
        assert (stored.id, stored.status, stored.step_count, stored.lock_version) == seen[:4]
        assert (stored.state, stored.waiting) == seen[4:]
        assert stored.step_count == 1 and stored.lock_version == 1
