"""A multi-instance user task's form starts with the item it is for.

"Call customer 3 of 5": the activity's input item (the customer) is in that task's own data,
never in the instance's, and the form's ``values`` were read from the instance's data alone,
so the agent's form started without the customer's name and phone.
"""

from __future__ import annotations

import json
from typing import Any

from crm.models import User
from crm.users import hash_password
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import Actor
from tests.engine.test_completion_failures import NS

FORM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "readOnly": True},
        "phone": {"type": "string"},
        "customer": {"type": "object"},
        "outcome": {"type": "string", "enum": ["reached", "no_answer"]},
        "code": {"type": "string", "writeOnly": True},
    },
}


def diagram(process_id: str, sequential: bool, around: str = "", prepare: str = "") -> str:
    """A call task per customer of ``customers``, itself multi-instance or (``around`` =
    "subprocess") in a multi-instance embedded subprocess; ``prepare``, a script run first."""
    loop = (
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
        "<bpmn:loopDataInputRef>customers</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="customer" name="customer"/>'
        "</bpmn:multiInstanceLoopCharacteristics>"
    )
    call = (
        '<bpmn:userTask id="call" name="Call the customer"><bpmn:extensionElements>'
        "<spiffworkflow:properties>"
        '<spiffworkflow:property name="formJsonSchemaFilename" value="call-form.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements>"
        f"{'' if around else loop}</bpmn:userTask>"
    )
    if around:
        call = (
            f'<bpmn:subProcess id="round">{loop}<bpmn:startEvent id="ss"/>'
            '<bpmn:sequenceFlow id="sf1" sourceRef="ss" targetRef="call"/>'
            f'{call}<bpmn:sequenceFlow id="sf2" sourceRef="call" targetRef="se"/>'
            '<bpmn:endEvent id="se"/></bpmn:subProcess>'
        )
    first = "round" if around else "call"
    if prepare:
        call = (
            f'<bpmn:scriptTask id="prepare"><bpmn:script>{prepare}</bpmn:script></bpmn:scriptTask>'
            f'<bpmn:sequenceFlow id="fp" sourceRef="prepare" targetRef="{first}"/>{call}'
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" '
        'targetNamespace="http://example.com/calls">'
        f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="s"/>'
        f'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{"prepare" if prepare else first}"/>'
        f"{call}"
        f'<bpmn:sequenceFlow id="f2" sourceRef="{first}" targetRef="e"/><bpmn:endEvent id="e"/>'
        "</bpmn:process></bpmn:definitions>"
    )


CUSTOMERS = [
    {"name": "王芳", "phone": "+8613800000001", "code": "secret-1"},
    {"name": "李雷", "phone": "+8613800000002", "code": "secret-2"},
    {"name": "张伟", "phone": None},
]


def deploy(
    owner: Actor, process_id: str, sequential: bool, around: str = "", prepare: str = ""
) -> None:
    response = owner.post(
        "/api/v1/process-models",
        json={
            "bpmn": diagram(process_id, sequential, around, prepare),
            "forms": {"call-form.json": FORM},
        },
    )
    assert response.status_code in (200, 201), response.get_json()


def expected(customer: dict[str, Any]) -> dict[str, Any]:
    """The item's own fields the form has (not the write-only code, not an empty phone), and
    the item itself for the form's field named as the activity's input item."""
    shown = {key: customer[key] for key in ("name", "phone") if customer.get(key) is not None}
    return {**shown, "customer": customer}


def test_each_parallel_instance_starts_with_its_customer(owner, agent):
    deploy(owner, "call_all", sequential=False)
    started = agent.start("call_all", {"customers": CUSTOMERS, "name": "the campaign"})

    tasks = started["ready_tasks"]
    assert [task["values"] for task in tasks] == [expected(c) for c in CUSTOMERS]
    read = agent.get("/api/v1/tasks?mine=1&values=1&process_id=call_all").get_json()["items"]
    assert sorted(json.dumps(t["values"], sort_keys=True) for t in read) == sorted(
        json.dumps(expected(c), sort_keys=True) for c in CUSTOMERS
    )

    # the instance's own ``name`` is not the customer's: the item's wins for its task
    agent.complete_ok(tasks[0]["id"], {"outcome": "reached", "phone": "+8613800000009"})
    again = agent.instance(started["id"])["ready_tasks"]
    assert [task["values"] for task in again] == [expected(c) for c in CUSTOMERS[1:]]


def test_the_next_sequential_instance_starts_with_the_next_customer(owner, agent):
    """The first call's answers (``phone``, ``outcome``) are not offered to the second call:
    it starts with its own customer's fields."""
    deploy(owner, "call_in_turn", sequential=True)
    started = agent.start("call_in_turn", {"customers": CUSTOMERS})

    [first] = started["ready_tasks"]
    assert first["values"] == expected(CUSTOMERS[0])
    done = agent.complete_ok(first["id"], {"outcome": "reached", "phone": "+8613800000009"})
    [second] = done["ready_tasks"]
    assert second["values"] == expected(CUSTOMERS[1])


def test_the_task_page_shows_the_customer_the_task_is_for(owner, agent, client, db):
    deploy(owner, "call_on_page", sequential=True)
    started = agent.start("call_on_page", {"customers": CUSTOMERS})
    with db() as session:
        session.get(User, agent.user.id).password_hash = hash_password(PASSWORD)
    assert sign_in(client, agent.username).status_code == 302

    page = client.get(f"/tasks/{started['ready_tasks'][0]['id']}")

    assert page.status_code == 200
    assert "王芳" in page.text and "+8613800000001" in page.text


def test_a_task_in_a_multi_instance_subprocess_starts_with_its_customer(owner, agent):
    deploy(owner, "call_rounds", sequential=False, around="subprocess")
    started = agent.start("call_rounds", {"customers": CUSTOMERS[:2]})

    assert [task["values"] for task in started["ready_tasks"]] == [
        expected(c) for c in CUSTOMERS[:2]
    ]


def test_an_item_a_script_built_with_a_date_starts_its_form_as_text(owner, agent):
    """A script's ``datetime`` in the item is offered as the text the instance's data shows
    it as, not a step failing to store it."""
    deploy(
        owner,
        "call_built",
        sequential=False,
        prepare="customers = [{'name': '王芳', 'since': parse_time('2026-05-04T09:00:00')}]",
    )
    started = agent.start("call_built")

    assert started["incidents"] == [] and started["status"] == "running", started
    [task] = started["ready_tasks"]
    assert task["values"] == {
        "name": "王芳",
        "customer": {"name": "王芳", "since": "2026-05-04 09:00:00+08:00"},
    }
