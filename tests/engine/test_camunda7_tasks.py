"""Camunda 7 business rule tasks and transaction settings, as Camunda Modeler writes them.

``camunda:decisionRef`` with ``camunda:resultVariable`` and ``camunda:mapDecisionResult`` was
refused ("use spiffworkflow:calledDecisionId"): it now runs, the result mapped as Camunda 7 maps
it (``singleEntry`` the value, ``singleResult`` the outputs' dict, ``collectEntries`` the
values, ``resultList`` a dict per matched rule); a result its mapping cannot hold is an incident
on the task. ``camunda:asyncBefore`` on a service task leaves it to a worker, as Dialflow's
``async`` property does; elsewhere, and ``asyncAfter``, ``exclusive`` and ``jobPriority``,
change nothing a Dialflow process does and pass (all were refused with "remove it")."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Notification
from crm.users import create_user
from tests.engine.conftest import Actor, Timed, by_element, refused

CAMUNDA = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
)


def rating(process_id: str, task_attributes: str, after: str = "") -> bytes:
    """Start → a business rule task with ``task_attributes`` → ``after`` (a user task
    ``follow_up`` by default) → end, as Camunda Modeler 5 writes it."""
    after = after or '<bpmn:userTask id="follow_up" name="Follow up" camunda:asyncBefore="true" />'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions {CAMUNDA} id="defs" targetNamespace="http://bpmn.io/schema/bpmn" '
        'exporter="Camunda Modeler" exporterVersion="5.20.0">\n'
        f'<bpmn:process id="{process_id}" isExecutable="true" camunda:historyTimeToLive="180">\n'
        '<bpmn:startEvent id="start" camunda:asyncAfter="true" />\n'
        f'<bpmn:businessRuleTask id="rate" name="Rate the lead" {task_attributes} '
        'camunda:exclusive="false" camunda:jobPriority="10" />\n'
        f"{after}\n"
        '<bpmn:endEvent id="end" />\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="rate" />\n'
        '<bpmn:sequenceFlow id="f2" sourceRef="rate" targetRef="follow_up" />\n'
        '<bpmn:sequenceFlow id="f3" sourceRef="follow_up" targetRef="end" />\n'
        "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def table(decision_id: str, hit_policy: str, outputs: list[str], rules: list[tuple]) -> bytes:
    """A DMN 1.3 table over ``score``: each rule (test on score, output values)."""
    columns = "".join(
        f'<output id="o_{name}" name="{name}" typeRef="string" />' for name in outputs
    )
    rows = "".join(
        f'<rule id="r{n}"><inputEntry id="i{n}"><text>{test}</text></inputEntry>'
        + "".join(
            f'<outputEntry id="e{n}_{k}"><text>"{value}"</text></outputEntry>'
            for k, value in enumerate(values)
        )
        + "</rule>"
        for n, (test, *values) in enumerate(rules)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" '
        'name="Lead rating" namespace="http://camunda.org/schema/1.0/dmn">'
        f'<decision id="{decision_id}" name="Rating"><decisionTable id="t" '
        f'hitPolicy="{hit_policy}"><input id="in" label="Score"><inputExpression id="ie" '
        f'typeRef="integer"><text>score</text></inputExpression></input>{columns}{rows}'
        "</decisionTable></decision></definitions>"
    ).encode()


TIER = table("lead_tier", "FIRST", ["tier"], [("&gt;= 50", "A"), ("-", "B")])
TIER_AND_CHANNEL = table(
    "lead_route", "FIRST", ["tier", "channel"], [("&gt;= 50", "A", "phone"), ("-", "B", "sms")]
)
TAGS = table("lead_tags", "COLLECT", ["tag"], [("&gt;= 50", "hot"), ("&gt;= 20", "warm")])


def run(owner: Actor, agent: Actor, name: str, files: list[tuple[str, bytes]], score: int):
    response = owner.upload(extra=files)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    started = agent.start(name, {"score": score})
    return started, agent.instance(started["id"])


@pytest.mark.parametrize(
    ("attributes", "dmn", "score", "expected"),
    [
        ('camunda:resultVariable="tier" camunda:mapDecisionResult="singleEntry"', TIER, 70, "A"),
        ('camunda:resultVariable="tier" camunda:mapDecisionResult="singleEntry"', TIER, 10, "B"),
        (
            'camunda:resultVariable="route" camunda:mapDecisionResult="singleResult"',
            TIER_AND_CHANNEL,
            70,
            {"tier": "A", "channel": "phone"},
        ),
        (
            'camunda:resultVariable="tags" camunda:mapDecisionResult="collectEntries"',
            TAGS,
            60,
            ["hot", "warm"],
        ),
        ('camunda:resultVariable="tags" camunda:mapDecisionResult="collectEntries"', TAGS, 5, []),
        ('camunda:resultVariable="rows"', TAGS, 30, [{"tag": "warm"}]),  # resultList, the default
    ],
    ids=["single-entry", "single-entry-other", "single-result", "collect", "collect-none", "list"],
)
def test_a_camunda_7_decision_lands_in_its_result_variable_as_mapped(
    owner: Actor, agent: Actor, attributes: str, dmn: bytes, score: int, expected: Any
) -> None:
    decision = dmn.split(b'<decision id="')[1].split(b'"')[0].decode()
    variable = attributes.split('resultVariable="')[1].split('"')[0]
    diagram = rating("c7_rating", f'camunda:decisionRef="{decision}" {attributes}')
    started, view = run(owner, agent, "c7_rating", [("c7.bpmn", diagram), ("r.dmn", dmn)], score)
    assert view["status"] == "running", view
    assert view["data"][variable] == expected
    assert [t["name"] for t in started["ready_tasks"]] == ["follow_up"]


def test_without_a_result_variable_the_outputs_are_set_by_their_names(owner, agent) -> None:
    diagram = rating("c7_plain", 'camunda:decisionRef="lead_route"')
    _, view = run(owner, agent, "c7_plain", [("c7.bpmn", diagram), ("r.dmn", TIER_AND_CHANNEL)], 9)
    assert (view["data"]["tier"], view["data"]["channel"]) == ("B", "sms")


def test_a_result_its_mapping_cannot_hold_is_an_incident_on_the_task(owner, agent) -> None:
    attributes = (
        'camunda:decisionRef="lead_tags" camunda:resultVariable="tag" '
        'camunda:mapDecisionResult="singleEntry"'
    )
    diagram = rating("c7_two_rules", attributes)
    _, view = run(owner, agent, "c7_two_rules", [("c7.bpmn", diagram), ("r.dmn", TAGS)], 60)
    assert view["status"] == "error", view
    (incident,) = view["incidents"]
    assert incident["element_id"] == "rate"
    assert "singleEntry needs at most one matched rule; 2 matched" in incident["message"]


def test_a_decision_chosen_by_an_expression_or_version_stays_refused(owner) -> None:
    diagram = rating(
        "c7_refused",
        'camunda:decisionRef="${decisionName}" camunda:resultVariable="tier"',
        after='<bpmn:userTask id="follow_up" camunda:decisionRefBinding="version" />',
    )
    said = by_element(refused(owner.upload(extra=[("c7.bpmn", diagram), ("r.dmn", TIER)])))
    assert "decisionRef" in said["rate"], said


SERVICE = """<bpmn:serviceTask id="tell" name="Tell the owner" camunda:asyncBefore="true">
  <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="notify.user">
    <spiffworkflow:parameters>
      <spiffworkflow:parameter id="user" type="str" value="recipient" />
      <spiffworkflow:parameter id="message" type="str" value="'新线索已分配给你'" />
    </spiffworkflow:parameters>
  </spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
</bpmn:serviceTask>"""


def test_async_before_on_a_service_task_leaves_it_to_a_worker(timed: Timed) -> None:
    diagram = (
        rating("c7_async", 'camunda:decisionRef="lead_tier" camunda:resultVariable="tier"')
        .replace(
            b'<bpmn:userTask id="follow_up" name="Follow up" camunda:asyncBefore="true" />',
            SERVICE.replace('id="tell"', 'id="follow_up"').encode(),
        )
        .replace(
            b'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
            b'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
            b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"',
        )
    )
    response = timed.owner.upload(extra=[("c7.bpmn", diagram), ("r.dmn", TIER)])
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    with timed.runtime.db.unit_of_work() as session:
        create_user(session, username="li", role="agent")
    started = timed.owner.start("c7_async", {"score": 80, "recipient": "li"})
    assert started["status"] == "running"  # answered before the handler ran
    with timed.runtime.db.unit_of_work() as session:
        assert session.scalars(select(Notification)).all() == []
    assert timed.advance(seconds=1) == 1  # the scheduler hands it to a worker
    view = timed.owner.instance(started["id"])
    assert (view["status"], view["data"]["tier"]) == ("completed", [{"tier": "A"}])  # resultList
    with timed.runtime.db.unit_of_work() as session:
        assert session.scalars(select(Notification.message)).all() == ["新线索已分配给你"]


def external(topic: str, parameters: str) -> bytes:
    """Start → an external service task of ``topic`` with ``parameters`` (inside
    ``camunda:inputOutput``) → a user task → end."""
    service = (
        f'<bpmn:serviceTask id="tell" name="Tell the owner" camunda:type="external" '
        f'camunda:topic="{topic}"><bpmn:extensionElements><camunda:inputOutput>{parameters}'
        "</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions {CAMUNDA} id="defs" targetNamespace="http://bpmn.io/schema/bpmn">\n'
        '<bpmn:process id="c7_external" isExecutable="true">\n'
        f'<bpmn:startEvent id="start" />{service}<bpmn:userTask id="follow_up" />'
        '<bpmn:endEvent id="end" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tell" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="tell" targetRef="follow_up" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="follow_up" targetRef="end" />'
        "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def test_an_external_task_whose_topic_is_an_operator_runs_it(owner, agent, db) -> None:
    """Its input parameters are the operator's (JUEL as Python, text as text); its output
    parameters are read over what the operator returns."""
    with db() as session:
        create_user(session, username="li", role="agent")
    parameters = (
        '<camunda:inputParameter name="user">${lead.owner}</camunda:inputParameter>'
        '<camunda:inputParameter name="message">新线索已分配给你</camunda:inputParameter>'
        '<camunda:outputParameter name="noticeId">${notification_id}</camunda:outputParameter>'
    )
    response = owner.upload(extra=[("ext.bpmn", external("notify.user", parameters))])
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    started = agent.start("c7_external", {"lead": {"owner": "li"}})
    view = agent.instance(started["id"])
    assert view["status"] == "running", view
    with db() as session:
        (notice,) = session.scalars(select(Notification)).all()
        assert notice.message == "新线索已分配给你"
    assert view["data"]["noticeId"] == notice.id


def test_an_external_task_of_an_unknown_topic_or_java_parameter_is_refused(owner) -> None:
    unknown = refused(owner.upload(extra=[("ext.bpmn", external("qualify-lead", ""))]))
    assert "unknown service operator 'qualify-lead'" in by_element(unknown)["tell"]
    java = '<camunda:inputParameter name="user">${lead.getOwner()}</camunda:inputParameter>'
    said = by_element(refused(owner.upload(extra=[("ext.bpmn", external("notify.user", java))])))
    assert "Dialflow runs the task as its operator 'notify.user'" in said["tell"], said
    assert ".getOwner(…) calls a Java method" in said["tell"], said


def test_candidate_starters_deploy_with_a_warning_that_they_restrict_nothing(
    owner: Actor, agent: Actor
) -> None:
    """Camunda 7's engine does not check ``candidateStarterGroups`` either (its Tasklist only
    lists the process for them); it was refused with "remove it"."""
    diagram = rating("c7_starters", 'camunda:decisionRef="lead_tier"').replace(
        b'<bpmn:process id="c7_starters" isExecutable="true"',
        b'<bpmn:process id="c7_starters" isExecutable="true" '
        b'camunda:candidateStarterGroups="manager" camunda:candidateStarterUsers="boss"',
    )
    response = owner.upload(extra=[("c7.bpmn", diagram), ("r.dmn", TIER)])
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    (warning,) = response.get_json()["warnings"]
    assert warning["element_id"] == "c7_starters" and warning["line"] == 3
    assert "camunda:candidateStarterGroups='manager'" in warning["message"]
    assert "restrict nothing" in warning["message"]
    assert agent.start("c7_starters", {"score": 70})["status"] == "running"
