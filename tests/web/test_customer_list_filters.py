"""The customers list: filters by owner, stage, pool and tag; the create form."""

from __future__ import annotations

import csv
import html
import io
import re

from sqlalchemy import select

from crm.models import Customer
from tests.conftest import PASSWORD, sign_in


def names(html: str) -> list[str]:
    return re.findall(r"<strong>([^<]+)</strong></a>", html)


def test_filters_narrow_the_list_and_the_pager_keeps_them(client, make_user, make_customer):
    manager = make_user("manager", username="mgr", team="East", password=PASSWORD)
    agent = make_user("agent", username="ag", team="East", manager="mgr")
    make_customer(name="甲", owner=agent.username, tags=["VIP"], stage="contacted")
    make_customer(name="乙", owner=agent.username, stage="new")
    make_customer(name="丙", owner=None)
    sign_in(client, manager.username)
    everything = client.get("/customers").text
    assert set(names(everything)) == {"甲", "乙", "丙"}
    assert set(names(client.get(f"/customers?owner={agent.id}").text)) == {"甲", "乙"}
    assert names(client.get("/customers?stage=contacted").text) == ["甲"]
    assert names(client.get("/customers?pool=1").text) == ["丙"]
    assert names(client.get("/customers?tag=VIP").text) == ["甲"]
    assert client.get("/customers?stage=bogus&pool=x&owner=abc").status_code == 200
    many = [
        make_customer(name=f"多{i}", owner=agent.username, stage="contacted") for i in range(25)
    ]
    first = client.get("/customers?stage=contacted").text
    assert len(many) == 25 and "stage=contacted" in re.search(
        r'href="([^"]*page=2[^"]*)"', first
    ).group(1)


def test_create_a_customer_with_per_field_errors(client, make_user, db):
    make_user("agent", username="ag2", team="East", password=PASSWORD)
    sign_in(client, "ag2")
    form = client.get("/customers/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    bad = client.post("/customers/new", data={"csrf_token": token, "name": "", "phone": "12"})
    assert bad.status_code == 422
    assert bad.text.count('class="field-error"') >= 2
    assert 'value="12"' in bad.text  # what was typed is kept
    good = client.post(
        "/customers/new",
        data={"csrf_token": token, "name": "新客户", "phone": "13912345678", "tags": "VIP，老板"},
    )
    assert good.status_code == 302
    with db() as session:
        customer = session.scalar(select(Customer).where(Customer.name == "新客户"))
        assert customer.tags == ["VIP", "老板"] and customer.owner.username == "ag2"
    again = client.post(
        "/customers/new", data={"csrf_token": token, "name": "重复", "phone": "139 1234 5678"}
    )
    assert again.status_code == 422
    assert "already exists" in again.text or "已存在" in again.text


def test_export_buttons_carry_the_list_filters(client, make_user, make_customer):
    manager = make_user("manager", username="mgr", team="East", password=PASSWORD)
    agent = make_user("agent", username="ag", team="East", manager="mgr")
    other = make_user("agent", username="ag3", team="East", manager="mgr")
    make_customer(name="甲", owner=agent.username, tags=["VIP"], stage="contacted")
    make_customer(name="乙", owner=agent.username, stage="contacted")
    make_customer(name="丁", owner=other.username, tags=["VIP"], stage="contacted")
    make_customer(name="丙", owner=None, tags=["VIP"])
    sign_in(client, manager.username)
    for query in (f"owner={agent.id}&stage=contacted", "tag=VIP&stage=contacted", "pool=1"):
        page = client.get(f"/customers?{query}")
        shown = set(names(page.text))
        link = re.search(r'href="([^"]*/customers/export[^"]*format=csv[^"]*)"', page.text)
        assert link, page.text
        response = client.get(html.unescape(link.group(1)))
        assert response.status_code == 200
        rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
        exported = {row[next(k for k in row if k in ("name", "姓名", "Name"))] for row in rows}
        assert exported == shown, (query, exported, shown)
        assert shown and len(shown) < 4
