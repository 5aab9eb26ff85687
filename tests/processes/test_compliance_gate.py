"""The compliance gate at the call itself, not only when the call task is created: a call
logged outside the customer's window or to a customer flagged do-not-call since is refused and
nothing is stored; after-sale calls skip customers who may not be called."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.processes.conftest import Team
from tests.processes.test_after_sale import won_deal

SHANGHAI = ZoneInfo("Asia/Shanghai")


def new_lead(team: Team, phone: str) -> tuple[int, str]:
    result = team.lead(name="合规客户", phone=phone, region="上海")
    return result["customer_id"], result["owner"]


def calls_of(team: Team, customer_id: int) -> list[dict[str, Any]]:
    response = team["boss"].get(f"/api/v1/calls?customer_id={customer_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def patch_customer(team: Team, customer_id: int, fields: dict[str, Any]) -> None:
    response = team["boss"].client.patch(
        f"/api/v1/customers/{customer_id}", headers=team["boss"].headers, json=fields
    )
    assert response.status_code == 200, response.get_json()


def test_a_call_logged_at_night_is_refused_and_nothing_is_stored(team: Team) -> None:
    customer_id, agent = new_lead(team, "13600000001")
    task = team.one_task(agent, customer_id, "call")  # created at 09:00 local
    team.advance(hours=14)  # 23:00 in Shanghai
    refused = team[agent].complete(task["id"], {"disposition": "no_answer"})
    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "outside_calling_window"
    assert "23:00" in error["message"]
    tomorrow_nine = datetime.combine(
        team.clock.now().astimezone(SHANGHAI).date() + timedelta(days=1), time(9), SHANGHAI
    )
    assert error["details"] == [
        {"field": "next_allowed_at", "message": tomorrow_nine.astimezone(UTC).isoformat()}
    ]
    assert calls_of(team, customer_id) == []
    assert team.one_task(agent, customer_id, "call")["id"] == task["id"]  # still open
    team.advance(hours=10)  # 09:00 the next morning
    team[agent].complete_ok(task["id"], {"disposition": "no_answer"})
    assert [c["disposition"] for c in calls_of(team, customer_id)] == ["no_answer"]


def test_a_team_window_applies_to_the_call_itself(team: Team) -> None:
    customer_id, agent = new_lead(team, "13600000002")
    task = team.one_task(agent, customer_id, "call")
    narrowed = team["boss"].client.put(
        "/api/v1/settings/calling_window",
        headers=team["boss"].headers,
        json={"team_id": team[agent].user.team_id, "value": {"end": "18:00"}},
    )
    assert narrowed.status_code == 200, narrowed.get_json()
    team.advance(hours=9, minutes=30)  # 18:30 local: inside the default window, not the team's
    refused = team[agent].complete(task["id"], {"disposition": "busy"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "outside_calling_window"
    assert calls_of(team, customer_id) == []


def test_a_customer_flagged_do_not_call_after_the_task_was_created(team: Team) -> None:
    customer_id, agent = new_lead(team, "13600000003")
    task = team.one_task(agent, customer_id, "call")
    patch_customer(team, customer_id, {"do_not_call": True})
    refused = team[agent].complete(
        task["id"], {"disposition": "connected_interested", "amount": 500}
    )
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"]["code"] == "do_not_call"
    assert calls_of(team, customer_id) == []
    assert team["boss"].get(f"/api/v1/deals?customer_id={customer_id}").get_json()["items"] == []
    # Recording the do-not-call outcome closes the task and ends the cadence.
    team[agent].complete_ok(task["id"], {"disposition": "do_not_call"})
    assert [c["disposition"] for c in calls_of(team, customer_id)] == ["do_not_call"]
    team.no_task(agent, customer_id)


def test_a_customer_who_withdrew_consent_is_not_called(team: Team) -> None:
    customer_id, agent = new_lead(team, "13600000004")
    task = team.one_task(agent, customer_id, "call")
    patch_customer(team, customer_id, {"consent": False})
    refused = team[agent].complete(task["id"], {"disposition": "no_answer"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "no_consent"
    assert calls_of(team, customer_id) == []


def test_after_sale_skips_a_do_not_call_customer_and_records_it(team: Team) -> None:
    customer_id, agent = won_deal(team, "13600000005")
    patch_customer(team, customer_id, {"do_not_call": True})
    team.advance(days=3)
    assert team.tasks_of(agent, business_key=str(customer_id), process_id="after_sale") == []
    timeline = team["boss"].get(f"/api/v1/customers/{customer_id}/timeline").get_json()
    texts = [str(entry) for entry in timeline["items"]]
    assert any("After-sale call (P3D) skipped: do not call" in t for t in texts), texts
    assert calls_of(team, customer_id) == []
    # the next visit is planned as usual, and skipped again while the flag stands
    team.advance(days=27)
    assert team.tasks_of(agent, business_key=str(customer_id), process_id="after_sale") == []
    instances = (
        team["admin"]
        .get(f"/api/v1/process-instances?process_id=after_sale&business_key={customer_id}")
        .get_json()["items"]
    )
    assert [i["status"] for i in instances] == ["completed"]


def test_after_sale_calls_a_customer_who_may_be_called(team: Team) -> None:
    customer_id, agent = won_deal(team, "13600000006")
    team.advance(days=3)
    task = team.one_task(agent, customer_id, "call", "after_sale")
    patch_customer(team, customer_id, {"consent": False})
    refused = team[agent].complete(task["id"], {"reached": True, "score": 5})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "no_consent"
    assert calls_of(team, customer_id) == []
