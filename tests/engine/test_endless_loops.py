"""Loops that cannot run are refused at deploy, on their first element: loops a diagram can
never leave, and loops without a gateway (SpiffWorkflow 3.2 recurses without end on them).
Loops with a way out, or with a gateway and an element that waits, deploy and run."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from tests.engine.conftest import Actor, one_process


def deploy(actor: Actor, name: str, content: bytes) -> Any:
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name)]},
        content_type="multipart/form-data",
    )


def line_of(content: bytes, fragment: str) -> int:
    text = content.decode()
    return text.count("\n", 0, text.index(fragment)) + 1


SCRIPT_LOOP = one_process(
    "spin",
    """    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="count" />
    <scriptTask id="count" name="Count"><script>n = 1</script></scriptTask>
    <sequenceFlow id="f2" sourceRef="count" targetRef="again" />
    <exclusiveGateway id="again" />
    <sequenceFlow id="f3" sourceRef="again" targetRef="count" />""",
)


def test_a_loop_of_automatic_elements_with_no_way_out_is_refused(owner: Actor) -> None:
    before = owner.models()
    response = deploy(owner, "spin.bpmn", SCRIPT_LOOP)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_bpmn"
    [detail] = [d for d in error["details"] if "never ends" in d["message"]]
    assert detail["element_id"] == "count"
    assert detail["line"] == line_of(SCRIPT_LOOP, '<scriptTask id="count"')
    assert "'again'" in detail["message"] and "'count'" in detail["message"]
    assert owner.models() == before


def test_a_gateway_looping_on_itself_inside_a_sub_process_is_refused(owner: Actor) -> None:
    content = one_process(
        "nested_spin",
        """    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="inner" />
    <subProcess id="inner">
      <startEvent id="inner_start" />
      <sequenceFlow id="g1" sourceRef="inner_start" targetRef="spin" />
      <exclusiveGateway id="spin" />
      <sequenceFlow id="g2" sourceRef="spin" targetRef="spin" />
    </subProcess>
    <sequenceFlow id="f2" sourceRef="inner" targetRef="end" />
    <endEvent id="end" />""",
    )
    response = deploy(owner, "nested_spin.bpmn", content)
    assert response.status_code == 422, response.get_data(as_text=True)
    messages = {d["element_id"]: d["message"] for d in response.get_json()["error"]["details"]}
    assert "never ends" in messages["spin"]


def test_loops_with_a_way_out_or_a_wait_deploy_and_run(owner: Actor) -> None:
    # A way out: a flow leaves the loop, even if its condition may never hold.
    exits = one_process(
        "count_to_three",
        """    <startEvent id="start" />
    <sequenceFlow id="f0" sourceRef="start" targetRef="init" />
    <scriptTask id="init"><script>n = 0</script></scriptTask>
    <sequenceFlow id="f1" sourceRef="init" targetRef="count" />
    <scriptTask id="count"><script>n = n + 1</script></scriptTask>
    <sequenceFlow id="f2" sourceRef="count" targetRef="enough" />
    <exclusiveGateway id="enough" default="again" />
    <sequenceFlow id="again" sourceRef="enough" targetRef="count" />
    <sequenceFlow id="done" sourceRef="enough" targetRef="end">
      <conditionExpression xsi:type="tFormalExpression">n &gt;= 3</conditionExpression>
    </sequenceFlow>
    <endEvent id="end" />""",
    )
    assert deploy(owner, "count_to_three.bpmn", exits).status_code == 201
    started = owner.post("/api/v1/process-instances", json={"process_id": "count_to_three"})
    assert started.status_code == 201, started.get_data(as_text=True)
    body = started.get_json()
    assert body["status"] == "completed"
    assert body["data"]["n"] == 3

    # A loop that waits for someone each time round is a process that runs until stopped.
    waits = one_process(
        "weekly_review",
        """    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <userTask id="review" name="Review" />
    <sequenceFlow id="f2" sourceRef="review" targetRef="next" />
    <exclusiveGateway id="next" />
    <sequenceFlow id="f3" sourceRef="next" targetRef="review" />""",
    )
    assert deploy(owner, "weekly_review.bpmn", waits).status_code == 201
    started = owner.post("/api/v1/process-instances", json={"process_id": "weekly_review"})
    assert started.status_code == 201, started.get_data(as_text=True)
    [task] = started.get_json()["ready_tasks"]
    assert task["name"] == "review"
    again = owner.complete_ok(task["id"])
    assert [t["name"] for t in again["ready_tasks"]] == ["review"]


def test_a_loop_without_a_gateway_is_refused_even_when_it_waits(owner: Actor) -> None:
    content = one_process(
        "review_forever",
        """    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <userTask id="review" name="Review" />
    <sequenceFlow id="f2" sourceRef="review" targetRef="log" />
    <scriptTask id="log"><script>logged = True</script></scriptTask>
    <sequenceFlow id="f3" sourceRef="log" targetRef="review" />""",
    )
    response = deploy(owner, "review_forever.bpmn", content)
    assert response.status_code == 422, response.get_data(as_text=True)
    [detail] = response.get_json()["error"]["details"]
    assert detail["element_id"] == "review"
    assert detail["line"] == line_of(content, '<userTask id="review"')
    assert "no gateway" in detail["message"]


def test_a_loop_back_through_a_boundary_event_deploys(owner: Actor) -> None:
    content = one_process(
        "retry_on_timeout",
        """    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <userTask id="call" name="Call" />
    <boundaryEvent id="late" attachedToRef="call">
      <timerEventDefinition><timeDuration>"PT1H"</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <sequenceFlow id="f2" sourceRef="late" targetRef="call" />
    <sequenceFlow id="f3" sourceRef="call" targetRef="end" />
    <endEvent id="end" />""",
    )
    assert deploy(owner, "retry_on_timeout.bpmn", content).status_code == 201
    started = owner.post("/api/v1/process-instances", json={"process_id": "retry_on_timeout"})
    assert started.status_code == 201, started.get_data(as_text=True)
    assert [t["name"] for t in started.get_json()["ready_tasks"]] == ["call"]
