"""Text inside a request body's lists and objects is checked as top-level text is: where the
operation's schema says string, a number, boolean, object or null is a 422 naming its path
(``phones[1]``), and nothing is stored."""

from __future__ import annotations

import pytest

from crm.models import Customer
from tests.conftest import count as count_in
from tests.web.crm_api_helpers import bearer, error_of, fields_of


def count(db, model) -> int:
    with db() as session:
        return count_in(session, model)


@pytest.fixture
def admin(db, make_user):
    return bearer(db, make_user("admin", username="boss", team=None))


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        (
            "/api/v1/customers",
            {"name": "王小明", "phones": ["13800138000", 13900139000]},
            {"phones[1]"},
        ),
        ("/api/v1/process-models", {"bpmn": "<definitions/>", "dmn": [5]}, {"dmn[0]"}),
        (
            "/api/v1/webhooks",
            {"url": "https://erp.example.com/hook", "event_types": [True]},
            {"event_types[0]"},
        ),
        (
            "/api/v1/leads",
            {"name": "李雷", "phone": "13800138001", "tags": ["vip", 7, {"a": 1}]},
            {"tags[1]", "tags[2]"},
        ),
    ],
)
def test_text_in_a_list_of_the_body_must_be_text(client, db, admin, path, body, fields):
    response = client.post(path, json=body, headers=admin)
    error = error_of(response, 422)
    assert fields_of(error) == fields
    assert all(d["message"].startswith("Must be text") for d in error["details"])
    assert count(db, Customer) == 0


def test_a_list_of_many_wrong_items_names_twenty(client, db, admin):
    body = {"name": "王小明", "phones": list(range(5000))}
    error = error_of(client.post("/api/v1/customers", json=body, headers=admin), 422)
    assert fields_of(error) == {f"phones[{i}]" for i in range(20)}
    assert count(db, Customer) == 0
