"""Language: the user's saved choice, else the browser's; dates and money per locale."""

from __future__ import annotations

from crm.deals import create_deal
from crm.models import User
from tests.conftest import PASSWORD, sign_in
from tests.web.test_pages import EN, ZH, csrf_token


def saved_locale(db, username: str) -> str | None:
    with db() as session:
        return session.query(User).filter_by(username=username).one().locale


def test_without_a_saved_choice_the_browser_decides(client, desk):
    sign_in(client, "li")
    assert "退出" in client.get("/inbox", headers=ZH).text
    assert "Sign out" in client.get("/inbox", headers=EN).text


def test_account_page_saves_the_language_and_it_beats_the_browser(client, desk, db):
    sign_in(client, "li")
    page = client.get("/account", headers=ZH)
    assert page.status_code == 200
    assert 'name="locale" value="en"' in page.text
    response = client.post(
        "/account", data={"locale": "en", "csrf_token": csrf_token(page.text)}, headers=ZH
    )
    assert response.status_code == 302
    assert saved_locale(db, "li") == "en"
    english = client.get("/account", headers=ZH).text
    assert "Your settings were saved." in english
    assert "Sign out" in english and 'lang="en"' in english

    other = client.application.test_client()  # another browser, signed in afresh
    sign_in(other, "li")
    assert "Sign out" in other.get("/inbox", headers=ZH).text


def test_header_switch_saves_the_choice_for_a_signed_in_user(client, desk, db):
    sign_in(client, "li")
    page = client.get("/inbox", headers=EN)
    client.post(
        "/language",
        data={"locale": "zh_CN", "next": "/inbox", "csrf_token": csrf_token(page.text)},
        headers=EN,
    )
    assert saved_locale(db, "li") == "zh_CN"
    assert "退出" in client.get("/inbox", headers=EN).text


def test_unknown_language_on_the_account_page_changes_nothing(client, desk, db):
    sign_in(client, "li")
    page = client.get("/account", headers=EN)
    response = client.post(
        "/account", data={"locale": "tlh", "csrf_token": csrf_token(page.text)}, headers=EN
    )
    assert response.status_code == 422
    assert "Unknown language." in response.text
    assert saved_locale(db, "li") is None


def test_account_page_needs_csrf_and_sign_in(client, desk, db):
    assert client.get("/account").status_code == 302
    sign_in(client, "li")
    assert client.post("/account", data={"locale": "en"}).status_code == 400
    assert saved_locale(db, "li") is None


def test_dates_and_money_follow_the_language(client, desk, make_customer, db):
    customer = make_customer(actor=desk.agent, name="钱多多", phone="13800138009")
    with db() as session:
        create_deal(
            session,
            customer.id,
            {"title": "旗舰版", "amount": "1234567.5"},
            actor=session.get(User, desk.agent.id),
        )
    desk.start_queue(
        review_due="2026-05-04T09:30:00+08:00", callback_due="2026-05-04T10:00:00+08:00"
    )
    task = desk.start_call(customer.id)["ready_tasks"][0]["id"]
    sign_in(client, "li")
    zh_inbox = client.get("/inbox?kind=claimable", headers=ZH).text
    en_inbox = client.get("/inbox?kind=claimable", headers=EN).text
    assert "2026/5/4 09:30" in zh_inbox
    assert "5/4/26, 9:30" in en_inbox
    assert "¥1,234,567.50" in client.get(f"/tasks/{task}", headers=ZH).text
    assert "CN¥1,234,567.50" in client.get(f"/tasks/{task}", headers=EN).text


def test_times_are_shown_in_the_team_time_zone(client, desk, db):
    from crm.models import Team

    with db() as session:
        session.query(Team).filter_by(name="East").one().timezone = "Europe/London"
    desk.start_queue(
        review_due="2026-05-04T09:30:00+08:00", callback_due="2026-05-04T10:00:00+08:00"
    )
    sign_in(client, "li", PASSWORD)
    page = client.get("/inbox?kind=claimable", headers=EN).text
    assert "5/4/26, 2:30" in page  # 09:30 in Shanghai is 02:30 in London (BST)
    assert "Europe/London" in page
