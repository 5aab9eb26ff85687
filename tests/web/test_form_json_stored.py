"""A task page's JSON input (a free object, a list of lists) takes what the instance's state
can hold, as the API does.

Before: the page read the text with ``json.loads``: an object with a ``typename`` key (which
SpiffWorkflow's serializer reads as a stored type), or values nested hundreds of levels deep,
were kept, and the instance answered 500 on every step once read back from the database;
the API refuses both (``dialflow.strict_json``). A form's own field named ``typename`` is
kept as typed (``engine.state`` wraps such objects when it stores them;
tests/web/test_typename_form_field.py)."""

from __future__ import annotations

import json
from io import BytesIO

import pytest

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_io_mappings import C8, diagram
from tests.web.test_form_lists import post
from tests.web.workspace import bearer

SCHEMA = {"type": "object", "properties": {"extra": {"type": "object", "title": "Extra"}}}


def deploy(client, owner: dict[str, str], schema: dict[str, object]):
    """Deploy ``extra_json``: a task ``Activity_extra`` with the form ``schema``, then a task
    ``Activity_next``."""
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="extra.schema.json" /></spiffworkflow:properties>'
    )
    bpmn = diagram(
        C8,
        "extra_json",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_extra" name="Extra">
      <bpmn:extensionElements>{form}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Activity_next" name="Next" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_extra" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_extra" targetRef="Activity_next" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_next" targetRef="Event_end" />""",
    )
    files = [
        (BytesIO(bpmn), "extra_json.bpmn"),
        (BytesIO(json.dumps(schema).encode()), "extra.schema.json"),
    ]
    return client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )


@pytest.fixture
def task(client, db, make_user, runtime) -> tuple[str, int, dict[str, str]]:
    """A task whose form has one JSON input, ``extra``; the agent signed in."""
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    deployed = deploy(client, owner, SCHEMA)
    assert deployed.status_code in (200, 201), deployed.get_json()
    headers = bearer(db, agent)
    body = {"process_id": "extra_json"}
    started = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    assert sign_in(client, "li").status_code == 302
    return started["ready_tasks"][0]["id"], started["id"], headers


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"when": {"typename": "datetime", "value": "soon"}}', "typename"),
        ('{"a":' * 300 + "1" + "}" * 300, "64"),
    ],
    ids=["typename", "300-levels"],
)
def test_json_the_state_cannot_hold_is_refused_on_its_input(
    client, task, runtime, text: str, said: str
) -> None:
    task_id, instance_id, headers = task
    answer = post(client, task_id, {"field:extra": text})
    assert answer.status_code == 422, answer.status_code
    assert said in answer.text
    runtime.engine.kept.clear()  # read back from the database, as another worker would
    url = f"/api/v1/process-instances/{instance_id}"
    shown = client.get(url, headers=headers)
    assert shown.status_code == 200, shown.get_json()
    assert [t["id"] for t in shown.get_json()["ready_tasks"]] == [task_id]


def test_json_it_can_hold_is_kept(client, task) -> None:
    """Pins what already worked."""
    task_id, instance_id, headers = task
    answer = post(client, task_id, {"field:extra": '{"tags": [["vip"]], "type": "x"}'})
    assert answer.status_code == 302, answer.text
    url = f"/api/v1/process-instances/{instance_id}"
    shown = client.get(url, headers=headers).get_json()
    assert shown["data"]["extra"] == {"tags": [["vip"]], "type": "x"}
