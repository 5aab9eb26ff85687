"""Forms drawn in Camunda 7, Flowable and Activiti diagrams deploy as the task's JSON-Schema form.

A Camunda 7 ``<camunda:formData>`` and a Flowable ``<flowable:formProperty>`` list (Chinese
labels, enums, limits, defaults, dates, read-only fields) deploy through the API, the inbox
shows the form a process owner would have written, and completing the task checks the data
with one 422 detail per field, keeps the data under the field ids and never overwrites a
read-only field. The task page shows a read-only field disabled with the instance's value.
What has no faithful JSON Schema is refused on its element with what to write instead.
"""

from __future__ import annotations

import re

import pytest

from crm.users import create_token
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import DIAGRAMS, Actor, by_element, only, refused
from tests.engine.diagram_folders import nothing_deployed
from tests.web.test_pages import csrf_token

CAMUNDA = "diagram_forms/camunda7_call_record.bpmn"
FLOWABLE = "diagram_forms/flowable_lead_review.bpmn20.xml"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

CAMUNDA_FORM = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "customer": {"title": "客户名称", "type": "string", "readOnly": True},
        "outcome": {
            "title": "通话结果",
            "type": "string",
            "oneOf": [
                {"const": "interested", "title": "有意向"},
                {"const": "no_answer", "title": "无人接听"},
            ],
            "x-properties": {"width": "half"},
            "default": "interested",
        },
        "minutes": {
            "title": "通话时长（分钟）",
            "type": "integer",
            "minimum": 0,
            "maximum": 120,
            "default": 5,
        },
        "notes": {"title": "备注", "type": "string", "minLength": 2, "maxLength": 50},
        "callback": {
            "title": "回拨日期",
            "type": "string",
            "format": "date",
            "default": "2026-06-01",
        },
        "vip": {"title": "重点客户", "type": "boolean", "default": False},
    },
    "required": ["outcome"],
}

FLOWABLE_FORM = {
    "$schema": DRAFT,
    "type": "object",
    "properties": {
        "source": {"title": "线索来源", "type": "string", "readOnly": True},
        "grade": {
            "title": "线索等级",
            "type": "string",
            "oneOf": [
                {"const": "A", "title": "A 级（高意向）"},
                {"const": "B", "title": "B 级（一般）"},
                {"const": "C", "title": "C 级（低意向）"},
            ],
            "default": "B",
        },
        "budget": {"title": "预算（元）", "type": "integer"},
        "ratio": {"title": "成交概率", "type": "number", "default": 0.5},
        "visitAt": {"title": "上门时间", "type": "string", "format": "date-time"},
        "signed": {"title": "已签约", "type": "boolean"},
    },
    "required": ["grade", "budget"],
}


def invalid_fields(response) -> set[str]:
    """The fields of a completion answered ``422 invalid_form_data``."""
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_form_data"
    return {detail["field"] for detail in error["details"]}


def test_a_camunda_7_form_is_the_tasks_json_schema_form(owner: Actor):
    owner.deploy(CAMUNDA)
    started = owner.start("c7_followup", {"customer": "上海明远贸易"})
    task = only(owner.tasks("mine=1"), process_instance_id=started["id"])
    assert task["form_schema"] == CAMUNDA_FORM

    wrong = {
        "outcome": "maybe",
        "minutes": 121,
        "notes": "短",
        "callback": "2026-13-01",
        "customer": "别的公司",  # read-only: shown, not taken
    }
    fields = invalid_fields(owner.complete(task["id"], wrong))
    assert fields == {"outcome", "minutes", "notes", "callback", "customer"}
    assert invalid_fields(owner.complete(task["id"], {"minutes": 3})) == {"outcome"}

    done = owner.complete_ok(
        task["id"], {"outcome": "no_answer", "notes": "下周再联系", "callback": "2026-06-02"}
    )
    data = owner.instance(done["id"])["data"]
    assert data["customer"] == "上海明远贸易"  # neither the default nor None
    assert (data["outcome"], data["notes"], data["callback"]) == (
        "no_answer",
        "下周再联系",
        "2026-06-02",
    )
    assert (data["minutes"], data["vip"]) == (5, False)  # left out: the diagram's defaults


@pytest.mark.parametrize("engine", ["flowable", "activiti"])
def test_a_flowable_form_is_the_tasks_json_schema_form(owner: Actor, engine: str):
    text = (DIAGRAMS / FLOWABLE).read_text().replace("flowable", engine)  # same schema
    assert owner.upload(extra=[(f"{engine}.bpmn20.xml", text.encode())]).status_code == 201
    started = owner.start(f"{engine}_lead_review", {"source": "官网表单"})
    (task,) = started["ready_tasks"]
    assert task["form_schema"] == FLOWABLE_FORM
    assert only(owner.tasks("mine=1"), id=task["id"])["form_schema"] == FLOWABLE_FORM

    wrong = {"grade": "D", "budget": 1.5, "signed": "是", "source": "电话"}
    assert invalid_fields(owner.complete(task["id"], wrong)) == {
        "grade",
        "budget",
        "signed",
        "source",
    }
    assert invalid_fields(owner.complete(task["id"], {})) == {"grade", "budget"}

    visit = "2026-06-01T10:00:00+08:00"
    done = owner.complete_ok(task["id"], {"grade": "A", "budget": 80000, "visitAt": visit})
    data = owner.instance(done["id"])["data"]
    assert done["status"] == "completed"
    assert (data["source"], data["grade"], data["budget"]) == ("官网表单", "A", 80000)
    assert (data["visitAt"], data["ratio"], data["signed"]) == (visit, 0.5, None)


def test_what_no_json_schema_says_is_refused_on_its_element(owner: Actor, db):
    names = ("diagram_forms/camunda7_refused.bpmn", "diagram_forms/flowable_refused.bpmn20.xml")
    response = owner.upload(*names, extra=[("call.json", b'{"type": "object"}')])
    details = refused(response)
    found = by_element(details)
    assert set(found) == {
        "start",
        "custom_type",
        "html_form",
        "java_check",
        "juel_default",
        "two_forms",
        "min_text",
        "bad_default",
        "sid-HIDDEN",
        "sid-ENUM",
        "sid-KEY",
    }, found
    assert "a process starts with the data sent with it" in found["start"]
    assert "custom type 'phoneNumber'" in found["custom_type"]
    assert "an embedded HTML form" in found["html_form"]
    assert "formJsonSchemaFilename" in found["html_form"] and "formData" in found["html_form"]
    assert "'com.acme.PhoneValidator', Java code Dialflow cannot run" in found["java_check"]
    assert "'${today}', an expression" in found["juel_default"]
    both = found["two_forms"]
    assert "both a form drawn in the diagram (<camunda:formData>)" in both
    assert "remove the formJsonSchemaFilename property to use the drawn form" in both
    assert "or the <camunda:formData> to use 'call.json'" in both
    assert "constraint min but is no number" in found["min_text"]
    # checked as any form is: a default its own field refuses
    assert "the default 500 of minutes does not fit its own field" in found["bad_default"]
    assert 'readable="false" (a hidden field)' in found["sid-HIDDEN"]
    assert "default 'D', which is none of its values ('A', 'B')" in found["sid-ENUM"]
    assert "flowable:formKey='leadReviewForm'" in found["sid-KEY"]

    lines = {d["element_id"]: d["line"] for d in details}
    text = (DIAGRAMS / names[0]).read_text().splitlines()
    assert "PhoneValidator" in text[lines["java_check"] - 1]  # the constraint's own line
    assert "formData" in text[lines["two_forms"] - 1]
    nothing_deployed(db)


def test_the_task_page_shows_a_read_only_field_and_does_not_take_it(
    client, db, make_user, owner: Actor
):
    user = make_user("agent", username="zhao", password=PASSWORD)
    with db() as session:
        token = create_token(session, user, name="test")
    zhao = Actor(client, user, {"Authorization": f"Bearer {token}"})
    owner.deploy(CAMUNDA)
    started = zhao.start("c7_followup", {"customer": "上海明远贸易"})
    task_id = started["ready_tasks"][0]["id"]

    assert sign_in(client, "zhao").status_code == 302
    page = client.get(f"/tasks/{task_id}").text
    customer = re.search(r'data-field="customer">(.*?)</div>', page, re.S)
    assert customer and "disabled" in customer.group(1)
    assert 'value="上海明远贸易"' in customer.group(1)
    assert '<option value="no_answer">无人接听</option>' in page
    assert 'type="date"' in page and 'value="2026-06-01"' in page

    form = {
        "csrf_token": csrf_token(page),
        "field:outcome": "interested",
        "field:minutes": "7",
        "field:callback": "2026-06-03",
    }
    assert client.post(f"/tasks/{task_id}", data=form).status_code == 302
    data = zhao.instance(started["id"])["data"]
    assert (data["customer"], data["outcome"], data["minutes"]) == ("上海明远贸易", "interested", 7)
