"""After-sale follow-up (回访): a won deal starts calls on day 3 and day 30; a low score opens
a service-recovery task for the manager."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Activity, ActivityKind, Call, Customer
from tests.processes.conftest import Team


def won_deal(team: Team, phone: str) -> tuple[int, str]:
    lead = team.lead(name="成交客户", phone=phone, region="上海")
    customer_id, agent = lead["customer_id"], lead["owner"]
    created = team[agent].post(
        "/api/v1/deals", json={"customer_id": customer_id, "title": "年费", "amount": 5000}
    )
    assert created.status_code == 201, created.get_json()
    won = team[agent].client.patch(
        f"/api/v1/deals/{created.get_json()['id']}",
        headers=team[agent].headers,
        json={"stage": "won", "comment": "签约"},
    )
    assert won.status_code == 200, won.get_json()
    team.advance(seconds=1)  # the scheduler delivers the deal_won message
    return customer_id, agent


def test_won_deal_gets_calls_on_day_3_and_day_30(team: Team) -> None:
    customer_id, agent = won_deal(team, "13400000001")
    instances = (
        team["admin"]
        .get(f"/api/v1/process-instances?process_id=after_sale&business_key={customer_id}")
        .get_json()["items"]
    )
    assert len(instances) == 1 and instances[0]["status"] == "waiting"
    team.advance(days=2, hours=23)
    assert team.tasks_of(agent, business_key=str(customer_id), process_id="after_sale") == []
    team.advance(hours=1)
    first = team.one_task(agent, customer_id, "call", "after_sale")
    assert first["title"].startswith("After-sale call (P3D)")
    team[agent].complete_ok(first["id"], {"reached": True, "score": 5, "notes": "很满意"})
    team.advance(days=26, hours=23)
    assert team.tasks_of(agent, business_key=str(customer_id), process_id="after_sale") == []
    team.advance(hours=1)
    second = team.one_task(agent, customer_id, "call", "after_sale")
    assert "P30D" in second["title"]
    done = team[agent].complete_ok(second["id"], {"reached": False})
    assert done["status"] == "completed"
    with team.db() as db:
        visits = list(
            db.scalars(
                select(Activity.body).where(
                    Activity.customer_id == customer_id, Activity.kind == ActivityKind.VISIT
                )
            )
        )
        assert visits == [
            "After-sale call: satisfaction 5/5 — 很满意",
            "After-sale call: customer not reached",
        ]
        assert db.get(Customer, customer_id).stage.value == "customer"
        assert len(list(db.scalars(select(Call).where(Call.customer_id == customer_id)))) == 2


def test_low_score_opens_a_task_for_the_manager(team: Team) -> None:
    customer_id, agent = won_deal(team, "13400000002")
    team.advance(days=3)
    task = team.one_task(agent, customer_id, "call", "after_sale")
    bad = team[agent].complete(task["id"], {"reached": True})
    assert bad.status_code == 422  # reached: a score is required
    team[agent].complete_ok(task["id"], {"reached": True, "score": 2, "notes": "安装慢"})
    recovery = team.one_task("m_east", customer_id, "recover")
    assert recovery["lane"] == "Manager" and "2/5" in recovery["title"]
    team["m_east"].complete_ok(recovery["id"], {"action_taken": "上门处理", "resolved": True})
    team.advance(days=27)
    assert team.one_task(agent, customer_id, "call", "after_sale")


def test_visits_are_a_setting(team: Team) -> None:
    response = team["boss"].client.put(
        "/api/v1/settings/after_sale",
        headers=team["boss"].headers,
        json={"value": {"visits": ["P1D"]}},
    )
    assert response.status_code == 200
    customer_id, agent = won_deal(team, "13400000003")
    team.advance(days=1)
    task = team.one_task(agent, customer_id, "call", "after_sale")
    assert (
        team[agent].complete_ok(task["id"], {"reached": True, "score": 4})["status"] == "completed"
    )
