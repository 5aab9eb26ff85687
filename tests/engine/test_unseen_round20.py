"""A twentieth round of unseen diagrams: telesales processes written by chat assistants asked
for "a BPMN for SpiffWorkflow", "for Camunda" or "for a telesales CRM". Their habits: no
diagram or half of one, sequence flows before the nodes and no incoming/outgoing lists, BPMN
as the default namespace, ``xsi:type="tFormalExpression"`` without a prefix,
``language="python"``, ``scriptFormat="Python"``/``"text/x-python"``, the role that works a
task in ``camunda:candidateGroups`` on a process without lanes, a decision id written on a
line of its own, a service-task parameter without its type, a DMN table with FEEL ranges and
``-`` wildcards. The processes: lead intake graded by a decision table, a callback cadence
with timers, a deal approval escalated to the director, a complaint with an error path and a
called follow-up, a refund whose service task fails. Then the mistakes such hands make, each
refused with ``422 invalid_bpmn`` on its element and line with what to write, nothing deployed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.engine.conftest import Timed, notes_of, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

UNSEEN20 = DiagramFolder("unseen20")
diagram, edited, deploy = UNSEEN20.read, UNSEEN20.edited, UNSEEN20.deploy

INTAKE = ("lead_intake.bpmn", "lead_grade.dmn")


def one(tasks: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (task,) = [task for task in tasks if task["name"] == name]
    return task


# -- lead intake: a decision id on a line of its own, flows before nodes, a default flow ----


def test_leads_are_graded_by_the_table_the_assistant_wrote_and_routed_by_grade(
    owner, agent, actor, make_customer, db
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, *INTAKE)
    routes = []
    for budget, source in [(60000, "web"), (20000, "referral"), (20000, "web"), (100, "web")]:
        customer = make_customer()
        started = agent.start(
            "r20_lead_intake", {"customer_id": customer.id, "budget": budget, "source": source}
        )
        (qualify,) = started["ready_tasks"]
        assert (qualify["name"], qualify["lane"]) == ("Task_Qualify", "agent")
        after = agent.complete_ok(qualify["id"], {})
        assert after["incidents"] == []
        routes.append(
            (
                after["data"]["grade"],
                after["data"]["priority"],
                [(t["name"], t["lane"]) for t in after["ready_tasks"]],
                after["status"],
            )
        )
    assert routes == [
        ("A", 1, [("Task_CallNow", "agent")], "running"),
        ("A", 2, [("Task_CallNow", "agent")], "running"),
        ("B", 3, [("Task_Review", "manager")], "running"),
        ("C", 5, [], "completed"),  # the default flow: onto the nurture list
    ]
    assert notes_of(db, customer.id) == ["Nurture: grade C"]
    review = one(boss.tasks(), "Task_Review")
    assert boss.complete_ok(review["id"], {})["ready_tasks"][0]["name"] == "Task_CallNow"


def test_a_decision_named_in_an_attribute_of_the_task_is_called(owner, agent, make_customer):
    """``spiffworkflow:calledDecisionId="lead_grade"`` on the task, where SpiffWorkflow writes
    an element: it was refused as naming no decision."""
    text = edited(
        INTAKE[0],
        (
            "      <bpmn:extensionElements>\n        <spiffworkflow:calledDecisionId>\n"
            "          lead_grade\n        </spiffworkflow:calledDecisionId>\n"
            "      </bpmn:extensionElements>\n",
            "",
        ),
        (
            '<bpmn:businessRuleTask id="Task_Grade" name="Grade lead">',
            '<bpmn:businessRuleTask id="Task_Grade" name="Grade lead" '
            'spiffworkflow:calledDecisionId="lead_grade">',
        ),
    )
    assert upload(owner, (INTAKE[0], text), (INTAKE[1], diagram(INTAKE[1]))).status_code == 201
    data = {"customer_id": make_customer().id, "budget": 20000, "source": "web"}
    started = agent.start("r20_lead_intake", data)
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert (after["data"]["grade"], after["incidents"]) == ("B", [])


# -- callback cadence (for Camunda): candidateGroups naming a role, PT24H and P1D timers ---


def test_candidate_groups_naming_a_role_on_a_process_without_lanes_offer_the_task_to_it(
    timed: Timed, actor, make_customer, db
):
    boss = actor("manager", username="boss", team="East")
    deploy(timed.owner, "callback_cadence.bpmn")
    agent, customer = timed.agent, make_customer()
    started = agent.start("r20_callback_cadence", {"customer_id": customer.id})
    (call,) = started["ready_tasks"]
    assert (call["name"], call["lane"], call["candidates"]) == (
        "Task_Call",
        "agent",
        ["group:agent"],
    )
    after = agent.complete_ok(call["id"], {"reached": False})
    (wait,) = after["waiting"]
    assert (wait["name"], wait["due_at"]) == ("Wait one day", "2026-05-05T01:00:00+00:00")
    assert timed.advance(days=1) == 1
    done = agent.complete_ok(one(agent.tasks(), "Task_Call")["id"], {"reached": True})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, customer.id) == ["Reached after 2 attempts"]

    late = agent.start("r20_callback_cadence", {"customer_id": make_customer().id})
    assert timed.advance(hours=24) == 1  # PT24H without a call: the manager's task
    (escalated,) = boss.tasks()
    assert (escalated["name"], escalated["lane"], escalated["candidates"]) == (
        "Task_Escalate",
        "manager",
        ["group:manager"],
    )
    assert agent.complete(escalated["id"]).status_code == 403
    assert boss.complete_ok(escalated["id"], {})["id"] == late["id"]


def test_scripts_and_conditions_indented_with_the_xml_run_as_written(
    timed: Timed, make_customer, db
):
    """Pretty-printed inside their tags, as assistants write them: they were refused with
    "unexpected indent"."""
    text = edited(
        "callback_cadence.bpmn",
        (
            "<bpmn:script>attempts = 0\nmax_attempts = 3</bpmn:script>",
            "<bpmn:script><![CDATA[\n        attempts = 0\n        if attempts < 1:\n"
            "            max_attempts = 3\n      ]]></bpmn:script>",
        ),
        (
            "<bpmn:script>attempts = attempts + 1</bpmn:script>",
            "<bpmn:script>attempts = attempts + 1\n        last_try = attempts</bpmn:script>",
        ),
        (
            'language="python">reached == True</bpmn:conditionExpression>',
            'language="python">\n        reached == True\n      </bpmn:conditionExpression>',
        ),
    )
    assert upload(timed.owner, ("callback_cadence.bpmn", text)).status_code == 201
    agent, customer = timed.agent, make_customer()
    started = agent.start("r20_callback_cadence", {"customer_id": customer.id})
    assert (started["data"]["attempts"], started["data"]["max_attempts"]) == (0, 3)
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"reached": True})
    assert (done["status"], done["incidents"], done["data"]["last_try"]) == ("completed", [], 1)
    assert notes_of(db, customer.id) == ["Reached after 1 attempts"]


def test_a_script_indented_wrongly_is_still_refused_on_its_line(owner, db):
    """What is no Python once the XML's indentation is left out stays refused."""
    text = edited(
        "callback_cadence.bpmn",
        (
            "<bpmn:script>attempts = 0\nmax_attempts = 3</bpmn:script>",
            "<bpmn:script>\n        attempts = 0\n          max_attempts = 3\n</bpmn:script>",
        ),
    )
    (detail,) = refused(upload(owner, ("callback_cadence.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == ("Task_Init", line_in('id="Task_Init"', text))
    assert "unexpected indent" in detail["message"]
    assert f"(line {line_in('  max_attempts = 3', text)} of the file)" in detail["message"]
    nothing_deployed(db)


# -- deal approval: an escalation from the manager's subprocess to the director ------------


def test_a_big_discount_is_escalated_to_the_director_while_the_deal_goes_on(
    owner, agent, actor, make_customer
):
    boss = actor("manager", username="boss", team="East")
    director = actor("director", username="chief", team=None)
    deploy(owner, "deal_approval.bpmn")
    for pct, approved, director_tasks in [(30, True, 1), (10, False, 1)]:
        started = agent.start("r20_deal_approval", {"customer_id": make_customer().id})
        after = agent.complete_ok(started["ready_tasks"][0]["id"], {"discount_pct": pct})
        assert [(t["name"], t["lane"]) for t in after["ready_tasks"]] == [
            ("manager_review", "manager")
        ]
        review = one(boss.tasks(), "manager_review")
        after = boss.complete_ok(review["id"], {"approved": approved})
        assert len(director.tasks()) == director_tasks  # only the big discount's
        if approved:
            assert {(t["name"], t["lane"]) for t in after["ready_tasks"]} == {
                ("director_approval", "director"),
                ("send_contract", "agent"),
            }
        else:
            assert (after["status"], after["ready_tasks"]) == ("completed", [])


POTENTIAL_OWNER = """<bpmn:userTask id="Task_ManualRefund" name="Refund by hand">
      <bpmn:potentialOwner id="Owner_Refund">
        <bpmn:resourceAssignmentExpression id="Expression_Refund">
          <bpmn:formalExpression>manager</bpmn:formalExpression>
        </bpmn:resourceAssignmentExpression>
      </bpmn:potentialOwner>
    </bpmn:userTask>"""


def test_a_potential_owner_naming_a_role_gives_the_task_to_that_role(
    owner, agent, actor, make_customer
):
    """BPMN's own way of giving a task to a group, on a task outside every lane: it was
    refused as not supported."""
    boss = actor("manager", username="boss", team="East")
    text = edited(
        "refund.bpmn",
        ("<bpmn:flowNodeRef>Task_ManualRefund</bpmn:flowNodeRef>\n", ""),
        ('<bpmn:userTask id="Task_ManualRefund" name="Refund by hand"/>', POTENTIAL_OWNER),
    )
    assert upload(owner, ("refund.bpmn", text)).status_code == 201
    customer = make_customer()
    deal = agent.post(
        "/api/v1/deals", json={"customer_id": customer.id, "title": "Plan", "amount": "1000"}
    ).get_json()
    data = {"customer_id": customer.id, "deal_id": deal["id"], "deal_amount": 1000}
    started = agent.start("r20_refund", data)
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {"refund_amount": 5000})
    (by_hand,) = after["ready_tasks"]
    assert (by_hand["lane"], by_hand["candidates"]) == ("manager", ["group:manager"])
    assert agent.complete(by_hand["id"]).status_code == 403
    assert boss.complete_ok(by_hand["id"], {})["status"] == "completed"


def test_a_potential_owner_naming_no_role_is_still_refused(owner, db):
    text = edited(
        "refund.bpmn",
        ("<bpmn:flowNodeRef>Task_ManualRefund</bpmn:flowNodeRef>\n", ""),
        (
            '<bpmn:userTask id="Task_ManualRefund" name="Refund by hand"/>',
            POTENTIAL_OWNER.replace(">manager<", ">finance<"),
        ),
    )
    (detail,) = refused(upload(owner, ("refund.bpmn", text)))
    assert detail["element_id"] == "Task_ManualRefund"
    assert "<potentialOwner> is not supported" in detail["message"]
    nothing_deployed(db)


# -- complaint: an error end event in a subprocess, a called follow-up ---------------------


def test_a_complaint_resolved_or_refunded_by_the_manager_is_followed_up_in_the_called_process(
    owner, agent, actor, make_customer, db
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, "complaint.bpmn")
    for amount in (100, 900):
        customer = make_customer()
        started = agent.start(
            "r20_complaint", {"customer_id": customer.id, "refund_amount": amount}
        )
        after = agent.complete_ok(one(started["ready_tasks"], "Task_Investigate")["id"], {})
        if amount > 500:  # the error end event, caught on the subprocess for the manager
            (refund,) = after["ready_tasks"]
            assert (refund["name"], refund["lane"]) == ("Task_ManagerRefund", "manager")
            after = boss.complete_ok(refund["id"], {})
        (follow_up,) = after["ready_tasks"]
        assert follow_up["name"] == "FU_Call"
        done = agent.complete_ok(follow_up["id"], {"satisfied": amount < 500})
        assert (done["status"], done["incidents"]) == ("completed", [])
        said = "satisfied" if amount < 500 else "not satisfied"
        assert notes_of(db, customer.id) == [f"Complaint followed up: {said}"]


# -- refund: a failing service task caught by an error boundary event naming no error ------


def test_a_refund_the_deal_cannot_take_goes_to_the_manager_and_a_good_one_is_noted(
    owner, agent, actor, make_customer, db
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, "refund.bpmn")
    customer = make_customer()
    deal = agent.post(
        "/api/v1/deals", json={"customer_id": customer.id, "title": "Annual plan", "amount": "1000"}
    ).get_json()
    data = {"customer_id": customer.id, "deal_id": deal["id"], "deal_amount": 1000}
    started = agent.start("r20_refund", data)
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"refund_amount": 100})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["refund_result"]["amount"] == 900.0
    assert notes_of(db, customer.id) == ["Refund of 100 issued"]

    started = agent.start("r20_refund", data)
    failed = agent.complete_ok(started["ready_tasks"][0]["id"], {"refund_amount": 5000})
    assert (failed["status"], failed["incidents"]) == ("running", [])
    assert "amount: Must be between 0" in failed["data"]["error_message"]
    (by_hand,) = boss.tasks()
    assert (by_hand["name"], by_hand["lane"]) == ("Task_ManualRefund", "manager")
    assert notes_of(db, customer.id) == ["Refund of 100 issued"]


# -- the mistakes such hands make: refused on the element and line, with what to write -----

CALL_TASK = '<bpmn:userTask id="Task_Call" name="Call the customer" camunda:candidateGroups'
CAMUNDA_NS = ' xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
XSI_NS = '\n                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
NOTE_PARAMETER = (
    '<spiffworkflow:parameter id="text" type="str" value="f\'Refund of {refund_amount} issued\'"/>'
)
NOTE_PARAMETERS = """          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>
            """
MANAGER_REFUND = '<bpmn:userTask id="Task_ManagerRefund" name="Manager approves the refund">'

MISTAKES = [
    pytest.param(
        "callback_cadence.bpmn",
        [(CAMUNDA_NS, "")],
        "Task_Call",
        CALL_TASK,
        [
            "uses the prefix 'camunda' (camunda:candidateGroups on <userTask>) without "
            "declaring it",
            'declare it on the root element: xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
        ],
        id="camunda-prefix-never-declared",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [(XSI_NS, "")],
        "Timer_NoAnswer",
        "<bpmn:timeDuration",
        [
            "uses the prefix 'xsi' (xsi:type on <timeDuration>)",
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
        ],
        id="xsi-prefix-never-declared",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [('default="Flow_NotReached"', 'default="No"')],
        "Gateway_Reached",
        '<bpmn:exclusiveGateway id="Gateway_Reached"',
        ["'No' is the name of its flow 'Flow_NotReached'", 'write default="Flow_NotReached"'],
        id="default-flow-given-by-its-name",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [('default="Flow_NotReached"', 'default="Flow_GiveUp"')],
        "Gateway_Reached",
        '<bpmn:exclusiveGateway id="Gateway_Reached"',
        [
            "'Flow_GiveUp' leaves 'Gateway_Again'",
            "the flows leaving it are 'Flow_Reached', 'Flow_NotReached'",
        ],
        id="default-flow-leaving-another-gateway",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [(">P1D<", ">1 day<")],
        "Timer_NextDay",
        '<bpmn:intermediateCatchEvent id="Timer_NextDay"',
        ["'1 day' is a duration in words", "write P1D"],
        id="timer-in-words",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [(">PT24H<", ">24h<")],
        "Timer_NoAnswer",
        '<bpmn:boundaryEvent id="Timer_NoAnswer"',
        ["'24h' is a duration in words", "write PT24H"],
        id="timer-in-short-units",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [("attempts = attempts + 1", 'execution.setVariable("attempts", attempts + 1)')],
        "Task_Count",
        '<bpmn:scriptTask id="Task_Count"',
        [
            'calls execution.setVariable("attempts", attempts + 1)',
            "write attempts = attempts + 1",
        ],
        id="camunda-set-variable-in-a-python-script",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [(">reached == True<", ">Yes<")],
        "Flow_Reached",
        '<bpmn:sequenceFlow id="Flow_Reached"',
        ["its condition is 'Yes', its own label,", "write the test the branch stands for"],
        id="branch-label-as-its-condition",
    ),
    pytest.param(
        "callback_cadence.bpmn",
        [(">reached == True<", ">reached == True &amp;&amp; attempts &gt; 0<")],
        "Flow_Reached",
        '<bpmn:sequenceFlow id="Flow_Reached"',
        ["in Python, write 'reached == True and attempts > 0'"],
        id="javascript-and-in-a-python-condition",
    ),
    pytest.param(
        "deal_approval.bpmn",
        [
            (
                '<exclusiveGateway id="gw_merge" name="Approved?" default="flow_rejected"/>',
                '<parallelGateway id="gw_merge" name="Approved?" default="flow_rejected"/>',
            )
        ],
        "gw_merge",
        '<parallelGateway id="gw_merge"',
        ["a parallel gateway takes every outgoing flow and has no default flow: remove default="],
        id="default-on-a-parallel-gateway",
    ),
    pytest.param(
        "refund.bpmn",
        [(NOTE_PARAMETER, NOTE_PARAMETER.replace('id="text"', 'name="text"'))],
        "Task_NoteRefund",
        NOTE_PARAMETER.replace('id="text"', 'name="text"'),
        ["<spiffworkflow:parameter> has no attribute 'name'", 'write id="text"'],
        id="spiff-parameter-named-with-name",
    ),
    pytest.param(
        "refund.bpmn",
        [
            (
                NOTE_PARAMETERS + NOTE_PARAMETER + "\n          </spiffworkflow:parameters>",
                NOTE_PARAMETERS.replace("<spiffworkflow:parameters>\n", "") + NOTE_PARAMETER,
            )
        ],
        "Task_NoteRefund",
        '<spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>\n'
        '            <spiffworkflow:parameter id="text"',
        [
            "written straight into its <spiffworkflow:serviceTaskOperator>",
            "<spiffworkflow:parameters>",
        ],
        id="spiff-parameters-without-their-wrapper",
    ),
    pytest.param(
        "complaint.bpmn",
        [
            ("<bpmn:flowNodeRef>Task_ManagerRefund</bpmn:flowNodeRef>\n", ""),
            (
                MANAGER_REFUND,
                MANAGER_REFUND + "\n      <bpmn:extensionElements><spiffworkflow:preScript>"
                'lane_owners = {"managers": ["group:manager"]}'
                "</spiffworkflow:preScript></bpmn:extensionElements>",
            ),
        ],
        "Task_ManagerRefund",
        MANAGER_REFUND,
        [
            "its pre-script sets lane_owners for 'managers', which no lane of the deploy is named",
            "the task is in no lane",
            "put the task in a lane named 'managers'",
        ],
        id="lane-owners-for-a-lane-nowhere",
    ),
]


@pytest.mark.parametrize(("name", "changes", "element", "at", "expected"), MISTAKES)
def test_a_mistake_is_refused_on_its_element_and_line(
    owner, db, name, changes, element, at, expected
):
    text = edited(name, *changes)
    details = refused(upload(owner, (name, text)))
    assert {(d["element_id"], d["line"]) for d in details} == {(element, line_in(at, text))}
    said = " | ".join(d["message"] for d in details)
    for words in expected:
        assert words in said, (words, said)
    nothing_deployed(db)


@pytest.mark.parametrize(
    ("old", "new", "cell", "expected"),
    [
        pytest.param(
            '<text>"referral"</text>',
            "<text>referral</text>",
            "InputEntry_2_2",
            ["rule cell 'referral' in column 'Source'", 'write "referral" in double quotes'],
            id="rule-cell",
        ),
        pytest.param(
            '<outputEntry id="OutputEntry_3_1"><text>"B"</text>',
            '<outputEntry id="OutputEntry_3_1"><text>B</text>',
            "OutputEntry_3_1",
            ["output 'B' in column 'grade'", 'write "B" in double quotes'],
            id="output",
        ),
    ],
)
def test_an_unquoted_word_in_a_string_column_is_refused_with_its_quotes(
    owner, db, old, new, cell, expected
):
    """It deployed, and the first lead's grading failed on a NameError."""
    table = edited("lead_grade.dmn", (old, new))
    (detail,) = refused(upload(owner, (INTAKE[0], diagram(INTAKE[0])), (INTAKE[1], table)))
    assert (detail["element_id"], detail["line"]) == (cell, line_in(new, table))
    for words in expected:
        assert words in detail["message"], detail["message"]
    nothing_deployed(db)


def test_a_word_meant_as_a_variable_is_written_so_and_runs(owner, agent, make_customer):
    table = edited("lead_grade.dmn", ('<text>"referral"</text>', "<text>? == partner</text>"))
    assert upload(owner, (INTAKE[0], diagram(INTAKE[0])), (INTAKE[1], table)).status_code == 201
    data = {"customer_id": make_customer().id, "budget": 20000, "source": "fair", "partner": "fair"}
    started = agent.start("r20_lead_intake", data)
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert (after["data"]["grade"], after["data"]["priority"]) == ("A", 2)


def test_a_table_written_without_ids_grades_as_drawn(owner, agent, make_customer):
    """DMN makes ids optional, and assistants leave them out of the table's rules and cells;
    the deploy was refused with KeyError('id') on the business rule task."""
    table = re.sub(
        r' id="(DecisionTable|Input|Output|Rule|InputEntry|OutputEntry)[^"]*"',
        "",
        diagram("lead_grade.dmn").decode(),
    ).encode()
    assert b"<rule>" in table and b"<inputEntry>" in table
    assert upload(owner, (INTAKE[0], diagram(INTAKE[0])), (INTAKE[1], table)).status_code == 201
    grades = []
    for budget, source in [(60000, "web"), (20000, "referral"), (20000, "web"), (100, "web")]:
        data = {"customer_id": make_customer().id, "budget": budget, "source": source}
        started = agent.start("r20_lead_intake", data)
        after = agent.complete_ok(started["ready_tasks"][0]["id"], {})
        grades.append((after["data"]["grade"], after["data"]["priority"], after["incidents"]))
    assert grades == [("A", 1, []), ("A", 2, []), ("B", 3, []), ("C", 5, [])]


def test_an_empty_output_cell_is_null(owner, agent, make_customer):
    """It was "" (text in the integer column), where DMN has null."""
    table = edited(
        "lead_grade.dmn",
        (
            '<outputEntry id="OutputEntry_4_2"><text>5</text></outputEntry>',
            '<outputEntry id="OutputEntry_4_2"><text></text></outputEntry>',
        ),
    )
    assert upload(owner, (INTAKE[0], diagram(INTAKE[0])), (INTAKE[1], table)).status_code == 201
    data = {"customer_id": make_customer().id, "budget": 100, "source": "web"}
    started = agent.start("r20_lead_intake", data)
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert (done["status"], done["data"]["grade"], done["data"]["priority"]) == (
        "completed",
        "C",
        None,
    )


def test_an_empty_input_expression_a_rule_tests_is_refused_at_deploy(owner, db):
    """It deployed, and a lead from a referral failed the grading with a bare 'Source'."""
    table = edited("lead_grade.dmn", ("<text>source</text>", "<text></text>"))
    (detail,) = refused(upload(owner, (INTAKE[0], diagram(INTAKE[0])), (INTAKE[1], table)))
    assert (detail["element_id"], detail["line"]) == (
        "InputExpression_Source",
        line_in('<inputExpression id="InputExpression_Source"', table),
    )
    assert "input 'Source' has an empty inputExpression" in detail["message"]
    assert (
        "the variable (or Python expression) the column reads, such as source"
        in (detail["message"])
    )
    nothing_deployed(db)


def test_an_id_starting_with_a_digit_is_refused_with_an_id_to_write(owner, db):
    """The flows naming it were said to name "no single id", though they named one word."""
    text = edited(
        "callback_cadence.bpmn",
        ('<bpmn:scriptTask id="Task_Count"', '<bpmn:scriptTask id="1st_attempt"'),
        ('targetRef="Task_Count"', 'targetRef="1st_attempt"'),
        ('sourceRef="Task_Count"', 'sourceRef="1st_attempt"'),
    )
    details = refused(upload(owner, ("callback_cadence.bpmn", text)))
    said = {(d["element_id"], d["line"]): d["message"] for d in details}
    assert set(said) == {
        ("1st_attempt", line_in('<bpmn:scriptTask id="1st_attempt"', text)),
        ("Flow_3", line_in('<bpmn:sequenceFlow id="Flow_3"', text)),
        ("Flow_4", line_in('<bpmn:sequenceFlow id="Flow_4"', text)),
    }
    assert "write such as '_1st_attempt'" in said[("1st_attempt", line_in("1st_attempt", text))]
    for flow in ("Flow_3", "Flow_4"):
        (message,) = [m for (element, _), m in said.items() if element == flow]
        assert "names '1st_attempt', which is no valid id" in message
        assert "such as '_1st_attempt'" in message
    nothing_deployed(db)


def test_a_lowercase_hit_policy_is_refused_with_its_dmn_spelling(owner, db):
    """A regression guard: ``hitPolicy="unique"`` was refused so before this round."""
    table = edited("lead_grade.dmn", ('hitPolicy="FIRST"', 'hitPolicy="unique"'))
    (detail,) = refused(upload(owner, (INTAKE[0], diagram(INTAKE[0])), (INTAKE[1], table)))
    assert (detail["element_id"], detail["line"]) == (
        "DecisionTable_LeadGrade",
        line_in("<decisionTable", table),
    )
    assert "write 'UNIQUE'" in detail["message"]
    nothing_deployed(db)


def test_a_lane_owner_naming_a_lane_of_the_process_still_deploys(owner, agent, make_customer):
    """``lane_owners`` for the task's own lane is what it is for: not refused."""
    text = edited(
        "complaint.bpmn",
        (
            MANAGER_REFUND,
            MANAGER_REFUND + "\n      <bpmn:extensionElements><spiffworkflow:preScript>"
            'lane_owners = {"manager": [starter]}'
            "</spiffworkflow:preScript></bpmn:extensionElements>",
        ),
        (
            '<bpmn:script>complaint_status = "open"',
            '<bpmn:script>starter = "agent_east"\ncomplaint_status = "open"',
        ),
    )
    assert upload(owner, ("complaint.bpmn", text)).status_code == 201
    started = agent.start(
        "r20_complaint", {"customer_id": make_customer().id, "refund_amount": 900}
    )
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    (refund,) = after["ready_tasks"]
    assert (refund["name"], refund["candidates"]) == ("Task_ManagerRefund", ["user:agent_east"])


# -- a second look: what the round's new readings refused or changed that they should not --

OWNER_NAMING = (
    "<bpmn:potentialOwner><bpmn:resourceAssignmentExpression><bpmn:formalExpression>{}"
    "</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:potentialOwner>"
)


def test_a_condition_true_on_a_branch_labelled_true_deploys_and_runs(timed: Timed, make_customer):
    """``True`` is Python's constant, not a variable named like the label: it was refused as
    "a variable named 'True'"."""
    text = edited(
        "callback_cadence.bpmn",
        ('id="Flow_Reached" name="Yes"', 'id="Flow_Reached" name="True"'),
        ('language="python">reached == True<', 'language="python">True<'),
    )
    assert upload(timed.owner, ("callback_cadence.bpmn", text)).status_code == 201
    started = timed.agent.start("r20_callback_cadence", {"customer_id": make_customer().id})
    done = timed.agent.complete_ok(started["ready_tasks"][0]["id"], {"reached": False})
    assert (done["status"], done["incidents"]) == ("completed", [])


def test_candidate_groups_and_a_potential_owner_naming_two_roles_offer_the_task_to_both(
    timed: Timed, make_customer
):
    """The task went to the potential owner's role and the candidate group was dropped
    without a word; as Camunda reads them, both name who may work it."""
    text = edited(
        "callback_cadence.bpmn",
        (
            "<bpmn:outgoing>Flow_3</bpmn:outgoing>",
            "<bpmn:outgoing>Flow_3</bpmn:outgoing>" + OWNER_NAMING.format("manager"),
        ),
    )
    assert upload(timed.owner, ("callback_cadence.bpmn", text)).status_code == 201
    started = timed.agent.start("r20_callback_cadence", {"customer_id": make_customer().id})
    (call,) = started["ready_tasks"]
    assert set(call["candidates"]) == {"group:agent", "group:manager"}, call


def test_one_role_in_candidate_groups_and_a_potential_owner_gives_the_task_to_it(
    timed: Timed, make_customer
):
    """A regression guard: the two naming the same role agree."""
    text = edited(
        "callback_cadence.bpmn",
        (
            "<bpmn:outgoing>Flow_3</bpmn:outgoing>",
            "<bpmn:outgoing>Flow_3</bpmn:outgoing>" + OWNER_NAMING.format("Agent"),
        ),
    )
    assert upload(timed.owner, ("callback_cadence.bpmn", text)).status_code == 201
    started = timed.agent.start("r20_callback_cadence", {"customer_id": make_customer().id})
    (call,) = started["ready_tasks"]
    assert (call["lane"], call["candidates"]) == ("agent", ["group:agent"])


def test_a_zeebe_candidate_group_on_a_task_in_no_lane_deploys_without_a_warning(owner, db):
    """Camunda 8's ``<zeebe:assignmentDefinition candidateGroups="manager"/>`` on a process
    without lanes gave the manager's task to the instance's starter; the group now decides
    who works it (run end to end in ``test_assignment_attributes.py``), with no warning: the
    group is a role."""
    text = re.sub(
        r"<bpmn:laneSet .*?</bpmn:laneSet>\s*",
        "",
        DiagramFolder("unseen18").read("refund.bpmn").decode(),
        flags=re.S,
    )
    response = upload(owner, ("refund.bpmn", text.encode()))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["warnings"] == []


def test_a_condition_written_over_two_lines_runs_as_one(timed: Timed, make_customer):
    """Pretty-printed with its ``and`` on a line of its own and a comment after it: it was
    refused with "unexpected indent"."""
    text = edited(
        "callback_cadence.bpmn",
        (
            'language="python">reached == True</bpmn:conditionExpression>',
            'language="python">\n        reached == True\n        and attempts &lt;= max_attempts'
            "  # answered in time\n      </bpmn:conditionExpression>",
        ),
    )
    assert upload(timed.owner, ("callback_cadence.bpmn", text)).status_code == 201
    ends = []
    for reached in (True, False):
        started = timed.agent.start("r20_callback_cadence", {"customer_id": make_customer().id})
        done = timed.agent.complete_ok(started["ready_tasks"][0]["id"], {"reached": reached})
        ends.append((done["status"], [w["name"] for w in done["waiting"]], done["incidents"]))
    assert ends == [("completed", [], []), ("waiting", ["Wait one day"], [])]


def test_a_script_whose_text_starts_lines_at_the_left_margin_runs_as_written(
    timed: Timed, make_customer
):
    """A message over two lines whose second line is written from the margin, in a script
    indented with the XML: the text's line kept the script's indentation from being left
    out, and it was refused with "unexpected indent". The text is kept as written."""
    text = edited(
        "callback_cadence.bpmn",
        (
            "<bpmn:script>attempts = 0\nmax_attempts = 3</bpmn:script>",
            "<bpmn:script>\n        attempts = 0\n        greeting = '''Dear customer,\n"
            "we will call you back.'''\n        max_attempts = 3\n      </bpmn:script>",
        ),
    )
    assert upload(timed.owner, ("callback_cadence.bpmn", text)).status_code == 201
    started = timed.agent.start("r20_callback_cadence", {"customer_id": make_customer().id})
    assert (started["incidents"], started["data"]["max_attempts"]) == ([], 3)
    assert started["data"]["greeting"] == "Dear customer,\nwe will call you back."


def test_lane_owners_for_no_lane_in_an_indented_pre_script_are_refused(owner, db):
    """The same pre-script as the refused one, pretty-printed inside its tags: it deployed
    and the manager's task went to the instance's starter."""
    text = edited(
        "complaint.bpmn",
        ("<bpmn:flowNodeRef>Task_ManagerRefund</bpmn:flowNodeRef>\n", ""),
        (
            MANAGER_REFUND,
            MANAGER_REFUND + "\n      <bpmn:extensionElements><spiffworkflow:preScript>\n"
            '          lane_owners = {"managers": ["group:manager"]}\n'
            "        </spiffworkflow:preScript></bpmn:extensionElements>",
        ),
    )
    (detail,) = refused(upload(owner, ("complaint.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == (
        "Task_ManagerRefund",
        line_in(MANAGER_REFUND, text),
    )
    assert "sets lane_owners for 'managers', which no lane of the deploy" in detail["message"]
    nothing_deployed(db)


def test_a_bare_word_a_script_of_the_deploy_sets_is_read_as_that_variable(
    owner, agent, make_customer
):
    """An output cell ``tier`` in a string column, ``tier`` set by a script before the
    table: the table reads the variable, as it did before bare words were refused; it was
    refused as text without its quotes."""
    intake = edited(
        INTAKE[0],
        (
            '<bpmn:userTask id="Task_Qualify" name="Qualify lead"/>',
            '<bpmn:userTask id="Task_Qualify" name="Qualify lead"><bpmn:extensionElements>'
            '<spiffworkflow:postScript>tier = "T-" + source</spiffworkflow:postScript>'
            "</bpmn:extensionElements></bpmn:userTask>",
        ),
    )
    table = edited(
        "lead_grade.dmn",
        (
            '<outputEntry id="OutputEntry_3_1"><text>"B"</text>',
            '<outputEntry id="OutputEntry_3_1"><text>tier</text>',
        ),
    )
    assert upload(owner, (INTAKE[0], intake), (INTAKE[1], table)).status_code == 201
    data = {"customer_id": make_customer().id, "budget": 20000, "source": "web"}
    started = agent.start("r20_lead_intake", data)
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert (after["data"]["grade"], after["data"]["priority"], after["incidents"]) == (
        "T-web",
        3,
        [],
    )


@pytest.mark.parametrize(
    ("ending", "mark"),
    [("\r\n", b""), ("\r\n", b"\xef\xbb\xbf"), ("\r", b"")],
    ids=["crlf", "crlf-and-bom", "cr"],
)
def test_the_new_refusals_name_their_element_and_line_whatever_the_line_endings(
    owner, db, ending, mark
):
    """CRLF (Windows) and a byte-order mark were said right; a file whose lines end in a
    carriage return alone (classic Mac OS) had every problem on line 1, some on no element."""
    name, changes, element, at, _expected = next(
        p.values for p in MISTAKES if p.id == "camunda-prefix-never-declared"
    )
    text = edited(name, *changes)
    written = mark + text.decode().replace("\n", ending).encode()
    details = refused(upload(owner, (name, written)))
    assert {(d["element_id"], d["line"]) for d in details} == {(element, line_in(at, text))}
    label = edited(
        "callback_cadence.bpmn", ('language="python">reached == True<', 'language="python">Yes<')
    )
    written = mark + label.decode().replace("\n", ending).encode()
    details = refused(upload(owner, ("callback_cadence.bpmn", written)))
    assert {(d["element_id"], d["line"]) for d in details} == {
        ("Flow_Reached", line_in('<bpmn:sequenceFlow id="Flow_Reached"', label))
    }
    nothing_deployed(db)
