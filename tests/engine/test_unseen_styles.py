"""Diagrams in other modelers' styles, deployed through the API and run end to end.

Each diagram of ``diagrams/unseen/`` was written by hand in the way one tool exports BPMN
(Signavio's default namespace, Bizagi's ``semantic:`` prefix, Eclipse's ``bpmn2:``, a bare
``model:`` prefix, bpmn.io, Camunda Modeler 7 and 8, SpiffArena). What Dialflow executes must
run as drawn; what it does not is refused at deploy (``test_unseen_refusals.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Activity, Notification
from tests.engine.conftest import DIAGRAMS, Actor, Timed, only

UNSEEN = DIAGRAMS / "unseen"


def upload(actor: Actor, *names: str) -> Any:
    """Deploy files of ``diagrams/unseen/`` as one multipart bundle."""
    return actor.upload(extra=[(name, (UNSEEN / name).read_bytes()) for name in names])


def deploy(actor: Actor, *names: str) -> dict[str, Any]:
    response = upload(actor, *names)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def names(instance: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in instance["ready_tasks"])


# -- Signavio: default namespace, lanes, exclusive gateway with a default flow ---------------


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="boss", team="East")


def test_signavio_lanes_and_default_flow(owner, agent, manager):
    assert deploy(owner, "signavio_qualification.bpmn")["process_ids"] == ["sid_lead_qualification"]
    big = agent.start("sid_lead_qualification")
    qualify = only(big["ready_tasks"], name="sid-qualify")
    assert (qualify["lane"], qualify["candidates"]) == ("agent", ["group:agent"])
    assert qualify["title"] == "Qualify lead"
    after = agent.complete_ok(qualify["id"], {"budget": 80000})
    approve = only(after["ready_tasks"], name="sid-approve")
    # the lane "Manager" is the role manager, whatever its capitals
    assert (approve["lane"], approve["candidates"]) == ("Manager", ["group:manager"])
    assert agent.complete(approve["id"]).status_code == 403
    assert manager.complete_ok(approve["id"])["status"] == "completed"

    small = agent.start("sid_lead_qualification")
    done = agent.complete_ok(small["ready_tasks"][0]["id"], {"budget": 1000})
    assert done["status"] == "completed"
    assert done["data"]["track"] == "nurture"


# -- Bizagi: "semantic:" prefix, parallel split and join, CDATA scripts ----------------------


def test_bizagi_parallel_scripts_join_before_the_total(owner, agent):
    deploy(owner, "bizagi_parallel.bpmn")
    started = agent.start("biz_order_prep", {"subtotal": 200, "country": "CN"})
    assert started["status"] == "running", started["incidents"]
    assert "total" not in started["data"]  # the join waits for the packing
    pack = only(started["ready_tasks"], name="biz_pack")
    assert pack["candidates"] == [f"user:{agent.username}"]  # no lane: the starter
    done = agent.complete_ok(pack["id"], {"parcels": 2})
    assert done["status"] == "completed"
    # the join merged what every branch computed
    assert (done["data"]["tax"], done["data"]["shipping"], done["data"]["parcels"]) == (26.0, 25, 2)
    assert done["data"]["total"] == 251.0


# -- Eclipse BPMN2 Modeler: "bpmn2:" prefix, inclusive gateway -------------------------------


@pytest.mark.parametrize(
    ("channels", "tasks", "flags"),
    [
        (["phone", "email"], ["ecl_call"], {"mail_queued"}),
        (["email", "sms"], [], {"mail_queued", "sms_queued"}),
        (["fax"], [], {"fallback"}),
    ],
    ids=["call-and-mail", "mail-and-sms", "nothing-matches-default"],
)
def test_eclipse_inclusive_gateway_takes_every_true_branch(owner, agent, channels, tasks, flags):
    deploy(owner, "eclipse_inclusive.bpmn")
    started = agent.start("ecl_followups", {"channels": channels})
    assert names(started) == tasks
    taken = {"mail_queued", "sms_queued", "fallback"} & set(started["data"])
    assert taken == flags
    if tasks:
        assert started["status"] == "running"  # the join waits for the call
        started = agent.complete_ok(started["ready_tasks"][0]["id"])
    assert started["status"] == "completed"


# -- SpiffArena: DMN 1.2 FIRST, DMN 1.3 COLLECT, pre/post scripts, form, service task --------


@pytest.mark.parametrize(
    ("province", "employees", "source", "team", "flags"),
    [
        (" 广东 ", 5, "purchased list", "South", ["small company", "bought list"]),
        ("上海", 2000, "web form", "Key accounts", ["self registered"]),
        ("北京", 50, "referral", "Inside sales", []),
    ],
)
def test_spiffarena_decisions_form_and_service_task(
    owner, agent, make_customer, db, province, employees, source, team, flags
):
    deployed = deploy(
        owner,
        "spiffarena_routing.bpmn",
        "region_team_dmn12.dmn",
        "risk_flags_dmn13.dmn",
        "first-call-schema.json",
    )
    assert deployed["process_ids"] == ["arena_lead_routing"]
    customer = make_customer(name="竞技场客户")
    started = agent.start(
        "arena_lead_routing",
        {
            "province": province,
            "employees": employees,
            "source": source,
            "customer_id": customer.id,
        },
    )
    assert started["status"] == "running", started["incidents"]
    assert started["data"]["team"] == team  # FIRST: the first matching rule
    assert started["data"]["flags"] == flags  # COLLECT: every matching rule, in order
    assert started["data"]["flag_count"] == len(flags)  # the post-script saw the decision
    call = only(started["ready_tasks"], name="Activity_first_call")
    assert call["lane"] == "agent"
    assert call["form_schema"]["required"] == ["outcome"]
    assert agent.complete(call["id"], {"outcome": "maybe"}).status_code == 422
    done = agent.complete_ok(call["id"], {"outcome": "interested"})
    assert done["status"] == "completed", done["incidents"]
    with db() as session:
        notes = session.scalars(
            select(Activity.body).where(Activity.customer_id == customer.id)
        ).all()
    assert notes == [f"{team}: interested ({len(flags)} flags)"]


# -- bpmn.io: error boundary on a subprocess, escalations interrupting or not ----------------


def test_error_end_in_subprocess_is_caught_by_its_boundary(owner, agent, manager):
    deploy(owner, "bpmnio_deal_desk.bpmn")
    refused = agent.start("Process_deal_desk", {"credit_score": 420, "discount_pct": 5})
    assert refused["status"] == "running", refused["incidents"]
    handle = only(refused["ready_tasks"], name="Activity_0refused")
    assert handle["candidates"] == ["group:manager"]
    assert manager.complete_ok(handle["id"])["status"] == "completed"


def test_escalation_non_interrupting_notifies_and_the_deal_goes_on(owner, agent, manager, db):
    deploy(owner, "bpmnio_deal_desk.bpmn")
    started = agent.start(
        "Process_deal_desk",
        {"credit_score": 700, "discount_pct": 25, "manager_username": manager.username},
    )
    assert started["status"] == "running", started["incidents"]
    assert started["data"]["notified"]["notification_id"] > 0
    with db() as session:
        (message,) = session.scalars(
            select(Notification.message).where(Notification.user_id == manager.user.id)
        ).all()
    assert message == "Discount of 25% asked"
    close = only(started["ready_tasks"], name="Activity_0close")  # not cancelled
    done = agent.complete_ok(close["id"], {"signed": True})
    assert done["status"] == "completed"
    assert "result" not in done["data"]


def test_escalation_end_event_interrupts_the_subprocess(owner, agent):
    deploy(owner, "bpmnio_deal_desk.bpmn")
    started = agent.start("Process_deal_desk", {"credit_score": 700, "discount_pct": 0})
    close = only(started["ready_tasks"], name="Activity_0close")
    done = agent.complete_ok(close["id"], {"signed": False})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["result"] == "lost"


# -- call activities: one deployed before, one in the same bundle; an error across the call --


def test_call_activities_to_an_earlier_deploy_and_to_the_same_bundle(owner, agent, manager):
    deploy(owner, "shared_credit_check.bpmn")
    deployed = deploy(owner, "onboarding_caller.bpmn", "onboarding_contract.bpmn")
    assert sorted(deployed["process_ids"]) == ["b2b_contract", "b2b_onboarding"]

    started = agent.start("b2b_onboarding", {"company": "Acme", "blacklist": ["Shady"]})
    assert started["status"] == "running", started["incidents"]
    sign = only(started["ready_tasks"], name="sign")
    assert sign["candidates"] == ["group:manager"]  # the lane of the called process
    done = manager.complete_ok(sign["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["summary"] == "Acme: score 720, contract C-ACM"


def test_error_thrown_in_a_called_process_is_caught_on_the_call_activity(owner, agent):
    deploy(owner, "shared_credit_check.bpmn")
    deploy(owner, "onboarding_caller.bpmn", "onboarding_contract.bpmn")
    rejected = agent.start("b2b_onboarding", {"company": "Shady", "blacklist": ["Shady"]})
    assert rejected["status"] == "completed", rejected["incidents"]
    assert rejected["data"]["summary"] == "Shady: rejected"
    assert rejected["ready_tasks"] == []


# -- timers on a user task --------------------------------------------------------------------


def test_boundary_timers_remind_then_hand_over(timed: Timed):
    manager = timed.actor("manager", username="boss", team="East")
    upload(timed.owner, "timer_reminders.bpmn")
    started = timed.agent.start(
        "callback_sla", {"sla": "P1D", "agent_username": timed.agent.username}
    )
    assert started["status"] == "running"
    assert sorted(w["name"] for w in started["waiting"]) == ["1 day", "4 hours"]

    assert timed.advance(hours=4, seconds=1) == 1
    reminded = timed.agent.instance(started["id"])
    assert reminded["data"]["reminder"]["notification_id"] > 0
    callback = only(reminded["ready_tasks"], name="Task_callback")  # still open
    assert [w["name"] for w in reminded["waiting"]] == ["1 day"]

    assert timed.advance(hours=20) == 1
    late = timed.agent.instance(started["id"])
    takeover = only(late["ready_tasks"], name="Task_takeover")
    assert takeover["candidates"] == ["group:manager"]
    assert timed.agent.complete(callback["id"]).status_code in (404, 409)  # cancelled
    assert manager.complete_ok(takeover["id"])["status"] == "completed"


def test_a_user_task_finished_in_time_cancels_its_timers(timed: Timed):
    upload(timed.owner, "timer_reminders.bpmn")
    started = timed.agent.start(
        "callback_sla", {"sla": "P1D", "agent_username": timed.agent.username}
    )
    done = timed.agent.complete_ok(started["ready_tasks"][0]["id"])
    assert (done["status"], done["waiting"]) == ("completed", [])
    assert timed.advance(days=2) == 0


# -- multi-instance -----------------------------------------------------------------------------


def test_parallel_multi_instance_user_task_and_sequential_cardinality(owner, agent, manager):
    deploy(owner, "multi_instance_review.bpmn")
    aspects = ["price", "terms", "delivery"]
    started = agent.start("quote_review", {"aspects": aspects})
    reviews = [t for t in started["ready_tasks"] if t["name"] == "review"]
    assert len(reviews) == 3
    assert all(t["candidates"] == ["group:manager"] for t in reviews)
    instance = started
    for task in reviews:
        instance = manager.complete_ok(task["id"], {"verdict": "ok"})
    assert instance["status"] == "completed", instance["incidents"]
    assert instance["data"]["verdicts"] == ["ok", "ok", "ok"]
    assert instance["data"]["days"] == [7, 14, 21]
    assert instance["data"]["approved"] is True


# -- Camunda 7 export with only bookkeeping extensions ---------------------------------------


@pytest.mark.parametrize(("outcome", "temperature"), [("interested", "hot"), ("not_now", "cold")])
def test_camunda_7_export_with_harmless_extensions_runs(owner, agent, outcome, temperature):
    deploy(owner, "camunda7_callback.bpmn")
    done = agent.start("c7_callback_outcome", {"outcome": outcome})
    assert done["status"] == "completed"
    assert done["data"]["temperature"] == temperature


def test_no_true_condition_is_an_incident_on_the_gateway_and_retry_counts(owner, agent):
    deploy(owner, "camunda7_callback.bpmn")
    failed = agent.start("c7_callback_outcome", {"outcome": "wrong_number"})
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("Gateway_1outcome", "gateway_error")
    assert "Gateway_1outcome" in incident["message"]
    again = owner.post(f"/api/v1/process-instances/{failed['id']}/retry")
    assert again.status_code == 200
    (incident,) = again.get_json()["incidents"]
    assert incident["attempts"] == 2


# -- an automatic loop of many passes in one step ----------------------------------------------


def test_an_automatic_loop_of_a_thousand_passes_runs_to_its_end(owner, agent):
    """SpiffWorkflow loses sight of READY tasks below depth 1,000: the loop stopped at pass
    500 with the instance "running" and nothing to do. The tree is now re-rooted as it runs."""
    deploy(owner, "auto_retry_loop.bpmn")
    done = agent.start("auto_retry_loop", {"attempts": 0, "target": 1000})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["attempts"] == 1000


def test_a_loop_with_no_way_out_is_an_incident_not_a_hung_request(owner, agent, monkeypatch):
    monkeypatch.setattr("engine.pruning.MAX_AUTOMATIC_TASKS", 600)
    deploy(owner, "auto_retry_loop.bpmn")
    stuck = agent.start("auto_retry_loop", {"attempts": 0, "target": -1 + 10**9})
    assert stuck["status"] == "error"
    (incident,) = stuck["incidents"]
    assert incident["kind"] == "runaway_loop"
    assert incident["element_id"] in ("attempt", "enough")
    assert "600 automatic tasks" in incident["message"]
    assert 290 <= stuck["data"]["attempts"] <= 300  # it stopped after about 600 tasks
