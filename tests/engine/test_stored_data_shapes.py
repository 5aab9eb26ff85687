"""What an instance's stored state could not hold: values nested hundreds of levels deep, and
objects with a ``typename`` key, which SpiffWorkflow's serializer reads as the type of a stored
object. Both were taken: the step that stored them answered 500, or the instance answered 500
on every step once it was next read from the database (a restart, another worker), or read the
object back as a date. Sent by a client, they are refused with a 422 naming the field and
nothing changes; set by a script, its task fails with an incident."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from dialflow.runtime import Runtime
from dialflow.strict_json import MAX_DEPTH
from engine.models import ProcessInstance, ReceivedMessage, SignalBroadcast
from tests.engine.conftest import Actor, one_process

ASK_THEN_WAIT = """
<startEvent id="start"><outgoing>f1</outgoing></startEvent>
<userTask id="ask" name="Ask"><incoming>f1</incoming><outgoing>f2</outgoing></userTask>
<intermediateCatchEvent id="wait"><incoming>f2</incoming><outgoing>f3</outgoing>
  <messageEventDefinition messageRef="reply"/></intermediateCatchEvent>
<endEvent id="end"><incoming>f3</incoming></endEvent>
<sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
<sequenceFlow id="f2" sourceRef="ask" targetRef="wait"/>
<sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
"""


def nested(levels: int) -> str:
    """JSON text of objects nested ``levels`` deep (written as text: Python's encoder stops
    short of what a client may send)."""
    return '{"a":' * levels + "1" + "}" * levels


@pytest.fixture
def waiting(owner: Actor, agent: Actor) -> dict[str, Any]:
    """An instance whose task ``ask`` was completed, waiting for message ``reply``, and a
    second one at its task ``ask``."""
    xml = one_process("ask_wait", ASK_THEN_WAIT).replace(
        b"</definitions>", b'<message id="reply" name="reply"/></definitions>'
    )
    assert owner.upload(extra=[("ask_wait.bpmn", xml)]).status_code == 201
    first = agent.start("ask_wait", {"n": 1})
    agent.complete_ok(first["ready_tasks"][0]["id"], {"done": True})
    second = agent.start("ask_wait", {"n": 2})
    return {"waiting": first["id"], "asking": second["id"], "task": second["ready_tasks"][0]["id"]}


def send(actor: Actor, url: str, text: str) -> Any:
    return actor.client.post(
        url, data=text, headers={**actor.headers, "Content-Type": "application/json"}
    )


def stored(db: Callable[..., Any]) -> tuple[Any, ...]:
    with db() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (ProcessInstance, ReceivedMessage, SignalBroadcast)
        )


def bodies(task_id: str, value: str) -> list[tuple[str, str]]:
    """Each engine write that takes data from a client, with ``value`` as that data's field."""
    return [
        ("/api/v1/process-instances", f'{{"process_id": "ask_wait", "data": {{"x": {value}}}}}'),
        (f"/api/v1/tasks/{task_id}/complete", f'{{"data": {{"x": {value}}}}}'),
        ("/api/v1/messages", f'{{"name": "reply", "payload": {{"x": {value}}}}}'),
        ("/api/v1/signals", f'{{"name": "go", "payload": {{"x": {value}}}}}'),
    ]


def assert_unchanged(
    agent: Actor, runtime: Runtime, waiting: dict[str, Any], before: tuple[Any, ...], db: Any
) -> None:
    assert stored(db) == before
    runtime.engine.kept.clear()  # read back from the database, as another worker would
    assert agent.instance(waiting["waiting"])["status"] == "waiting"
    assert agent.instance(waiting["asking"])["ready_tasks"][0]["id"] == waiting["task"]


def test_values_nested_too_deep_are_refused_by_every_engine_write(
    owner: Actor, agent: Actor, waiting: dict[str, Any], runtime: Runtime, db: Any
) -> None:
    before = stored(db)
    for url, text in bodies(waiting["task"], nested(300)):
        response = send(owner if "/tasks/" not in url else agent, url, text)
        assert response.status_code == 422, (url, response.status_code, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "invalid_json"
        assert f"more than {MAX_DEPTH} levels deep" in error["message"]
        assert error["details"][0]["field"].split(".")[:2] in (["data", "x"], ["payload", "x"])
    assert_unchanged(agent, runtime, waiting, before, db)


def test_values_nested_as_deep_as_allowed_are_kept_and_read_back(
    owner: Actor, agent: Actor, waiting: dict[str, Any], runtime: Runtime
) -> None:
    """Pins what already worked: the deepest data allowed survives the database."""
    deepest = nested(MAX_DEPTH - 2)  # the body and ``data`` are two of the levels
    response = send(agent, f"/api/v1/tasks/{waiting['task']}/complete", f'{{"data": {deepest}}}')
    assert response.status_code == 200, response.get_json()
    payload = f'{{"name": "reply", "payload": {{"p": {nested(MAX_DEPTH - 3)}}}}}'
    runtime.engine.kept.clear()
    assert send(owner, "/api/v1/messages", payload).status_code == 202
    runtime.engine.kept.clear()
    done = agent.instance(waiting["asking"])
    assert done["status"] == "completed"
    assert json.dumps(done["data"]["a"]).count("{") == MAX_DEPTH - 3


@pytest.mark.parametrize(
    "value",
    [
        '{"typename": "Task"}',
        '{"when": {"typename": "datetime", "value": "2026-05-04T09:00:00"}}',
        '[{"typ\\u0065name": "BpmnEvent"}]',
    ],
)
def test_a_field_named_typename_is_refused_by_every_engine_write(
    owner: Actor, agent: Actor, waiting: dict[str, Any], runtime: Runtime, db: Any, value: str
) -> None:
    before = stored(db)
    for url, text in bodies(waiting["task"], value):
        response = send(owner if "/tasks/" not in url else agent, url, text)
        assert response.status_code == 422, (url, response.status_code, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "invalid_json"
        assert "'typename'" in error["message"]
        assert error["details"][0]["field"].split(".")[0] in ("data", "payload")
    assert_unchanged(agent, runtime, waiting, before, db)


SCRIPT_THEN_ASK = """
<startEvent id="start"><outgoing>f1</outgoing></startEvent>
<scriptTask id="build"><incoming>f1</incoming><outgoing>f2</outgoing>
  <script>{script}</script></scriptTask>
<userTask id="ask"><incoming>f2</incoming><outgoing>f3</outgoing></userTask>
<endEvent id="end"><incoming>f3</incoming></endEvent>
<sequenceFlow id="f1" sourceRef="start" targetRef="build"/>
<sequenceFlow id="f2" sourceRef="build" targetRef="ask"/>
<sequenceFlow id="f3" sourceRef="ask" targetRef="end"/>
"""


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("deep = {}\nfor _ in range(600):\n    deep = {'a': deep}", "nested more than 64"),
        ("when = {'typename': 'datetime', 'value': 'soon'}", "a key 'typename'"),
        ("when = [{'typename': 'datetime', 'value': '2026-05-04T09:00:00'}]", "a key 'typename'"),
    ],
    ids=["600-levels", "typename-unreadable", "typename-read-as-a-date"],
)
def test_a_script_setting_data_the_state_cannot_hold_fails_on_its_task(
    owner: Actor, agent: Actor, runtime: Runtime, script: str, said: str
) -> None:
    """The script's task fails (an incident) instead: the instance was saved with it, then
    answered 500 on every step once read back from the database (its termination too), or
    read the object back as a date."""
    xml = one_process("builds", SCRIPT_THEN_ASK.format(script=script))
    assert owner.upload(extra=[("builds.bpmn", xml)]).status_code == 201
    started = agent.start("builds")
    assert started["status"] == "error", started
    [incident] = started["incidents"]
    assert incident["element_id"] == "build"
    assert said in incident["message"]
    runtime.engine.kept.clear()
    terminated = owner.post(f"/api/v1/process-instances/{started['id']}/terminate", json={})
    assert terminated.status_code == 200, terminated.get_json()
    assert terminated.get_json()["status"] == "terminated"
