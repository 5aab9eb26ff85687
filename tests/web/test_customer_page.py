"""The customer 360 page through the browser's door: render, scoping, masking, edit, notes,
click-to-call, audit and CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.calls import log_call
from crm.deals import create_deal
from crm.models import Activity, AuditEntry, Call, CallDirection, Customer, User
from tests.conftest import PASSWORD, count, midday_zone, sign_in
from tests.web.crm_api_helpers import bearer, deploy_and_start, one_step_diagram
from web import create_app

EN = {"Accept-Language": "en-US,en;q=0.9"}


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def digits(html: str) -> str:
    return re.sub(r"[\s\-()+]", "", html)


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="zhangwei", password=PASSWORD)


@pytest.fixture
def customer(db, agent, make_customer):
    customer = make_customer(
        actor=agent, name="王小明", phone="13800138000", tags=["vip", "北京"], company="甲公司"
    )
    with db() as session:
        me = session.get(User, agent.id)
        create_deal(session, customer.id, {"title": "年度套餐", "amount": "18800"}, actor=me)
        log_call(session, customer.id, {"disposition": "callback_requested"}, actor=me)
    return customer


@pytest.fixture
def signed_in(client, agent):
    assert sign_in(client, "zhangwei").status_code == 302
    return client


def page(client, customer_id, **kwargs):
    return client.get(f"/customers/{customer_id}", headers=EN, **kwargs)


def test_the_page_shows_details_deals_and_timeline(signed_in, customer):
    response = page(signed_in, customer.id)
    assert response.status_code == 200
    html = response.text
    for text in ["王小明", "甲公司", "vip", "北京", "年度套餐", "18,800", "Qualification"]:
        assert text in html, text
    assert "Callback requested" in html  # the call's disposition on the timeline
    assert "Deal “年度套餐” opened" in html
    assert 'href="tel:+8613800138000"' in html  # the owner may dial
    assert "13800138000" in digits(html)


def test_the_timeline_names_process_steps_as_their_diagrams_do(
    signed_in, db, make_user, agent, customer
):
    deployer = bearer(db, make_user("process_owner", username="modeler", team=None))
    for diagram in [
        one_step_diagram("address_check", "confirm", "Confirm the address / 确认地址"),
        one_step_diagram("quiet_check", "confirm_quietly", None),
    ]:
        deploy_and_start(signed_in, deployer, bearer(db, agent), diagram, customer.id)

    english = page(signed_in, customer.id).text
    assert "Process step Confirm the address of Address check" in english
    assert "Process step confirm of" not in english  # the name, not the element id
    assert "Process step confirm_quietly of Address check" in english  # no name: the id

    chinese = signed_in.get(f"/customers/{customer.id}", headers={"Accept-Language": "zh-CN"})
    assert "流程 Address check 的步骤 确认地址" in chinese.text
    assert "流程 Address check 的步骤 confirm_quietly" in chinese.text


def test_the_view_is_audited_once_per_page(signed_in, db, customer, agent):
    page(signed_in, customer.id)
    with db() as session:
        views = session.scalars(select(AuditEntry).where(AuditEntry.action == "view")).all()
    assert [(v.entity_id, v.actor_id, v.source) for v in views] == [
        (str(customer.id), agent.id, "web")
    ]


def test_the_list_links_to_the_page(signed_in, customer):
    assert f'href="/customers/{customer.id}"' in signed_in.get("/customers").text


def test_another_agents_customer_is_a_404_page(signed_in, make_user, make_customer, db):
    rival = make_user("agent", username="rival")
    theirs = make_customer(actor=rival, name="别人的客户", phone="13600136000")
    response = page(signed_in, theirs.id)
    assert response.status_code == 404
    assert "text/html" in response.content_type
    assert "别人的客户" not in response.text
    for path in ["edit", "notes", "call"]:
        response = signed_in.post(
            f"/customers/{theirs.id}/{path}",
            data={"csrf_token": csrf_token(signed_in.get("/customers").text), "text": "x"},
        )
        assert response.status_code == 404, path
    assert page(signed_in, 999999).status_code == 404
    assert page(signed_in, 10**20).status_code == 404
    with db() as session:
        assert count(session, Activity) == 0


def test_pool_customer_phone_is_masked_and_not_dialled_by_link(signed_in, make_user, make_customer):
    pooled = make_customer(actor=make_user("admin"), name="公海客户", phone="13912345678")
    html = page(signed_in, pooled.id).text
    assert "139****5678" in html
    assert "13912345678" not in digits(html)
    assert "tel:" not in html
    assert 'name="phones"' not in html  # the edit form does not reveal the numbers either


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
ONLY_THOSE_WHO_MAY = "may change the phone numbers."
PHONE_ERROR = re.compile(r'class="field-error" role="alert">([^<]+)<')


def edit_form(html: str) -> str:
    found = re.search(r'<form[^>]*class="edit-form".*?</form>', html, re.S)
    assert found, "page has no edit form"
    return found.group(0)


def updates_of(db, customer_id: int) -> int:
    with db() as session:
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "update", AuditEntry.entity_id == str(customer_id)
            )
        ).all()
    return len(entries)


@pytest.fixture
def dialed(db, desk, make_user, make_customer):
    """A pool lead whose open call task li holds: li is dialing them, not their owner."""
    pooled = make_customer(actor=make_user("admin"), name="公海线索", phone="13912345678")
    [task] = desk.start_call(pooled.id)["ready_tasks"]
    assert task["assignee"] == desk.agent.id
    assert sign_in(desk.client, "li").status_code == 302
    return pooled


def test_the_agent_dialing_a_customer_sees_the_number_read_only_in_the_edit_form(desk, dialed):
    html = page(desk.client, dialed.id).text
    assert 'href="tel:+8613912345678"' in html  # the number to dial
    form = edit_form(html)
    assert 'name="phones"' not in form  # not an input they could change
    assert re.search(
        r'<div id="f-phones" class="readonly-value mono"[^>]*>139 1234 5678</div>', form
    )
    assert ONLY_THOSE_WHO_MAY in form  # and why not
    chinese = edit_form(desk.client.get(f"/customers/{dialed.id}", headers=ZH).text)
    assert "只有客户的负责人、其主管、总监和管理员可以修改电话号码。" in chinese


def test_a_phone_change_by_the_dialing_agent_is_refused_and_nothing_is_saved(db, desk, dialed):
    """A crafted form: the whole save is refused with the reason on the phones field, and the
    other fields of that submission are not saved either."""
    html = page(desk.client, dialed.id).text
    response = desk.client.post(
        f"/customers/{dialed.id}/edit",
        data={
            "csrf_token": csrf_token(html),
            "name": "改了名字",
            "company": "新公司",
            "phones": "13700137000",
            "timezone": "Asia/Shanghai",
            "stage": "interested",
        },
        headers=EN,
    )
    assert response.status_code == 403
    assert "The customer was saved." not in response.text
    form = edit_form(response.text)
    [error] = PHONE_ERROR.findall(form)
    assert error.endswith(ONLY_THOSE_WHO_MAY)
    assert 'value="改了名字"' in form  # what was typed stays, to save without the phone
    assert 'name="phones"' not in form
    with db() as session:
        stored = session.get(Customer, dialed.id)
        assert (stored.name, stored.company, stored.stage.value) == ("公海线索", None, "new")
        assert [p.e164 for p in stored.phones] == ["+8613912345678"]
    assert updates_of(db, dialed.id) == 0

    chinese = desk.client.post(
        f"/customers/{dialed.id}/edit",
        data={"csrf_token": csrf_token(html), "name": "改了名字", "phones": ""},
        headers=ZH,
    )
    assert chinese.status_code == 403
    assert PHONE_ERROR.findall(chinese.text) == [
        "只有客户的负责人、其主管、总监和管理员可以修改电话号码。"
    ]
    assert updates_of(db, dialed.id) == 0

    # The form as shown (no phones field) saves the other fields.
    saved = desk.client.post(
        f"/customers/{dialed.id}/edit",
        data={"csrf_token": csrf_token(html), "name": "改了名字", "stage": "interested"},
        follow_redirects=True,
        headers=EN,
    )
    assert "The customer was saved." in saved.text
    with db() as session:
        stored = session.get(Customer, dialed.id)
        assert (stored.name, stored.primary_phone) == ("改了名字", "+8613912345678")


def test_a_phone_change_by_an_agent_who_sees_the_number_masked_is_refused(
    signed_in, db, make_user, make_customer
):
    pooled = make_customer(actor=make_user("admin"), name="公海客户", phone="13912345678")
    html = page(signed_in, pooled.id).text
    response = signed_in.post(
        f"/customers/{pooled.id}/edit",
        data={"csrf_token": csrf_token(html), "name": "公海客户", "phones": "13700137000"},
        headers=EN,
    )
    assert response.status_code == 403
    assert PHONE_ERROR.findall(edit_form(response.text))[0].endswith(ONLY_THOSE_WHO_MAY)
    assert "13912345678" not in digits(response.text)  # still masked
    with db() as session:
        assert session.get(Customer, pooled.id).primary_phone == "+8613912345678"
    assert updates_of(db, pooled.id) == 0


def test_the_owner_and_their_manager_change_the_phone_in_the_form(
    signed_in, db, customer, make_user
):
    form = edit_form(page(signed_in, customer.id).text)
    assert re.search(
        r'<input type="text" id="f-phones" name="phones" value="\+8613800138000"', form
    )
    assert ONLY_THOSE_WHO_MAY not in form
    response = signed_in.post(
        f"/customers/{customer.id}/edit",
        data={"csrf_token": csrf_token(form), "name": "王小明", "phones": "137 0013 7000"},
    )
    assert response.status_code == 302
    with db() as session:
        assert session.get(Customer, customer.id).primary_phone == "+8613700137000"

    make_user("manager", username="boss", password=PASSWORD)  # team East, like the owner
    boss = signed_in.application.test_client()  # another browser
    assert sign_in(boss, "boss").status_code == 302
    form = edit_form(page(boss, customer.id).text)
    assert 'name="phones"' in form
    response = boss.post(
        f"/customers/{customer.id}/edit",
        data={
            "csrf_token": csrf_token(form),
            "name": "王小明",
            "phones": "13700137000, 13600136000",
        },
    )
    assert response.status_code == 302
    with db() as session:
        stored = session.get(Customer, customer.id)
        assert [p.e164 for p in stored.phones] == ["+8613700137000", "+8613600136000"]
    assert updates_of(db, customer.id) == 2


def test_edit_shows_per_field_errors_and_keeps_the_data(signed_in, db, customer):
    html = page(signed_in, customer.id).text
    response = signed_in.post(
        f"/customers/{customer.id}/edit",
        data={
            "csrf_token": csrf_token(html),
            "name": "",
            "email": "not-an-email",
            "phones": "12345",
            "timezone": "Mars/Olympus",
            "stage": "new",
        },
        headers=EN,
    )
    assert response.status_code == 422
    errors = re.findall(r'class="field-error" role="alert">([^<]+)<', response.text)
    assert len(errors) >= 3
    assert "is not an email address" in response.text
    assert "is not a valid phone number" in response.text
    assert "is not a time zone" in response.text
    assert 'value="not-an-email"' in response.text  # what was typed stays in the form
    with db() as session:
        stored = session.get(Customer, customer.id)
        assert (stored.name, stored.email) == ("王小明", None)


def test_edit_empty_name_is_a_field_error(signed_in, db, customer):
    html = page(signed_in, customer.id).text
    response = signed_in.post(
        f"/customers/{customer.id}/edit",
        data={"csrf_token": csrf_token(html), "name": " ", "phones": "13800138000"},
        headers=EN,
    )
    assert response.status_code == 422
    assert "This field is required." in response.text


def test_edit_saves_and_is_audited(signed_in, db, customer):
    html = page(signed_in, customer.id).text
    response = signed_in.post(
        f"/customers/{customer.id}/edit",
        data={
            "csrf_token": csrf_token(html),
            "name": "王小明",
            "company": "乙公司",
            "phones": "138 0013 8000, 13700137000",
            "email": "Wang@Example.com",
            "timezone": "Asia/Shanghai",
            "stage": "interested",
            "tags": "vip",
            "do_not_call": "1",
            "dnc_reason": "客户要求",
        },
    )
    assert response.status_code == 302
    with db() as session:
        stored = session.get(Customer, customer.id)
        assert (stored.company, stored.email, stored.stage.value) == (
            "乙公司",
            "wang@example.com",
            "interested",
        )
        assert [p.e164 for p in stored.phones] == ["+8613800138000", "+8613700137000"]
        assert stored.tags == ["vip"]
        assert (stored.consent, stored.do_not_call) == (False, True)
        updates = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
        assert len(updates) == 1
    html = page(signed_in, customer.id).text
    assert "tel:" not in html  # on the do-not-call list now


def test_duplicate_phone_is_shown_on_the_phones_field(signed_in, customer, make_customer, agent):
    make_customer(actor=agent, name="另一个", phone="13700137000")
    html = page(signed_in, customer.id).text
    response = signed_in.post(
        f"/customers/{customer.id}/edit",
        data={"csrf_token": csrf_token(html), "name": "王小明", "phones": "13700137000"},
        headers=EN,
    )
    assert response.status_code == 422
    assert "Same phone number as customer" in response.text


def test_note_with_script_is_escaped(signed_in, db, customer):
    html = page(signed_in, customer.id).text
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = signed_in.post(
        f"/customers/{customer.id}/notes", data={"csrf_token": csrf_token(html), "text": evil}
    )
    assert response.status_code == 302
    shown = page(signed_in, customer.id).text
    assert "<script>alert" not in shown
    assert "<img src=x" not in shown
    assert "&lt;script&gt;alert(" in shown


def test_empty_note_is_an_error_on_the_page(signed_in, db, customer):
    html = page(signed_in, customer.id).text
    response = signed_in.post(
        f"/customers/{customer.id}/notes",
        data={"csrf_token": csrf_token(html), "text": "  "},
        headers=EN,
    )
    assert response.status_code == 422
    assert "A note needs some text." in response.text
    with db() as session:
        assert count(session, Activity) == 0


def test_click_to_call_logs_an_outbound_call(signed_in, db, customer, agent):
    with db() as session:
        session.get(Customer, customer.id).timezone = midday_zone()
    html = page(signed_in, customer.id).text
    response = signed_in.post(
        f"/customers/{customer.id}/call", data={"csrf_token": csrf_token(html)}
    )
    assert response.status_code == 302
    with db() as session:
        call = session.scalars(select(Call).order_by(Call.id.desc())).first()
        assert (call.direction, call.agent_id, call.disposition) == (
            CallDirection.OUTBOUND,
            agent.id,
            None,
        )
        assert call.number == "+8613800138000"


def test_click_to_call_refuses_do_not_call_customers(signed_in, db, customer):
    with db() as session:
        session.get(Customer, customer.id).do_not_call = True
        calls_before = count(session, Call)
    html = page(signed_in, customer.id).text
    assert "Log an outbound call now" not in html
    response = signed_in.post(
        f"/customers/{customer.id}/call",
        data={"csrf_token": csrf_token(html)},
        follow_redirects=True,
        headers=EN,
    )
    assert "do-not-call list" in response.text
    with db() as session:
        assert count(session, Call) == calls_before


def test_the_page_needs_sign_in(client, customer):
    response = client.get(f"/customers/{customer.id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.fixture
def csrf_app(runtime):
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": True}, runtime=runtime)


def test_forged_posts_without_csrf_are_refused(csrf_app, db, customer, agent):
    client = csrf_app.test_client()
    assert sign_in(client, "zhangwei").status_code == 302
    for path, data in [
        ("edit", {"name": "被篡改"}),
        ("notes", {"text": "forged"}),
        ("call", {}),
    ]:
        for token in [None, "", "forged"]:
            body = dict(data) if token is None else {**data, "csrf_token": token}
            response = client.post(f"/customers/{customer.id}/{path}", data=body)
            assert response.status_code == 400, (path, token)
    with db() as session:
        assert session.get(Customer, customer.id).name == "王小明"
        assert count(session, Activity) == 0
        assert count(session, Call) == 1  # the fixture's call only


def test_note_errors_are_in_the_readers_language(signed_in, db, customer):
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    html = signed_in.get(f"/customers/{customer.id}", headers=zh).text
    response = signed_in.post(
        f"/customers/{customer.id}/notes",
        data={"csrf_token": csrf_token(html), "text": "  "},
        headers=zh,
    )
    assert response.status_code == 422
    assert "备注不能为空。" in response.text
    assert "A note needs some text." not in response.text
    too_long = signed_in.post(
        f"/customers/{customer.id}/notes",
        data={"csrf_token": csrf_token(html), "text": "长" * 20_001},
        headers=zh,
    )
    assert too_long.status_code == 422
    assert re.search(r"备注最多 [\d,]+ 个字符。", too_long.text)
    with db() as session:
        assert count(session, Activity) == 0
