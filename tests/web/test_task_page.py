"""The task page through the Flask test client: form from JSON Schema, validation, customer
panel, completion, and the 404/409 cases."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from crm.calls import log_call
from crm.deals import create_deal
from crm.models import AuditEntry, Call, Customer, Team, User
from crm.notes import add_note
from tests.conftest import PASSWORD, count, midday_zone, sign_in
from tests.web.test_pages import EN, ZH, csrf_token

VALID = {
    "field:outcome": "interested",
    "field:interest": "4",
    "field:budget": "12500.5",
    "field:callback_at": "2026-05-06T14:30",
    "field:visit_on": "2026-05-08",
    "field:channel": "wechat",
    "field:wants_brochure": "1",
    "field:contact_name": "王经理",
    "field:notes": "客户想先看资料。",
}


@pytest.fixture
def customer(desk, make_customer) -> Customer:
    return make_customer(actor=desk.agent, name="王芳", phone="13800138000")


@pytest.fixture
def call_task(desk, customer, client) -> str:
    instance = desk.start_call(customer.id)
    assert sign_in(client, "li").status_code == 302
    return instance["ready_tasks"][0]["id"]


def field_html(page: str, name: str) -> str:
    found = re.search(
        rf'<div class="field[^"]*" data-field="{name}">(.*?)\n      </div>', page, re.S
    )
    assert found, f"no field {name}"
    return found.group(1)


def submit(client, task_id: str, data: dict[str, str], headers=None):
    page = client.get(f"/tasks/{task_id}", headers=headers)
    return client.post(
        f"/tasks/{task_id}",
        data={**data, "csrf_token": csrf_token(page.text)},
        headers=headers,
    )


def test_form_has_one_input_per_field_kind(client, call_task):
    page = client.get(f"/tasks/{call_task}")
    assert page.status_code == 200
    html = page.text
    outcome = field_html(html, "outcome")
    assert '<select id="field-0" name="field:outcome" required>' in outcome
    assert '<option value="no_answer">未接通</option>' in outcome
    assert "通话结果" in outcome and 'class="req"' in outcome
    interest = field_html(html, "interest")
    assert 'type="number"' in interest
    assert 'step="1" min="1" max="5"' in interest and "required" in interest
    assert 'step="any"' in field_html(html, "budget")
    assert 'type="datetime-local"' in field_html(html, "callback_at")
    assert 'type="date"' in field_html(html, "visit_on")
    channel = field_html(html, "channel")
    assert '<option value="wechat">微信</option>' in channel
    assert "required" not in channel
    assert 'type="checkbox"' in field_html(html, "wants_brochure")
    assert 'maxlength="40"' in field_html(html, "contact_name")
    assert "<textarea" in field_html(html, "notes")
    assert "Call the lead and record what they said." in html  # instructions


def test_customer_panel_shows_the_owner_the_number_to_call(client, desk, customer, call_task, db):
    with db() as session:
        for index in range(7):
            log_call(
                session,
                customer.id,
                {"disposition": "no_answer", "notes": f"第{index}次未接通", "duration_s": 5},
                actor=session.get(User, desk.agent.id),
            )
        add_note(session, customer.id, "客户偏好下午联系", actor=session.get(User, desk.agent.id))
        create_deal(
            session,
            customer.id,
            {"title": "年度套餐", "amount": "12345"},
            actor=session.get(User, desk.agent.id),
        )
    page = client.get(f"/tasks/{call_task}", headers=ZH).text
    assert "王芳" in page
    assert 'href="tel:+8613800138000"' in page
    assert 'href="/customers/' in page
    assert page.count("次未接通") == 5  # the last five calls only
    assert "第6次未接通" in page and "第1次未接通" not in page
    assert "客户偏好下午联系" in page
    assert "¥12,345.00" in page


def test_customer_panel_masks_a_number_the_viewer_may_not_see(
    client, desk, make_user, make_customer
):
    """A manager of another team may look at the task, but is neither the customer's owner,
    their manager, nor dialing them: the number stays masked."""
    rival = make_user("agent", username="rival", team="West")
    make_user("manager", username="north", team="North", password=PASSWORD)
    theirs = make_customer(actor=rival, name="别人的客户", phone="13912345678")
    instance = desk.start_call(theirs.id)
    sign_in(client, "north")
    page = client.get(f"/tasks/{instance['ready_tasks'][0]['id']}").text
    assert "别人的客户" in page
    assert "139****5678" in page
    assert "tel:" not in page
    assert "13912345678" not in re.sub(r"\s", "", page)
    assert f'href="/customers/{theirs.id}"' not in page  # not a record they may open


def switch_to(client, username: str) -> None:
    token = csrf_token(client.get("/inbox").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert sign_in(client, username).status_code == 302


def test_the_assignee_dialing_a_customer_sees_the_number_until_the_task_is_reassigned(
    client, desk, db, make_user, make_customer
):
    rival = make_user("agent", username="rival", team="West")
    make_user("agent", username="wang", team="East", password=PASSWORD)
    make_user("manager", username="boss", team="East", password=PASSWORD)
    theirs = make_customer(actor=rival, name="别人的客户", phone="13912345678")
    with db() as session:  # inside the calling window whenever the test runs
        session.get(Customer, theirs.id).timezone = midday_zone()
    task_id = desk.start_call(theirs.id)["ready_tasks"][0]["id"]

    sign_in(client, "li")  # li holds the open call task: li is dialing them
    page = client.get(f"/tasks/{task_id}").text
    assert 'href="tel:+8613912345678"' in page
    assert f'href="/customers/{theirs.id}"' not in page  # the record itself stays private

    switch_to(client, "boss")
    with db() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == "East"))
        wang_id = session.scalar(select(User.id).where(User.username == "wang"))
    board = client.get(f"/team?team={team_id}")
    response = client.post(
        f"/team/{team_id}/tasks/{task_id}/reassign",
        data={"user": str(wang_id), "csrf_token": csrf_token(board.text)},
    )
    assert response.status_code == 302

    switch_to(client, "wang")
    page = client.get(f"/tasks/{task_id}").text
    assert 'href="tel:+8613912345678"' in page
    assert 'id="log-call-form"' in page and "sendBeacon" in page
    assert f'href="/customers/{theirs.id}"' not in page
    response = client.post(
        f"/customers/{theirs.id}/call",
        data={"csrf_token": csrf_token(page), "next": f"/tasks/{task_id}"},
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/tasks/{task_id}"
    with db() as session:
        calls = session.scalars(select(Call).where(Call.customer_id == theirs.id)).all()
        assert [(c.agent_id, c.direction.value) for c in calls] == [(wang_id, "outbound")]

    switch_to(client, "li")  # no longer the assignee: no longer dialing them
    page = client.get(f"/tasks/{task_id}").text
    assert "139****5678" in page
    assert "tel:" not in page and 'id="log-call-form"' not in page
    response = client.post(f"/customers/{theirs.id}/call", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404
    with db() as session:
        assert count(session, Call) == 1


def test_the_task_page_logs_the_call_for_the_owner_and_comes_back(
    client, desk, customer, call_task, db
):
    with db() as session:  # inside the calling window whenever the test runs
        session.get(Customer, customer.id).timezone = midday_zone()
    page = client.get(f"/tasks/{call_task}", headers=EN).text
    form = re.search(
        r'<form method="post" action="([^"]+)" id="log-call-form">(.*?)</form>', page, re.S
    )
    assert form, page
    assert form.group(1) == f"/customers/{customer.id}/call"
    data = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    response = client.post(form.group(1), data=data, headers=EN)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/tasks/{call_task}"
    with db() as session:
        call = session.scalars(select(Call).where(Call.customer_id == customer.id)).one()
        assert call.agent_id == desk.agent.id
        assert call.direction.value == "outbound"
    assert "The outbound call was logged" in client.get(f"/tasks/{call_task}", headers=EN).text


def test_showing_the_customer_panel_is_audited(client, desk, customer, call_task, db):
    def views():
        with db() as session:
            return session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "view", AuditEntry.source == "web_task"
                )
            ).all()

    assert views() == []
    assert client.get(f"/tasks/{call_task}").status_code == 200
    entries = views()
    assert [(e.actor_id, e.entity_type, e.entity_id) for e in entries] == [
        (desk.agent.id, "customer", str(customer.id))
    ]


def test_do_not_call_customer_has_no_call_link(client, desk, make_customer, db):
    blocked = make_customer(actor=desk.agent, name="勿扰客户", phone="13700137000")
    with db() as session:
        session.get(Customer, blocked.id).do_not_call = True
    instance = desk.start_call(blocked.id)
    sign_in(client, "li")
    page = client.get(f"/tasks/{instance['ready_tasks'][0]['id']}", headers=EN).text
    assert "tel:" not in page
    assert "Do not call" in page


def test_missing_required_field_is_shown_beside_it_and_input_is_kept(client, call_task):
    data = {k: v for k, v in VALID.items() if k != "field:outcome"}
    response = submit(client, call_task, data, headers=EN)
    assert response.status_code == 422
    assert "This field is required." in field_html(response.text, "outcome")
    assert "This field is required." not in field_html(response.text, "interest")
    assert 'value="王经理"' in response.text
    assert 'value="2026-05-06T14:30"' in response.text
    assert "客户想先看资料。</textarea>" in response.text
    assert '<option value="wechat" selected>' in response.text
    assert re.search(r'name="field:wants_brochure" value="1" checked', response.text)


def test_server_checks_limits_the_browser_was_told_about(client, call_task):
    response = submit(client, call_task, {**VALID, "field:interest": "9"}, headers=EN)
    assert response.status_code == 422
    assert "Enter a value of at most 5." in field_html(response.text, "interest")
    assert 'value="9"' in response.text


def test_limits_html_cannot_express_are_checked_by_the_server(client, call_task):
    response = submit(client, call_task, {**VALID, "field:budget": "0"}, headers=EN)
    assert response.status_code == 422
    assert "Enter a value greater than 0." in field_html(response.text, "budget")


def test_values_that_are_not_numbers_or_dates_are_reported_together(client, call_task):
    data = {**VALID, "field:budget": "lots", "field:callback_at": "tomorrow"}
    del data["field:outcome"]
    response = submit(client, call_task, data, headers=EN)
    assert response.status_code == 422
    assert "Enter a number." in field_html(response.text, "budget")
    assert "Enter a date and time." in field_html(response.text, "callback_at")
    assert "This field is required." in field_html(response.text, "outcome")
    assert 'value="lots"' in response.text


def test_an_option_outside_the_list_is_refused(client, call_task):
    response = submit(client, call_task, {**VALID, "field:channel": "fax"}, headers=EN)
    assert response.status_code == 422
    assert "Choose one of the options." in field_html(response.text, "channel")


def test_complete_converts_types_and_returns_to_the_inbox(client, desk, call_task, db):
    with db() as session:  # the team works from Berlin: its offset goes with the time typed
        session.query(Team).filter_by(name="East").one().timezone = "Europe/Berlin"
    response = submit(client, call_task, VALID, headers=EN)
    assert response.status_code == 302, response.text
    assert urlsplit(response.headers["Location"]).path == "/inbox"
    inbox = client.get("/inbox", headers=EN).text
    assert "Task “记录通话结果” completed." in inbox
    assert call_task not in inbox
    found = client.get(
        "/api/v1/process-instances?process_id=workspace_call", headers=desk.agent_api
    ).get_json()["items"]
    data = client.get(
        f"/api/v1/process-instances/{found[0]['id']}", headers=desk.agent_api
    ).get_json()
    assert data["status"] == "completed"
    values = data["data"]
    assert values["outcome"] == "interested"
    assert values["interest"] == 4 and isinstance(values["interest"], int)
    assert values["budget"] == 12500.5
    assert values["callback_at"] == "2026-05-06T14:30:00+02:00"
    assert values["visit_on"] == "2026-05-08"
    assert values["channel"] == "wechat"
    assert values["wants_brochure"] is True
    assert values["notes"] == "客户想先看资料。"


def test_unchecked_checkbox_is_false_and_empty_optional_fields_are_none(client, desk, call_task):
    data = {k: VALID[k] for k in ("field:outcome", "field:interest", "field:callback_at")}
    data["field:budget"] = ""
    assert submit(client, call_task, data).status_code == 302
    found = client.get(
        "/api/v1/process-instances?process_id=workspace_call", headers=desk.agent_api
    ).get_json()["items"]
    values = client.get(
        f"/api/v1/process-instances/{found[0]['id']}", headers=desk.agent_api
    ).get_json()["data"]
    assert values["wants_brochure"] is False
    # left out by the page; the engine gives every form field a value (its default or None)
    assert values["budget"] is None and values["notes"] is None
    assert values["callback_at"] == "2026-05-06T14:30:00+08:00"


def test_completed_task_says_so_with_409(client, call_task):
    token_page = client.get(f"/tasks/{call_task}")
    assert submit(client, call_task, VALID).status_code == 302
    again = client.get(f"/tasks/{call_task}", headers=EN)
    assert again.status_code == 409
    assert "This task is already closed." in again.text
    assert "Completed by li" in again.text
    assert 'id="task-form"' not in again.text
    repeat = client.post(
        f"/tasks/{call_task}", data={**VALID, "csrf_token": csrf_token(token_page.text)}
    )
    assert repeat.status_code == 409


def test_task_of_someone_else_is_404(client, desk, make_user, customer):
    instance = desk.start_call(customer.id)  # assigned to li, the starter
    make_user("agent", username="zhao", team="East", password=PASSWORD)
    sign_in(client, "zhao")
    task_id = instance["ready_tasks"][0]["id"]
    assert client.get(f"/tasks/{task_id}").status_code == 404
    page = client.get("/inbox")
    response = client.post(f"/tasks/{task_id}", data={**VALID, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 404


def test_unknown_and_silly_task_ids_are_404(client, desk):
    sign_in(client, "li")
    assert client.get("/tasks/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/tasks/" + "x" * 500).status_code == 404


def test_task_page_needs_sign_in(client, call_task):
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/inbox").text)})
    response = client.get(f"/tasks/{call_task}")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_completing_needs_the_csrf_token(client, call_task):
    assert client.post(f"/tasks/{call_task}", data=VALID).status_code == 400
    assert client.get(f"/tasks/{call_task}").status_code == 200  # still open


def test_task_without_customer_or_form(client, desk):
    instance = desk.start_queue(review_due="2026-05-04T09:00:00+08:00")
    sign_in(client, "li")
    task_id = next(t for t in instance["ready_tasks"] if t["name"] == "review_lead")["id"]
    page = client.get(f"/tasks/{task_id}", headers=EN)
    assert page.status_code == 200
    assert "This task is not about a customer." in page.text
    assert "This task has no form" in page.text
    response = submit(client, task_id, {})
    assert response.status_code == 302


def test_the_task_links_its_process_instance_for_those_who_watch_processes(
    client, desk, customer, call_task, make_user
):
    page = client.get(f"/tasks/{call_task}").text  # the agent: no process pages for them
    assert 'id="instance-link"' not in page
    make_user("manager", username="watcher", team="North", password=PASSWORD)
    switch_to(client, "watcher")
    page = client.get(f"/tasks/{call_task}").text
    link = re.search(r'<a href="(/process-instances/\d+)" id="instance-link">', page)
    assert link, "no link to the instance"
    assert client.get(link.group(1)).status_code == 200
