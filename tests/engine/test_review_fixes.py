"""Engine defects found in review, each reproduced through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, one_process


def retry(owner: Actor, instance_id: int, body: Any = None) -> Any:
    return owner.post(f"/api/v1/process-instances/{instance_id}/retry", json=body)


# -- 1. a gateway where no condition holds -----------------------------------------------------

GATEWAY = """
    <startEvent id="start"/>
    <{kind} id="route" name="Route by score"/>
    <endEvent id="hot_end"/>
    <endEvent id="cold_end"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="route"/>
    <sequenceFlow id="to_hot" sourceRef="route" targetRef="hot_end">
      <conditionExpression>score &gt;= 80</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="to_cold" sourceRef="route" targetRef="cold_end">
      <conditionExpression>score &lt; 20 and region == "East"</conditionExpression>
    </sequenceFlow>
"""


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_a_gateway_where_no_condition_holds_says_which_conditions_it_evaluated(
    owner: Actor, agent: Actor, kind: str
) -> None:
    content = one_process("routing", GATEWAY.format(kind=kind))
    assert owner.upload(extra=[("routing.bpmn", content)]).status_code == 201
    failed = agent.start("routing", {"score": 50, "region": "East"})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("route", "gateway_error")
    message = incident["message"]
    assert "Route by score" in message
    assert "no default flow" in message
    assert "score >= 80" in message and 'score < 20 and region == "East"' in message
    assert "score = 50" in message and "region = 'East'" in message

    assert retry(owner, failed["id"], {"data": [90]}).status_code == 422
    # The data is fixed with the retry, which then goes on.
    fixed = retry(owner, failed["id"], {"data": {"score": 90}})
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert (body["status"], body["incidents"], body["data"]["score"]) == ("completed", [], 90)


def test_a_gateway_condition_that_fails_names_its_flow(owner: Actor, agent: Actor) -> None:
    content = one_process("routing", GATEWAY.format(kind="exclusiveGateway"))
    assert owner.upload(extra=[("routing.bpmn", content)]).status_code == 201
    failed = agent.start("routing", {"score": 10})  # no region
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("route", "gateway_error")
    message = incident["message"]
    assert "flow to 'cold_end'" in message and "region not set" in message
    assert "name 'region' is not defined" in message and "Did you mean 'score'" in message
    fixed = retry(owner, failed["id"], {"data": {"region": "East"}}).get_json()
    assert (fixed["status"], fixed["incidents"]) == ("completed", [])
