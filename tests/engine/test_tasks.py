"""Human tasks: lanes → candidates, the inbox views, claim/unclaim/assign, form validation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crm.models import AuditEntry
from engine.instances import get_instance
from engine.models import (
    InstanceStatus,
    ProcessInstance,
    WorkItem,
    WorkItemCandidate,
    WorkItemStatus,
)
from engine.tasks import complete
from tests.engine.conftest import only

TASK_FIELDS = {
    "id",
    "name",
    "title",
    "lane",
    "process_instance_id",
    "business_key",
    "assignee",
    "candidates",
    "due_at",
    "form_schema",
    "created_at",
}


@pytest.fixture
def lanes(owner):
    owner.deploy("lanes.bpmn", "approve-form.json")


def names(items):
    return sorted(item["name"] for item in items)


def test_lanes_give_candidates(lanes, agent):
    instance = agent.start("lane_routing", business_key="lead-1")
    assert instance["status"] == "running"
    tasks = {task["name"]: task for task in instance["ready_tasks"]}
    assert sorted(tasks) == ["approve", "prepare_call", "starter_check", "team_review"]
    for task in tasks.values():
        assert set(task) >= TASK_FIELDS
        assert task["process_instance_id"] == instance["id"]
        assert task["business_key"] == "lead-1"

    assert tasks["prepare_call"]["lane"] == "agent"
    assert tasks["prepare_call"]["candidates"] == ["group:agent"]
    assert tasks["prepare_call"]["assignee"] is None
    assert tasks["team_review"]["candidates"] == ["group:East"]
    assert tasks["approve"]["candidates"] == ["group:Approver"]
    assert tasks["approve"]["form_schema"]["required"] == ["approved"]
    assert tasks["approve"]["title"] == "Approve the offer"
    # No lane: the starter, who is then the assignee right away.
    assert tasks["starter_check"]["lane"] is None
    assert tasks["starter_check"]["candidates"] == [f"user:{agent.username}"]
    assert tasks["starter_check"]["assignee"] == agent.user.id


def test_lane_owners_in_data_override_the_lane(lanes, agent, actor):
    manager = actor("manager", username="manager1", team="North")
    instance = agent.start(
        "lane_routing", {"lane_owners": {"Approver": ["manager1", "group:East"]}}
    )
    approve = only(instance["ready_tasks"], name="approve")
    assert approve["candidates"] == ["group:East", "user:manager1"]
    assert approve["assignee"] is None
    assert names(manager.tasks("candidate=1")) == ["approve"]
    # A role is named as a lane names it, whatever its case: "Manager" is the managers.
    roles = agent.start("lane_routing", {"lane_owners": {"Approver": ["group:Manager "]}})
    assert only(roles["ready_tasks"], name="approve")["candidates"] == ["group:manager"]
    assert names(manager.tasks("candidate=1")) == ["approve", "approve"]

    single = agent.start("lane_routing", {"lane_owners": {"Approver": "manager1"}})
    approve = only(single["ready_tasks"], name="approve")
    assert approve["candidates"] == ["user:manager1"]
    assert approve["assignee"] == manager.user.id
    assert only(manager.tasks("mine=1"), name="approve")["process_instance_id"] == single["id"]


def test_inbox_views(lanes, agent, actor):
    west = actor("agent", username="agent_west", team="West")
    manager = actor("manager", username="boss", team="East")
    instance = agent.start("lane_routing")

    assert names(agent.tasks("mine=1")) == ["starter_check"]
    assert names(agent.tasks("candidate=1")) == ["prepare_call", "team_review"]
    assert names(agent.tasks()) == ["prepare_call", "starter_check", "team_review"]
    assert names(west.tasks("candidate=1")) == ["prepare_call"]
    assert west.tasks("mine=1") == []

    forbidden = agent.get("/api/v1/tasks?all=1")
    assert forbidden.status_code == 403
    assert forbidden.get_json()["error"]["code"] == "forbidden"
    everything = manager.get("/api/v1/tasks?all=1").get_json()
    assert everything["total"] == 4
    assert names(everything["items"]) == [
        "approve",
        "prepare_call",
        "starter_check",
        "team_review",
    ]
    assert manager.tasks("all=1&business_key=other") == []
    assert len(manager.tasks("all=1&process_id=lane_routing&limit=2")) == 2
    assert agent.get("/api/v1/tasks?limit=0").status_code == 422
    assert agent.get("/api/v1/tasks").get_json()["total"] == 3
    # A page holds some of them and the total counts all; a page past the end still counts.
    first = manager.get("/api/v1/tasks?all=1&limit=2").get_json()
    page = manager.get("/api/v1/tasks?all=1&limit=2&offset=2").get_json()
    assert (len(first["items"]), first["total"], len(page["items"]), page["total"]) == (2, 4, 2, 4)
    assert sorted(names(first["items"]) + names(page["items"])) == names(everything["items"])
    beyond = manager.get("/api/v1/tasks?all=1&offset=10").get_json()
    assert (beyond["items"], beyond["total"]) == ([], 4)
    assert all(t["process_instance_id"] == instance["id"] for t in everything["items"])


def test_claim_unclaim_assign(lanes, agent, actor, db):
    colleague = actor("agent", username="agent_east2", team="East")
    west = actor("agent", username="agent_west", team="West")
    manager = actor("manager", username="boss", team="East")
    instance = agent.start("lane_routing")
    review = only(instance["ready_tasks"], name="team_review")["id"]
    url = f"/api/v1/tasks/{review}"

    refused = west.post(f"{url}/claim")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_a_candidate"

    claimed = agent.post(f"{url}/claim")
    assert claimed.status_code == 200
    assert claimed.get_json()["assignee"] == agent.user.id
    assert agent.post(f"{url}/claim").status_code == 200  # claiming again is harmless
    assert names(agent.tasks("mine=1")) == ["starter_check", "team_review"]
    assert "team_review" not in names(colleague.tasks("candidate=1"))

    taken = colleague.post(f"{url}/claim")
    assert taken.status_code == 409
    assert taken.get_json()["error"]["code"] == "task_assigned"
    not_yours = colleague.complete(review)
    assert not_yours.status_code == 409
    assert colleague.post(f"{url}/unclaim").status_code == 403

    released = agent.post(f"{url}/unclaim")
    assert released.status_code == 200
    assert released.get_json()["assignee"] is None
    assert agent.post(f"{url}/claim").status_code == 200
    assert manager.post(f"{url}/unclaim").status_code == 200
    with db() as session:  # the manager's release says whose claim it ended
        (entry,) = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "unclaim",
                AuditEntry.entity_id == review,
                AuditEntry.actor_id == manager.user.id,
            )
        ).all()
        assert (entry.before, entry.after) == (
            {"assignee_id": agent.user.id},
            {"assignee_id": None},
        )
    assert colleague.post(f"{url}/claim").status_code == 200

    # A manager reassigns; agents may only delegate what they hold.
    assert west.post(f"{url}/assign", json={"user": "agent_west"}).status_code == 403
    moved = manager.post(f"{url}/assign", json={"user": agent.username})
    assert moved.status_code == 200
    assert moved.get_json()["assignee"] == agent.user.id
    unknown = manager.post(f"{url}/assign", json={"user": "nobody"})
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["details"][0]["field"] == "user"
    assert manager.post(f"{url}/assign", json={}).status_code == 422
    delegated = agent.post(f"{url}/assign", json={"user": colleague.username})
    assert delegated.status_code == 200
    assert delegated.get_json()["assignee"] == colleague.user.id
    # An agent delegates only to a candidate: another team's agent would have held (and
    # dialed the customer of) a task their team is not offered. A manager still may.
    outside = colleague.post(f"{url}/assign", json={"user": west.username})
    assert outside.status_code == 422
    assert outside.get_json()["error"]["code"] == "not_a_candidate"
    assert outside.get_json()["error"]["details"][0]["field"] == "user"
    assert only(colleague.tasks("mine=1"), name="team_review")["id"] == review
    assert west.tasks("mine=1") == []
    assert manager.post(f"{url}/assign", json={"user": west.username}).status_code == 200
    assert only(west.tasks("mine=1"), name="team_review")["id"] == review

    assert agent.post("/api/v1/tasks/no-such-task/claim").status_code == 404
    assert agent.complete("no-such-task").status_code == 404


def test_completion_is_validated_against_the_form(lanes, agent, actor):
    approver = actor("manager", username="approver", team="North")
    instance = agent.start("lane_routing", {"lane_owners": {"Approver": ["approver"]}})
    approve = only(instance["ready_tasks"], name="approve")["id"]

    wrong = approver.complete(approve, {"approved": "yes", "comment": 5})
    assert wrong.status_code == 422
    error = wrong.get_json()["error"]
    assert error["code"] == "invalid_form_data"
    assert {d["field"]: d["validator"] for d in error["details"]} == {
        "approved": "type",
        "comment": "type",
    }
    missing = approver.complete(approve, {})
    assert missing.status_code == 422
    assert [(d["field"], d["validator"]) for d in missing.get_json()["error"]["details"]] == [
        ("approved", "required")
    ]
    not_object = approver.post(f"/api/v1/tasks/{approve}/complete", json={"data": [1]})
    assert not_object.status_code == 422
    # Nothing moved: the task is still open.
    assert only(approver.tasks("mine=1"), name="approve")["id"] == approve

    done = approver.complete_ok(approve, {"approved": True, "comment": "ok"})
    assert done["status"] == "running"
    assert done["data"]["approved"] is True
    assert "approve" not in names(done["ready_tasks"])
    again = approver.complete(approve, {"approved": True})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "task_closed"


def test_non_candidate_cannot_complete(lanes, agent, actor):
    west = actor("agent", username="agent_west", team="West")
    instance = agent.start("lane_routing")
    review = only(instance["ready_tasks"], name="team_review")["id"]
    starter_check = only(instance["ready_tasks"], name="starter_check")["id"]

    refused = west.complete(review)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_a_candidate"
    assert west.complete(starter_check).status_code == 409  # assigned to the starter
    assert agent.instance(instance["id"])["data"].get("approved") is None


def test_all_lanes_done_completes_the_instance(lanes, agent, actor):
    manager = actor("manager", username="manager1", team="North")
    instance = agent.start("lane_routing", {"lane_owners": {"Approver": ["manager1"]}})
    tasks = {t["name"]: t["id"] for t in instance["ready_tasks"]}
    agent.complete_ok(tasks["prepare_call"])
    agent.complete_ok(tasks["team_review"])
    manager.complete_ok(tasks["approve"], {"approved": False})
    assert agent.instance(instance["id"])["status"] == "running"
    done = agent.complete_ok(tasks["starter_check"])
    assert done["status"] == "completed"
    assert done["ready_tasks"] == []
    assert done["ended_at"] is not None
    assert agent.tasks() == []
    assert manager.tasks("all=1") == []


def test_due_at_title_and_priority(owner, agent, make_customer):
    owner.deploy("call_note.bpmn", "call-form.json")
    owner.deploy("parallel_followup.bpmn")
    customer = make_customer()
    call = agent.start("call_note", {"customer_id": customer.id})["ready_tasks"][0]
    created = datetime.fromisoformat(call["created_at"])
    assert datetime.fromisoformat(call["due_at"]) - created == timedelta(hours=4)

    followup = agent.start("parallel_followup", {"customer_name": "王先生"})
    email = only(followup["ready_tasks"], name="send_email")
    assert email["title"] == "Email 王先生"
    assert email["priority"] == 2
    assert only(followup["ready_tasks"], name="call_back")["title"] == "Call back"
    # By due time, tasks without one last (the higher priority first among them).
    assert [t["name"] for t in agent.tasks("sort=due")] == ["call", "send_email", "call_back"]
    # By default a higher priority comes before a due time that has not passed yet.
    assert [t["name"] for t in agent.tasks()] == ["send_email", "call", "call_back"]


def test_completing_a_task_whose_instance_the_session_already_holds(
    runtime, owner, agent, make_customer, db
):
    """The completion's locked read builds its objects from the row; when the session already
    holds them they are read afresh instead, and the step sees the stored state."""
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = agent.start("call_note", {"customer_id": make_customer().id})
    task_id = instance["ready_tasks"][0]["id"]
    with runtime.db.unit_of_work() as session:
        held = get_instance(session, instance["id"])
        held.data = {"changed": "in memory only"}  # not flushed: the fresh read replaces it
        user = session.get(type(agent.user), agent.user.id)
        row = complete(runtime.engine, session, task_id, {"outcome": "interested"}, actor=user)
        assert row is held
    with db() as session:
        stored = session.get(ProcessInstance, instance["id"])
        assert stored.status == InstanceStatus.COMPLETED
        assert stored.data["outcome"] == "interested"
        assert "changed" not in stored.data
        assert session.get(WorkItem, task_id).status == WorkItemStatus.COMPLETED


def test_completing_a_task_whose_candidates_the_session_already_holds(
    runtime, owner, agent, make_customer, db
):
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = agent.start("call_note", {"customer_id": make_customer().id})
    task_id = instance["ready_tasks"][0]["id"]
    with runtime.db.unit_of_work() as session:
        held = session.scalars(
            select(WorkItemCandidate).where(WorkItemCandidate.work_item_id == task_id)
        ).all()
        assert held
        user = session.get(type(agent.user), agent.user.id)
        complete(runtime.engine, session, task_id, {"outcome": "interested"}, actor=user)
    with db() as session:
        assert session.get(WorkItem, task_id).status == WorkItemStatus.COMPLETED


@pytest.mark.parametrize(
    ("files", "process_id", "data"),
    [
        (("lanes.bpmn", "approve-form.json"), "lane_routing", {}),
        (("parallel_followup.bpmn",), "parallel_followup", {"customer_name": "Wang"}),
        (("call_note.bpmn", "call-form.json"), "call_note", {}),
        (("script_helpers.bpmn", "meeting-form.json"), "script_helpers", {}),
        ((), "due_in_shanghai", {"callback_at": "2026-12-24T09:30:00+08:00"}),
    ],
)
def test_a_start_answers_with_the_tasks_a_read_gives(owner, agent, files, process_id, data):
    """The start's ``ready_tasks`` are the items its step inserted, not read back: they must
    be exactly what reading the instance gives (lanes, candidates, assignee, forms, titles
    and priorities from expressions, due times from ``dueIn`` and from data, in UTC)."""
    if files:
        owner.deploy(*files)
    else:
        response = owner.upload(extra=[("due_in_shanghai.bpmn", DUE_IN_SHANGHAI)])
        assert response.status_code == 201, response.get_json()
    started = agent.start(process_id, data, business_key="key-1")
    assert started["ready_tasks"], "the diagram opens work items at its start"
    assert started["ready_tasks"] == agent.instance(started["id"])["ready_tasks"]


DUE_IN_SHANGHAI = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_due" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="due_in_shanghai" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="call_back" name="Call back">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="dueAt" value="callback_at" />
        <spiffworkflow:property name="priority" value="1 + 2" />
        <spiffworkflow:property name="kind" value="'callback'" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call_back" />
    <bpmn:sequenceFlow id="f2" sourceRef="call_back" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_the_instances_of_a_multi_instance_task_are_listed_in_their_items_order(owner, agent):
    """The tasks one step opens share their ``created_at``; they are listed in the order of
    their items, not of their random ids: completing them as listed fills the answers in the
    contacts' order, on every instance (eight contacts: 1 in 40,320 to pass by chance)."""
    owner.deploy("call_each_contact.bpmn")
    contacts = [f"contact {n}" for n in range(8)]
    for _ in range(3):
        started = agent.start("call_each_contact", {"contacts": contacts})
        listed = [
            t["id"] for t in agent.tasks("mine=1") if t["process_instance_id"] == started["id"]
        ]
        assert [t["id"] for t in started["ready_tasks"]] == listed
        assert [t["id"] for t in agent.instance(started["id"])["ready_tasks"]] == listed
        for n, task_id in enumerate(listed):
            done = agent.complete_ok(task_id, {"answer": n})
        assert done["status"] == "completed", done["incidents"]
        assert done["data"]["answers"] == list(range(8))


def test_the_instance_view_shows_the_flows_into_and_out_of_a_task_with_boundary_events(
    owner, agent, make_customer
):
    """SpiffWorkflow runs a split and a join of its own around an activity with boundary
    events; the flows through them (into the call, out of it) were never shown taken."""
    owner.deploy("call_or_cancel.bpmn", "call-form.json")
    started = agent.start("call_or_cancel", {"customer_id": make_customer().id})
    url = f"/api/v1/process-instances/{started['id']}/elements"
    view = agent.get(url).get_json()
    assert (view["ready"], view["waiting"], view["flows"]) == (
        ["call"],
        ["cancelled", "overdue"],
        ["f1"],
    )
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"outcome": "interested"})
    assert done["status"] == "completed", done["incidents"]
    view = agent.get(url).get_json()
    assert view["flows"] == ["f1", "f2", "f3"]
    assert "cancelled" not in view["completed"] and "overdue" not in view["completed"]


ODD_VALUES = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_odd" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="odd_values" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_agent" name="agent"><bpmn:flowNodeRef>call</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="call" name="Call">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="priority" value="score" />
        <spiffworkflow:property name="dueAt" value="callback_at" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(
    ("data", "priority", "due_at", "candidates"),
    [
        # a lead score used as the priority, beyond what the column holds: the highest
        ({"score": 1e300}, 2**31 - 1, None, ["group:agent"]),
        ({"score": -(10**40)}, -(2**31), None, ["group:agent"]),
        ({"score": 5, "callback_at": "9999-12-31T23:59:59-12:00"}, 5, None, ["group:agent"]),
        ({"callback_at": "0001-01-01T00:30:00+08:00"}, 0, None, ["group:agent"]),
        # an owner name no user or team could have is left out; the others stay
        ({"lane_owners": {"agent": ["x" * 200, "agent_east"]}}, 0, None, ["user:agent_east"]),
    ],
)
def test_odd_values_in_the_data_open_the_task_all_the_same(
    owner, agent, data, priority, due_at, candidates
):
    """A priority, due time or lane owner read from the data that the work item's columns
    cannot hold opened no task: the start (or the completion before it) answered 500."""
    response = owner.upload(extra=[("odd_values.bpmn", ODD_VALUES)])
    assert response.status_code == 201, response.get_json()
    started = agent.post(
        "/api/v1/process-instances", json={"process_id": "odd_values", "data": data}
    )
    assert started.status_code == 201, started.get_json()
    (task,) = started.get_json()["ready_tasks"]
    assert (task["priority"], task["due_at"], task["candidates"]) == (priority, due_at, candidates)
    assert agent.instance(started.get_json()["id"])["ready_tasks"] == [task]


def test_paging_through_tasks_opened_at_one_instant_shows_each_once(timed):
    """Tasks with equal due and creation times (leads started together) were sorted in no
    fixed order: on PostgreSQL pages repeated some tasks and never showed others."""
    timed.owner.deploy("lanes.bpmn", "approve-form.json")
    manager = timed.actor("manager", username="boss", team="East")
    started = [timed.agent.start("lane_routing")["id"] for _ in range(8)]
    everything = manager.get("/api/v1/tasks?all=1&limit=200").get_json()
    assert everything["total"] == 32
    paged = []
    for offset in range(0, 32, 5):
        page = manager.get(f"/api/v1/tasks?all=1&limit=5&offset={offset}").get_json()
        paged += [task["id"] for task in page["items"]]
    assert paged == [task["id"] for task in everything["items"]]
    assert len(set(paged)) == 32
    assert {task["process_instance_id"] for task in everything["items"]} == set(started)
