"""Click-to-call goes through the whole compliance gate on the test clock: the customer's local
calling window, the daily attempt cap, consent and do-not-call; a refusal logs nothing."""

from __future__ import annotations

from typing import Any

from tests.processes.conftest import Team
from tests.web.sales_pages import browser, submit


def lead_of_a1(team: Team, phone: str) -> int:
    result = team.lead(name="拨号客户", phone=phone, region="上海")
    assert result["owner"] == "a1"
    return result["customer_id"]


def click_to_call(team: Team, client: Any, customer_id: int) -> str:
    page = f"/customers/{customer_id}"
    response = submit(client, page, f"{page}/call", {})
    assert response.status_code == 302, response.text
    return client.get(response.headers["Location"]).text


def calls_of(team: Team, customer_id: int) -> list[dict[str, Any]]:
    response = team["boss"].get(f"/api/v1/calls?customer_id={customer_id}")
    assert response.status_code == 200
    return response.get_json()["items"]


def test_click_to_call_inside_the_window_is_logged(team: Team) -> None:
    customer_id = lead_of_a1(team, "13300000001")
    agent = browser(team, "a1")
    team.advance(hours=1)  # 10:00 local
    html = click_to_call(team, agent, customer_id)
    assert "The outbound call was logged" in html
    [logged] = calls_of(team, customer_id)
    assert logged["direction"] == "outbound" and logged["disposition"] is None


def test_click_to_call_at_night_is_refused(team: Team) -> None:
    customer_id = lead_of_a1(team, "13300000002")
    agent = browser(team, "a1")
    team.advance(hours=13, minutes=30)  # 22:30 local
    html = click_to_call(team, agent, customer_id)
    assert "outside the customer&#39;s calling window" in html
    assert calls_of(team, customer_id) == []


def test_click_to_call_stops_at_the_daily_attempt_cap(team: Team) -> None:
    response = team["boss"].client.put(
        "/api/v1/settings/compliance",
        headers=team["boss"].headers,
        json={"value": {"daily_attempt_cap": 2}},
    )
    assert response.status_code == 200, response.get_json()
    customer_id = lead_of_a1(team, "13300000003")
    agent = browser(team, "a1")
    for _ in range(2):
        assert "The outbound call was logged" in click_to_call(team, agent, customer_id)
    html = click_to_call(team, agent, customer_id)
    assert "already called as often as allowed today" in html
    assert len(calls_of(team, customer_id)) == 2
    team.advance(days=1)  # a new day in the customer's zone
    assert "The outbound call was logged" in click_to_call(team, agent, customer_id)


def test_click_to_call_needs_consent(team: Team) -> None:
    customer_id = lead_of_a1(team, "13300000004")
    patched = team["boss"].client.patch(
        f"/api/v1/customers/{customer_id}", headers=team["boss"].headers, json={"consent": False}
    )
    assert patched.status_code == 200
    agent = browser(team, "a1")
    html = click_to_call(team, agent, customer_id)
    assert "has not consented to be called" in html
    assert calls_of(team, customer_id) == []


def test_dialing_through_a_reassigned_task_passes_the_same_gate(team: Team) -> None:
    customer_id = lead_of_a1(team, "13300000005")
    task = team.one_task("a1", customer_id, "call")
    handed = team["m_east"].post(f"/api/v1/tasks/{task['id']}/assign", json={"user": "a2"})
    assert handed.status_code == 200, handed.get_json()
    dialer = browser(team, "a2")  # not the owner: dialing them through the task
    task_page = f"/tasks/{task['id']}"
    team.advance(hours=13, minutes=30)  # 22:30 local
    refused = submit(dialer, task_page, f"/customers/{customer_id}/call", {"next": task_page})
    assert refused.status_code == 302
    assert "outside the customer&#39;s calling window" in dialer.get(task_page).text
    assert calls_of(team, customer_id) == []
    team.advance(hours=11)  # 09:30 the next morning
    logged = submit(dialer, task_page, f"/customers/{customer_id}/call", {"next": task_page})
    assert logged.status_code == 302
    [call] = calls_of(team, customer_id)
    assert call["agent_id"] == team["a2"].user.id
