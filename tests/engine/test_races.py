"""Steps on one instance that race each other: a completion against a claim, an assignment,
a release, a message, a timer, the task page; two retries of one incident. Whatever the order
the database picks, exactly one of the conflicting steps takes effect, and the CRM writes
match the path the instance took."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from crm.notes import add_note
from dialflow.background import TimerLoop
from dialflow.runtime import Runtime
from engine.models import ProcessInstance, WorkItem
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import Actor, Timed, notes_of
from tests.web.test_pages import csrf_token

ROUNDS = 3


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread, released by one barrier; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    return results


def poster(app: Flask, url: str, headers: dict, body: dict | None = None) -> Callable[[], Any]:
    def post() -> tuple[int, Any]:
        response = app.test_client().post(url, headers=headers, json=body or {})
        return response.status_code, response.get_json()

    return post


def completion(app: Flask, actor: Actor, task_id: str) -> Callable[[], Any]:
    """The call's completion with the outcome every test here gives, as ``actor``."""
    return poster(
        app, f"/api/v1/tasks/{task_id}/complete", actor.headers, {"data": {"outcome": "interested"}}
    )


def item_of(db: Callable[..., Any], task_id: str) -> WorkItem:
    with db() as session:
        item = session.get(WorkItem, task_id)
        assert item is not None
        return item


def start_call(agent: Actor, customer_id: int, process_id: str = "call_note") -> tuple[int, str]:
    instance = agent.start(process_id, {"customer_id": customer_id})
    return instance["id"], instance["ready_tasks"][0]["id"]


def test_completion_against_a_claim_by_someone_else(app, owner, agent, actor, make_customer, db):
    colleague = actor("agent", username="agent_east2", team="East")
    owner.deploy("call_note.bpmn", "call-form.json")
    for round_number in range(ROUNDS):
        customer = make_customer()
        _instance_id, task_id = start_call(agent, customer.id)
        completed, claimed = together(
            completion(app, agent, task_id),
            poster(app, f"/api/v1/tasks/{task_id}/claim", colleague.headers),
        )
        item = item_of(db, task_id)
        if completed[0] == 200:
            assert claimed[0] == 409, (round_number, completed, claimed)
            assert item.status.value == "completed"
            assert item.completed_by_id == agent.user.id
            assert notes_of(db, customer.id) == ["Outcome: interested"]
        else:
            assert (completed[0], claimed[0]) == (409, 200), (round_number, completed, claimed)
            assert completed[1]["error"]["code"] == "task_assigned"
            assert (item.status.value, item.assignee_id) == ("open", colleague.user.id)
            assert notes_of(db, customer.id) == []


def test_completion_against_an_assignment_and_a_release(
    app, owner, agent, actor, make_customer, db
):
    manager = actor("manager", username="boss_east", team="East")
    colleague = actor("agent", username="agent_east2", team="East")
    owner.deploy("call_note.bpmn", "call-form.json")
    for round_number in range(ROUNDS):
        customer = make_customer()
        _instance_id, task_id = start_call(agent, customer.id)
        assert agent.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
        completed, assigned, released = together(
            poster(
                app,
                f"/api/v1/tasks/{task_id}/complete",
                agent.headers,
                {"data": {"outcome": "no_answer"}},
            ),
            poster(
                app,
                f"/api/v1/tasks/{task_id}/assign",
                manager.headers,
                {"user": colleague.username},
            ),
            poster(app, f"/api/v1/tasks/{task_id}/unclaim", manager.headers),
        )
        statuses = (completed[0], assigned[0], released[0])
        assert all(s in (200, 409) for s in statuses), (round_number, statuses)
        item = item_of(db, task_id)
        notes = notes_of(db, customer.id)
        if completed[0] == 200:
            assert item.status.value == "completed"
            assert item.completed_by_id == agent.user.id
            assert notes == ["Outcome: no_answer"]
        else:
            assert completed[1]["error"]["code"] == "task_assigned", completed
            assert item.status.value == "open"
            assert assigned[0] == 200  # only an assignment to someone else stops the agent
            assert notes == []


@pytest.fixture
def flaky_engine(runtime: Runtime) -> dict[str, bool]:
    """``test.note_then_fail`` writes a note, then fails while ``switch["fail"]`` is set."""
    switch = {"fail": True}
    registry = build_registry()

    @registry.register("test.note_then_fail", "Write a note, then fail while told to")
    def note_then_fail(ctx: HandlerContext, customer_id: int) -> dict[str, Any]:
        add_note(ctx.session, customer_id, "second handler", actor=ctx.actor, scoped=False)
        if switch["fail"]:
            raise HandlerError("the remote system said no")
        return {"ok": True}

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    return switch


def test_the_same_incident_retried_twice_at_once(
    app, flaky_engine, owner, agent, make_customer, db
):
    owner.deploy("note_then_fail.bpmn")
    for round_number in range(ROUNDS):
        flaky_engine["fail"] = True
        customer = make_customer()
        failed = agent.start("note_then_fail", {"customer_id": customer.id})
        assert failed["status"] == "error"
        assert notes_of(db, customer.id) == ["first handler"]
        flaky_engine["fail"] = False
        url = f"/api/v1/process-instances/{failed['id']}/retry"
        results = together(poster(app, url, owner.headers), poster(app, url, owner.headers))
        assert sorted(status for status, _ in results) == [200, 409], (round_number, results)
        winner = next(body for status, body in results if status == 200)
        assert winner["status"] == "completed", winner
        assert notes_of(db, customer.id) == ["first handler", "second handler"]
        with db() as session:
            row = session.get(ProcessInstance, failed["id"])
            assert row is not None and row.status.value == "completed"
            assert [i.resolved_at is not None for i in row.incidents] == [True]


def test_completion_against_a_message_that_cancels_the_task(app, owner, agent, make_customer, db):
    owner.deploy("call_or_cancel.bpmn", "call-form.json")
    outcomes = set()
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        key = f"lead-{customer.id}"
        instance = agent.start("call_or_cancel", {"customer_id": customer.id}, business_key=key)
        task_id = instance["ready_tasks"][0]["id"]
        completed, message = together(
            completion(app, agent, task_id),
            poster(
                app,
                "/api/v1/messages",
                agent.headers,
                {"name": "call_cancelled", "business_key": key, "message_id": f"c-{key}"},
            ),
        )
        seen = agent.instance(instance["id"])
        assert seen["status"] == "completed", seen
        item = item_of(db, task_id)
        if completed[0] == 200:
            assert message[0] == 404, (round_number, completed, message)
            assert message[1]["error"]["code"] == "no_matching_instance"
            assert item.status.value == "completed"
            assert notes_of(db, customer.id) == ["Outcome: interested"]
        else:
            assert (completed[0], message[0]) == (409, 202), (round_number, completed, message)
            assert message[1]["delivered_to"] == [instance["id"]]
            assert item.status.value != "open"
            assert notes_of(db, customer.id) == ["Cancelled"]
        outcomes.add(completed[0])
        # The message repeated later is the first delivery's answer, nothing applies again.
        again = agent.post(
            "/api/v1/messages",
            json={"name": "call_cancelled", "business_key": key, "message_id": f"c-{key}"},
        )
        assert again.status_code == message[0]
        assert len(notes_of(db, customer.id)) == 1


def test_completion_against_its_boundary_timer_firing(timed: Timed, make_customer):
    db = timed.runtime.db.unit_of_work
    timed.owner.deploy("call_or_cancel.bpmn", "call-form.json")
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        instance = timed.agent.start("call_or_cancel", {"customer_id": customer.id})
        task_id = instance["ready_tasks"][0]["id"]
        timed.clock.advance(timedelta(hours=2))  # the one-hour timer is due; nobody fired it
        completed, fired = together(
            poster(
                timed.app,
                f"/api/v1/tasks/{task_id}/complete",
                timed.agent.headers,
                {"data": {"outcome": "interested"}},
            ),
            TimerLoop(timed.runtime).run_once,
        )
        seen = timed.agent.instance(instance["id"])
        assert seen["status"] == "completed", seen
        if completed[0] == 200:
            assert notes_of(db, customer.id) == ["Outcome: interested"], round_number
        else:
            assert (completed[0], fired) == (409, 1), (round_number, completed, fired)
            assert notes_of(db, customer.id) == ["Overdue"]
        assert TimerLoop(timed.runtime).run_once() == 0
        assert len(notes_of(db, customer.id)) == 1


def test_the_task_page_and_the_api_complete_the_same_task_at_once(
    app, owner, make_user, actor, make_customer, db
):
    make_user("agent", username="li", team="East", password=PASSWORD)
    colleague = actor("agent", username="agent_east2", team="East")
    owner.deploy("call_note.bpmn", "call-form.json")
    browser = app.test_client()
    assert sign_in(browser, "li").status_code == 302
    for round_number in range(ROUNDS):
        customer = make_customer()
        _instance_id, task_id = start_call(colleague, customer.id)
        token = csrf_token(browser.get(f"/tasks/{task_id}").text)

        def by_page(task_id: str = task_id, token: str = token) -> int:
            response = browser.post(
                f"/tasks/{task_id}", data={"field:outcome": "no_answer", "csrf_token": token}
            )
            return response.status_code

        page, api = together(
            by_page,
            completion(app, colleague, task_id),
        )
        assert sorted([{302: 200}.get(page, page), api[0]]) == [200, 409], (page, api)
        expected = "Outcome: no_answer" if page == 302 else "Outcome: interested"
        assert notes_of(db, customer.id) == [expected], round_number
        assert item_of(db, task_id).status.value == "completed"


def test_both_parallel_branches_completed_at_once(app, owner, agent, db):
    """Two tasks of one instance (both the starter's): the steps serialize on its row,
    neither is lost, the join runs once with both results."""
    owner.deploy("parallel_followup.bpmn")
    for round_number in range(ROUNDS):
        instance = agent.start("parallel_followup", {"customer_name": "x"})
        tasks = {t["name"]: t["id"] for t in instance["ready_tasks"]}
        email, call = together(
            poster(
                app,
                f"/api/v1/tasks/{tasks['send_email']}/complete",
                agent.headers,
                {"data": {"email_subject": "Brochure"}},
            ),
            poster(
                app,
                f"/api/v1/tasks/{tasks['call_back']}/complete",
                agent.headers,
                {"data": {"call_result": "reached"}},
            ),
        )
        assert (email[0], call[0]) == (200, 200), (round_number, email, call)
        done = agent.instance(instance["id"])
        assert done["status"] == "completed", done
        assert done["data"]["summary"] == "Brochure / reached"
        assert done["ready_tasks"] == []
        with db() as session:
            row = session.get(ProcessInstance, instance["id"])
            assert row is not None and row.step_count == 3


def test_completion_against_termination(app, owner, agent, actor, make_customer, db):
    manager = actor("manager", username="boss_east", team="East")
    owner.deploy("call_note.bpmn", "call-form.json")
    for round_number in range(ROUNDS):
        customer = make_customer()
        instance_id, task_id = start_call(agent, customer.id)
        completed, stopped = together(
            completion(app, agent, task_id),
            poster(app, f"/api/v1/process-instances/{instance_id}/terminate", manager.headers),
        )
        status = agent.instance(instance_id)["status"]
        if completed[0] == 200:
            assert stopped[0] == 409, (round_number, completed, stopped)
            assert status == "completed"
            assert notes_of(db, customer.id) == ["Outcome: interested"]
        else:
            assert (completed[0], stopped[0]) == (409, 200), (round_number, completed, stopped)
            assert status == "terminated"
            assert notes_of(db, customer.id) == []
            assert item_of(db, task_id).status.value != "open"


def test_a_retry_by_hand_against_the_automatic_retry(timed: Timed):
    """The scheduler's retry and a person's retry of the same incident: one runs the task."""
    from crm.models import Notification
    from crm.users import create_user

    timed.owner.deploy("notify_retry.bpmn")
    for round_number in range(ROUNDS):
        recipient = f"ghost{round_number}"
        failed = timed.owner.start("notify_retry", {"recipient": recipient})
        assert failed["status"] == "error"
        with timed.runtime.db.unit_of_work() as session:  # the cause is fixed meanwhile
            create_user(session, username=recipient, role="agent")
        timed.clock.advance(timedelta(seconds=11))  # the automatic retry is due
        url = f"/api/v1/process-instances/{failed['id']}/retry"
        by_hand, fired = together(
            poster(timed.app, url, timed.owner.headers), TimerLoop(timed.runtime).run_once
        )
        assert (by_hand[0], fired) in ((200, 0), (409, 1)), (round_number, by_hand, fired)
        done = timed.owner.instance(failed["id"])
        assert (done["status"], done["incidents"]) == ("completed", [])
        with timed.runtime.db.unit_of_work() as session:
            told = session.scalars(
                select(Notification).where(Notification.message == "新线索已分配给你")
            ).all()
        assert len(told) == round_number + 1


def test_the_same_message_id_starting_an_instance_twice_at_once(app, owner, db):
    owner.deploy("lead_arrives.bpmn")
    for round_number in range(ROUNDS):
        body = {
            "name": "new_lead",
            "business_key": f"lead-{round_number}",
            "message_id": f"web-form-{round_number}",
            "payload": {"name": "王磊"},
        }
        results = together(*(poster(app, "/api/v1/messages", owner.headers, body),) * 2)
        assert [status for status, _ in results] == [202, 202], results
        assert sorted(answer["duplicate"] for _, answer in results) == [False, True]
        assert results[0][1]["delivered_to"] == results[1][1]["delivered_to"]
        with db() as session:
            started = session.scalars(
                select(ProcessInstance.id).where(
                    ProcessInstance.business_key == f"lead-{round_number}"
                )
            ).all()
        assert started == results[0][1]["delivered_to"]


def test_starts_while_a_new_version_is_deployed(app, owner, agent, db):
    """Each start runs one whole version: its open task is that version's element."""
    owner.deploy("call_note.bpmn", "call-form.json")
    owner.deploy("call_note_renamed_task.bpmn", "call-form.json")  # version 2: "dial"
    start = poster(
        app, "/api/v1/process-instances", agent.headers, {"process_id": "call_note", "data": {}}
    )
    results = together(start, start, lambda: owner.upload("call_note_v2.bpmn", "call-form.json"))
    assert results[2].status_code == 201, results[2].get_json()  # version 3: "call" again
    assert [status for status, _ in results[:2]] == [201, 201], results
    element = {2: "dial", 3: "call"}
    for _status, instance in results[:2]:
        seen = agent.instance(instance["id"])
        assert [t["name"] for t in seen["ready_tasks"]] == [element[seen["version"]]], seen
        with db() as session:
            row = session.get(ProcessInstance, instance["id"])
            assert row is not None and row.version.version == seen["version"]


def test_the_kept_workflow_is_not_used_after_its_step_was_rolled_back(
    runtime, owner, agent, make_customer, db
):
    """A completion that saved (and kept its workflow) and then rolled back: the next
    completion starts from the stored state, not from the rolled-back one."""
    from engine.tasks import complete

    owner.deploy("call_note.bpmn", "call-form.json")
    customer = make_customer()
    _instance_id, task_id = start_call(agent, customer.id)
    before = item_of(db, task_id)
    with pytest.raises(RuntimeError), db() as session:
        user = session.merge(agent.user)
        complete(runtime.engine, session, task_id, {"outcome": "not_interested"}, actor=user)
        raise RuntimeError("the request failed after the step")
    assert item_of(db, task_id).status == before.status
    assert notes_of(db, customer.id) == []

    done = agent.complete_ok(task_id, {"outcome": "interested"})
    assert done["status"] == "completed"
    assert done["data"]["outcome"] == "interested"
    assert notes_of(db, customer.id) == ["Outcome: interested"]


def test_steps_of_one_instance_in_two_processes_alternate(settings, owner, agent, db):
    """Two runtimes (two processes' engines and kept workflows) take turns on one instance:
    each sees the other's step."""
    from web import create_app

    other = Runtime.build(settings)
    try:
        other_app = create_app({"TESTING": True}, runtime=other)
        owner.deploy("dialer_events.bpmn")
        instance = agent.start("dialer_events", {"expected": 4}, business_key="call-5")
        clients = [agent.client, other_app.test_client()]
        for seq in range(1, 5):
            response = clients[seq % 2].post(
                "/api/v1/messages",
                headers=agent.headers,
                json={"name": "call_event", "business_key": "call-5", "payload": {"seq": seq}},
            )
            assert response.status_code == 202, response.get_json()
        done = agent.instance(instance["id"])
        assert done["status"] == "completed"
        assert done["data"]["events"] == [1, 2, 3, 4]
    finally:
        other.close()


def test_eight_completions_of_one_task_at_once(app, owner, agent, actor, make_customer, db):
    from tests.engine.conftest import post_together

    people = [agent] + [actor("agent", username=f"east{n}", team="East") for n in range(7)]
    owner.deploy("call_note.bpmn", "call-form.json")
    for round_number in range(ROUNDS):
        customer = make_customer()
        _instance_id, task_id = start_call(agent, customer.id)
        results = post_together(
            app,
            f"/api/v1/tasks/{task_id}/complete",
            [(p.headers, {"data": {"outcome": "interested"}}) for p in people],
        )
        assert sorted(status for status, _ in results) == [200] + [409] * 7, (
            round_number,
            results,
        )
        assert notes_of(db, customer.id) == ["Outcome: interested"]


def test_a_step_beside_a_pending_automatic_retry_keeps_it(timed: Timed):
    """A branch failed and waits for its automatic retry; a person completes a task of the
    other branch meanwhile: the retry still comes when due."""
    from crm.models import Notification
    from crm.users import create_user

    timed.owner.deploy("notify_retry_beside_task.bpmn")
    started = timed.owner.start("notify_retry_beside_task", {"recipient": "ghost"})
    assert started["status"] == "error"
    [task] = started["ready_tasks"]
    retry_at = started["incidents"][0]["retry_at"]
    assert retry_at is not None

    timed.clock.advance(timedelta(seconds=5))
    halfway = timed.owner.complete_ok(task["id"])
    assert halfway["status"] == "error"
    assert [i["retry_at"] for i in halfway["incidents"]] == [retry_at]
    with timed.runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, started["id"])
        assert row is not None and row.next_due_at is not None
        assert row.next_due_at.isoformat() == retry_at
        create_user(session, username="ghost", role="agent")  # the cause is fixed meanwhile

    assert timed.advance(seconds=6) == 1  # the automatic retry, as scheduled
    done = timed.owner.instance(started["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])
    with timed.runtime.db.unit_of_work() as session:
        assert session.scalars(select(Notification.message)).all() == ["新线索已分配给你"]


def test_completion_against_a_migration_of_its_instance(app, owner, agent, make_customer, db):
    """Moved first, the task is completed on the new version; completed first, the move is
    refused: the note is the one of the version that ran the step."""
    owner.deploy("call_note.bpmn", "call-form.json")
    owner.deploy("call_note_v2.bpmn", "call-form.json")
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        instance = agent.start("call_note", {"customer_id": customer.id}, version=1)
        task_id = instance["ready_tasks"][0]["id"]
        completed, moved = together(
            completion(app, agent, task_id),
            poster(
                app,
                f"/api/v1/process-instances/{instance['id']}/migrate",
                owner.headers,
                {"to_version": 2},
            ),
        )
        seen = agent.instance(instance["id"])
        assert seen["status"] == "completed", (round_number, completed, moved)
        assert completed[0] == 200, (round_number, completed, moved)
        if moved[0] == 200:
            assert seen["version"] == 2
            assert notes_of(db, customer.id) == ["Result: interested"]
        else:
            assert moved[0] == 409, (round_number, completed, moved)
            assert seen["version"] == 1
            assert notes_of(db, customer.id) == ["Outcome: interested"]
