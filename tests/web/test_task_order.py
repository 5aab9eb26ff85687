"""The order of open tasks: by default the late first, then the higher priority, then the
sooner due, then the older; ``sort`` picks another, through the API, the inbox and the team
board. Every priority shows as a badge, 0 and negatives too."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from engine.models import WorkItem
from tests.conftest import PASSWORD, sign_in
from tests.web.test_pages import EN, ZH, csrf_token
from tests.web.workspace import start

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_ordered_work" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="ordered_work" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="east" name="East">
      <bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="work" name="Work">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="title" value="label" />
        <spiffworkflow:property name="dueAt" value="due" />
        <spiffworkflow:property name="priority" value="priority" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
  <bpmn:process id="ordered_batch" isExecutable="true">
    <bpmn:laneSet id="batch_lanes"><bpmn:lane id="batch_east" name="East">
      <bpmn:flowNodeRef>call</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="batch_start" />
    <bpmn:userTask id="call" name="Call">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="dueAt" value="due" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:loopDataInputRef>customers</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="customer" name="customer" />
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="batch_end" />
    <bpmn:sequenceFlow id="b1" sourceRef="batch_start" targetRef="call" />
    <bpmn:sequenceFlow id="b2" sourceRef="call" targetRef="batch_end" />
  </bpmn:process>
</bpmn:definitions>
"""

# (title, due from now in hours or None, priority), started in this order.
WORK = [
    ("routine late", -48, 0),
    ("urgent callback", 1, 90),
    ("routine soon", 0.5, 0),
    ("low undated", None, -5),
    ("normal undated", None, 10),
    ("urgent late", -1, 50),
]
ORDERS = {
    # the late first (by priority), then by priority, sooner due, older
    "urgency": [
        "urgent late",
        "routine late",
        "urgent callback",
        "normal undated",
        "routine soon",
        "low undated",
    ],
    "due": [
        "routine late",
        "urgent late",
        "routine soon",
        "urgent callback",
        "normal undated",
        "low undated",
    ],
    "priority": [
        "urgent callback",
        "urgent late",
        "normal undated",
        "routine late",
        "routine soon",
        "low undated",
    ],
    "created": [title for title, _due, _priority in WORK],
}


@pytest.fixture
def work(client, desk) -> dict[str, str]:
    """The six tasks of ``WORK`` for the East team (the agent ``li`` may claim them): title → id."""
    deployed = client.post("/api/v1/process-models", headers=desk.owner_api, json={"bpmn": DIAGRAM})
    assert deployed.status_code == 201, deployed.get_json()
    now = datetime.now(UTC)
    ids = {}
    for title, hours, priority in WORK:
        due = (now + timedelta(hours=hours)).isoformat() if hours is not None else None
        data = {"label": title, "due": due, "priority": priority}
        instance = start(client, desk.owner_api, "ordered_work", data=data)
        ids[title] = instance["ready_tasks"][0]["id"]
    return ids


def titles(html: str, ids: dict[str, str]) -> list[str]:
    by_id = {task_id: title for title, task_id in ids.items()}
    return [by_id[t] for t in re.findall(r'data-task="([^"]+)"', html) if t in by_id]


def test_the_api_lists_the_late_first_then_by_priority_and_sort_picks_another(client, desk, work):
    def listed(query: str) -> list[str]:
        response = client.get(f"/api/v1/tasks{query}", headers=desk.agent_api)
        assert response.status_code == 200, response.get_json()
        return [task["title"] for task in response.get_json()["items"]]

    assert listed("") == ORDERS["urgency"]
    assert listed("?sort=") == ORDERS["urgency"]
    for order, expected in ORDERS.items():
        assert listed(f"?sort={order}") == expected, order
        assert listed(f"?sort={order}&candidate=1") == expected, order
    # pages follow the order: the third and fourth of it
    assert listed("?limit=2&offset=2") == ORDERS["urgency"][2:4]
    assert listed("?sort=priority&limit=2&offset=2") == ORDERS["priority"][2:4]

    refused = client.get("/api/v1/tasks?sort=importance", headers=desk.agent_api)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_sort"
    assert "urgency, due, priority, created, follow_up" in error["message"]
    assert error["details"] == [
        {"field": "sort", "message": "one of: urgency, due, priority, created, follow_up"}
    ]


def test_the_openapi_document_offers_the_orders(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/tasks"]["get"]
    sort = next(p for p in operation["parameters"] if p["name"] == "sort")
    assert sort["schema"]["enum"] == ["urgency", "due", "priority", "created", "follow_up"]


def test_the_inbox_page_orders_by_urgency_and_shows_every_priority(client, desk, work):
    sign_in(client, "li")
    page = client.get("/inbox", headers=EN).text
    assert titles(page, work) == ORDERS["urgency"]
    assert re.search(r'class="tab active" data-sort="urgency"[^>]*>Most urgent<', page)
    assert "Overdue first, then higher priority, then sooner due, then older" in page
    for priority in (90, 50, 10, 0, -5):
        assert f'data-priority="{priority}">{priority}</span>' in page
    assert 'class="badge prio prio-down" data-priority="-5"' in page
    assert 'class="badge prio prio-default" data-priority="0"' in page
    # the task's own page too (it left out a priority of 0)
    for title, priority in (("routine soon", 0), ("low undated", -5)):
        task_page = client.get(f"/tasks/{work[title]}", headers=EN).text
        assert f'data-priority="{priority}">{priority}</span>' in task_page

    by_priority = client.get("/inbox?sort=priority&kind=claimable", headers=EN).text
    assert titles(by_priority, work) == ORDERS["priority"]
    # the kind tabs keep the order, the order tabs keep the kind
    assert 'href="/inbox?kind=overdue&amp;sort=priority"' in by_priority
    kept = r'href="/inbox\?(sort=due&amp;kind=claimable|kind=claimable&amp;sort=due)"'
    assert re.search(kept, by_priority)
    overdue = client.get("/inbox?kind=overdue&sort=due", headers=EN).text
    assert titles(overdue, work) == ["routine late", "urgent late"]
    # an order the page does not know shows the default one
    assert titles(client.get("/inbox?sort=nonsense").text, work) == ORDERS["urgency"]

    chinese = client.get("/inbox?sort=created", headers=ZH).text
    assert titles(chinese, work) == ORDERS["created"]
    assert re.search(r'class="tab active" data-sort="created"[^>]*>最早创建<', chinese)
    assert ">最紧急<" in chinese and ">优先级<" in chinese


def test_the_team_board_orders_its_tasks_and_keeps_the_order_after_a_reassignment(
    client, desk, work, make_user
):
    make_user("manager", username="boss", team="East", password=PASSWORD)
    sign_in(client, "boss")
    board = client.get("/team", headers=EN).text
    assert titles(board, work) == ORDERS["urgency"]
    assert 'data-priority="-5">-5</span>' in board and 'data-priority="0">0</span>' in board
    by_due = client.get("/team?sort=due", headers=EN).text
    assert titles(by_due, work) == ORDERS["due"]
    moved = client.post(
        re.search(r'action="(/team/\d+/tasks/' + work["low undated"] + '/reassign)"', by_due)[1],
        data={"csrf_token": csrf_token(by_due), "user": str(desk.agent.id), "sort": "due"},
    )
    assert moved.status_code == 302
    assert moved.headers["Location"].endswith("sort=due")
    chinese = client.get("/team?sort=priority", headers=ZH).text
    assert titles(chinese, work) == ORDERS["priority"]
    assert re.search(r'class="tab active" data-sort="priority"[^>]*>优先级<', chinese)


def test_a_task_past_the_boards_first_rows_can_still_be_reassigned(
    client, desk, work, db, make_user
):
    """The board shows its first 200 tasks; a task further down in one order (or shown in
    another) was refused as "No such task in this team" (404) when reassigned."""
    long_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    start(
        client,
        desk.owner_api,
        "ordered_batch",
        data={"customers": list(range(200)), "due": long_ago},
    )
    make_user("manager", username="boss", team="East", password=PASSWORD)
    sign_in(client, "boss")
    board = client.get("/team", headers=EN).text
    assert "low undated" not in titles(board, work) and len(re.findall("data-task=", board)) == 200
    team = re.search(r'action="/team/(\d+)/tasks/', board)[1]
    moved = client.post(
        f"/team/{team}/tasks/{work['low undated']}/reassign",
        data={"csrf_token": csrf_token(board), "user": str(desk.agent.id)},
    )
    assert moved.status_code == 302
    with db() as session:
        assert session.get(WorkItem, work["low undated"]).assignee_id == desk.agent.id
