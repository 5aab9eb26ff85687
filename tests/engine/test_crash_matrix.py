"""Every kind of step, killed (SIGKILL) at every point inside it, leaves the database as it was.

``test_crash.py`` covers a task's completion, a message to a waiting instance and a retry by
hand at the points after the handlers ran. Here the other kinds of step run in a real child
process (``crash_matrix_worker.py``) through the door a user or operator uses (the API, the
command line, the background pass) and are killed inside a handler, after the CRM rows were
flushed, after the step's writes were sent, and at commit. Each time every table is dumped
row by row before and after: nothing the step wrote is left, and the same request (or the
next pass) then applies exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from crm.models import AuditEntry
from crm.models.webhooks import WebhookDelivery
from crm.notes import add_note
from dialflow.cli import main as cli
from dialflow.db import Base
from dialflow.runtime import Runtime
from engine import signals
from engine.models import ProcessInstance, ReceivedMessage, SignalBroadcast, SignalDelivery
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.engine import crash_diagrams as bpmn
from tests.engine.conftest import Actor, Timed, notes_of
from tests.engine.worker_processes import Worker

POINTS = ["handler", "save", "writes", "commit"]
# Written outside the step by the request's sign-in (a bearer token's last use).
IGNORED = {"api_tokens": {"last_used_at"}}
# What a background pass commits before it runs a step: its claim on the instance.
CLAIMS = {**IGNORED, "process_instances": {"fire_claimed_until"}}
FAILING = {"on": False}
EVENTS = ("task.completed", "process_instance.completed", "process_instance.incident")


def install(runtime: Runtime) -> None:
    """``test.hold`` notes its text (or, while ``FAILING["on"]``, fails after noting it);
    ``test.fail`` notes half its work, then always fails with code ``DOWN``."""
    registry = build_registry()

    @registry.register("test.hold", "Write a note")
    def hold(ctx: HandlerContext, customer_id: int, text: str) -> dict[str, Any]:
        add_note(ctx.session, customer_id, text, actor=ctx.actor, scoped=False)
        if FAILING["on"]:
            raise HandlerError("the remote system said no")
        return {"noted": text}

    @registry.register("test.fail", "Write half a note, then fail")
    def fail(ctx: HandlerContext, customer_id: int, text: str) -> dict[str, Any]:
        add_note(ctx.session, customer_id, text, actor=ctx.actor, scoped=False)
        raise HandlerError("the gateway is down", code="DOWN")

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)


def subscribe(admin: Actor) -> None:
    """A webhook subscription, so that steps write to the outbox the dumps compare."""
    hook = admin.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.com/dialflow", "event_types": list(EVENTS)},
    )
    assert hook.status_code == 201, hook.get_json()


@pytest.fixture
def holding(runtime: Runtime, actor: Callable[..., Actor]) -> Runtime:
    FAILING["on"] = False
    install(runtime)
    subscribe(actor("admin", username="root", team=None))
    return runtime


@pytest.fixture
def timed_holding(timed: Timed) -> Timed:
    FAILING["on"] = False
    install(timed.runtime)
    subscribe(timed.actor("admin", username="root", team=None))
    return timed


def outbox(db: Callable[..., Any]) -> list[tuple[str, int]]:
    """The webhook deliveries written: (event type, instance id), oldest first."""
    with db() as session:
        rows = session.execute(
            select(WebhookDelivery.event_type, WebhookDelivery.payload).order_by(WebhookDelivery.id)
        )
        return [(kind, payload["data"]["instance_id"]) for kind, payload in rows]


# -- row dumps --------------------------------------------------------------------------------


def dump(db: Callable[..., Any], ignored: dict[str, set[str]] = IGNORED) -> dict[str, list[str]]:
    """Every row of every table, in primary key order, as JSON text (``ignored`` columns left
    out)."""
    found: dict[str, list[str]] = {}
    with db() as session:
        for table in Base.metadata.sorted_tables:
            skip = ignored.get(table.name, set())
            columns = [c for c in table.columns if c.name not in skip]
            rows = session.execute(select(*columns).order_by(*table.primary_key.columns))
            found[table.name] = [
                json.dumps(dict(row._mapping), default=str, sort_keys=True) for row in rows
            ]
    return found


def changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, Any]:
    """Per table that differs: the rows gone and the rows new."""
    found = {}
    for name, rows in after.items():
        gone = [r for r in before[name] if r not in rows]
        new = [r for r in rows if r not in before[name]]
        if gone or new:
            found[name] = {"gone": gone, "new": [json.loads(r) for r in new]}
    return found


# -- the child process ------------------------------------------------------------------------


def crash(
    tmp_path: Path,
    env: dict[str, str],
    point: str,
    action: dict[str, Any],
    *,
    actor: Actor | None = None,
    nth: int = 1,
    clock: Any = None,
    page: int | None = None,
    batch_rows: int | None = None,
) -> None:
    """Run ``action`` in ``crash_matrix_worker.py`` until it stops at ``point``; SIGKILL it."""
    marker = tmp_path / f"stopped-{uuid.uuid4().hex}"
    spec = {
        "point": point,
        "nth": nth,
        "marker": str(marker),
        "token": actor.headers["Authorization"].removeprefix("Bearer ") if actor else None,
        "action": action,
        "clock": clock.isoformat() if clock is not None else None,
        "page": page,
        "batch_rows": batch_rows,
        "commit_after": "batch" if batch_rows else "armed",
    }
    spec_file = tmp_path / f"spec-{uuid.uuid4().hex}.json"
    spec_file.write_text(json.dumps(spec))
    child = Worker(
        "tests.engine.crash_matrix_worker",
        [str(spec_file)],
        {**os.environ, **env},
        spec_file.with_suffix(".log"),
    )
    deadline, late = time.monotonic() + 60, False
    try:
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"worker ended early ({child.poll()}): {child.output()}")
            late = time.monotonic() > deadline
            if late:
                break
            time.sleep(0.02)
    finally:
        code = child.kill()
    if late:
        pytest.fail(f"worker never reached {point}: {child.output()}")
    assert code == -signal.SIGKILL


def of_instances(rows: dict[str, list[str]], table: str, ids: list[int]) -> list[str]:
    """The rows of ``table`` that belong to the instances ``ids``."""
    key = "id" if table == "process_instances" else "instance_id"
    return [r for r in rows[table] if json.loads(r)[key] in ids]


def deploy(owner: Actor, *xmls: str) -> dict[str, Any]:
    files = {f"m{index}.bpmn": xml for index, xml in enumerate(xmls)}
    response = owner.post("/api/v1/process-models", json={"bpmn": files})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def instances_of(db: Callable[..., Any], process_id: str) -> list[tuple[int, str]]:
    with db() as session:
        rows = session.execute(
            select(ProcessInstance.id, ProcessInstance.status)
            .where(ProcessInstance.process_id == process_id)
            .order_by(ProcessInstance.id)
        )
        return [(i, s.value) for i, s in rows]


def audit_actions(db: Callable[..., Any], action: str) -> list[dict[str, Any]]:
    with db() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return [dict(entry.after or {}) for entry in rows]


# -- starts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("point", POINTS)
def test_a_start_through_the_api(
    holding, owner, agent, make_customer, db, test_env, tmp_path, point
):
    deploy(owner, bpmn.STARTED)
    customer = make_customer()
    body = {"process_id": "held_start", "data": {"customer_id": customer.id}}
    before = dump(db)

    crash(
        tmp_path, test_env, point, {"post": "/api/v1/process-instances", "body": body}, actor=agent
    )

    assert dump(db) == before
    started = agent.start("held_start", {"customer_id": customer.id})
    assert [t["name"] for t in started["ready_tasks"]] == ["call"]
    assert instances_of(db, "held_start") == [(started["id"], "running")]
    assert notes_of(db, customer.id) == ["started"]


@pytest.mark.parametrize("point", POINTS)
def test_a_start_by_a_message(holding, owner, agent, make_customer, db, test_env, tmp_path, point):
    deploy(owner, bpmn.BY_MESSAGE)
    customer = make_customer()
    message = {"name": "lead_in", "message_id": "form-7", "payload": {"customer_id": customer.id}}
    before = dump(db)

    crash(tmp_path, test_env, point, {"post": "/api/v1/messages", "body": message}, actor=agent)

    assert dump(db) == before
    first = agent.post("/api/v1/messages", json=message)
    assert first.status_code == 202, first.get_json()
    [(instance_id, status)] = instances_of(db, "held_by_message")
    assert first.get_json() == {"delivered_to": [instance_id], "duplicate": False}
    assert status == "running"
    again = agent.post("/api/v1/messages", json=message)
    assert again.get_json() == {"delivered_to": [instance_id], "duplicate": True}
    assert instances_of(db, "held_by_message") == [(instance_id, "running")]
    assert notes_of(db, customer.id) == ["by message"]


@pytest.mark.parametrize("point", POINTS)
def test_a_start_by_a_signal(timed_holding, make_customer, test_env, tmp_path, point):
    """The broadcast is stored (and audited) before the instances are reached: killed while
    starting, it stays pending with its runner's claim, and nothing it started is left. A
    repeat of the request answers that it is still under way; once the claim runs out the
    background pass starts the process, once."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, bpmn.BY_SIGNAL)
    customer = make_customer()
    body = {"name": "campaign_go", "signal_id": "go-1", "payload": {"customer_id": customer.id}}
    before = dump(db)

    action = {"post": "/api/v1/signals", "body": body}
    crash(tmp_path, test_env, point, action, actor=timed.agent, clock=timed.clock.now())

    changed = changes(before, dump(db))
    assert sorted(changed) == ["audit_log", "signal_broadcasts"], changed
    [stored] = changed["signal_broadcasts"]["new"]
    assert (stored["signal_id"], stored["status"]) == ("go-1", "pending")
    assert [e["action"] for e in changed["audit_log"]["new"]] == ["broadcast"]
    assert instances_of(db, "held_by_signal") == []

    repeat = timed.agent.post("/api/v1/signals", json=body)
    assert repeat.status_code == 200, repeat.get_json()
    assert (repeat.get_json()["duplicate"], repeat.get_json()["pending"]) == (True, True)
    assert instances_of(db, "held_by_signal") == []

    assert timed.advance(signals.LEASE + timedelta(seconds=1)) == 1
    [(instance_id, status)] = instances_of(db, "held_by_signal")
    assert status == "running"
    answer = timed.agent.post("/api/v1/signals", json=body).get_json()
    assert answer == {
        "signal_id": "go-1",
        "delivered_to": [],
        "started": [instance_id],
        "duplicate": True,
    }
    assert timed.advance(signals.LEASE + timedelta(seconds=1)) == 0
    assert notes_of(db, customer.id) == ["by signal"]


# -- steps of a running instance --------------------------------------------------------------


@pytest.mark.parametrize("point", ["handler", "writes"])
def test_a_message_to_a_waiting_instance(
    holding, owner, agent, make_customer, db, test_env, tmp_path, point
):
    deploy(owner, bpmn.MESSAGE_WAITER)
    customer = make_customer()
    instance = agent.start("held_waiter", {"customer_id": customer.id}, business_key="k-1")
    message = {"name": "go", "business_key": "k-1", "message_id": "go-1"}
    before = dump(db)

    crash(tmp_path, test_env, point, {"post": "/api/v1/messages", "body": message}, actor=agent)

    assert dump(db) == before
    first = agent.post("/api/v1/messages", json=message).get_json()
    assert first == {"delivered_to": [instance["id"]], "duplicate": False}
    assert agent.post("/api/v1/messages", json=message).get_json()["duplicate"] is True
    assert agent.instance(instance["id"])["status"] == "completed"
    assert notes_of(db, customer.id) == ["went"]
    assert outbox(db) == [("process_instance.completed", instance["id"])]


@pytest.mark.parametrize("point", POINTS)
def test_a_thrown_message_delivered_by_the_background_pass(
    timed_holding, make_customer, test_env, tmp_path, point
):
    """Queued by the instance that threw it, the message is delivered in a transaction that
    also marks it delivered: killed, it is still queued, and the next pass delivers it once."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, bpmn.MESSAGE_WAITER, bpmn.MESSAGE_THROWER)
    customer = make_customer()
    key = f"customer-{customer.id}"
    waiting = timed.agent.start("held_waiter", {"customer_id": customer.id}, business_key=key)
    timed.agent.start("held_thrower", business_key=key)
    before = dump(db)

    crash(tmp_path, test_env, point, {"pass": True}, clock=timed.clock.now())

    assert dump(db) == before
    assert timed.advance() == 1
    assert timed.agent.instance(waiting["id"])["status"] == "completed"
    assert timed.advance(minutes=5) == 0
    assert notes_of(db, customer.id) == ["went"]
    with db() as session:
        [record] = session.scalars(select(ReceivedMessage)).all()
        assert (record.status, record.delivered_to) == ("delivered", [waiting["id"]])


@pytest.mark.parametrize("point", POINTS)
def test_a_timer_fired_by_the_background_pass(
    timed_holding, make_customer, test_env, tmp_path, point
):
    """The pass claims the instance (its own small transaction), then fires it: killed, the
    claim is all that is left, and once it runs out the next pass fires the timer once."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, bpmn.TIMER)
    customer = make_customer()
    instance = timed.agent.start("held_timer", {"customer_id": customer.id})
    timed.clock.advance(timedelta(hours=1, minutes=1))
    before = dump(db, CLAIMS)

    crash(tmp_path, test_env, point, {"pass": True}, clock=timed.clock.now())

    assert changes(before, dump(db, CLAIMS)) == {}
    assert timed.advance() == 0  # claimed by the dead pass until its claim runs out
    assert timed.advance(seconds=31) == 1
    assert timed.agent.instance(instance["id"])["status"] == "completed"
    assert timed.advance(hours=2) == 0
    assert notes_of(db, customer.id) == ["an hour later"]
    assert outbox(db) == [("process_instance.completed", instance["id"])]


@pytest.mark.parametrize("point", POINTS)
def test_an_automatic_retry(timed_holding, make_customer, test_env, tmp_path, point):
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, bpmn.RETRIED)
    customer = make_customer()
    FAILING["on"] = True
    failed = timed.agent.start("held_retry", {"customer_id": customer.id})
    assert failed["status"] == "error"
    assert notes_of(db, customer.id) == []  # the failed handler's note is undone
    FAILING["on"] = False
    timed.clock.advance(timedelta(seconds=11))
    before = dump(db, CLAIMS)

    crash(tmp_path, test_env, point, {"pass": True}, clock=timed.clock.now())

    assert dump(db, CLAIMS) == before
    assert timed.advance(seconds=31) == 1
    done = timed.owner.instance(failed["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert timed.advance(minutes=5) == 0
    assert notes_of(db, customer.id) == ["retried"]
    done = [
        ("process_instance.incident", failed["id"]),
        ("process_instance.completed", failed["id"]),
    ]
    assert outbox(db) == done


def test_a_retry_by_hand_killed_in_its_handler(
    holding, owner, make_customer, db, test_env, tmp_path
):
    deploy(owner, bpmn.BY_HAND)
    customer = make_customer()
    FAILING["on"] = True
    failed = owner.start("held_by_hand", {"customer_id": customer.id})
    assert failed["status"] == "error"
    FAILING["on"] = False
    url = f"/api/v1/process-instances/{failed['id']}/retry"
    before = dump(db)

    crash(tmp_path, test_env, "handler", {"post": url}, actor=owner)

    assert dump(db) == before
    retried = owner.post(url)
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "completed"
    again = owner.post(url)
    assert again.status_code == 409, again.get_json()
    assert notes_of(db, customer.id) == ["by hand"]
    done = [
        ("process_instance.incident", failed["id"]),
        ("process_instance.completed", failed["id"]),
    ]
    assert outbox(db) == done


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize(
    ("xml", "process_id"),
    [(bpmn.CAUGHT, "held_caught"), (bpmn.CAUGHT_BY_EVENT_SUBPROCESS, "held_caught_inside")],
    ids=["boundary", "event_subprocess"],
)
def test_a_failure_caught_by_an_error_catch(
    holding, owner, agent, make_customer, db, test_env, tmp_path, point, xml, process_id
):
    """Killed on the catch's path: neither the failed handler's half note nor the path's note,
    nor the ``failure_caught`` entry, is left; started again, the catch is recorded once."""
    deploy(owner, xml)
    customer = make_customer()
    body = {"process_id": process_id, "data": {"customer_id": customer.id}}
    before = dump(db)

    crash(
        tmp_path, test_env, point, {"post": "/api/v1/process-instances", "body": body}, actor=agent
    )

    assert dump(db) == before
    started = agent.start(process_id, {"customer_id": customer.id})
    assert (started["status"], started["incidents"]) == ("completed", [])
    assert notes_of(db, customer.id) == ["caught: test.fail: the gateway is down"]
    [caught] = audit_actions(db, "failure_caught")
    assert caught["element_id"] == "send"
    assert outbox(db) == [("process_instance.completed", started["id"])]


@pytest.mark.parametrize(
    ("point", "nth"), [("handler", 4), ("save", 4), ("writes", 4), ("commit", 4)]
)
def test_a_signal_broadcast_killed_mid_page(
    timed_holding, make_customer, test_env, tmp_path, point, nth
):
    """A thrown signal reaches five waiting instances, two per page; the pass is killed on the
    fourth. The three reached keep their step (each its own transaction), the others are as
    they were; the next pass after the claim runs out reaches only those two."""
    timed = timed_holding
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, bpmn.SIGNAL_WAITER, bpmn.SIGNAL_THROWER)
    customers = [make_customer() for _ in range(5)]
    waiting = [
        timed.agent.start("held_signal_waiter", {"customer_id": c.id})["id"] for c in customers
    ]
    timed.agent.start("held_signal_thrower")
    before = dump(db)

    crash(tmp_path, test_env, point, {"pass": True}, nth=nth, clock=timed.clock.now(), page=2)

    with db() as session:
        reached = session.scalars(select(SignalDelivery.instance_id).order_by(SignalDelivery.id))
        assert list(reached) == waiting[:3]
        [broadcast] = session.scalars(select(SignalBroadcast)).all()
        assert (broadcast.status, broadcast.offered_up_to) == ("pending", waiting[1])
    after = dump(db)
    for table in ("process_instances", "event_waits", "work_items", "incidents"):
        untouched = of_instances(before, table, waiting[3:])
        assert of_instances(after, table, waiting[3:]) == untouched, table
    assert of_instances(before, "event_waits", waiting[3:])
    assert [notes_of(db, c.id) for c in customers] == [["repriced"]] * 3 + [[]] * 2

    assert timed.advance(signals.LEASE + timedelta(seconds=1)) == 1
    with db() as session:
        reached = session.scalars(select(SignalDelivery.instance_id).order_by(SignalDelivery.id))
        assert list(reached) == waiting
        assert session.scalars(select(SignalBroadcast.status)).all() == ["delivered"]
    assert [notes_of(db, c.id) for c in customers] == [["repriced"]] * 5
    assert [s for _, s in instances_of(db, "held_signal_waiter")] == ["completed"] * 5
    completions = [i for kind, i in outbox(db) if kind == "process_instance.completed"]
    assert sorted(set(completions) & set(waiting)) == waiting and len(completions) == 6
    assert timed.advance(signals.LEASE + timedelta(seconds=1)) == 0


@pytest.mark.parametrize("point", POINTS)
def test_a_call_activity_starting_its_process(
    holding, owner, agent, make_customer, db, test_env, tmp_path, point
):
    deploy(owner, bpmn.CALLER, bpmn.CALLED)
    customer = make_customer()
    body = {"process_id": "held_parent", "data": {"customer_id": customer.id}}
    before = dump(db)

    crash(
        tmp_path, test_env, point, {"post": "/api/v1/process-instances", "body": body}, actor=agent
    )

    assert dump(db) == before
    started = agent.start("held_parent", {"customer_id": customer.id})
    assert [t["name"] for t in started["ready_tasks"]] == ["call"]
    assert instances_of(db, "held_parent") == [(started["id"], "running")]
    assert notes_of(db, customer.id) == ["child"]


@pytest.mark.parametrize(
    ("point", "nth"), [("handler", 2), ("save", 1), ("writes", 1), ("commit", 1)]
)
def test_a_multi_instance_activity_creating_its_instances(
    holding, owner, agent, make_customer, db, test_env, tmp_path, point, nth
):
    deploy(owner, bpmn.EACH)
    customers = [make_customer() for _ in range(3)]
    body = {"process_id": "held_each", "data": {"customers": [c.id for c in customers]}}
    before = dump(db)

    action = {"post": "/api/v1/process-instances", "body": body}
    crash(tmp_path, test_env, point, action, actor=agent, nth=nth)

    assert dump(db) == before
    started = agent.start("held_each", body["data"])
    assert [t["name"] for t in started["ready_tasks"]] == ["review"]
    assert [notes_of(db, c.id) for c in customers] == [["each"]] * 3


# -- operations on models and instances -------------------------------------------------------


@pytest.mark.parametrize("point", ["save", "writes", "commit"])
def test_a_migration(holding, owner, agent, make_customer, db, test_env, tmp_path, point):
    deploy(owner, bpmn.movable("first"))
    deploy(owner, bpmn.movable("second"))
    customer = make_customer()
    instance = agent.start("held_move", {"customer_id": customer.id}, version=1)
    url = f"/api/v1/process-instances/{instance['id']}/migrate"
    before = dump(db)

    crash(tmp_path, test_env, point, {"post": url, "body": {"to_version": 2}}, actor=owner)

    assert dump(db) == before
    moved = owner.post(url, json={"to_version": 2})
    assert moved.status_code == 200, moved.get_json()
    again = owner.post(url, json={"to_version": 2})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "migration_refused")
    assert [e["version"] for e in audit_actions(db, "migrate")] == [2]
    agent.complete_ok(instance["ready_tasks"][0]["id"])
    assert notes_of(db, customer.id) == ["second"]
    done = [("task.completed", instance["id"]), ("process_instance.completed", instance["id"])]
    assert outbox(db) == done


@pytest.mark.parametrize("point", ["writes", "commit"])
def test_a_deploy_through_the_api(holding, owner, db, test_env, tmp_path, point):
    deploy(owner, bpmn.STARTED)
    changed = bpmn.STARTED.replace("'started'", "'started anew'")
    body = {"bpmn": {"m0.bpmn": changed}}
    before = dump(db)

    crash(tmp_path, test_env, point, {"post": "/api/v1/process-models", "body": body}, actor=owner)

    assert dump(db) == before
    first = owner.post("/api/v1/process-models", json=body)
    assert (first.status_code, first.get_json()["version"]) == (201, 2)
    again = owner.post("/api/v1/process-models", json=body)
    assert (again.status_code, again.get_json()["version"]) == (200, 2)
    assert owner.models()[0]["versions"] == [1, 2]


@pytest.mark.parametrize("point", ["writes", "commit"])
def test_a_deploy_from_the_command_line(holding, owner, db, test_env, tmp_path, point):
    deploy(owner, bpmn.STARTED)
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "held_start.bpmn").write_text(bpmn.STARTED.replace("'started'", "'from disk'"))
    before = dump(db)

    crash(tmp_path, test_env, point, {"cli": ["deploy", str(folder)]})

    assert dump(db) == before
    first = CliRunner().invoke(cli, ["deploy", str(folder)], obj=holding)
    assert (first.exit_code, first.output) == (0, "deployed: held_start v2\n"), first.output
    again = CliRunner().invoke(cli, ["deploy", str(folder)], obj=holding)
    assert again.output == "unchanged, already deployed: held_start v2\n"
    assert owner.models()[0]["versions"] == [1, 2]


# -- a customer import routing its rows as leads ----------------------------------------------

LEADS = "姓名,手机,地区,来源\n" + "".join(
    f"导入客户{n},1381111000{n},上海,展会\n" for n in range(1, 6)
)


@pytest.mark.parametrize("point", ["batch", "commit"])
def test_an_import_killed_mid_batch(runtime, actor, db, test_env, tmp_path, point):
    """Five rows, two a batch, each new customer routed through lead intake in its batch's
    transaction: killed in the second batch, the first stays whole (customers, instances,
    progress) and nothing of the second is left; resumed once its lease ran out, every row is
    imported and routed once."""
    from datetime import UTC, datetime

    from crm.imports import run_import
    from crm.jobs import LEASE
    from crm.models import Customer
    from crm.models.jobs import Job
    from processes.telesales import route_imported_leads

    runtime.deploy_shipped_models()
    manager = actor("manager", username="m_east", team="华东一组")
    for name in ("a1", "a2"):
        actor("agent", username=name, team="华东一组", manager="m_east")
    action = {
        "upload": "/api/v1/customers/import",
        "file_name": "leads.csv",
        "content": LEADS,
        "fields": {"route_leads": "1"},
    }

    crash(tmp_path, test_env, point, action, actor=manager, nth=2, batch_rows=2)

    def imported() -> tuple[list[str], list[str], Job]:
        with db() as session:
            names = session.scalars(select(Customer.name).order_by(Customer.id)).all()
            keys = session.scalars(
                select(ProcessInstance.business_key)
                .where(ProcessInstance.process_id == "lead_intake")
                .order_by(ProcessInstance.id)
            ).all()
            [job] = session.scalars(select(Job)).all()
            session.expunge(job)
            return list(names), list(keys), job

    names, keys, job = imported()
    assert names == ["导入客户1", "导入客户2"]
    assert len(keys) == 2
    assert (job.status.value, job.rows_processed) == ("running", 2)

    later = datetime.now(UTC) + LEASE + timedelta(seconds=1)
    status = run_import(
        runtime.db,
        job.id,
        now=lambda: later,
        on_batch=route_imported_leads(runtime.engine),
        batch_rows=2,
    )
    assert status == "done"
    names, keys, job = imported()
    assert names == [f"导入客户{n}" for n in range(1, 6)]
    assert len(keys) == len(set(keys)) == 5
    assert (job.rows_processed, job.attempts) == (5, 2)
