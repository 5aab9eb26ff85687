"""A sixteenth round of unseen diagrams, from tools and hands no round drew with before:
ProcessMaker 4 (``pm:`` settings on every element, ``node_N`` ids, form tasks as plain
``bpmn:task``, a Python script in ``application/x-python``), Kogito (``drools:metaData`` labels,
``drools:taskName``, UUID-like ids, a Python language named by URI in jBPM's style), Camunda
Modeler 5 for Camunda 7 (candidate groups naming lanes, ``camunda:formData``, history settings),
and a diagram and decision table written with a chat assistant's help: conditions with and
without ``xsi:type``, ``language="python"``, a script that imports and prints, two processes in
one file, FEEL cells beside Python conditions on the column's own name. The processes: lead
qualification, callbacks until the customer is reached, a deal approved in lanes with an
escalation to the director, a complaint with an error path, a called follow-up and a decision.
Then the files with the mistakes such tools and hands make, each refused with
``422 invalid_bpmn`` on its element and line, nothing deployed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, Timed, notes_of, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

UNSEEN16 = DiagramFolder("unseen16")
diagram, edited, deploy = UNSEEN16.read, UNSEEN16.edited, UNSEEN16.deploy


def my_task(agent: Actor) -> dict[str, Any]:
    (task,) = agent.tasks("mine=1") or agent.tasks("candidate=1")
    return task


# -- lead qualification (ProcessMaker 4) -------------------------------------------------------


def test_a_processmaker_lead_is_scored_by_its_python_script_and_noted(
    owner, agent, make_customer, db
):
    deploy(owner, "pm_lead_qualification.bpmn")
    customer = make_customer()
    started = agent.start("r16_pm_lead_qualification", {"customer_id": customer.id})
    (qualify,) = started["ready_tasks"]
    assert (qualify["name"], qualify["lane"]) == ("node_2", "agent")
    done = agent.complete_ok(qualify["id"], {"interested": True, "budget": 5000})
    assert (done["status"], done["data"]["score"]) == ("completed", 50)
    assert notes_of(db, customer.id) == ["Lead scored 50"]


def test_a_hot_processmaker_lead_goes_to_the_manager_lane(owner, agent, actor, make_customer, db):
    boss = actor("manager", username="boss", team="East")
    customer = make_customer()
    deploy(owner, "pm_lead_qualification.bpmn")
    started = agent.start("r16_pm_lead_qualification", {"customer_id": customer.id})
    after = agent.complete_ok(
        started["ready_tasks"][0]["id"], {"interested": True, "budget": 250000}
    )
    (review,) = after["ready_tasks"]
    assert (review["name"], review["lane"], after["data"]["score"]) == ("node_5", "manager", 100)
    assert boss.complete_ok(review["id"], {})["status"] == "completed"
    assert notes_of(db, customer.id) == []


# -- callbacks (Kogito): an event-based gateway, a timer and a message ------------------------


def test_a_kogito_callback_loop_calls_next_day_or_when_the_customer_asks(timed: Timed):
    deploy(timed.owner, "kogito_callbacks.bpmn")
    agent = timed.agent
    started = agent.start("r16_kogito_callbacks", {"attempts": 0}, business_key="lead-16")
    (first,) = started["ready_tasks"]
    assert (first["name"], first["title"], first["lane"]) == ("_CALL", "Call the customer", "agent")
    waiting = agent.complete_ok(first["id"], {"reached": False})
    assert {(w["kind"], w["name"]) for w in waiting["waiting"]} == {
        ("message", "callback_requested"),
        ("timer", "Next day"),
    }
    assert timed.advance(hours=23) == 0
    assert timed.advance(hours=1) == 1
    agent.complete_ok(my_task(agent)["id"], {"reached": False})
    sent = agent.post(
        "/api/v1/messages", json={"name": "callback_requested", "business_key": "lead-16"}
    )
    assert sent.status_code == 202, sent.get_json()
    done = agent.complete_ok(my_task(agent)["id"], {"reached": True})
    assert (done["status"], done["data"]["attempts"]) == ("completed", 3)
    assert timed.advance(days=2) == 0


# -- deal approval (Camunda 7): lanes, a converted form, an escalation to the director -------


def quote(owner: Actor, agent: Actor, boss: Actor, customer_id: int, pct: int) -> Any:
    deploy(owner, "camunda_deal_approval.bpmn")
    started = agent.start("r16_deal_approval", {"customer_id": customer_id})
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["lane"]) == ("Activity_quote", "agent")
    after = agent.complete_ok(prepare["id"], {"discount_pct": pct})
    assert after["data"]["rate"] == round(1 - pct / 100, 2)
    assert "__annotations__" not in after["data"]  # rate: float = …
    (check,) = after["ready_tasks"]
    assert (check["name"], check["lane"]) == ("Activity_check", "manager")
    return boss.complete_ok(check["id"], {})


def test_a_big_camunda_discount_brings_in_the_director_while_the_deal_goes_on(
    owner, agent, actor, make_customer, db
):
    boss = actor("manager", username="boss", team="East")
    director = actor("director", username="chief", team=None)
    customer = make_customer()
    after = quote(owner, agent, boss, customer.id, 30)
    (signoff,) = after["ready_tasks"]
    assert (signoff["name"], signoff["lane"]) == ("Activity_signoff", "director")
    assert notes_of(db, customer.id) == ["Deal approved at 30% off"]
    assert director.complete_ok(signoff["id"], {})["status"] == "completed"


def test_a_small_camunda_discount_needs_no_director_and_the_form_keeps_its_limits(
    owner, agent, actor, make_customer, db
):
    boss = actor("manager", username="boss", team="East")
    customer = make_customer()
    done = quote(owner, agent, boss, customer.id, 10)
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, customer.id) == ["Deal approved at 10% off"]
    started = agent.start("r16_deal_approval", {"customer_id": customer.id})
    too_much = agent.complete(started["ready_tasks"][0]["id"], {"discount_pct": 75})
    assert too_much.status_code == 422
    assert "discount_pct" in str(too_much.get_json()["error"]["details"])


# -- complaint handling (written with a chat assistant): a decision, an error path, a call ---

COMPLAINT = ("ai_complaint.bpmn", "complaint_priority.dmn")


def complain(owner: Actor, agent: Actor, customer_id: int, **data: Any) -> dict[str, Any]:
    deploy(owner, *COMPLAINT)
    return agent.start("r16_complaint", {"customer_id": customer_id, "ticket": "T-16", **data})


@pytest.mark.parametrize(
    ("severity", "order_value", "priority"),
    [
        ("legal", 50, "urgent"),
        ("billing", 20000, "high"),  # order_value >= 10000 and order_value < 1000000
        ("delivery", 900, "normal"),  # severity in ("billing", "delivery") and < 10000
        ("delivery", 2000000, "low"),
    ],
)
def test_the_assistants_decision_table_matches_its_python_cells_as_written(
    owner, agent, make_customer, severity, order_value, priority
):
    started = complain(owner, agent, make_customer().id, severity=severity, order_value=order_value)
    assert (started["status"], started["incidents"]) == ("running", [])
    assert started["data"]["priority"] == priority


def test_a_resolved_complaint_is_followed_up_in_the_called_process(owner, agent, make_customer, db):
    customer = make_customer()
    started = complain(owner, agent, customer.id, severity="delivery", order_value=900)
    assert started["data"]["summary"] == '{"severity": "delivery", "ticket": "T-16"}'
    assert sorted(started["data"]["tags"]) == ["complaint", "delivery"]  # a set, as a list
    assert "__annotations__" not in started["data"]  # summary: str = …
    (investigate,) = started["ready_tasks"]
    assert (investigate["name"], investigate["lane"]) == ("UserTask_Investigate", "agent")
    after = agent.complete_ok(investigate["id"], {"refund_requested": False})
    (call,) = after["ready_tasks"]
    assert (call["name"], call["lane"]) == ("UserTask_FollowUpCall", "agent")
    done = agent.complete_ok(call["id"], {"outcome": "settled"})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, customer.id) == ["Complaint T-16 (normal): settled"]


@pytest.mark.filterwarnings("ignore:Complaint T-16 has no order value")
def test_a_complaint_without_an_order_value_is_warned_about_and_goes_on(
    owner, agent, make_customer
):
    """The script warns (``warnings.warn``): Python's record of the warning is no data."""
    started = complain(owner, agent, make_customer().id, severity="billing", order_value=0)
    assert (started["status"], started["incidents"]) == ("running", [])
    assert started["data"]["priority"] == "normal"  # >= 0 and < 10000
    assert not [key for key in started["data"] if key.startswith("__")]


def test_a_big_refund_takes_the_error_path_to_the_manager(owner, agent, actor, make_customer):
    boss = actor("manager", username="boss", team="East")
    started = complain(owner, agent, make_customer().id, severity="billing", order_value=8000)
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {"refund_requested": True})
    (approve,) = after["ready_tasks"]
    assert (approve["name"], approve["lane"]) == ("UserTask_ApproveRefund", "manager")
    assert boss.complete_ok(approve["id"], {})["status"] == "completed"


def test_a_legal_complaint_goes_straight_to_the_manager(owner, agent, actor, make_customer):
    boss = actor("manager", username="boss", team="East")
    started = complain(owner, agent, make_customer().id, severity="legal", order_value=10)
    (urgent,) = started["ready_tasks"]
    assert (urgent["name"], urgent["lane"]) == ("UserTask_Urgent", "manager")
    assert boss.complete_ok(urgent["id"], {})["status"] == "completed"


# -- the files with the mistakes such tools and hands make: refused on the element and line --

APPROVAL = diagram("camunda_deal_approval.bpmn").decode()
OPERATOR_END = "</spiffworkflow:serviceTaskOperator>"
CONNECTOR = APPROVAL[
    APPROVAL.index("        <spiffworkflow:serviceTaskOperator") : APPROVAL.index(OPERATOR_END)
    + len(OPERATOR_END)
]
HTTP_CONNECTOR = """        <camunda:connector>
          <camunda:inputOutput>
            <camunda:inputParameter name="url">https://crm.example.com/notes</camunda:inputParameter>
            <camunda:inputParameter name="method">POST</camunda:inputParameter>
            <camunda:inputParameter name="payload">${payload}</camunda:inputParameter>
          </camunda:inputOutput>
          <camunda:connectorId>http-connector</camunda:connectorId>
        </camunda:connector>"""
URGENT_TASK = '<bpmn:userTask id="UserTask_Urgent" name="Handle the urgent complaint"'
FOLLOW_UP_START = '<bpmn:startEvent id="StartEvent_FollowUp">'
NEXT_DAY = '<bpmn2:timeDuration xsi:type="bpmn2:tFormalExpression">"PT24H"</bpmn2:timeDuration>'
NEXT_DAY_CYCLE = '<bpmn2:timeCycle xsi:type="bpmn2:tFormalExpression">"PT24H"</bpmn2:timeCycle>'
SCRIPT_END = 'tags = {severity, "complaint"}</bpmn:script>'

MISTAKES = [
    pytest.param(
        "ai_complaint.bpmn",
        [("refund_requested == True and", "refund_requested == true and")],
        "Flow_R3",
        '<bpmn:sequenceFlow id="Flow_R3"',
        ["uses 'true'", "Python writes it 'True'", "'refund_requested == True and order_value"],
        id="assistant-json-true-in-a-condition",
    ),
    pytest.param(
        "ai_complaint.bpmn",
        [
            (FOLLOW_UP_START, '<bpmn:startEvent id="StartEvent_Resolve">'),
            ('sourceRef="StartEvent_FollowUp"', 'sourceRef="StartEvent_Resolve"'),
            (">StartEvent_FollowUp<", ">StartEvent_Resolve<"),
        ],
        "StartEvent_Resolve",
        '<bpmn:startEvent id="StartEvent_Resolve">\n      <bpmn:outgoing>Flow_F1',
        ["id 'StartEvent_Resolve' is given to 2 elements of this file"],
        id="assistant-id-reused-in-the-second-process",
    ),
    pytest.param(
        "ai_complaint.bpmn",
        [("<bpmn:incoming>Flow_UrgentDone<", "<bpmn:incoming>Flow_RefundDone<")],
        "EndEvent_Urgent",
        "<bpmn:incoming>Flow_RefundDone</bpmn:incoming>\n    </bpmn:endEvent>\n\n    <bpmn:sub",
        ["lists incoming 'Flow_RefundDone'", "enters 'EndEvent_Refunded'"],
        id="assistant-incoming-list-against-the-flows",
    ),
    pytest.param(
        "ai_complaint.bpmn",
        [
            (
                'targetRef="SubProcess_Resolve"/>',
                'targetRef="SubProcess_Resolve">\n      <bpmn:conditionExpression>'
                'priority != "urgent"</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>',
            )
        ],
        "Flow_Normal",
        '<bpmn:sequenceFlow id="Flow_Normal"',
        ["is the default flow of 'Gateway_Urgent' and has a condition"],
        id="assistant-default-flow-with-a-condition",
    ),
    pytest.param(
        "ai_complaint.bpmn",
        [(SCRIPT_END, SCRIPT_END.replace("</bpmn:script>", "\nreturn summary</bpmn:script>"))],
        "ScriptTask_Log",
        '<bpmn:scriptTask id="ScriptTask_Log"',
        ["'return' outside function", "a script is no function", "every variable it sets"],
        id="assistant-script-returns",
    ),
    pytest.param(
        "ai_complaint.bpmn",
        [
            (
                URGENT_TASK,
                # ${manager} runs (the username in the data); a method call on it cannot
                URGENT_TASK + ' camunda:assignee="${manager.getUsername()}" '
                'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
            )
        ],
        "UserTask_Urgent",
        URGENT_TASK,
        ["camunda:assignee='${manager.getUsername()}'", "(a variable path)"],
        id="assistant-assignee-expression",
    ),
    pytest.param(
        "kogito_callbacks.bpmn",
        [(NEXT_DAY, NEXT_DAY_CYCLE)],
        "_NEXT_DAY",
        '<bpmn2:intermediateCatchEvent id="_NEXT_DAY"',
        ["a cycle timer (timeCycle) after an event-based gateway never fires"],
        id="assistant-pt24h-as-a-cycle",
    ),
    pytest.param(
        "kogito_callbacks.bpmn",
        [(' name="callback_requested"/>', "/>")],
        "_ASKED",
        '<bpmn2:intermediateCatchEvent id="_ASKED"',
        ["its message '_callback_requestedMessage' has no name", "name it"],
        id="assistant-message-without-a-name",
    ),
    pytest.param(
        "kogito_callbacks.bpmn",
        [
            (
                'scriptFormat="http://www.python.org/python"',
                'scriptFormat="http://www.java.com/java"',
            ),
            ("attempts = attempts + 1", 'kcontext.setVariable("attempts", attempts + 1);'),
        ],
        "_COUNT",
        '<bpmn2:scriptTask id="_COUNT"',
        ["'http://www.java.com/java'", "Dialflow runs Python scripts"],
        id="kogito-java-script",
    ),
    pytest.param(
        "camunda_deal_approval.bpmn",
        [(CONNECTOR, HTTP_CONNECTOR)],
        "Activity_note",
        "<camunda:connector>",
        ["<camunda:connector>", "Dialflow calls no web address", "subscribe a webhook"],
        id="camunda-http-connector",
    ),
    pytest.param(
        "camunda_deal_approval.bpmn",
        [(CONNECTOR, HTTP_CONNECTOR.replace("http-connector", "mail-send"))],
        "Activity_note",
        "<camunda:connector>",
        ["<camunda:connector>", "choose a service operator from the handler registry"],
        id="camunda-mail-connector",
    ),
    pytest.param(
        "pm_lead_qualification.bpmn",
        [('scriptFormat="application/x-python"', 'scriptFormat="application/x-php"')],
        "node_3",
        '<bpmn:scriptTask id="node_3"',
        ["'application/x-php'", "Dialflow runs Python scripts"],
        id="processmaker-php-script",
    ),
    pytest.param(
        "pm_lead_qualification.bpmn",
        [
            (
                '<bpmn:task id="node_2" name="Qualify the lead"',
                '<bpmn:task id="node_2" name="Qualify the lead" pm:screenRef="4"',
            )
        ],
        "node_2",
        '<bpmn:task id="node_2"',
        ["pm:screenRef='4'", "pick a JSON-Schema form"],
        id="processmaker-screen",
    ),
]

COMPANIONS = {"ai_complaint.bpmn": ["complaint_priority.dmn"]}


@pytest.mark.parametrize(("name", "changes", "element", "at", "expected"), MISTAKES)
def test_a_mistake_is_refused_on_its_element_and_line(
    owner, db, name, changes, element, at, expected
):
    text = edited(name, *changes)
    files = [(name, text)] + [(n, diagram(n)) for n in COMPANIONS.get(name, [])]
    details = refused(upload(owner, *files))
    assert {(d["element_id"], d["line"]) for d in details} == {(element, line_in(at, text))}
    said = " | ".join(d["message"] for d in details)
    for words in expected:
        assert words in said, (words, said)
    nothing_deployed(db)


def test_a_drawio_drawing_is_named_as_one(owner, db):
    drawing = (
        b'<mxfile host="app.diagrams.net" agent="Mozilla/5.0" version="24.7.17">'
        b'<diagram id="lead" name="Page-1"><mxGraphModel><root><mxCell id="0"/>'
        b'<mxCell id="2" value="Call lead" style="shape=mxgraph.bpmn.task;taskMarker=user;" '
        b'vertex="1" parent="0"/></root></mxGraphModel></diagram></mxfile>\n'
    )
    (detail,) = refused(upload(owner, ("lead_qualification.bpmn", drawing)))
    assert (detail["element_id"], detail["line"]) == (None, 1)
    assert "a draw.io (diagrams.net) drawing" in detail["message"]
    assert "upload the .bpmn file it saves" in detail["message"]
    nothing_deployed(db)
