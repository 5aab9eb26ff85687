"""Who works a user task, as Camunda 7, Flowable, Activiti and Camunda 8 diagrams say it.

Camunda users draw lanes for the picture and give tasks to people with ``camunda:assignee``,
``candidateUsers``, ``candidateGroups`` or ``<zeebe:assignmentDefinition>``; such diagrams
were refused ("put the task in a lane"). They now run as drawn: the attributes decide who
works the task (inbox, claim, completion, the manager's team board), the lane is the
drawing. What cannot run (a method call, an expression that is no variable path) stays
refused on the task and the attribute's line.
"""

from __future__ import annotations

import itertools
from io import BytesIO
from typing import Any

from flask import Flask

from tests.conftest import password_hash, sign_in
from tests.engine.conftest import by_element, refused

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
FLOWABLE = "http://flowable.org/bpmn"


def java_engine(
    prefix: str, namespace: str, process_id: str, tasks: list[tuple[str, str, str]]
) -> str:
    """A process in Camunda Modeler's or Flowable's style: lanes for the picture ("Sales",
    "Back office": no role, no team), a starter variable, and user tasks in a row, each
    ``(id, lane, attributes)``."""
    lanes: dict[str, list[str]] = {}
    for task_id, lane, _ in tasks:
        lanes.setdefault(lane, []).append(task_id)
    lane_xml = "".join(
        f'<bpmn:lane id="Lane_{i}" name="{name}">'
        + "".join(f"<bpmn:flowNodeRef>{t}</bpmn:flowNodeRef>" for t in ids)
        + "</bpmn:lane>"
        for i, (name, ids) in enumerate(lanes.items())
    )
    ids = ["start", *(t[0] for t in tasks), "end"]
    nodes = [f'<bpmn:startEvent id="start" {prefix}:initiator="starter"/>']
    nodes += [
        f'<bpmn:userTask id="{task_id}" name="{task_id}" {attributes}/>'
        for task_id, _, attributes in tasks
    ]
    nodes.append('<bpmn:endEvent id="end"/>')
    flows = [
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(itertools.pairwise(ids))
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'xmlns:{prefix}="{namespace}" id="d_{process_id}" targetNamespace="http://x">\n'
        f'<bpmn:process id="{process_id}" isExecutable="true">\n'
        f'<bpmn:laneSet id="ls">{lane_xml}</bpmn:laneSet>\n'
        + "\n".join(nodes + flows)
        + "\n</bpmn:process>\n</bpmn:definitions>\n"
    )


# A Camunda 7 telesales process: the lead is qualified by the agent the data names, the deal
# approved by a manager or a director, the follow-up call made by the sales rep.
TELESALES = java_engine(
    "camunda",
    CAMUNDA,
    "c7_deal",
    [
        ("Task_Qualify", "Sales", 'camunda:assignee="${lead.agent}"'),
        ("Task_Approve", "Back office", 'camunda:candidateGroups="manager,director"'),
        ("Task_FollowUp", "Sales", 'camunda:assignee="${salesRep}"'),
    ],
)

# Camunda 8: the approval by the team's manager, a second look by the people in the data.
ZEEBE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d_c8" targetNamespace="http://x">
  <bpmn:process id="c8_approval" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="Lane_1" name="Approvers">
      <bpmn:flowNodeRef>Task_Approve</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Task_Check</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="Task_Approve" name="Approve the discount">
      <bpmn:extensionElements>
        <zeebe:userTask/>
        <zeebe:assignmentDefinition assignee="=deal.owner" candidateGroups="East, director"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Task_Check" name="Check the contract">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition candidateUsers="=[&quot;c8_li&quot;, &quot;c8_wu&quot;]"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Task_Approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Approve" targetRef="Task_Check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_Check" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def deploy(actor: Any, name: str, text: str) -> Any:
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(text.encode()), name)]},
        content_type="multipart/form-data",
    )


def only(tasks: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (task,) = [task for task in tasks if task["name"] == name]
    return task


def names(tasks: list[dict[str, Any]]) -> list[str]:
    return sorted(task["name"] for task in tasks)


def test_a_camunda_7_deal_runs_by_its_assignees_and_candidate_groups(owner, actor):
    wang = actor("agent", username="wang", team="East")
    zhao = actor("agent", username="zhao", team="East")
    boss = actor("manager", username="boss", team="East")
    chief = actor("director", username="chief", team=None)
    answer = deploy(owner, "deal.bpmn", TELESALES)
    assert answer.status_code == 201, answer.get_json()
    # the lanes are the drawing: no warning that "Sales" names no role or team
    assert answer.get_json().get("warnings", []) == []
    started = owner.start("c7_deal", {"lead": {"agent": "wang"}, "salesRep": "zhao"})
    (qualify,) = started["ready_tasks"]
    assert (qualify["lane"], qualify["assignee"], qualify["candidates"]) == (
        "Sales",
        wang.user.id,
        ["user:wang"],
    )
    assert names(wang.tasks("mine=1")) == ["Task_Qualify"]
    assert zhao.tasks() == [] and owner.tasks() == []  # not the starter's: wang's
    assert zhao.post(f"/api/v1/tasks/{qualify['id']}/claim").status_code == 409
    assert zhao.complete(qualify["id"]).status_code == 409
    (approve,) = wang.complete_ok(qualify["id"])["ready_tasks"]
    assert (approve["assignee"], approve["candidates"]) == (
        None,
        ["group:director", "group:manager"],
    )
    assert wang.tasks() == []
    assert names(boss.tasks("candidate=1")) == names(chief.tasks("candidate=1")) == ["Task_Approve"]
    refusal = wang.post(f"/api/v1/tasks/{approve['id']}/claim")
    assert (refusal.status_code, refusal.get_json()["error"]["code"]) == (403, "not_a_candidate")
    assert wang.complete(approve["id"]).status_code == 403
    assert boss.post(f"/api/v1/tasks/{approve['id']}/claim").status_code == 200
    assert chief.tasks("candidate=1") == []
    (follow_up,) = boss.complete_ok(approve["id"])["ready_tasks"]
    assert (follow_up["name"], follow_up["assignee"]) == ("Task_FollowUp", zhao.user.id)
    assert names(zhao.tasks("mine=1")) == ["Task_FollowUp"]
    assert zhao.complete_ok(follow_up["id"])["status"] == "completed"


def test_a_flowable_follow_up_goes_to_the_rep_in_the_data_and_its_candidates(owner, actor):
    """``flowable:assignee="${salesRep}"`` beside ``candidateUsers`` with a literal and a
    list from the data: the rep holds it; released, the candidates may claim it."""
    rep = actor("agent", username="rep", team="East")
    li = actor("agent", username="li", team="East")
    wu = actor("agent", username="wu", team="East")
    other = actor("agent", username="other", team="East")
    text = java_engine(
        "flowable",
        FLOWABLE,
        "fl_follow_up",
        [
            (
                "Task_Call",
                "Sales",
                'flowable:assignee="${salesRep}" flowable:candidateUsers="li,${backups}"',
            )
        ],
    )
    assert deploy(owner, "follow_up.bpmn20.xml", text).status_code == 201
    started = owner.start("fl_follow_up", {"salesRep": "rep", "backups": ["wu"]})
    (call,) = started["ready_tasks"]
    assert (call["assignee"], call["candidates"]) == (
        rep.user.id,
        ["user:li", "user:rep", "user:wu"],
    )
    assert li.tasks("candidate=1") == []  # held by the rep
    assert rep.post(f"/api/v1/tasks/{call['id']}/unclaim").status_code == 200
    assert names(li.tasks("candidate=1")) == names(wu.tasks("candidate=1")) == ["Task_Call"]
    assert other.post(f"/api/v1/tasks/{call['id']}/claim").status_code == 403
    assert wu.post(f"/api/v1/tasks/{call['id']}/claim").status_code == 200
    assert wu.complete_ok(call["id"])["status"] == "completed"


def test_an_assignee_who_is_no_active_user_leaves_the_task_to_its_lane_and_on_the_board(
    owner, actor, app: Flask, db
):
    """The rep named in the data has left (deactivated), or is no user at all: the task is
    assigned to nobody, stays with its lane ("East", a team: its agents may claim it), says
    whom it was meant for, and the team's manager sees it on the team board."""
    gone = actor("agent", username="gone", team="East")
    li = actor("agent", username="li", team="East")
    boss = actor("manager", username="boss", team="East")
    with db() as session:
        session.get(type(gone.user), gone.user.id).active = False
    text = java_engine(
        "camunda", CAMUNDA, "c7_rep", [("Task_Call", "East", 'camunda:assignee="${salesRep}"')]
    )
    assert deploy(owner, "rep.bpmn", text).status_code == 201
    tasks = [
        owner.start("c7_rep", {"salesRep": rep})["ready_tasks"][0] for rep in ("gone", "nobody")
    ]
    assert [(t["assignee"], t["candidates"]) for t in tasks] == [
        (None, ["group:East", "user:gone"]),
        (None, ["group:East", "user:nobody"]),
    ]
    assert len(li.tasks("candidate=1")) == 2
    with db() as session:
        session.get(type(boss.user), boss.user.id).password_hash = password_hash("correct-horse-42")
    browser = app.test_client()
    assert sign_in(browser, "boss").status_code == 302
    board = browser.get("/team")
    assert all(f'data-task="{t["id"]}"' in board.text for t in tasks)
    assert li.post(f"/api/v1/tasks/{tasks[0]['id']}/claim").status_code == 200


def test_the_starter_named_as_assignee_works_the_task_in_a_lane(owner, actor):
    """``${starter}`` (the start event's initiator variable) and Activiti's ``$INITIATOR``
    in a lane: refused before ("draw the task outside every lane")."""
    li = actor("agent", username="li", team="East")
    text = java_engine(
        "camunda",
        CAMUNDA,
        "c7_own",
        [
            # an attribute left empty says nothing
            ("Task_Prepare", "Sales", 'camunda:assignee="${starter}" camunda:candidateUsers=""'),
            ("Task_Send", "Back office", 'camunda:assignee="$INITIATOR"'),
        ],
    )
    assert deploy(owner, "own.bpmn", text).status_code == 201
    (prepare,) = li.start("c7_own")["ready_tasks"]
    assert (prepare["lane"], prepare["assignee"]) == ("Sales", li.user.id)
    (send,) = li.complete_ok(prepare["id"])["ready_tasks"]
    assert (send["lane"], send["assignee"], send["candidates"]) == (
        "Back office",
        li.user.id,
        ["user:li"],
    )
    assert li.complete_ok(send["id"])["status"] == "completed"


def test_names_no_one_answers_to_deploy_with_a_warning_and_reach_the_board(
    owner, actor, app: Flask, db
):
    """A group "agents" (the role is "agent") and an assignee who is no user: the deploy
    says so on the task, and the task, which no one may claim, is on the managers' board."""
    boss = actor("manager", username="boss", team="East")
    text = java_engine(
        "camunda",
        CAMUNDA,
        "c7_unknown",
        [("Task_Call", "Sales", 'camunda:assignee="kermit" camunda:candidateGroups="agents"')],
    )
    answer = deploy(owner, "unknown.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    warnings = answer.get_json()["warnings"]
    assert [w["element_id"] for w in warnings] == ["Task_Call", "Task_Call"]
    said = " | ".join(w["message"] for w in warnings)
    assert "'kermit' in assignee, who is no active user" in said
    assert "'agents' in candidateGroups, which is no role and no team" in said
    (call,) = owner.start("c7_unknown")["ready_tasks"]
    assert (call["assignee"], call["candidates"]) == (None, ["group:agents", "user:kermit"])
    with db() as session:
        session.get(type(boss.user), boss.user.id).password_hash = password_hash("correct-horse-42")
    browser = app.test_client()
    assert sign_in(browser, "boss").status_code == 302
    assert f'data-task="{call["id"]}"' in browser.get("/team").text


def test_bpmn_resource_roles_name_who_works_the_task(owner, actor):
    """``<bpmn:humanPerformer>`` and ``<bpmn:potentialOwner>`` with Activiti's ``user(…)``
    and ``group(…)``: refused before unless naming one role."""
    rep = actor("agent", username="rep", team="East")
    li = actor("agent", username="li", team="South")
    boss = actor("manager", username="boss", team="East")
    other = actor("agent", username="other", team="South")

    def owned(tag: str, expression: str) -> str:
        return (
            f"<bpmn:{tag}><bpmn:resourceAssignmentExpression><bpmn:formalExpression>"
            f"{expression}</bpmn:formalExpression></bpmn:resourceAssignmentExpression>"
            f"</bpmn:{tag}>"
        )

    text = java_engine(
        "camunda", CAMUNDA, "res_roles", [("Task_Call", "Sales", ""), ("Task_Check", "Sales", "")]
    )
    text = text.replace(
        'name="Task_Call" />',
        f'name="Task_Call">{owned("humanPerformer", "${salesRep}")}</bpmn:userTask>',
    ).replace(
        'name="Task_Check" />',
        f'name="Task_Check">{owned("potentialOwner", "user(li), group(manager)")}</bpmn:userTask>',
    )
    answer = deploy(owner, "roles.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    (call,) = owner.start("res_roles", {"salesRep": "rep"})["ready_tasks"]
    assert (call["assignee"], call["candidates"]) == (rep.user.id, ["user:rep"])
    (check,) = rep.complete_ok(call["id"])["ready_tasks"]
    assert (check["assignee"], check["candidates"]) == (None, ["group:manager", "user:li"])
    assert other.post(f"/api/v1/tasks/{check['id']}/claim").status_code == 403
    assert names(li.tasks("candidate=1")) == names(boss.tasks("candidate=1")) == ["Task_Check"]
    assert boss.complete_ok(check["id"])["status"] == "completed"


def test_a_camunda_8_approval_runs_by_its_assignment_definition(owner, actor):
    seller = actor("agent", username="seller", team="East")
    boss = actor("manager", username="c8_boss", team="East")
    li = actor("agent", username="c8_li", team="South")
    wu = actor("agent", username="c8_wu", team="South")
    agent = actor("agent", username="c8_other", team="South")
    answer = deploy(owner, "approval.bpmn", ZEEBE)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json().get("warnings", []) == []
    started = owner.start("c8_approval", {"deal": {"owner": "seller", "amount": 9000}})
    (approve,) = started["ready_tasks"]
    assert (approve["assignee"], approve["candidates"]) == (
        seller.user.id,
        ["group:East", "group:director", "user:seller"],
    )
    assert seller.post(f"/api/v1/tasks/{approve['id']}/unclaim").status_code == 200
    assert names(boss.tasks("candidate=1")) == ["Task_Approve"]  # East's manager
    assert agent.post(f"/api/v1/tasks/{approve['id']}/claim").status_code == 403
    (check,) = boss.complete_ok(approve["id"])["ready_tasks"]
    assert (check["assignee"], check["candidates"]) == (None, ["user:c8_li", "user:c8_wu"])
    assert names(wu.tasks("candidate=1")) == ["Task_Check"] and agent.tasks() == []
    assert li.complete_ok(check["id"])["status"] == "completed"


def test_each_approver_of_a_countersign_gets_their_own_task(owner, actor):
    """A multi-instance user task over the approvers, ``camunda:assignee="${approver}"``
    naming its input item: each instance is assigned to its approver."""
    boss = actor("manager", username="boss", team="East")
    chief = actor("director", username="chief", team=None)
    text = java_engine(
        "camunda",
        CAMUNDA,
        "c7_countersign",
        [("Task_Sign", "Sales", 'camunda:assignee="${approver}"')],
    ).replace(
        'name="Task_Sign" camunda:assignee="${approver}"/>',
        'name="Task_Sign" camunda:assignee="${approver}"><bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="approver"/></bpmn:multiInstanceLoopCharacteristics>'
        "</bpmn:userTask>",
    )
    assert deploy(owner, "countersign.bpmn", text).status_code == 201
    started = owner.start("c7_countersign", {"approvers": ["boss", "chief"]})
    signs = started["ready_tasks"]
    assert sorted(t["assignee"] for t in signs) == sorted([boss.user.id, chief.user.id])
    (mine,) = boss.tasks("mine=1")
    assert chief.complete(mine["id"]).status_code == 409
    boss.complete_ok(mine["id"])
    (theirs,) = chief.tasks("mine=1")
    assert chief.complete_ok(theirs["id"])["status"] == "completed"


def test_what_cannot_run_is_refused_on_the_task_and_the_attributes_line(owner, db):
    text = java_engine(
        "camunda",
        CAMUNDA,
        "c7_refused",
        [
            ("Task_Method", "Sales", 'camunda:assignee="${taskService.getOwner(task)}"'),
            ("Task_Sum", "Sales", 'camunda:candidateUsers="li,${boss + 1}"'),
            ("Task_Mixed", "Sales", 'camunda:candidateGroups="team-${region}"'),
            ("Task_Two", "Sales", 'camunda:assignee="li,wu"'),
        ],
    )
    zeebe = ZEEBE.replace('assignee="=deal.owner"', 'assignee="=before(deal.owner)"')
    found = by_element(refused(deploy(owner, "refused.bpmn", text)))
    assert "camunda:assignee='${taskService.getOwner(task)}'" in found["Task_Method"]
    assert "${variable} / ${object.field}" in found["Task_Method"]
    assert "a script task before it" in found["Task_Method"]
    assert "camunda:candidateUsers" in found["Task_Sum"]
    assert "camunda:candidateGroups='team-${region}'" in found["Task_Mixed"]
    assert "candidateUsers='li,wu'" in found["Task_Two"]
    details = refused(deploy(owner, "c8.bpmn", zeebe))
    (detail,) = [d for d in details if d["element_id"] == "Task_Approve"]
    assert "assignee='=before(deal.owner)'" in detail["message"]
    assert "FEEL name or path" in detail["message"]
    assert (
        detail["line"]
        == zeebe.splitlines().index(next(line for line in zeebe.splitlines() if "before(" in line))
        + 1
    )


def test_an_assignee_variable_holding_several_names_offers_the_task_to_each(owner, actor):
    wang = actor("agent", username="wang", team="East")
    zhao = actor("agent", username="zhao", team="East")
    text = java_engine(
        "camunda", CAMUNDA, "c7_pair", [("Task_Call", "Sales", 'camunda:assignee="${reps}"')]
    )
    assert deploy(owner, "pair.bpmn", text).status_code == 201

    # A list (or a comma-separated text) named wang alone as assignee; zhao never saw it.
    for reps in (["wang", "zhao"], "wang,zhao"):
        (task,) = owner.start("c7_pair", {"reps": reps})["ready_tasks"]
        assert (task["assignee"], task["candidates"]) == (None, ["user:wang", "user:zhao"])
        assert task["id"] in {t["id"] for t in zhao.tasks("candidate=1")}
        assert zhao.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
        assert wang.complete(task["id"]).status_code == 409  # zhao holds it

    # regression guard: a number is read as a username (no such user: the lane's, as before)
    (single,) = owner.start("c7_pair", {"reps": 7})["ready_tasks"]
    assert (single["assignee"], single["candidates"]) == (None, ["group:Sales", "user:7"])
