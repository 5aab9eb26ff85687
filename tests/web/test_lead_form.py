"""The new-lead form: routing to an agent, the public pool when nobody has room, duplicates
told to the owner, per-field errors kept, CSRF."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models import Customer
from engine.models import ProcessInstance
from tests.processes.conftest import Team
from tests.web.sales_pages import browser, submit

LEAD = {
    "name": "陈静",
    "phone": "13900004001",
    "email": "chen@example.cn",
    "company": "苏州恒达",
    "region": "上海",
    "source": "website",
    "notes": "想了解年度套餐",
}


def customers(team: Team) -> int:
    with team.db() as db:
        return db.scalar(select(func.count(Customer.id))) or 0


def test_a_lead_goes_to_an_agent_and_the_page_says_who(team: Team) -> None:
    agent = browser(team, "a1")
    response = submit(agent, "/leads/new", "/leads/new", LEAD)
    assert response.status_code == 200
    with team.db() as db:
        customer = db.scalar(select(Customer).where(Customer.name == "陈静"))
        owner = customer.owner
        started = set(
            db.scalars(
                select(ProcessInstance.process_id).where(
                    ProcessInstance.business_key == str(customer.id)
                )
            )
        )
        assert customer.company == "苏州恒达" and customer.source == "website"
    assert started == {"lead_intake", "call_cadence"}
    assert f"The lead went to {owner.display_name}." in response.text
    assert 'value="陈静"' not in response.text  # a fresh form after success


def test_a_duplicate_is_matched_and_its_owner_told(team: Team) -> None:
    first = team.lead(name="陈静", phone="13900004002", region="上海")
    before = customers(team)
    manager = browser(team, "m_east")
    response = submit(
        manager, "/leads/new", "/leads/new", {"name": "陈小姐", "phone": "139 0000 4002"}
    )
    assert response.status_code == 200
    assert "This customer already exists" in response.text
    assert "was told about the new enquiry" in response.text
    assert customers(team) == before
    assert f"/customers/{first['customer_id']}" in response.text  # the manager may open it


def test_invalid_fields_are_shown_beside_them_and_kept(team: Team) -> None:
    agent = browser(team, "a2")
    before = customers(team)
    response = submit(
        agent,
        "/leads/new",
        "/leads/new",
        {"name": "", "phone": "12", "email": "not-an-email", "company": "留着"},
    )
    assert response.status_code == 422
    for field in ("name", "phone", "email"):
        assert f'data-error="{field}"' in response.text, field
    assert 'value="留着"' in response.text and 'value="not-an-email"' in response.text
    assert customers(team) == before
    long = submit(agent, "/leads/new", "/leads/new", {"name": "x" * 5000, "phone": "13900004003"})
    assert long.status_code == 422 and 'data-error="name"' in long.text
    no_token = agent.post("/leads/new", data=LEAD)
    assert no_token.status_code == 400
    assert customers(team) == before


def test_nobody_with_room_sends_the_lead_to_the_pool(team: Team) -> None:
    boss = team["boss"]
    response = boss.client.put(
        "/api/v1/settings/assignment",
        json={"value": {"default_daily_cap": 0}},
        headers=boss.headers,
    )
    assert response.status_code == 200, response.get_json()
    page = submit(
        browser(team, "a3"),
        "/leads/new",
        "/leads/new",
        {**LEAD, "phone": "13900004004", "email": ""},
    )
    assert page.status_code == 200
    assert "the lead went to the public pool" in page.text
