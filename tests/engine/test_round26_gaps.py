"""What round 26 left, deployed and run through the API as the engines behave.

A Camunda 7 external task with error event definitions and no input/output mapping hands the
worker's result to the process as one without them (it was dropped); Camunda's generic
properties naming a property Dialflow reads (``kind``, ``priority``) are read as Dialflow's
own (ignored); a Camunda 8 listener passes the operator's optional parameters the data has and
the element's input mappings, and its job's variables are set in the data (only the required
parameters, read from the data, and the result kept under the drawn task's name). A binding
by version tag to a process deployed with the caller carrying that tag calls it; a binding
to the deployment calls the version deployed with the caller.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from crm.customers import create_customer
from crm.models import Activity, Call
from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext
from tests.engine.conftest import Actor

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
ZEEBE = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'


def definitions(namespace: str, body: str, *, errors: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'{namespace} id="defs" targetNamespace="http://bpmn.io/schema/bpmn">\n'
        f"{errors}{body}\n</bpmn:definitions>\n"
    ).encode()


def chain(process_id: str, *elements: str) -> str:
    """A process: start → each element in turn (``(id, xml)`` pairs written whole) → end."""
    start, end = f"{process_id}_start", f"{process_id}_end"
    ids = [start, *[element.split('id="', 1)[1].split('"', 1)[0] for element in elements], end]
    flows = "".join(
        f'<bpmn:sequenceFlow id="{process_id}_f{n}" sourceRef="{a}" targetRef="{b}" />'
        for n, (a, b) in enumerate(pairwise(ids))
    )
    return (
        f'<bpmn:process id="{process_id}" isExecutable="true"><bpmn:startEvent id="{start}" />'
        f'{"".join(elements)}<bpmn:endEvent id="{end}" />{flows}</bpmn:process>'
    )


def deployed(actor: Actor, name: str, text: bytes) -> None:
    response = actor.upload(extra=[(name, text)])
    assert response.status_code in (200, 201), response.get_json()


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Wang Fang", "phones": ["+8613800138000"]}, actor=None
        ).id


def only(items: list[Any]) -> Any:
    (item,) = items
    return item


# -- 1. a Camunda 7 external task's error definitions without an input/output mapping ------


@pytest.fixture
def lookup_engine(runtime: Runtime) -> ProcessEngine:
    """The runtime's engine with ``test.overdue``, a worker that reads nothing and answers
    how overdue the payment is (every shipped operator needs parameters, which only a
    mapping gives an external task)."""
    registry = build_registry()

    @registry.register("test.overdue", "How overdue the payment is")
    def overdue(ctx: HandlerContext, account: str = "main") -> dict[str, Any]:
        return {"days_overdue": 12, "account": account}

    engine = ProcessEngine(registry=registry, clock=runtime.clock)
    runtime._engine = engine
    return engine


def payment_check(process_id: str, *, throws: bool) -> bytes:
    error = '<bpmn:error id="Error_overdue" errorCode="OVERDUE" />' if throws else ""
    definition = (
        '<bpmn:extensionElements><camunda:errorEventDefinition id="d1" '
        'errorRef="Error_overdue" expression="${days_overdue &gt; 30}" />'
        "</bpmn:extensionElements>"
        if throws
        else ""
    )
    task = (
        f'<bpmn:serviceTask id="check" camunda:type="external" camunda:topic="test.overdue">'
        f"{definition}</bpmn:serviceTask>"
    )
    review = '<bpmn:userTask id="review" />'
    body = chain(process_id, task, review)
    if throws:
        body = body.replace(
            "</bpmn:process>",
            '<bpmn:boundaryEvent id="late" attachedToRef="check"><bpmn:errorEventDefinition '
            'errorRef="Error_overdue" /></bpmn:boundaryEvent>'
            '<bpmn:endEvent id="chased" /><bpmn:sequenceFlow id="fl" sourceRef="late" '
            'targetRef="chased" /></bpmn:process>',
        )
    return definitions(CAMUNDA, body, errors=error)


def test_an_external_task_with_error_definitions_and_no_mapping_hands_on_its_result(
    lookup_engine, owner, agent
):
    """Camunda 7 sets what the worker completes the task with on the execution; with an error
    event definition whose expression does not hold, the result reaches the process as it
    does from the same task without one (it was dropped)."""
    deployed(owner, "plain.bpmn", payment_check("r26g_plain", throws=False))
    deployed(owner, "throws.bpmn", payment_check("r26g_throws", throws=True))
    plain = agent.start("r26g_plain", {"customer": "Wang"})
    checked = agent.start("r26g_throws", {"customer": "Wang"})
    assert [t["name"] for t in checked["ready_tasks"]] == ["review"]
    assert checked["data"] == plain["data"]
    assert {"days_overdue": 12, "account": "main"} in checked["data"].values()
    assert not [key for key in checked["data"] if key.startswith("_")]


# -- 2. Camunda's generic properties that name a property Dialflow reads ----------------------


def test_zeebe_and_camunda_properties_give_the_work_item_its_kind_and_priority(owner, agent):
    """``<zeebe:property name="kind" value="callback"/>`` and ``priority`` on a Camunda 8 user
    task, ``<camunda:property>`` on a Camunda 7 one: read as spiffworkflow:properties are (the
    work item had no kind and priority 0); a name Dialflow does not read stays bookkeeping."""
    zeebe_task = (
        '<bpmn:userTask id="callback"><bpmn:extensionElements><zeebe:userTask />'
        '<zeebe:properties><zeebe:property name="kind" value="callback" />'
        '<zeebe:property name="priority" value="80" />'
        '<zeebe:property name="owner-team" value="East sales" /></zeebe:properties>'
        "</bpmn:extensionElements></bpmn:userTask>"
    )
    camunda_task = (
        '<bpmn:userTask id="visit"><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="kind" value="visit" /><camunda:property name="sla" '
        'value="1d" /></camunda:properties></bpmn:extensionElements></bpmn:userTask>'
    )
    deployed(owner, "c8.bpmn", definitions(ZEEBE, chain("r26g_c8_kind", zeebe_task)))
    deployed(owner, "c7.bpmn", definitions(CAMUNDA, chain("r26g_c7_kind", camunda_task)))
    agent.start("r26g_c8_kind")
    agent.start("r26g_c7_kind")
    found = {t["name"]: (t["kind"], t["priority"]) for t in agent.tasks()}
    assert found == {"callback": ("callback", 80), "visit": ("visit", 0)}


def test_a_zeebe_property_a_task_also_says_itself_keeps_the_tasks_own(owner, agent):
    """``zeebe:priorityDefinition`` beside a ``priority`` property: the definition holds."""
    task = (
        '<bpmn:userTask id="call"><bpmn:extensionElements><zeebe:userTask />'
        '<zeebe:priorityDefinition priority="30" /><zeebe:properties>'
        '<zeebe:property name="priority" value="90" /><zeebe:property name="kind" '
        'value="call" /></zeebe:properties></bpmn:extensionElements></bpmn:userTask>'
    )
    deployed(owner, "c8.bpmn", definitions(ZEEBE, chain("r26g_c8_both", task)))
    agent.start("r26g_c8_both")
    assert [(t["kind"], t["priority"]) for t in agent.tasks()] == [("call", 30)]


# -- 3. bindings: by version tag the tagged one, by deployment the one deployed with it ----


def called(version: str) -> str:
    return chain("r26g_called", f'<bpmn:userTask id="work_{version}" name="{version}" />')


def caller(binding: str) -> str:
    call = (
        '<bpmn:callActivity id="call"><bpmn:extensionElements>'
        f'<zeebe:calledElement processId="r26g_called" {binding} />'
        "</bpmn:extensionElements></bpmn:callActivity>"
    )
    return chain("r26g_caller", call)


def test_a_call_bound_by_version_tag_calls_the_tagged_process_deployed_with_it(owner, agent):
    tagged = called("v2").replace(
        'isExecutable="true">',
        'isExecutable="true"><bpmn:extensionElements><zeebe:versionTag value="v2" />'
        "</bpmn:extensionElements>",
    )
    body = caller('bindingType="versionTag" versionTag="v2"') + tagged
    deployed(owner, "tagged.bpmn", definitions(ZEEBE, body))
    agent.start("r26g_caller")
    assert [t["name"] for t in agent.tasks()] == ["work_v2"]


def test_a_call_bound_to_the_deployment_calls_the_version_deployed_with_it(owner, agent):
    """Deployed together, then a newer version of the called process alone: the caller still
    calls the one deployed with it, and the process started alone is the newer."""
    both = caller('bindingType="deployment"') + called("first")
    deployed(owner, "both.bpmn", definitions(ZEEBE, both))
    deployed(owner, "called.bpmn", definitions(ZEEBE, called("second")))
    started = agent.start("r26g_caller")
    assert [t["name"] for t in agent.tasks()] == ["work_first"]
    assert agent.start("r26g_called")["ready_tasks"][0]["name"] == "work_second"
    assert started["status"] == "running"


# -- 4. a Camunda 8 listener: optional parameters, inputs, its job's variables -------------


def listened_call() -> bytes:
    task = (
        '<bpmn:userTask id="call"><bpmn:extensionElements><zeebe:userTask />'
        '<zeebe:ioMapping><zeebe:input source="=&#34;Calling &#34; + name" target="text" />'
        "</zeebe:ioMapping><zeebe:executionListeners>"
        '<zeebe:executionListener eventType="start" type="crm.add_note" />'
        '<zeebe:executionListener eventType="end" type="crm.log_call" />'
        "</zeebe:executionListeners></bpmn:extensionElements></bpmn:userTask>"
    )
    return definitions(ZEEBE, chain("r26g_listened", task))


def test_a_listener_passes_inputs_and_optional_parameters_and_sets_its_jobs_variables(
    owner, agent, db
):
    """The start listener's ``text`` is the task's input mapping (Camunda runs it after the
    inputs; it was read from the data, which has none: an incident); the end listener's
    optional ``notes`` and ``duration_s`` come from the data when it has them, and its job's
    variables (``call_id``) are set in the data, as a job worker's are."""
    deployed(owner, "listened.bpmn", listened_call())
    cid = customer(db)
    started = agent.start("r26g_listened", {"customer_id": cid, "name": "Wang"})
    assert (started["status"], started["incidents"]) == ("running", [])
    assert started["data"]["note_id"] > 0
    call = only(agent.tasks())
    done = agent.complete_ok(
        call["id"], {"disposition": "connected_interested", "notes": "wants a quote"}
    )
    assert done["status"] == "completed"
    with db() as session:
        logged = only(session.scalars(select(Call)).all())
        assert (logged.notes, logged.duration_s) == ("wants a quote", 0)
        assert session.scalars(select(Activity.body)).all() == ["Calling Wang"]
    assert done["data"]["call_id"] == logged.id
    assert not [key for key in done["data"] if key.startswith(("spiff__", "_"))]

    # without the optional ones in the data, the operator's defaults
    again = agent.start("r26g_listened", {"customer_id": cid, "name": "Li"})
    task = only(again["ready_tasks"])
    agent.complete_ok(task["id"], {"disposition": "no_answer", "duration_s": "40"})
    with db() as session:
        last = session.scalars(select(Call).order_by(Call.id.desc())).first()
        assert (last.notes, last.duration_s) == (None, 40)
