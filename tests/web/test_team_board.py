"""The team board: per-agent figures, the team's open tasks, reassignment within the team,
agents' daily lead caps (audited), and who may see which team."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from crm.models import AuditEntry, User
from crm.models import Team as TeamRow
from engine.models import WorkItem
from tests.processes.conftest import EAST, SOUTH, Team
from tests.web.sales_pages import browser, submit


def agent_row(html: str, username: str) -> list[str]:
    found = re.search(rf'<tr data-agent="{username}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {username}"
    return [
        re.sub(r"<[^>]+>|\s+", " ", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    ]


def team_id(team: Team, name: str) -> int:
    with team.db() as db:
        return db.scalar(select(TeamRow.id).where(TeamRow.name == name))


def test_manager_sees_each_agents_load_and_the_teams_tasks(team: Team) -> None:
    lead = team.lead(name="王芳", phone="13600002001", region="上海")
    owner, customer_id = lead["owner"], lead["customer_id"]
    call = team.one_task(owner, customer_id, "call")
    team[owner].complete_ok(call["id"], {"disposition": "no_answer"})
    other = team.lead(name="李雷", phone="13600002002", region="上海")
    manager = browser(team, "m_east")
    page = manager.get("/team")
    assert page.status_code == 200
    cells = agent_row(page.text, owner)
    # open tasks, overdue, calls today, leads held / cap, claims / cap, leads today / cap
    assert cells[1:4] == ["0" if owner != other["owner"] else "1", "0", "1"]
    assert cells[4].startswith("1") or cells[4].startswith("2")
    assert "/ 30" in cells[6]
    assert {"a1", "a2", "a3"} <= set(re.findall(r'data-agent="(\w+)"', page.text))
    assert 'data-agent="a4"' not in page.text  # another team's agent
    open_call = team.one_task(other["owner"], other["customer_id"], "call")
    assert f'data-task="{open_call["id"]}"' in page.text and "李雷" in page.text


def test_manager_reassigns_a_task_to_another_agent_of_the_team(team: Team) -> None:
    lead = team.lead(name="张伟", phone="13600002003", region="上海")
    owner, customer_id = lead["owner"], lead["customer_id"]
    call = team.one_task(owner, customer_id, "call")
    target = next(a for a in ("a1", "a2", "a3") if a != owner)
    manager = browser(team, "m_east")
    east = team_id(team, EAST)
    moved = submit(
        manager,
        "/team",
        f"/team/{east}/tasks/{call['id']}/reassign",
        {"user": str(team[target].user.id)},
    )
    assert moved.status_code == 302
    with team.db() as db:
        assert db.get(WorkItem, call["id"]).assignee_id == team[target].user.id
    assert "now belongs to" in manager.get("/team").text
    # Not to an agent of another team: refused with a message, nothing changes.
    submit(
        manager,
        "/team",
        f"/team/{east}/tasks/{call['id']}/reassign",
        {"user": str(team["a4"].user.id)},
    )
    assert "Choose an agent of the team." in manager.get("/team").text
    submit(manager, "/team", f"/team/{east}/tasks/{call['id']}/reassign", {"user": "abc"})
    with team.db() as db:
        assert db.get(WorkItem, call["id"]).assignee_id == team[target].user.id
    # The other team's manager cannot touch it, nor see the team.
    south = browser(team, "m_south")
    refused = submit(
        south,
        "/team",
        f"/team/{east}/tasks/{call['id']}/reassign",
        {"user": str(team["a4"].user.id)},
    )
    assert refused.status_code == 404
    assert south.get(f"/team?team={east}").status_code == 404
    refused = submit(
        south,
        "/team",
        f"/team/{team_id(team, SOUTH)}/tasks/{call['id']}/reassign",
        {"user": str(team["a4"].user.id)},
    )
    assert refused.status_code == 404


def test_daily_lead_cap_is_changed_validated_and_audited(team: Team) -> None:
    manager = browser(team, "m_east")
    east = team_id(team, EAST)
    a1 = team["a1"].user.id
    done = submit(manager, "/team", f"/team/{east}/agents/{a1}/cap", {"daily_lead_cap": "12"})
    assert done.status_code == 302
    page = manager.get("/team").text
    assert "/ 12" in agent_row(page, "a1")[6]
    for odd in ("-3", "²"):
        bad = submit(manager, "/team", f"/team/{east}/agents/{a1}/cap", {"daily_lead_cap": odd})
        assert bad.status_code == 302
        assert "whole number from 0 to 10000" in manager.get("/team").text
    submit(manager, "/team", f"/team/{east}/agents/{a1}/cap", {"daily_lead_cap": ""})
    with team.db() as db:
        assert db.get(User, a1).daily_lead_cap is None
        entries = db.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity_type == "user",
                AuditEntry.entity_id == str(a1),
                AuditEntry.action == "update",
            )
            .order_by(AuditEntry.id)
        ).all()
    assert [(e.before, e.after) for e in entries] == [
        ({"daily_lead_cap": None}, {"daily_lead_cap": 12}),
        ({"daily_lead_cap": 12}, {"daily_lead_cap": None}),
    ]
    # Another team's agent through this team's URL, or the other team's manager: not found.
    a4 = team["a4"].user.id
    assert (
        submit(
            manager, "/team", f"/team/{east}/agents/{a4}/cap", {"daily_lead_cap": "1"}
        ).status_code
        == 404
    )
    south = browser(team, "m_south")
    assert (
        submit(south, "/team", f"/team/{east}/agents/{a1}/cap", {"daily_lead_cap": "1"}).status_code
        == 404
    )
    no_token = manager.post(f"/team/{east}/agents/{a1}/cap", data={"daily_lead_cap": "5"})
    assert no_token.status_code == 400


def test_roles_and_team_choice(team: Team) -> None:
    assert browser(team, "a1").get("/team").status_code == 403
    director = browser(team, "boss")
    south = team_id(team, SOUTH)
    page = director.get(f"/team?team={south}")
    assert page.status_code == 200 and 'data-agent="a4"' in page.text
    assert 'data-agent="a1"' not in page.text
    assert director.get("/team?team=999999").status_code == 404
    assert EAST in director.get("/team").text  # a team picker with both teams


NOBODYS_LANE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
  targetNamespace="http://dialflow.example/team-board">
  <bpmn:process id="field_visit" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_field" name="Field Sales"><bpmn:flowNodeRef>visit</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="visit" name="Visit the customer"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="visit"/>
    <bpmn:sequenceFlow id="f2" sourceRef="visit" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_task_no_one_can_claim_is_on_every_managers_board_and_can_be_given_away(
    team: Team,
) -> None:
    """Its lane names no role and no team: the deploy warned, no inbox offers it, and the
    team board shows it to the managers, marked, so one of them gives it to an agent."""
    deployed = team["owner"].post("/api/v1/process-models", json={"bpmn": NOBODYS_LANE})
    assert deployed.status_code == 201, deployed.get_json()
    assert [w["element_id"] for w in deployed.get_json()["warnings"]] == ["lane_field"]
    started = team["boss"].start("field_visit")
    (task,) = started["ready_tasks"]
    assert all(team[a].tasks("?candidate=1") == [] for a in ("a1", "a4"))
    row = f'data-task="{task["id"]}"'
    for manager in ("m_east", "m_south"):
        page = browser(team, manager).get("/team").text
        assert row in page and "data-offered-to-nobody" in page, manager
    # A task of the team's own group is not marked.
    lead = team.lead(name="赵敏", phone="13600002009", region="上海")
    call = team.one_task(lead["owner"], lead["customer_id"], "call")
    page = browser(team, "m_east").get("/team").text
    marked = re.search(rf'data-task="{call["id"]}".*?</tr>', page, re.S)
    assert marked and "data-offered-to-nobody" not in marked.group(0)

    manager = browser(team, "m_east")
    moved = submit(
        manager,
        "/team",
        f"/team/{team_id(team, EAST)}/tasks/{task['id']}/reassign",
        {"user": str(team["a2"].user.id)},
    )
    assert moved.status_code == 302
    assert [t["id"] for t in team["a2"].tasks("?mine=1")] == [task["id"]]
    # Now it is someone's: the other team's board no longer lists it.
    assert row not in browser(team, "m_south").get("/team").text
    assert team["a2"].complete_ok(task["id"])["status"] == "completed"
    with team.db() as db:
        assert db.get(WorkItem, task["id"]).completed_by_id == team["a2"].user.id


def test_a_task_whose_lane_owners_name_no_one_is_on_the_managers_board(team: Team) -> None:
    """``lane_owners`` naming a user who does not exist (a typo) or has left, or a group that
    is no team, offers the task to no one: it was on no board, found only among all tasks."""
    deployed = team["owner"].post("/api/v1/process-models", json={"bpmn": NOBODYS_LANE})
    assert deployed.status_code == 201, deployed.get_json()
    with team.db() as db:
        db.scalar(select(User).where(User.username == "a3")).active = False
    owners = {"Field Sales": ["a_typo", "a3", "group:Nowhere"]}
    (task,) = team["boss"].start("field_visit", {"lane_owners": owners})["ready_tasks"]
    assert task["assignee"] is None
    page = browser(team, "m_south").get("/team").text
    marked = re.search(rf'data-task="{task["id"]}".*?</tr>', page, re.S)
    assert marked and "data-offered-to-nobody" in marked.group(0)
    # Naming one active agent is enough for the task not to be marked.
    owners = {"Field Sales": ["a_typo", "a2"]}
    (task,) = team["boss"].start("field_visit", {"lane_owners": owners})["ready_tasks"]
    assert f'data-task="{task["id"]}"' not in browser(team, "m_south").get("/team").text


def board_plan(team: Team, manager: str) -> list[str]:
    """The plan of the statement listing the board's tasks, caught as the page runs it:
    SQLite's ``EXPLAIN QUERY PLAN`` lines, or PostgreSQL's plan nodes that read
    ``work_item_candidates`` (its indexes' names and conditions), index scans preferred as
    they are on a board of 200,000 items (the test's tables are too small for them)."""
    caught: list[tuple[str, Any]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM work_items" in statement and "LIMIT" in statement:
            caught.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", catch)
    try:
        assert browser(team, manager).get("/team").status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", catch)
    (statement, parameters), *_ = caught
    with team.db() as db:
        connection = db.connection()
        if connection.dialect.name == "sqlite":
            explained = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return [row[-1] for row in explained]
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        (plan,) = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
    nodes, found = [plan[0][0]["Plan"]], []
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        if "work_item_candidates" in f"{node.get('Relation Name')} {node.get('Index Name')}":
            found.append(f"{node['Node Type']} {node.get('Index Name')} {node.get('Index Cond')}")
    return found


def test_the_board_reads_the_candidates_of_open_items_alone(team: Team) -> None:
    """The team's tasks offered to its group are found from the open items, each item's
    candidates sought by its id. The board read every item ever offered to the group, done
    ones too, by the candidates' name (~100 ms at 200,000 items; bench/team_board.py)."""
    lead = team.lead(name="钱七", phone="13600002011", region="上海")
    call = team.one_task(lead["owner"], lead["customer_id"], "call")
    team[lead["owner"]].complete_ok(call["id"], {"disposition": "no_answer"})

    plan = board_plan(team, "m_east")

    reads = [line for line in plan if "work_item_candidates" in line]
    assert reads, plan
    for line in reads:  # sought by the item's id: ``(work_item_id=? …)``
        assert re.search(r"\(\(?work_item_id\b", line), plan  # was: (name=?), the group's list
