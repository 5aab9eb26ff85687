"""Settings → Webhooks: administrators create, disable and delete subscriptions, see the
secret once, send a test event, see deliveries and redeliver; nobody else gets in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.models import DeliveryStatus, User, WebhookDelivery, WebhookSubscription
from crm.webhooks.delivery import RetryPolicy, deliver_due
from tests.conftest import PASSWORD, sign_in

PAGE = "/settings/webhooks"
# The receivers of these tests listen on 127.0.0.1, an address refused by default.
pytestmark = pytest.mark.webhook_targets("127.0.0.1")


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def signed_in(app, db, make_user, role: str, locale: str = "en"):
    user = make_user(role, username=f"{role}_web", team=None, password=PASSWORD)
    with db() as session:
        session.get(User, user.id).locale = locale
    client = app.test_client()
    assert sign_in(client, user.username).status_code == 302
    return client


@pytest.fixture
def admin_client(app, db, make_user):
    return signed_in(app, db, make_user, "admin")


def post(client, page: str, action: str, data: dict):
    token = csrf_token(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token})


def subscription_ids(db) -> list[int]:
    with db() as session:
        return list(session.scalars(select(WebhookSubscription.id)))


@pytest.mark.parametrize("role", ["agent", "manager", "director", "process_owner"])
def test_only_administrators_open_the_page(app, db, make_user, role):
    client = signed_in(app, db, make_user, role)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data={"url": "https://x.example.com"}).status_code in (400, 403)
    assert subscription_ids(db) == []
    assert app.test_client().get(PAGE).status_code == 302  # signed out: to the sign-in page


def test_admin_sees_webhooks_beside_the_telesales_settings(admin_client):
    settings = admin_client.get("/settings")
    assert settings.status_code == 200 and 'href="/settings/webhooks"' in settings.text
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    assert "No webhooks yet." in page.text
    assert 'value="customer.created"' in page.text and 'value="deal.won"' in page.text


def test_bad_input_is_shown_beside_the_fields_and_nothing_is_stored(admin_client, db):
    response = post(admin_client, PAGE, PAGE, {"url": "ftp://files.example.com", "description": ""})
    assert response.status_code == 422
    assert 'data-error="url"' in response.text and 'data-error="event_types"' in response.text
    assert 'value="ftp://files.example.com"' in response.text  # what was typed stays
    assert subscription_ids(db) == []
    response = admin_client.post(PAGE, data={"url": "https://crm.example.com"})  # no CSRF token
    assert response.status_code == 400
    assert subscription_ids(db) == []


def test_a_nul_in_the_description_is_refused_not_a_server_error(admin_client, db):
    """PostgreSQL's text columns refuse NUL: it is bad input, shown beside the field."""
    response = post(
        admin_client,
        PAGE,
        PAGE,
        {"url": "https://crm.example.com/in", "description": "CRM\x00", "event_types": "deal.won"},
    )
    assert response.status_code == 422
    assert 'data-error="description"' in response.text
    assert subscription_ids(db) == []


def test_create_see_secret_once_test_event_redeliver_disable_delete(
    admin_client, db, runtime, receiver
):
    receiver.answers = [500]
    created = post(
        admin_client,
        PAGE,
        PAGE,
        {
            "url": receiver.url,
            "description": "ERP 同步",
            "event_types": ["customer.created", "deal.won"],
        },
    )
    assert created.status_code == 201
    secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', created.text).group(1)
    assert created.headers["Cache-Control"] == "no-store"  # not kept in the browser's cache
    [hook_id] = subscription_ids(db)
    detail = f"{PAGE}/{hook_id}"
    shown = admin_client.get(detail)
    assert secret not in shown.text and "…" + secret[-4:] in shown.text  # once only
    listing = admin_client.get(PAGE).text
    assert receiver.url in listing and "ERP 同步" in listing and secret not in listing

    tested = post(admin_client, detail, f"{detail}/test", {})
    assert tested.status_code == 302
    policy = RetryPolicy(timeout=1.0)
    assert deliver_due(runtime.db, runtime.clock.now, policy=policy) == 1
    page = admin_client.get(detail).text
    row = re.search(r'<tr data-delivery="(\d+)" data-status="pending">(.*?)</tr>', page, re.S)
    assert row and "HTTP 500" in row.group(2) and "Test event" in row.group(2)
    delivery_id = int(row.group(1))

    again = post(admin_client, detail, f"{detail}/deliveries/{delivery_id}/redeliver", {})
    assert again.status_code == 302
    assert deliver_due(runtime.db, runtime.clock.now, policy=policy) == 1
    page = admin_client.get(detail).text
    assert f'data-delivery="{delivery_id}" data-status="delivered"' in page
    assert "Delivery queued again." in page or "Delivered" in page
    assert len(receiver.wait_for(2)) == 2

    disabled = post(admin_client, detail, f"{detail}/active", {"active": "0"})
    assert disabled.status_code == 302
    page = admin_client.get(detail).text
    assert 'data-action="enable"' in page
    refused = post(admin_client, detail, f"{detail}/deliveries/{delivery_id}/redeliver", {})
    assert refused.status_code == 302
    assert "Enable the webhook before redelivering." in admin_client.get(detail).text
    with db() as session:
        assert session.get(WebhookDelivery, delivery_id).status == DeliveryStatus.DELIVERED

    rotated = post(admin_client, detail, f"{detail}/secret", {})
    new_secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', rotated.text).group(1)
    assert rotated.headers["Cache-Control"] == "no-store"
    assert new_secret != secret

    gone = post(admin_client, detail, f"{detail}/delete", {})
    assert gone.status_code == 302 and gone.headers["Location"].endswith(PAGE)
    assert subscription_ids(db) == []
    assert admin_client.get(detail).status_code == 404


def test_the_page_speaks_chinese(app, db, make_user):
    client = signed_in(app, db, make_user, "admin", locale="zh_CN")
    page = client.get(PAGE).text
    assert "新建 Webhook" in page and "创建 Webhook" in page
    assert "商机赢单" in page and "接收地址 (URL)" in page
