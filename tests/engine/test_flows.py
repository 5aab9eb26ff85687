"""Running models through the API: gateways, scripts, service tasks, DMN, calls, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.models import Activity, Call, Deal, DealStageChange, Notification
from tests.engine.conftest import DIAGRAMS, only


def close_to_now(text: str, delta: timedelta = timedelta(0)) -> bool:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return abs(moment - (datetime.now(UTC) + delta)) < timedelta(seconds=30)


@pytest.mark.parametrize(
    ("score", "tier"), [(95, "hot"), (80, "hot"), (79, "warm"), (50, "warm"), (49, "cold")]
)
def test_exclusive_gateway_conditions_and_default(owner, agent, score, tier):
    owner.deploy("lead_scoring.bpmn", "score-form.json")
    instance = agent.start("lead_scoring")
    task = only(instance["ready_tasks"], name="qualify")
    assert task["candidates"] == [f"user:{agent.username}"]
    done = agent.complete_ok(task["id"], {"score": score, "channel": "phone"})
    assert done["status"] == "completed"
    assert done["data"]["tier"] == tier


def test_form_rejects_unknown_fields_when_the_schema_says_so(owner, agent):
    owner.deploy("lead_scoring.bpmn", "score-form.json")
    task = agent.start("lead_scoring")["ready_tasks"][0]
    response = agent.complete(
        task["id"], {"score": 101, "channel": "fax", "email": "not-an-email", "extra": 1}
    )
    assert response.status_code == 422
    fields = sorted(d["field"] for d in response.get_json()["error"]["details"])
    assert fields == ["", "channel", "email", "score"]


def test_parallel_split_and_join(owner, agent):
    owner.deploy("parallel_followup.bpmn")
    instance = agent.start("parallel_followup", {"customer_name": "李"})
    tasks = {t["name"]: t["id"] for t in instance["ready_tasks"]}
    assert sorted(tasks) == ["call_back", "send_email"]

    halfway = agent.complete_ok(tasks["call_back"], {"call_result": "reached"})
    assert halfway["status"] == "running"
    assert [t["name"] for t in halfway["ready_tasks"]] == ["send_email"]
    assert "summary" not in halfway["data"]

    done = agent.complete_ok(tasks["send_email"], {"email_subject": "Brochure"})
    assert done["status"] == "completed"
    assert done["data"]["summary"] == "Brochure / reached"


def test_script_helpers_and_a_field_named_date(owner, agent):
    owner.deploy("script_helpers.bpmn", "meeting-form.json")
    instance = agent.start("script_helpers")
    data = instance["data"]
    assert close_to_now(data["requested_at"])
    assert close_to_now(data["follow_up_at"], timedelta(hours=1))
    requested = datetime.fromisoformat(data["requested_at"])
    assert (
        data["requested_day"] == requested.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    )
    assert data["requested_day_utc"] == requested.astimezone(UTC).date().isoformat()
    task = only(instance["ready_tasks"], name="book")
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat(data["follow_up_at"])

    meeting_day = requested.astimezone(UTC).date() + timedelta(days=3)
    done = agent.complete_ok(task["id"], {"date": meeting_day.isoformat(), "topic": "demo"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["date"] == meeting_day.isoformat()
    assert done["data"]["label"] == f"meeting on {meeting_day.isoformat()}"
    assert done["data"]["days_ahead"] == 3
    assert done["data"]["urgency"] == f"this week ({meeting_day.isoformat()})"
    reminder = datetime.fromisoformat(done["data"]["reminder_at"])
    assert reminder == datetime.fromisoformat(data["follow_up_at"]) + timedelta(days=1)

    later = agent.start("script_helpers")
    far = (meeting_day + timedelta(days=30)).isoformat()
    assert agent.complete_ok(later["ready_tasks"][0]["id"], {"date": far})["data"]["urgency"] == (
        "later"
    )


def test_service_tasks_write_to_the_crm(owner, agent, actor, make_customer, db):
    manager = actor("manager", username="boss", team="East")
    owner.deploy("crm_services.bpmn", "outcome-form.json")
    customer = make_customer(name="服务客户")
    instance = agent.start(
        "crm_services",
        {"customer_id": customer.id, "manager_username": manager.username},
        business_key=f"customer-{customer.id}",
    )
    task = only(instance["ready_tasks"], name="log_outcome")
    assert task["candidates"] == ["group:agent"]

    done = agent.complete_ok(
        task["id"], {"disposition": "connected_interested", "duration_s": 125, "amount": 12000.5}
    )
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    assert data["deal"]["stage"] == "proposal"
    assert data["notified"]["notification_id"] > 0

    seen = agent.get(f"/api/v1/customers/{customer.id}").get_json()
    assert seen["stage"] == "opportunity"  # a deal was opened for the lead
    with db() as session:
        call = session.scalars(select(Call).where(Call.customer_id == customer.id)).one()
        assert call.disposition.value == "connected_interested"
        assert call.duration_s == 125
        assert call.agent_id == agent.user.id  # the handler runs as the completing user
        assert call.id == data["call"]["call_id"]
        note = session.scalars(select(Activity).where(Activity.customer_id == customer.id)).one()
        assert note.body == f"Call {call.id}: connected_interested, 125s"
        assert note.author_id == agent.user.id
        deal = session.scalars(select(Deal).where(Deal.customer_id == customer.id)).one()
        assert deal.id == data["deal"]["id"]
        assert (deal.title, deal.amount, deal.stage.value) == (
            "Annual plan",
            Decimal("12000.50"),
            "proposal",
        )
        stages = session.scalars(
            select(DealStageChange.to_stage)
            .where(DealStageChange.deal_id == deal.id)
            .order_by(DealStageChange.id)
        ).all()
        assert [s.value for s in stages] == ["qualification", "proposal"]
        notification = session.scalars(select(Notification)).one()
        assert notification.user_id == manager.user.id
        assert notification.instance_id == instance["id"]
        assert notification.message == f"Deal {deal.id} is at proposal"


@pytest.mark.parametrize(
    ("amount", "region", "tier", "pct", "net"),
    [
        (150000, "East", "gold", 15, 127500.0),
        (20000, "West", "silver", 8, 18400.0),
        (20000, "East", "silver", 5, 19000.0),
        (9999, "East", "bronze", 0, 9999.0),
    ],
)
def test_business_rule_task_uses_the_dmn_table(owner, agent, amount, region, tier, pct, net):
    owner.deploy("deal_pricing.bpmn", "discount.dmn")
    done = agent.start("deal_pricing", {"amount": amount, "region": region})
    assert done["status"] == "completed", done["incidents"]
    assert (done["data"]["tier"], done["data"]["discount_pct"]) == (tier, pct)
    assert done["data"]["net_amount"] == net


def test_call_activity_in_the_same_deploy(owner, agent):
    deployed = owner.deploy("order_main.bpmn", "order_lines.bpmn")
    assert sorted(deployed["process_ids"]) == ["order_lines", "order_main"]
    lines = [{"qty": 2, "price": 100}, {"qty": 1, "price": 50}]
    done = agent.start("order_main", {"lines": lines})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["total"] == 250
    assert done["data"]["line_count"] == 2
    assert done["data"]["total_with_tax"] == 282.5
    # The called process can also run on its own.
    assert agent.start("order_lines", {"lines": lines})["data"]["total"] == 250


def test_call_activity_to_a_process_of_an_earlier_deploy(owner, agent, make_customer, db):
    owner.deploy("confirm_contact.bpmn", "confirm-form.json")
    caller = owner.upload("welcome_flow.bpmn")  # calls a process it does not contain
    assert caller.status_code == 201, caller.get_json()
    assert caller.get_json()["process_ids"] == ["welcome_flow"]
    customer = make_customer()

    instance = agent.start("welcome_flow", {"customer_id": customer.id})
    assert instance["status"] == "running"
    confirm = only(instance["ready_tasks"], name="confirm")
    assert confirm["candidates"] == [f"user:{agent.username}"]
    assert confirm["form_schema"]["required"] == ["correct"]
    assert only(agent.tasks("mine=1"), name="confirm")["process_instance_id"] == instance["id"]

    assert agent.complete(confirm["id"], {"correct": "yes"}).status_code == 422
    done = agent.complete_ok(confirm["id"], {"correct": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["contact_confirmed"] is True
    with db() as session:
        notes = session.scalars(
            select(Activity.body).where(Activity.customer_id == customer.id)
        ).all()
    assert notes == ["Welcomed; contact confirmed: True"]


def test_error_end_event_is_caught_by_the_boundary(owner, agent):
    owner.deploy("amount_check.bpmn")
    bad = agent.start("amount_check", {"amount": -5})
    assert bad["status"] == "running", bad["incidents"]
    assert bad["incidents"] == []
    assert [t["name"] for t in bad["ready_tasks"]] == ["fix_amount"]
    assert "checked" not in bad["data"]
    done = agent.complete_ok(bad["ready_tasks"][0]["id"])
    assert done["status"] == "completed"
    assert "outcome" not in done["data"]

    good = agent.start("amount_check", {"amount": 100})
    assert good["status"] == "completed"
    assert (good["data"]["checked"], good["data"]["outcome"]) == ("ok", "accepted")


def test_escalation_opens_a_review_without_stopping_the_flow(owner, agent, actor):
    manager = actor("manager", username="boss", team="East")
    owner.deploy("amount_check.bpmn")
    big = agent.start("amount_check", {"amount": 900000})
    assert big["status"] == "running", big["incidents"]
    assert big["data"]["outcome"] == "accepted"  # the main path went on
    review = only(big["ready_tasks"], name="review_big_deal")
    assert review["lane"] == "manager"
    assert review["candidates"] == ["group:manager"]
    assert agent.complete(review["id"]).status_code == 403
    assert manager.complete_ok(review["id"])["status"] == "completed"


def test_message_and_timer_waits(owner, agent):
    owner.deploy("waits.bpmn")
    instance = agent.start("await_payment", business_key="order-7")
    assert instance["status"] == "waiting"
    assert instance["ready_tasks"] == []
    waits = {w["kind"]: w for w in instance["waiting"]}
    assert sorted(waits) == ["message", "timer"]
    assert waits["message"]["name"] == "payment_received"
    assert "due_at" not in waits["message"] or waits["message"]["due_at"] is None
    assert close_to_now(waits["timer"]["due_at"], timedelta(hours=2))

    listed = agent.get("/api/v1/process-instances?status=waiting&business_key=order-7")
    assert listed.status_code == 200
    assert [i["id"] for i in listed.get_json()["items"]] == [instance["id"]]
    assert agent.get("/api/v1/process-instances?status=bogus").status_code == 422


def test_terminate(owner, agent, actor):
    manager = actor("manager", username="boss", team="East")
    owner.deploy("parallel_followup.bpmn")
    instance = agent.start("parallel_followup", {"customer_name": "x"})
    url = f"/api/v1/process-instances/{instance['id']}/terminate"
    assert agent.post(url).status_code == 403
    stopped = manager.post(url)
    assert stopped.status_code == 200
    assert stopped.get_json()["status"] == "terminated"
    assert stopped.get_json()["ready_tasks"] == []
    assert agent.tasks() == []
    assert manager.post(url).status_code == 409
    task = instance["ready_tasks"][0]["id"]
    assert agent.complete(task).status_code == 409


def test_call_activities_two_deploys_deep(owner, agent, make_customer, db):
    owner.deploy("confirm_contact.bpmn", "confirm-form.json")
    owner.deploy("welcome_flow.bpmn")
    deployed = owner.deploy("onboarding.bpmn")
    assert deployed["process_ids"] == ["onboarding"]
    customer = make_customer()

    instance = agent.start("onboarding", {"customer_id": customer.id})
    confirm = only(instance["ready_tasks"], name="confirm")
    assert confirm["form_schema"]["required"] == ["correct"]
    done = agent.complete_ok(confirm["id"], {"correct": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["onboarded"] is True
    with db() as session:
        assert session.scalars(select(Activity).where(Activity.customer_id == customer.id)).all()


def test_json_deploys_of_caller_and_callee(owner, agent):
    """Both arrive as ``process.bpmn``: the callee's file must not be replaced by the caller."""
    callee = {"bpmn": (DIAGRAMS / "order_lines.bpmn").read_text()}
    caller = {"bpmn": (DIAGRAMS / "order_main.bpmn").read_text()}
    assert owner.post("/api/v1/process-models", json=callee).status_code == 201
    response = owner.post("/api/v1/process-models", json=caller)
    assert response.status_code == 201, response.get_json()
    done = agent.start("order_main", {"lines": [{"qty": 3, "price": 10}]})
    assert done["data"]["total_with_tax"] == 33.9


def test_redeploying_one_process_of_a_bundle(owner, agent):
    owner.deploy("order_main.bpmn", "order_lines.bpmn")
    lines = [{"qty": 1, "price": 100}]
    assert agent.start("order_main", {"lines": lines})["data"]["total_with_tax"] == 113.0

    cheaper = (DIAGRAMS / "order_main.bpmn").read_text().replace("1.13", "1.06")
    response = owner.post("/api/v1/process-models", json={"bpmn": {"order_main.bpmn": cheaper}})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["process_ids"] == ["order_main"]
    assert response.get_json()["version"] == 2
    assert {m["process_id"]: m["versions"] for m in owner.models()} == {
        "order_lines": [1],
        "order_main": [1, 2],
    }
    assert agent.start("order_main", {"lines": lines})["data"]["total_with_tax"] == 106.0
    old = agent.start("order_main", {"lines": lines}, version=1)
    assert old["data"]["total_with_tax"] == 113.0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"process_id": "parallel_followup", "data": {"customer_name": "x", "score": NaN}}',
        b'{"process_id": "parallel_followup", "data": {"score": -Infinity}}',
        b'{"process_id": "parallel_followup", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"process_id": "parallel_followup"',
    ],
    ids=["nan", "infinity", "deeply-nested", "truncated"],
)
def test_non_standard_json_is_refused(owner, agent, raw):
    owner.deploy("parallel_followup.bpmn")
    response = agent.post("/api/v1/process-instances", data=raw, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_json"
    assert agent.get("/api/v1/process-instances").get_json()["total"] == 0
