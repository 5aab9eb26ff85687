"""A fourteenth round of unseen diagrams: the BPM modules of the Chinese open-source admin
frameworks many telesales teams come from, whose browser designers are bpmn-js with Flowable
extensions. RuoYi-Vue-Pro's (yudao) designer (``bpmn2:`` prefix, a collaboration, Chinese
documentation), Flowable UI 6.8 and 7 as RuoYi-Flowable-Plus keeps them (``flowable:`` and
``modeler:`` extensions, CDATA conditions) and JeecgBoot's (``activiti:``, its starter variable
``applyUserId``). The processes: a lead approved by the team leader then the manager in
lanes, skipped by the leader's own leads; a countersign (会签) of a big discount by a list of
managers, done when half have voted; a refund complaint with an error path, an SLA timer and a
called follow-up; leads started by a web form's message and by a timer.

Every one reads its start event's starter variable (``flowable:initiator``,
``activiti:initiator``) in a script, a condition or a service parameter, which was refused:
Dialflow now sets it to the starter's username (``engine.starter``), in a called process too,
and to ``None`` when no user started the instance. Then the files as the designers export
them, one mistake each, refused with ``422 invalid_bpmn`` on the element and line with what
to write instead, nothing deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.conftest import Actor, Timed, notes_of, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

UNSEEN14 = DiagramFolder("unseen14")
diagram, edited, deploy = UNSEEN14.read, UNSEEN14.edited, UNSEEN14.deploy


@pytest.fixture
def leader(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="boss", team="East")


# -- lead approval (yudao's bpmn-js designer): lanes, the starter in a script and a condition --


def submit(agent: Actor, customer_id: int, **data: Any) -> dict[str, Any]:
    return agent.start("lead_approval", {"customer_id": customer_id, "team_leader": "boss", **data})


def test_a_lead_goes_to_the_team_leader_then_the_manager_with_its_submitter(
    owner, agent, leader, actor, make_customer, db
):
    deploy(owner, "lead_approval.bpmn")
    director = actor("director", username="chief", team=None)
    customer = make_customer()
    started = submit(agent, customer.id, initiator="chief")  # the data cannot claim a starter
    assert (started["data"]["initiator"], started["data"]["submitted_by"]) == ("agent_east",) * 2
    (approve,) = started["ready_tasks"]
    assert (approve["name"], approve["lane"]) == ("Activity_leader", "manager")
    after = leader.complete_ok(approve["id"], {"approved": True})
    (confirm,) = after["ready_tasks"]
    assert (confirm["name"], confirm["lane"]) == ("Activity_manager", "director")
    done = director.complete_ok(confirm["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["线索已批准 Lead of agent_east approved"]


def test_the_team_leaders_own_lead_skips_the_leader_by_the_starter_condition(
    owner, leader, make_customer
):
    deploy(owner, "lead_approval.bpmn")
    started = submit(leader, make_customer().id)
    (confirm,) = started["ready_tasks"]
    assert (confirm["name"], confirm["lane"]) == ("Activity_manager", "director")
    assert started["data"]["submitted_by"] == "boss"


def test_a_rejected_lead_goes_back_to_its_submitter_only(owner, agent, leader, actor):
    deploy(owner, "lead_approval.bpmn")
    started = submit(agent, 1)
    after = leader.complete_ok(started["ready_tasks"][0]["id"], {"approved": False})
    (revise,) = after["ready_tasks"]
    assert (revise["name"], revise["candidates"]) == ("Activity_revise", ["user:agent_east"])
    colleague = actor("agent", username="li_na", team="East")
    assert colleague.complete(revise["id"]).status_code in (403, 409)
    assert agent.complete_ok(revise["id"], {})["status"] == "completed"


# -- a countersign of a big discount (Flowable UI 6.8, JeecgBoot's applyUserId) --------------


def countersign(agent: Actor, customer_id: int) -> dict[str, Any]:
    return agent.start(
        "discount_countersign",
        {"customer_id": customer_id, "discount": 0.3, "approvers": ["boss", "boss2"]},
    )


def test_half_of_the_managers_agreeing_countersigns_the_discount(
    owner, agent, leader, actor, make_customer, db
):
    deploy(owner, "discount_countersign.bpmn20.xml")
    other = actor("manager", username="boss2", team="East")
    customer = make_customer()
    started = countersign(agent, customer.id)
    signs = started["ready_tasks"]
    assert [(t["lane"], t["candidates"]) for t in signs] == [
        ("manager", ["user:boss"]),
        ("manager", ["user:boss2"]),
    ]
    assert other.complete(signs[0]["id"], {"vote": "agree"}).status_code in (403, 409)
    done = leader.complete_ok(signs[0]["id"], {"vote": "agree"})
    assert done["status"] == "completed", done["incidents"]  # 1 of 2: half, done
    assert other.tasks("mine=1") == []
    assert notes_of(db, customer.id) == ["折扣 30% 会签通过 countersigned for agent_east"]


def test_a_countersign_refused_is_told_to_the_applicant(owner, agent, leader, make_customer, db):
    deploy(owner, "discount_countersign.bpmn20.xml")
    customer = make_customer()
    started = countersign(agent, customer.id)
    after = leader.complete_ok(started["ready_tasks"][0]["id"], {"vote": "disagree"})
    (tell,) = after["ready_tasks"]
    assert (tell["name"], tell["candidates"]) == ("sid-TELL", ["user:agent_east"])
    assert agent.complete_ok(tell["id"], {})["status"] == "completed"
    assert notes_of(db, customer.id) == []


# -- a refund complaint (JeecgBoot) with its called follow-up (Flowable UI 7) -----------------

COMPLAINT = ("refund_complaint.bpmn", "followup_call.bpmn20.xml")


def complain(agent: Actor, customer_id: int) -> dict[str, Any]:
    return agent.start(
        "refund_complaint",
        {"customer_id": customer_id, "ticket": "TS-7", "team_leader": "boss"},
    )


def test_a_complaint_fixed_is_followed_up_by_its_starter_whoever_reached_the_call(
    owner, agent, leader, make_customer
):
    deploy(owner, *COMPLAINT)
    started = complain(agent, make_customer().id)
    (verify,) = started["ready_tasks"]
    assert verify["candidates"] == ["user:agent_east"]
    after = agent.complete_ok(verify["id"], {"wants_refund": False, "refund_allowed": False})
    (confirm,) = after["ready_tasks"]
    after = leader.complete_ok(confirm["id"], {})  # the manager's step starts the follow-up
    (call,) = after["ready_tasks"]
    assert (call["name"], call["candidates"]) == ("fu-call", ["user:agent_east"])
    done = agent.complete_ok(call["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert (done["data"]["caller"], done["data"]["followed_up_by"]) == ("agent_east",) * 2


def test_a_refused_refund_takes_the_error_path_to_the_manager(
    owner, agent, leader, make_customer, db
):
    deploy(owner, *COMPLAINT)
    customer = make_customer()
    started = complain(agent, customer.id)
    after = agent.complete_ok(
        started["ready_tasks"][0]["id"], {"wants_refund": True, "refund_allowed": False}
    )
    (goodwill,) = after["ready_tasks"]
    assert (goodwill["name"], goodwill["lane"]) == ("task-goodwill", "manager")
    assert notes_of(db, customer.id) == ["投诉 TS-7: 拒绝退款 refund refused"]
    assert leader.complete_ok(goodwill["id"], {})["status"] == "completed"


def test_a_complaint_open_for_two_days_warns_the_team_leader(timed: Timed, make_customer, db):
    deploy(timed.owner, *COMPLAINT)
    boss = timed.actor("manager", username="boss", team="East")
    complain(timed.agent, make_customer().id)
    assert timed.advance(days=1, hours=23) == 0
    assert timed.advance(hours=1) == 1
    assert notifications_of(db, boss) == ["投诉 TS-7 已两天 open for 2 days (agent_east)"]


# -- instances no user starts by hand: a message's sender, a timer's nobody ------------------


def test_a_message_start_gives_the_starter_variable_its_sender(owner, agent):
    deploy(owner, "lead_intake.bpmn")
    sent = agent.post("/api/v1/messages", json={"name": "web_lead", "payload": {"phone": "1"}})
    assert sent.status_code == 202, sent.get_json()
    (instance_id,) = sent.get_json()["delivered_to"]
    instance = agent.instance(instance_id)
    assert (instance["data"]["initiator"], instance["data"]["entered_by"]) == ("agent_east",) * 2
    assert [t["candidates"] for t in instance["ready_tasks"]] == [["user:agent_east"]]


def test_a_timer_start_has_no_starter_and_its_condition_reads_none(timed: Timed):
    deploy(timed.owner, "lead_intake.bpmn")
    boss = timed.actor("manager", username="boss", team="East")
    assert timed.advance(hours=1, seconds=1) == 1
    (review,) = boss.tasks("candidate=1")
    data = boss.instance(review["process_instance_id"])["data"]
    assert (data["initiator"], data["entered_by"]) == (None, "系统 system")


# -- the designers' exports, one mistake each: refused on the element and line ----------------

LEADER_TASK = '<bpmn2:userTask id="Activity_leader" name="组长审批 Team leader approves"'
VOTE_TASK = '<userTask id="sid-VOTE" name="会签意见 Vote on the discount"'
MI = "<loopDataInputRef>approvers</loopDataInputRef>"
CONDITION = "<![CDATA[nrOfCompletedInstances / nrOfInstances >= 0.5]]>"
VERIFY = '<userTask id="task-verify" name="核实投诉 Verify the complaint"'
SUB_START = '<startEvent id="sub-start"'
SLA = '<boundaryEvent id="sla" name="两天未结" attachedToRef="sub-handle" cancelActivity="false">'
SLA_TIMER = """      <timerEventDefinition>
        <timeDuration>"P2D"</timeDuration>
      </timerEventDefinition>
    </boundaryEvent>"""

EXPORTED = [
    pytest.param(
        "lead_approval.bpmn",
        [
            (
                LEADER_TASK,
                LEADER_TASK + ' flowable:candidateStrategy="10" flowable:candidateParam="2"',
            )
        ],
        "Activity_leader",
        LEADER_TASK,
        ["flowable:candidateStrategy='10'", "put the task in a lane"],
        id="yudao-candidate-strategy",
    ),
    pytest.param(
        "lead_approval.bpmn",
        [(LEADER_TASK, LEADER_TASK + ' flowable:formKey="/bpm/oa/lead/create"')],
        "Activity_leader",
        LEADER_TASK,
        ["flowable:formKey='/bpm/oa/lead/create'", "JSON-Schema form"],
        id="yudao-form-key",
    ),
    pytest.param(
        "lead_approval.bpmn",
        [(LEADER_TASK, LEADER_TASK + ' flowable:skipExpression="${bpmSkip.check(execution)}"')],
        "Activity_leader",
        LEADER_TASK,
        ["flowable:skipExpression='${bpmSkip.check(execution)}'", "exclusive gateway before the"],
        id="flowable-skip-expression",
    ),
    pytest.param(
        "lead_approval.bpmn",
        [
            (
                'flowable:initiator="initiator"',
                'flowable:initiator="apply-user"',
            )
        ],
        "Event_submit",
        '<bpmn2:startEvent id="Event_submit"',
        ["flowable:initiator='apply-user'", "with a Python name"],
        id="initiator-not-a-name",
    ),
    pytest.param(
        "discount_countersign.bpmn20.xml",
        [(CONDITION, "${nrOfCompletedInstances/nrOfInstances >= 0.5 and not loopCounter}")],
        "sid-SIGN",
        "<completionCondition>",
        ["JUEL", "loopCounter is set by the Java engines"],
        id="juel-completion-condition",
    ),
    pytest.param(
        "discount_countersign.bpmn20.xml",
        [
            (
                '<multiInstanceLoopCharacteristics isSequential="false">',
                '<multiInstanceLoopCharacteristics isSequential="false" '
                'flowable:collection="${approvers}" flowable:elementVariable="assignee">',
            )
        ],
        "sid-SIGN",
        "<multiInstanceLoopCharacteristics",
        ["flowable:collection='${approvers}'", "loopDataInputRef"],
        id="flowable-collection",
    ),
    pytest.param(
        "discount_countersign.bpmn20.xml",
        # "true" or "false" pass (engine.java_async); a value no engine reads does not
        [(VOTE_TASK, VOTE_TASK + ' flowable:async="yes"')],
        "sid-VOTE",
        VOTE_TASK,
        ["flowable:async='yes'", "remove it: Dialflow saves each step"],
        id="flowable-async-user-task",
    ),
    pytest.param(
        "refund_complaint.bpmn",
        [
            (
                VERIFY + "></userTask>",
                VERIFY + '><extensionElements><activiti:taskListener event="create" '
                'class="org.jeecg.modules.extbpm.listener.TaskCreateListener"/>'
                "</extensionElements></userTask>",
            )
        ],
        "task-verify",
        VERIFY,
        ["<activiti:taskListener>", "model the listener's work as a task"],
        id="jeecg-task-listener",
    ),
    pytest.param(
        "refund_complaint.bpmn",
        [(SUB_START, SUB_START + ' activiti:initiator="handler"')],
        "sub-start",
        SUB_START,
        ["activiti:initiator='handler'", "from a process's start event only"],
        id="initiator-inside-a-subprocess",
    ),
    pytest.param(
        "refund_complaint.bpmn",
        [
            (
                SLA + "\n" + SLA_TIMER,
                '<boundaryEvent id="sla" name="两天未结" attachedToRef="sub-handle">'
                "<cancelEventDefinition/></boundaryEvent>",
            )
        ],
        "sla",
        '<boundaryEvent id="sla"',
        [
            "a cancel boundary event belongs on a transaction subprocess",
            "'sub-handle' is an embedded subprocess",
            "error boundary event here",
        ],
        id="cancel-boundary-on-a-plain-subprocess",
    ),
]


@pytest.mark.parametrize(("name", "changes", "element", "at", "expected"), EXPORTED)
def test_a_setting_as_the_designer_exported_it_is_refused_with_what_to_write(
    owner, db, name, changes, element, at, expected
):
    text = edited(name, *changes)
    files = [(name, text)] + [(n, diagram(n)) for n in COMPLAINT if n != name and "refund" in name]
    details = refused(upload(owner, *files))
    # one mistake, said once per attribute it takes (yudao writes a strategy and its parameter)
    assert {(d["element_id"], d["line"]) for d in details} == {(element, line_in(at, text))}
    said = " | ".join(d["message"] for d in details)
    for words in expected:
        assert words in said, (words, said)
    nothing_deployed(db)


def test_a_juel_completion_condition_over_flowables_counters_runs_as_drawn(
    owner, agent, leader, actor, make_customer, db
):
    """It was refused with the Python to write; it runs as Flowable runs it (engine.juel)."""
    name = "discount_countersign.bpmn20.xml"
    text = edited(name, (CONDITION, "${nrOfCompletedInstances/nrOfInstances >= 0.5}"))
    response = upload(owner, (name, text))
    assert response.status_code in (200, 201), response.get_json()
    actor("manager", username="boss2", team="East")
    customer = make_customer()
    signs = countersign(agent, customer.id)["ready_tasks"]
    assert len(signs) == 2
    done = leader.complete_ok(signs[0]["id"], {"vote": "agree"})
    assert done["status"] == "completed", done["incidents"]  # 1 of 2: half, done
    assert notes_of(db, customer.id) == ["折扣 30% 会签通过 countersigned for agent_east"]
