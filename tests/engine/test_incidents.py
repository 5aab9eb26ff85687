"""Failures at run time become incidents; retry re-runs the failed task after a fix."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Notification
from crm.notes import add_note
from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.engine.conftest import Actor, notes_of, only


def retry(owner: Actor, instance_id: int) -> Any:
    return owner.post(f"/api/v1/process-instances/{instance_id}/retry")


def test_script_error_is_an_incident(owner, agent):
    owner.deploy("ratio_calc.bpmn")
    failed = agent.start("ratio_calc", {"won": 3, "attempts": 0})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "compute_ratio"
    assert incident["kind"] == "script_error"
    assert "division by zero" in incident["message"]
    assert incident["line"] == 2
    assert incident["attempts"] == 1
    assert failed["data"]["won"] == 3
    assert "ratio" not in failed["data"]
    listed = agent.get("/api/v1/process-instances?status=error").get_json()
    assert [i["id"] for i in listed["items"]] == [failed["id"]]

    # Nothing outside changed, so a retry fails the same way and counts the attempt.
    again = retry(owner, failed["id"])
    assert again.status_code == 200
    body = again.get_json()
    assert body["status"] == "error"
    assert [(i["element_id"], i["attempts"]) for i in body["incidents"]] == [("compute_ratio", 2)]

    fine = agent.start("ratio_calc", {"won": 3, "attempts": 4})
    assert (fine["status"], fine["data"]["ratio"]) == ("completed", 0.75)


def test_retry_after_the_cause_was_fixed(owner, agent, make_customer, make_user, db):
    owner.deploy("welcome_newhire.bpmn")
    customer = make_customer()
    failed = agent.start("welcome_newhire", {"customer_id": customer.id, "new_owner": "liwei"})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "tell_new_owner"
    assert incident["kind"] == "handler_error"
    assert "no user 'liwei'" in incident["message"]
    # The note handler before it ran in the same step; its write is kept.
    assert notes_of(db, customer.id) == ["Handed over to liwei"]
    assert failed["data"]["note"]["note_id"] > 0

    assert retry(agent, failed["id"]).status_code == 403  # agents do not retry

    newhire = make_user("agent", username="liwei")
    fixed = retry(owner, failed["id"])
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert body["status"] == "completed"
    assert body["incidents"] == []
    assert notes_of(db, customer.id) == ["Handed over to liwei"]  # not written twice
    with db() as session:
        [notification] = session.scalars(select(Notification)).all()
    assert notification.user_id == newhire.id
    assert notification.message == f"You now own customer {customer.id}"

    done_already = retry(owner, failed["id"])
    assert done_already.status_code == 409
    assert done_already.get_json()["error"]["code"] == "instance_conflict"


def test_retry_without_incident_is_409(owner, agent):
    owner.deploy("parallel_followup.bpmn")
    running = agent.start("parallel_followup", {"customer_name": "x"})
    response = retry(owner, running["id"])
    assert response.status_code == 409
    assert retry(owner, 999_999).status_code == 404


def test_gateway_without_a_true_condition(owner, agent):
    owner.deploy("route_by_channel.bpmn")
    assert agent.start("route_by_channel", {"channel": "phone"})["status"] == "completed"
    failed = agent.start("route_by_channel", {"channel": "fax"})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "channel_gateway"
    assert incident["kind"] == "gateway_error"
    assert "channel_gateway" in incident["message"]

    # A condition that cannot be evaluated is the gateway's incident too.
    unknown = agent.start("route_by_channel", {})
    [incident] = unknown["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("channel_gateway", "gateway_error")
    assert "channel" in incident["message"]


@pytest.fixture
def failing_engine(runtime: Runtime) -> ProcessEngine:
    """The runtime's engine with one more handler: writes a note, then fails."""
    registry = build_registry()

    @registry.register("test.note_then_fail", "Write a note, then fail")
    def note_then_fail(ctx: HandlerContext, customer_id: int) -> dict[str, Any]:
        add_note(ctx.session, customer_id, "half-done work", actor=ctx.actor, scoped=False)
        raise HandlerError("the remote system said no")

    engine = ProcessEngine(registry=registry, clock=runtime.clock)
    runtime._engine = engine
    return engine


def test_failed_handler_writes_are_undone_earlier_ones_kept(
    failing_engine, owner, agent, make_customer, db
):
    owner.deploy("note_then_fail.bpmn")
    customer = make_customer()
    failed = agent.start("note_then_fail", {"customer_id": customer.id})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "half_done"
    assert "the remote system said no" in incident["message"]
    assert notes_of(db, customer.id) == ["first handler"]

    # Each retry undoes its own partial write again.
    assert retry(owner, failed["id"]).get_json()["status"] == "error"
    assert notes_of(db, customer.id) == ["first handler"]


def test_handler_crash_is_an_incident_not_a_500(failing_engine, owner, agent, make_customer):
    """A service task on a customer that is gone: the handler raises NotFound inside."""
    owner.deploy("welcome_newhire.bpmn")
    failed = agent.start("welcome_newhire", {"customer_id": 987654, "new_owner": "x"})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "note_handover"
    assert "987654" in incident["message"]


def test_script_values_the_state_can_or_cannot_keep(owner, agent):
    owner.deploy("script_values.bpmn")
    fine = agent.start("script_values", {"raw": ""})
    assert fine["status"] == "running", fine["incidents"]
    assert fine["data"]["meeting_day"] == "2024-05-17"
    assert fine["data"]["tags"] == ["east", "vip"]
    # Dates, datetimes and durations survive the round trip through the stored state.
    done = agent.complete_ok(fine["ready_tasks"][0]["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["weekday"] == 5
    assert done["data"]["reminder_utc"] == "2024-05-16T01:00:00+00:00"
    assert done["data"]["wait_minutes"] == 120

    # Bytes cannot be stored: an incident on the script, not a failed request.
    failed = agent.start("script_values", {"raw": "abc"})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "compute"
    assert "'payload'" in incident["message"]
    assert "meeting_day" not in failed["data"]


def test_retry_inside_a_called_process(owner, agent, make_customer, make_user, db):
    owner.deploy("welcome_newhire.bpmn")
    owner.deploy("handover_caller.bpmn")
    customer = make_customer()
    failed = agent.start("handover_caller", {"customer_id": customer.id, "new_owner": "zhao"})
    assert failed["status"] == "error"
    assert [i["element_id"] for i in failed["incidents"]] == ["tell_new_owner"]

    make_user("agent", username="zhao")
    fixed = retry(owner, failed["id"]).get_json()
    assert fixed["status"] == "completed", fixed["incidents"]
    assert fixed["data"]["handed_over"] is True
    assert notes_of(db, customer.id) == ["Handed over to zhao"]


def test_incident_after_a_completed_form(owner, agent, actor, make_customer, db):
    owner.deploy("crm_services.bpmn", "outcome-form.json")
    customer = make_customer()
    instance = agent.start("crm_services", {"customer_id": customer.id, "manager_username": "boss"})
    task = instance["ready_tasks"][0]["id"]
    failed = agent.complete_ok(
        task, {"disposition": "connected_other", "duration_s": 30, "amount": 500}
    )
    assert failed["status"] == "error"
    assert [i["element_id"] for i in failed["incidents"]] == ["tell_manager"]
    assert failed["ready_tasks"] == []
    assert agent.complete(task, {"disposition": "no_answer"}).status_code == 409

    actor("manager", username="boss")
    fixed = retry(owner, failed["id"]).get_json()
    assert fixed["status"] == "completed", fixed["incidents"]
    with db() as session:
        assert len(session.scalars(select(Notification)).all()) == 1
    assert len(notes_of(db, customer.id)) == 1  # the earlier handlers did not run again


def test_a_failed_branch_stops_only_its_own_path(owner, agent):
    """Two scripts fail side by side: an incident each, and the third branch's task opens
    all the same. A retry runs both again; the instance ends once all three are through."""
    owner.deploy("two_failing_branches.bpmn")
    data = {"won": 1, "calls": 0, "reached": 2, "dialled": 0}
    failed = agent.start("two_failing_branches", data)
    assert failed["status"] == "error"
    assert sorted(i["element_id"] for i in failed["incidents"]) == ["reach", "win_rate"]
    assert all("division by zero" in i["message"] for i in failed["incidents"])
    review = only(failed["ready_tasks"], name="review")
    assert [t["id"] for t in agent.tasks()] == [review["id"]]

    finished = agent.complete_ok(review["id"])  # the branch is done; the instance still failed
    assert finished["status"] == "error" and len(finished["incidents"]) == 2

    again = retry(owner, failed["id"]).get_json()
    assert sorted((i["element_id"], i["attempts"]) for i in again["incidents"]) == [
        ("reach", 2),
        ("win_rate", 2),
    ]


def test_failed_instances_of_a_parallel_multi_instance_task_wait_for_a_retry(
    owner, agent, make_user, db
):
    """Two of three parallel notifications fail while the lead is called. Completing the call
    leaves the instance in error with both incidents (the failed instances sit below the
    running multi-instance task), and a retry once the users exist finishes it."""
    owner.deploy("notify_each_beside_call.bpmn")
    owners = ["ghost_a", "agent_east", "ghost_b"]
    started = agent.start("notify_each_beside_call", {"owners": owners})
    assert started["status"] == "error"
    assert [i["element_id"] for i in started["incidents"]] == ["tell", "tell"]
    call = only(started["ready_tasks"], name="call")

    called = agent.complete_ok(call["id"])
    assert called["status"] == "error"
    assert [i["id"] for i in called["incidents"]] == [i["id"] for i in started["incidents"]]

    make_user("agent", username="ghost_a")
    make_user("agent", username="ghost_b")
    done = retry(owner, started["id"])
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["status"], done.get_json()["incidents"]) == ("completed", [])
    with db() as session:
        assert len(session.scalars(select(Notification)).all()) == 3  # each owner once


def test_a_terminate_end_in_another_branch_ends_an_instance_in_error(owner, agent):
    """The lead is closed while its score failed: the terminate end event ends the instance,
    its incident closes, and the failed script is not run again after the end."""
    owner.deploy("terminate_beside_failure.bpmn")
    started = agent.start("terminate_beside_failure", {"won": 1, "calls": 0})
    assert started["status"] == "error"
    close = only(started["ready_tasks"], name="close")

    closed = agent.complete_ok(close["id"])
    assert (closed["status"], closed["incidents"]) == ("completed", [])
    assert closed["ended_at"] is not None
    assert retry(owner, started["id"]).status_code == 409
    listed = owner.get("/api/v1/process-instances?status=error").get_json()
    assert listed["items"] == []


def test_a_caught_bpmn_error_beside_a_failed_branch_is_no_incident(owner, agent):
    """The check ends in a BPMN error its boundary event catches, beside a script that fails:
    only the script is an incident, and the caught error's path opens its task."""
    owner.deploy("check_beside_score.bpmn")
    started = agent.start("check_beside_score", {"won": 1, "calls": 0, "amount": -1})
    assert started["status"] == "error"
    assert [i["element_id"] for i in started["incidents"]] == ["score"]
    fix = only(started["ready_tasks"], name="fix_amount")
    fixed = agent.complete_ok(fix["id"])
    assert (fixed["status"], fixed["incidents"]) == ("error", started["incidents"])


def test_a_retry_where_one_failed_branch_now_succeeds(owner, agent, make_user, db):
    """Both branches failed; after the user exists a retry gets the handler through, while the
    script fails again as its second attempt, alone."""
    owner.deploy("notify_retry_beside_script.bpmn")
    data = {"recipient": "ghost", "won": 1, "calls": 0}
    started = agent.start("notify_retry_beside_script", data)
    assert sorted(i["element_id"] for i in started["incidents"]) == ["score", "tell"]

    make_user("agent", username="ghost")
    again = retry(owner, started["id"]).get_json()
    assert again["status"] == "error"
    assert [(i["element_id"], i["attempts"]) for i in again["incidents"]] == [("score", 2)]
    assert again["data"]["told"]["notification_id"] > 0
    with db() as session:
        assert len(session.scalars(select(Notification)).all()) == 1


def test_failures_in_a_subprocess_and_a_called_process_beside_a_user_task(owner, agent):
    """A script fails inside an embedded subprocess, another inside a called process; the
    caller's third branch opens its task, its completion keeps both incidents, a retry runs
    both again."""
    owner.deploy("subprocess_beside_call.bpmn")
    data = {"won": 1, "calls": 0, "reached": 1, "dialled": 0}
    started = agent.start("subprocess_beside_call", data)
    assert sorted(i["element_id"] for i in started["incidents"]) == ["rate", "score"]
    call = only(started["ready_tasks"], name="call")

    called = agent.complete_ok(call["id"])
    assert (called["status"], called["incidents"]) == ("error", started["incidents"])
    again = retry(owner, started["id"]).get_json()
    assert sorted((i["element_id"], i["attempts"]) for i in again["incidents"]) == [
        ("rate", 2),
        ("score", 2),
    ]


def test_an_inclusive_join_waits_for_a_failed_branch(owner, agent, make_user):
    """Both channels are scored; the phone branch's handler fails. The join does not go on
    with the mail branch alone: the review opens once the retry got the phone branch through,
    and what follows the join runs once."""
    owner.deploy("inclusive_scores.bpmn")
    data = {"phone_lead": True, "mail_lead": True, "recipient": "ghost", "opened": 1, "sent": 2}
    started = agent.start("inclusive_scores", {**data, "joined": 0})
    assert started["status"] == "error"
    assert [i["element_id"] for i in started["incidents"]] == ["phone_score"]
    assert started["ready_tasks"] == []

    make_user("agent", username="ghost")
    retried = retry(owner, started["id"]).get_json()
    assert (retried["status"], retried["incidents"]) == ("running", [])
    review = only(retried["ready_tasks"], name="review")
    assert retried["data"]["joined"] == 1
    assert agent.complete_ok(review["id"])["status"] == "completed"
