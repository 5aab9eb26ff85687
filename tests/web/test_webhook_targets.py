"""Internal addresses are refused as webhook targets when a subscription is created or changed,
through the API (422 ``webhook_target_refused`` with a message) and the settings page (the
reason beside the field, in the user's language); the server's allowance lets named networks
and hosts through. Nothing is stored for a refused request."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.models import User, WebhookSubscription
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import actor_factory
from tests.web.test_webhooks_page import csrf_token

URL = "/api/v1/webhooks"
PAGE = "/settings/webhooks"


@pytest.fixture
def admin(client, db):
    return actor_factory(client, db)("admin", username="root", team=None)


def stored(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(WebhookSubscription))


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("http://127.0.0.1:8080/in", "loopback"),
        ("http://127.1/in", "loopback"),  # read by resolvers as 127.0.0.1
        ("http://2130706433/in", "loopback"),
        ("http://localhost/in", "loopback"),
        ("http://hooks.localhost./in", "loopback"),
        ("http://[::1]/in", "loopback"),
        ("http://[::ffff:127.0.0.1]/in", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]/in", "link-local"),
        ("http://0.0.0.0/in", "unspecified"),
        ("http://224.0.0.1/in", "multicast"),
        ("https://10.1.2.3/in", "private"),
        ("https://172.16.0.9/in", "private"),
        ("https://192.168.1.20/in", "private"),
        ("https://[fd12:3456::1]/in", "private"),
        ("https://100.64.0.1/in", "reserved"),
    ],
)
def test_internal_targets_are_refused_with_a_code_and_a_message(admin, db, target, kind):
    response = admin.post(URL, json={"url": target, "event_types": ["deal.won"]})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "webhook_target_refused"
    assert "webhooks go only to public addresses" in error["message"]
    assert "DIALFLOW_WEBHOOK_ALLOWED_TARGETS" in error["message"]
    [detail] = error["details"]
    assert detail["field"] == "url" and detail["kind"] == kind
    assert stored(db) == 0


def test_a_refused_target_beside_other_mistakes_is_one_invalid_webhook(admin, db):
    body = {"url": "http://127.0.0.1/in", "event_types": ["deal.exploded"]}
    response = admin.post(URL, json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_webhook"
    assert {d["field"] for d in error["details"]} == {"url", "event_types"}
    assert stored(db) == 0


def test_changing_the_url_to_an_internal_address_is_refused_and_nothing_changes(admin, db):
    body = {"url": "https://crm.example.com/in", "event_types": ["deal.won"]}
    created = admin.post(URL, json=body)
    hook = created.get_json()["id"]
    response = admin.client.patch(
        f"{URL}/{hook}",
        headers=admin.headers,
        json={"url": "http://169.254.169.254/latest/meta-data/", "active": False},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "webhook_target_refused"
    kept = admin.get(f"{URL}/{hook}").get_json()
    assert kept["url"] == "https://crm.example.com/in" and kept["active"] is True


def test_public_names_are_accepted_without_a_dns_look_up(admin):
    """A name is checked when sent, after resolution; saving it does not wait on DNS."""
    body = {"url": "https://hooks.partner.invalid/in", "event_types": ["deal.won"]}
    assert admin.post(URL, json=body).status_code == 201


@pytest.mark.webhook_targets("10.20.0.0/16", "erp.corp.lan", "*.hooks.lan")
def test_the_servers_allowance_lets_named_networks_and_hosts_through(admin, db):
    for target in (
        "http://10.20.3.4:8080/in",
        "http://erp.corp.lan/in",
        "http://a.hooks.lan/in",
    ):
        response = admin.post(URL, json={"url": target, "event_types": ["deal.won"]})
        assert response.status_code == 201, (target, response.get_json())
    for target in ("http://10.21.0.1/in", "http://127.0.0.1/in", "http://hooks.lan.evil/in"):
        response = admin.post(URL, json={"url": target, "event_types": ["deal.won"]})
        expected = 201 if target == "http://hooks.lan.evil/in" else 422  # a public name
        assert response.status_code == expected, target
    assert stored(db) == 4


def signed_in_admin(app, db, make_user, locale: str):
    user = make_user("admin", username="admin_web", team=None, password=PASSWORD)
    with db() as session:
        session.get(User, user.id).locale = locale
    client = app.test_client()
    assert sign_in(client, user.username).status_code == 302
    return client


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "This address is a link-local address"),
        ("zh_CN", "此地址是链路本地地址"),
    ],
)
def test_the_settings_page_refuses_an_internal_target_beside_the_field(
    app, db, make_user, locale, text
):
    client = signed_in_admin(app, db, make_user, locale)
    token = csrf_token(client.get(PAGE).text)
    response = client.post(
        PAGE,
        data={
            "url": "http://169.254.169.254/latest/meta-data/",
            "event_types": ["deal.won"],
            "csrf_token": token,
        },
    )
    assert response.status_code == 422
    assert text in response.text
    assert "DIALFLOW_WEBHOOK_ALLOWED_TARGETS" in response.text
    assert 'value="http://169.254.169.254/latest/meta-data/"' in response.text  # kept
    assert stored(db) == 0
