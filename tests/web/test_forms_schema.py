"""Unit tests: JSON Schema → form fields, and the submitted form → typed data."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from engine.errors import FormInvalid
from engine.forms import validate_form_data
from web.forms_schema import build_fields, field_errors, parse_submission, widget_for

SHANGHAI = ZoneInfo("Asia/Shanghai")

SCHEMA = {
    "type": "object",
    "required": ["name", "score"],
    "properties": {
        "name": {"type": "string", "title": "姓名", "maxLength": 20, "pattern": "^[^0-9]+$"},
        "score": {"type": "integer", "title": "评分", "minimum": 1, "maximum": 5},
        "ratio": {"type": "number"},
        "when": {"type": "string", "format": "date-time", "default": "2026-05-04T01:30:00Z"},
        "day": {"type": "string", "format": "date"},
        "level": {"type": "integer", "enum": [1, 2, 3], "enumNames": ["低", "中", "高"]},
        "channel": {"oneOf": [{"const": "phone", "title": "电话"}, {"const": "wechat"}]},
        "agree": {"type": "boolean", "default": True},
        "memo": {"type": "string", "x-widget": "textarea"},
        "long": {"type": "string", "maxLength": 500},
        "mail": {"type": "string", "format": "email"},
        "extra": {"type": "object"},
        "maybe": {"type": ["null", "number"]},
    },
}


@pytest.mark.parametrize(
    ("name", "widget"),
    [
        ("name", "text"),
        ("score", "number"),
        ("ratio", "number"),
        ("when", "datetime"),
        ("day", "date"),
        ("level", "select"),
        ("channel", "select"),
        ("agree", "checkbox"),
        ("memo", "textarea"),
        ("long", "textarea"),
        ("mail", "email"),
        ("extra", "json"),
        ("maybe", "number"),
    ],
)
def test_widget_per_property(name, widget):
    assert widget_for(SCHEMA["properties"][name]) == widget


def test_fields_carry_labels_required_marks_and_html_limits():
    fields = {f.name: f for f in build_fields(SCHEMA, tz=SHANGHAI)}
    assert fields["name"].label == "姓名" and fields["name"].required
    assert fields["name"].attrs == {"required": True, "maxlength": 20, "pattern": "^[^0-9]+$"}
    assert fields["score"].attrs == {"required": True, "step": "1", "min": 1, "max": 5}
    assert fields["ratio"].attrs == {"step": "any"} and not fields["ratio"].required
    assert fields["ratio"].label == "ratio"  # no title: the property name
    assert fields["level"].options == [("1", "低"), ("2", "中"), ("3", "高")]
    assert fields["channel"].options == [("phone", "电话"), ("wechat", "wechat")]
    assert fields["when"].value == "2026-05-04T09:30"  # the default, in the team's zone
    assert fields["agree"].checked
    assert len({f.input_id for f in fields.values()}) == len(fields)


def test_submitted_values_are_kept_as_typed():
    form = {"field:name": "张三", "field:score": "abc", "field:agree": "1"}
    fields = {
        f.name: f
        for f in build_fields(SCHEMA, submitted=form, errors={"score": "bad"}, tz=SHANGHAI)
    }
    assert fields["score"].value == "abc" and fields["score"].error == "bad"
    assert fields["agree"].checked and not fields["when"].value


def test_parse_types_every_widget():
    form = {
        "field:name": "张三",
        "field:score": "4",
        "field:ratio": "0.25",
        "field:when": "2026-05-06T14:30",
        "field:day": "2026-05-08",
        "field:level": "2",
        "field:channel": "wechat",
        "field:memo": "多行\n备注",
        "field:extra": '{"a": [1, 2]}',
        "field:maybe": "",
    }
    result = parse_submission(SCHEMA, form, tz=SHANGHAI)
    assert result.errors == {}
    assert result.data == {
        "name": "张三",
        "score": 4,
        "ratio": 0.25,
        "when": "2026-05-06T14:30:00+08:00",
        "day": "2026-05-08",
        "level": 2,
        "channel": "wechat",
        "agree": False,
        "memo": "多行\n备注",
        "extra": {"a": [1, 2]},
    }
    validate_form_data(SCHEMA, result.data)  # what the parser makes, the schema accepts


def test_parse_reports_what_cannot_be_typed():
    form = {
        "field:score": "4.5",
        "field:ratio": "nan",
        "field:when": "soon",
        "field:day": "2026-02-30",
        "field:level": "9",
        "field:extra": "{",
    }
    result = parse_submission(SCHEMA, form, tz=SHANGHAI)
    assert set(result.errors) == {"score", "ratio", "when", "day", "level", "extra"}
    assert result.errors["score"] == "Enter a whole number."
    assert "score" not in result.data


def test_schema_errors_become_one_sentence_per_field():
    with pytest.raises(FormInvalid) as caught:
        validate_form_data(SCHEMA, {"score": 9, "name": "a1"})
    by_field, general = field_errors(SCHEMA, caught.value.details)
    assert by_field == {
        "score": "Enter a value of at most 5.",
        "name": "The value does not have the expected form.",
    }
    assert general == []
    with pytest.raises(FormInvalid) as caught:
        validate_form_data(SCHEMA, {"score": 3})
    assert field_errors(SCHEMA, caught.value.details)[0] == {"name": "This field is required."}


def test_no_schema_means_no_fields_and_no_data():
    assert build_fields(None, tz=SHANGHAI) == []
    assert parse_submission(None, {"field:x": "1"}, tz=SHANGHAI).data == {}


@pytest.mark.parametrize(
    ("language", "label", "option"), [("zh-CN", "结果", "接通"), ("en", "Outcome", "Connected")]
)
def test_bilingual_titles_show_the_users_language(app, language, label, option):
    schema = {
        "type": "object",
        "properties": {
            "outcome": {
                "title": "Outcome / 结果",
                "oneOf": [
                    {"const": "ok", "title": "Connected / 接通"},
                    {"const": "x", "title": "其他"},
                ],
            },
            "plain": {"type": "string", "title": "A / B"},
        },
    }
    with app.test_request_context(headers={"Accept-Language": language}):
        outcome, plain = build_fields(schema, tz=SHANGHAI)
    assert outcome.label == label
    assert outcome.options[0][1] == option and outcome.options[1][1] == "其他"
    assert plain.label == "A / B"  # not one English and one Chinese part: shown as written
