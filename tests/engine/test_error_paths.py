"""Errors and escalations as Camunda 7/8, Flowable, SpiffArena and bpmn.io draw them, end to
end through the API: what the catching path sees, and what the instance becomes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.engine.conftest import Actor, only

PATHS = "error_paths/"


def deploy(owner: Actor, name: str) -> None:
    owner.deploy(PATHS + name)


def open_tasks(actor: Actor, instance_id: int) -> list[dict[str, Any]]:
    return [task for task in actor.tasks() if task["process_instance_id"] == instance_id]


def test_an_error_event_subprocess_of_the_process_keeps_what_the_subprocess_set(owner, agent):
    """An error from inside an embedded subprocess, caught by the process's event subprocess:
    the run and the process after it keep what the agent entered in the subprocess (the run
    started from the data the subprocess began with, and the qualification was lost)."""
    deploy(owner, "dnc_event_subprocess.bpmn")
    started = agent.start("dnc_scope", {"lead": "Wang"})
    qualify = only(open_tasks(agent, started["id"]), name="Activity_qualify")
    caught = agent.complete_ok(qualify["id"], {"on_dnc_list": True, "reason": "asked twice"})
    assert caught["status"] == "running"
    close = only(open_tasks(agent, started["id"]), name="Activity_close_lead")
    assert close["title"] == "Close lead"
    done = agent.complete_ok(close["id"], {"closed": True})
    assert done["status"] == "completed"
    assert done["data"] == {
        "lead": "Wang",
        "on_dnc_list": True,
        "reason": "asked twice",
        "closed": True,
    }


def test_an_escalation_event_subprocess_run_sees_what_the_subprocess_set(owner, agent):
    """A non-interrupting escalation event subprocess of the process, reached from inside an
    embedded subprocess: the manager's review opens with the offer the agent drafted (it
    opened with the data the subprocess started with), and the offer goes on beside it."""
    deploy(owner, "late_offer_escalation.bpmn")
    started = agent.start("late_offer", {"customer": "Li"})
    draft = only(open_tasks(agent, started["id"]), name="draft")
    agent.complete_ok(draft["id"], {"price": 1200})
    tasks = open_tasks(agent, started["id"])
    assert sorted(task["name"] for task in tasks) == ["review", "send"]
    review = only(tasks, name="review")
    reviewed = agent.complete_ok(review["id"], {"approved": True})
    assert reviewed["data"]["price"] == 1200  # what the review's path holds
    send = only(open_tasks(agent, started["id"]), name="send")
    done = agent.complete_ok(send["id"], {"sent": True})
    assert done["status"] == "completed"
    assert done["data"] == {
        "customer": "Li",
        "starter": agent.username,
        "price": 1200,
        "approved": True,
        "sent": True,
    }


def test_camunda_7_error_code_and_message_variables_are_set_on_the_catching_path(owner, agent):
    """A catch-all error boundary event with ``camunda:errorCodeVariable`` and
    ``camunda:errorMessageVariable`` (refused before: "remove it"): its path finds the code of
    the error it took, and the message the ``<bpmn:error>`` declares (null without one); the
    agent's other task in the interrupted subprocess leaves the inbox and answers 409."""
    deploy(owner, "camunda7_caught_code.bpmn")
    for outcome, code, message in (
        ("dnc", "DNC", "Customer is on the do-not-call list"),
        ("wrong", "WRONG_NUMBER", None),
    ):
        started = agent.start("contact_lead_c7", {"outcome": outcome})
        tasks = open_tasks(agent, started["id"])
        talk = only(tasks, name="Activity_talk")
        caught = agent.complete_ok(only(tasks, name="Activity_check")["id"])
        assert (caught["status"], caught["incidents"]) == ("running", [])
        assert [task["name"] for task in caught["ready_tasks"]] == ["Activity_close"]
        assert [task["name"] for task in open_tasks(agent, started["id"])] == ["Activity_close"]
        late = agent.complete(talk["id"], {})
        assert (late.status_code, late.get_json()["error"]["code"]) == (409, "task_closed")
        close = only(open_tasks(agent, started["id"]), name="Activity_close")
        done = agent.complete_ok(close["id"])
        assert done["status"] == "completed"
        assert (done["data"]["failureCode"], done["data"]["failureMessage"]) == (code, message)


def test_camunda_7_error_variables_on_an_event_subprocess_take_a_script_failure(owner, agent):
    """An error event subprocess whose start names the variables takes a script's
    ``fail(code, message, data)`` with them set, beside the ``error_code`` and
    ``error_message`` every caught failure gives and the failure's data."""
    deploy(owner, "camunda7_failure_event_subprocess.bpmn")
    phone = "+8613800000000"
    blocked = agent.start("screen_lead_c7", {"phone": phone, "blocked": [phone]})
    assert (blocked["status"], blocked["incidents"]) == ("running", [])
    assert [task["name"] for task in blocked["ready_tasks"]] == ["Activity_close"]
    why = "number +8613800000000 is on the do-not-call list"
    assert (blocked["data"]["blockedCode"], blocked["data"]["blockedWhy"]) == ("DNC", why)
    assert blocked["data"]["blocked_number"] == phone  # fail()'s data
    assert "screened" not in blocked["data"]

    fine = agent.start("screen_lead_c7", {"phone": "+8613900000000", "blocked": []})
    assert [task["name"] for task in fine["ready_tasks"]] == ["Activity_call"]
    assert "blockedCode" not in fine["data"]


def test_an_error_payload_reaches_the_catch_without_a_variable_of_its_own(owner, agent):
    """SpiffArena's ``payloadExpression`` on an error: without a ``variableName`` its dict's
    fields reach the boundary event's path, and a catch-all (which names no error, so no
    variable) puts the payload in the variable the thrown error names. Both were dropped:
    the path got neither the payload nor the thrower's data."""
    deploy(owner, "spiffarena_error_payload.bpmn")
    refused = agent.start("consent_check", {"kind": "refused", "day": "Monday"})
    assert [task["name"] for task in refused["ready_tasks"]] == ["record_refusal"]
    assert refused["data"]["refusal"] == "customer said no on Monday"
    assert refused["data"]["channel"] == "sms"

    opted = agent.start("consent_check", {"kind": "opted", "day": "Tuesday"})
    assert [task["name"] for task in opted["ready_tasks"]] == ["record_opt_out"]
    assert opted["data"]["opt_out_reason"] == "customer said no on Tuesday"


def test_an_uncaught_error_says_which_catches_are_around_it_and_retry_cannot_help(owner, agent):
    """An error from a called process that the call activity's boundary event does not take
    (it catches another code): an incident on the error end event that names the catch
    around it and the code it takes (it named no catch, and an error declared without a name
    as "error None"); a retry answers 409, and the called process's other branch still runs.
    The catch's wait, its error named by no name, is named by its code (it was null)."""
    deploy(owner, "camunda8_uncaught_in_called.bpmn")
    started = agent.start("c8_offer", {})
    # the boundary event's error has no name: its wait is named by its code (it was null)
    assert started["waiting"] == [{"kind": "error", "name": "CREDIT_REFUSED"}]
    tasks = open_tasks(agent, started["id"])
    failed = agent.complete_ok(only(tasks, name="Activity_check_list")["id"])
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("Event_dnc", "uncaught_error")
    assert incident["message"] == (
        "an error (code 'DNC') is thrown here and nothing catches it: no boundary error event "
        "of an enclosing subprocess or calling call activity, and no error event subprocess "
        "around it, takes it (around it: 'Event_credit' takes code 'CREDIT_REFUSED' only); "
        "add one, or end the path with a plain end event."
    )
    retried = owner.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert (retried.status_code, retried.get_json()["error"]["code"]) == (409, "retry_cannot_help")
    credit = agent.complete_ok(only(tasks, name="Activity_check_credit")["id"])
    assert (credit["status"], len(credit["incidents"])) == ("error", 1)


@pytest.fixture
def dnc_engine(runtime: Runtime) -> ProcessEngine:
    """The runtime's engine with ``test.dnc_screen``: customer 13 is on the do-not-call list,
    a business error with the date they asked and the channel (a date, as a handler has it)."""
    registry = build_registry()

    @registry.register("test.dnc_screen", "Screen a number against the do-not-call list")
    def dnc_screen(ctx: HandlerContext, customer_id: int) -> dict[str, Any]:
        if customer_id == 13:
            raise HandlerError(
                "customer 13 is on the do-not-call list",
                code="DNC",
                data={"dnc_since": date(2026, 3, 1), "dnc_channel": "phone"},
            )
        return {"screened": True}

    engine = ProcessEngine(registry=registry, clock=runtime.clock)
    runtime._engine = engine
    return engine


def test_a_handlers_business_error_gives_its_data_to_the_catching_path(dnc_engine, owner, agent):
    """A handler's ``HandlerError(code=…, data=…)``, as a Camunda 8 job worker's error with
    variables: the error boundary event's path gets the data with the code and message, on
    the task itself and across a call activity (where the called process's own data stays
    its own). The data was not passed: the path could tell only the code and message."""
    deploy(owner, "camunda8_job_error_data.bpmn")
    blocked = agent.start("c8_dnc_lead", {"customer_id": 13})
    assert (blocked["status"], blocked["incidents"]) == ("running", [])
    assert [task["name"] for task in blocked["ready_tasks"]] == ["Activity_close"]
    assert {k: blocked["data"][k] for k in ("error_code", "dnc_since", "dnc_channel")} == {
        "error_code": "DNC",
        "dnc_since": "2026-03-01",
        "dnc_channel": "phone",
    }
    fine = agent.start("c8_dnc_lead", {"customer_id": 7})
    assert [task["name"] for task in fine["ready_tasks"]] == ["Activity_call"]
    assert "dnc_since" not in fine["data"]

    called = agent.start("c8_dnc_caller", {"customer_id": 13})
    assert [task["name"] for task in called["ready_tasks"]] == ["Activity_close_called"]
    assert called["data"] == {
        "customer_id": 13,
        "error_code": "DNC",
        "error_message": "test.dnc_screen: customer 13 is on the do-not-call list",
        "dnc_since": "2026-03-01",
        "dnc_channel": "phone",
    }


def test_a_camunda_8_error_code_expression_is_computed_when_thrown(owner, agent):
    """Camunda 8's ``errorCode="=rejection"`` on an error only an end event throws: the code
    is the variable's value when the event is reached, and the boundary event naming that
    code takes it (refused before: "Dialflow evaluates no expression there"). A code that is
    null fails the end event; the retry with the value computes it again."""
    deploy(owner, "camunda8_computed_code.bpmn")
    for rejection, path in (("DNC", "Activity_close"), ("CREDIT", "Activity_deposit")):
        started = agent.start("c8_computed", {})
        review = only(open_tasks(agent, started["id"]), name="Activity_review")
        caught = agent.complete_ok(review["id"], {"rejected": True, "rejection": rejection})
        assert (caught["status"], caught["incidents"]) == ("running", [])
        assert [task["name"] for task in caught["ready_tasks"]] == [path]

    started = agent.start("c8_computed", {})
    review = only(open_tasks(agent, started["id"]), name="Activity_review")
    failed = agent.complete_ok(review["id"], {"rejected": True, "rejection": None})
    [incident] = failed["incidents"]
    assert incident["element_id"] == "Event_rejected"
    assert "the errorCode of error 'Rejected' computes to null (rejection)" in incident["message"]
    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry", json={"data": {"rejection": "DNC"}}
    )
    assert retried.status_code == 200, retried.get_json()
    assert [task["name"] for task in retried.get_json()["ready_tasks"]] == ["Activity_close"]


def test_a_flowable_error_ref_naming_no_error_is_its_code(owner, agent):
    """Flowable's (and Activiti's) shortcut: an ``errorRef`` naming no ``<error>`` of the
    file is the error code itself. Such a file deploys and each code takes its own boundary
    event's path (both events were refused: "names no <bpmn:error> of this file"), and
    ``flowable:errorVariableName`` holds the code caught (refused: "remove it")."""
    deploy(owner, "flowable_error_ref_as_code.bpmn")
    for result, path in (("dnc", "close"), ("wrong", "fix_number"), ("fine", None)):
        started = agent.start("flowable_screen", {})
        check = only(open_tasks(agent, started["id"]), name="check")
        after = agent.complete_ok(check["id"], {"result": result})
        assert after["incidents"] == []
        assert [task["name"] for task in after["ready_tasks"]] == ([path] if path else [])
        if path == "fix_number":
            assert after["data"]["screening_error"] == "WRONG_NUMBER"


def test_a_computed_code_no_catch_takes_is_retried_with_the_data_fixed(owner, agent):
    """A computed code that no catch takes: the incident says the code as computed and the
    codes the catches around take; unlike a fixed code nothing catches, a retry with other
    data computes it again, and the catch of the new code takes it."""
    deploy(owner, "camunda8_computed_code.bpmn")
    started = agent.start("c8_computed", {})
    review = only(open_tasks(agent, started["id"]), name="Activity_review")
    failed = agent.complete_ok(review["id"], {"rejected": True, "rejection": "FRAUD"})
    [incident] = failed["incidents"]
    assert incident["element_id"] == "Event_rejected"
    assert incident["message"].startswith(
        "error 'Rejected' (code 'FRAUD') is thrown here and nothing catches it"
    )
    assert (
        "'Event_dnc' takes code 'DNC' only, 'Event_credit' takes code 'CREDIT' only"
        in (incident["message"])
    )
    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry", json={"data": {"rejection": "CREDIT"}}
    )
    assert retried.status_code == 200, retried.get_json()
    assert [task["name"] for task in retried.get_json()["ready_tasks"]] == ["Activity_deposit"]
