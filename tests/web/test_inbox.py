"""The inbox page: one queue of my tasks, my groups' claimable tasks and due callbacks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import event

from crm.models import User
from engine.inbox import InboxKind, load_inbox
from tests.conftest import PASSWORD, sign_in
from tests.web.test_pages import EN, csrf_token
from tests.web.workspace import bearer

LONG_AGO = "2026-01-05T09:00:00+08:00"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-task="([^"]+)"', html)


def tab_count(html: str, kind: str) -> int:
    found = re.search(rf'data-kind="{kind}">[^<]*<span class="tab-count">(\d+)<', html)
    assert found, kind
    return int(found.group(1))


def test_sign_in_lands_on_the_inbox(client, desk):
    response = sign_in(client, "li")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/inbox"


def test_inbox_merges_mine_claimable_and_due_callbacks_sorted_by_due(client, desk, make_customer):
    now = datetime.now(UTC)
    customer = make_customer(actor=desk.agent, name="赵敏", phone="13800138001")
    mine = desk.start_call(customer.id)["ready_tasks"][0]["id"]  # due in 2 hours
    queue = desk.start_queue(review_due=LONG_AGO, callback_due=iso(now - timedelta(minutes=5)))
    review = next(t["id"] for t in queue["ready_tasks"] if t["name"] == "review_lead")
    callback = next(t["id"] for t in queue["ready_tasks"] if t["name"] == "callback_customer")
    sign_in(client, "li")
    page = client.get("/inbox", headers=EN).text
    assert row_ids(page) == [review, callback, mine]
    assert tab_count(page, "mine") == 1
    assert tab_count(page, "claimable") == 1
    assert tab_count(page, "callback") == 1
    assert tab_count(page, "overdue") == 2
    assert re.search(rf'<tr class="overdue" data-task="{review}"', page)
    assert re.search(rf'<tr class="" data-task="{mine}"', page)
    assert f'<a href="/customers/{customer.id}">赵敏</a>' in page
    assert "记录通话结果" in page and "Review the new lead" in page
    assert 'class="badge prio prio-up" data-priority="3">3</span>' in page


def test_callbacks_due_after_today_stay_out_of_sight(client, desk):
    later = iso(datetime.now(UTC) + timedelta(days=3))
    desk.start_queue(review_due=later, callback_due=later)
    sign_in(client, "li")
    page = client.get("/inbox", headers=EN).text
    assert "Review the new lead" in page
    assert "Call back" not in page
    assert tab_count(page, "callback") == 0


def test_kind_tabs_filter_rows_but_keep_counts(client, desk, make_customer):
    customer = make_customer(actor=desk.agent, name="周芷若", phone="13800138002")
    desk.start_call(customer.id)
    desk.start_queue(review_due=LONG_AGO, callback_due=LONG_AGO)
    sign_in(client, "li")
    mine = client.get("/inbox?kind=mine", headers=EN).text
    assert len(row_ids(mine)) == 1 and "周芷若" in mine
    assert tab_count(mine, "claimable") == 1
    overdue = client.get("/inbox?kind=overdue", headers=EN).text
    assert len(row_ids(overdue)) == 2 and "周芷若" not in overdue
    assert len(row_ids(client.get("/inbox?kind=nonsense").text)) == 3


def test_other_teams_and_other_peoples_tasks_are_not_listed(client, desk, make_user, db):
    desk.start_queue(review_due=LONG_AGO, callback_due=LONG_AGO)
    desk.start_call()
    make_user("manager", username="boss", team="East", password=PASSWORD)
    sign_in(client, "boss")  # not an agent: the agent lane is not theirs
    page = client.get("/inbox", headers=EN).text
    assert row_ids(page) == []
    assert "Nothing waiting for you." in page


def test_claim_and_release_from_the_inbox(client, desk, db):
    queue = desk.start_queue(review_due=LONG_AGO, callback_due=LONG_AGO)
    review = next(t["id"] for t in queue["ready_tasks"] if t["name"] == "review_lead")
    sign_in(client, "li")
    page = client.get("/inbox", headers=EN)
    token = csrf_token(page.text)
    response = client.post(
        f"/tasks/{review}/claim",
        data={"csrf_token": token, "next": "/inbox?kind=mine"},
        headers=EN,  # the flashed message is written in the language of the POST
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inbox?kind=mine")
    page = client.get("/inbox?kind=mine", headers=EN).text
    assert review in row_ids(page)
    assert "You claimed “Review the new lead”." in page
    assert tab_count(page, "mine") == 1 and tab_count(page, "claimable") == 0
    assert f'action="/tasks/{review}/unclaim"' in page

    response = client.post(f"/tasks/{review}/unclaim", data={"csrf_token": token}, headers=EN)
    assert urlsplit(response.headers["Location"]).path == "/inbox"
    page = client.get("/inbox", headers=EN).text
    assert "is back in the group queue" in page
    assert tab_count(page, "claimable") == 1


def test_claiming_a_task_someone_else_took_is_a_message(client, desk, make_user):
    queue = desk.start_queue(review_due=LONG_AGO, callback_due=LONG_AGO)
    review = next(t["id"] for t in queue["ready_tasks"] if t["name"] == "review_lead")
    make_user("agent", username="wang", team="East", password=PASSWORD)
    other = client.application.test_client()
    sign_in(other, "wang")
    other.post(f"/tasks/{review}/claim", data={"csrf_token": csrf_token(other.get("/inbox").text)})
    sign_in(client, "li")
    token = csrf_token(client.get("/inbox").text)
    response = client.post(f"/tasks/{review}/claim", data={"csrf_token": token}, headers=EN)
    assert response.status_code == 302
    page = client.get("/inbox", headers=EN).text
    assert "Someone else is working on this task." in page
    assert review not in row_ids(page)


def test_a_group_task_claimed_by_a_colleague_leaves_my_lists(client, desk, make_user, db):
    """The inbox and ``GET /api/v1/tasks`` find group tasks through the candidates index; an
    item that is still a candidate of my group but now assigned to someone else is not mine."""
    queue = desk.start_queue(review_due=LONG_AGO, callback_due=LONG_AGO)
    review = next(t["id"] for t in queue["ready_tasks"] if t["name"] == "review_lead")
    mine = desk.start_call()["ready_tasks"][0]["id"]

    def listed(query: str) -> set[str]:
        body = client.get(f"/api/v1/tasks{query}", headers=desk.agent_api).get_json()
        assert body["total"] == len(body["items"])
        return {t["id"] for t in body["items"]}

    assert {review, mine} <= listed("")
    assert review in listed("?candidate=1") and mine not in listed("?candidate=1")
    colleague = make_user("agent", username="wang", team="East", password=PASSWORD)
    response = client.post(f"/api/v1/tasks/{review}/claim", headers=bearer(db, colleague))
    assert response.status_code == 200
    assert review not in listed("") | listed("?candidate=1") | listed("?mine=1")
    assert mine in listed("") and mine in listed("?mine=1")
    sign_in(client, "li")
    page = client.get("/inbox", headers=EN).text
    assert review not in row_ids(page) and mine in row_ids(page)


def test_claim_needs_the_csrf_token_and_a_post(client, desk):
    queue = desk.start_queue(review_due=LONG_AGO, callback_due=LONG_AGO)
    review = queue["ready_tasks"][0]["id"]
    sign_in(client, "li")
    assert client.post(f"/tasks/{review}/claim").status_code == 400
    assert client.get(f"/tasks/{review}/claim").status_code == 405
    assert tab_count(client.get("/inbox").text, "mine") == 0


def test_inbox_needs_sign_in(client):
    response = client.get("/inbox")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_inbox_cost_does_not_grow_with_the_rows(desk, make_customer, runtime):
    """Counts, rows and customer names: the same three queries for 2 rows or 12."""

    def statements() -> tuple[int, int]:
        seen: list[str] = []

        def listen(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        now = datetime.now(UTC)
        event.listen(runtime.db.engine, "before_cursor_execute", listen)
        try:
            with runtime.db.unit_of_work(read_only=True) as session:
                viewer = session.get(User, desk.agent.id)
                seen.clear()
                inbox = load_inbox(session, viewer, now=now, horizon=now + timedelta(days=1))
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", listen)
        return len(seen), len(inbox.rows)

    for index in range(2):
        customer = make_customer(actor=desk.agent, name=f"客户{index}")
        desk.start_call(customer.id)
    few, rows = statements()
    assert rows == 2
    for index in range(10):
        customer = make_customer(actor=desk.agent, name=f"客户{index + 2}")
        desk.start_call(customer.id)
    many, rows = statements()
    assert rows == 12
    assert few == many == 3


def test_non_numeric_business_keys_are_not_customers(desk, runtime, client):
    from tests.web import workspace

    workspace.start(client, desk.agent_api, "workspace_call", business_key="order-77")
    now = datetime.now(UTC)
    with runtime.db.unit_of_work(read_only=True) as session:
        inbox = load_inbox(
            session, session.get(User, desk.agent.id), now=now, horizon=now, kind=InboxKind.MINE
        )
    assert [(r.customer_id, r.customer_name) for r in inbox.rows] == [(None, None)]


def test_a_due_time_at_the_end_of_the_calendar_leaves_the_inbox_open(client, desk):
    """A "never" due time such as 9999-12-31T23:59:59Z has no Shanghai time: every inbox
    listing the task (the whole group's, for a claimable one) answered 500."""
    queue = desk.start_queue(review_due="9999-12-31T23:59:59+00:00", callback_due=LONG_AGO)
    review = next(t for t in queue["ready_tasks"] if t["name"] == "review_lead")
    assert review["due_at"] is None
    sign_in(client, "li")
    page = client.get("/inbox", headers=EN)
    assert page.status_code == 200
    assert review["id"] in row_ids(page.text)
    assert client.get(f"/tasks/{review['id']}", headers=EN).status_code == 200
