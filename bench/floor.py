"""The database's share of one benchmark instance, measured without the engine.

Dialflow's engine sends, per instance of ``bench_call``: the version look-up with the new id
(on PostgreSQL before the transaction's BEGIN); BEGIN, the instance, its work item, the
candidates, an audit entry and COMMIT (the client
learns the open task from the start's answer, which needs no read); BEGIN with the locked read
of task and instance; the work item's and the instance's UPDATEs, an audit entry (and, where a
webhook subscription exists, the outbox's writes of the task's and the instance's completion)
and COMMIT. Four round trips on PostgreSQL, two commits. :func:`database_floor` sends exactly
those statements (the engine's own, compiled the same way) with values taken from a real
instance, straight from the driver, in the same pipelines: what one instance costs when no
workflow runs and no Python sits between the steps and the driver. The gap between it and
Dialflow's rate is the engine's own cost.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from crm.audit import _INSERT as INSERT_AUDIT
from crm.webhooks import outbox
from dialflow.wire import Wire
from engine.instances import _LATEST, _LATEST_AND_ID
from engine.models import ProcessInstance, WorkItem, WorkItemCandidate, WorkItemStatus
from engine.stepper import _INSERT as INSERT_INSTANCE
from engine.stepper import _UPDATE as UPDATE_INSTANCE
from engine.tasks import _LOCK_ROWS
from engine.work_items import _CLOSE, _INSERT_CANDIDATES, _INSERT_ITEMS

_ITEMS = WorkItem.__table__


def templates(engine: Engine, instance_id: int) -> dict[str, Any]:
    """Column values of an instance at its user task and of its open work item."""
    instances, candidates = ProcessInstance.__table__, WorkItemCandidate.__table__
    with engine.connect() as connection:
        instance = (
            connection.execute(select(instances).where(instances.c.id == instance_id))
            .one()
            ._asdict()
        )
        item = (
            connection.execute(select(_ITEMS).where(_ITEMS.c.instance_id == instance_id))
            .one()
            ._asdict()
        )
        names = connection.scalars(
            select(candidates.c.name).where(candidates.c.work_item_id == item["id"])
        ).all()
    return {"instance": instance, "item": item, "candidates": list(names)}


class _Driver:
    """The statements above, run on one driver connection as Dialflow's steps run them."""

    def __init__(self, engine: Engine) -> None:
        from dialflow.direct import direct_statement

        self.dialect = engine.dialect
        self.postgres = self.dialect.name == "postgresql"
        self.raw = engine.raw_connection()
        self.driver = self.raw.driver_connection
        if self.postgres:
            self.driver.autocommit = True  # BEGIN and COMMIT are sent as Dialflow sends them
        self._compile = lambda statement, params: direct_statement(self.dialect, statement, params)
        self.wire: Wire | None = None

    def run(self, statement: Any, params: Any) -> Any:
        """Run (on SQLite) or queue in the open wire (on PostgreSQL) one statement."""
        direct = self._compile(statement, params)
        assert direct is not None, "the engine's statements are run by the driver itself"
        if self.wire is not None:
            return direct, direct.send(self.wire, params)
        return direct, direct.execute(self.driver.cursor(), params)

    def open(self, *, begin: bool) -> None:
        """On PostgreSQL, a pipeline for what follows, as ``dialflow.db`` opens one."""
        if self.postgres:
            self.wire = Wire(self.driver)
            if begin:
                self.wire.send_plain(b"BEGIN")

    def sync(self, *, commit: bool) -> None:
        if self.wire is not None:
            if commit:
                self.wire.send_plain(b"COMMIT")
            self.wire.sync()
            self.wire = None
        elif commit:
            self.driver.execute("COMMIT")

    def read(self, statement: Any, params: dict[str, Any], *, begin: bool = False) -> Any:
        """The rows of one read, after BEGIN if ``begin``, synced at once."""
        if not self.postgres:
            if begin:
                self.driver.execute("BEGIN IMMEDIATE")
            direct, cursor = self.run(statement, params)
            return direct.rows(cursor)
        self.open(begin=begin)
        direct, result = self.run(statement, params)
        self.sync(commit=False)
        return direct.converted(result.rows)

    def close(self) -> None:
        self.raw.close()


def database_floor(engine: Engine, values: dict[str, Any], version_id: int, count: int) -> float:
    """Instances per second of the engine's statements alone (see the module's text)."""
    driver = _Driver(engine)
    instance, item, names = values["instance"], values["item"], values["candidates"]
    latest = _LATEST_AND_ID if driver.postgres else _LATEST
    user_id = instance["started_by_id"]
    events = [
        outbox.parameters(kind, {"instance_id": instance["id"]}, occurred_at=instance["updated_at"])
        for kind in ("task.completed", "process_instance.completed")
    ]

    def one(n: int) -> None:
        if driver.postgres:  # the look-up on its own; BEGIN goes with the writes
            found = driver.read(latest, {"process_id": instance["process_id"]})
        else:
            found = driver.read(latest, {"process_id": instance["process_id"]}, begin=True)
        assert found and found[0][0] == version_id
        row = {k: v for k, v in instance.items() if k != "id"}
        row.update(business_key=f"floor{n}", lock_version=1, step_count=1)
        item_id = str(uuid.uuid4())
        driver.open(begin=True)
        if driver.postgres:
            instance_id = found[0][5]
            driver.run(INSERT_INSTANCE, {"id": instance_id, **row})
        else:
            _direct, cursor = driver.run(INSERT_INSTANCE, row)
            instance_id = cursor.lastrowid
        new_item = {**item, "id": item_id, "instance_id": instance_id, "business_key": f"floor{n}"}
        driver.run(_INSERT_ITEMS, [new_item])
        driver.run(_INSERT_CANDIDATES, [{"work_item_id": item_id, "name": x} for x in names])
        audit = {"at": row["started_at"], "actor_id": user_id, "entity_type": "process_instance"}
        audit.update(action="start", entity_id=str(instance_id), before=None, source=None)
        driver.run(INSERT_AUDIT, [{**audit, "after": {"process_id": row["process_id"]}}])
        driver.sync(commit=True)

        locked = driver.read(_LOCK_ROWS, {"task_id": item_id}, begin=True)
        assert locked
        driver.open(begin=False)
        closed = {"status": WorkItemStatus.COMPLETED, "completed_at": row["updated_at"]}
        closed.update(completed_by_id=user_id, assignee_id=user_id)
        driver.run(_CLOSE, {"_id": item_id, **closed})
        done = {**row, "status": "completed", "ended_at": row["updated_at"], "lock_version": 2}
        driver.run(UPDATE_INSTANCE, {"_id": instance_id, "_version": 1, **done})
        driver.run(INSERT_AUDIT, [{**audit, "action": "complete", "entity_type": "task"}])
        if locked[0][-2]:  # a webhook subscription exists: the outbox's writes
            for event in events:
                driver.run(outbox.FAN_OUT, event)
        driver.sync(commit=True)

    try:
        for n in range(max(10, count // 20)):
            one(-n - 1)
        started = time.perf_counter()
        for n in range(count):
            one(n)
        return count / (time.perf_counter() - started)
    finally:
        driver.close()
