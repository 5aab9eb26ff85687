"""A failing service or script task: taken by the nearest error catch around it, or an incident."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.models import AuditEntry
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
    fails with the code it is given (none when empty); and ``test.sms_each``, which notes an
    SMS sent to each customer but the ``failing`` one, where it notes half an SMS and fails."""
    registry = build_registry()

    @registry.register("test.sms_each", "Send an SMS to one of several")
    def sms_each(ctx: HandlerContext, customer_id: int, failing: int) -> dict[str, Any]:
        if customer_id != failing:
            add_note(ctx.session, customer_id, "SMS sent", actor=ctx.actor, scoped=False)
            return {"sent": True}
        add_note(ctx.session, customer_id, "half-sent SMS", actor=ctx.actor, scoped=False)
        raise HandlerError("no SMS for this one", code="BLOCKED")

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
    [entry] = caught_entries(db, coded["id"])
    assert {k: v for k, v in entry.items() if k != "task_id"} == {
        "element_id": "send",
        "error_code": "GATEWAY_DOWN",
        "error_message": "test.sms: the SMS gateway is down",
        "caught_by": ["down"],
    }

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


def test_an_event_subprocess_takes_the_failure_only_after_the_retries(timed, db):
    owner, agent = timed.owner, timed.agent
    owner.deploy("failure_event_subprocess_after_retries.bpmn")
    started = agent.start("sms_retried_scope", {"recipient": "nobody"})
    assert started["status"] == "error"
    assert [(i["attempts"], i["retry_at"] is not None) for i in started["incidents"]] == [(1, True)]
    assert caught_entries(db, started["id"]) == []

    assert timed.advance(seconds=11) == 1  # attempt 2, the last: the event subprocess takes it
    caught = owner.instance(started["id"])
    assert (caught["status"], caught["incidents"]) == ("running", [])
    assert ready(caught) == ["call_instead"]
    assert "nobody" in caught["data"]["error_message"]
    assert [e["caught_by"] for e in caught_entries(db, started["id"])] == [["failure_start"]]
    task = only(agent.tasks(), name="call_instead")
    assert agent.complete_ok(task["id"])["status"] == "completed"


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


def caught_entries(db: Any, instance_id: int) -> list[dict[str, Any]]:
    """The audit log's caught failures of one instance, oldest first."""
    with db() as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.action == "failure_caught",
                AuditEntry.entity_type == "process_instance",
                AuditEntry.entity_id == str(instance_id),
            )
            .order_by(AuditEntry.id)
        ).all()
        return [entry.after for entry in entries]


def test_a_subprocess_boundary_takes_a_failure_inside_it(
    sms_engine, owner, agent, make_customer, db
):
    owner.deploy("failure_in_subprocess.bpmn")
    customer = make_customer()
    down = agent.start("failure_in_subprocess", {"customer_id": customer.id, "code": "DOWN"})
    assert (down["status"], down["incidents"]) == ("running", [])
    assert ready(down) == ["call_instead"]
    # what the subprocess set before the task ran comes along, with the failure
    assert down["data"]["prepared"] is True
    assert (down["data"]["error_code"], down["data"]["error_message"]) == (
        "DOWN",
        "test.sms: the SMS gateway is down",
    )
    assert "sms" not in down["data"]
    assert notes_of(db, customer.id) == []  # the failed handler's note is undone
    [entry] = caught_entries(db, down["id"])
    assert {k: v for k, v in entry.items() if k != "task_id"} == {
        "element_id": "send",
        "error_code": "DOWN",
        "error_message": "test.sms: the SMS gateway is down",
        "caught_by": ["outreach_failed"],
    }
    task = only(agent.tasks(), name="call_instead")
    assert agent.complete_ok(task["id"])["status"] == "completed"

    # the boundary on the task itself is nearer than the subprocess's
    quota = agent.start("failure_in_subprocess", {"customer_id": customer.id, "code": "QUOTA"})
    assert (quota["status"], ready(quota)) == ("running", ["quota_hit"])
    assert [e["caught_by"] for e in caught_entries(db, quota["id"])] == [["quota"]]
    task = only(agent.tasks(), name="quota_hit")
    done = agent.complete_ok(task["id"])  # on through the subprocess, which ends
    assert (done["status"], done["data"]["error_code"]) == ("completed", "QUOTA")


def test_error_event_subprocesses_take_failures_in_their_scope(
    sms_engine, owner, agent, make_customer, db
):
    owner.deploy("failure_event_subprocess.bpmn")
    customer = make_customer()

    def start(code: str) -> dict[str, Any]:
        return agent.start("failure_event_subprocess", {"customer_id": customer.id, "code": code})

    # the subprocess's own event subprocess is the nearest scope's
    quota = start("QUOTA")
    assert (quota["status"], quota["incidents"]) == ("running", [])
    assert ready(quota) == ["quota_hit"]
    assert [e["caught_by"] for e in caught_entries(db, quota["id"])] == [["quota_start"]]
    task = only(agent.tasks(), name="quota_hit")
    after = agent.complete_ok(task["id"])  # the subprocess ends after its run; the path goes on
    assert (after["status"], ready(after)) == ("running", ["follow_up"])
    assert after["data"]["error_code"] == "QUOTA"
    assert "sms" not in after["data"]

    # at the process level the coded one wins over the catch-all
    down = start("GATEWAY_DOWN")
    assert (down["status"], ready(down)) == ("running", ["gateway_down"])
    assert down["data"]["error_message"] == "test.sms: the SMS gateway is down"
    assert [e["caught_by"] for e in caught_entries(db, down["id"])] == [["down_start"]]
    task = only(agent.tasks(), name="gateway_down")
    assert agent.complete_ok(task["id"])["status"] == "completed"  # interrupting: it ends

    for code, expected in (("OTHER", "OTHER"), ("", None)):
        other = start(code)
        assert (other["status"], ready(other)) == ("running", ["other_failure"])
        assert other["data"]["error_code"] == expected
        assert [e["error_code"] for e in caught_entries(db, other["id"])] == [expected]
    # each failed handler's note undone, the task before it keeps its own
    assert notes_of(db, customer.id) == ["before the SMS"] * 4


def test_a_call_activity_boundary_takes_a_failure_its_process_leaves(owner, agent, db):
    owner.deploy("failure_in_called_process.bpmn")
    refused_call = agent.start("calls_scoring", {"code": "REFUSED", "attempts": 1})
    assert (refused_call["status"], refused_call["incidents"]) == ("running", [])
    assert ready(refused_call) == ["score_by_hand"]
    assert refused_call["data"]["error_code"] == "REFUSED"
    assert refused_call["data"]["error_message"] == "scoring refused: REFUSED"
    assert "looked_up" not in refused_call["data"]  # the called process's data stays its own
    [entry] = caught_entries(db, refused_call["id"])
    assert (entry["element_id"], entry["caught_by"]) == ("score", ["scoring_failed"])

    broken = agent.start("calls_scoring", {"code": "", "attempts": 0})
    assert (broken["status"], ready(broken)) == ("running", ["score_by_hand"])
    assert broken["data"]["error_code"] is None
    assert broken["data"]["error_message"].startswith("ZeroDivisionError")

    # the called process's own catch is nearer
    quota = agent.start("calls_scoring", {"code": "QUOTA", "attempts": 1})
    assert (quota["status"], ready(quota)) == ("running", ["no_quota_left"])
    assert [e["caught_by"] for e in caught_entries(db, quota["id"])] == [["quota"]]
    task = only(agent.tasks(), name="no_quota_left")
    assert agent.complete_ok(task["id"])["status"] == "completed"

    fine = agent.start("calls_scoring", {"code": "", "attempts": 4})
    assert (fine["status"], fine["incidents"]) == ("completed", [])


def test_a_failure_no_catch_around_takes_stays_an_incident(
    sms_engine, owner, agent, make_customer, db
):
    text = (DIAGRAMS / "failure_in_subprocess.bpmn").read_text()
    coded = text.replace(
        '<bpmn:error id="err_any" name="Any failure" />',
        ('<bpmn:error id="err_any" name="Down" errorCode="DOWN" />'),
    )
    response = owner.upload(extra=[("failure_in_subprocess.bpmn", coded.encode())])
    assert response.status_code in (200, 201), response.get_json()
    customer = make_customer()
    failed = agent.start("failure_in_subprocess", {"customer_id": customer.id, "code": "OTHER"})
    assert (failed["status"], ready(failed)) == ("error", [])
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("send", "handler_error")
    assert caught_entries(db, failed["id"]) == []
    assert notes_of(db, customer.id) == []

    OUTAGE["down"] = False  # the cause is fixed: a retry runs the normal path
    retried = owner.post(f"/api/v1/process-instances/{failed['id']}/retry")
    assert retried.status_code == 200
    assert (retried.get_json()["status"], retried.get_json()["incidents"]) == ("completed", [])


@pytest.mark.parametrize(
    ("diagram", "sequential", "failed_at", "caught_by"),
    [
        ("failure_multi_instance", False, "send_each", "sms_failed"),
        ("failure_multi_instance", True, "send_each", "sms_failed"),
        ("failure_multi_instance_subprocess", False, "send_one", "outreach_failed"),
        ("failure_multi_instance_subprocess", True, "send_one", "outreach_failed"),
    ],
)
def test_a_multi_instance_boundary_takes_a_failing_instance(
    sms_engine, owner, agent, make_customer, db, diagram, sequential, failed_at, caught_by
):
    """A failing instance of a multi-instance service task (or of a task inside a
    multi-instance subprocess) is caught by the activity's error boundary event: the
    instances not yet run are cancelled with it, the ones that ran keep their writes."""
    text = (DIAGRAMS / f"{diagram}.bpmn").read_text()
    if sequential:
        text = text.replace('isSequential="false"', 'isSequential="true"')
    response = owner.upload(extra=[(f"{diagram}.bpmn", text.encode())])
    assert response.status_code in (200, 201), response.get_json()
    first, second, third = make_customer(), make_customer(), make_customer()
    started = agent.start(
        diagram, {"customers": [first.id, second.id, third.id], "failing": second.id}
    )
    assert (started["status"], started["incidents"]) == ("running", [])
    assert ready(started) == ["call_instead"]
    assert started["data"]["error_code"] == "BLOCKED"
    assert started["data"]["error_message"] == "test.sms_each: no SMS for this one"
    # the first instance ran; the failing one's note is undone; the third never ran
    assert notes_of(db, first.id) == ["SMS sent"]
    assert notes_of(db, second.id) == notes_of(db, third.id) == []
    [entry] = caught_entries(db, started["id"])
    assert (entry["element_id"], entry["caught_by"]) == (failed_at, [caught_by])
    task = only(agent.tasks(), name="call_instead")
    assert agent.complete_ok(task["id"])["status"] == "completed"

    fine = agent.start(diagram, {"customers": [first.id, third.id], "failing": second.id})
    assert (fine["status"], fine["incidents"]) == ("completed", [])


def test_a_loop_activity_boundary_takes_a_failing_pass(owner, agent, db):
    owner.deploy("failure_loop.bpmn")
    stopped = agent.start("failure_loop", {"passes": 0, "stop_at": 3})
    assert (stopped["status"], stopped["incidents"]) == ("running", [])
    assert ready(stopped) == ["review"]
    assert stopped["data"]["passes"] == 2  # the passes that ended; the third failed
    assert (stopped["data"]["error_code"], stopped["data"]["error_message"]) == (
        "STOP",
        "stopped at pass 3",
    )
    [entry] = caught_entries(db, stopped["id"])
    assert (entry["element_id"], entry["caught_by"]) == ("dial_pass", ["stopped"])

    fine = agent.start("failure_loop", {"passes": 0, "stop_at": 9})
    assert (fine["status"], fine["data"]["passes"]) == ("completed", 5)


def test_a_catch_all_boundary_takes_a_parameter_reading_a_missing_variable_by_its_name(
    owner, agent
):
    """The path's ``error_message`` is what the incident would say, naming the parameter, the
    operator and what the data has; it was SpiffWorkflow's "Error evaluating expression
    'recipient'. Did you mean 'customer_id'?"."""
    owner.deploy("failure_caught.bpmn")
    started = agent.start("sms_or_call", {"customer_id": 1})
    assert (started["status"], started["incidents"]) == ("running", [])
    assert ready(started) == ["call_instead"]
    assert started["data"]["error_message"] == (
        "parameter 'user' of notify.user reads 'recipient', and the instance's data has no "
        "'recipient' (it has customer_id); start the instance with it, or set it in a task "
        "before this one."
    )
