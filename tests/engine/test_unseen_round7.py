"""A seventh round of unseen diagrams: data flowing through a process as a telesales team uses
it (nested JSON-Schema forms with Chinese labels feeding DMN inputs, gateway conditions,
scripts, service parameters and multi-instance activities over lists a decision or a script
produced), errors thrown deep inside multi-instance bodies and called processes, escalations
caught while the call goes on, four lanes handing work back, and styles of modelers not used
before (bpmn-js with colours, IBM BAW, Oracle BPM, Bonita, ProcessMaker). Each is deployed
through the API and run end to end; then invalid variants, each refused with
``422 invalid_bpmn`` on its element and nothing deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Call
from tests.engine.conftest import Actor, by_element, notes_of, only, refused
from tests.engine.diagram_folders import DiagramFolder, nothing_deployed, notifications_of, upload

ROUND7 = DiagramFolder("round7")
diagram, edited, deploy, line_of = ROUND7.read, ROUND7.edited, ROUND7.deploy, ROUND7.line_of


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="lead_east", team="East")


def calls_of(db: Any, customer_id: int) -> list[tuple[str, int, str | None]]:
    with db() as session:
        return [
            (call.disposition.value, call.duration_s, call.notes)
            for call in session.scalars(
                select(Call).where(Call.customer_id == customer_id).order_by(Call.id)
            )
        ]


# -- contact round (bpmn-js with colours): a nested form → DMN COLLECT → script → two
#    multi-instance activities → gateway on the output collection ------------------------------

CONTACT_FILES = (
    "bpmnjs_contact_round.bpmn",
    "contact_plan.dmn",
    "survey-form.json",
    "reach-form.json",
)
SURVEY = {
    "company": {"name": "华东贸易", "size": "中型"},
    "contacts": [
        {"name": "王总", "phone": "+86 138 0000 0001", "role": "决策人"},
        {"name": "李工", "phone": "+86 138 0000 0002", "role": "技术"},
        {"name": "赵姐", "phone": "021-5555 0003", "role": "采购"},
    ],
    "budget": "120000",
    "decision_date": "2026-05-20",
    "trial": True,
}


def start_round(agent: Actor, customer_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    started = agent.start("r7_contact_round", {"customer_id": customer_id})
    (survey,) = started["ready_tasks"]
    assert (survey["name"], survey["title"], survey["lane"]) == (
        "Activity_0survey",
        "填写客户概况",
        "agent",
    )
    return started, survey


def test_contact_round_refuses_bad_form_data_field_by_field(owner, agent, make_customer, db):
    deploy(owner, *CONTACT_FILES)
    customer = make_customer()
    started, survey = start_round(agent, customer.id)
    bad = {
        "company": {"name": "", "size": "巨型"},
        "contacts": [{"name": "王总", "phone": "abc", "role": "老板"}],
        "budget": 120000,
        "decision_date": "2026-13-45",
        "trial": "yes",
    }
    response = agent.complete(survey["id"], bad)
    assert response.status_code == 422, response.get_json()
    fields = {d["field"] for d in response.get_json()["error"]["details"]}
    assert fields == {
        "company.name",
        "company.size",
        "contacts.0.phone",
        "contacts.0.role",
        "budget",
        "decision_date",
        "trial",
    }, response.get_json()
    now = agent.instance(started["id"])
    assert now["data"] == started["data"]
    assert [t["id"] for t in now["ready_tasks"]] == [survey["id"]]
    assert notes_of(db, customer.id) == []
    missing = agent.complete(survey["id"], {"company": {"name": "x", "size": "小型"}})
    assert missing.status_code == 422
    assert [(d["field"], d["validator"]) for d in missing.get_json()["error"]["details"]] == [
        ("contacts", "required"),
        ("budget", "required"),
        ("decision_date", "required"),
    ]


@pytest.mark.parametrize(
    ("survey", "steps", "answers", "ending"),
    [
        (SURVEY, ["上门拜访", "开通试用", "加急报价"], [True, False], "called"),
        (
            {**SURVEY, "budget": "9000", "trial": False, "decision_date": "2026-07-01"},
            [],
            [False, False],
            "nurture",
        ),
        (
            {**SURVEY, "budget": "100000", "trial": False},
            ["上门拜访", "加急报价"],
            [False, True],
            "called",
        ),
    ],
    ids=["all-steps", "no-step-nobody-reached", "budget-at-the-bound"],
)
def test_contact_round_runs_on_the_form_data(
    owner, agent, make_customer, db, survey, steps, answers, ending
):
    deploy(owner, *CONTACT_FILES)
    customer = make_customer()
    started, task = start_round(agent, customer.id)
    after = agent.complete_ok(task["id"], survey)
    assert after["status"] == "running", after["incidents"]
    assert after["data"]["step"] == steps
    calls = after["ready_tasks"]
    assert [t["name"] for t in calls] == ["Activity_0dial", "Activity_0dial"]
    people = [agent.get(f"/api/v1/tasks?mine=1").get_json()]  # noqa: F841
    for call, reached in zip(calls, answers, strict=True):
        after = agent.complete_ok(call["id"], {"reached": reached, "interest": "高"})
    assert after["status"] == "completed", after["incidents"]
    data = after["data"]
    assert data["outcomes"] == answers
    assert [c["name"] for c in data["to_call"]] == ["王总", "赵姐"]
    assert "contact" not in data and "plan_step" not in data
    assert notes_of(db, customer.id) == [f"计划：{s} / 华东贸易" for s in steps]
    if ending == "called":
        assert calls_of(db, customer.id) == [("connected_interested", 60, "1/2 接通")]
        assert "status" not in data
    else:
        assert calls_of(db, customer.id) == []
        assert data["status"] == "nurture"
