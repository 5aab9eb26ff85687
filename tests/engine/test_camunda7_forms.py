"""Camunda Forms on Camunda 7 user tasks (``camunda:formRef``) deploy as the task's form.

Camunda Modeler 5 links a Camunda 7 user task to a form-js form deployed beside the diagram by
``camunda:formRef="call-result" camunda:formRefBinding="latest"`` (or ``deployment``). It was
refused as a form "kept outside the diagram"; now the ``.form`` file of that id is the task's
JSON-Schema form, as for Camunda 8: the API shows it, completion checks the data against it.
A version binding, a form chosen by an expression, a second form and a ``formRef`` naming no
deployed form are refused on the task.
"""

from __future__ import annotations

import json

import pytest

from tests.engine.conftest import Actor, by_element, refused

FORM = {
    "id": "call-result",
    "type": "default",
    "components": [
        {"type": "textfield", "key": "customer", "label": "客户名称", "readonly": True},
        {
            "type": "select",
            "key": "outcome",
            "label": "Outcome",
            "values": [
                {"label": "Interested", "value": "interested"},
                {"label": "Lost", "value": "lost"},
            ],
            "validate": {"required": True},
        },
        {"type": "number", "key": "minutes", "label": "Minutes", "validate": {"min": 0}},
    ],
}


def c7(task_attributes: str, process_id: str = "c7_form_ref") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
        'exporterVersion="5.20.0">\n'
        f'  <bpmn:process id="{process_id}" isExecutable="true">\n'
        '    <bpmn:startEvent id="StartEvent_1" />\n'
        f'    <bpmn:userTask id="Activity_call" name="Log the call" {task_attributes} />\n'
        '    <bpmn:endEvent id="Event_end" />\n'
        '    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />\n'
        '    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Event_end" />\n'
        "  </bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def _form_file(form: dict = FORM) -> tuple[str, bytes]:
    return ("call-result.form", json.dumps(form, ensure_ascii=False).encode())


@pytest.mark.parametrize("binding", ["latest", "deployment", None])
def test_a_camunda_7_task_shows_the_form_its_form_ref_names(
    owner: Actor, agent: Actor, binding: str | None
) -> None:
    attributes = 'camunda:formRef="call-result"' + (
        f' camunda:formRefBinding="{binding}"' if binding else ""
    )
    response = owner.upload(extra=[("c7_form_ref.bpmn", c7(attributes)), _form_file()])
    assert response.status_code in (200, 201), response.get_json()
    started = agent.start("c7_form_ref", {"customer": "李伟"})
    [task] = started["ready_tasks"]
    schema = task["form_schema"]
    assert schema["properties"]["customer"]["title"] == "客户名称"
    assert schema["required"] == ["outcome"]
    bad = agent.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"minutes": -1}})
    assert bad.status_code == 422, bad.get_json()
    fields = {d.get("field") for d in bad.get_json()["error"]["details"]}
    assert {"outcome", "minutes"} <= fields, bad.get_json()
    done = agent.complete_ok(task["id"], {"outcome": "lost", "minutes": 3})
    assert done["status"] == "completed"
    assert (done["data"]["outcome"], done["data"]["minutes"]) == ("lost", 3)


def test_form_refs_that_cannot_be_shown_are_refused_on_their_task(owner: Actor) -> None:
    cases = {
        "c7_form_version": 'camunda:formRef="call-result" camunda:formRefBinding="version" '
        'camunda:formRefVersion="2"',
        "c7_form_expression": 'camunda:formRef="${formName}"',
        "c7_form_twice": 'camunda:formRef="call-result" camunda:formKey="embedded:app:x.html"',
        "c7_form_missing": 'camunda:formRef="no-such-form"',
    }
    found = {}
    for process_id, attributes in cases.items():
        response = owner.upload(
            extra=[(f"{process_id}.bpmn", c7(attributes, process_id)), _form_file()]
        )
        [message] = by_element(refused(response)).values()
        found[process_id] = message
    assert "Dialflow keeps no form versions" in found["c7_form_version"]
    assert "chooses the form by an expression" in found["c7_form_expression"]
    assert "a task shows one form" in found["c7_form_twice"]
    assert (
        "camunda:formRef='no-such-form' names a Camunda Form no .form file"
        in found["c7_form_missing"]
    )


LOST_REASON = {
    "id": "call-result",
    "type": "default",
    "components": [
        {
            "type": "radio",
            "key": "outcome",
            "label": "Outcome",
            "values": [
                {"label": "Interested", "value": "interested"},
                {"label": "Lost", "value": "lost"},
            ],
            "validate": {"required": True},
        },
        {
            "type": "textfield",
            "key": "lost_reason",
            "label": "Why lost",
            "validate": {"required": True},
            "conditional": {"hide": '=outcome != "lost"'},
        },
        {
            "type": "number",
            "key": "budget",
            "label": "Budget",
            "conditional": {"hide": '=outcome = null or outcome = "lost"'},
        },
    ],
}


def test_a_field_hidden_by_a_simple_condition_is_not_asked_for_nor_kept(
    owner: Actor, agent: Actor
) -> None:
    """form-js hides ``lost_reason`` unless the outcome is "lost" and submits no hidden
    field: a hidden required field is not required, and a value sent for it is not kept."""
    text = c7('camunda:formRef="call-result"')
    response = owner.upload(extra=[("c7_form_ref.bpmn", text), _form_file(LOST_REASON)])
    assert response.status_code in (200, 201), response.get_json()  # was refused
    [task] = agent.start("c7_form_ref", {})["ready_tasks"]
    assert task["form_schema"]["properties"]["lost_reason"]["x-hide-if"] == {
        "any": False,
        "tests": [[["outcome"], "!=", "lost"]],
    }
    shown = agent.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"outcome": "lost"}})
    assert shown.status_code == 422, shown.get_json()
    assert [d["field"] for d in shown.get_json()["error"]["details"]] == ["lost_reason"]
    done = agent.complete_ok(
        task["id"], {"outcome": "interested", "lost_reason": "typed before", "budget": 5000}
    )
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["outcome"] == "interested" and done["data"]["budget"] == 5000
    assert "lost_reason" not in done["data"]  # hidden: not submitted


def test_a_lost_call_keeps_its_reason_and_drops_the_hidden_budget(
    owner: Actor, agent: Actor
) -> None:
    text = c7('camunda:formRef="call-result"')
    response = owner.upload(extra=[("c7_form_ref.bpmn", text), _form_file(LOST_REASON)])
    assert response.status_code in (200, 201), response.get_json()
    [task] = agent.start("c7_form_ref", {})["ready_tasks"]
    done = agent.complete_ok(task["id"], {"outcome": "lost", "lost_reason": "price", "budget": 1})
    assert done["data"]["lost_reason"] == "price" and "budget" not in done["data"]


def test_a_condition_outside_the_simple_ones_stays_refused_on_its_field(owner: Actor) -> None:
    form = json.loads(json.dumps(LOST_REASON))
    form["components"][1]["conditional"]["hide"] = '=count(outcome) > 1 and outcome != "lost"'
    text = c7('camunda:formRef="call-result"')
    [message] = by_element(
        refused(owner.upload(extra=[("c7_form_ref.bpmn", text), _form_file(form)]))
    ).values()
    assert "hidden by the FEEL condition '=count(outcome) > 1" in message
    assert "joined by and or by or" in message
