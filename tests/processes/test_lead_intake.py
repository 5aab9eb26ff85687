"""Lead intake: duplicates, routing by the DMN table, round-robin within daily caps, SLA."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crm.models import Customer, LeadAssignment, Notification, User
from tests.processes.conftest import Team


def test_new_lead_is_routed_assigned_and_gets_a_first_call_task(team: Team) -> None:
    result = team.lead(name="王小明", phone="13800138000", region="上海", source="网络推广")
    assert result["duplicate"] is False
    assert result["owner"] == "a1"  # round-robin starts with the first agent of 华东一组
    assert result["instance"]["status"] == "completed"
    task = team.one_task("a1", result["customer_id"], "call")
    assert task["title"] == "Call 王小明"
    assert task["kind"] == "call"
    # due within the first-call SLA (PT2H by default) of "now"
    due = datetime.fromisoformat(task["due_at"])
    assert (due - team.clock.now()).total_seconds() == 2 * 3600
    with team.db() as db:
        customer = db.get(Customer, result["customer_id"])
        assert customer.owner.username == "a1"
        assert customer.pool_status.value == "owned"
        assert (
            db.scalar(select(Notification.message).where(Notification.user_id == customer.owner_id))
            == "New lead: 王小明"
        )


def test_round_robin_and_daily_cap_then_pool(team: Team) -> None:
    response = team["boss"].client.put(
        "/api/v1/settings/assignment",
        headers=team["boss"].headers,
        json={"value": {"default_daily_cap": 1}},
    )
    assert response.status_code == 200, response.get_json()
    owners = [
        team.lead(name=f"客户{i}", phone=f"1390000000{i}", region="杭州")["owner"] for i in range(4)
    ]
    assert owners == ["a1", "a2", "a3", None]  # the fourth finds every agent at the cap
    with team.db() as db:
        last = db.scalar(select(Customer).where(Customer.name == "客户3"))
        assert last.pool_status.value == "pool" and last.owner_id is None
    # the next day the caps start again
    team.advance(hours=24)
    assert team.lead(name="客户4", phone="13900000004", region="杭州")["owner"] == "a1"


def test_south_region_goes_to_the_south_team_and_referrals_least_loaded(team: Team) -> None:
    assert team.lead(name="广州客户", phone="13700000001", region="广州")["owner"] == "a4"
    east = [team.lead(name=f"东{n}", phone=f"1370000001{n}", region="上海") for n in range(3)]
    assert [lead["owner"] for lead in east] == ["a1", "a2", "a3"]  # round-robin
    # a2's lead is closed: a2 now holds nothing open, while round-robin would pick a1 next
    task = team.one_task("a2", east[1]["customer_id"], "call")
    team["a2"].complete_ok(task["id"], {"disposition": "not_interested"})
    assert team.lead(name="转介", phone="13700000004", source="转介绍")["owner"] == "a2"
    # the default route stays round-robin: the agent assigned longest ago
    assert team.lead(name="东3", phone="13700000005", region="上海")["owner"] == "a1"


def test_the_first_call_sla_is_a_setting(team: Team) -> None:
    response = team["boss"].client.put(
        "/api/v1/settings/assignment",
        headers=team["boss"].headers,
        json={"team_id": team["a1"].user.team_id, "value": {"first_call_sla": "PT30M"}},
    )
    assert response.status_code == 200, response.get_json()
    result = team.lead(name="急客户", phone="13700000006", region="上海")
    task = team.one_task(result["owner"], result["customer_id"], "call")
    due = datetime.fromisoformat(task["due_at"])
    assert (due - team.clock.now()).total_seconds() == 30 * 60
    south = team.lead(name="南方客户", phone="13700000007", region="广州")  # another team
    task = team.one_task("a4", south["customer_id"], "call")
    assert (datetime.fromisoformat(task["due_at"]) - team.clock.now()).total_seconds() == 7200


def timeline_notes(team: Team, customer_id: int, by: str = "boss") -> list[str]:
    response = team[by].get(f"/api/v1/customers/{customer_id}/timeline")
    assert response.status_code == 200, response.get_json()
    return [e["text"] for e in response.get_json()["items"] if e["kind"] == "note"]


def test_a_repeated_lead_goes_to_the_existing_owner(team: Team) -> None:
    first = team.lead(name="李雷", phone="13811112222", region="上海")
    again = team.lead(name="李雷 (web form)", phone="+86 138 1111 2222", source="展会")
    assert again["duplicate"] is True
    assert again["customer_id"] == first["customer_id"]
    assert again["instance"]["business_key"] == str(first["customer_id"])
    with team.db() as db:
        owner = db.scalar(select(User).where(User.username == first["owner"]))
        messages = list(
            db.scalars(select(Notification.message).where(Notification.user_id == owner.id))
        )
        assert any("came in again" in m for m in messages)
        assert db.scalar(select(Customer).where(Customer.name.like("李雷%")).limit(2)) is not None
        assert len(list(db.scalars(select(LeadAssignment)))) == 1  # not assigned twice
    tasks = team.tasks_of(first["owner"], business_key=str(first["customer_id"]))
    assert len(tasks) == 1  # still one call task
    notes = timeline_notes(team, first["customer_id"], by=first["owner"])
    assert "The lead came in again (source: 展会)." in notes


def test_an_invalid_lead_is_refused_and_nothing_is_stored(team: Team) -> None:
    response = team["boss"].post("/api/v1/leads", json={"name": "", "phone": "12"})
    assert response.status_code == 422
    fields = {d["field"] for d in response.get_json()["error"]["details"]}
    assert {"name", "phone"} <= fields
    with team.db() as db:
        assert db.scalar(select(Customer)) is None


def test_imported_rows_can_be_routed_as_leads(team: Team) -> None:
    import time
    from io import BytesIO

    existing = team.lead(name="老客户", phone="13855556666", region="上海")
    csv = (
        "姓名,手机,地区,来源\n"
        "新客户甲,13811110001,上海,展会\n"
        "新客户乙,13811110002,广州,展会\n"
        "老客户,138-5555-6666,上海,展会\n"
    )
    manager = team["m_east"]
    response = manager.post(
        "/api/v1/customers/import",
        data={"file": (BytesIO(csv.encode("utf-8")), "leads.csv"), "route_leads": "1"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    job_url = f"/api/v1/jobs/{response.get_json()['job_id']}"
    for _ in range(100):
        job = manager.get(job_url).get_json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done", job
    with team.db() as db:
        customers = {c.name: c for c in db.scalars(select(Customer))}
        assert customers["新客户甲"].owner.team.name == "华东一组"
        assert customers["新客户乙"].owner.username == "a4"  # 广州 → 华南一组
        owner = db.get(Customer, existing["customer_id"]).owner
        told = list(
            db.scalars(select(Notification.message).where(Notification.user_id == owner.id))
        )
    assert any("came in again" in m for m in told)
    assert "The lead came in again (source: import)." in timeline_notes(
        team, existing["customer_id"], by="m_east"
    )
    assert team.one_task("a4", customers["新客户乙"].id, "call")
