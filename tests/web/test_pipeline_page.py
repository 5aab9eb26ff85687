"""The pipeline board: columns per stage with counts and totals, scoping, filters, and the stage
change through the deals use case (a win queues the after-sale process)."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm.models import Deal
from crm.models import Team as TeamRow
from engine.models import ProcessInstance
from tests.processes.conftest import SOUTH, Team
from tests.web.sales_pages import browser, opportunity, submit


def column(html: str, stage: str) -> str:
    found = re.search(rf'data-stage="{stage}">(.*?)</section>', html, re.S)
    assert found, stage
    return found.group(1)


def count_of(html: str, stage: str) -> int:
    return int(re.search(r'<span class="tab-count">(\d+)</span>', column(html, stage)).group(1))


def test_columns_count_and_total_the_visible_deals(team: Team) -> None:
    c1, d1, agent1 = opportunity(team, "13700003001", name="甲公司")
    _c2, d2, agent2 = opportunity(team, "13700003002", name="乙公司")
    with team.db() as db:
        db.get(Deal, d2).amount = 25000
    manager = browser(team, "m_east")
    page = manager.get("/pipeline").text
    assert count_of(page, "qualification") == 2
    assert "CN¥125,000.00" in column(page, "qualification")  # 100,000 + 25,000, English locale
    assert f"/customers/{c1}" in page and "甲公司" in page
    assert count_of(page, "won") == 0
    # The agent sees their own deals only; the other team's manager sees none of them.
    own = browser(team, agent1).get("/pipeline").text
    assert f'data-deal="{d1}"' in own
    if agent2 != agent1:
        assert f'data-deal="{d2}"' not in own
    south = browser(team, "m_south").get("/pipeline").text
    assert f'data-deal="{d1}"' not in south and count_of(south, "qualification") == 0
    # Filters: by owner, by a team the viewer may see (another team is ignored).
    only = manager.get(f"/pipeline?owner={team[agent1].user.id}").text
    assert f'data-deal="{d1}"' in only
    with team.db() as db:
        south_id = db.scalar(select(TeamRow.id).where(TeamRow.name == SOUTH))
    assert (
        count_of(browser(team, "boss").get(f"/pipeline?team={south_id}").text, "qualification") == 0
    )
    assert count_of(manager.get(f"/pipeline?team={south_id}").text, "qualification") == 2


def test_stage_change_moves_the_deal_and_a_win_queues_the_after_sale(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13700003003")
    client = browser(team, agent)
    moved = submit(
        client,
        "/pipeline",
        f"/pipeline/deals/{deal_id}/stage",
        {"stage": "proposal", "comment": "报价已发"},
    )
    assert moved.status_code == 302
    page = client.get("/pipeline").text
    assert f'data-deal="{deal_id}"' in column(page, "proposal") and "moved to" in page
    submit(client, "/pipeline", f"/pipeline/deals/{deal_id}/stage", {"stage": "won"})
    with team.db() as db:
        assert db.get(Deal, deal_id).stage.value == "won"
    team.advance()  # the scheduler delivers the queued deal_won message
    with team.db() as db:
        started = db.scalars(
            select(ProcessInstance.process_id).where(
                ProcessInstance.business_key == str(customer_id)
            )
        ).all()
    assert "after_sale" in started


def test_bad_stage_changes_are_refused_without_a_500(team: Team) -> None:
    _customer_id, deal_id, agent = opportunity(team, "13700003004")
    client = browser(team, agent)
    for stage in ("approval", "bogus", ""):
        response = submit(client, "/pipeline", f"/pipeline/deals/{deal_id}/stage", {"stage": stage})
        assert response.status_code == 302
    long = submit(
        client,
        "/pipeline",
        f"/pipeline/deals/{deal_id}/stage",
        {"stage": "lost", "comment": "x" * 3000},
    )
    assert long.status_code == 302
    with team.db() as db:
        assert db.get(Deal, deal_id).stage.value == "qualification"
    # Another team's manager: the deal does not exist for them.
    south = browser(team, "m_south")
    assert (
        submit(south, "/pipeline", f"/pipeline/deals/{deal_id}/stage", {"stage": "won"}).status_code
        == 404
    )
    assert client.post(f"/pipeline/deals/{deal_id}/stage", data={"stage": "won"}).status_code == 400
    with team.db() as db:
        assert db.get(Deal, deal_id).stage.value == "qualification"
