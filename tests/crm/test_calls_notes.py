"""Logging calls and adding notes: validation, idempotency, DNC, scoping and audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from crm.calls import log_call
from crm.customers import get_customer
from crm.models import Activity, AuditEntry, Call, CallDirection, Disposition, LeadStage
from crm.notes import add_note
from dialflow.errors import Conflict, InvalidInput, NotFound
from tests.conftest import count

SHANGHAI = timezone(timedelta(hours=8))


def fields(error: InvalidInput) -> set[str]:
    return {d["field"] for d in error.details}


@pytest.fixture
def agent(make_user):
    return make_user("agent")


@pytest.fixture
def customer(make_customer, agent):
    return make_customer(actor=agent, name="王小明", phone="138 0013 8000")


# --- calls ----------------------------------------------------------------------------------


def test_log_call_records_disposition_duration_and_times(db, agent, customer):
    started = datetime(2026, 5, 1, 10, 0, tzinfo=SHANGHAI)
    with db() as session:
        call = log_call(
            session,
            customer.id,
            {
                "disposition": "connected_interested",
                "duration_s": 95,
                "started_at": started.isoformat(),
                "notes": "想要报价",
                "recording_url": "https://pbx.example.com/rec/1.mp3",
            },
            actor=agent,
        )
        call_id = call.id
    with db() as session:
        stored = session.get(Call, call_id)
        assert stored.customer_id == customer.id
        assert stored.agent_id == agent.id
        assert stored.disposition == Disposition.CONNECTED_INTERESTED
        assert stored.direction == CallDirection.OUTBOUND
        assert stored.duration_s == 95
        assert stored.started_at == started
        assert stored.started_at.utcoffset() == timedelta(0)
        assert stored.ended_at == started + timedelta(seconds=95)
        assert stored.answered_at == started
        assert stored.number == "+8613800138000"
        assert stored.notes == "想要报价"
        refreshed = get_customer(session, customer.id)
        assert refreshed.last_contact_at == started
        assert refreshed.stage == LeadStage.CONTACTED


def test_unanswered_call_leaves_the_lead_new(db, agent, customer):
    with db() as session:
        call = log_call(session, customer.id, {"disposition": "no_answer"}, actor=agent)
        assert call.answered_at is None
        assert call.duration_s == 0
    with db() as session:
        refreshed = get_customer(session, customer.id)
        assert refreshed.stage == LeadStage.NEW
        assert refreshed.last_contact_at is not None


def test_log_call_normalizes_the_dialled_number(db, agent, customer):
    with db() as session:
        call = log_call(
            session,
            customer.id,
            {"disposition": "busy", "number": "139-0013-9000", "direction": "INBOUND"},
            actor=agent,
        )
        assert call.number == "+8613900139000"
        assert call.direction == CallDirection.INBOUND


def test_same_external_id_twice_stores_one_call(db, agent, customer):
    data = {"disposition": "no_answer", "external_id": "pbx-42", "duration_s": 0}
    with db() as session:
        first_id = log_call(session, customer.id, data, actor=agent).id
    with db() as session:
        second = log_call(session, customer.id, {**data, "duration_s": 30}, actor=agent)
        assert second.id == first_id
        assert second.duration_s == 0
    with db() as session:
        assert count(session, Call) == 1
        assert session.scalars(select(Call.external_id)).all() == ["pbx-42"]
        logged = session.scalars(select(AuditEntry).where(AuditEntry.action == "log_call"))
        assert len(logged.all()) == 1


def test_repeated_external_id_never_hands_over_another_agents_call(
    db, make_user, make_customer, agent, customer
):
    with db() as session:
        log_call(session, customer.id, {"disposition": "busy", "external_id": "pbx-9"}, actor=agent)
    stranger = make_user("agent", team="West")
    theirs = make_customer(actor=stranger, name="陌生人的客户")
    try:
        with db() as session:
            call = log_call(
                session,
                theirs.id,
                {"disposition": "busy", "external_id": "pbx-9"},
                actor=stranger,
            )
            call_customer = call.customer_id
    except (NotFound, Conflict, InvalidInput):
        return  # refusing the clash is fine
    assert call_customer == theirs.id


def test_calls_without_external_id_are_all_kept(db, agent, customer):
    with db() as session:
        log_call(session, customer.id, {"disposition": "busy"}, actor=agent)
        log_call(session, customer.id, {"disposition": "busy"}, actor=agent)
    with db() as session:
        assert count(session, Call) == 2


def test_do_not_call_disposition_flags_the_customer(db, agent, customer):
    with db() as session:
        log_call(
            session, customer.id, {"disposition": "do_not_call", "duration_s": 20}, actor=agent
        )
    with db() as session:
        refreshed = get_customer(session, customer.id)
        assert refreshed.do_not_call is True
        assert refreshed.dnc_reason


def test_other_dispositions_do_not_flag_dnc(db, agent, customer):
    with db() as session:
        log_call(session, customer.id, {"disposition": "not_interested"}, actor=agent)
    with db() as session:
        assert get_customer(session, customer.id).do_not_call is False


def test_log_call_writes_an_audit_entry(db, agent, customer):
    with db() as session:
        call_id = log_call(
            session, customer.id, {"disposition": "voicemail", "duration_s": 12}, actor=agent
        ).id
    with db() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "log_call"))
        assert entry.actor_id == agent.id
        assert entry.entity_type == "customer"
        assert entry.entity_id == str(customer.id)
        assert entry.after == {"call_id": call_id, "disposition": "voicemail", "duration_s": 12}


BAD_CALLS = [
    ({"disposition": "hung_up_angrily"}, "disposition"),
    ({"direction": "sideways"}, "direction"),
    ({"duration_s": -1}, "duration_s"),
    ({"duration_s": "long"}, "duration_s"),
    ({"duration_s": 24 * 3600 + 1}, "duration_s"),
    ({"started_at": "2026-05-01T10:00:00"}, "started_at"),
    ({"started_at": datetime(2026, 5, 1, 10, 0)}, "started_at"),
    ({"started_at": "yesterday"}, "started_at"),
    ({"recording_url": "ftp://pbx/rec.mp3"}, "recording_url"),
    ({"number": "12345"}, "number"),
]


def test_invalid_call_input_names_the_field(db, agent, customer, subtests):
    """Unknown disposition, negative duration, naive datetime…: InvalidInput on that field."""
    for data, field in BAD_CALLS:
        with subtests.test(data=data):
            with pytest.raises(InvalidInput) as caught, db() as session:
                log_call(session, customer.id, data, actor=agent)
            assert field in fields(caught.value)
            assert all(d["message"] for d in caught.value.details)
    with db() as session:
        assert count(session, Call) == 0
        assert get_customer(session, customer.id).last_contact_at is None


def test_several_call_problems_are_reported_together(db, agent, customer):
    with pytest.raises(InvalidInput) as caught, db() as session:
        log_call(
            session,
            customer.id,
            {"disposition": "nope", "duration_s": -5, "started_at": "2026-05-01T10:00"},
            actor=agent,
        )
    assert fields(caught.value) == {"disposition", "duration_s", "started_at"}


def test_aware_datetime_object_is_accepted(db, agent, customer):
    started = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    with db() as session:
        call = log_call(
            session, customer.id, {"disposition": "busy", "started_at": started}, actor=agent
        )
        assert call.started_at == started


def test_call_on_a_customer_the_agent_cannot_see_is_not_found(db, make_user, customer):
    stranger = make_user("agent", team="West")
    with pytest.raises(NotFound), db() as session:
        log_call(session, customer.id, {"disposition": "busy"}, actor=stranger)
    with db() as session:
        assert count(session, Call) == 0


def test_call_on_an_unknown_customer_is_not_found(db, agent):
    with pytest.raises(NotFound), db() as session:
        log_call(session, 999_999, {"disposition": "busy"}, actor=agent)


def test_call_on_a_pool_customer_is_allowed(db, make_user, make_customer, agent):
    admin = make_user("admin")
    pooled = make_customer(actor=admin, name="公海客户")
    with db() as session:
        log_call(session, pooled.id, {"disposition": "no_answer"}, actor=agent)
    with db() as session:
        assert count(session, Call) == 1


# --- notes ----------------------------------------------------------------------------------


def test_add_note_stores_trimmed_text_with_its_author(db, agent, customer):
    with db() as session:
        note_id = add_note(session, customer.id, "  客户要求下周回电  ", actor=agent).id
    with db() as session:
        note = session.get(Activity, note_id)
        assert note.body == "客户要求下周回电"
        assert note.author_id == agent.id
        assert note.customer_id == customer.id
        assert note.created_at is not None
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "add_note"))
        assert entry.entity_id == str(customer.id)
        assert entry.after["activity_id"] == note_id


def test_empty_note_is_invalid(db, agent, customer, subtests):
    for body in ["", "   \n\t", None, 42]:
        with subtests.test(body=body):
            with pytest.raises(InvalidInput) as caught, db() as session:
                add_note(session, customer.id, body, actor=agent)
            assert fields(caught.value) == {"text"}
    with db() as session:
        assert count(session, Activity) == 0


def test_overlong_note_is_invalid(db, agent, customer):
    with pytest.raises(InvalidInput) as caught, db() as session:
        add_note(session, customer.id, "话" * 10_001, actor=agent)
    assert fields(caught.value) == {"text"}


def test_note_on_a_customer_the_agent_cannot_see_is_not_found(db, make_user, customer):
    stranger = make_user("agent")
    with pytest.raises(NotFound) as caught, db() as session:
        add_note(session, customer.id, "偷看", actor=stranger)
    assert caught.value.code == "customer_not_found"
    with db() as session:
        assert count(session, Activity) == 0


def test_manager_may_note_a_team_customer(db, make_user, customer):
    manager = make_user("manager", team="East")
    with db() as session:
        add_note(session, customer.id, "主管批注", actor=manager)
    with db() as session:
        assert count(session, Activity) == 1
