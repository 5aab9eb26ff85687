"""The approvals queue: who sees which approvals, deal context, inline decisions through the
same completion door as the API, comments required to reject or send back, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from crm.models import Deal
from tests.processes.conftest import Team
from tests.web.sales_pages import browser, opportunity, quote, submit


def row_of(html: str, task_id: str) -> str:
    found = re.search(rf'<tr class="[^"]*" data-task="{task_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {task_id}"
    return found.group(1)


def stage(team: Team, deal_id: int) -> str:
    with team.db() as db:
        return db.get(Deal, deal_id).stage.value


def test_manager_sees_their_approvals_with_the_deal_and_approves_one(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500001001", name="杭州云帆")
    quote(team, agent, deal_id, 15)
    task = team.one_task("m_east", customer_id, "approve_manager")
    manager = browser(team, "m_east")
    page = manager.get("/approvals")
    assert page.status_code == 200
    row = row_of(page.text, task["id"])
    assert "杭州云帆" in row and f"/customers/{customer_id}" in row
    assert f"/tasks/{task['id']}" in row
    assert "15" in row and "100,000.00" in row  # discount and amount (CNY, English locale)
    assert team[agent].user.display_name in row

    done = submit(
        manager,
        "/approvals",
        f"/approvals/{task['id']}",
        {"field:decision": "approve", "field:comment": "老客户"},
    )
    assert done.status_code == 302
    after = manager.get("/approvals")
    assert task["id"] not in after.text and "Decision recorded" in after.text
    assert stage(team, deal_id) == "negotiation"


def test_reject_without_a_comment_is_refused_beside_the_field(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500001002")
    quote(team, agent, deal_id, 30)
    task = team.one_task("boss", customer_id, "approve_director")
    director = browser(team, "boss")
    bad = submit(director, "/approvals", f"/approvals/{task['id']}", {"field:decision": "reject"})
    assert bad.status_code == 422
    row = row_of(bad.text, task["id"])
    assert 'data-error="comment"' in row and "This field is required." in row
    assert stage(team, deal_id) == "approval"
    bogus = submit(director, "/approvals", f"/approvals/{task['id']}", {"field:decision": "maybe"})
    assert bogus.status_code == 422 and 'data-error="decision"' in bogus.text
    sent_back = submit(
        director,
        "/approvals",
        f"/approvals/{task['id']}",
        {"field:decision": "send_back", "field:comment": "降到10%以内"},
    )
    assert sent_back.status_code == 302
    assert stage(team, deal_id) == "proposal"
    assert team.one_task(agent, customer_id, "revise")


def test_scoping_and_roles(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500001003")
    quote(team, agent, deal_id, 15)
    task = team.one_task("m_east", customer_id, "approve_manager")
    # Another team's manager neither sees nor decides it.
    south = browser(team, "m_south")
    assert task["id"] not in south.get("/approvals").text
    refused = submit(south, "/approvals", f"/approvals/{task['id']}", {"field:decision": "approve"})
    assert refused.status_code == 404
    # Agents have no approvals page; a director sees nothing of the manager tier.
    assert browser(team, agent).get("/approvals").status_code == 403
    assert task["id"] not in browser(team, "boss").get("/approvals").text
    # Without the CSRF token nothing happens.
    manager = browser(team, "m_east")
    no_token = manager.post(f"/approvals/{task['id']}", data={"field:decision": "approve"})
    assert no_token.status_code == 400
    assert stage(team, deal_id) == "approval"
    assert manager.post("/approvals/" + "x" * 80, data={}).status_code in (400, 404)


def test_overdue_approval_is_highlighted_and_escalated_one_listed_for_the_director(
    team: Team,
) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500001004")
    quote(team, agent, deal_id, 12)
    task = team.one_task("m_east", customer_id, "approve_manager")
    manager = browser(team, "m_east")
    assert f'<tr class="" data-task="{task["id"]}">' in manager.get("/approvals").text
    team.clock.advance(timedelta(hours=24, seconds=1))  # due, before the scheduler's pass
    late = manager.get("/approvals").text
    assert f'<tr class="overdue" data-task="{task["id"]}">' in late
    assert "Overdue" in row_of(late, task["id"])
    team.advance()
    assert task["id"] not in manager.get("/approvals").text
    escalated = team.one_task("boss", customer_id, "approve_escalated")
    page = browser(team, "boss").get("/approvals").text
    row = row_of(page, escalated["id"])
    assert "Escalated" in row
    with team.db() as db:
        assert db.scalar(select(Deal.stage).where(Deal.id == deal_id)).value == "approval"
