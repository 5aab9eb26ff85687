"""Concurrency and crashes as an operator meets them: a real ``dialflow serve`` answering many
agents at once, killed (SIGKILL) in the middle of a step and started again, and steps that find
the database held by someone else (SQLite's write lock held past the lock wait, a PostgreSQL row
lock held by a stuck transaction, a deadlock inside a handler's CRM write).

A step that cannot get its locks changes nothing and says so (``503 database_busy`` with
``Retry-After``); the same request sent again goes through, once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from crm.models import Activity, Customer
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.models import Incident, ProcessInstance, WorkItem
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.conftest import PG_URL
from tests.engine.conftest import Actor, actor_factory, one_process
from web import create_app

# The agent's call, then two CRM writes: a note, then the customer's name. The script after them
# spins as long as the completion asks (``spin`` loop turns), to hold the step open.
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NOTE_THEN_RENAME = one_process(
    "note_then_rename",
    f"""
    <startEvent id="start" />
    <userTask id="call" name="Call the customer" />
    <serviceTask id="note" name="Write the note">
      <extensionElements>
        <spiffworkflow:serviceTaskOperator xmlns:spiffworkflow="{SPIFF}"
            id="crm.add_note" resultVariable="note_result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="text" type="str" value="'Outcome: ' + outcome" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <serviceTask id="rename" name="Rename the customer">
      <extensionElements>
        <spiffworkflow:serviceTaskOperator xmlns:spiffworkflow="{SPIFF}"
            id="crm.update_customer" resultVariable="renamed">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="fields" type="dict" value="{{'name': new_name}}" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <scriptTask id="spin" name="Spin">
      <script>turns = sum(1 for _ in range(spin))</script>
    </scriptTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <sequenceFlow id="f2" sourceRef="call" targetRef="note" />
    <sequenceFlow id="f3" sourceRef="note" targetRef="rename" />
    <sequenceFlow id="f4" sourceRef="rename" targetRef="spin" />
    <sequenceFlow id="f5" sourceRef="spin" targetRef="end" />
""",
)

# An hour's wait, then the same two CRM writes, run by the timer pass.
WAIT_THEN_RENAME = NOTE_THEN_RENAME.replace(b'"note_then_rename"', b'"wait_then_rename"').replace(
    b'<userTask id="call" name="Call the customer" />',
    b'<intermediateCatchEvent id="call" name="An hour later">'
    b"<timerEventDefinition><timeDuration>'PT1H'</timeDuration></timerEventDefinition>"
    b"</intermediateCatchEvent>",
)

# Two calls in parallel branches; the join writes one note with both outcomes.
BOTH_CALLS = one_process(
    "both_calls",
    f"""
    <startEvent id="start" />
    <parallelGateway id="split" />
    <userTask id="call_a" name="Call the buyer" />
    <userTask id="call_b" name="Call the decision maker" />
    <parallelGateway id="join" />
    <serviceTask id="note" name="Write the note">
      <extensionElements>
        <spiffworkflow:serviceTaskOperator xmlns:spiffworkflow="{SPIFF}"
            id="crm.add_note" resultVariable="note_result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="text" type="str" value="a + ' / ' + b" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <sequenceFlow id="f2" sourceRef="split" targetRef="call_a" />
    <sequenceFlow id="f3" sourceRef="split" targetRef="call_b" />
    <sequenceFlow id="f4" sourceRef="call_a" targetRef="join" />
    <sequenceFlow id="f5" sourceRef="call_b" targetRef="join" />
    <sequenceFlow id="f6" sourceRef="join" targetRef="note" />
    <sequenceFlow id="f7" sourceRef="note" targetRef="end" />
""",
)


# The agent's call, then its note and the deal moved to proposal (two CRM writes).
NOTE_THEN_STAGE = one_process(
    "note_then_stage",
    f"""
    <startEvent id="start" />
    <userTask id="call" name="Call the customer" />
    <serviceTask id="note" name="Write the note">
      <extensionElements>
        <spiffworkflow:serviceTaskOperator xmlns:spiffworkflow="{SPIFF}"
            id="crm.add_note" resultVariable="note_result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="text" type="str" value="'Outcome: ' + outcome" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <serviceTask id="move_deal" name="Move the deal">
      <extensionElements>
        <spiffworkflow:serviceTaskOperator xmlns:spiffworkflow="{SPIFF}"
            id="crm.set_deal_stage" resultVariable="deal">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="deal_id" type="int" value="deal_id" />
            <spiffworkflow:parameter id="stage" type="str" value="'proposal'" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <sequenceFlow id="f2" sourceRef="call" targetRef="note" />
    <sequenceFlow id="f3" sourceRef="note" targetRef="move_deal" />
    <sequenceFlow id="f4" sourceRef="move_deal" targetRef="end" />
""",
)


def deploy(owner: Actor, name: str, content: bytes) -> None:
    response = owner.upload(extra=[(name, content)])
    assert response.status_code in (200, 201), response.get_json()


def notes(db: Callable[..., Any], customer_id: int) -> list[str]:
    with db(read_only=True) as session:
        return list(
            session.scalars(
                select(Activity.body)
                .where(Activity.customer_id == customer_id)
                .order_by(Activity.id)
            )
        )


def snapshot(db: Callable[..., Any], instance_id: int) -> tuple[Any, ...]:
    """What a step changes: the instance row, its work items, its incidents."""
    with db(read_only=True) as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        items = session.execute(
            select(WorkItem.id, WorkItem.status, WorkItem.completed_at)
            .where(WorkItem.instance_id == instance_id)
            .order_by(WorkItem.id)
        ).all()
        incidents = session.scalar(
            select(func.count()).select_from(Incident).where(Incident.instance_id == instance_id)
        )
        return (row.status, row.state, row.step_count, tuple(items), incidents)


def customer_name(db: Callable[..., Any], customer_id: int) -> str:
    with db(read_only=True) as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        return customer.name


def assert_busy(status: int, body: dict[str, Any], headers: Any) -> None:
    """The refusal of a step that could not get its locks: 503, a code, when to come back."""
    assert status == 503, (status, body)
    assert body["error"]["code"] == "database_busy", body
    assert int(headers["Retry-After"]) >= 1


def blocked_by(watcher: Any, pid: int, besides: set[int] = frozenset()) -> set[int]:
    """The backends waiting for a lock that ``pid`` holds (or waits ahead for)."""
    rows = watcher.execute(
        "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
    ).fetchall()
    return {row[0] for row in rows} - besides


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return found


# -- a database held past the lock wait ----------------------------------------------------


@pytest.fixture
def impatient(runtime: Runtime, test_env: dict[str, str]) -> Iterator[Any]:
    """The app of a runtime that waits at most 1 s for a lock (``DIALFLOW_LOCK_WAIT_SECONDS``),
    with a process owner and an agent."""
    settings = Settings.from_env({**test_env, "DIALFLOW_LOCK_WAIT_SECONDS": "1"})
    waiting = Runtime.build(settings)
    app = create_app({"TESTING": True}, runtime=waiting)
    make = actor_factory(app.test_client(), waiting.db.unit_of_work)
    yield app, make("process_owner", username="po", team=None), make("agent", username="li")
    waiting.close()


def pg_connection(test_env: dict[str, str]) -> Any:
    """A connection of another client (psql, a report, a stuck job) to the test database."""
    import psycopg

    url = make_url(test_env["DATABASE_URL"])
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        dbname=url.database,
        user=url.username,
        password=url.password,
        options=f"-csearch_path={test_env['DATABASE_SCHEMA']}",
    )


def test_a_completion_behind_a_writer_holding_the_database_is_refused_busy_and_goes_through_later(
    impatient, make_customer, db, test_env
):
    """Another writer holds what the step needs for longer than the lock wait: on SQLite the
    database's write lock (a backup, a long import), on PostgreSQL the instance's row (a stuck
    transaction). The completion is refused with 503 ``database_busy`` and ``Retry-After``
    (it was a 500 "internal_error"), nothing of it is stored, and it goes through once the
    writer is gone."""
    _app, owner, agent = impatient
    deploy(owner, "note_then_rename.bpmn", NOTE_THEN_RENAME)
    customer = make_customer(name="王芳")
    instance = agent.start(
        "note_then_rename", {"customer_id": customer.id, "new_name": "王芳 (VIP)", "spin": 0}
    )
    task_id = instance["ready_tasks"][0]["id"]
    before = snapshot(db, instance["id"])

    if PG_URL:
        holder = pg_connection(test_env)
        hold = "SELECT id FROM process_instances WHERE id = %s FOR UPDATE"
    else:
        holder = sqlite3.connect(make_url(test_env["DATABASE_URL"]).database, isolation_level=None)
        hold = "BEGIN IMMEDIATE"
    try:
        holder.execute(hold, [instance["id"]] if PG_URL else ())
        started = time.monotonic()
        response = agent.complete(task_id, {"outcome": "interested"})
        assert_busy(response.status_code, response.get_json(), response.headers)
        assert time.monotonic() - started < 15  # the lock wait, not forever
    finally:
        holder.rollback() if PG_URL else holder.execute("ROLLBACK")
        holder.close()

    assert snapshot(db, instance["id"]) == before
    assert notes(db, customer.id) == []
    done = agent.complete_ok(task_id, {"outcome": "interested"})
    assert done["status"] == "completed"
    assert notes(db, customer.id) == ["Outcome: interested"]
    assert customer_name(db, customer.id) == "王芳 (VIP)"
    document = agent.get("/api/v1/openapi.json").get_json()
    completion = document["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert "database_busy" in completion["responses"]["503"]["description"]


@pytest.mark.skipif(not PG_URL, reason="SQLite's write lock is taken whole at BEGIN: no deadlock")
def test_a_deadlock_in_a_handlers_crm_write_refuses_the_step_instead_of_failing_the_instance(
    app, owner, agent, make_customer, db, test_env
):
    """The completion's handler waits for the customer's row, which a report's transaction
    holds while it waits for the instance's row: PostgreSQL breaks the deadlock by failing the
    step's statement. The step is one transaction, so it is refused whole (503
    ``database_busy``): before, the handler's failure became an incident, the agent's
    completion answered 200 and the instance stood in error with "deadlock detected", its
    note stored without the rename that belonged with it."""
    deploy(owner, "note_then_rename.bpmn", NOTE_THEN_RENAME)
    customer = make_customer(name="王芳")
    instance = agent.start(
        "note_then_rename", {"customer_id": customer.id, "new_name": "王芳 (VIP)", "spin": 0}
    )
    task_id = instance["ready_tasks"][0]["id"]
    before = snapshot(db, instance["id"])

    answer: dict[str, Any] = {}

    def complete() -> None:
        response = app.test_client().post(
            f"/api/v1/tasks/{task_id}/complete",
            headers=agent.headers,
            json={"data": {"outcome": "interested"}},
        )
        answer.update(
            status=response.status_code, body=response.get_json(), headers=response.headers
        )

    thread = threading.Thread(target=complete)
    report = pg_connection(test_env)
    watcher = pg_connection(test_env)
    watcher.autocommit = True
    try:
        report.execute("SET deadlock_timeout = '20s'")  # the step's backend detects it first
        report.execute("SELECT id FROM customers WHERE id = %s FOR NO KEY UPDATE", [customer.id])
        thread.start()
        wait_for(lambda: blocked_by(watcher, report.info.backend_pid), "the step")
        # The report now wants the instance the step holds: a deadlock.
        report.execute(
            "SELECT id FROM process_instances WHERE id = %s FOR UPDATE", [instance["id"]]
        )
    finally:
        report.rollback()
        report.close()
        watcher.close()
        if thread.is_alive():
            thread.join(30)
    assert not thread.is_alive()

    assert_busy(answer["status"], answer["body"], answer["headers"])
    assert snapshot(db, instance["id"]) == before
    assert notes(db, customer.id) == []
    assert customer_name(db, customer.id) == "王芳"
    done = agent.complete_ok(task_id, {"outcome": "interested"})
    assert done["status"] == "completed"
    assert notes(db, customer.id) == ["Outcome: interested"]
    assert customer_name(db, customer.id) == "王芳 (VIP)"


@pytest.mark.skipif(not PG_URL, reason="SQLite's write lock is taken whole at BEGIN: no deadlock")
def test_a_timer_whose_handler_deadlocks_fires_again_after_its_claim_instead_of_failing(
    timed, make_customer, test_env
):
    """The timer pass fires an instance whose handler then deadlocks with another session:
    the step is lost whole (no incident, no note, the instance still waiting, its claim
    standing), and once the claim runs out the next pass fires it once, with both writes.
    Before, the deadlock was the instance's incident: status error, the note kept without
    the rename, nothing fired again until someone retried it."""
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, "wait_then_rename.bpmn", WAIT_THEN_RENAME)
    customer = make_customer(name="王芳")
    instance = timed.agent.start(
        "wait_then_rename",
        {"customer_id": customer.id, "new_name": "王芳 (VIP)", "outcome": "called", "spin": 0},
    )
    before = snapshot(db, instance["id"])

    fired: list[Any] = []
    timer_pass = threading.Thread(target=lambda: fired.append(timed.advance(hours=1)))
    report = pg_connection(test_env)
    watcher = pg_connection(test_env)
    watcher.autocommit = True
    try:
        report.execute("SET deadlock_timeout = '20s'")  # the step's backend detects it first
        report.execute("SELECT id FROM customers WHERE id = %s FOR NO KEY UPDATE", [customer.id])
        timer_pass.start()
        wait_for(lambda: blocked_by(watcher, report.info.backend_pid), "the timer's step")
        report.execute(
            "SELECT id FROM process_instances WHERE id = %s FOR UPDATE", [instance["id"]]
        )
    finally:
        report.rollback()
        report.close()
        watcher.close()
        if timer_pass.is_alive():
            timer_pass.join(30)
    assert fired == [0]  # claimed, not fired

    status, state, step_count, items, incidents = snapshot(db, instance["id"])
    assert (status, state, step_count, items, incidents) == before
    assert notes(db, customer.id) == []
    assert timed.advance(seconds=5) == 0  # still claimed: not handed out twice
    assert timed.advance(seconds=30) == 1  # the claim ran out: fired once
    assert notes(db, customer.id) == ["Outcome: called"]
    assert customer_name(db, customer.id) == "王芳 (VIP)"
    assert snapshot(db, instance["id"])[0].value == "completed"


# -- a real server: many agents at once, and SIGKILL in the middle of a step ---------------

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """``dialflow serve`` (waitress, 8 threads, timers embedded) in a process of its own on
    the test database, as an operator runs it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = log
        command = [sys.executable, "-c", "from dialflow.cli import main; main()", "serve"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port), "--threads", "8"],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.output()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any, Any]:
        """(status, JSON body, headers) of a POST; a dropped connection raises ``OSError``."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={**headers, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read()), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), error.headers

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(30) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture
def serve(test_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Server]]:
    """Start ``dialflow serve`` processes on the test database; all stopped at the end."""
    started: list[Server] = []

    def start() -> Server:
        server = Server(test_env, tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_two_servers_take_many_completions_of_both_branches_at_once(
    runtime, serve, owner, agent, make_customer, db
):
    """Two ``dialflow serve`` processes (8 threads each) on one database; for each of three
    instances, eight agents' clicks complete each of its two parallel calls at the same
    moment, 48 requests at once. Each call is completed exactly once (200), every other click
    is 409 with a code, nothing answers 500, and each instance's join writes its note once,
    with the outcomes of the two completions that won."""
    servers = [serve(), serve()]
    deploy(owner, "both_calls.bpmn", BOTH_CALLS)
    rounds = []
    for _ in range(3):
        customer = make_customer()
        instance = agent.start("both_calls", {"customer_id": customer.id})
        tasks = {t["name"]: t["id"] for t in instance["ready_tasks"]}
        rounds.append((customer.id, instance["id"], tasks["call_a"], tasks["call_b"]))
    for server in servers:
        server.wait_ready()

    clicks = [
        (task_id, {"data": {field: f"{field}{click}"}}, servers[click % 2])
        for _customer, _instance, task_a, task_b in rounds
        for task_id, field in ((task_a, "a"), (task_b, "b"))
        for click in range(8)
    ]
    barrier = threading.Barrier(len(clicks))
    answers: list[Any] = [None] * len(clicks)

    def click(index: int) -> None:
        task_id, body, server = clicks[index]
        barrier.wait()
        try:
            answers[index] = server.post(f"/api/v1/tasks/{task_id}/complete", agent.headers, body)
        except OSError as exc:
            answers[index] = (None, repr(exc), None)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(clicks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not any(thread.is_alive() for thread in threads)

    won: dict[str, str] = {}
    for (task_id, body, _server), (status, answer, _headers) in zip(clicks, answers, strict=True):
        assert status in (200, 409), (status, answer)
        if status == 200:
            assert task_id not in won, f"{task_id} completed twice"
            won[task_id] = next(iter(body["data"].values()))
        else:
            assert answer["error"]["code"] in ("task_closed", "task_conflict"), answer
    for customer_id, instance_id, task_a, task_b in rounds:
        assert {task_a, task_b} <= won.keys()
        assert notes(db, customer_id) == [f"{won[task_a]} / {won[task_b]}"]
        with db(read_only=True) as session:
            row = session.get(ProcessInstance, instance_id)
            assert row is not None
            assert (row.status.value, row.step_count) == ("completed", 3)
            assert row.data["a"] == won[task_a] and row.data["b"] == won[task_b]
    for server in servers:
        assert "Traceback" not in server.output(), server.output()


def holds_step(test_env: dict[str, str], instance_id: int) -> bool:
    """True while a step holds the instance (PostgreSQL: its row; SQLite: the write lock)."""
    if PG_URL:
        import psycopg

        with pg_connection(test_env) as probe:
            try:
                probe.execute(
                    "SELECT id FROM process_instances WHERE id = %s FOR UPDATE NOWAIT",
                    [instance_id],
                )
            except psycopg.errors.LockNotAvailable:
                return True
            return False
    probe = sqlite3.connect(make_url(test_env["DATABASE_URL"]).database, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_the_server_killed_in_the_middle_of_a_completion_leaves_the_task_to_complete_again(
    runtime, serve, owner, agent, make_customer, db, test_env
):
    """SIGKILL to ``dialflow serve`` while a completion's step runs, after its handlers wrote
    the note and renamed the customer (its script still spinning): no note, no rename, the
    instance and its task as before the click. Started again, the server completes the same
    task once, with both CRM writes."""
    deploy(owner, "note_then_rename.bpmn", NOTE_THEN_RENAME)
    customer = make_customer(name="王芳")
    instance = agent.start(
        "note_then_rename", {"customer_id": customer.id, "new_name": "王芳 (VIP)", "spin": 0}
    )
    task_id = instance["ready_tasks"][0]["id"]
    before = snapshot(db, instance["id"])
    server = serve()
    server.wait_ready()

    answer: list[Any] = []

    def click() -> None:
        body = {"data": {"outcome": "interested", "spin": 10**10}}
        try:
            answer.append(server.post(f"/api/v1/tasks/{task_id}/complete", agent.headers, body))
        except OSError as exc:
            answer.append(exc)

    thread = threading.Thread(target=click)
    thread.start()
    deadline = time.monotonic() + 30
    while not holds_step(test_env, instance["id"]):
        assert time.monotonic() < deadline and thread.is_alive(), (answer, server.output())
        time.sleep(0.05)
    time.sleep(1.0)  # the handlers run in milliseconds; the script spins for minutes
    assert holds_step(test_env, instance["id"])
    server.kill()
    thread.join(30)
    assert len(answer) == 1 and isinstance(answer[0], OSError), answer  # no answer came

    assert snapshot(db, instance["id"]) == before
    assert notes(db, customer.id) == []
    assert customer_name(db, customer.id) == "王芳"

    again = serve()
    again.wait_ready()
    status, done, _headers = again.post(
        f"/api/v1/tasks/{task_id}/complete", agent.headers, {"data": {"outcome": "interested"}}
    )
    assert status == 200, done
    assert done["status"] == "completed"
    assert notes(db, customer.id) == ["Outcome: interested"]
    assert customer_name(db, customer.id) == "王芳 (VIP)"
    status, repeated, _headers = again.post(
        f"/api/v1/tasks/{task_id}/complete", agent.headers, {"data": {"outcome": "interested"}}
    )
    assert status == 409, repeated
    assert notes(db, customer.id) == ["Outcome: interested"]


# -- an erasure racing a step on the customer's process -----------------------------------


def erase_during_completion(
    app: Any,
    test_env: dict[str, str],
    deal_id: int,
    complete: tuple[str, dict[str, Any], dict[str, str]],
    erase: tuple[int, dict[str, str]],
) -> dict[str, tuple[int, Any]]:
    """The answers to a task's completion (task id, data, headers) and a customer's erasure
    (customer id, headers) sent while another session holds the deal's row: the completion's
    step writes its note, then waits for the deal; the erasure is sent once the step waits,
    and the deal is let go once the erasure waits for the step."""
    task_id, data, agent_headers = complete
    customer_id, admin_headers = erase
    holder = pg_connection(test_env)  # another session holding the deal's row for a while
    watcher = pg_connection(test_env)
    watcher.autocommit = True
    answers: dict[str, tuple[int, Any]] = {}

    def send(name: str, method: str, url: str, body: Any, headers: dict[str, str]) -> None:
        response = app.test_client().open(url, method=method, json=body, headers=headers)
        answers[name] = (response.status_code, response.get_json())

    url = f"/api/v1/tasks/{task_id}/complete"
    completion = threading.Thread(
        target=send, args=("complete", "POST", url, {"data": data}, agent_headers)
    )
    erasure = threading.Thread(
        target=send,
        args=("erase", "DELETE", f"/api/v1/customers/{customer_id}", None, admin_headers),
    )
    try:
        holder.execute("SELECT id FROM deals WHERE id = %s FOR UPDATE", [deal_id])
        completion.start()
        [step] = wait_for(lambda: blocked_by(watcher, holder.info.backend_pid), "the step")
        erasure.start()
        wait_for(lambda: blocked_by(watcher, step), "the erasure to wait for the step")
    finally:
        holder.rollback()
        holder.close()
        watcher.close()
        for thread in (completion, erasure):
            if thread.is_alive():
                thread.join(30)
    return answers


@pytest.mark.skipif(not PG_URL, reason="SQLite runs the two one after the other, whole")
def test_an_erasure_while_a_completion_writes_the_customers_note_scrubs_that_note_too(
    app, owner, agent, actor, make_customer, db, test_env
):
    """An agent's completion is mid-step (its note written, its deal update waiting for a
    lock) when an administrator erases the customer. The erasure waits for the step on the
    customer's process and then erases what it wrote: the note is ``[erased]``. Before, the
    erasure scrubbed the notes it could see, then waited to terminate the instance, found it
    completed and was refused (409 "already completed"): the administrator's erasure failed
    for a race they could not see."""
    admin = actor("admin", username="dpo", team=None)
    deploy(owner, "note_then_stage.bpmn", NOTE_THEN_STAGE)
    customer = make_customer(name="王芳")
    with db() as session:
        from crm.deals import create_deal

        deal = create_deal(
            session, customer.id, {"title": "Annual plan", "amount": 1200}, actor=None, scoped=False
        )
    instance = agent.start(
        "note_then_stage",
        {"customer_id": customer.id, "deal_id": deal.id},
        business_key=str(customer.id),
    )
    task_id = instance["ready_tasks"][0]["id"]

    answers = erase_during_completion(
        app,
        test_env,
        deal.id,
        (task_id, {"outcome": "call back on 13900001111"}, agent.headers),
        (customer.id, admin.headers),
    )

    assert answers["complete"][0] == 200, answers
    assert answers["erase"][0] == 200, answers
    assert notes(db, customer.id) == ["[erased]"]
    assert customer_name(db, customer.id) == "[erased]"
    with db(read_only=True) as session:
        row = session.get(ProcessInstance, instance["id"])
        assert row is not None and row.status.value == "completed"


# -- more requests at once than connections ------------------------------------------------


def test_a_request_finding_every_connection_in_use_is_refused_busy(impatient) -> None:
    """More requests at once than the pool's connections (``dialflow serve --threads 64``
    with slow steps): the one left without a connection waited 30 s whatever the lock wait
    and answered 500 "internal_error"; it now waits the lock wait and answers 503
    ``database_busy`` with ``Retry-After``, and the same request goes through once a
    connection is free."""
    app, owner, _agent = impatient
    engine = app.extensions["dialflow"].db.engine
    held = []
    try:
        while True:  # every connection the pool has, and its overflow
            try:
                held.append(engine.pool.connect())
            except Exception:
                break
        started = time.monotonic()
        response = owner.get("/api/v1/process-models")
        assert time.monotonic() - started < 10
        assert_busy(response.status_code, response.get_json(), response.headers)
    finally:
        for connection in held:
            connection.close()
    assert owner.get("/api/v1/process-models").status_code == 200


# -- a handler that says why it failed ------------------------------------------------------

# The agent's call, then a handler that renames the customer and, like many handlers written
# for an integration, turns any failure of its own into a ``HandlerError`` saying why.
CALL_THEN_CAREFUL_RENAME = one_process(
    "call_then_careful_rename",
    f"""
    <startEvent id="start" />
    <userTask id="call" name="Call the customer" />
    <serviceTask id="rename" name="Rename the customer">
      <extensionElements>
        <spiffworkflow:serviceTaskOperator xmlns:spiffworkflow="{SPIFF}"
            id="test.careful_rename" resultVariable="renamed">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="name" type="str" value="new_name" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <sequenceFlow id="f2" sourceRef="call" targetRef="rename" />
    <sequenceFlow id="f3" sourceRef="rename" targetRef="end" />
""",
)


@pytest.fixture
def careful(runtime: Runtime, test_env: dict[str, str]) -> Iterator[Any]:
    """``impatient``'s app (1 s lock wait) whose engine knows ``test.careful_rename``: it
    renames the customer and reports any failure as a ``HandlerError`` (code ``RENAME``);
    and ``test.careful_check``, a completion check that locks the customer's row and
    reports any failure as a ``HandlerError``."""
    registry = build_registry()

    @registry.register("test.careful_rename", "Rename the customer, saying why not")
    def careful_rename(ctx: HandlerContext, customer_id: int, name: str) -> dict[str, Any]:
        try:
            ctx.session.execute(
                update(Customer).where(Customer.id == customer_id).values(name=name)
            )
        except Exception as exc:
            raise HandlerError(f"the customer could not be renamed: {exc}", code="RENAME") from exc
        return {"name": name}

    @registry.register("test.careful_check", "Refuse a call logged for a locked customer")
    def careful_check(ctx: HandlerContext, customer_id: int) -> None:
        try:
            ctx.session.execute(
                select(Customer.id).where(Customer.id == customer_id).with_for_update()
            )
        except Exception as exc:
            raise HandlerError(f"the customer could not be checked: {exc}") from exc

    settings = Settings.from_env({**test_env, "DIALFLOW_LOCK_WAIT_SECONDS": "1"})
    waiting = Runtime.build(settings)
    waiting._engine = ProcessEngine(registry=registry, clock=waiting.clock)
    app = create_app({"TESTING": True}, runtime=waiting)
    make = actor_factory(app.test_client(), waiting.db.unit_of_work)
    yield app, make("process_owner", username="po", team=None), make("agent", username="li")
    waiting.close()


@pytest.mark.skipif(not PG_URL, reason="SQLite's write lock is taken whole at BEGIN")
def test_a_handler_reporting_a_lock_wait_as_its_own_failure_refuses_the_step_busy(
    careful, make_customer, db, test_env
):
    """A report's transaction holds the customer's row past the lock wait while the agent's
    completion runs a handler that wraps every failure in a ``HandlerError``. The wait was
    the database's, not the handler's: the completion is refused whole (503
    ``database_busy``) and goes through when sent again. Before, the wrapped lock timeout
    was the instance's incident: the completion answered 200, the task was done and the
    instance stood in error with "lock timeout" until someone retried it."""
    _app, owner, agent = careful
    deploy(owner, "call_then_careful_rename.bpmn", CALL_THEN_CAREFUL_RENAME)
    customer = make_customer(name="王芳")
    instance = agent.start(
        "call_then_careful_rename", {"customer_id": customer.id, "new_name": "王芳 (VIP)"}
    )
    task_id = instance["ready_tasks"][0]["id"]
    before = snapshot(db, instance["id"])

    report = pg_connection(test_env)
    try:
        report.execute("SELECT id FROM customers WHERE id = %s FOR NO KEY UPDATE", [customer.id])
        response = agent.complete(task_id, {"outcome": "interested"})
    finally:
        report.rollback()
        report.close()
    assert_busy(response.status_code, response.get_json(), response.headers)
    assert snapshot(db, instance["id"]) == before
    assert customer_name(db, customer.id) == "王芳"

    done = agent.complete_ok(task_id, {"outcome": "interested"})
    assert done["status"] == "completed", done
    assert customer_name(db, customer.id) == "王芳 (VIP)"


# -- a queued message or a signal whose step cannot get its locks -------------------------------

# Waits for the quote (thrown by ``quote_sender`` of the same business key), then renames the
# customer: the message's step writes the customer's row. ``{rename}`` is the operator.
QUOTE_THEN_RENAME = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_quote_then_rename" targetNamespace="http://dialflow.example/bpmn">
  <message id="msg_quote_ready" name="quote_ready" />
  <signal id="sig_prices" name="prices_changed" />
  <process id="quote_then_rename" isExecutable="true">
    <startEvent id="start" />
    <eventBasedGateway id="which" />
    <intermediateCatchEvent id="quote">
      <messageEventDefinition messageRef="msg_quote_ready" />
    </intermediateCatchEvent>
    <intermediateCatchEvent id="prices">
      <signalEventDefinition signalRef="sig_prices" />
    </intermediateCatchEvent>
    <serviceTask id="rename" name="Rename the customer">
      <extensionElements>
        <spiffworkflow:serviceTaskOperator xmlns:spiffworkflow="{SPIFF}"
            id="{{rename}}" resultVariable="renamed">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="{{field}}" type="{{type}}" value="{{value}}" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="which" />
    <sequenceFlow id="f2" sourceRef="which" targetRef="quote" />
    <sequenceFlow id="f3" sourceRef="which" targetRef="prices" />
    <sequenceFlow id="f4" sourceRef="quote" targetRef="rename" />
    <sequenceFlow id="f5" sourceRef="prices" targetRef="rename" />
    <sequenceFlow id="f6" sourceRef="rename" targetRef="end" />
  </process>
</definitions>
"""

OPERATORS = {
    "crm.update_customer": {"field": "fields", "type": "dict", "value": "{'name': new_name}"},
    "test.careful_rename": {"field": "name", "type": "str", "value": "new_name"},
}


@pytest.fixture
def careful_timed(careful) -> Iterator[Any]:
    """``careful``'s app, and ``advance``: one pass of its scheduler."""
    from dialflow.background import TimerLoop

    app, owner, agent = careful
    rt = app.extensions["dialflow"]

    def advance() -> int:
        return TimerLoop(rt).run_once()

    yield app, owner, agent, advance


@pytest.mark.skipif(not PG_URL, reason="SQLite's write lock is taken whole at BEGIN")
@pytest.mark.parametrize("operator", sorted(OPERATORS))
@pytest.mark.parametrize("door", ["queued message", "signal"])
def test_a_message_or_signal_whose_step_cannot_get_its_locks_is_delivered_later_not_lost(
    careful_timed, make_customer, db, test_env, operator, door
):
    """A message an instance threw (delivered by the scheduler's pass) or a signal broadcast
    through the API reaches an instance whose next task renames the customer, while a report
    holds the customer's row past the lock wait. The delivery is lost whole and tried again:
    the message stays queued, the broadcast pending, and once the row is free the
    scheduler's next pass delivers it, with the rename. The signal's request answers 202
    ``pending``: the broadcast was stored. Before, it answered 503 "send it again", and a
    client that did had the signal broadcast twice; and a lock failure a handler reported as
    its own failure marked the message failed, or passed the instance by for the signal:
    the instance waited for good."""
    from engine.models import ReceivedMessage, SignalBroadcast

    _app, owner, agent, advance = careful_timed
    deploy(
        owner,
        "quote_then_rename.bpmn",
        QUOTE_THEN_RENAME.format(rename=operator, **OPERATORS[operator]).encode(),
    )
    deploy(
        owner, "quote_sender.bpmn", (ROOT / "tests/engine/diagrams/quote_sender.bpmn").read_bytes()
    )
    customer = make_customer(name="王芳")
    waiting = agent.start(
        "quote_then_rename",
        {"customer_id": customer.id, "new_name": "王芳 (VIP)"},
        business_key=f"customer-{customer.id}",
    )
    before = snapshot(db, waiting["id"])

    report = pg_connection(test_env)
    try:
        report.execute("SELECT id FROM customers WHERE id = %s FOR NO KEY UPDATE", [customer.id])
        if door == "queued message":
            agent.start("quote_sender", {"amount": 100}, business_key=f"customer-{customer.id}")
            advance()
        else:
            response = agent.post("/api/v1/signals", json={"name": "prices_changed"})
            # stored, to be delivered: not "busy, send it again", which would send it twice
            assert response.status_code == 202, response.get_json()
            answer = response.get_json()
            assert (answer["pending"], answer["delivered_to"]) == (True, [])
    finally:
        report.rollback()
        report.close()
    assert snapshot(db, waiting["id"]) == before
    assert customer_name(db, customer.id) == "王芳"
    with db() as session:
        if door == "queued message":
            assert session.scalars(select(ReceivedMessage.status)).all() == ["queued"]
        else:
            assert session.scalars(select(SignalBroadcast.status)).all() == ["pending"]

    advance()
    with db(read_only=True) as session:
        row = session.get(ProcessInstance, waiting["id"])
        assert row is not None and row.status.value == "completed"
    assert customer_name(db, customer.id) == "王芳 (VIP)"


CHECKED_CALL = one_process(
    "checked_call",
    f"""
    <startEvent id="start" />
    <userTask id="call" name="Log the call">
      <extensionElements>
        <spiffworkflow:properties xmlns:spiffworkflow="{SPIFF}">
          <spiffworkflow:property name="completionCheck" value="test.careful_check" />
        </spiffworkflow:properties>
      </extensionElements>
    </userTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <sequenceFlow id="f2" sourceRef="call" targetRef="end" />
""",
)


@pytest.mark.skipif(not PG_URL, reason="SQLite's write lock is taken whole at BEGIN")
def test_a_completion_check_reporting_a_lock_wait_as_its_refusal_answers_busy(
    careful, make_customer, db, test_env
):
    """The user task's completion check (the compliance gate before a call is logged)
    locks the customer's row, which a report holds past the lock wait, and reports the
    failure as its own ``HandlerError``. The agent is told the database is busy (503
    ``database_busy``, send it again), not that the call may not be logged (409
    ``completion_refused`` with the database's words), and the completion goes through
    once the row is free."""
    _app, owner, agent = careful
    deploy(owner, "checked_call.bpmn", CHECKED_CALL)
    customer = make_customer(name="王芳")
    instance = agent.start("checked_call", {"customer_id": customer.id})
    task_id = instance["ready_tasks"][0]["id"]
    before = snapshot(db, instance["id"])

    report = pg_connection(test_env)
    try:
        report.execute("SELECT id FROM customers WHERE id = %s FOR NO KEY UPDATE", [customer.id])
        response = agent.complete(task_id, {"outcome": "interested"})
    finally:
        report.rollback()
        report.close()
    assert_busy(response.status_code, response.get_json(), response.headers)
    assert snapshot(db, instance["id"]) == before
    assert agent.complete_ok(task_id, {"outcome": "interested"})["status"] == "completed"


@pytest.mark.skipif(not PG_URL, reason="SQLite runs the two one after the other, whole")
def test_an_erasure_while_a_step_runs_on_an_instance_of_another_key_waits_for_it(
    app, owner, agent, actor, make_customer, db, test_env
):
    """The customer's process was started by hand under the deal's key (``deal-<id>``), the
    customer in its data: the erasure scrubs it too. An agent's completion is mid-step on it
    (the customer's note written, the deal's update waiting for a lock) when an
    administrator erases the customer. The erasure waits for the step, then erases the note
    it wrote and scrubs the instance as the step left it: completed."""
    admin = actor("admin", username="dpo", team=None)
    deploy(owner, "note_then_stage.bpmn", NOTE_THEN_STAGE)
    customer = make_customer(name="王芳")
    with db() as session:
        from crm.deals import create_deal

        deal = create_deal(
            session, customer.id, {"title": "Annual plan", "amount": 1200}, actor=None, scoped=False
        )
    instance = agent.start(
        "note_then_stage",
        {"customer_id": customer.id, "deal_id": deal.id, "contact": "王芳"},
        business_key=f"deal-{deal.id}",
    )
    task_id = instance["ready_tasks"][0]["id"]

    answers = erase_during_completion(
        app,
        test_env,
        deal.id,
        (task_id, {"outcome": "interested"}, agent.headers),
        (customer.id, admin.headers),
    )

    assert answers["complete"][0] == 200, answers
    assert answers["erase"][0] == 200, answers
    assert notes(db, customer.id) == ["[erased]"]
    view = agent.instance(instance["id"])
    assert view["status"] == "completed", view
    assert view["data"]["contact"] == "[erased]"
    assert view["data"]["outcome"] == "interested"
