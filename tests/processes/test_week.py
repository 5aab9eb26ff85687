"""A week of a telesales team, played through the API on the test clock, then the books are
checked: calls, deals, owners and the audit log must tell the same story as the processes."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.models import (
    AuditEntry,
    Call,
    Customer,
    Deal,
    DealStageChange,
    LeadAssignment,
    PoolClaim,
)
from engine.models import WorkItem, WorkItemStatus
from tests.processes.conftest import Team

SHANGHAI = ZoneInfo("Asia/Shanghai")


def work(team: Team, customer_id: int, **data: object) -> dict:
    """The owner (whoever it is now) completes the open call task of the customer."""
    with team.db() as db:
        owner = db.get(Customer, customer_id).owner.username
    task = team.one_task(owner, customer_id, "call", "call_cadence")
    return team[owner].complete_ok(task["id"], data)


def test_a_week_of_telesales(team: Team) -> None:
    # Monday 09:00 — leads come in
    ids = {
        name: team.lead(name=name, phone=phone, region=region, source=source)["customer_id"]
        for name, phone, region, source in [
            ("意向客户", "13910000001", "上海", "网络推广"),
            ("回拨客户", "13910000002", "杭州", "展会"),
            ("难联系", "13910000003", "北京", "400热线"),
            ("错号", "13910000004", "上海", "数据导入"),
            ("拒绝", "13910000005", "广州", "网络推广"),
            ("没人跟", "13910000006", "上海", "网络推广"),
            ("大单", "13910000007", "上海", "转介绍"),
            ("特价", "13910000008", "杭州", "网络推广"),
        ]
    }
    repeat = team.lead(name="意向客户", phone="139 1000 0001", source="老客户")
    assert repeat["duplicate"] and repeat["customer_id"] == ids["意向客户"]

    work(team, ids["意向客户"], disposition="connected_interested", amount=20000, duration_s=300)
    work(
        team,
        ids["回拨客户"],
        disposition="callback_requested",
        callback_at="2026-05-05T22:30:00+08:00",
    )
    work(team, ids["难联系"], disposition="no_answer")
    work(team, ids["错号"], disposition="wrong_number")
    work(team, ids["拒绝"], disposition="do_not_call", notes="投诉")
    work(team, ids["大单"], disposition="connected_interested", amount=500000, duration_s=900)
    work(team, ids["特价"], disposition="connected_interested", amount=30000, duration_s=200)

    with team.db() as db:
        deals = {
            c: db.scalar(select(Deal.id).where(Deal.customer_id == ids[c]))
            for c in ("意向客户", "大单", "特价")
        }
        owners = {
            c: db.get(Customer, i).owner.username
            for c, i in ids.items()
            if db.get(Customer, i).owner
        }

    # quotes at each tier
    for customer, discount in (("意向客户", 5), ("特价", 15), ("大单", 25)):
        agent = owners[customer]
        response = team[agent].post(
            f"/api/v1/deals/{deals[customer]}/quote", json={"discount_pct": discount}
        )
        assert response.status_code == 201, response.get_json()
    manager_task = team.one_task("m_east", ids["特价"], "approve_manager")
    team["m_east"].complete_ok(manager_task["id"], {"decision": "approve", "comment": "同意"})

    # the rest of Monday and Tuesday: retries, the director does not answer in time
    team.advance(hours=1)
    work(team, ids["难联系"], disposition="busy")
    team.advance(hours=23)  # Tuesday 09:00: the director's approval escalates
    # the director has no manager: the escalation goes to the admins as a group
    (escalated,) = team["admin"].tasks(f"candidate=1&business_key={ids['大单']}")
    assert escalated["name"] == "approve_escalated"
    assert escalated["candidates"] == ["group:admin"]
    team["admin"].complete_ok(escalated["id"], {"decision": "reject", "comment": "折扣过高"})
    work(team, ids["难联系"], disposition="no_answer")
    team.advance(hours=13)  # Tuesday 22:00: the 22:30 callback is moved to Wednesday 09:00
    team.no_task(owners["回拨客户"], ids["回拨客户"])
    team.advance(hours=11)  # Wednesday 09:00
    work(team, ids["回拨客户"], disposition="connected_interested", amount=12000)

    # no one followed up 没人跟: warned on day 6, reclaimed on day 7, claimed by the south team
    team.advance(days=3, hours=23, minutes=59)  # Sunday 08:59
    assert not any("goes back to the public pool" in m for m in _messages(team, owners["没人跟"]))
    team.advance(minutes=1)  # Sunday 09:00, a day before the reclaim
    assert any("goes back to the public pool" in m for m in _messages(team, owners["没人跟"]))
    assert _pool_status(team, ids["没人跟"]) == "owned"
    team.advance(days=1)  # next Monday 09:00: seven days without follow-up
    assert _pool_status(team, ids["没人跟"]) == "pool"
    claimed = team["a4"].post(f"/api/v1/pool/{ids['没人跟']}/claim")
    assert claimed.status_code == 200, claimed.get_json()
    team.advance(minutes=1)
    work(team, ids["没人跟"], disposition="not_interested")

    _check_the_books(team, ids)


def _messages(team: Team, username: str) -> list[str]:
    from crm.models import Notification

    with team.db() as db:
        return list(
            db.scalars(
                select(Notification.message).where(Notification.user_id == team[username].user.id)
            )
        )


def _pool_status(team: Team, customer_id: int) -> str:
    with team.db() as db:
        return db.get(Customer, customer_id).pool_status.value


def _check_the_books(team: Team, ids: dict[str, int]) -> None:
    with team.db() as db:
        calls = list(db.scalars(select(Call).order_by(Call.id)))
        done = list(
            db.scalars(
                select(WorkItem)
                .where(
                    WorkItem.process_id == "call_cadence",
                    WorkItem.element_id == "call",
                    WorkItem.status == WorkItemStatus.COMPLETED,
                )
                .order_by(WorkItem.completed_at)
            )
        )
        # one logged call per completed call task: same customer, agent and time
        assert len(calls) == len(done) == 11
        for item, call in zip(
            sorted(done, key=lambda w: (w.completed_at, w.business_key)),
            sorted(calls, key=lambda c: (c.started_at, str(c.customer_id))),
            strict=True,
        ):
            assert (item.business_key, item.completed_by_id, item.completed_at) == (
                str(call.customer_id),
                call.agent_id,
                call.started_at,
            )
        # calls only inside the calling window, never after a do-not-call
        for call in calls:
            local = call.started_at.astimezone(SHANGHAI).time()
            assert time(9) <= local < time(21), call.started_at
        refused = db.get(Customer, ids["拒绝"])
        assert refused.do_not_call and [
            c.disposition.value for c in calls if c.customer_id == refused.id
        ] == ["do_not_call"]
        # deals: each approval outcome is a stage change with the decision in its comment
        changes = {
            deal_id: [
                (c.to_stage.value, c.comment or "")
                for c in db.scalars(
                    select(DealStageChange)
                    .where(DealStageChange.deal_id == deal_id)
                    .order_by(DealStageChange.id)
                )
            ]
            for deal_id in db.scalars(select(Deal.id))
        }
        outcomes = sorted(
            stage + ":" + comment.split(" ")[2]
            for history in changes.values()
            for stage, comment in history
            if comment.startswith("Discount ")
        )
        assert outcomes == ["negotiation:approved", "negotiation:approved", "proposal:rejected"]
        # owners: every assignment and claim is in its table and in the audit log
        assignments = list(db.scalars(select(LeadAssignment)))
        claims = list(db.scalars(select(PoolClaim)))
        audit = list(
            db.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity_type == "customer")
                .order_by(AuditEntry.id)
            )
        )
        assert len(assignments) == 8 and len(claims) == 1
        assert len([a for a in audit if a.action == "assign"]) == len(assignments)
        assert len([a for a in audit if a.action == "claim"]) == len(claims)
        released = [a for a in audit if a.action == "release_to_pool"]
        assert [a.entity_id for a in released] == [str(ids["没人跟"])]
        for customer_id in ids.values():
            customer = db.get(Customer, customer_id)
            last = [
                a
                for a in audit
                if a.entity_id == str(customer_id)
                and a.action in ("assign", "claim", "release_to_pool")
            ][-1]
            expected_owner = None if last.action == "release_to_pool" else last.after["owner_id"]
            assert customer.owner_id == expected_owner
