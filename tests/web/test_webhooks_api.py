"""``/api/v1/webhooks``: administrators manage subscriptions, read the delivery log, redeliver
and send test events; everyone else gets 401/403; bad input is a 4xx with a code."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sqlalchemy import select

from crm.models import AuditEntry
from crm.webhooks.delivery import RetryPolicy, deliver_due
from tests.engine.conftest import actor_factory

URL = "/api/v1/webhooks"
# The receivers of these tests listen on 127.0.0.1, an address refused by default.
pytestmark = pytest.mark.webhook_targets("127.0.0.1")
QUICK = RetryPolicy(timeout=1.0)


@pytest.fixture
def admin(client, db):
    return actor_factory(client, db)("admin", username="root", team=None)


@pytest.fixture
def agent(client, db):
    return actor_factory(client, db)("agent", username="wangfang")


def patch(actor, url, body):
    return actor.client.patch(url, headers=actor.headers, json=body)


def delete(actor, url):
    return actor.client.delete(url, headers=actor.headers)


def create(admin, receiver_url: str, *types: str) -> dict:
    response = admin.post(URL, json={"url": receiver_url, "event_types": list(types)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_only_administrators_reach_webhooks(client, admin, agent):
    assert client.get(URL).status_code == 401
    assert client.get(URL).get_json()["error"]["code"] == "missing_token"
    for response in (
        agent.get(URL),
        agent.post(URL, json={"url": "https://x.example.com", "event_types": ["deal.won"]}),
        agent.get(URL + "/event-types"),
    ):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "admin_required"
    hook = create(admin, "https://crm.example.com/in", "deal.won")
    for response in (
        agent.get(f"{URL}/{hook['id']}"),
        patch(agent, f"{URL}/{hook['id']}", {"active": False}),
        delete(agent, f"{URL}/{hook['id']}"),
        agent.post(f"{URL}/{hook['id']}/test"),
        agent.post(f"{URL}/{hook['id']}/secret"),
        agent.get(f"{URL}/{hook['id']}/deliveries"),
        agent.post(f"{URL}/{hook['id']}/deliveries/1/redeliver"),
    ):
        assert response.status_code == 403, response.get_json()
    assert admin.get(f"{URL}/{hook['id']}").get_json()["active"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://files.example.com/in", "event_types": ["deal.won"]}, "url"),
        ({"url": "crm.example.com/in", "event_types": ["deal.won"]}, "url"),
        ({"url": "https://user:pw@crm.example.com/in", "event_types": ["deal.won"]}, "url"),
        ({"url": "https://crm.example.com/in #x", "event_types": ["deal.won"]}, "url"),
        ({"url": "https://", "event_types": ["deal.won"]}, "url"),
        ({"url": "https://crm.example.com:99999/", "event_types": ["deal.won"]}, "url"),
        ({"url": 42, "event_types": ["deal.won"]}, "url"),
        ({"event_types": ["deal.won"]}, "url"),
        ({"url": "https://crm.example.com/in", "event_types": ["deal.exploded"]}, "event_types"),
        ({"url": "https://crm.example.com/in", "event_types": []}, "event_types"),
        # Host names no HTTP client can send to (not IDNA).
        ({"url": "https://⒈.example.com/in", "event_types": ["deal.won"]}, "url"),
        ({"url": "https://xn--a.example.com/in", "event_types": ["deal.won"]}, "url"),
        ({"url": "https://exámple.com/in", "event_types": ["deal.won"]}, "url"),
        ({"url": "https://crm.example.com/in", "event_types": "deal.won"}, "event_types"),
        ({"url": "https://crm.example.com/in"}, "event_types"),
        (
            {"url": "https://crm.example.com/in", "event_types": ["deal.won"], "active": "yes"},
            "active",
        ),
    ],
)
def test_bad_subscriptions_are_422_with_the_field(admin, body, field):
    response = admin.post(URL, json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_webhook"
    assert field in {d["field"] for d in error["details"]}
    assert admin.get(URL).get_json()["total"] == 0


def test_malformed_requests_and_unknown_ids(admin):
    response = admin.client.post(URL, headers=admin.headers, data="{", content_type="text/plain")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_json"
    for body in (  # a lone surrogate (no database stores it as UTF-8), a NUL (nor PostgreSQL)
        '{"url": "https://crm.example.com/in\\udcff", "event_types": ["deal.won"]}',
        '{"url": "https://x.example.com", "description": "\\ud800", "event_types": ["deal.won"]}',
        '{"url": "https://x.example.com", "description": "a\\u0000", "event_types": ["deal.won"]}',
    ):
        response = admin.client.post(
            URL, headers=admin.headers, data=body, content_type="application/json"
        )
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["code"] == "invalid_json"
    response = admin.post(URL, json=["https://crm.example.com"])
    assert response.status_code == 422
    for response in (
        admin.get(f"{URL}/999"),
        patch(admin, f"{URL}/999", {"active": False}),
        delete(admin, f"{URL}/999"),
        admin.post(f"{URL}/999/test"),
        admin.get(f"{URL}/999/deliveries"),
        admin.get(f"{URL}/99999999999"),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "webhook_not_found"
    hook = create(admin, "https://crm.example.com/in", "deal.won")
    response = admin.post(f"{URL}/{hook['id']}/deliveries/12345/redeliver")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "delivery_not_found"
    response = admin.get(f"{URL}/{hook['id']}/deliveries?status=lost")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_status"
    response = admin.get(f"{URL}/{hook['id']}/deliveries?limit=x")
    assert response.status_code == 422
    response = patch(admin, f"{URL}/{hook['id']}", {"url": "javascript:alert(1)"})
    assert response.status_code == 422
    assert admin.get(f"{URL}/{hook['id']}").get_json()["url"] == "https://crm.example.com/in"


def test_create_change_test_event_deliveries_redeliver_delete(admin, runtime, db, receiver):
    created = create(admin, receiver.url, "deal.won", "customer.created")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert created["event_types"] == ["customer.created", "deal.won"]
    assert created["secret_hint"] == "…" + secret[-4:]
    hook_id = created["id"]
    listed = admin.get(URL).get_json()
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    assert "secret" not in admin.get(f"{URL}/{hook_id}").get_json()

    types = admin.get(URL + "/event-types").get_json()["items"]
    assert {"customer.created", "call.logged", "deal.won", "task.completed"} <= {
        t["type"] for t in types
    }

    queued = admin.post(f"{URL}/{hook_id}/test")
    assert queued.status_code == 202
    delivery = queued.get_json()
    assert delivery["event_type"] == "webhook.test" and delivery["status"] == "pending"
    assert deliver_due(runtime.db, runtime.clock.now, policy=QUICK) == 1
    [request] = receiver.wait_for(1)
    assert request.json["type"] == "webhook.test"
    assert request.json["data"]["subscription_id"] == hook_id
    timestamp = request.headers["X-Dialflow-Timestamp"]
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.headers["X-Dialflow-Signature"] == "sha256=" + digest.hexdigest()

    log = admin.get(f"{URL}/{hook_id}/deliveries").get_json()
    assert log["total"] == 1
    [entry] = log["items"]
    assert entry["status"] == "delivered" and entry["attempts"] == 1
    assert entry["last_status_code"] == 200 and entry["delivered_at"]
    assert admin.get(f"{URL}/{hook_id}/deliveries?status=failed").get_json()["total"] == 0

    again = admin.post(f"{URL}/{hook_id}/deliveries/{entry['id']}/redeliver")
    assert again.status_code == 202 and again.get_json()["status"] == "pending"
    rotated = admin.post(f"{URL}/{hook_id}/secret").get_json()["secret"]
    assert rotated != secret
    assert deliver_due(runtime.db, runtime.clock.now, policy=QUICK) == 1
    _first, second = receiver.wait_for(2)
    assert second.headers["Idempotency-Key"] == request.headers["Idempotency-Key"]
    timestamp = second.headers["X-Dialflow-Timestamp"]
    digest = hmac.new(rotated.encode(), f"{timestamp}.".encode() + second.body, hashlib.sha256)
    assert second.headers["X-Dialflow-Signature"] == "sha256=" + digest.hexdigest()

    changed = patch(
        admin, f"{URL}/{hook_id}", {"active": False, "event_types": ["call.logged"], "url": None}
    )
    assert changed.status_code == 422  # url may not be emptied
    changed = patch(admin, f"{URL}/{hook_id}", {"active": False, "event_types": ["call.logged"]})
    assert changed.status_code == 200
    assert changed.get_json()["active"] is False
    assert changed.get_json()["event_types"] == ["call.logged"]
    refused = admin.post(f"{URL}/{hook_id}/deliveries/{entry['id']}/redeliver")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "subscription_disabled"

    assert delete(admin, f"{URL}/{hook_id}").get_json() == {"id": hook_id, "deleted": True}
    assert admin.get(f"{URL}/{hook_id}").status_code == 404
    assert admin.get(URL).get_json()["total"] == 0

    with db() as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "webhook_subscription")
            .order_by(AuditEntry.id)
        ).all()
        actions = [e.action for e in entries]
        texts = " ".join(str(e.before) + str(e.after) for e in entries)
    assert actions == ["create", "send_test", "redeliver", "rotate_secret", "update", "delete"]
    assert secret not in texts and rotated not in texts


def test_webhooks_are_in_the_openapi_document_with_the_signing_scheme(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    assert set(paths[URL]) == {"get", "post"}
    assert set(paths[URL + "/{subscription_id}"]) == {"get", "patch", "delete"}
    assert "post" in paths[URL + "/{subscription_id}/deliveries/{delivery_id}/redeliver"]
    assert "post" in paths[URL + "/{subscription_id}/test"]
    described = paths[URL]["post"]["description"]
    assert "X-Dialflow-Signature" in described and "HMAC-SHA256" in described
    assert "X-Dialflow-Timestamp" in described and "Idempotency-Key" in described
    assert "403" in paths[URL]["get"]["responses"]
