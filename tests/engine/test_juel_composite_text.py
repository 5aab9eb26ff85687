"""A Camunda 7 value written as text holding JUEL (EL's composite expression): its parts, and
EL's escape ``\\${`` for the text ``${`` (``engine.juel.translate_composite``)."""

from __future__ import annotations

from typing import Any

import pytest


def mapped(greeting: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"\n'
        '  id="defs" targetNamespace="http://example.com/composite">\n'
        '  <process id="greet" isExecutable="true">\n'
        '    <startEvent id="start"><outgoing>f1</outgoing></startEvent>\n'
        '    <userTask id="call" name="Call the customer">\n'
        "      <extensionElements><camunda:inputOutput>\n"
        f'        <camunda:outputParameter name="greeting">{greeting}</camunda:outputParameter>\n'
        "      </camunda:inputOutput></extensionElements>\n"
        "      <incoming>f1</incoming><outgoing>f2</outgoing>\n"
        "    </userTask>\n"
        '    <endEvent id="end"><incoming>f2</incoming></endEvent>\n'
        '    <sequenceFlow id="f1" sourceRef="start" targetRef="call"/>\n'
        '    <sequenceFlow id="f2" sourceRef="call" targetRef="end"/>\n'
        "  </process>\n"
        "</definitions>\n"
    ).encode()


@pytest.mark.parametrize(
    ("greeting", "computed"),
    [
        ("${name} of ${city}", "Zhou of Hangzhou"),
        ("${name}${city}", "ZhouHangzhou"),
        ("#{name}", "Zhou"),
        ("Dear #{name}", "Dear Zhou"),
        ("Hello", "Hello"),
        ('${city == "}" ? "?" : city}', "Hangzhou"),
        ("\\${name} is ${name}", "${name} is Zhou"),
        ("Write \\#{name}", "Write #{name}"),
    ],
)
def test_a_text_s_juel_parts_are_computed_as_el_computes_them(
    owner: Any, agent: Any, greeting: str, computed: str
):
    """EL's escape (``\\${name}``, the text ``${name}``) was read as a backslash followed by
    the variable's value. Two expressions in one text run since ``juel.whole_body`` (this
    round); the other texts pin what ran already."""
    response = owner.upload(extra=[("greet.bpmn", mapped(greeting))])
    assert response.status_code == 201, response.get_json()
    started = agent.start("greet", {"name": "Zhou", "city": "Hangzhou"})
    assert started["incidents"] == [], started["incidents"]
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["greeting"] == computed
