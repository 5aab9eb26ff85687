"""The Simplified Chinese catalog is complete and compiled, and pages read in Chinese."""

from __future__ import annotations

import re
from collections import Counter
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from crm.deals import create_deal, set_deal_stage
from crm.models import User
from tests.conftest import sign_in
from tests.web.test_pages import EN, ZH

TRANSLATIONS = Path(__file__).resolve().parents[2] / "web" / "translations"
ZH_PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
ZH_MO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo"
POT = TRANSLATIONS / "messages.pot"

# %(name)s / %s / %% and the {name} placeholders that the pages' scripts fill in.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|\{\w+\}")


def load(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def entries(catalog: Catalog) -> list:
    return [m for m in catalog if m.id]


def as_tuple(value: str | tuple | list) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def test_every_chinese_entry_is_translated_and_not_fuzzy():
    catalog = load(ZH_PO)
    assert len(entries(catalog)) > 300
    empty = [m.id for m in entries(catalog) if not all(as_tuple(m.string))]
    fuzzy = [m.id for m in entries(catalog) if m.fuzzy]
    assert empty == []
    assert fuzzy == []


def test_placeholders_and_markup_survive_translation():
    mismatched = []
    for m in entries(load(ZH_PO)):
        ids = as_tuple(m.id)
        for text in as_tuple(m.string):
            # Chinese has one plural form: it must carry the plural's placeholders.
            if placeholders(text) != placeholders(ids[-1]):
                mismatched.append((m.id, text))
            if re.findall(r"<[^>]+>", text) != re.findall(r"<[^>]+>", ids[-1]):
                mismatched.append((m.id, text))
    assert mismatched == []


def test_the_catalog_covers_every_extracted_message():
    keys = {(m.context, m.id) for m in entries(load(ZH_PO))}
    missing = [(m.context, m.id) for m in entries(load(POT)) if (m.context, m.id) not in keys]
    assert missing == []


def test_the_compiled_catalog_matches_the_po_file():
    """A .po edited without ``make i18n`` would leave the pages on the old .mo."""
    compiled = BytesIO()
    write_mo(compiled, load(ZH_PO))
    compiled.seek(0)
    expected = {(m.context, as_tuple(m.id)): as_tuple(m.string) for m in read_mo(compiled) if m.id}
    with ZH_MO.open("rb") as f:
        shipped = {(m.context, as_tuple(m.id)): as_tuple(m.string) for m in read_mo(f) if m.id}
    assert shipped == expected


def test_a_placeholder_check_that_can_fail():
    assert placeholders("第 %(page)s 页") != placeholders("Page %(page)s of %(pages)s")
    assert placeholders("版本 {n}") == placeholders("Version {n}")


# --- pages ----------------------------------------------------------------------------------


def visible_text(html: str) -> str:
    """The page's text without tags, scripts and attribute values (class names, URLs)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_sign_in_page_in_chinese(client):
    page = client.get("/login", headers=ZH).text
    text = visible_text(page)
    for chinese in ("登录", "用户名", "密码", "保持登录", "流程可见、可改的电销 CRM"):
        assert chinese in text
    for english in ("Sign in", "Username", "Password", "Keep me signed in"):
        assert english not in text
    assert "Sign in" in visible_text(client.get("/login", headers=EN).text)


def test_inbox_in_chinese(client, desk):
    desk.start_queue(review_due="2026-01-05T09:00:00+08:00", callback_due=None)
    sign_in(client, "li")
    text = visible_text(client.get("/inbox", headers=ZH).text)
    for chinese in ("待办", "全部", "我的任务", "可领取", "待回拨", "截止时间", "优先级", "领取"):
        assert chinese in text
    for english in ("Inbox", "My tasks", "Claimable", "Callbacks due", "Due", "Priority", "Claim"):
        assert english not in text
    assert "My tasks" in visible_text(client.get("/inbox", headers=EN).text)


def test_customers_list_in_chinese(client, desk, make_customer):
    make_customer(actor=desk.agent, name="王小明", phone="13800138001")
    sign_in(client, "li")
    page = client.get("/customers", headers=ZH).text
    text = visible_text(page)
    for chinese in ("客户", "搜索", "姓名", "电话", "阶段", "负责人", "更新时间", "新线索"):
        assert chinese in text
    assert 'placeholder="姓名、电话或邮箱"' in page
    for english in ("Customers", "Search", "Phone", "Stage", "Owner", "Updated", "New"):
        assert english not in text


def test_lead_stages_and_deal_stages_read_differently(client, desk, make_customer, db):
    """“Lost” and “Customer” mean one thing for a lead and another for a deal."""
    won = make_customer(actor=desk.agent, name="赢单客户", phone="13800138002")
    lost = make_customer(actor=desk.agent, name="流失客户", phone="13800138003", stage="lost")
    with db() as session:
        agent = session.get(User, desk.agent.id)
        deal = create_deal(session, won.id, {"title": "旗舰版"}, actor=agent)
        set_deal_stage(session, deal.id, "won", actor=agent)
        deal = create_deal(session, lost.id, {"title": "基础版"}, actor=agent)
        set_deal_stage(session, deal.id, "lost", actor=agent)
    sign_in(client, "li")
    won_page = visible_text(client.get(f"/customers/{won.id}", headers=ZH).text)
    assert "成交客户" in won_page and "赢单" in won_page
    lost_page = visible_text(client.get(f"/customers/{lost.id}", headers=ZH).text)
    assert "已流失" in lost_page and "输单" in lost_page


@pytest.mark.parametrize(
    ("headers", "expected"),
    [(ZH, "页面不存在。"), (EN, "This page does not exist.")],
)
def test_error_pages_speak_the_readers_language(client, headers, expected):
    response = client.get("/no-such-page", headers={**headers, "Accept": "text/html"})
    assert response.status_code == 404
    assert expected in response.text


def test_json_errors_keep_their_english_message(client, desk):
    sign_in(client, "li")
    response = client.get("/jobs/999999/status.json", headers={**ZH, "Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "job_not_found"
    assert response.get_json()["error"]["message"] == "No job #999999."
