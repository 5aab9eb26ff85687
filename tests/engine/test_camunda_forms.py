"""Camunda Forms on Camunda 8 user tasks deploy as the task's JSON-Schema form.

A form-js form deployed as a ``.form`` file beside the diagram (``<zeebe:formDefinition
formId>``) or embedded in it (``<zeebe:userTaskForm>`` named by ``formKey``) is the task's
form: the API shows it as JSON Schema (Chinese labels as written), completion checks the data
with one 422 detail per field, and the task page renders its fields. The ``.form`` file goes
in a multipart or JSON deploy and in a folder given to ``dialflow deploy``. What a JSON Schema
cannot say is refused on its element and line; a form named but not deployed on its task.
"""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from crm.users import create_token
from dialflow.cli import main
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import DIAGRAMS, Actor, by_element, only, refused
from tests.engine.diagram_folders import line_in, nothing_deployed
from tests.web.test_pages import csrf_token

DIAGRAM = "c8forms/c8_call_result.bpmn"
FORM = "c8forms/call-result.form"
REFUSED = "c8forms/c8_refused.bpmn"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def choices(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"const": value, "title": title} for value, title in pairs]


CALL_RESULT = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "customer": {"title": "客户名称", "type": "string", "readOnly": True},
        "outcome": {
            "title": "通话结果",
            "type": "string",
            "oneOf": choices(
                ("connected", "已接通"), ("no_answer", "无人接听"), ("callback", "约定回拨")
            ),
        },
        "callbackAt": {
            "title": "回拨时间",
            "description": "客户约定的回拨时间",
            "type": "string",
            "format": "date-time",
        },
        "dealAmount": {
            "title": "成交金额（元）",
            "type": "number",
            "minimum": 0,
            "maximum": 1000000,
        },
        "channel": {
            "title": "联系渠道",
            "type": "string",
            "oneOf": choices(("phone", "电话"), ("wechat", "微信")),
            "default": "phone",
        },
        "products": {
            "title": "意向产品",
            "type": "array",
            "items": {"oneOf": choices(("basic", "基础版"), ("pro", "专业版"))},
            "uniqueItems": True,
        },
        "vip": {"title": "重点客户", "type": "boolean", "default": False},
        "contact": {
            "title": "联系人",
            "type": "object",
            "properties": {
                "name": {"title": "联系人姓名", "type": "string"},
                "mobile": {"title": "手机号", "type": "string", "pattern": r"^1[3-9]\d{9}$"},
            },
            "required": ["name"],
        },
        "notes": {
            "title": "通话备注",
            "type": "string",
            "x-widget": "textarea",
            "minLength": 2,
            "maxLength": 500,
        },
    },
    "required": ["outcome", "contact"],
}

INTENT = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "intent": {
            "title": "客户意向",
            "type": "string",
            "oneOf": choices(
                ("A", "A 级（高意向）"), ("B", "B 级（一般）"), ("C", "C 级（低意向）")
            ),
        },
        "budget": {"title": "预算（元）", "type": "integer", "minimum": 1000},
        "tags": {
            "title": "标签",
            "type": "array",
            "items": {"oneOf": choices(("price", "价格敏感"), ("decider", "决策人"))},
            "uniqueItems": True,
        },
    },
    "required": ["intent", "budget"],
}


def invalid_fields(response) -> set[str]:
    """The fields of a completion answered ``422 invalid_form_data``."""
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_form_data"
    return {detail["field"] for detail in error["details"]}


def test_a_form_file_and_an_embedded_form_are_the_tasks_forms(owner: Actor):
    owner.deploy(DIAGRAM, FORM)
    started = owner.start("c8_call_result", {"customer": "上海明远贸易"})
    (task,) = started["ready_tasks"]
    assert task["form_schema"] == CALL_RESULT
    assert only(owner.tasks("mine=1"), id=task["id"])["form_schema"] == CALL_RESULT

    wrong = {
        "outcome": "busy",
        "callbackAt": "明天下午",
        "dealAmount": -5,
        "products": ["gold"],
        "contact": {"mobile": "12345"},
        "notes": "短",
        "customer": "别的公司",  # read-only: shown, not taken
    }
    assert invalid_fields(owner.complete(task["id"], wrong)) == {
        "outcome",
        "callbackAt",
        "dealAmount",
        "products.0",
        "contact.name",
        "contact.mobile",
        "notes",
        "customer",
    }
    assert invalid_fields(owner.complete(task["id"], {"vip": True})) == {"outcome", "contact"}

    answer = {
        "outcome": "callback",
        "callbackAt": "2026-06-02T15:00:00+08:00",
        "dealAmount": 12800.5,
        "products": ["pro"],
        "contact": {"name": "王经理", "mobile": "13912345678"},
    }
    done = owner.complete_ok(task["id"], answer)
    (intent,) = done["ready_tasks"]
    assert intent["form_schema"] == INTENT  # the form embedded in the diagram
    data = owner.instance(done["id"])["data"]
    assert {key: data[key] for key in answer} == answer
    assert (data["customer"], data["channel"], data["vip"]) == ("上海明远贸易", "phone", False)

    bad = {"intent": "D", "budget": 999.5, "tags": ["price", "price"]}
    assert invalid_fields(owner.complete(intent["id"], bad)) == {"intent", "budget", "tags"}
    finished = owner.complete_ok(intent["id"], {"intent": "A", "budget": 50000})
    assert finished["status"] == "completed"
    data = owner.instance(finished["id"])["data"]
    assert (data["intent"], data["budget"], data["tags"]) == ("A", 50000, None)


def test_a_form_file_deploys_as_json_and_from_a_cli_folder(owner: Actor, test_env, tmp_path):
    form = json.loads((DIAGRAMS / FORM).read_text())
    body = {"bpmn": {"c8_call_result.bpmn": (DIAGRAMS / DIAGRAM).read_text()}}
    missing = owner.post("/api/v1/process-models", json=body)
    (detail,) = refused(missing)
    assert detail["element_id"] == "Activity_call"
    assert "formId='call-result'> names a Camunda Form no .form file" in detail["message"]
    assert detail["line"] == line_in(
        '<zeebe:formDefinition formId="call-result"', (DIAGRAMS / DIAGRAM).read_text()
    )

    body["forms"] = {"call-result.form": form}
    response = owner.post("/api/v1/process-models", json=body)
    assert response.status_code == 201, response.get_json()
    started = owner.start("c8_call_result", {"customer": "杭州云帆科技"})
    assert started["ready_tasks"][0]["form_schema"] == CALL_RESULT

    folder = tmp_path / "回访"
    (folder / "forms").mkdir(parents=True)
    (folder / "c8_call_result.bpmn").write_text(
        (DIAGRAMS / DIAGRAM).read_text().replace('"c8_call_result"', '"c8_cli_call"')
    )
    (folder / "forms" / "call-result.form").write_text(json.dumps(form, ensure_ascii=False))
    result = CliRunner().invoke(main, ["deploy", str(folder)], env=test_env)
    assert result.exit_code == 0, (result.output, result.stderr)
    assert "c8_cli_call v1" in result.output
    started = owner.start("c8_cli_call", {})
    assert started["ready_tasks"][0]["form_schema"] == CALL_RESULT


def test_what_no_json_schema_says_is_refused_on_its_element_and_line(owner: Actor, db):
    text = (DIAGRAMS / REFUSED).read_text()
    details = refused(
        owner.upload(
            REFUSED, "c8forms/deal-amount.form", extra=[("deal.json", b'{"type": "object"}')]
        )
    )
    found = by_element(details)
    assert set(found) == {
        "StartEvent_1",
        "Activity_followup",
        "Activity_callback",
        "Activity_gone",
        "Activity_tagged",
        "Activity_two",
        "Activity_phone",
    }, found
    lines = {}
    for detail in details:
        lines.setdefault(detail["element_id"], []).append(detail["line"])
    # an embedded form's refusals, each on its field's own line
    followup = found["Activity_followup"]
    for words, fragment in (
        (
            "hidden by the FEEL condition '=outcome != \"callback\" or count(agents) > 2' "
            "(conditional.hide)",
            '"callbackAt"',
        ),
        (
            "takes its choices from the variable 'teamAgents' when the task opens (valuesKey)",
            '"agent"',
        ),
        ("has validate.min '=minimumDeal', a FEEL expression", '"dealAmount"'),
        ("computes its value with FEEL ('=dealAmount * 1.06')", '"total"'),
        ("filepicker 'contract' (合同扫描件) takes a file", '"contract"'),
    ):
        assert words in followup, words
        assert line_in(fragment, text) in lines["Activity_followup"], fragment
    assert "a process starts with the data sent with it" in found["StartEvent_1"]
    assert "names a Camunda Form no .form file of the deploy has" in found["Activity_callback"]
    assert lines["Activity_callback"] == [line_in('formId="callback-time"', text)]
    assert "no <zeebe:userTaskForm> of the file has that id" in found["Activity_gone"]
    assert lines["Activity_gone"] == [line_in("UserTaskForm_intent", text)]
    tagged = "no deployed form of id 'deal-amount' carries version tag 'v2'"
    assert tagged in found["Activity_tagged"]
    assert "both a Camunda Form and formJsonSchemaFilename 'deal.json'" in found["Activity_two"]
    # a .form file's refusal is said on the task that shows it
    assert "textfield 'mobile' (联系电话) is checked as a phone number" in found["Activity_phone"]
    assert "Camunda Form 'deal-amount.form'" in found["Activity_phone"]
    nothing_deployed(db)


def test_a_form_file_must_be_a_camunda_form_with_its_own_id(owner: Actor, db):
    schema = b'{"type": "object", "properties": {"notes": {"type": "string"}}}'
    response = owner.upload(DIAGRAM, extra=[("call-result.form", schema)])
    (detail,) = refused(response)
    assert (
        'a .form file is a Camunda Form, whose JSON holds a "components" list' in detail["message"]
    )

    same = (DIAGRAMS / FORM).read_bytes()
    (detail,) = refused(owner.upload(DIAGRAM, FORM, extra=[("copy.form", same)]))
    assert (
        "copy.form: the Camunda Form id 'call-result' is also 'call-result.form''s"
        in detail["message"]
    )
    nothing_deployed(db)


def test_the_task_page_renders_the_camunda_form(client, db, make_user, owner: Actor):
    user = make_user("agent", username="zhao", password=PASSWORD)
    with db() as session:
        token = create_token(session, user, name="test")
    zhao = Actor(client, user, {"Authorization": f"Bearer {token}"})
    owner.deploy(DIAGRAM, FORM)
    started = zhao.start("c8_call_result", {"customer": "上海明远贸易"})
    task_id = started["ready_tasks"][0]["id"]

    assert sign_in(client, "zhao").status_code == 302
    page = client.get(f"/tasks/{task_id}").text
    customer = re.search(r'data-field="customer">(.*?)</div>', page, re.S)
    assert customer and "disabled" in customer.group(1) and "上海明远贸易" in customer.group(1)
    assert ">通话结果<" in page and '<option value="callback">约定回拨</option>' in page
    assert 'type="datetime-local"' in page and "客户约定的回拨时间" in page
    amount = re.search(r'data-field="dealAmount">(.*?)</div>', page, re.S)
    assert amount and 'type="number"' in amount.group(1) and "成交金额（元）" in amount.group(1)
    assert 'min="0"' in amount.group(1) and 'max="1000000"' in amount.group(1)
    assert '<input type="checkbox" name="field:products" value="pro">' in page
    assert "<textarea" in page and 'name="field:notes"' in page

    form = {
        "csrf_token": csrf_token(page),
        "field:outcome": "connected",
        "field:products": ["basic", "pro"],
        "field:/contact/name": "王经理",  # the group's own input, no JSON box
        "field:notes": "客户有兴趣，下周报价",
    }
    assert client.post(f"/tasks/{task_id}", data=form).status_code == 302
    data = zhao.instance(started["id"])["data"]
    assert (data["outcome"], data["products"], data["contact"]) == (
        "connected",
        ["basic", "pro"],
        {"name": "王经理"},
    )


CALLBACK_PLAN = {
    "id": "callback-plan",
    "type": "default",
    "components": [
        {
            "type": "group",
            "label": "回拨安排",
            "components": [
                {"type": "datetime", "key": "day", "subtype": "date", "dateLabel": "回拨日期"},
                {"type": "datetime", "key": "at", "subtype": "time", "timeLabel": "回拨时段"},
            ],
        },
        {"type": "textfield", "key": "deal.title", "label": "商机名称", "disabled": True},
        {"type": "textfield", "key": "deal.stage", "label": "阶段", "readonly": True},
        {"type": "number", "key": "quote.amount", "label": "报价金额", "defaultValue": "9800"},
        {
            "type": "checkbox",
            "key": "recordingConsent",
            "label": "客户同意通话录音",
            "validate": {"required": True},
        },
        {
            "type": "dynamiclist",
            "path": "attempts",
            "label": "拨打记录",
            "isRepeating": True,
            "components": [
                {
                    "type": "textfield",
                    "key": "phone",
                    "label": "号码",
                    "validate": {"required": True},
                },
                {
                    "type": "select",
                    "key": "result",
                    "label": "结果",
                    "values": [
                        {"label": "忙线", "value": "busy"},
                        {"label": "关机", "value": "off"},
                    ],
                },
            ],
        },
    ],
}


def test_groups_lists_dotted_keys_and_times_become_nested_json_schema(owner: Actor):
    body = {
        "bpmn": (DIAGRAMS / DIAGRAM)
        .read_text()
        .replace('formId="call-result"', 'formId="callback-plan"'),
        "forms": {"callback-plan.form": CALLBACK_PLAN},
    }
    assert owner.post("/api/v1/process-models", json=body).status_code == 201
    started = owner.start("c8_call_result", {"deal": {"title": "年度续约", "stage": "报价"}})
    schema = started["ready_tasks"][0]["form_schema"]
    properties = schema["properties"]
    assert set(properties) == {"day", "at", "deal", "quote", "recordingConsent", "attempts"}
    assert properties["day"] == {"title": "回拨日期", "type": "string", "format": "date"}
    assert properties["deal"] == {  # all its fields read-only: shown, kept
        "type": "object",
        "properties": {
            "title": {"title": "商机名称", "type": "string", "readOnly": True},
            "stage": {"title": "阶段", "type": "string", "readOnly": True},
        },
        "readOnly": True,
    }
    assert properties["quote"] == {
        "type": "object",
        "properties": {"amount": {"title": "报价金额", "type": "number", "default": 9800}},
        "default": {"amount": 9800},
    }
    assert properties["recordingConsent"]["const"] is True
    assert properties["attempts"]["items"]["required"] == ["phone"]
    assert schema["required"] == ["recordingConsent"]

    task_id = started["ready_tasks"][0]["id"]
    wrong = {
        "day": "2026-02-30",
        "at": "25:00",
        "quote": {"amount": "很多"},
        "recordingConsent": False,
        "attempts": [{"phone": "13800000000", "result": "busy"}, {"result": "lost"}],
    }
    assert invalid_fields(owner.complete(task_id, wrong)) == {
        "day",
        "at",
        "quote.amount",
        "recordingConsent",
        "attempts.1.phone",
        "attempts.1.result",
    }
    answer = {
        "day": "2026-06-02",
        "at": "14:30",
        "recordingConsent": True,
        "attempts": [{"phone": "13800000000", "result": "off"}],
    }
    done = owner.complete_ok(task_id, answer)
    data = owner.instance(done["id"])["data"]
    assert {key: data[key] for key in answer} == answer
    assert data["deal"] == {"title": "年度续约", "stage": "报价"}  # read-only: kept
    assert data["quote"] == {"amount": 9800}  # left out: its default
