"""Tasks by their follow-up date: ``GET /api/v1/tasks?sort=follow_up`` lists the soonest
follow-up date first (those whose date has passed lead, none last), and the inbox page offers
that order and marks each task whose follow-up date has passed "follow up now"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.conftest import sign_in
from tests.web.test_pages import EN, ZH
from tests.web.test_task_order import titles
from tests.web.workspace import start

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_follow_up_work" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="follow_up_work" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="east" name="East">
      <bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="work" name="Work">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="title" value="label" />
        <spiffworkflow:property name="followUpAt" value="remind" />
        <spiffworkflow:property name="priority" value="priority" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

# (title, follow-up from now in hours or None, priority), started in this order.
WORK = [
    ("urgent later", 5, 90),
    ("remind long ago", -48, 0),
    ("no reminder", None, 50),
    ("remind an hour ago", -1, 10),
]
BY_FOLLOW_UP = ["remind long ago", "remind an hour ago", "urgent later", "no reminder"]


def test_tasks_sorted_by_follow_up_date_and_marked_once_it_has_passed(client, desk):
    deployed = client.post("/api/v1/process-models", headers=desk.owner_api, json={"bpmn": DIAGRAM})
    assert deployed.status_code == 201, deployed.get_json()
    now = datetime.now(UTC)
    ids = {}
    for title, hours, priority in WORK:
        remind = (now + timedelta(hours=hours)).isoformat() if hours is not None else None
        data = {"label": title, "remind": remind, "priority": priority}
        ids[title] = start(client, desk.owner_api, "follow_up_work", data=data)["ready_tasks"][0][
            "id"
        ]

    response = client.get("/api/v1/tasks?sort=follow_up", headers=desk.agent_api)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [task["title"] for task in items] == BY_FOLLOW_UP
    assert items[-1]["follow_up_at"] is None
    paged = client.get("/api/v1/tasks?sort=follow_up&limit=2&offset=1", headers=desk.agent_api)
    assert [task["title"] for task in paged.get_json()["items"]] == BY_FOLLOW_UP[1:3]

    sign_in(client, "li")
    page = client.get("/inbox?sort=follow_up", headers=EN).text
    assert titles(page, ids) == BY_FOLLOW_UP
    assert re.search(r'class="tab active" data-sort="follow_up"[^>]*>Follow-up date<', page)
    marked = re.findall(r'data-task="([^"]+)"(?:(?!data-task=).)*?follow-up-now', page, re.S)
    assert marked == [ids["remind long ago"], ids["remind an hour ago"]]
    assert page.count(">Follow up now</span>") == 2
    # the default order still leads with priority; the mark goes with the task
    default = client.get("/inbox", headers=EN).text
    assert titles(default, ids)[0] == "urgent later"
    assert default.count(">Follow up now</span>") == 2

    chinese = client.get("/inbox?sort=follow_up", headers=ZH).text
    assert chinese.count(">该跟进了</span>") == 2
    assert re.search(r'class="tab active" data-sort="follow_up"[^>]*>跟进时间<', chinese)
