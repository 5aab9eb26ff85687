"""JUEL values of listeners and external tasks computed with EL's coercions.

A Flowable listener's ``${execution.setVariable('total', amount + 1)}`` and a Camunda 7 external
task's ``<camunda:inputParameter>`` run with EL's operators, as a JUEL condition does
(``engine.juel_runtime``): a form's text "12" adds and compares as the number 12, ``'5' + 1`` is
6. Before, they ran as Python's operators: a text plus a number failed the step as an incident,
and ``"12" == 12`` was false.
"""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Notification
from crm.users import create_user
from tests.engine.test_camunda7_tasks import external


def flowable(listeners: str) -> bytes:
    """Start → a user task ``review`` with the execution listeners ``listeners`` → a user
    task ``after`` → end, as Flowable UI writes them."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:flowable="http://flowable.org/bpmn" '
        'targetNamespace="http://www.flowable.org/processdef">\n'
        '<process id="el_values" isExecutable="true">\n'
        '<startEvent id="s"/>\n<sequenceFlow id="f1" sourceRef="s" targetRef="review"/>\n'
        f'<userTask id="review"><extensionElements>{listeners}</extensionElements></userTask>\n'
        '<sequenceFlow id="f2" sourceRef="review" targetRef="after"/>\n<userTask id="after"/>\n'
        '<sequenceFlow id="f3" sourceRef="after" targetRef="e"/>\n<endEvent id="e"/>\n'
        "</process>\n</definitions>\n"
    ).encode()


def sets(event: str, name: str, value: str) -> str:
    return (
        f'<flowable:executionListener event="{event}" '
        f"expression=\"${{execution.setVariable('{name}', {value})}}\"/>"
    )


def test_a_listener_adds_and_compares_a_text_holding_a_number_as_el_does(owner, agent):
    listeners = (
        sets("start", "total", "amount + 1")
        + sets("start", "twelve", "amount == 12")
        + sets("start", "large", "amount gt 9")
        + sets("end", "six", "'5' + 1")
    )
    response = owner.upload(extra=[("values.bpmn20.xml", flowable(listeners))])
    assert response.status_code in (200, 201), response.get_json()

    started = agent.start("el_values", {"amount": "12"})
    assert started["incidents"] == []  # was: can only concatenate str (not "int") to str
    [review] = [task["id"] for task in started["ready_tasks"]]

    body = agent.complete_ok(review, {})
    assert body["data"]["total"] == 13
    assert body["data"]["twelve"] is True  # "12" == 12 was False in Python
    assert body["data"]["large"] is True  # "12" > 9 failed in Python
    assert body["data"]["six"] == 6
    assert not any(name.startswith("_el_") for name in body["data"])

    # a variable the data lacks is still an incident, as Flowable's unknown property
    [incident] = agent.start("el_values", {})["incidents"]
    assert incident["element_id"] == "review"
    assert "amount" in incident["message"]


def test_an_external_tasks_parameters_are_computed_as_el_computes_them(owner, agent, db):
    """``'5' + 1`` is 6 in EL (its ``+`` adds numbers only), a TypeError in Python."""
    with db() as session:
        create_user(session, username="li", role="agent")
    parameters = (
        '<camunda:inputParameter name="user">li</camunda:inputParameter>'
        "<camunda:inputParameter name=\"message\">${'5' + 1}</camunda:inputParameter>"
    )
    response = owner.upload(extra=[("ext.bpmn", external("notify.user", parameters))])
    assert response.status_code in (200, 201), response.get_data(as_text=True)

    started = agent.start("c7_external", {})

    assert started["incidents"] == []
    with db() as session:
        assert session.scalars(select(Notification.message)).all() == ["6"]


def test_an_external_tasks_sum_of_a_text_and_a_number_is_a_number(owner, agent, db):
    with db() as session:
        create_user(session, username="li", role="agent")
    parameters = (
        '<camunda:inputParameter name="user">li</camunda:inputParameter>'
        '<camunda:inputParameter name="message">${amount + 1}</camunda:inputParameter>'
    )
    response = owner.upload(extra=[("ext.bpmn", external("notify.user", parameters))])
    assert response.status_code in (200, 201), response.get_data(as_text=True)

    started = agent.start("c7_external", {"amount": "12"})

    assert started["incidents"] == []  # was: can only concatenate str (not "int") to str
    with db() as session:
        assert session.scalars(select(Notification.message)).all() == ["13"]
