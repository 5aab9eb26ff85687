"""A thread's unit of work uses again the session its last one closed (``dialflow.db``).

A session kept past its unit of work (a result read later, a callback run after the commit)
and used there must not reach the thread's next unit of work: every request, step and
command begins one, and it would fail to begin or read what the stray use loaded."""

from __future__ import annotations

from sqlalchemy import select, text, update

from crm.models import User
from crm.webhooks.outbox import WAKE


def test_a_session_read_after_its_unit_of_work_does_not_fail_the_next_one(runtime, make_user):
    user = make_user("agent", username="reuse_read")
    with runtime.db.unit_of_work(read_only=True) as kept:
        pass
    kept.execute(text("SELECT 1"))  # read after the block: begins a transaction of its own
    with runtime.db.unit_of_work(read_only=True) as session:  # "A transaction is already begun"
        assert session.scalar(select(User.username).where(User.id == user.id)) == "reuse_read"
    kept.rollback()


def test_the_next_unit_of_work_reads_the_row_as_stored_not_as_a_stray_use_loaded_it(
    runtime, make_user
):
    user = make_user("agent", username="reuse_stale")
    with runtime.db.unit_of_work() as kept:
        pass
    loaded = kept.get(User, user.id)  # held, as its caller holds it
    assert loaded.username == "reuse_stale"
    kept.commit()  # what it loaded stays in it: sessions here do not expire on commit
    with runtime.db.engine.begin() as connection:  # another writer renames the user
        connection.execute(update(User).where(User.id == user.id).values(username="renamed"))
    with runtime.db.unit_of_work() as session:
        assert session.get(User, user.id).username == "renamed"


def test_a_note_left_after_its_unit_of_work_does_not_wake_the_webhook_sender(runtime):
    assert runtime.settings.embedded
    with runtime.db.unit_of_work() as kept:
        pass
    kept.info[WAKE] = "yes"  # as the outbox notes deliveries written, but after the block
    runtime.webhooks_due.clear()
    with runtime.db.unit_of_work() as session:  # writes no delivery
        session.execute(text("SELECT 1"))
    assert not runtime.webhooks_due.is_set()
