"""Browser pages through the Flask test client: health, sign-in, CSRF, customers, language."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.conftest import PASSWORD, sign_in
from web import create_app

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def location_path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def compact(html: str) -> str:
    """The page without the separators phone numbers may be displayed with."""
    return re.sub(r"[\s\-()+]", "", html)


def is_signed_in(client) -> bool:
    return client.get("/customers").status_code == 200


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="zhangwei", password=PASSWORD)


# --- health ---------------------------------------------------------------------------------


def test_healthz_reports_database_and_embedded_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "database": "ok", "broker": "embedded"}


def test_healthz_reports_an_unreachable_database_with_503(tmp_path):
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
            "DIALFLOW_ENV": "test",
            "SECRET_KEY": "x" * 32,
        }
    )
    runtime = Runtime.build(settings)
    try:
        response = create_app({"TESTING": True}, runtime=runtime).test_client().get("/healthz")
    finally:
        runtime.close()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error"
    assert body["database"].startswith("error")


# --- sign in and out ------------------------------------------------------------------------


def test_root_leads_to_the_customers_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert location_path(response) == "/customers"


def test_customers_page_redirects_anonymous_users_to_sign_in(client):
    response = client.get("/customers?q=abc")
    assert response.status_code == 302
    assert location_path(response) == "/login"
    assert "next=" in response.headers["Location"]


def test_sign_in_page_renders_a_form(client):
    response = client.get("/login", headers=EN)
    assert response.status_code == 200
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text
    assert csrf_token(response.text)


def test_wrong_password_shows_an_error_and_does_not_sign_in(client, agent):
    response = sign_in(client, "zhangwei", "wrong-password")
    assert response.status_code == 401
    assert 'role="alert"' in response.text
    assert "用户名或密码错误" in response.text or "Wrong username or password" in response.text
    assert not is_signed_in(client)


def test_unknown_user_gets_the_same_error(client, agent):
    wrong_password = sign_in(client, "zhangwei", "wrong-password")
    unknown_user = sign_in(client, "nobody", PASSWORD)
    assert unknown_user.status_code == wrong_password.status_code == 401
    assert re.search(r'role="alert">([^<]+)<', unknown_user.text).group(1) == re.search(
        r'role="alert">([^<]+)<', wrong_password.text
    ).group(1)


def test_right_password_signs_in_and_redirects(client, agent):
    response = sign_in(client, "zhangwei")
    assert response.status_code == 302
    assert location_path(response) in ("/", "/customers", "/inbox")
    assert is_signed_in(client)
    # signed in, the sign-in page sends you on
    assert client.get("/login").status_code == 302


def test_inactive_user_cannot_sign_in(client, db, agent):
    from crm.models import User

    with db() as session:
        session.get(User, agent.id).active = False
    assert sign_in(client, "zhangwei").status_code == 401
    assert not is_signed_in(client)


def test_sign_in_returns_to_the_page_asked_for(client, agent):
    page = client.get("/login?next=/customers?q=abc")
    response = client.post(
        "/login?next=/customers?q=abc",
        data={"username": "zhangwei", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/customers?q=abc")


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com/x"])
def test_sign_in_never_redirects_off_site(client, agent, target):
    page = client.get("/login")
    response = client.post(
        f"/login?next={target}",
        data={"username": "zhangwei", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    assert "evil.example.com" not in response.headers["Location"]
    assert location_path(response) in ("/", "/customers", "/inbox")


def test_sign_in_without_a_valid_csrf_token_is_refused(client, agent, subtests):
    client.get("/login")
    for extra in [{}, {"csrf_token": ""}, {"csrf_token": "forged"}]:
        with subtests.test(csrf=extra):
            response = client.post(
                "/login", data={"username": "zhangwei", "password": PASSWORD, **extra}
            )
            assert response.status_code == 400
            assert not is_signed_in(client)


def test_sign_in_with_empty_fields_is_not_an_error_page(client):
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code in (200, 400, 401, 422)
    assert not is_signed_in(client)


def test_sign_out(client, agent):
    sign_in(client, "zhangwei")
    page = client.get("/customers")
    response = client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert location_path(response) == "/login"
    assert not is_signed_in(client)


def test_sign_out_without_csrf_token_is_refused(client, agent):
    sign_in(client, "zhangwei")
    assert client.post("/logout").status_code == 400
    assert is_signed_in(client)


# --- customers page -------------------------------------------------------------------------


@pytest.fixture
def book(make_user, make_customer, agent):
    admin = make_user("admin")
    rival = make_user("agent", username="rival")
    make_customer(actor=agent, name="我的客户甲", phone="13800138000")
    make_customer(actor=agent, name="我的客户乙", phone="13700137000")
    make_customer(actor=admin, name="公海客户丙", phone="13912345678")
    make_customer(actor=rival, name="别人的客户丁", phone="13600136000")
    return {"admin": admin, "rival": rival}


def test_customers_page_lists_own_and_pool_customers_only(client, book):
    sign_in(client, "zhangwei")
    page = client.get("/customers", headers=ZH)
    assert page.status_code == 200
    assert "我的客户甲" in page.text
    assert "我的客户乙" in page.text
    assert "公海客户丙" in page.text
    assert "别人的客户丁" not in page.text
    assert "13600136000" not in compact(page.text)
    assert "136****6000" not in page.text


def test_own_phones_are_shown_and_pool_phones_are_masked(client, book):
    sign_in(client, "zhangwei")
    page = client.get("/customers").text
    assert "13800138000" in compact(page)
    assert "139****5678" in page
    assert "13912345678" not in compact(page)


def test_admin_sees_every_customer_and_every_number(client, book, make_user):
    make_user("admin", username="root", password=PASSWORD)
    sign_in(client, "root")
    page = client.get("/customers").text
    for name in ("我的客户甲", "我的客户乙", "公海客户丙", "别人的客户丁"):
        assert name in page
    assert "13912345678" in compact(page)
    assert "13600136000" in compact(page)
    assert "****" not in page


SEARCHES = [
    ("甲", {"我的客户甲"}, {"我的客户乙", "公海客户丙"}),
    ("138-0013-8000", {"我的客户甲"}, {"我的客户乙", "公海客户丙"}),
    ("5678", {"公海客户丙"}, {"我的客户甲", "我的客户乙"}),
    ("丁", set(), {"别人的客户丁", "我的客户甲"}),
]


def test_search_box_filters_the_list(client, book, subtests):
    sign_in(client, "zhangwei")
    for q, shown, hidden in SEARCHES:
        with subtests.test(q=q):
            page = client.get("/customers", query_string={"q": q}, headers=EN)
            assert page.status_code == 200
            assert f'value="{q}"' in page.text
            for name in shown:
                assert name in page.text
            for name in hidden:
                assert name not in page.text
            if not shown:
                assert "No customer matches" in page.text


def test_search_text_is_escaped(client, book):
    sign_in(client, "zhangwei")
    page = client.get("/customers", query_string={"q": '<script>alert("x")</script>'})
    assert page.status_code == 200
    assert "<script>alert" not in page.text


def test_bad_page_number_is_not_an_error(client, book):
    sign_in(client, "zhangwei")
    assert client.get("/customers?page=abc").status_code == 200
    assert client.get("/customers?page=-3").status_code == 200
    assert client.get("/customers?page=99").status_code == 200


def test_huge_page_number_is_not_a_500(client, book):
    sign_in(client, "zhangwei")
    assert client.get(f"/customers?page={10**20}").status_code < 500


# --- language -------------------------------------------------------------------------------


def test_chinese_from_accept_language(client, agent):
    assert "登录" in client.get("/login", headers=ZH).text
    sign_in(client, "zhangwei")
    page = client.get("/customers", headers=ZH)
    assert "客户" in page.text
    assert "退出" in page.text
    assert 'lang="zh-CN"' in page.text


def test_english_from_accept_language(client, agent):
    login = client.get("/login", headers=EN).text
    assert "Sign in" in login
    assert "登录" not in login
    sign_in(client, "zhangwei")
    page = client.get("/customers", headers=EN).text
    assert "Customers" in page
    assert "Sign out" in page
    assert 'lang="en"' in page


def test_chinese_is_the_default_without_accept_language(client):
    assert "登录" in client.get("/login").text


def test_language_switcher_overrides_the_browser(client, agent):
    sign_in(client, "zhangwei")
    page = client.get("/customers", headers=ZH)
    assert "退出" in page.text
    response = client.post(
        "/language",
        data={"locale": "en", "next": "/customers", "csrf_token": csrf_token(page.text)},
        headers=ZH,
    )
    assert response.status_code == 302
    assert location_path(response) == "/customers"
    english = client.get("/customers", headers=ZH).text
    assert "Sign out" in english
    assert "退出" not in english

    client.post(
        "/language",
        data={"locale": "zh_CN", "next": "/customers", "csrf_token": csrf_token(english)},
    )
    assert "退出" in client.get("/customers", headers=EN).text


def test_language_switcher_works_before_sign_in(client):
    page = client.get("/login", headers=EN)
    client.post("/language", data={"locale": "zh_CN", "csrf_token": csrf_token(page.text)})
    assert "登录" in client.get("/login", headers=EN).text


def test_language_switcher_needs_csrf_token(client):
    client.get("/login", headers=ZH)
    assert client.post("/language", data={"locale": "en"}).status_code == 400
    assert "登录" in client.get("/login", headers=ZH).text


def test_unknown_language_is_ignored(client):
    page = client.get("/login", headers=ZH)
    response = client.post(
        "/language", data={"locale": "klingon", "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 302
    assert "登录" in client.get("/login", headers=ZH).text


def test_language_switcher_never_redirects_off_site(client):
    page = client.get("/login")
    response = client.post(
        "/language",
        data={
            "locale": "en",
            "next": "https://evil.example.com",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert "evil.example.com" not in response.headers["Location"]


# --- errors ---------------------------------------------------------------------------------


def test_unknown_url_gives_a_404_page(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.text


def test_unknown_url_while_signed_in_gives_a_404_page(client, agent):
    sign_in(client, "zhangwei")
    response = client.get("/customers/nothing/here")
    assert response.status_code == 404
    assert "404" in response.text


def test_wrong_method_is_405_not_500(client):
    assert client.delete("/login").status_code == 405


def test_static_stylesheet_is_served(client):
    response = client.get("/static/app.css")
    assert response.status_code == 200
    response.close()
