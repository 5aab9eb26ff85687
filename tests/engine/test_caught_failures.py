"""An interrupting error boundary event on a service or script task catches its failure."""

from __future__ import annotations

from typing import Any

import pytest

from crm.notes import add_note
from crm.users import create_user
from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.engine.conftest import DIAGRAMS, Actor, by_element, notes_of, only, refused

OUTAGE = {"down": True}


@pytest.fixture
def sms_engine(runtime: Runtime) -> ProcessEngine:
    """The runtime's engine with ``test.sms``: while the gateway is down it writes a note, then
    fails with the code it is given (none when empty)."""
    registry = build_registry()

    @registry.register("test.sms", "Send an SMS")
    def sms(ctx: HandlerContext, customer_id: int, code: str = "") -> dict[str, Any]:
        if not OUTAGE["down"]:
            return {"sent": True}
        add_note(ctx.session, customer_id, "half-sent SMS", actor=ctx.actor, scoped=False)
        raise HandlerError("the SMS gateway is down", code=code or None)

    OUTAGE["down"] = True
    engine = ProcessEngine(registry=registry, clock=runtime.clock)
    runtime._engine = engine
    return engine


def ready(instance: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in instance["ready_tasks"])


def test_a_catch_all_boundary_takes_a_failing_handler(owner, agent, db):
    owner.deploy("failure_caught.bpmn")
    started = agent.start("sms_or_call", {"recipient": "ghost"})
    assert (started["status"], started["incidents"]) == ("running", [])
    assert ready(started) == ["call_instead"]
    assert started["data"]["error_code"] is None
    assert started["data"]["error_message"] == "notify.user: no user 'ghost'"  # said once
    assert "told" not in started["data"]

    task = only(agent.tasks(), name="call_instead")
    done = agent.complete_ok(task["id"], {"reached": True})
    assert done["status"] == "completed"
    assert "ghost" in done["data"]["error_message"]

    # A handler that works takes the normal path.
    with db() as session:
        create_user(session, username="ghost", role="agent")
    fine = agent.start("sms_or_call", {"recipient": "ghost"})
    assert (fine["status"], ready(fine)) == ("completed", [])
    assert "error_message" not in fine["data"]


def test_a_coded_failure_goes_to_the_boundary_naming_its_code(
    sms_engine, owner, agent, make_customer, db
):
    owner.deploy("coded_failure.bpmn")
    customer = make_customer()
    coded = agent.start("coded_failure", {"customer_id": customer.id, "code": "GATEWAY_DOWN"})
    assert (coded["status"], coded["incidents"]) == ("running", [])
    assert ready(coded) == ["gateway_down"]  # only the coded path: not the catch-all's too
    assert coded["data"]["error_code"] == "GATEWAY_DOWN"
    assert coded["data"]["error_message"] == "test.sms: the SMS gateway is down"
    # The failed handler's note is undone; the task before it keeps its own.
    assert notes_of(db, customer.id) == ["before the SMS"]

    other = agent.start("coded_failure", {"customer_id": customer.id, "code": "QUOTA"})
    assert (other["status"], ready(other)) == ("running", ["other_failure"])
    assert other["data"]["error_code"] == "QUOTA"
    uncoded = agent.start("coded_failure", {"customer_id": customer.id, "code": ""})
    assert (uncoded["status"], ready(uncoded)) == ("running", ["other_failure"])
    assert uncoded["data"]["error_code"] is None
    assert notes_of(db, customer.id) == ["before the SMS"] * 3


def test_a_failure_no_boundary_catches_is_an_incident(sms_engine, owner, agent, make_customer, db):
    owner.deploy("coded_only.bpmn")
    customer = make_customer()
    failed = agent.start("coded_only", {"customer_id": customer.id, "code": "QUOTA"})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("send", "handler_error")
    assert ready(failed) == []
    assert notes_of(db, customer.id) == ["before the SMS"]

    OUTAGE["down"] = False  # the cause is fixed: a retry runs the normal path
    retried = owner.post(f"/api/v1/process-instances/{failed['id']}/retry")
    assert retried.status_code == 200
    assert (retried.get_json()["status"], retried.get_json()["incidents"]) == ("completed", [])


def test_the_boundary_takes_the_failure_only_after_the_retries(timed):
    owner, agent = timed.owner, timed.agent
    owner.deploy("failure_caught_after_retries.bpmn")
    started = agent.start("sms_retried", {"recipient": "nobody"})
    assert started["status"] == "error"
    assert [(i["attempts"], i["retry_at"] is not None) for i in started["incidents"]] == [(1, True)]
    assert timed.advance(seconds=11) == 1  # attempt 2 fails: still an incident
    second = owner.instance(started["id"])
    assert (second["status"], ready(second)) == ("error", [])
    assert [i["attempts"] for i in second["incidents"]] == [2]

    assert timed.advance(seconds=101) == 1  # attempt 3, the last: the boundary takes it
    caught = owner.instance(started["id"])
    assert (caught["status"], caught["incidents"]) == ("running", [])
    assert ready(caught) == ["call_instead"]
    assert "nobody" in caught["data"]["error_message"]
    assert timed.advance(days=1) == 0


def test_a_failing_script_goes_to_its_error_boundary(owner, agent):
    owner.deploy("script_caught.bpmn")
    coded = agent.start("script_caught", {"won": 3, "attempts": 0})
    assert (coded["status"], coded["incidents"]) == ("running", [])
    assert ready(coded) == ["first_call"]
    assert coded["data"]["error_code"] == "NO_ATTEMPTS"
    assert coded["data"]["error_message"] == "no call attempts yet"
    assert "ratio" not in coded["data"]

    broken = agent.start("script_caught", {"won": 3, "attempts": "many"})
    assert (broken["status"], broken["incidents"]) == ("running", [])
    assert ready(broken) == ["review"]
    assert broken["data"]["error_code"] is None
    assert broken["data"]["error_message"].startswith("TypeError")
    task = only(agent.tasks(), name="review")
    assert agent.complete_ok(task["id"])["status"] == "completed"

    fine = agent.start("script_caught", {"won": 3, "attempts": 4})
    assert (fine["status"], fine["data"]["ratio"]) == ("completed", 0.75)


def refused_on(owner: Actor, name: str, text: str) -> dict[str | None, str]:
    return by_element(refused(owner.upload(extra=[(name, text.encode())])))


def test_error_boundaries_on_tasks_that_throw_none_are_still_refused(owner):
    text = (DIAGRAMS / "failure_caught.bpmn").read_text()
    on_user_task = text.replace('attachedToRef="send_sms"', 'attachedToRef="call_instead"')
    problems = refused_on(owner, "on_user_task.bpmn", on_user_task)
    assert "userTask 'call_instead'" in problems["sms_failed"]
    assert "never throws" in problems["sms_failed"]

    escalation = text.replace(
        '<bpmn:errorEventDefinition id="any_error" />',
        '<bpmn:escalationEventDefinition id="any_escalation" />',
    )
    problems = refused_on(owner, "escalation.bpmn", escalation)
    assert "escalation on serviceTask 'send_sms'" in problems["sms_failed"]
