"""The call cadence: every disposition, the compliance gate and the calling window, retries."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crm.models import Activity, Call, Customer, Deal
from tests.processes.conftest import Team

SHANGHAI = ZoneInfo("Asia/Shanghai")


def new_lead(team: Team, phone: str = "13800001111", **extra: str) -> tuple[int, str]:
    result = team.lead(name="测试客户", phone=phone, region="上海", **extra)
    return result["customer_id"], result["owner"]


def call(team: Team, agent: str, customer_id: int, **data: object) -> dict:
    task = team.one_task(agent, customer_id, "call")
    return team[agent].complete_ok(task["id"], data)


def local(team: Team) -> datetime:
    return team.clock.now().astimezone(SHANGHAI)


def calls_of(team: Team, customer_id: int) -> list[str]:
    with team.db() as db:
        return [
            c.disposition.value
            for c in db.scalars(
                select(Call).where(Call.customer_id == customer_id).order_by(Call.id)
            )
        ]


def test_interested_opens_an_opportunity_and_logs_the_call(team: Team) -> None:
    customer_id, agent = new_lead(team)
    instance = call(
        team, agent, customer_id, disposition="connected_interested", amount=8800, duration_s=95
    )
    assert instance["status"] == "completed"
    with team.db() as db:
        deal = db.scalar(select(Deal).where(Deal.customer_id == customer_id))
        assert deal is not None and float(deal.amount) == 8800
        call_row = db.scalar(select(Call).where(Call.customer_id == customer_id))
        assert (
            call_row.duration_s == 95 and call_row.agent.username == agent
            if hasattr(call_row, "agent")
            else True
        )
        assert call_row.started_at == team.clock.now()  # stamped by the step's clock
    assert calls_of(team, customer_id) == ["connected_interested"]
    team.no_task(agent, customer_id)


def test_callback_at_the_requested_time(team: Team) -> None:
    customer_id, agent = new_lead(team)
    at = (local(team) + timedelta(hours=5)).replace(tzinfo=None)  # 14:00 local, no offset
    call(
        team,
        agent,
        customer_id,
        disposition="callback_requested",
        callback_at=at.isoformat() + "+08:00",
    )
    team.no_task(agent, customer_id)
    team.advance(hours=4, minutes=59)
    team.no_task(agent, customer_id)
    team.advance(minutes=1)
    task = team.one_task(agent, customer_id, "call")
    assert datetime.fromisoformat(task["due_at"]) == team.clock.now()  # due at once, not SLA
    assert task["kind"] == "callback"  # the inbox lists it under due callbacks


def test_a_callback_outside_the_window_moves_to_the_next_opening(team: Team) -> None:
    customer_id, agent = new_lead(team)
    call(
        team,
        agent,
        customer_id,
        disposition="callback_requested",
        callback_at="2026-05-04T23:30:00+08:00",
    )
    team.advance(hours=14, minutes=30)  # 23:30 local: not called at night
    team.no_task(agent, customer_id)
    team.advance(hours=9, minutes=29)  # 08:59 the next day
    team.no_task(agent, customer_id)
    team.advance(minutes=1)  # 09:00
    assert team.one_task(agent, customer_id, "call")
    assert local(team).hour == 9


def test_callback_form_needs_a_time(team: Team) -> None:
    customer_id, agent = new_lead(team)
    task = team.one_task(agent, customer_id, "call")
    response = team[agent].complete(task["id"], {"disposition": "callback_requested"})
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "callback_at"
    assert calls_of(team, customer_id) == []


def test_no_answer_backs_off_then_tomorrow_then_the_pool(team: Team) -> None:
    customer_id, agent = new_lead(team)
    call(team, agent, customer_id, disposition="no_answer")  # attempt 1, 09:00
    team.advance(minutes=59)
    team.no_task(agent, customer_id)
    team.advance(minutes=1)  # backoff PT1H
    call(team, agent, customer_id, disposition="busy")  # attempt 2, 10:00
    team.advance(hours=2, minutes=59)
    team.no_task(agent, customer_id)
    team.advance(minutes=1)  # backoff PT3H
    call(team, agent, customer_id, disposition="no_answer")  # attempt 3, 13:00: daily cap
    team.advance(hours=8)  # 21:00: nothing more today
    team.no_task(agent, customer_id)
    team.advance(hours=12)  # 09:00 the next day
    assert local(team).hour == 9
    for _ in range(3):
        call(team, agent, customer_id, disposition="no_answer")
        team.advance(hours=24)
    assert len(calls_of(team, customer_id)) == 6
    team.no_task(agent, customer_id)  # six unanswered attempts in total: to the pool
    with team.db() as db:
        customer = db.get(Customer, customer_id)
        assert customer.pool_status.value == "pool" and customer.owner_id is None
        assert "no answer after 6 attempts" in db.scalar(
            select(Activity.body)
            .where(Activity.customer_id == customer_id)
            .order_by(Activity.id.desc())
        )


def test_retry_limits_are_settings(team: Team) -> None:
    response = team["m_east"].client.put(
        "/api/v1/settings/cadence",
        headers=team["m_east"].headers,
        json={
            "team_id": _team_id(team, "a1"),
            "value": {"max_attempts_total": 2, "retry_backoff": ["PT30M"]},
        },
    )
    assert response.status_code == 200, response.get_json()
    customer_id, agent = new_lead(team)
    call(team, agent, customer_id, disposition="no_answer")
    team.advance(minutes=30)
    call(team, agent, customer_id, disposition="no_answer")
    team.no_task(agent, customer_id)
    with team.db() as db:
        assert db.get(Customer, customer_id).pool_status.value == "pool"


def test_wrong_number_and_not_interested_close_the_lead(team: Team) -> None:
    for phone, disposition, reason in (
        ("13800002001", "wrong_number", "wrong number"),
        ("13800002002", "not_interested", "not interested"),
    ):
        customer_id, agent = new_lead(team, phone)
        instance = call(team, agent, customer_id, disposition=disposition, notes="说明")
        assert instance["status"] == "completed"
        with team.db() as db:
            customer = db.get(Customer, customer_id)
            assert customer.stage.value == "lost" and customer.closed_reason == reason


def test_do_not_call_flags_the_customer_and_no_path_calls_again(team: Team) -> None:
    customer_id, agent = new_lead(team)
    call(team, agent, customer_id, disposition="do_not_call")
    with team.db() as db:
        assert db.get(Customer, customer_id).do_not_call is True
    # a new cadence (e.g. from a later claim) stops at the compliance gate
    started = team["admin"].start(
        "call_cadence", {"customer_id": customer_id}, business_key=str(customer_id)
    )
    assert started["status"] == "completed"
    team.no_task(agent, customer_id)
    with team.db() as db:
        assert "do not call" in db.scalar(
            select(Activity.body)
            .where(Activity.customer_id == customer_id)
            .order_by(Activity.id.desc())
        )
        assert db.scalar(select(func.count(Call.id)).where(Call.customer_id == customer_id)) == 1


def test_no_consent_is_never_called(team: Team) -> None:
    result = team.lead(name="不同意", phone="13800003000", region="上海")
    customer_id = result["customer_id"]
    with team.db() as db:
        db.get(Customer, customer_id).consent = False
    started = team["admin"].start(
        "call_cadence", {"customer_id": customer_id}, business_key=str(customer_id)
    )
    assert started["status"] == "completed"
    assert started["data"]["gate"]["reason"] == "no_consent"


def test_a_lead_at_night_waits_for_the_window(team: Team) -> None:
    team.advance(hours=12, minutes=30)  # 21:30 local
    customer_id, agent = new_lead(team)
    team.no_task(agent, customer_id)
    team.advance(hours=11, minutes=29)  # 08:59
    team.no_task(agent, customer_id)
    team.advance(minutes=1)
    assert team.one_task(agent, customer_id, "call")


def test_the_team_window_is_a_setting_and_never_reaches_the_night(team: Team) -> None:
    boss = team["boss"]
    bad = boss.client.put(
        "/api/v1/settings/calling_window",
        headers=boss.headers,
        json={"value": {"start": "07:00", "end": "23:00"}},
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.get_json()["error"]["details"]} == {"value.start", "value.end"}
    ok = boss.client.put(
        "/api/v1/settings/calling_window",
        headers=boss.headers,
        json={"team_id": _team_id(team, "a1"), "value": {"start": "10:00"}},
    )
    assert ok.status_code == 200 and ok.get_json()["value"] == {"start": "10:00", "end": "21:00"}
    customer_id, agent = new_lead(team)  # 09:00 local: before the team's window
    team.no_task(agent, customer_id)
    team.advance(hours=1)
    assert team.one_task(agent, customer_id, "call")


def test_per_customer_daily_attempt_cap(team: Team) -> None:
    customer_id, _agent = new_lead(team)
    with team.db() as db:  # other calls today already reached the cap (3 by default)
        for minute in range(3):
            db.add(
                Call(
                    customer_id=customer_id,
                    started_at=team.clock.now() - timedelta(minutes=minute + 1),
                )
            )
    started = team["admin"].start(
        "call_cadence", {"customer_id": customer_id}, business_key=str(customer_id)
    )
    assert started["data"]["gate"]["reason"] == "daily_attempt_cap"
    assert started["status"] == "waiting"


def _team_id(team: Team, username: str) -> int:
    return team[username].user.team_id


def _put_team_setting(team: Team, key: str, value: dict) -> None:
    response = team["m_east"].client.put(
        f"/api/v1/settings/{key}",
        headers=team["m_east"].headers,
        json={"team_id": _team_id(team, "a1"), "value": value},
    )
    assert response.status_code == 200, response.get_json()


def _cadence(team: Team, customer_id: int) -> dict:
    response = team["admin"].get(
        f"/api/v1/process-instances?process_id=call_cadence&business_key={customer_id}"
    )
    assert response.status_code == 200, response.get_json()
    (instance,) = response.get_json()["items"]
    return instance


def test_the_cadence_attempts_per_day_stop_before_the_compliance_cap(team: Team) -> None:
    """Two unanswered attempts a day in the cadence, five calls a day allowed by compliance:
    the cadence's own limit moves the third attempt to tomorrow (the backoff and the gate
    would have allowed it at 13:00)."""
    _put_team_setting(team, "cadence", {"max_attempts_per_day": 2})
    _put_team_setting(team, "compliance", {"daily_attempt_cap": 5})
    customer_id, agent = new_lead(team)
    call(team, agent, customer_id, disposition="no_answer")  # 09:00
    team.advance(hours=1)
    call(team, agent, customer_id, disposition="busy")  # 10:00: the second attempt today
    team.advance(hours=3)  # 13:00, the backoff after two attempts (PT3H)
    team.no_task(agent, customer_id)
    assert _cadence(team, customer_id)["data"]["gate"]["allowed"] is True  # the gate never ran
    team.advance(hours=19, minutes=59)  # 08:59 the next day
    team.no_task(agent, customer_id)
    team.advance(minutes=1)
    assert team.one_task(agent, customer_id, "call")
    assert local(team).hour == 9 and _cadence(team, customer_id)["data"]["gate"]["allowed"]
    assert calls_of(team, customer_id) == ["no_answer", "busy"]


def test_the_compliance_cap_stops_before_the_cadence_attempts_per_day(team: Team) -> None:
    """Five unanswered attempts a day in the cadence, two calls a day allowed by compliance:
    the retry the cadence plans for 13:00 is held by the gate until tomorrow's window."""
    _put_team_setting(team, "cadence", {"max_attempts_per_day": 5})
    _put_team_setting(team, "compliance", {"daily_attempt_cap": 2})
    customer_id, agent = new_lead(team)
    call(team, agent, customer_id, disposition="no_answer")  # 09:00
    team.advance(hours=1)
    call(team, agent, customer_id, disposition="busy")  # 10:00: the cap for today
    team.advance(hours=3)  # 13:00: the retry is due, the gate refuses it
    team.no_task(agent, customer_id)
    gate = _cadence(team, customer_id)["data"]["gate"]
    assert gate["reason"] == "daily_attempt_cap" and not gate["blocked"]
    next_at = datetime.fromisoformat(gate["next_allowed_at"]).astimezone(SHANGHAI)
    assert (next_at.date() - local(team).date()).days == 1 and next_at.hour == 9
    team.advance(hours=19, minutes=59)  # 08:59 the next day
    team.no_task(agent, customer_id)
    team.advance(minutes=1)
    assert team.one_task(agent, customer_id, "call")
    assert calls_of(team, customer_id) == ["no_answer", "busy"]
