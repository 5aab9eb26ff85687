"""The public pool: reclaim after days without follow-up (warned the day before), claims
with daily and holding caps, protection after a claim, and two agents racing for one lead."""

from __future__ import annotations

import threading

from sqlalchemy import select

from crm.models import AuditEntry, Customer, Notification, PoolClaim
from tests.engine.conftest import post_together
from tests.processes.conftest import Team


def put_setting(team: Team, key: str, value: dict, team_of: str | None = None) -> None:
    body: dict = {"value": value}
    if team_of:
        body["team_id"] = team[team_of].user.team_id
    response = team["boss"].client.put(
        f"/api/v1/settings/{key}", headers=team["boss"].headers, json=body
    )
    assert response.status_code == 200, response.get_json()


def pool_lead(team: Team, phone: str, name: str = "公海客户") -> int:
    """A lead that nobody could take (every agent at the cap) sits in the pool."""
    put_setting(team, "assignment", {"default_daily_cap": 0})
    result = team.lead(name=name, phone=phone, region="上海")
    assert result["owner"] is None
    put_setting(team, "assignment", {"default_daily_cap": 30})
    return result["customer_id"]


def notifications(team: Team, username: str) -> list[str]:
    with team.db() as db:
        user_id = team[username].user.id
        return list(
            db.scalars(
                select(Notification.message)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        )


def test_reclaim_after_days_without_follow_up_with_a_warning_the_day_before(team: Team) -> None:
    result = team.lead(name="没跟进", phone="13600000001", region="上海")
    customer_id, agent = result["customer_id"], result["owner"]
    team.advance(days=5, hours=23)
    assert not any("public pool at" in m for m in notifications(team, agent))
    team.advance(hours=1)  # day 6: one day before the reclaim (7 days by default)
    assert any("goes back to the public pool" in m for m in notifications(team, agent))
    assert team.one_task(agent, customer_id, "call")  # the warning does not take the task
    team.advance(days=1)
    team.no_task(agent, customer_id)
    with team.db() as db:
        customer = db.get(Customer, customer_id)
        assert customer.pool_status.value == "pool" and customer.owner_id is None
        assert customer.pool_entered_at is not None
        actions = list(
            db.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.entity_type == "customer", AuditEntry.entity_id == str(customer_id)
                )
            )
        )
        assert "release_to_pool" in actions
    response = team[agent].get("/api/v1/pool")
    assert customer_id in [c["id"] for c in response.get_json()["items"]]


def test_contact_outside_the_task_keeps_the_lead_from_the_reclaim(team: Team) -> None:
    result = team.lead(name="电话联系过", phone="13600000009", region="上海")
    customer_id, agent = result["customer_id"], result["owner"]
    team.advance(days=2)
    logged = team[agent].post(
        "/api/v1/calls",
        json={
            "customer_id": customer_id,
            "disposition": "connected_other",
            "started_at": team.clock.now().isoformat(),
        },
    )
    assert logged.status_code == 201, logged.get_json()
    team.advance(days=5)  # 7 days after the call was planned: the reclaim timer fires
    customer = team[agent].get(f"/api/v1/customers/{customer_id}").get_json()
    assert customer["owner_id"] == team[agent].user.id and customer["pool_status"] == "owned"
    assert team.one_task(agent, customer_id, "call")  # planned again, reclaim clock restarted
    pool = team[agent].get("/api/v1/pool").get_json()["items"]
    assert customer_id not in [c["id"] for c in pool]
    team.advance(days=7)  # no contact since: now it goes
    pool = team[agent].get("/api/v1/pool").get_json()["items"]
    assert customer_id in [c["id"] for c in pool]


def test_following_up_in_time_keeps_the_lead(team: Team) -> None:
    result = team.lead(name="有跟进", phone="13600000002", region="上海")
    customer_id, agent = result["customer_id"], result["owner"]
    team.advance(days=3)
    task = team.one_task(agent, customer_id, "call")
    team[agent].complete_ok(
        task["id"],
        {"disposition": "callback_requested", "callback_at": "2026-05-08T10:00:00+08:00"},
    )
    team.advance(days=6)  # 9 days after intake; the callback restarted the clock
    with team.db() as db:
        assert db.get(Customer, customer_id).owner_id == team[agent].user.id


def test_claim_starts_a_cadence_and_protects_the_lead(team: Team) -> None:
    customer_id = pool_lead(team, "13600000003")
    put_setting(team, "pool", {"reclaim_after_days": 1, "protection_days": 3}, team_of="a2")
    response = team["a2"].post(f"/api/v1/pool/{customer_id}/claim")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["customer"]["owner_id"] == team["a2"].user.id
    assert body["caps"]["claimed_today"] == 1
    assert team.one_task("a2", customer_id, "call")
    team.advance(days=1)  # the reclaim timer fires, but the claim protects the lead
    with team.db() as db:
        assert db.get(Customer, customer_id).owner_id == team["a2"].user.id
    assert team.one_task("a2", customer_id, "call")  # a fresh call task
    team.advance(days=3)  # protection over: the next reclaim takes it back
    with team.db() as db:
        assert db.get(Customer, customer_id).pool_status.value == "pool"


def test_daily_claim_cap_and_holding_cap(team: Team) -> None:
    leads = [pool_lead(team, f"1360000010{i}", f"池{i}") for i in range(4)]
    put_setting(team, "pool", {"daily_claim_cap": 2})
    assert team["a3"].post(f"/api/v1/pool/{leads[0]}/claim").status_code == 200
    assert team["a3"].post(f"/api/v1/pool/{leads[1]}/claim").status_code == 200
    refused = team["a3"].post(f"/api/v1/pool/{leads[2]}/claim")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "daily_claim_cap_reached"
    caps = team["a3"].get("/api/v1/pool").get_json()["caps"]
    assert caps == {"claimed_today": 2, "daily_claim_cap": 2, "holding": 2, "holding_cap": 200}
    put_setting(team, "pool", {"daily_claim_cap": 10, "holding_cap": 2})
    held = team["a3"].post(f"/api/v1/pool/{leads[2]}/claim")
    assert held.status_code == 409 and held.get_json()["error"]["code"] == "holding_cap_reached"
    assert team["a2"].post(f"/api/v1/pool/{leads[2]}/claim").status_code == 200
    team.advance(days=1)
    put_setting(team, "pool", {"holding_cap": 200})
    assert team["a3"].post(f"/api/v1/pool/{leads[3]}/claim").status_code == 200


def test_two_agents_claim_the_same_lead_at_once_one_wins(team: Team) -> None:
    customer_id = pool_lead(team, "13600000200")
    url = f"/api/v1/pool/{customer_id}/claim"
    results = post_together(team.app, url, [(team["a1"].headers, {}), (team["a2"].headers, {})])
    codes = sorted(status for status, _ in results)
    assert codes == [200, 409], results
    loser = next(body for status, body in results if status == 409)
    assert loser["error"]["code"] == "already_claimed"
    with team.db() as db:
        claims = list(db.scalars(select(PoolClaim).where(PoolClaim.customer_id == customer_id)))
        assert len(claims) == 1
        winner = claims[0].user_id
        assert db.get(Customer, customer_id).owner_id == winner
    instances = (
        team["admin"]
        .get(f"/api/v1/process-instances?process_id=call_cadence&business_key={customer_id}")
        .get_json()["items"]
    )
    assert len(instances) == 1


def post_each_together(team: Team, requests: list[tuple[str, dict]]) -> list[tuple[int, dict]]:
    """POST each ``(url, headers)`` from its own thread, released by one barrier."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index: int, url: str, headers: dict) -> None:
        client = team.app.test_client()
        barrier.wait()
        response = client.post(url, headers=headers, json={})
        results[index] = (response.status_code, response.get_json())

    threads = [
        threading.Thread(target=run, args=(i, url, headers))
        for i, (url, headers) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_one_agent_claiming_two_leads_at_once_stays_within_the_daily_cap(team: Team) -> None:
    put_setting(team, "pool", {"daily_claim_cap": 1})
    leads = [pool_lead(team, f"1360000040{n}") for n in range(3)]
    results = post_each_together(
        team, [(f"/api/v1/pool/{lead}/claim", team["a1"].headers) for lead in leads]
    )
    assert sorted(status for status, _ in results) == [200, 409, 409], results
    assert {body["error"]["code"] for status, body in results if status == 409} == {
        "daily_claim_cap_reached"
    }
    assert team["a1"].get("/api/v1/pool").get_json()["caps"]["claimed_today"] == 1


def test_one_agent_claiming_two_leads_at_once_stays_within_the_holding_cap(team: Team) -> None:
    leads = [pool_lead(team, f"1360000050{n}") for n in range(3)]
    holding = team["a2"].get("/api/v1/pool").get_json()["caps"]["holding"]
    put_setting(team, "pool", {"holding_cap": holding + 1})
    results = post_each_together(
        team, [(f"/api/v1/pool/{lead}/claim", team["a2"].headers) for lead in leads]
    )
    assert sorted(status for status, _ in results) == [200, 409, 409], results
    assert {body["error"]["code"] for status, body in results if status == 409} == {
        "holding_cap_reached"
    }
    assert team["a2"].get("/api/v1/pool").get_json()["caps"]["holding"] == holding + 1


def test_only_pool_leads_can_be_claimed(team: Team) -> None:
    result = team.lead(name="有主", phone="13600000300", region="上海")
    response = team["a3"].post(f"/api/v1/pool/{result['customer_id']}/claim")
    assert response.status_code in (404, 409)  # another agent's lead: not even visible
    assert team["a3"].post("/api/v1/pool/999999/claim").status_code == 404
    assert team["boss"].post(f"/api/v1/pool/{result['customer_id']}/claim").status_code == 403
