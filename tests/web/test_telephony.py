"""`POST /api/v1/telephony/events`: HMAC signature, events applied once, calls matched by phone."""

from __future__ import annotations

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from crm.models import Call, Customer, TelephonyEvent
from dialflow.settings import Settings
from tests.conftest import count
from tests.web.crm_api_helpers import error_of, fields_of

URL = "/api/v1/telephony/events"
SECRET = "pbx-shared-secret-0123456789"


@pytest.fixture
def settings(test_env):
    return Settings.from_env({**test_env, "TELEPHONY_SECRET": SECRET})


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="zhangwei")


@pytest.fixture
def customer(make_customer, agent):
    return make_customer(actor=agent, name="王小明", phone="13800138000")


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(client, event: dict, *, signature: str | None = "good", prefix: str = ""):
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        headers["X-Dialflow-Signature"] = prefix + sign(body)
    elif signature is not None:
        headers["X-Dialflow-Signature"] = signature
    return client.post(URL, data=body, headers=headers)


def event(event_id: str, kind: str, **fields):
    return {"event_id": event_id, "type": kind, "call_id": "pbx-call-1", **fields}


def test_a_call_from_start_to_end(client, db, agent, customer):
    started = send(
        client,
        event(
            "e1",
            "call.started",
            number="138 0013 8000",
            agent="zhangwei",
            at="2026-05-01T10:00:00+08:00",
        ),
    )
    assert started.status_code == 200, started.get_json()
    call_id = started.get_json()["call_id"]
    assert started.get_json()["duplicate"] is False
    send(client, event("e2", "call.answered", at="2026-05-01T10:00:05+08:00"), prefix="sha256=")
    ended = send(
        client,
        event(
            "e3",
            "call.ended",
            at="2026-05-01T10:01:45+08:00",
            recording_url="https://pbx.example.com/rec/1.mp3",
        ),
    )
    assert ended.get_json()["call_id"] == call_id
    with db() as session:
        call = session.get(Call, call_id)
        assert (call.customer_id, call.agent_id) == (customer.id, agent.id)
        assert call.number == "+8613800138000"
        assert call.external_id == "pbx-call-1"
        assert call.duration_s == 100
        assert call.recording_url == "https://pbx.example.com/rec/1.mp3"
        assert call.ended_at is not None
        assert session.get(Customer, customer.id).last_contact_at == call.started_at
        assert count(session, TelephonyEvent) == 3
        assert count(session, Call) == 1


def test_the_same_event_twice_is_applied_once(client, db, customer):
    first = send(client, event("dup-1", "call.ended", number="13800138000", duration_s=30))
    again = send(client, event("dup-1", "call.ended", number="13800138000", duration_s=99))
    assert first.status_code == again.status_code == 200
    assert again.get_json() == {**first.get_json(), "duplicate": True}
    with db() as session:
        assert count(session, TelephonyEvent) == 1
        assert session.scalars(select(Call.duration_s)).all() == [30]


def test_concurrent_duplicates_are_applied_once(app, db, customer):
    body = json.dumps(event("race-1", "call.started", number="13800138000")).encode()
    headers = {"Content-Type": "application/json", "X-Dialflow-Signature": sign(body)}

    def post(_: int) -> int:
        return app.test_client().post(URL, data=body, headers=headers).status_code

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(post, range(4))) == [200] * 4
    with db() as session:
        assert count(session, TelephonyEvent) == 1
        assert count(session, Call) == 1


@pytest.mark.parametrize(
    ("signature", "code"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("deadbeef", "invalid_signature"),
        ("sha256=" + "0" * 64, "invalid_signature"),
        ("wrong-secret", "invalid_signature"),
        ("sha256=é" + "0" * 63, "invalid_signature"),  # compare_digest refuses non-ASCII str
        ("ü", "invalid_signature"),
    ],
)
def test_bad_or_missing_signature_is_401_and_stores_nothing(client, db, customer, signature, code):
    if signature == "wrong-secret":
        body = json.dumps(event("x", "call.started")).encode()
        signature = sign(body, "another-secret-0123456789")
    error_of(send(client, event("x", "call.started"), signature=signature), 401, code)
    with db() as session:
        assert count(session, TelephonyEvent) == 0
        assert count(session, Call) == 0


def test_a_signature_over_another_body_is_refused(client):
    signed = sign(json.dumps(event("a", "call.started")).encode())
    error_of(send(client, event("b", "call.started"), signature=signed), 401, "invalid_signature")


def test_uppercase_hex_signature_is_accepted(client, customer):
    body = json.dumps(event("u1", "call.started")).encode()
    response = client.post(
        URL,
        data=body,
        headers={"Content-Type": "application/json", "X-Dialflow-Signature": sign(body).upper()},
    )
    assert response.status_code == 200, response.get_json()


def test_unknown_number_keeps_the_call_without_a_customer(client, db):
    response = send(client, event("n1", "call.started", number="13312345678", agent="nobody"))
    assert response.status_code == 200
    with db() as session:
        call = session.get(Call, response.get_json()["call_id"])
        assert (call.customer_id, call.agent_id, call.number) == (None, None, "+8613312345678")


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"type": "call.started", "call_id": "c"}, {"event_id"}),
        ({"event_id": "e", "type": "call.exploded", "call_id": "c"}, {"type"}),
        ({"event_id": "e", "type": "call.ended", "call_id": "c", "duration_s": -3}, {"duration_s"}),
        ({"event_id": "e", "type": "call.ended", "call_id": "c", "number": "12"}, {"number"}),
        ({"event_id": "e", "type": "call.ended", "call_id": "c", "at": "10:00"}, {"at"}),
        (
            {"event_id": "e", "type": "call.ended", "call_id": "c", "recording_url": "ftp://x"},
            {"recording_url"},
        ),
        # numbers where the document says text: 0.0 was read as no number, 5 as "5"
        ({"event_id": "e", "type": "call.ended", "call_id": "c", "number": 0.0}, {"number"}),
        (
            {"event_id": 5, "type": "call.ended", "call_id": 7, "agent": 1},
            {"event_id", "call_id", "agent"},
        ),
    ],
)
def test_invalid_events_are_422(client, db, payload, fields):
    assert fields_of(error_of(send(client, payload), 422)) == fields
    with db() as session:
        assert count(session, TelephonyEvent) == 0


def test_a_signed_body_that_is_not_json_is_422(client):
    for body in [b"not json", b"[1, 2]", b'{"a": NaN}']:
        response = client.post(URL, data=body, headers={"X-Dialflow-Signature": sign(body)})
        error_of(response, 422, "invalid_json")


@pytest.mark.parametrize(
    "extra",
    [
        b'"x": "a\\u0000"',  # PostgreSQL's JSON columns refuse it
        b'"x": "\\udcff"',  # no database stores a lone surrogate as UTF-8
        b'"x": 1e400',  # infinity, which neither JSON column nor answer can hold
    ],
)
def test_a_signed_event_that_is_not_strict_json_is_422_and_stores_nothing(client, db, extra):
    body = b'{"event_id": "s1", "type": "call.started", "call_id": "c1", ' + extra + b"}"
    response = client.post(URL, data=body, headers={"X-Dialflow-Signature": sign(body)})
    error_of(response, 422, "invalid_json")
    with db() as session:
        assert count(session, TelephonyEvent) == 0


def test_without_a_secret_the_endpoint_is_disabled(test_env, tmp_path):
    from dialflow.runtime import Runtime
    from web import create_app

    runtime = Runtime.build(Settings.from_env(test_env))
    try:
        client = create_app({"TESTING": True}, runtime=runtime).test_client()
        error_of(send(client, event("e", "call.started")), 503, "telephony_disabled")
    finally:
        runtime.close()


def test_short_secret_is_a_configuration_error(test_env):
    from dialflow.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="TELEPHONY_SECRET"):
        Settings.from_env({**test_env, "TELEPHONY_SECRET": "short"})
