"""A process owner changes the discount approval thresholds on the decision-table page and
deploys: the new version of deal_approval carries the edited table, and quotes follow it."""

from __future__ import annotations

import json
import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from crm.models import User
from tests.conftest import PASSWORD, password_hash, sign_in
from tests.processes.conftest import Team
from tests.processes.test_deal_approval import opportunity, quote, stages

PAGE = "/process-models/deal_approval/versions/1/decisions/discount_approval.dmn"


def owner_browser(team: Team) -> FlaskClient:
    """The admin signed in with a session, like the page's own requests."""
    with team.db() as db:
        db.scalar(select(User).where(User.username == "admin")).password_hash = password_hash(
            PASSWORD
        )
    client = team.app.test_client()
    assert sign_in(client, "admin").status_code == 302
    return client


def open_page(client: FlaskClient, url: str = PAGE) -> tuple[dict[str, Any], dict[str, str]]:
    html = client.get(url).text
    data = re.search(r'<script type="application/json" id="dmn-data">(.*?)</script>', html, re.S)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert data and token
    return json.loads(data.group(1)), {"X-CSRFToken": token.group(1), "Accept": "application/json"}


def with_table(data: dict[str, Any], xml: str) -> dict[str, Any]:
    """What the page sends: the bundle's files with the edited table in place of the stored one."""
    bundle = data["bundle"]
    return {**bundle, "dmn": {**bundle["dmn"], data["file_name"]: xml}}


def test_edited_table_deploys_a_new_version_that_quotes_follow(team: Team) -> None:
    client = owner_browser(team)
    data, headers = open_page(client)
    edited = data["xml"].replace("<text>&lt;= 10</text>", "<text>&lt;= 15</text>")
    assert edited != data["xml"]
    body = with_table(data, edited)

    checked = client.post(data["urls"]["validate"], json=body, headers=headers)
    answer = checked.get_json()
    assert (answer["valid"], answer["process_ids"]) == (True, ["deal_approval"])
    deployed = client.post(data["urls"]["deploy"], json=body, headers=headers)
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["versions"] == {"deal_approval": 2}
    versions = client.get("/process-models/deal_approval?deployed=2")
    assert 'data-version="2"' in versions.text
    assert "/versions/2/decisions/discount_approval.dmn" in versions.text
    stored, _ = open_page(client, PAGE.replace("/versions/1/", "/versions/2/"))
    assert stored["xml"] == edited

    customer_id, deal_id, agent = opportunity(team, "13500000101")
    response = quote(team, agent, deal_id, 14)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["instance"]["status"] == "completed"
    assert stages(team, deal_id)[-1][0] == "negotiation"
    assert team.tasks_of("m_east", business_key=str(customer_id)) == []
    # above the new threshold the manager still decides
    customer_id, deal_id, agent = opportunity(team, "13500000102")
    quote(team, agent, deal_id, 16)
    assert team.one_task("m_east", customer_id, "approve_manager")


def test_a_table_that_does_not_parse_lists_its_problems_and_deploys_nothing(team: Team) -> None:
    client = owner_browser(team)
    data, headers = open_page(client)
    broken = data["xml"].replace("</decisionTable>", "")
    for url in (data["urls"]["validate"], data["urls"]["deploy"]):
        response = client.post(url, json=with_table(data, broken), headers=headers)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "invalid_bpmn"
        assert error["details"] and all(d["message"] for d in error["details"])
        assert any("discount_approval.dmn" in d["message"] for d in error["details"])
    assert 'data-version="2"' not in client.get("/process-models/deal_approval").text
    # unchanged content is no new version either
    same = client.post(data["urls"]["deploy"], json=with_table(data, data["xml"]), headers=headers)
    assert same.status_code == 200 and same.get_json()["created"] is False
