"""The decision-table page: who may open it, what it carries for dmn-js, where it is linked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import PASSWORD, sign_in

PAGE = "/process-models/deal_approval/versions/1/decisions/discount_approval.dmn"


@pytest.fixture
def shipped(runtime) -> None:
    runtime.deploy_shipped_models()


def signed_in(client, make_user, role: str) -> Any:
    make_user(role, username=f"dmn_{role}", password=PASSWORD)
    assert sign_in(client, f"dmn_{role}").status_code == 302
    return client


def page_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="dmn-data">(.*?)</script>', html, re.S)
    assert found, "page has no dmn-data"
    return json.loads(found.group(1))


@pytest.mark.parametrize("role", ["process_owner", "admin"])
def test_owners_open_a_decision_table_of_a_version(shipped, client, make_user, role):
    signed_in(client, make_user, role)
    response = client.get(PAGE, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert "vendor/dmn-js/17.10.2/dmn-modeler.production.min.js" in response.text
    assert 'name="csrf-token"' in response.text
    data = page_data(response.text)
    assert data["file_name"] == "discount_approval.dmn"
    assert 'id="discount_approval"' in data["xml"] and "&lt;= 10" in data["xml"]
    assert list(data["bundle"]["bpmn"]) == ["deal_approval.bpmn"]
    assert "discount_approval.dmn" in data["bundle"]["dmn"]
    assert "approval-decision.json" in data["bundle"]["forms"]
    assert data["urls"]["deploy"] == "/process-models/deploy"
    # the bundle's other table is one click away
    assert "/versions/1/decisions/lead_routing.dmn" in response.text


@pytest.mark.parametrize("role", ["agent", "manager", "director"])
def test_others_may_not_open_it(shipped, client, make_user, role):
    signed_in(client, make_user, role)
    assert client.get(PAGE).status_code == 403


def test_sign_in_first(shipped, client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_missing_file_version_or_process_is_404(shipped, client, make_user):
    signed_in(client, make_user, "process_owner")
    for url in (
        "/process-models/deal_approval/versions/1/decisions/nope.dmn",
        "/process-models/deal_approval/versions/1/decisions/deal_approval.bpmn",
        "/process-models/deal_approval/versions/9/decisions/discount_approval.dmn",
        "/process-models/nope/versions/1/decisions/discount_approval.dmn",
    ):
        assert client.get(url).status_code == 404, url
    as_json = client.get(
        "/process-models/deal_approval/versions/1/decisions/nope.dmn",
        headers={"Accept": "application/json"},
    )
    assert as_json.get_json()["error"]["code"] == "not_found"


def test_versions_page_and_modeler_link_the_tables(shipped, client, make_user):
    signed_in(client, make_user, "process_owner")
    versions = client.get("/process-models/deal_approval")
    edit = client.get("/process-models/deal_approval/versions/1/edit")
    for page in (versions, edit):
        assert page.status_code == 200
        assert PAGE in page.text
        assert "/process-models/deal_approval/versions/1/decisions/lead_routing.dmn" in page.text
