"""A Camunda Form named with the ``latest`` binding is found among earlier deploys' forms.

Camunda 7's ``camunda:formRef`` and Camunda 8's ``<zeebe:formDefinition formId>`` name the
latest deployed version of a form (``latest`` is the binding when none is said). A diagram
deployed without the ``.form`` file, naming a form an earlier upload deployed, was refused
with "names a Camunda Form no .form file of the deploy has"; now it deploys, its task opens
with the newest version of that form deployed so far, and ``deployment`` still asks for the
deploy's own file.
"""

from __future__ import annotations

import json

from tests.engine.conftest import DIAGRAMS, Actor, by_element, refused
from tests.engine.test_camunda7_forms import FORM, c7

C8_DIAGRAM = "c8forms/c8_call_result.bpmn"


def form_file(form: dict) -> tuple[str, bytes]:
    return ("call-result.form", json.dumps(form, ensure_ascii=False).encode())


def deployed(response) -> None:
    assert response.status_code in (200, 201), response.get_json()


def test_a_form_deployed_in_an_earlier_upload_is_the_latest_one_named(
    owner: Actor, agent: Actor
) -> None:
    deployed(
        owner.upload(
            extra=[("first.bpmn", c7('camunda:formRef="call-result"', "first")), form_file(FORM)]
        )
    )
    # Camunda 7, no binding said (latest), and Camunda 8 formId: no .form file in the deploy
    deployed(owner.upload(extra=[("second.bpmn", c7('camunda:formRef="call-result"', "second"))]))
    deployed(
        owner.post(
            "/api/v1/process-models",
            json={"bpmn": {"c8.bpmn": (DIAGRAMS / C8_DIAGRAM).read_text()}},
        )
    )
    [task] = agent.start("second", {"customer": "李伟"})["ready_tasks"]
    assert task["form_schema"]["properties"]["customer"]["title"] == "客户名称"
    assert task["form_schema"]["required"] == ["outcome"]
    bad = agent.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"minutes": -1}})
    assert {d.get("field") for d in bad.get_json()["error"]["details"]} >= {"outcome", "minutes"}
    [c8_task, *_rest] = agent.start("c8_call_result", {"customer": "李伟"})["ready_tasks"]
    assert c8_task["form_schema"]["properties"]["customer"]["title"] == "客户名称"

    # a newer version of the form, deployed with another diagram, reaches tasks opened after it
    newer = json.loads(json.dumps(FORM))
    newer["components"][2]["label"] = "Call minutes"
    third = c7('camunda:formRef="call-result" camunda:formRefBinding="latest"', "third")
    deployed(owner.upload(extra=[("third.bpmn", third), form_file(newer)]))
    [later] = agent.start("second", {"customer": "李伟"})["ready_tasks"]
    assert later["form_schema"]["properties"]["minutes"]["title"] == "Call minutes"
    # the first version was deployed with its form: ``latest`` there is the newest one too
    [first] = agent.start("first", {"customer": "李伟"})["ready_tasks"]
    assert first["form_schema"]["properties"]["minutes"]["title"] == "Call minutes"


def test_deployment_binding_still_needs_the_form_in_its_own_deploy(owner: Actor) -> None:
    deployed(
        owner.upload(
            extra=[("first.bpmn", c7('camunda:formRef="call-result"', "first")), form_file(FORM)]
        )
    )
    bound = c7('camunda:formRef="call-result" camunda:formRefBinding="deployment"', "bound")
    [message] = by_element(refused(owner.upload(extra=[("bound.bpmn", bound)]))).values()
    assert "names a Camunda Form no .form file of the deploy has" in message
    missing = c7('camunda:formRef="no-such-form"', "missing")
    [message] = by_element(refused(owner.upload(extra=[("missing.bpmn", missing)]))).values()
    assert "camunda:formRef='no-such-form' names a Camunda Form no .form file" in message
    assert "call-result" not in message  # the earlier deploy's form is not offered as this one


def test_the_latest_form_of_an_id_in_chinese_or_with_like_wildcards(owner: Actor, agent: Actor):
    # the newest deploy holding the id is found by the id's text as the forms column stores it
    for form_id, title in (("回访_表%", "客户名称"), ("回访X表%", "别的表"), ("回访_表", "又一个")):
        form = {**json.loads(json.dumps(FORM)), "id": form_id}
        form["components"][0]["label"] = title
        name = f"{abs(hash(form_id))}.form"
        attribute = f'camunda:formRef="{form_id}"'
        process = f"p{abs(hash(form_id))}"
        files = [(f"{process}.bpmn", c7(attribute, process)), (name, json.dumps(form).encode())]
        deployed(owner.upload(extra=files))
    deployed(owner.upload(extra=[("later.bpmn", c7('camunda:formRef="回访_表%"', "later"))]))
    [task] = agent.start("later", {"customer": "李伟"})["ready_tasks"]
    assert task["form_schema"]["properties"]["customer"]["title"] == "客户名称"
