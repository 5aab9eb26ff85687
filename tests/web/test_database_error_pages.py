"""The browser's page for a database that failed the request: a lost connection (``503
database_unavailable``) says so in the reader's language, not that others are changing the
same records (``503 database_busy``), which stays the busy page's text."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import web.customers
from tests.conftest import sign_in
from tests.web.test_pages import EN, ZH


class _Lost(Exception):
    sqlstate = "57P01"  # terminating connection due to administrator command


class _Deadlock(Exception):
    sqlstate = "40P01"


def _failing(error: OperationalError) -> Any:
    def search(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return search


LOST = OperationalError("SELECT customers", {}, _Lost(), connection_invalidated=True)
DEADLOCK = OperationalError("SELECT customers", {}, _Deadlock())


@pytest.mark.parametrize(
    ("headers", "lost_text", "busy_text"),
    [
        (
            EN,
            "The connection to the database was lost",
            "Others are changing the same records right now.",
        ),
        (ZH, "与数据库的连接中断了", "其他人正在修改相同的记录"),
    ],
    ids=["en", "zh_CN"],
)
def test_a_lost_connection_has_its_own_page_text(
    client, desk, monkeypatch, headers, lost_text, busy_text
):
    sign_in(client, "li")
    monkeypatch.setattr(web.customers, "search_customers", _failing(LOST))
    lost = client.get("/customers", headers=headers)
    assert lost.status_code == 503
    assert lost.headers["Retry-After"]
    assert lost_text in lost.text
    assert busy_text not in lost.text

    monkeypatch.setattr(web.customers, "search_customers", _failing(DEADLOCK))
    busy = client.get("/customers", headers=headers)
    assert busy.status_code == 503
    assert busy_text in busy.text
    assert lost_text not in busy.text


@pytest.mark.parametrize(
    ("headers", "unknown_text"),
    [
        (EN, "they may or may not have been saved. Reload the page"),
        (ZH, "修改可能已保存，也可能没有。请先刷新页面查看"),
    ],
    ids=["en", "zh_CN"],
)
def test_a_connection_lost_during_the_commit_says_the_outcome_is_unknown(
    client, desk, monkeypatch, headers, unknown_text
):
    sign_in(client, "li")
    lost = OperationalError("COMMIT", {}, _Lost(), connection_invalidated=True)
    lost.commit_unknown = True  # what the unit of work marks once its COMMIT was sent
    monkeypatch.setattr(web.customers, "search_customers", _failing(lost))
    page = client.get("/customers", headers=headers)
    assert page.status_code == 503
    assert page.headers["Retry-After"]
    assert unknown_text in page.text
    assert "most likely not saved" not in page.text and "很可能没有保存" not in page.text
