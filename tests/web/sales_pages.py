"""Helpers for the telesales page tests: a signed-in browser (test client) per person of the
``team`` fixture, and posting a form with the CSRF token of the page that shows it."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from crm.models import Deal, User
from tests.conftest import PASSWORD, password_hash, sign_in
from tests.processes.conftest import Team
from tests.web.test_pages import csrf_token

EN = {"Accept-Language": "en-US,en;q=0.9"}


def browser(team: Team, username: str) -> FlaskClient:
    """A fresh test client signed in as ``username`` through the sign-in form."""
    with team.db() as db:
        user = db.scalar(select(User).where(User.username == username))
        user.password_hash = password_hash(PASSWORD)
    client = team.app.test_client()
    response = sign_in(client, username)
    assert response.status_code == 302, response.text
    with team.db() as db:
        db.scalar(select(User).where(User.username == username)).locale = "en"
    return client


def submit(client: FlaskClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """GET ``page`` for its CSRF token, then POST ``data`` to ``action``."""
    shown = client.get(page)
    assert shown.status_code == 200, shown.text
    return client.post(action, data={**data, "csrf_token": csrf_token(shown.text)})


def opportunity(team: Team, phone: str, name: str = "报价客户") -> tuple[int, int, str]:
    """A lead routed to an East agent, called with interest: a deal in qualification."""
    lead = team.lead(name=name, phone=phone, region="上海")
    agent, customer_id = lead["owner"], lead["customer_id"]
    task = team.one_task(agent, customer_id, "call")
    team[agent].complete_ok(task["id"], {"disposition": "connected_interested", "amount": 100000})
    with team.db() as db:
        deal_id = db.scalar(select(Deal.id).where(Deal.customer_id == customer_id))
    return customer_id, deal_id, agent


def quote(team: Team, agent: str, deal_id: int, discount: float) -> dict[str, Any]:
    response = team[agent].post(f"/api/v1/deals/{deal_id}/quote", json={"discount_pct": discount})
    assert response.status_code == 201, response.get_json()
    return response.get_json()
