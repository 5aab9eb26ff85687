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

from crm.models import Call, Deal, DealStageChange
from tests.engine.conftest import Actor, by_element, notes_of, only, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

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
    _started, task = start_round(agent, customer.id)
    after = agent.complete_ok(task["id"], survey)
    assert after["status"] == "running", after["incidents"]
    assert after["data"]["step"] == steps
    calls = after["ready_tasks"]
    assert [t["name"] for t in calls] == ["Activity_0dial", "Activity_0dial"]
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


# -- order credit (IBM BAW caller, Oracle BPM called process in another file): errors from a
#    subprocess nested in the called process caught at two levels, an error without an
#    errorCode, an escalation caught without interrupting while the call goes on, and a
#    variable the called process sets that the caller's gateway tests ------------------------

CREDIT_FILES = ("ibm_baw_order.bpmn", "oracle_credit_check.bpmn")


def stage_changes(db: Any, deal_id: int) -> list[tuple[str, str | None]]:
    with db() as session:
        return [
            (row.to_stage.value, row.comment)
            for row in session.scalars(
                select(DealStageChange)
                .where(DealStageChange.deal_id == deal_id)
                .order_by(DealStageChange.id)
            )
        ]


def start_order(agent: Actor, manager: Actor, customer_id: int) -> tuple[dict, dict, int]:
    made = agent.post(
        "/api/v1/deals", json={"customer_id": customer_id, "title": "Order", "amount": "900"}
    )
    assert made.status_code == 201, made.get_json()
    deal_id = made.get_json()["id"]
    data = {"customer_id": customer_id, "deal_id": deal_id, "team_lead": manager.username}
    started = agent.start("r7_order_credit", data)
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["lane"]) == ("bpdid.prepare", "agent")
    return started, prepare, deal_id


@pytest.mark.parametrize(
    ("rating", "amount", "ending"),
    [("A", 30000, "approved"), ("B", 30000, "prepay"), ("X", 30000, "prepay")],
    ids=["limit-covers", "limit-short", "fraud-caught-inside-the-called-process"],
)
def test_order_credit_caller_tests_what_the_called_process_set(
    owner, agent, manager, make_customer, db, rating, amount, ending
):
    assert deploy(owner, *CREDIT_FILES)["process_ids"] == ["r7_order_credit", "r7_credit_check"]
    customer = make_customer()
    _started, prepare, deal_id = start_order(agent, manager, customer.id)
    after = agent.complete_ok(prepare["id"], {"amount": amount, "rating": rating})
    data = after["data"]
    assert data.get("credit_checked") is True, (after["status"], after["incidents"], data)
    assert data["credit_limit"] == {"A": 60000, "B": 15000, "X": 0}[rating]
    # set inside the embedded subprocess before it threw, kept on its boundary event's path
    assert data.get("fraud_flag") == ("fraud suspected, rating X" if rating == "X" else None)
    if ending == "approved":
        assert after["status"] == "completed", after["incidents"]
        assert notes_of(db, customer.id) == ["Credit approved: limit 60000, order 30000"]
    else:
        (prepay,) = after["ready_tasks"]
        assert (prepay["name"], prepay["lane"]) == ("bpdid.prepay", "agent")
        done = agent.complete_ok(prepay["id"], {})
        assert done["status"] == "completed", done["incidents"]
        assert notes_of(db, customer.id) == []
    assert stage_changes(db, deal_id) == [("qualification", None)]
    assert notifications_of(db, manager) == []


def test_order_credit_error_from_the_nested_subprocess_reaches_the_call_activity(
    owner, agent, manager, make_customer, db
):
    deploy(owner, *CREDIT_FILES)
    customer = make_customer()
    _started, prepare, deal_id = start_order(agent, manager, customer.id)
    after = agent.complete_ok(prepare["id"], {"amount": 30000, "rating": "D"})
    assert after["status"] == "completed", (after["incidents"], after["data"])
    assert after["ready_tasks"] == []
    # a called process's data stays its own when it ends in an error
    assert "denial_reason" not in after["data"]
    assert stage_changes(db, deal_id)[1:] == [("lost", "credit denied for an order of 30000")]
    assert "credit_checked" not in after["data"]
    assert notes_of(db, customer.id) == []


def test_order_credit_error_without_an_error_code_goes_to_the_catch_all(
    owner, agent, manager, make_customer, db
):
    deploy(owner, *CREDIT_FILES)
    customer = make_customer()
    _started, prepare, deal_id = start_order(agent, manager, customer.id)
    after = agent.complete_ok(prepare["id"], {"amount": None, "rating": "A"})
    assert after["status"] == "running", after["incidents"]
    (fix,) = after["ready_tasks"]
    assert fix["name"] == "bpdid.fix"  # not the boundary naming CREDIT_DENIED
    done = agent.complete_ok(fix["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert stage_changes(db, deal_id) == [("qualification", None)]


def test_order_credit_escalation_is_caught_while_the_call_goes_on(
    owner, agent, manager, make_customer, db
):
    deploy(owner, *CREDIT_FILES)
    customer = make_customer()
    started, prepare, _deal_id = start_order(agent, manager, customer.id)
    after = agent.complete_ok(prepare["id"], {"amount": 80000, "rating": "A"})
    assert after["status"] == "running", after["incidents"]
    (review,) = after["ready_tasks"]
    assert (review["name"], review["lane"]) == ("USER_TASK_REVIEW", "manager")
    assert notifications_of(db, manager) == ["Order of 80000 needs a credit review"]
    assert agent.complete(review["id"], {}).status_code == 403
    done = manager.complete_ok(review["id"], {"reviewed": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["reviewed"] is True and done["data"]["credit_checked"] is True
    assert notes_of(db, customer.id) == ["Credit approved: limit 160000, order 80000"]
    assert notifications_of(db, manager) == ["Order of 80000 needs a credit review"]
    assert agent.instance(started["id"])["status"] == "completed"


# -- discount approval (Bonita): four lanes (a team's agents, team lead, manager, finance),
#    work handed back to the first lane, lane_owners, who may claim and complete ------------


@pytest.fixture
def lanes(actor: Callable[..., Actor], agent: Actor, manager: Actor) -> dict[str, Actor]:
    return {
        "agent": agent,
        "colleague": actor("agent", username="agent_east2", team="East"),
        "west": actor("agent", username="agent_west", team="West"),
        "lead": manager,
        "director": actor("director", username="dir_wang", team=None),
        "fin_zhao": actor("agent", username="fin_zhao", team="Finance"),
        "fin_qian": actor("agent", username="fin_qian", team="Finance"),
    }


def work(who: Actor, task: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    claimed = who.post(f"/api/v1/tasks/{task['id']}/claim")
    assert claimed.status_code == 200, claimed.get_json()
    return who.complete_ok(task["id"], data)


@pytest.mark.parametrize(
    ("discount", "answers", "path", "outcome"),
    [
        (8, {}, ["Finance"], "批准"),
        (15, {"tl_ok": True}, ["manager", "Finance"], "批准"),
        (25, {"tl_ok": True, "dir_ok": True}, ["manager", "director", "Finance"], "批准"),
        (25, {"tl_ok": True, "dir_ok": False}, ["manager", "director"], "驳回"),
        (15, {"tl_ok": False}, ["manager"], "驳回"),
    ],
    ids=["small", "team-lead", "up-to-the-manager", "manager-says-no", "team-lead-says-no"],
)
def test_discount_goes_through_four_lanes_and_back(
    owner, lanes, make_customer, db, discount, answers, path, outcome
):
    assert deploy(owner, "bonita_discount_lanes.bpmn")["process_ids"] == ["r7_discount_lanes"]
    customer = make_customer()
    agent, west = lanes["agent"], lanes["west"]
    started = agent.start("r7_discount_lanes", {"customer_id": customer.id})
    (propose,) = started["ready_tasks"]
    assert (propose["name"], propose["lane"]) == ("_propose", "East")
    assert propose["candidates"] == ["group:East"]
    # an agent of another team neither sees, claims nor completes it
    assert not [t for t in west.tasks("candidate=1") if t["id"] == propose["id"]]
    assert west.post(f"/api/v1/tasks/{propose['id']}/claim").status_code == 403
    assert west.complete(propose["id"], {"discount": discount}).status_code == 403
    after = work(agent, propose, {"discount": discount})
    workers = {
        "manager": lanes["lead"],
        "director": lanes["director"],
        "Finance": lanes["fin_qian"],
    }
    data = {
        "manager": {"tl_ok": answers.get("tl_ok")},
        "director": {"dir_ok": answers.get("dir_ok")},
    }
    data["Finance"] = {"margin_ok": True}
    for lane in path:
        (task,) = after["ready_tasks"]
        assert task["lane"] == lane, (task, path)
        assert agent.complete(task["id"], data[lane]).status_code == 403
        after = work(workers[lane], task, data[lane])
    (tell,) = after["ready_tasks"]
    assert (tell["name"], tell["lane"]) == ("_tell", "East")  # back to the first lane
    assert after["data"]["outcome"] == outcome
    # the first lane is the team's: a colleague of the agent may take it over
    done = work(lanes["colleague"], tell, {"told": "电话告知"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == [f"折扣 {discount}%：{outcome}（电话告知）"]


def test_lane_owners_name_who_works_the_finance_lane(owner, lanes, make_customer, db):
    deploy(owner, "bonita_discount_lanes.bpmn")
    customer = make_customer()
    agent = lanes["agent"]
    started = agent.start(
        "r7_discount_lanes",
        {"customer_id": customer.id, "lane_owners": {"Finance": ["fin_zhao"]}},
    )
    (propose,) = started["ready_tasks"]
    assert propose["candidates"] == ["group:East"]  # lanes lane_owners leave out keep theirs
    after = work(agent, propose, {"discount": 5})
    (margin,) = after["ready_tasks"]
    assert (margin["lane"], margin["candidates"]) == ("Finance", ["user:fin_zhao"])
    qian = lanes["fin_qian"]
    # one owner named: the task is theirs at once; another member of the team is turned away
    assert margin["assignee"] == lanes["fin_zhao"].user.id
    for refusal in (
        qian.post(f"/api/v1/tasks/{margin['id']}/claim"),
        qian.complete(margin["id"], {"margin_ok": False}),
    ):
        assert refusal.status_code == 409, refusal.get_json()
        assert refusal.get_json()["error"]["code"] == "task_assigned"
    assert only(lanes["fin_zhao"].tasks("mine=1"), id=margin["id"])
    after = lanes["fin_zhao"].complete_ok(margin["id"], {"margin_ok": False})
    (tell,) = after["ready_tasks"]
    assert after["data"]["outcome"] == "财务驳回"
    done = work(agent, tell, {"told": "邮件"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["折扣 5%：财务驳回（邮件）"]


# -- quote pricing (ProcessMaker): a script that raises, a gateway with no true condition, a
#    failing handler; each an incident on its element, each retried with the data fixed -------


def start_quote(agent: Actor, customer_id: int, lines: list[dict[str, Any]]) -> dict[str, Any]:
    started = agent.start("r7_pm_quote", {"customer_id": customer_id})
    (enter,) = started["ready_tasks"]
    assert (enter["name"], enter["lane"], enter["candidates"]) == (
        "node_2",
        None,
        [f"user:{agent.username}"],
    )
    return agent.complete_ok(enter["id"], {"lines": lines})


def retry(owner: Actor, instance_id: int, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"data": data} if data is not None else None
    response = owner.post(f"/api/v1/process-instances/{instance_id}/retry", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def deals_of(db: Any, customer_id: int) -> list[tuple[str, str]]:
    with db() as session:
        return [
            (deal.title, str(deal.amount))
            for deal in session.scalars(
                select(Deal).where(Deal.customer_id == customer_id).order_by(Deal.id)
            )
        ]


def test_a_script_that_raises_is_an_incident_with_its_line(owner, agent, make_customer, db):
    assert deploy(owner, "processmaker_quote.bpmn")["process_ids"] == ["r7_pm_quote"]
    customer = make_customer()
    failed = start_quote(agent, customer.id, [{"price": 120, "qty": 0}])
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert (incident["element_id"], incident["line"]) == ("node_3", 3)
    assert "division by zero" in incident["message"]
    assert "unit" not in failed["data"]
    # the failed task's data takes the fix, and the script runs again
    done = retry(owner, failed["id"], {"lines": [{"price": 120, "qty": 2}]})
    assert done["status"] == "completed", done["incidents"]
    assert done["incidents"] == []
    assert deals_of(db, customer.id) == [("Quote: 2 units at 120", "240.00")]


def test_an_unprefixed_xsi_type_reads_as_the_bpmn_type(owner, agent, make_customer, db):
    """``xsi:type="tFormalExpression"`` on a ``bpmn:`` element, in a file without a default
    namespace (as hand-written files have it): the schema alone would not resolve the type."""
    unprefixed = edited(
        "processmaker_quote.bpmn",
        (
            'xsi:type="bpmn:tFormalExpression">unit &gt;= 100',
            'xsi:type="tFormalExpression">unit &gt;= 100',
        ),
    )
    response = upload(owner, ("processmaker_quote.bpmn", unprefixed))
    assert response.status_code == 201, response.get_json()
    customer = make_customer()
    done = start_quote(agent, customer.id, [{"price": 120, "qty": 2}])
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == [("Quote: 2 units at 120", "240.00")]


def test_a_gateway_with_no_true_condition_names_itself_and_its_conditions(
    owner, agent, make_customer, db
):
    deploy(owner, "processmaker_quote.bpmn")
    customer = make_customer()
    failed = start_quote(agent, customer.id, [{"price": 50, "qty": 3}])
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert incident["element_id"] == "node_4"
    assert "unit >= 100" in incident["message"] and "unit < 10" in incident["message"]
    assert "50" in incident["message"]  # the value the conditions read
    done = retry(owner, failed["id"], {"unit": 150})
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == [("Quote: 3 units at 150", "150.00")]


def test_a_failing_handler_is_retried_after_the_data_is_fixed(owner, agent, make_customer, db):
    deploy(owner, "processmaker_quote.bpmn")
    customer = make_customer()
    started = agent.start("r7_pm_quote", {"customer_id": 987654})
    (enter,) = started["ready_tasks"]
    failed = agent.complete_ok(enter["id"], {"lines": [{"price": 4, "qty": 5}]})
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert incident["element_id"] == "node_6"
    assert "987654" in incident["message"]
    again = retry(owner, failed["id"])
    assert again["status"] == "error"
    assert [i["attempts"] for i in again["incidents"]] == [2]
    done = retry(owner, failed["id"], {"customer_id": customer.id})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Small quote: 20"]
    assert done["data"]["customer_id"] == customer.id


# -- what these tools write that Dialflow refuses: 422 invalid_bpmn on the element, nothing
#    deployed ------------------------------------------------------------------------------

REFUSALS = {
    "processmaker-assignment": (
        ("processmaker_quote.bpmn",),
        "processmaker_quote.bpmn",
        (
            'pm:allowReassignment="false"',
            'pm:allowReassignment="false" pm:assignment="user" pm:assignedUsers="7"',
        ),
        "node_2",
        ["pm:assignment='user'", "ProcessMaker-specific", "put the task in a lane"],
    ),
    "processmaker-screen": (
        ("processmaker_quote.bpmn",),
        "processmaker_quote.bpmn",
        ('pm:assignmentLock="false">', 'pm:assignmentLock="false" pm:screenRef="12">'),
        "node_2",
        ["pm:screenRef='12'", "formJsonSchemaFilename"],
    ),
    "xpath-condition": (
        ("ibm_baw_order.bpmn", "oracle_credit_check.bpmn"),
        "ibm_baw_order.bpmn",
        (
            'language="text/x-python">credit_limit &gt;= amount',
            'language="http://www.w3.org/1999/XPath">/order/amount &lt;= /credit/limit',
        ),
        "sf.yes",
        ["'http://www.w3.org/1999/XPath'", "Dialflow evaluates Python expressions"],
        "/order/amount",
    ),
    "error-boundary-on-a-user-task": (
        ("bonita_discount_lanes.bpmn",),
        "bonita_discount_lanes.bpmn",
        (
            '<model:endEvent id="_end" name="End"/>',
            '<model:endEvent id="_end" name="End"/>\n'
            '    <model:boundaryEvent id="_margin_error" attachedToRef="_margin">'
            "<model:errorEventDefinition/></model:boundaryEvent>\n"
            '    <model:sequenceFlow id="_f_err" sourceRef="_margin_error" targetRef="_reject"/>',
        ),
        "_margin_error",
        ["userTask '_margin'", "never throws", "exclusive gateway"],
    ),
    "escalation-boundary-on-a-script-task": (
        ("oracle_credit_check.bpmn", "ibm_baw_order.bpmn"),
        "oracle_credit_check.bpmn",
        (
            '<endEvent id="END_EVENT1" name="End"/>',
            '<endEvent id="END_EVENT1" name="End"/>\n'
            '    <boundaryEvent id="BOUNDARY_LIMIT" attachedToRef="SCRIPT_TASK_LIMIT" '
            'cancelActivity="false"><escalationEventDefinition '
            'escalationRef="ESCALATION_REVIEW"/></boundaryEvent>\n'
            '    <sequenceFlow id="SEQ_L" sourceRef="BOUNDARY_LIMIT" targetRef="END_EVENT1"/>',
        ),
        "BOUNDARY_LIMIT",
        ["scriptTask 'SCRIPT_TASK_LIMIT'", "never throws", "not an escalation"],
    ),
    "error-of-no-such-id": (
        ("oracle_credit_check.bpmn", "ibm_baw_order.bpmn"),
        "oracle_credit_check.bpmn",
        (
            'errorRef="ERROR_DENIED"/>\n      </endEvent>',
            'errorRef="ERROR_NOPE"/>\n      </endEvent>',
        ),
        "END_EVENT_DENIED",
        ["ERROR_NOPE"],
    ),
    "lane-lists-a-missing-task": (
        ("bonita_discount_lanes.bpmn",),
        "bonita_discount_lanes.bpmn",
        (
            "<model:flowNodeRef>_approve</model:flowNodeRef>",
            "<model:flowNodeRef>_approve</model:flowNodeRef>\n"
            "        <model:flowNodeRef>_audit</model:flowNodeRef>",
        ),
        "_Lane_finance",
        ["_audit"],
    ),
    "form-not-uploaded": (
        ("bpmnjs_contact_round.bpmn", "contact_plan.dmn", "reach-form.json"),
        "bpmnjs_contact_round.bpmn",
        (),
        "Activity_0survey",
        ["survey-form.json"],
    ),
    "feel-duration-in-a-rule": (
        CONTACT_FILES,
        "contact_plan.dmn",
        ('<text>&lt; "2026-06-01"</text>', '<text>&lt; duration("P3D")</text>'),
        "UnaryTests_s3",
        ["FEEL's duration(…)", "does not evaluate", '< "2026-06-01"'],
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_what_these_tools_write_wrong_is_refused_on_its_element(owner, db, case):
    files, changed, changes, element, words, *line_at = REFUSALS[case]
    bodies = [
        (name, edited(name, changes) if changes and name == changed else diagram(name))
        for name in files
    ]
    details = refused(upload(owner, *bodies))
    problems = by_element(details)
    assert element in problems, details
    for word in words:
        assert word in problems[element], problems[element]
    (detail,) = [d for d in details if d["element_id"] == element][:1]
    assert detail["file"] == changed
    text = dict(bodies)[changed].decode()
    assert detail["line"] == line_in(line_at[0] if line_at else f'id="{element}"', text), detail
    nothing_deployed(db)
