"""What a thrown signal carries: its ``<bpmn:signal>``'s ``spiffworkflow:payloadExpression``.

Data drawn elsewhere for a signal was lost silently: Camunda 7's ``<camunda:in
variables="all"/>`` on the signal event deployed (passed as a call activity's mapping) and
every instance the signal reached got nothing; a payload expression written on the throw
event or in its ``signalEventDefinition`` deployed and was never evaluated. Each is refused
at deploy on its event, saying where a signal's payload is written; Camunda 8's input
mapping on a signal throw is told the same instead of "map data with a script task".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'id="d" targetNamespace="http://dialflow.example/signal-data">'
    '<bpmn:signal id="sig_paused" name="campaign_paused"/>'
)
PAYLOAD = '<spiffworkflow:payloadExpression>{"reason": reason}</spiffworkflow:payloadExpression>'
CALLED = (
    '<bpmn:process id="called" isExecutable="true"><bpmn:startEvent id="cs"/>'
    '<bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="ce"/><bpmn:endEvent id="ce"/>'
    "</bpmn:process>"
)


def thrower(on_event: str = "", in_definition: str = "") -> str:
    """Pause the campaign: a call activity (passing all data, as Dialflow does anyway), then
    the signal thrown with ``on_event`` and ``in_definition`` as extension elements."""
    event = f"<bpmn:extensionElements>{on_event}</bpmn:extensionElements>" if on_event else ""
    inner = (
        f"<bpmn:extensionElements>{in_definition}</bpmn:extensionElements>" if in_definition else ""
    )
    return (
        f'{HEAD}<bpmn:process id="pause_campaign" isExecutable="true"><bpmn:startEvent id="s"/>'
        '<bpmn:callActivity id="prepare" calledElement="called"><bpmn:extensionElements>'
        '<camunda:in variables="all"/><camunda:out variables="all"/>'
        "</bpmn:extensionElements></bpmn:callActivity>"
        f'<bpmn:intermediateThrowEvent id="pause">{event}'
        f'<bpmn:signalEventDefinition signalRef="sig_paused">{inner}'
        "</bpmn:signalEventDefinition></bpmn:intermediateThrowEvent>"
        '<bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="prepare"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="pause"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="pause" targetRef="e"/>'
        f"</bpmn:process>{CALLED}</bpmn:definitions>"
    )


def refused(owner: Actor, xml: str) -> dict[str, Any]:
    response = owner.post("/api/v1/process-models", json={"bpmn": {"pause.bpmn": xml}})
    assert response.status_code == 422, response.get_json()
    [detail] = response.get_json()["error"]["details"]
    assert (detail["element_id"], detail["file"]) == ("pause", "pause.bpmn")
    return detail


WHERE = 'spiffworkflow:payloadExpression in the extensionElements of <bpmn:signal id="sig_paused">'


@pytest.mark.parametrize(
    "mapping",
    [
        '<camunda:in variables="all"/>',  # before: deployed, and the signal carried nothing
        '<camunda:in source="reason" target="reason"/>',  # before: "a called process gets…"
    ],
)
def test_camunda_signal_variables_are_refused_saying_what_a_signal_carries(
    owner: Actor, mapping: str
):
    detail = refused(owner, thrower(in_definition=mapping))
    assert "<camunda:in> on intermediateThrowEvent 'pause'" in detail["message"]
    assert WHERE in detail["message"] and "called process" not in detail["message"]
    # the same mapping on the call activity still deploys: it says what Dialflow does
    response = owner.post("/api/v1/process-models", json={"bpmn": {"pause.bpmn": thrower()}})
    assert response.status_code in (200, 201), response.get_json()


def test_a_zeebe_input_mapping_on_a_signal_throw_deploys_as_what_its_signal_carries(
    owner: Actor,
):
    """Camunda 8's signal variables: ``test_gaps_round2`` runs them between instances."""
    mapping = '<zeebe:ioMapping><zeebe:input source="=reason" target="reason"/></zeebe:ioMapping>'
    response = owner.post(
        "/api/v1/process-models", json={"bpmn": {"pause.bpmn": thrower(on_event=mapping)}}
    )
    assert response.status_code in (200, 201), response.get_json()


@pytest.mark.parametrize("place", ["on_event", "in_definition"])
def test_a_payload_expression_written_on_the_event_is_refused_not_ignored(owner: Actor, place: str):
    detail = refused(owner, thrower(**{place: PAYLOAD}))
    assert "never evaluated" in detail["message"]
    assert 'extensionElements of <bpmn:signal id="sig_paused">' in detail["message"]
