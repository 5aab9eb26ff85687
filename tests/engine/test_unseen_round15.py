"""A fifteenth round of unseen diagrams, from tools no round drew with before: Eclipse BPMN2
Modeler (``bpmn2:`` prefix, ``ext:`` styles, typed ``itemDefinition``s, process properties,
input and output sets on tasks and events), Yaoqiang BPMN Editor (default namespace,
``yaoqiang:`` page settings, ids such as ``_5``, label styles, an XPath expression language
declared for the file), Visual Paradigm, Sparx Enterprise Architect (``EAID_`` ids), an Oracle
BPM / IBM BPM style export with numbered namespace prefixes (``ns3:``), and Bonita (``model:``
prefix, Groovy declared for the file). The processes: a lead qualified after its enrichment
message, callbacks scheduled until the customer is reached, a deal approved in lanes with an
escalation to the director, a complaint with an error path and a called follow-up, leads graded
by a decision table. Then the files as the tools export them, one mistake each, refused with
``422 invalid_bpmn`` on the element and line, nothing deployed.
"""

from __future__ import annotations

from typing import Any

import pytest

from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.engine.conftest import Actor, Timed, notes_of, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    line_in,
    nothing_deployed,
    upload,
)
from web import create_app

UNSEEN15 = DiagramFolder("unseen15")
diagram, edited, deploy = UNSEEN15.read, UNSEEN15.edited, UNSEEN15.deploy


# -- lead qualification (Eclipse BPMN2 Modeler): a message, lanes, properties, io sets -------


def qualify(owner: Actor, agent: Actor, customer_id: int, **data: Any) -> dict[str, Any]:
    deploy(owner, "lead_qualification.bpmn")
    started = agent.start(
        "r15_lead_qualification", {"customer_id": customer_id}, business_key=str(customer_id)
    )
    assert started["ready_tasks"] == [] and started["status"] == "waiting"
    sent = agent.post(
        "/api/v1/messages",
        json={
            "name": "lead_enriched",
            "business_key": str(customer_id),
            "payload": {"source": "web", "budget": data.pop("budget")},
        },
    )
    assert sent.status_code == 202, sent.get_json()
    (qualify_task,) = agent.tasks("mine=1") or agent.tasks("candidate=1")
    assert qualify_task["name"] == "UserTask_1"
    return agent.complete_ok(qualify_task["id"], data)


def test_an_enriched_lead_with_interest_is_noted_as_qualified(owner, agent, make_customer, db):
    customer = make_customer()
    done = qualify(owner, agent, customer.id, budget=20000, interested=True)
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Qualified: budget 20000, source web"]


def test_a_big_budget_goes_to_the_manager_lane(owner, agent, actor, make_customer, db):
    boss = actor("manager", username="boss", team="East")
    customer = make_customer()
    after = qualify(owner, agent, customer.id, budget=250000, interested=True)
    (review,) = after["ready_tasks"]
    assert (review["name"], review["lane"]) == ("UserTask_2", "manager")
    assert boss.complete_ok(review["id"], {})["status"] == "completed"
    assert notes_of(db, customer.id) == []


def test_no_interest_ends_by_the_default_flow(owner, agent, make_customer):
    done = qualify(owner, agent, make_customer().id, budget=5, interested=False)
    assert done["status"] == "completed", done["incidents"]


# -- callback scheduling (Yaoqiang): a loop through an event-based gateway -------------------


def call_task(agent: Actor) -> dict[str, Any]:
    (task,) = agent.tasks("mine=1") or agent.tasks("candidate=1")
    assert (task["name"], task["lane"]) == ("_6", "agent")
    return task


def test_a_customer_not_reached_is_called_again_next_day_or_when_they_ask(
    timed: Timed, make_customer, db
):
    deploy(timed.owner, "callback_scheduling.bpmn")
    agent, customer = timed.agent, make_customer()
    started = agent.start(
        "r15_callbacks", {"customer_id": customer.id, "attempts": 0}, business_key="c-7"
    )
    first = agent.complete_ok(started["ready_tasks"][0]["id"], {"reached": False})
    assert first["ready_tasks"] == [] and first["status"] == "waiting"
    assert timed.advance(hours=23) == 0
    assert timed.advance(hours=1) == 1  # the next day: called again
    second = call_task(agent)
    waiting = agent.complete_ok(second["id"], {"reached": False})
    assert waiting["status"] == "waiting"
    sent = agent.post(
        "/api/v1/messages", json={"name": "callback_requested", "business_key": "c-7"}
    )
    assert sent.status_code == 202, sent.get_json()
    third = call_task(agent)
    assert timed.advance(days=2) == 0  # the message took the gateway: no timer left
    done = agent.complete_ok(third["id"], {"reached": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["attempts"] == 3
    assert done["data"]["data_objects"] == {"attempt_log": f"attempt 3 at {customer.id}"}
    assert notes_of(db, customer.id) == [
        f"Reached after 3 attempt(s), last: attempt 3 at {customer.id}"
    ]


DAY_TIMER = """      <timerEventDefinition id="_12_ED_1">
        <timeDuration><![CDATA["P1D"]]></timeDuration>
      </timerEventDefinition>"""
MESSAGE = """  <message id="MSG_1" name="callback_requested"/>"""


def declared_once(reference: str) -> bytes:
    """The callback diagram with its day timer declared in <definitions> and the catch event
    naming it by an eventDefinitionRef, as BPMN's schema allows."""
    return edited(
        "callback_scheduling.bpmn",
        (DAY_TIMER, f"      <eventDefinitionRef>{reference}</eventDefinitionRef>"),
        (MESSAGE, MESSAGE + "\n" + DAY_TIMER.replace('id="_12_ED_1"', 'id="TED_day"')),
    )


def test_a_timer_declared_once_and_referenced_by_the_event_fires(timed: Timed, make_customer):
    assert upload(timed.owner, ("callbacks.bpmn", declared_once("tns:TED_day"))).status_code == 201
    agent = timed.agent
    started = agent.start("r15_callbacks", {"customer_id": make_customer().id, "attempts": 0})
    waiting = agent.complete_ok(started["ready_tasks"][0]["id"], {"reached": False})
    assert {(w["kind"], w["name"]) for w in waiting["waiting"]} == {
        ("message", "callback_requested"),
        ("timer", "Next day"),
    }
    assert timed.advance(days=1) == 1
    assert call_task(agent)["name"] == "_6"


# -- complaint handling (ns3: export) with its follow-up (Enterprise Architect) ---------------

COMPLAINT = ("complaint_handling.bpmn", "followup_call.bpmn")


def complain(owner: Actor, agent: Actor, customer_id: int, **verified: Any) -> dict[str, Any]:
    deploy(owner, *COMPLAINT)
    started = agent.start("r15_complaint", {"customer_id": customer_id, "ticket": "T-15"})
    (verify,) = started["ready_tasks"]
    assert (verify["name"], verify["lane"]) == ("VERIFY", "agent")
    return agent.complete_ok(verify["id"], verified)


def test_a_settled_complaint_is_followed_up_in_the_called_process(owner, agent, make_customer):
    after = complain(owner, agent, make_customer().id, wants_refund=False, refund_allowed=False)
    (call,) = after["ready_tasks"]
    assert call["name"] == "EAID_T0000001_5B4D_4e1a_9C2E_0A1B2C3D4E5F"
    assert call["lane"] == "agent"
    done = agent.complete_ok(call["id"], {"settled": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["followed_up"] == "settled"


EA_SCRIPT = "      <bpmn:script>followed_up"
EA_FLOW = '    <bpmn:sequenceFlow id="EAID_F0000001'
EA_OBJECT = "EAID_0A1B2C3D_5B4D_4e1a_9C2E_0A1B2C3D4E5F"
EA_REFERENCE = "EAID_DA000001_5B4D_4e1a_9C2E_0A1B2C3D4E5F"


def test_an_enterprise_architect_data_object_holds_what_the_script_wrote(owner, agent):
    """Enterprise Architect gives a data object an ``EAID_`` id and shows its name: the
    script writes the name, and the data object holds it."""
    text = edited(
        "followup_call.bpmn",
        (
            EA_SCRIPT,
            "      <bpmn:dataOutputAssociation>"
            f"<bpmn:targetRef>{EA_REFERENCE}</bpmn:targetRef></bpmn:dataOutputAssociation>\n"
            + EA_SCRIPT,
        ),
        (
            EA_FLOW,
            f'    <bpmn:dataObject id="{EA_OBJECT}" name="followed_up"/>\n'
            f'    <bpmn:dataObjectReference id="{EA_REFERENCE}" name="followed_up" '
            f'dataObjectRef="{EA_OBJECT}"/>\n' + EA_FLOW,
        ),
    )
    assert upload(owner, ("followup_call.bpmn", text)).status_code == 201
    started = agent.start("EAID_7F3C2A10_5B4D_4e1a_9C2E_0A1B2C3D4E5F", {})
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"settled": True})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["data_objects"] == {"followed_up": "settled"}


def test_the_follow_up_deployed_before_is_called_by_its_prefixed_name(owner, agent, make_customer):
    """The caller names the called process ``ea:EAID_…``, the Enterprise Architect file's
    namespace: deployed later on its own, it still reaches the version deployed before."""
    deploy(owner, "followup_call.bpmn")
    deploy(owner, "complaint_handling.bpmn")
    started = agent.start("r15_complaint", {"customer_id": make_customer().id, "ticket": "T"})
    after = agent.complete_ok(
        started["ready_tasks"][0]["id"], {"wants_refund": False, "refund_allowed": False}
    )
    (call,) = after["ready_tasks"]
    assert call["name"] == "EAID_T0000001_5B4D_4e1a_9C2E_0A1B2C3D4E5F"
    assert agent.complete_ok(call["id"], {"settled": False})["data"]["followed_up"] == "open"


def test_a_refused_refund_takes_the_error_path_to_the_manager_in_another_worker(
    owner, agent, actor, make_customer, db, settings: Settings
):
    """The error and the boundary event it reaches are named by ``tns:`` QNames; another
    worker (a restart) parses the stored file afresh and routes the error the same way."""
    boss = actor("manager", username="boss", team="East")
    customer = make_customer()
    deploy(owner, *COMPLAINT)
    started = agent.start("r15_complaint", {"customer_id": customer.id, "ticket": "T-15"})
    other = Runtime.build(settings)
    try:
        client = create_app({"TESTING": True}, runtime=other).test_client()
        response = client.post(
            f"/api/v1/tasks/{started['ready_tasks'][0]['id']}/complete",
            headers=agent.headers,
            json={"data": {"wants_refund": True, "refund_allowed": False}},
        )
    finally:
        other.close()
    assert response.status_code == 200, response.get_json()
    (goodwill,) = response.get_json()["ready_tasks"]
    assert (goodwill["name"], goodwill["lane"]) == ("GOODWILL", "manager")
    assert notes_of(db, customer.id) == ["Complaint T-15: refund refused"]
    assert boss.complete_ok(goodwill["id"], {})["status"] == "completed"


# -- deal approval (Visual Paradigm, tns: references): an escalation to the director ---------


def approve(owner: Actor, agent: Actor, boss: Actor, customer_id: int, discount: float) -> Any:
    deploy(owner, "deal_approval.bpmn")
    started = agent.start("r15_deal_approval", {"customer_id": customer_id})
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {"discount": discount})
    (check,) = after["ready_tasks"]
    assert (check["name"], check["lane"]) == ("_r_check", "manager")
    return boss.complete_ok(check["id"], {})


def test_a_big_discount_escalates_to_the_director_while_the_deal_goes_on(
    owner, agent, actor, make_customer, db
):
    boss = actor("manager", username="boss", team="East")
    director = actor("director", username="chief", team=None)
    customer = make_customer()
    after = approve(owner, agent, boss, customer.id, 0.3)
    (signoff,) = after["ready_tasks"]
    assert (signoff["name"], signoff["lane"]) == ("_signoff", "director")
    assert notes_of(db, customer.id) == ["Deal approved at 30% off"]
    assert director.complete_ok(signoff["id"], {})["status"] == "completed"


def test_a_small_discount_needs_no_director(owner, agent, actor, make_customer, db):
    boss = actor("manager", username="boss", team="East")
    customer = make_customer()
    done = approve(owner, agent, boss, customer.id, 0.1)
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Deal approved at 10% off"]


# -- lead grading (Bonita, model: prefix, Groovy declared for the file) and its DMN ----------

GRADING = ("lead_grading.bpmn", "lead_grade.dmn")


def test_a_lead_is_graded_by_the_table_and_a_hot_one_called_today(owner, agent):
    deploy(owner, *GRADING)
    hot = agent.start("r15_lead_grading", {"budget": 80000})
    assert hot["data"]["grade"] == "A"
    (call,) = hot["ready_tasks"]
    assert (call["name"], call["lane"]) == ("_Rk6LfI5fEe-7Yf0hCwQm1w", "agent")
    assert agent.complete_ok(call["id"], {})["status"] == "completed"
    cold = agent.start("r15_lead_grading", {"budget": 900})
    assert (cold["status"], cold["data"]["grade"], cold["ready_tasks"]) == ("completed", "B", [])


# -- the tools' files, one mistake each: refused on the element and line ---------------------

ECLIPSE_CATCH = '      <bpmn2:outputSet id="OutputSet_2" name="Output Set 2"/>'
ECLIPSE_MAPPED = """      <bpmn2:dataOutput id="DataOutput_1" name="Message_1_Output"/>
      <bpmn2:dataOutputAssociation id="DataOutputAssociation_1">
        <bpmn2:sourceRef>DataOutput_1</bpmn2:sourceRef>
        <bpmn2:targetRef>budget</bpmn2:targetRef>
      </bpmn2:dataOutputAssociation>
      <bpmn2:outputSet id="OutputSet_2" name="Output Set 2">
        <bpmn2:dataOutputRefs>DataOutput_1</bpmn2:dataOutputRefs>
      </bpmn2:outputSet>"""
ECLIPSE_IO = '        <bpmn2:inputSet id="InputSet_1" name="Input Set 1"/>'
ECLIPSE_INPUT = """        <bpmn2:dataInput id="DataInput_1" name="budget"/>
        <bpmn2:inputSet id="InputSet_1" name="Input Set 1">
          <bpmn2:dataInputRefs>DataInput_1</bpmn2:dataInputRefs>
        </bpmn2:inputSet>"""
CONDITION_1 = (
    '<bpmn2:conditionExpression xsi:type="bpmn2:tFormalExpression" id="FormalExpression_1">'
)
YAO_TIMER = '<timeDuration><![CDATA["P1D"]]></timeDuration>'
ORACLE_ERROR = '<ns3:errorEventDefinition id="ERR_DEF2" errorRef="tns:REFUND_REFUSED"/>'
VP_ESCALATION = '<bpmn2:escalationEventDefinition id="_big_def" escalationRef="tns:_esc_big"/>'
BONITA_CONDITION = 'evaluatesToTypeRef="java:java.lang.Boolean">grade == "A"'

REVIEW_IO = '<bpmn2:ioSpecification id="InputOutputSpecification_3">'
REVIEW_IO_END = """        <bpmn2:outputSet id="OutputSet_5" name="Output Set 5"/>
      </bpmn2:ioSpecification>"""
YAO_CATCH = """      <incoming>_26</incoming>
      <outgoing>_27</outgoing>
      <outputSet/>"""
YAO_CATCH_MOVED = """      <outputSet/>
      <incoming>_26</incoming>
      <outgoing>_27</outgoing>"""

BIG_BUDGET_FLOW = '<bpmn2:sequenceFlow id="SequenceFlow_6" tns:priority="1"'
EXPORTED = [
    pytest.param(
        "lead_qualification.bpmn",
        [(ECLIPSE_CATCH, ECLIPSE_MAPPED)],
        "IntermediateCatchEvent_1",
        '<bpmn2:dataOutputAssociation id="DataOutputAssociation_1">',
        [
            "dataOutputAssociation DataOutputAssociation_1 writes process property 'budget'",
            "leave out the association",
            "<spiffworkflow:messageVariable>budget</spiffworkflow:messageVariable>",
        ],
        id="eclipse-message-output-to-a-property",
    ),
    pytest.param(
        "lead_qualification.bpmn",
        [(ECLIPSE_IO, ECLIPSE_INPUT)],
        "UserTask_1",
        '<bpmn2:userTask id="UserTask_1"',
        ["ioSpecification declares data inputs or outputs ('budget')", "leave them out"],
        id="eclipse-task-data-input",
    ),
    pytest.param(
        "lead_qualification.bpmn",
        [(CONDITION_1, CONDITION_1[:-1] + ' language="http://www.java.com/java">')],
        "SequenceFlow_4",
        'id="FormalExpression_1" language=',
        [
            "'http://www.java.com/java'",
            "Dialflow evaluates Python",
            "leave out its language attribute",
        ],
        id="eclipse-java-condition",
    ),
    pytest.param(
        "lead_qualification.bpmn",
        [(REVIEW_IO_END, REVIEW_IO_END + '\n      <bpmn2:standardLoopCharacteristics id="SL_1"/>')],
        "UserTask_2",
        '<bpmn2:userTask id="UserTask_2"',
        ["a standard loop needs a loopCondition", "loopMaximum"],
        id="eclipse-loop-marker-without-condition",
    ),
    pytest.param(
        "lead_qualification.bpmn",
        [
            (
                REVIEW_IO,
                '<bpmn2:standardLoopCharacteristics id="SL_1" loopMaximum="2"/>\n' + REVIEW_IO,
            )
        ],
        "InputOutputSpecification_3",
        REVIEW_IO,
        [
            "<ioSpecification> is out of order in <userTask> 'UserTask_2'",
            "dataOutputAssociation, performers, loop characteristics",
            "move it before <standardLoopCharacteristics>",
        ],
        id="eclipse-loop-before-io-specification",
    ),
    pytest.param(
        "callback_scheduling.bpmn",
        [(YAO_CATCH, YAO_CATCH_MOVED)],
        "_11",
        YAO_CATCH_MOVED.split("\n")[1],
        [
            "<incoming> is out of order in <intermediateCatchEvent> '_11'",
            "its input or output set, then its event definitions",
            "move it before <outputSet>",
        ],
        id="yaoqiang-output-set-before-flows",
    ),
    pytest.param(
        "lead_qualification.bpmn",
        [(BIG_BUDGET_FLOW, BIG_BUDGET_FLOW.replace('priority="1"', 'priority="0"'))],
        "SequenceFlow_6",
        '<bpmn2:sequenceFlow id="SequenceFlow_6"',
        ["tns:priority='0'", "write the gateway's flows in the order of their priorities"],
        id="eclipse-priorities-against-the-written-order",
    ),
    pytest.param(
        "callback_scheduling.bpmn",
        [(YAO_TIMER, "<timeDuration><![CDATA[PT24X]]></timeDuration>")],
        "_12",
        '<intermediateCatchEvent id="_12"',
        ["'PT24X'", "is not a valid ISO 8601 duration"],
        id="yaoqiang-misspelt-timer",
    ),
    pytest.param(
        "callback_scheduling.bpmn",
        [('messageRef="MSG_1"', 'messageRef="tns:MSG_9"')],
        "_11",
        '<intermediateCatchEvent id="_11"',
        ["messageRef 'MSG_9'", "<bpmn:message"],
        id="yaoqiang-message-missing",
    ),
    pytest.param(
        "callback_scheduling.bpmn",
        [
            (DAY_TIMER, "      <eventDefinitionRef>TED_night</eventDefinitionRef>"),
            (MESSAGE, MESSAGE + "\n" + DAY_TIMER.replace('id="_12_ED_1"', 'id="TED_day"')),
        ],
        "_12",
        "<eventDefinitionRef>TED_night",
        ["eventDefinitionRef 'TED_night' names no event definition", "wait for nothing"],
        id="definition-reference-to-nothing",
    ),
    pytest.param(
        "complaint_handling.bpmn",
        [(ORACLE_ERROR, ORACLE_ERROR.replace("tns:", "ns4:"))],
        "REFUSED",
        '<ns3:boundaryEvent id="REFUSED"',
        [
            "errorRef 'ns4:REFUND_REFUSED' names no <bpmn:error> of this file",
            "its prefix 'ns4:' is bound to 'http://www.omg.org/spec/BPMN/20100524/DI'",
            "write the bare id 'REFUND_REFUSED'",
        ],
        id="oracle-error-in-another-namespace",
    ),
    pytest.param(
        "deal_approval.bpmn",
        [(VP_ESCALATION, VP_ESCALATION.replace("tns:_esc_big", "tns:_esc_huge"))],
        "_big",
        '<bpmn2:boundaryEvent id="_big"',
        # said once: that nothing throws it follows from its naming no escalation
        ["escalationRef '_esc_huge' names no <bpmn:escalation> of this file; declare it"],
        id="vp-escalation-missing",
    ),
    pytest.param(
        "lead_grading.bpmn",
        [
            (
                BONITA_CONDITION,
                BONITA_CONDITION.replace('">', '" language="http://groovy.apache.org/">'),
            )
        ],
        "_Rk6LlI5fEe-7Yf0hCwQm1w",
        'language="http://groovy.apache.org/"',
        [
            "'http://groovy.apache.org/'",
            "Dialflow evaluates Python",
            "leave out its language attribute",
        ],
        id="bonita-groovy-condition",
    ),
    pytest.param(
        "lead_grading.bpmn",
        [('id="Lead_grading_laneSet"', 'id="Lead grading_laneSet"')],
        "Lead grading_laneSet",
        '<model:laneSet id="Lead grading_laneSet">',
        ["no valid XML id"],
        id="bonita-pool-name-in-an-id",
    ),
]

COMPANIONS = {
    "complaint_handling.bpmn": ["followup_call.bpmn"],
    "lead_grading.bpmn": ["lead_grade.dmn"],
}


@pytest.mark.parametrize(("name", "changes", "element", "at", "expected"), EXPORTED)
def test_a_mistake_in_a_tools_file_is_refused_on_its_element_and_line(
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


def test_a_call_activity_mapping_a_process_property_is_told_what_a_call_passes(owner, db):
    """Eclipse maps a process property into a called process through the call activity's
    data input: the association is refused with what a call passes instead."""
    text = edited(
        "lead_qualification.bpmn",
        (
            '<bpmn2:userTask id="UserTask_2" name="Review the big budget">',
            '<bpmn2:callActivity id="UserTask_2" name="Review the big budget" '
            'calledElement="r15_lead_qualification">',
        ),
        (
            REVIEW_IO + "\n        <bpmn2:inputSet",
            REVIEW_IO
            + '\n        <bpmn2:dataInput id="DataInput_5" name="budget"/>'
            + "\n        <bpmn2:inputSet",
        ),
        (
            REVIEW_IO_END + "\n    </bpmn2:userTask>",
            REVIEW_IO_END
            + '\n      <bpmn2:dataInputAssociation id="DataInputAssociation_5">'
            + "<bpmn2:sourceRef>budget</bpmn2:sourceRef>"
            + "<bpmn2:targetRef>DataInput_5</bpmn2:targetRef></bpmn2:dataInputAssociation>"
            + "\n    </bpmn2:callActivity>",
        ),
    )
    details = refused(upload(owner, ("lead_qualification.bpmn", text)))
    said = {(d["element_id"], d["line"]): d["message"] for d in details}
    association = line_in("<bpmn2:dataInputAssociation", text)
    assert set(said) == {("UserTask_2", association)}
    assert "reads process property 'budget'" in said["UserTask_2", association]
    assert "a call activity passes the caller's data in" in said["UserTask_2", association]
    nothing_deployed(db)
