"""Deal approval: DMN tiers (auto ≤ 10 %, manager ≤ 20 %, director above), approve / reject /
send back with a comment, escalation after 24 h, the deal's stage and timeline."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Activity, Deal, DealStageChange
from tests.processes.conftest import Team


def opportunity(team: Team, phone: str) -> tuple[int, int, str]:
    lead = team.lead(name="报价客户", phone=phone, region="上海")
    agent, customer_id = lead["owner"], lead["customer_id"]
    task = team.one_task(agent, customer_id, "call")
    team[agent].complete_ok(task["id"], {"disposition": "connected_interested", "amount": 100000})
    with team.db() as db:
        deal_id = db.scalar(select(Deal.id).where(Deal.customer_id == customer_id))
    return customer_id, deal_id, agent


def quote(team: Team, agent: str, deal_id: int, discount: float, **extra: object):
    return team[agent].post(
        f"/api/v1/deals/{deal_id}/quote", json={"discount_pct": discount, **extra}
    )


def stages(team: Team, deal_id: int) -> list[tuple[str, str | None]]:
    with team.db() as db:
        return [
            (c.to_stage.value, c.comment)
            for c in db.scalars(
                select(DealStageChange)
                .where(DealStageChange.deal_id == deal_id)
                .order_by(DealStageChange.id)
            )
        ]


def test_small_discount_is_approved_automatically(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500000001")
    response = quote(team, agent, deal_id, 8)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["instance"]["status"] == "completed"
    assert stages(team, deal_id)[-1][0] == "negotiation"
    assert "automatic" in stages(team, deal_id)[-1][1]
    for person in ("m_east", "boss"):
        assert team.tasks_of(person, business_key=str(customer_id)) == []


def test_manager_tier_approved_by_the_agents_manager(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500000002")
    quote(team, agent, deal_id, 15)
    assert stages(team, deal_id)[-1][0] == "approval"
    task = team.one_task("m_east", customer_id, "approve_manager")
    assert task["lane"] == "Manager" and task["candidates"] == ["user:m_east"]
    assert team.tasks_of("boss", business_key=str(customer_id)) == []
    forbidden = team["m_south"].complete(task["id"], {"decision": "approve"})
    assert forbidden.status_code == 409  # assigned to m_east (API.md: 409)
    team["m_east"].complete_ok(task["id"], {"decision": "approve", "comment": "老客户"})
    assert stages(team, deal_id)[-1] == (
        "negotiation",
        "Discount 15.00% approved (manager) by m_east: 老客户",
    )
    with team.db() as db:
        notes = list(db.scalars(select(Activity.body).where(Activity.customer_id == customer_id)))
    assert any("approved (manager)" in n for n in notes)


def test_director_tier_and_reject_needs_a_comment(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500000003")
    quote(team, agent, deal_id, 30)
    assert team.tasks_of("m_east", business_key=str(customer_id)) == []
    task = team.one_task("boss", customer_id, "approve_director")
    assert task["lane"] == "Director"
    bad = team["boss"].complete(task["id"], {"decision": "reject"})
    assert bad.status_code == 422
    team["boss"].complete_ok(task["id"], {"decision": "reject", "comment": "折扣过高"})
    assert stages(team, deal_id)[-1][0] == "proposal"
    assert "rejected (director)" in stages(team, deal_id)[-1][1]


def test_send_back_then_revised_quote_goes_round_again(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500000004")
    quote(team, agent, deal_id, 18)
    task = team.one_task("m_east", customer_id, "approve_manager")
    team["m_east"].complete_ok(task["id"], {"decision": "send_back", "comment": "降到10%以内"})
    revise = team.one_task(agent, customer_id, "revise")
    team[agent].complete_ok(revise["id"], {"discount_pct": 9})
    with team.db() as db:
        assert float(db.get(Deal, deal_id).discount_pct) == 9
    assert [s for s, _ in stages(team, deal_id)][-3:] == ["proposal", "approval", "negotiation"]
    timeline = team[agent].get(f"/api/v1/customers/{customer_id}/timeline").get_json()["items"]
    notes = [e["text"] for e in timeline if e["kind"] == "note"]
    assert "Discount 18.00% sent_back (manager) by m_east: 降到10%以内" in notes
    changes = [e.get("comment") for e in timeline if e["kind"] != "note"]
    assert "Discount 18.00% sent_back (manager) by m_east: 降到10%以内" in changes


def test_no_answer_in_24_hours_escalates_to_the_approvers_manager(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500000005")
    quote(team, agent, deal_id, 12)
    assert team.one_task("m_east", customer_id, "approve_manager")
    team.advance(hours=23, minutes=59)
    assert team.one_task("m_east", customer_id, "approve_manager")
    team.advance(minutes=1)
    assert team.tasks_of("m_east", business_key=str(customer_id)) == []
    escalated = team.one_task("boss", customer_id, "approve_escalated")
    assert escalated["lane"] == "Escalation"
    team["boss"].complete_ok(escalated["id"], {"decision": "approve"})
    assert stages(team, deal_id)[-1][0] == "negotiation"


def test_a_quote_is_validated_and_not_sent_twice(team: Team) -> None:
    _customer_id, deal_id, agent = opportunity(team, "13500000006")
    bad = quote(team, agent, deal_id, 120)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"][0]["field"] == "discount_pct"
    assert quote(team, "a2" if agent != "a2" else "a3", deal_id, 5).status_code in (403, 404)
    assert quote(team, agent, deal_id, 15).status_code == 201
    again = quote(team, agent, deal_id, 15)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "approval_pending"


def test_approval_tiers_are_a_decision_table(team: Team) -> None:
    """A process owner changes the thresholds by deploying a new DMN version."""
    from pathlib import Path

    dmn = (Path(__file__).parents[2] / "bpmn" / "discount_approval.dmn").read_text()
    changed = dmn.replace("<text>&lt;= 10</text>", "<text>&lt;= 15</text>")
    bpmn = (Path(__file__).parents[2] / "bpmn" / "deal_approval.bpmn").read_bytes()
    owner = team.people["admin"]
    from io import BytesIO

    response = owner.post(
        "/api/v1/process-models",
        data={
            "file": [
                (BytesIO(bpmn), "deal_approval.bpmn"),
                (BytesIO(changed.encode()), "discount_approval.dmn"),
                *[
                    (BytesIO((Path(__file__).parents[2] / "bpmn" / name).read_bytes()), name)
                    for name in ("approval-decision.json", "revise-quote.json")
                ],
            ]
        },
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 201), response.get_json()
    _customer_id, deal_id, agent = opportunity(team, "13500000007")
    assert quote(team, agent, deal_id, 14).get_json()["instance"]["status"] == "completed"
    assert stages(team, deal_id)[-1][0] == "negotiation"


def test_a_quote_beyond_the_largest_amount_is_refused(team: Team) -> None:
    _customer_id, deal_id, agent = opportunity(team, "13500000007")
    too_big = quote(team, agent, deal_id, 5, amount=1e12)
    assert too_big.status_code == 422, too_big.get_json()
    assert too_big.get_json()["error"]["details"][0]["field"] == "amount"
    deal = team[agent].get(f"/api/v1/deals/{deal_id}").get_json()
    assert deal["stage"] != "approval" and float(deal["amount"]) == 100000
    assert quote(team, agent, deal_id, 5, amount=1e9).status_code == 201


def test_the_discount_is_decided_as_stored_to_the_cent(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500000008")
    response = quote(team, agent, deal_id, 10.004)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["instance"]["status"] == "completed"
    deal = team[agent].get(f"/api/v1/deals/{deal_id}").get_json()
    assert float(deal["discount_pct"]) == 10 and deal["stage"] == "negotiation"
    assert stages(team, deal_id)[-1][1].startswith("Discount 10.00% approved (auto)")
    assert team.tasks_of("m_east", business_key=str(customer_id)) == []


def test_a_revised_discount_is_decided_as_stored_to_the_cent(team: Team) -> None:
    customer_id, deal_id, agent = opportunity(team, "13500000009")
    quote(team, agent, deal_id, 18)
    task = team.one_task("m_east", customer_id, "approve_manager")
    team["m_east"].complete_ok(task["id"], {"decision": "send_back", "comment": "再低一点"})
    revise = team.one_task(agent, customer_id, "revise")
    too_big = team[agent].complete(revise["id"], {"discount_pct": 9, "amount": 1e12})
    assert too_big.status_code == 422
    team[agent].complete_ok(revise["id"], {"discount_pct": 10.004})
    deal = team[agent].get(f"/api/v1/deals/{deal_id}").get_json()
    assert float(deal["discount_pct"]) == 10 and deal["stage"] == "negotiation"
    assert team.tasks_of("m_east", business_key=str(customer_id)) == []


def test_two_quotes_on_one_deal_at_once_start_one_approval(team: Team) -> None:
    from tests.engine.conftest import post_together

    customer_id, deal_id, agent = opportunity(team, "13500000010")
    results = post_together(
        team.app,
        f"/api/v1/deals/{deal_id}/quote",
        [(team[agent].headers, {"discount_pct": 15}), (team[agent].headers, {"discount_pct": 18})],
    )
    assert sorted(status for status, _ in results) == [201, 409], results
    loser = next(body for status, body in results if status == 409)
    assert loser["error"]["code"] == "approval_pending"
    instances = (
        team["admin"]
        .get(f"/api/v1/process-instances?process_id=deal_approval&business_key={customer_id}")
        .get_json()["items"]
    )
    assert len(instances) == 1
    assert [s for s, _ in stages(team, deal_id)].count("approval") == 1


def test_a_quote_on_a_deal_outside_ones_scope_is_not_found_as_the_deal(team: Team) -> None:
    """As GET /deals/{id} answers: no word of the deal's customer, nothing changed."""
    from engine.models import ProcessInstance

    _customer_id, deal_id, _agent = opportunity(team, "13500000011")
    with team.db() as db:
        before = (
            stages(team, deal_id),
            db.scalar(select(Deal.discount_pct).where(Deal.id == deal_id)),
        )
        instances = len(list(db.scalars(select(ProcessInstance.id))))
    for outsider in ("a4", "m_south"):  # the other team's agent and manager
        seen = team[outsider].get(f"/api/v1/deals/{deal_id}")
        refused = quote(team, outsider, deal_id, 5)
        assert (seen.status_code, refused.status_code) == (404, 404)
        assert refused.get_json()["error"] == seen.get_json()["error"]
        assert refused.get_json()["error"]["code"] == "deal_not_found"
        assert refused.get_json()["error"]["message"] == f"No deal #{deal_id}."
    with team.db() as db:
        after = (
            stages(team, deal_id),
            db.scalar(select(Deal.discount_pct).where(Deal.id == deal_id)),
        )
        assert len(list(db.scalars(select(ProcessInstance.id)))) == instances
    assert after == before


def test_a_quote_on_a_deal_of_an_erased_customer_is_not_found_as_the_deal(team: Team) -> None:
    customer_id, deal_id, _agent = opportunity(team, "13500000012")
    admin = team["admin"]
    erased = admin.client.delete(f"/api/v1/customers/{customer_id}", headers=admin.headers)
    assert erased.status_code == 200, erased.get_json()
    refused = quote(team, "admin", deal_id, 5)
    assert refused.status_code == 404
    assert refused.get_json()["error"]["code"] == "deal_not_found"
