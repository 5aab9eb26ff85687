"""A thirteenth round of unseen diagrams, in two styles: Camunda Modeler 5 for Camunda 8
(Zeebe: ``modeler:executionPlatform="Camunda Cloud"``, ``<zeebe:userTask/>``,
``zeebe:assignmentDefinition``, ``zeebe:calledElement``, a DMN 1.3 decision with FEEL cells)
and Bizagi Modeler 4 (GUID ids, ``bizagi:BizagiExtensions`` in every extensionElements, HTML
documentation, a pool with two lanes, a text annotation). Telesales processes: a lead
qualification graded by the decision, a follow-up cadence it calls (callbacks on a timer, a
quote request by message or three days of silence), a discount approval in lanes whose
subprocess escalates a big discount to the director and ends in an error when the manager
rejects it, a callback request with a parallel split.

What a Camunda 8 file says that Dialflow does anyway deploys: a Zeebe user task (Dialflow
works it itself), candidate groups naming the task's own lane, a ``zeebe:calledElement`` naming
the process the call activity calls with all its data coming back. What it does not is
refused on its element and line with the Python that runs instead, and that Python is
deployed and run here (a FEEL condition, a FEEL timer, a ``zeebe:script``, an input mapping).
Then one mistake per file as people make them in these tools, each ``422 invalid_bpmn`` on its
element and line, nothing deployed; a Bizagi gateway whose branches carry no condition (Bizagi
keeps them outside the file) is refused naming the branches by their labels.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.conftest import Actor, Timed, by_element, notes_of, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    cli_refuses,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

UNSEEN13 = DiagramFolder("unseen13")
diagram, edited, deploy = UNSEEN13.read, UNSEEN13.edited, UNSEEN13.deploy
LEADS = ("lead_qualification.bpmn", "follow_up.bpmn", "lead_grade.dmn")
DISCOUNT = "discount_approval.bpmn"
BIZAGI = "bizagi_callback_request.bpmn"


def guid(kind: str, number: int) -> str:
    """A Bizagi id of the callback request: ``a`` a flow node, ``f`` a sequence flow."""
    return f"Id_{kind}{number:07d}-" + (
        "5b6c-4d7e-8f90-a1b2c3d4e5f6" if kind == "a" else "1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    )


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="r13_boss", team="East")


def lead(customer_id: int, source: str, budget: int) -> dict[str, Any]:
    return {"customer_id": customer_id, "lead_source": source, "budget": budget}


def suggested(message: str) -> str:
    """The Python a refusal says to write (``… write '<python>'``)."""
    found = re.search(r"write ('.*?'|\".*?\")(?:$|[;,)])", message)
    assert found, message
    return ast.literal_eval(found.group(1))  # the repr the message quotes


# -- Camunda 8: lead qualification, its follow-up cadence, DMN 1.3 --------------------------


def test_a_camunda_8_lead_qualification_deploys_with_what_says_what_dialflow_does(owner):
    """``<zeebe:userTask/>``, ``candidateGroups`` naming the task's lane and a
    ``zeebe:calledElement`` naming the called process were each refused."""
    answer = deploy(owner, *LEADS)
    assert sorted(answer["process_ids"]) == ["r13_follow_up", "r13_lead_qualification"]
    assert answer.get("warnings", []) == []


def test_a_hot_referral_is_called_and_its_quote_request_comes_back(owner, agent, make_customer, db):
    deploy(owner, *LEADS)
    customer = make_customer()
    key = f"lead-{customer.id}"
    started = agent.start(
        "r13_lead_qualification", lead(customer.id, "referral", 80000), business_key=key
    )
    assert (started["data"]["grade"], started["data"]["priority"]) == ("A", True)
    (call,) = started["ready_tasks"]  # the called cadence's task, in its agent lane
    assert (call["name"], call["title"], call["lane"]) == (
        "Activity_call",
        "Call the lead",
        "agent",
    )
    after = agent.complete_ok(call["id"], {"disposition": "interested"})
    assert after["status"] == "waiting", after["incidents"]
    sent = agent.post("/api/v1/messages", json={"name": "r13_quote_requested", "business_key": key})
    assert sent.status_code in (200, 202), sent.get_json()
    done = agent.instance(started["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["outcome"] == "quote requested"  # the called process's data came back
    assert notes_of(db, customer.id) == ["Call: interested", "Grade A: quote requested"]


def test_a_warm_lead_is_reviewed_by_the_manager_then_called_back_after_two_hours(
    timed: Timed, make_customer, db
):
    deploy(timed.owner, *LEADS)
    boss = timed.actor("manager", username="r13_boss", team="East")
    customer = make_customer()
    started = timed.agent.start("r13_lead_qualification", lead(customer.id, "web", 20000))
    assert started["data"]["grade"] == "B"  # [10000..50000[ and not("cold_list")
    (review,) = started["ready_tasks"]
    assert (review["name"], review["lane"], review["candidates"]) == (
        "Activity_review",
        "manager",
        ["group:manager"],
    )
    assert timed.agent.complete(review["id"], {"take_on": True}).status_code == 403
    (call,) = boss.complete_ok(review["id"], {"take_on": True})["ready_tasks"]
    after = timed.agent.complete_ok(call["id"], {"disposition": "callback"})
    assert after["ready_tasks"] == [] and after["status"] == "waiting"
    assert timed.advance(hours=1, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    (call,) = timed.agent.instance(started["id"])["ready_tasks"]
    assert call["name"] == "Activity_call"
    done = timed.agent.complete_ok(call["id"], {"disposition": "no_answer"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Call: callback", "Call: no_answer", "Grade B: lost"]


def test_an_interested_lead_silent_for_three_days_ends_the_cadence(timed: Timed, make_customer, db):
    deploy(timed.owner, *LEADS)
    customer = make_customer()
    started = timed.agent.start("r13_lead_qualification", lead(customer.id, "partner", 60000))
    (call,) = started["ready_tasks"]
    timed.agent.complete_ok(call["id"], {"disposition": "interested"})
    assert timed.advance(days=2, hours=23) == 0
    assert timed.advance(hours=1) == 1
    done = timed.agent.instance(started["id"])
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Call: interested", "Grade A: no reply"]


@pytest.mark.parametrize(
    ("source", "budget", "take_on", "grade", "note"),
    [
        ("cold_list", 0, None, "C", "Grade C: nurture"),  # the last rule, empty cells
        ("web", 60000, False, "B", "Grade B: nurture"),  # "-" in the source column
    ],
    ids=["cold", "dropped-by-the-manager"],
)
def test_cold_and_dropped_leads_go_to_nurture(
    owner, agent, manager, make_customer, db, source, budget, take_on, grade, note
):
    deploy(owner, *LEADS)
    customer = make_customer()
    view = agent.start("r13_lead_qualification", lead(customer.id, source, budget))
    assert view["data"]["grade"] == grade
    if take_on is not None:
        (review,) = view["ready_tasks"]
        view = manager.complete_ok(review["id"], {"take_on": take_on})
    assert view["status"] == "completed", view["incidents"]
    assert notes_of(db, customer.id) == [note]


# -- Camunda 8: a discount approval in lanes, with an escalation and an error ---------------


@pytest.mark.parametrize(
    ("discount", "approved", "warned", "notes", "tell"),
    [
        (25, True, True, ["Discount 25% approved"], False),
        (10, False, False, [], True),
    ],
    ids=["big-discount-approved", "rejected"],
)
def test_a_discount_is_approved_in_lanes_a_big_one_escalated_a_rejected_one_told(
    owner, agent, actor, make_customer, db, discount, approved, warned, notes, tell
):
    deploy(owner, DISCOUNT)
    boss = actor("manager", username="r13_boss", team="East")
    chief = actor("director", username="r13_chief", team=None)
    customer = make_customer()
    started = agent.start(
        "r13_discount_approval", {"customer_id": customer.id, "director_name": chief.username}
    )
    (propose,) = started["ready_tasks"]
    assert (propose["name"], propose["lane"]) == ("Activity_propose", "agent")
    view = agent.complete_ok(propose["id"], {"discount": discount})
    (approve,) = view["ready_tasks"]
    assert (approve["name"], approve["lane"]) == ("Activity_approve", "manager")
    # the escalation is caught on the subprocess without stopping the approval
    expected = [f"Discount of {discount}% asked for customer {customer.id}"] if warned else []
    assert notifications_of(db, chief) == expected
    view = boss.complete_ok(approve["id"], {"approved": approved})
    if tell:
        (told,) = view["ready_tasks"]
        assert (told["name"], told["lane"]) == ("Activity_tell", "agent")
        view = agent.complete_ok(told["id"], {})
    assert view["status"] == "completed", view["incidents"]
    assert notes_of(db, customer.id) == notes


# -- Bizagi Modeler: a callback request in a pool with two lanes ----------------------------


@pytest.mark.parametrize("wants_offer", [True, False], ids=["offer", "no-offer"])
def test_a_bizagi_callback_request_runs_in_its_lanes(owner, agent, manager, wants_offer):
    deploy(owner, BIZAGI)
    process = "Id_5d6e7f80-0002-4a1b-9c2d-3e4f5a6b7c8d"
    started = agent.start(process, {"seats": 10})
    (call,) = started["ready_tasks"]
    assert (call["name"], call["title"], call["lane"]) == (
        guid("a", 2),
        "Call the customer back",
        "agent",
    )
    view = agent.complete_ok(call["id"], {"wants_offer": wants_offer})
    if wants_offer:  # the parallel split: the price is worked out, the credit check waits
        assert view["data"]["offer_price"] == 2700.0
        (check,) = view["ready_tasks"]
        assert (check["name"], check["lane"]) == (guid("a", 7), "manager")
        view = manager.complete_ok(check["id"], {"credit_ok": True})
    assert view["status"] == "completed", view["incidents"]
    assert ("offer_price" in view["data"]) is wants_offer


# -- what a Camunda 8 export says that Dialflow does not: the Python to write, which runs ----


def test_a_feel_condition_runs_as_drawn(owner, agent, manager, make_customer):
    """``=take_on = true`` was told as ``take_on == true``, which names an unknown ``true``;
    then as the Python to write (``take_on == True``); it runs as drawn now
    (``engine.zeebe_expressions``)."""
    text = edited("lead_qualification.bpmn", ("take_on == True", "=take_on = true"))
    files = [("lead_qualification.bpmn", text), *[(n, diagram(n)) for n in LEADS[1:]]]
    answer = upload(owner, *files)
    assert answer.status_code == 201, answer.get_json()
    customer = make_customer()
    (review,) = agent.start("r13_lead_qualification", lead(customer.id, "web", 20000))[
        "ready_tasks"
    ]
    (call,) = manager.complete_ok(review["id"], {"take_on": True})["ready_tasks"]
    assert call["name"] == "Activity_call"


@pytest.mark.parametrize(
    "feel",
    [
        '=grade = "A"',
        '=lead_source = "referral" and budget >= 50000',
        '=count(contacts) > 0 or grade = "A"',
        '=lead.tier = "gold" or grade = "A"',
        "=grade instance of string",
    ],
    ids=["equals", "and", "count", "path", "no-python"],
)
def test_feel_conditions_run_as_drawn(owner, agent, make_customer, feel):
    """A FEEL path ``lead.tier`` was told as ``lead.tier``, which fails on task data (JSON
    objects), ``count()`` as itself; they run as drawn now, and a FEEL function with no
    Python here is refused, naming it."""
    text = edited("lead_qualification.bpmn", ('grade == "A"', feel.replace(">", "&gt;")))
    files = [("lead_qualification.bpmn", text), *[(n, diagram(n)) for n in LEADS[1:]]]
    answer = upload(owner, *files)
    if "instance of" in feel:  # a quantifier runs now (test_feel_everywhere)
        (detail,) = refused(answer)
        assert detail["element_id"] == "Flow_hot"
        assert "holding FEEL's 'instance of'" in detail["message"]
        return
    assert answer.status_code == 201, answer.get_json()
    customer = make_customer()
    data = {**lead(customer.id, "referral", 80000), "contacts": [1], "lead": {"tier": "gold"}}
    (call,) = agent.start("r13_lead_qualification", data)["ready_tasks"]
    assert call["name"] == "Activity_call"  # the hot branch, under the FEEL condition


def test_a_feel_timer_runs_as_drawn(timed: Timed, make_customer):
    """``=duration("PT2H")`` was told as ``"PT2H"`` to write; it runs as drawn now."""
    text = edited("follow_up.bpmn", ('>"PT2H"<', '>=duration("PT2H")<'))
    files = [(n, diagram(n)) for n in LEADS if n != "follow_up.bpmn"] + [("follow_up.bpmn", text)]
    answer = upload(timed.owner, *files)
    assert answer.status_code == 201, answer.get_json()
    customer = make_customer()
    started = timed.agent.start("r13_lead_qualification", lead(customer.id, "referral", 90000))
    (call,) = started["ready_tasks"]
    timed.agent.complete_ok(call["id"], {"disposition": "callback"})
    assert timed.advance(hours=1, minutes=59) == 0
    assert timed.advance(minutes=1) == 1


ZEEBE_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:modeler="http://camunda.org/schema/modeler/1.0" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_q" '
    'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
    'exporterVersion="5.31.0" modeler:executionPlatform="Camunda Cloud" '
    'modeler:executionPlatformVersion="8.6.0">\n'
)


def zeebe_quote(price: str | None = None, mapping: str | None = None) -> bytes:
    """A quote as Camunda 8 writes it: a FEEL ``zeebe:script`` and a job worker fed by an
    input mapping; with ``price`` and ``mapping`` (the Python the refusal suggests), as
    Dialflow runs it: the script in the script task, the mapping in one before the note."""
    if price is None:
        script = (
            '<bpmn:extensionElements><zeebe:script expression="=seats * unit_price * '
            '(100 - discount) / 100" resultVariable="price" /></bpmn:extensionElements>'
        )
    else:
        script = f"<bpmn:script>{price}</bpmn:script>"
    if mapping is None:
        note = """<bpmn:extensionElements>
        <zeebe:taskDefinition type="crm-add-note" retries="3" />
        <zeebe:ioMapping>
          <zeebe:input source="=lead.customer_id" target="customer_id" />
          <zeebe:input source="=&quot;Quote: &quot; + string(price)" target="text" />
          <zeebe:output source="=noteId" target="note_id" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>"""
        mapped = (
            '<bpmn:sequenceFlow id="Flow_q2" sourceRef="Activity_price" '
            'targetRef="Activity_note" />'
        )
        before = ""
    else:
        note = """<bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="crm.add_note" resultVariable="note_id">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="text" type="str" value="text" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>"""
        before = (
            '<bpmn:scriptTask id="Activity_map"><bpmn:script>'
            + mapping.replace("&", "&amp;").replace("<", "&lt;").replace("; ", "\n")
            + "</bpmn:script></bpmn:scriptTask>"
        )
        mapped = (
            '<bpmn:sequenceFlow id="Flow_q2" sourceRef="Activity_price" targetRef="Activity_map" />'
            '<bpmn:sequenceFlow id="Flow_qm" sourceRef="Activity_map" targetRef="Activity_note" />'
        )
    return (
        ZEEBE_HEAD
        + f"""  <bpmn:process id="r13_quote" isExecutable="true">
    <bpmn:startEvent id="StartEvent_q" />
    <bpmn:scriptTask id="Activity_price" name="Work out the price">
      {script}
    </bpmn:scriptTask>
    {before}
    <bpmn:serviceTask id="Activity_note" name="Note the quote">
      {note}
    </bpmn:serviceTask>
    <bpmn:endEvent id="Event_q" />
    <bpmn:sequenceFlow id="Flow_q1" sourceRef="StartEvent_q" targetRef="Activity_price" />
    {mapped}
    <bpmn:sequenceFlow id="Flow_q3" sourceRef="Activity_note" targetRef="Event_q" />
  </bpmn:process>
</bpmn:definitions>
"""
    ).encode()


def test_a_zeebe_script_runs_and_an_input_mapping_is_told_as_python_that_runs(
    owner, agent, make_customer, db
):
    """They were told "write the Python the task runs in its <script>" and "map data with a
    script task", with no Python; the FEEL script runs as drawn now
    (``engine.zeebe_expressions``)."""
    text = zeebe_quote()
    problems = by_element(refused(upload(owner, ("r13_quote.bpmn", text))))
    assert set(problems) == {"Activity_note"}, problems
    note = problems["Activity_note"]
    assert "runs job type 'crm-add-note'" in note and "name an operator there is" in note
    # its retries="3" runs: the mappings are the operator's once there is one
    assert "map data with a script task" not in note
    mapping = 'customer_id = lead["customer_id"]; text = "Quote: " + str(price)'
    # the FEEL script as drawn, the mapping as suggested: FEEL's price is the decimal 2700
    answer = upload(owner, ("r13_quote.bpmn", zeebe_quote(mapping=mapping)))
    assert answer.status_code == 201, answer.get_json()
    customer = make_customer()
    done = agent.start(
        "r13_quote",
        {"lead": {"customer_id": customer.id}, "seats": 10, "unit_price": 300, "discount": 10},
    )
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Quote: 2700"]


# -- one mistake each, as people make them in these tools -----------------------------------

Change = tuple[tuple[str, str], ...]
MISTAKES: dict[str, tuple[str, Change, str, str, list[str]]] = {
    # (the file changed, its change, element refused, where its line is, words)
    "children-variables-flag-misspelt": (
        "lead_qualification.bpmn",
        (('propagateAllChildVariables="true"', 'propagateAllChildVariables="yes"'),),
        "Activity_follow_up",
        "<zeebe:calledElement",
        ["<zeebe:calledElement>", 'propagateAllChildVariables="yes" takes "true" or "false"'],
    ),
    # a group of another name than the lane, and an assignee from the data, run as drawn
    # (tests/engine/test_assignment_attributes.py); FEEL functions computing them cannot
    "candidate-groups-by-a-feel-function": (
        "lead_qualification.bpmn",
        (('candidateGroups="manager"', 'candidateGroups="=remove(groups, 1)"'),),
        "Activity_review",
        "<zeebe:assignmentDefinition",
        ["candidateGroups='=remove(groups, 1)'", "FEEL name or path"],
    ),
    "assignee-by-a-feel-function": (
        "lead_qualification.bpmn",
        (('candidateGroups="manager"', 'assignee="=before(account_owner)"'),),
        "Activity_review",
        "<zeebe:assignmentDefinition",
        ["assignee='=before(account_owner)'", "compute who in a script task"],
    ),
    "decision-id-changed-in-the-dmn": (
        "lead_grade.dmn",
        (('<decision id="r13_lead_grade"', '<decision id="r13_leadgrade"'),),
        "Activity_grade",
        "<bpmn:businessRuleTask",
        ["calls decision 'r13_lead_grade'", "r13_leadgrade"],
    ),
    "message-correlated-by-a-feel-function": (
        "follow_up.bpmn",
        (
            (
                '<bpmn:message id="Message_quote" name="r13_quote_requested" />',
                '<bpmn:message id="Message_quote" name="r13_quote_requested">\n'
                "    <bpmn:extensionElements>\n"
                '      <zeebe:subscription correlationKey="=before(customer_id)" />\n'
                "    </bpmn:extensionElements>\n  </bpmn:message>",
            ),
        ),
        "Message_quote",
        "<zeebe:subscription",
        ["has no Python Dialflow evaluates", "correlate by business key"],
    ),
    "camunda-form-embedded-in-the-process": (
        "follow_up.bpmn",
        (
            (
                '<bpmn:laneSet id="LaneSet_0fu">',
                "<bpmn:extensionElements>\n"
                '      <zeebe:userTaskForm id="UserTaskForm_call">{"components":[{"key":'
                '"disposition","type":"select"}]}</zeebe:userTaskForm>\n'
                "    </bpmn:extensionElements>\n"
                '    <bpmn:laneSet id="LaneSet_0fu">',
            ),
        ),
        "r13_follow_up",
        "<zeebe:userTaskForm",
        ["select 'disposition' lists no values", 'list each choice in "values"'],
    ),
    "error-code-as-feel": (
        DISCOUNT,
        (('errorCode="DISCOUNT_REJECTED"', 'errorCode="=reject_reason"'),),
        "Error_rejected",
        '<bpmn:error id="Error_rejected"',
        ["'Event_rejected', 'Event_s_rejected'", "compares codes as written"],
    ),
    "bizagi-branches-without-conditions": (
        BIZAGI,
        (
            (
                '<conditionExpression xsi:type="tFormalExpression">wants_offer == True'
                "</conditionExpression>\n",
                "",
            ),
            (f' default="{guid("f", 4)}"', ""),
        ),
        guid("f", 3),
        f'<sequenceFlow id="{guid("f", 3)}"',
        [
            '("Yes" of the gateway "Wants an offer?")',
            f"leaves the exclusive gateway '{guid('a', 3)}' without a condition",
            "none of the gateway's 2 branches has a condition",
        ],
    ),
    "bizagi-lane-listing-a-mistyped-guid": (
        BIZAGI,
        ((f"<flowNodeRef>{guid('a', 7)}<", f"<flowNodeRef>{guid('a', 7)[:-1]}<"),),
        "Id_3f4a5b6c-0005-4d7e-8f90-a1b2c3d4e5f6",
        'id="Id_3f4a5b6c-0005',
        ["(the lane 'manager') lists flowNodeRef", "no element of the model"],
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_one_mistake_is_refused_on_its_element_and_line(owner, db, mistake):
    changed, change, element, where, words = MISTAKES[mistake]
    group = LEADS if changed in LEADS else (changed,)
    text = edited(changed, *change)
    files = [(n, text if n == changed else diagram(n)) for n in group]
    details = refused(upload(owner, *files))
    mine = [d for d in details if d["element_id"] == element]
    assert len(mine) == 1 and len(details) == (2 if mistake.startswith("bizagi-branches") else 1), (
        details
    )
    (detail,) = mine
    print(detail)
    assert detail["line"] == line_in(where, dict(files)[detail.get("file", changed)]), detail
    for word in words:
        assert word in detail["message"], (word, detail["message"])
    nothing_deployed(db)


def test_the_cli_names_the_bizagi_branches_without_conditions(test_env, db, tmp_path):
    """``dialflow deploy`` of the Bizagi export prints both branches with their labels."""
    changed, change, *_ = MISTAKES["bizagi-branches-without-conditions"]
    words = ["none of the gateway's 2 branches has a condition"]
    cli_refuses(
        test_env,
        tmp_path,
        [(changed, edited(changed, *change))],
        [
            (guid("f", n), changed, f'<sequenceFlow id="{guid("f", n)}"', [f"({label} ", *words])
            for n, label in ((3, '"Yes" of'), (4, '"No" of'))
        ],
    )
    nothing_deployed(db)
