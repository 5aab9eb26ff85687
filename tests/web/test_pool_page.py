"""The public pool page: masked phones, caps, claiming (with a link to the call task) and the
refusals as messages."""

from __future__ import annotations

import re
from datetime import timedelta

from crm.models import Customer, PoolStatus
from crm.pool import release
from tests.processes.conftest import Team
from tests.web.sales_pages import browser, submit


def pool_leads(team: Team, count: int) -> list[int]:
    """Leads released into the pool (as the reclaim timer does)."""
    ids = []
    for n in range(count):
        lead = team.lead(name=f"公海客户{n}", phone=f"1580000{n:04d}", region="上海")
        ids.append(lead["customer_id"])
    with team.db() as db:
        for customer_id in ids:
            release(
                db,
                db.get(Customer, customer_id),
                reason="test",
                now=team.clock.now(),
                actor=None,
                respect_protection=False,
            )
    return ids


def test_agent_claims_a_lead_and_gets_a_link_to_the_call_task(team: Team) -> None:
    first, _second = pool_leads(team, 2)
    agent = browser(team, "a4")
    page = agent.get("/pool")
    assert page.status_code == 200
    assert f'data-customer="{first}"' in page.text and "公海客户0" in page.text
    assert "15800000000" not in re.sub(r"\s", "", page.text)  # masked for a non-owner
    assert "0 / 5" in page.text  # claimed today / daily cap
    claimed = submit(agent, "/pool", f"/pool/{first}/claim", {})
    assert claimed.status_code == 302
    after = agent.get("/pool").text
    assert "The lead is yours." in after
    task = re.search(r'href="/tasks/([0-9a-f-]{36})"', after)
    assert task, after
    assert agent.get(f"/tasks/{task.group(1)}").status_code == 200
    assert f'data-customer="{first}"' not in after and "1 / 5" in after
    with team.db() as db:
        customer = db.get(Customer, first)
        assert customer.pool_status == PoolStatus.OWNED and customer.owner_id == team["a4"].user.id
    # The same lead again: someone (here: they) already has it.
    again = submit(agent, "/pool", f"/pool/{first}/claim", {})
    assert again.status_code == 302
    assert "Someone claimed this lead first." in agent.get("/pool").text


def test_caps_refuse_claims_with_a_clear_message(team: Team) -> None:
    ids = pool_leads(team, 6)
    agent = browser(team, "a4")
    for customer_id in ids[:5]:
        assert submit(agent, "/pool", f"/pool/{customer_id}/claim", {}).status_code == 302
    submit(agent, "/pool", f"/pool/{ids[5]}/claim", {})
    page = agent.get("/pool").text
    assert "You reached today&#39;s claim cap" in page or "You reached today's claim cap" in page
    assert 'class="cap full"' in page
    # On a new day a holding cap of 5 (the team's setting) still refuses the sixth lead.
    team.advance(timedelta(days=1))
    boss = team["boss"]
    response = boss.client.put(
        "/api/v1/settings/pool",
        json={"value": {"holding_cap": 5}, "team_id": team["a4"].user.team_id},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.get_json()
    submit(agent, "/pool", f"/pool/{ids[5]}/claim", {})
    assert "You hold as many open leads as allowed." in agent.get("/pool").text


def test_pool_page_roles_and_csrf(team: Team) -> None:
    (lead,) = pool_leads(team, 1)
    director = browser(team, "boss")
    page = director.get("/pool")
    assert page.status_code == 200 and "/claim" not in page.text  # directors browse, not claim
    refused = submit(director, "/pool", f"/pool/{lead}/claim", {})
    assert refused.status_code == 302
    assert "Only agents and managers claim leads" in director.get("/pool").text
    agent = browser(team, "a1")
    assert agent.post(f"/pool/{lead}/claim").status_code == 400  # no CSRF token
    assert submit(agent, "/pool", "/pool/999999/claim", {}).status_code == 404
    with team.db() as db:
        assert db.get(Customer, lead).pool_status == PoolStatus.POOL
    assert agent.get("/pool?page=abc").status_code == 200
