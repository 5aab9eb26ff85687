"""The services' English validation messages are shown in the reader's language."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, sign_in
from web.service_messages import localize


@pytest.mark.parametrize(
    ("message", "chinese"),
    [
        ("This field is required.", "此项为必填项。"),
        ("'12345' is not a valid phone number.", "'12345' 不是有效的电话号码。"),
        ("At most 200 characters.", "最多 200 个字符。"),
        (
            "Same phone as row 2 of this file (customer #7).",
            "与本文件第 2 行的电话号码相同（客户 #7）。",
        ),
        ("Customer #3 (王芳) already has this email.", "客户 #3（王芳）已使用此邮箱地址。"),
        ("Something nobody translated.", "Something nobody translated."),
    ],
)
def test_known_messages_are_translated_and_others_kept(app, message, chinese):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert localize(message) == chinese
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert localize(message).startswith(message.split(" ")[0]) or message.startswith("'")


def test_the_create_form_shows_chinese_errors(client, make_user):
    make_user("agent", username="zh_agent", team="East", password=PASSWORD)
    sign_in(client, "zh_agent")
    headers = {"Accept-Language": "zh-CN"}
    form = client.get("/customers/new", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    bad = client.post(
        "/customers/new",
        data={"csrf_token": token, "name": "", "phone": "12345"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "此项为必填项。" in bad.text
    assert "不是有效的电话号码" in bad.text
    assert "is not a valid phone number" not in bad.text
