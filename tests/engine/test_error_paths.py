"""Errors and escalations as Camunda 7/8, Flowable, SpiffArena and bpmn.io draw them, end to
end through the API: what the catching path sees, and what the instance becomes."""

from __future__ import annotations

from typing import Any

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
    ``fail(code, message)`` with them set, beside the ``error_code`` and ``error_message``
    every caught failure gives."""
    deploy(owner, "camunda7_failure_event_subprocess.bpmn")
    phone = "+8613800000000"
    blocked = agent.start("screen_lead_c7", {"phone": phone, "blocked": [phone]})
    assert (blocked["status"], blocked["incidents"]) == ("running", [])
    assert [task["name"] for task in blocked["ready_tasks"]] == ["Activity_close"]
    why = "number +8613800000000 is on the do-not-call list"
    assert (blocked["data"]["blockedCode"], blocked["data"]["blockedWhy"]) == ("DNC", why)
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
