"""Erasing a customer ends the processes working on them: their open call task no longer
waits in an agent's inbox for a customer no one may call (its completion could only answer
``customer_not_found``), and no timer of theirs fires again."""

from __future__ import annotations

from tests.processes.conftest import Team


def test_erasing_a_customer_terminates_their_cadence_and_leaves_others(team: Team) -> None:
    erased = team.lead(name="待删除客户", phone="13800002222", region="上海")
    kept = team.lead(name="保留客户", phone="13800003333", region="上海")
    task = team.one_task(erased["owner"], erased["customer_id"], "call")

    admin = team["admin"]
    response = admin.client.delete(
        f"/api/v1/customers/{erased['customer_id']}", headers=admin.headers
    )
    assert response.status_code == 200, response.get_json()

    team.no_task(erased["owner"], erased["customer_id"])
    completed = team[erased["owner"]].complete(task["id"], {"disposition": "no_answer"})
    assert completed.status_code in (404, 409), completed.get_json()
    instances = admin.get(
        f"/api/v1/process-instances?business_key={erased['customer_id']}"
    ).get_json()["items"]
    statuses = sorted(i["status"] for i in instances)
    assert "terminated" in statuses and set(statuses) <= {"completed", "terminated"}, statuses
    assert team.advance(days=3) == 0  # no retry timer of the erased customer's cadence
    team.one_task(kept["owner"], kept["customer_id"], "call")  # the other lead goes on

    again = admin.client.delete(f"/api/v1/customers/{erased['customer_id']}", headers=admin.headers)
    assert again.status_code == 200, again.get_json()  # erasing twice is still fine
