"""JUEL conditions (``${amount > 1000}``), as Flowable, Camunda 7 and Activiti write every
gateway condition, run as drawn, with the Expression Language's coercions: numbers typed into
a form as text compare as numbers, a variable the data lacks is null and a comparison with
null is false, ``empty`` holds for null, "" and [], ``lead.source`` reads a map's key. What EL
cannot coerce (``"abc" > 5``) is an incident on the gateway naming the flow; what is outside
what runs (Java methods, the engine's beans) is refused at deploy on its element and line.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, by_element, refused

FLOWABLE = 'xmlns:flowable="http://flowable.org/bpmn"'
CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
ACTIVITI = 'xmlns:activiti="http://activiti.org/bpmn"'


def diagram(process_id: str, body: str, engine: str = FLOWABLE) -> bytes:
    """A file as Flowable UI, Camunda Modeler and the Activiti designer write one: ``bpmn2:``
    elements, ``xsi:type`` conditions."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn2:definitions xmlns:bpmn2="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        f'  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" {engine}\n'
        '  id="defs" targetNamespace="http://www.flowable.org/processdef">\n'
        f'  <bpmn2:process id="{process_id}" isExecutable="true">\n{body}\n'
        "  </bpmn2:process>\n</bpmn2:definitions>\n"
    ).encode()


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn2:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />'
    return (
        f'<bpmn2:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">\n'
        f'  <bpmn2:conditionExpression xsi:type="bpmn2:tFormalExpression">'
        f"<![CDATA[{condition}]]></bpmn2:conditionExpression>\n"
        "</bpmn2:sequenceFlow>"
    )


def router(process_id: str, branches: dict[str, str], engine: str = FLOWABLE) -> bytes:
    """Start → exclusive gateway → one user task per branch (its condition), or ``other``."""
    tasks = [*branches, "other"]
    body = [
        '<bpmn2:startEvent id="start" />',
        '<bpmn2:exclusiveGateway id="route" name="Route" default="to_other" />',
        flow("to_route", "start", "route"),
        flow("to_other", "route", "other"),
    ]
    for task in tasks:
        body.append(f'<bpmn2:userTask id="{task}" name="{task}" />')
        body.append(f'<bpmn2:endEvent id="end_{task}" />')
        body.append(flow(f"done_{task}", task, f"end_{task}"))
    for task, condition in branches.items():
        body.append(flow(f"to_{task}", "route", task, condition))
    return diagram(process_id, "\n".join(body), engine)


def deploy(owner: Actor, name: str, content: bytes) -> None:
    response = owner.upload(extra=[(name, content)])
    assert response.status_code in (200, 201), response.get_json()


def path(agent: Actor, process_id: str, data: dict[str, Any]) -> str:
    """The task the instance started with ``data`` waits at."""
    started = agent.start(process_id, data)
    assert not started["incidents"], started["incidents"]
    (task,) = started["ready_tasks"]
    return str(task["name"])


# -- lead routing by amount and source (Flowable) -----------------------------------------

LEAD_ROUTING = router(
    "lead_routing",
    {
        "key_account": '${amount > 50000 && lead.source == "referral"}',
        "senior": "${amount gt 10000}",
        "junior": "#{amount >= 1 and not empty lead}",
    },
)


@pytest.mark.parametrize(
    ("data", "task"),
    [
        ({"amount": "60000", "lead": {"source": "referral"}}, "key_account"),  # text from a form
        ({"amount": 60000, "lead": {"source": "web"}}, "senior"),
        ({"amount": 12000.5, "lead": {}}, "senior"),  # a Double compares as one
        ({"amount": "800", "lead": {"source": "web"}}, "junior"),
        ({"amount": 800, "lead": {}}, "other"),  # an empty map is empty
        ({"amount": None, "lead": {"source": "referral"}}, "other"),  # null compares false
        ({}, "other"),  # nothing set: null, no error
    ],
)
def test_leads_are_routed_by_amount_and_source_as_flowable_routes_them(owner, agent, data, task):
    deploy(owner, "lead_routing.bpmn20.xml", LEAD_ROUTING)
    assert path(agent, "lead_routing", data) == task


@pytest.mark.parametrize("amount", ["abc", "12000.5"])  # 50000 is a Long: so must the text be
def test_an_amount_el_cannot_compare_is_an_incident_naming_the_flow(owner, agent, amount):
    deploy(owner, "lead_routing.bpmn20.xml", LEAD_ROUTING)
    started = agent.start("lead_routing", {"amount": amount, "lead": {"source": "web"}})
    (incident,) = started["incidents"]
    assert incident["element_id"] == "route"
    message = incident["message"]
    assert "to 'key_account'" in message
    assert '${amount > 50000 && lead.source == "referral"}' in message
    assert f"amount = {amount!r}" in message
    assert f"comparing {amount!r} > 50000: {amount!r} is no whole number" in message
    # the data fixed, a retry routes the lead
    instance_id = started["id"]
    fixed = owner.post(
        f"/api/v1/process-instances/{instance_id}/retry", json={"data": {"amount": 70000}}
    )
    assert fixed.status_code == 200, fixed.get_json()
    (task,) = agent.instance(instance_id)["ready_tasks"]
    assert task["name"] == "senior"


def test_a_variable_named_like_the_conditions_helpers_does_not_change_them(owner, agent):
    deploy(owner, "lead_routing.bpmn20.xml", LEAD_ROUTING)
    data = {"amount": 5, "lead": {"source": "web"}, "_el_vars": {"amount": 99999}}
    data |= {"_el_gt": True, "_el_condition": 1}
    assert path(agent, "lead_routing", data) == "junior"


# -- deal approval by discount (Camunda 7) ------------------------------------------------

DEAL_APPROVAL = diagram(
    "deal_approval",
    "\n".join(
        [
            '<bpmn2:startEvent id="start" />',
            '<bpmn2:exclusiveGateway id="by_discount" default="to_auto" />',
            '<bpmn2:userTask id="director" />',
            '<bpmn2:userTask id="manager" />',
            '<bpmn2:exclusiveGateway id="decided" />',
            '<bpmn2:userTask id="quote" />',
            '<bpmn2:userTask id="revise" />',
            '<bpmn2:endEvent id="end" />',
            '<bpmn2:endEvent id="end_revise" />',
            flow("to_gate", "start", "by_discount"),
            flow("to_director", "by_discount", "director", "${discount * 100 ge 20}"),
            flow(
                "to_manager",
                "by_discount",
                "manager",
                '${execution.getVariable("discount") > 0.1 && discount < 0.2}',
            ),
            flow("to_auto", "by_discount", "quote"),
            flow("director_done", "director", "decided"),
            flow("manager_done", "manager", "decided"),
            flow("approved", "decided", "quote", "${approved}"),
            flow("rejected", "decided", "revise", "${!approved}"),
            flow("quoted", "quote", "end"),
            flow("revised", "revise", "end_revise"),
        ]
    ),
    CAMUNDA,
)


@pytest.mark.parametrize(
    ("discount", "approver", "approved", "task"),
    [
        ("0.25", "director", "true", "quote"),  # a form's text; "true" coerces to Boolean
        (0.15, "manager", "FALSE", "revise"),
        (0.15, "manager", None, "revise"),  # nothing chosen: null is false
        ("", "quote", None, None),  # "" is 0 in EL's arithmetic: no approval needed
    ],
)
def test_a_discount_is_approved_by_whom_camunda_routes_it_to(
    owner, agent, discount, approver, approved, task
):
    deploy(owner, "deal_approval.bpmn", DEAL_APPROVAL)
    started = agent.start("deal_approval", {"discount": discount})
    assert not started["incidents"], started["incidents"]
    (first,) = started["ready_tasks"]
    assert first["name"] == approver
    if task is None:
        return
    after = agent.complete_ok(first["id"], {"approved": approved})
    assert not after["incidents"], after["incidents"]
    assert [t["name"] for t in after["ready_tasks"]] == [task]


# -- complaint handling by grade (Activiti) ------------------------------------------------

COMPLAINT = router(
    "complaint",
    {
        "escalate": '${grade eq "A" && score ge 80 || vip == "true"}',
        "ask_notes": "${empty notes}",
        "refund": "${(amount - refunded) div 2 > 100 and amount mod 2 == 0}",
    },
    ACTIVITI,
)


@pytest.mark.parametrize(
    ("data", "task"),
    [
        ({"grade": "A", "score": "85", "notes": []}, "escalate"),
        ({"grade": "A", "score": 79, "notes": [], "vip": True}, "escalate"),  # true == "true"
        ({"grade": "B", "score": 99, "notes": []}, "ask_notes"),
        ({"grade": "B", "notes": ""}, "ask_notes"),
        ({"grade": "B", "notes": ["rude"], "amount": "500", "refunded": None}, "refund"),
        ({"grade": "B", "notes": ["rude"], "amount": 501, "refunded": 0}, "other"),
        ({"grade": "B", "notes": ["rude"]}, "other"),  # null - null is 0
    ],
)
def test_complaints_are_handled_by_grade_as_activiti_handles_them(owner, agent, data, task):
    deploy(owner, "complaint.bpmn", COMPLAINT)
    assert path(agent, "complaint", data) == task


# -- a countersign done when half agreed (Flowable's counters) -----------------------------

COUNTERSIGN = diagram(
    "countersign",
    "\n".join(
        [
            '<bpmn2:startEvent id="start" />',
            '<bpmn2:userTask id="vote">',
            '  <bpmn2:multiInstanceLoopCharacteristics isSequential="false">',
            "    <bpmn2:loopDataInputRef>approvers</bpmn2:loopDataInputRef>",
            '    <bpmn2:inputDataItem id="approver" />',
            '    <bpmn2:completionCondition xsi:type="bpmn2:tFormalExpression">'
            "${nrOfCompletedInstances / nrOfInstances >= 0.5}</bpmn2:completionCondition>",
            "  </bpmn2:multiInstanceLoopCharacteristics>",
            "</bpmn2:userTask>",
            '<bpmn2:userTask id="after" />',
            '<bpmn2:endEvent id="end" />',
            flow("f1", "start", "vote"),
            flow("f2", "vote", "after"),
            flow("f3", "after", "end"),
        ]
    ),
)


def test_a_countersign_completes_when_half_of_the_approvers_voted(owner, agent):
    deploy(owner, "countersign.bpmn20.xml", COUNTERSIGN)
    started = agent.start("countersign", {"approvers": ["a", "b", "c", "d"]})
    votes = started["ready_tasks"]
    assert [t["name"] for t in votes] == ["vote"] * 4
    once = agent.complete_ok(votes[0]["id"], {})
    assert sorted(t["name"] for t in once["ready_tasks"]) == ["vote"] * 3  # 1 of 4
    twice = agent.complete_ok(votes[1]["id"], {})
    assert [t["name"] for t in twice["ready_tasks"]] == ["after"]  # 2 of 4: half


# -- a standard loop's condition ----------------------------------------------------------

CALL_AGAIN = diagram(
    "call_again",
    "\n".join(
        [
            '<bpmn2:startEvent id="start" />',
            '<bpmn2:scriptTask id="dial">',
            '  <bpmn2:standardLoopCharacteristics loopMaximum="5">',
            '    <bpmn2:loopCondition xsi:type="bpmn2:tFormalExpression">'
            "${attempts lt max_attempts}</bpmn2:loopCondition>",
            "  </bpmn2:standardLoopCharacteristics>",
            "  <bpmn2:script>attempts = attempts + 1</bpmn2:script>",
            "</bpmn2:scriptTask>",
            '<bpmn2:endEvent id="end" />',
            flow("f1", "start", "dial"),
            flow("f2", "dial", "end"),
        ]
    ),
)


@pytest.mark.parametrize(("data", "attempts"), [({"max_attempts": "3"}, 3), ({}, 1)])
def test_a_loop_goes_on_while_its_juel_condition_holds(owner, agent, data, attempts):
    deploy(owner, "call_again.bpmn", CALL_AGAIN)
    done = agent.start("call_again", {"attempts": 0, **data})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["attempts"] == attempts  # no cap set: null compares false, one pass


# -- what does not run is refused at deploy, on its element and line ----------------------


@pytest.mark.parametrize(
    ("condition", "said"),
    [
        ("${notes.stream().count() > 0}", ".stream(…) calls a Java method"),
        ('${execution.setVariable("vip", true)}', "execution is set by the Java engines"),
        ("${leadService.isHot(lead)}", ".isHot(…) calls a Java method"),
        ("${loopCounter > 2}", "loopCounter is set by the Java engines"),
        ("${amount instanceof java.lang.Long}", "instanceof tests a Java class"),
        ("${amount > }", "out of place"),
    ],
)
def test_a_condition_outside_what_runs_is_refused_on_its_flow(owner, condition, said):
    content = router("refused_route", {"hot": condition})
    response = owner.upload(extra=[("refused_route.bpmn20.xml", content)])
    details = refused(response)
    message = by_element(details)["to_hot"]
    assert said in message
    assert "is a JUEL expression Dialflow does not run" in message
    (detail,) = [d for d in details if d["element_id"] == "to_hot"]
    line = next(
        number
        for number, text in enumerate(content.decode().splitlines(), 1)
        if 'id="to_hot"' in text
    )
    assert detail["line"] in (line, line + 1)
    assert owner.models() == [] or all(m["process_id"] != "refused_route" for m in owner.models())
