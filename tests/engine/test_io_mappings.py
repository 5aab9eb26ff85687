"""Input and output mappings on user tasks, subprocesses and events, as Camunda Modeler 5
writes them for Camunda 7 (``camunda:inputOutput``) and Camunda 8 (``zeebe:ioMapping``).

They were refused at deploy ("map data with a script task"). Now inputs are the element's own
variables while it runs (its form shows them) and are gone after it, a variable they covered
as it was; outputs set what leaves it; Camunda 7 sets what a person submitted on the process
(a field named as an input excepted), Camunda 8 keeps it local when the task has outputs."""

# ruff: noqa: E501  (diagrams written as Camunda Modeler writes them, one element a line)
from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, by_element, refused

C7 = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
)
C8 = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


def diagram(namespaces: str, process_id: str, body: str, exporter: str = "5.20.0") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions {namespaces} id="defs" targetNamespace="http://bpmn.io/schema/bpmn" '
        f'exporter="Camunda Modeler" exporterVersion="{exporter}">\n'
        f'  <bpmn:process id="{process_id}" isExecutable="true">\n{body}\n  </bpmn:process>\n'
        "</bpmn:definitions>\n"
    ).encode()


CALL_FORM = """
          <camunda:formData>
            <camunda:formField id="customer_label" label="Customer" type="string" />
            <camunda:formField id="outcome" label="Outcome" type="enum">
              <camunda:value id="interested" name="Interested" />
              <camunda:value id="no_answer" name="No answer" />
            </camunda:formField>
          </camunda:formData>"""


def c7_call(call_outputs: str = "", end_io: str = "") -> bytes:
    """Start → the call result task (its form shows the customer's name its input gives) →
    the deal subprocess mapping the amount with a 10% uplift → end."""
    return diagram(
        C7,
        "c7_io_call",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_call" name="Log the call result">
      <bpmn:extensionElements>{CALL_FORM}
        <camunda:inputOutput>
          <camunda:inputParameter name="customer_label">${{customer.name}} (${{customer.city}})</camunda:inputParameter>
          <camunda:inputParameter name="greeting">Hello ${{customer.name}}</camunda:inputParameter>
          <camunda:inputParameter name="channels">
            <camunda:list>
              <camunda:value>phone</camunda:value>
              <camunda:value>${{customer.city}}</camunda:value>
            </camunda:list>
          </camunda:inputParameter>
          <camunda:inputParameter name="script_score">
            <camunda:script scriptFormat="python">len(channels) * 10</camunda:script>
          </camunda:inputParameter>{call_outputs}
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:subProcess id="Activity_deal" name="Work the deal">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="deal_amount">${{quote.amount * 1.1}}</camunda:inputParameter>
          <camunda:inputParameter name="terms">
            <camunda:map>
              <camunda:entry key="currency">CNY</camunda:entry>
              <camunda:entry key="amount">${{quote.amount}}</camunda:entry>
            </camunda:map>
          </camunda:inputParameter>
          <camunda:outputParameter name="commission_due">${{commission}}</camunda:outputParameter>
          <camunda:outputParameter name="deal_terms">${{terms}}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:startEvent id="Event_deal_start" />
      <bpmn:scriptTask id="Activity_commission" name="Commission" scriptFormat="python">
        <bpmn:script>commission = round(deal_amount * 0.05, 2)</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:endEvent id="Event_deal_end" />
      <bpmn:sequenceFlow id="Flow_d1" sourceRef="Event_deal_start" targetRef="Activity_commission" />
      <bpmn:sequenceFlow id="Flow_d2" sourceRef="Activity_commission" targetRef="Event_deal_end" />
    </bpmn:subProcess>
    <bpmn:endEvent id="Event_won">{end_io}</bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Activity_deal" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_deal" targetRef="Event_won" />""",
    )


START = {
    "customer": {"name": "Li Wei", "city": "Hangzhou"},
    "quote": {"amount": 1000},
    "greeting": "kept",
}


def _run(owner: Actor, agent: Actor, name: str, text: bytes, data: dict[str, Any]):
    response = owner.upload(extra=[(f"{name}.bpmn", text)])
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:3000]
    started = agent.start(name, data)
    assert started["status"] == "running", started
    return started


def test_a_camunda_7_call_task_shows_its_inputs_and_hands_on_its_outputs(
    owner: Actor, agent: Actor
) -> None:
    outputs = """
          <camunda:outputParameter name="call_outcome">${outcome}</camunda:outputParameter>
          <camunda:outputParameter name="call_score">${script_score + 1}</camunda:outputParameter>"""
    end_io = """
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="label">Won: ${call_outcome}</camunda:inputParameter>
          <camunda:outputParameter name="summary">${label}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>"""
    started = _run(owner, agent, "c7_io_call", c7_call(outputs, end_io), START)
    [task] = started["ready_tasks"]
    assert task["values"]["customer_label"] == "Li Wei (Hangzhou)"
    assert "customer_label" not in started["data"]
    done = agent.complete_ok(task["id"], {"outcome": "interested", "customer_label": "typed"})
    assert done["status"] == "completed", [i["message"] for i in done["incidents"]]
    data = done["data"]
    assert data["call_outcome"] == "interested" and data["call_score"] == 21
    # Camunda 7 sets what a task is completed with on the process instance, outputs or not
    assert data["outcome"] == "interested"
    # inputs are gone, and the one that covered a process variable left it as it was
    for local in ("customer_label", "channels", "script_score", "deal_amount", "terms", "label"):
        assert local not in data, local
    assert data["greeting"] == "kept"
    # the subprocess: its mapped amount seen inside, its outputs set outside
    assert data["commission_due"] == 55.0
    assert data["commission"] == 55.0  # set inside, not local: Camunda 7 propagates it
    assert data["deal_terms"] == {"currency": "CNY", "amount": 1000}
    assert data["summary"] == "Won: interested"


def test_without_outputs_a_camunda_7_task_hands_on_what_was_submitted(
    owner: Actor, agent: Actor
) -> None:
    started = _run(owner, agent, "c7_io_call", c7_call(), START)
    [task] = started["ready_tasks"]
    done = agent.complete_ok(task["id"], {"outcome": "no_answer"})
    assert done["data"]["outcome"] == "no_answer"
    assert "customer_label" not in done["data"] and done["data"]["greeting"] == "kept"


def c8_call(call_outputs: str = "") -> bytes:
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="c8_call.schema.json" /></spiffworkflow:properties>'
    )
    return diagram(
        C8,
        "c8_io_call",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_call" name="Log the call result">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:ioMapping>
          <zeebe:input source="=customer.name" target="customer_label" />
          <zeebe:input source="=&quot;Dear &quot; + customer_label" target="greeting" />{call_outputs}
        </zeebe:ioMapping>
        {form}
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:subProcess id="Activity_deal" name="Work the deal">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=quote.amount" target="deal_amount" />
          <zeebe:input source="=quote.discount" target="discount" />
          <zeebe:output source="=deal_amount * 0.05" target="commission_due" />
          <zeebe:output source="=deal_amount - 100" target="quote.net" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:startEvent id="Event_deal_start" />
      <bpmn:scriptTask id="Activity_note" name="Note">
        <bpmn:script>noted = deal_amount if discount is None else 0</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:endEvent id="Event_deal_end" />
      <bpmn:sequenceFlow id="Flow_d1" sourceRef="Event_deal_start" targetRef="Activity_note" />
      <bpmn:sequenceFlow id="Flow_d2" sourceRef="Activity_note" targetRef="Event_deal_end" />
    </bpmn:subProcess>
    <bpmn:endEvent id="Event_won">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:output source="=&quot;Closed at &quot; + string(commission_due)" target="summary" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Activity_deal" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_deal" targetRef="Event_won" />""",
        exporter="5.20.0",
    )


C8_FORM = (
    b'{"type": "object", "properties": {"customer_label": {"type": "string"}, '
    b'"outcome": {"type": "string"}}}'
)


def _run_c8(owner: Actor, agent: Actor, text: bytes) -> dict[str, Any]:
    response = owner.upload(extra=[("c8_io_call.bpmn", text), ("c8_call.schema.json", C8_FORM)])
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:3000]
    return agent.start("c8_io_call", START)


def test_a_camunda_8_call_task_merges_its_work_without_outputs(owner: Actor, agent: Actor) -> None:
    started = _run_c8(owner, agent, c8_call())
    [task] = started["ready_tasks"]
    assert task["values"]["customer_label"] == "Li Wei"
    # the form submits a value for an input's name: the task's own, gone with it
    done = agent.complete_ok(task["id"], {"outcome": "interested", "customer_label": "x"})
    data = done["data"]
    assert done["status"] == "completed", [i["message"] for i in done["incidents"]]
    assert data["outcome"] == "interested"  # no outputs: merged as usual
    assert "customer_label" not in data and data["greeting"] == "kept"
    assert data["commission_due"] == 50.0 and "deal_amount" not in data
    # a field the data lacks is null in FEEL; the inner work reaches the process
    assert data["noted"] == 1000 and "discount" not in data
    assert data["quote"] == {"amount": 1000, "net": 900}  # a field of a variable, set
    assert data["summary"] == "Closed at 50"  # 1000 * 0.05 is FEEL's decimal 50


def test_a_camunda_8_task_with_outputs_hands_on_only_them(owner: Actor, agent: Actor) -> None:
    outputs = '\n          <zeebe:output source="=outcome" target="call_outcome" />'
    started = _run_c8(owner, agent, c8_call(outputs))
    [task] = started["ready_tasks"]
    done = agent.complete_ok(task["id"], {"outcome": "no_answer"})
    assert done["data"]["call_outcome"] == "no_answer"
    assert "outcome" not in done["data"] and "customer_label" not in done["data"]


def test_an_input_that_cannot_be_read_is_an_incident_its_retry_runs_again(
    owner: Actor, agent: Actor
) -> None:
    response = owner.upload(extra=[("c7_io_call.bpmn", c7_call())])
    assert response.status_code in (200, 201)
    started = agent.start("c7_io_call", {"quote": {"amount": 10}, "greeting": "kept"})
    assert started["status"] == "error", started
    [incident] = started["incidents"]
    assert incident["element_id"] == "Activity_call"
    assert "the input mapping" in incident["message"] and "'customer'" in incident["message"]
    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry",
        json={"data": {"customer": {"name": "Zhao Min", "city": "Suzhou"}}},
    )
    assert retried.status_code == 200, retried.get_json()
    [task] = agent.instance(started["id"])["ready_tasks"]
    assert task["values"]["customer_label"] == "Zhao Min (Suzhou)"


def test_mappings_that_cannot_run_stay_refused_on_their_line(owner: Actor) -> None:
    body = """    <bpmn:startEvent id="StartEvent_1">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="x">1</camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_js" name="Call">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="ok">${customer.name}</camunda:inputParameter>
          <camunda:inputParameter name="label">
            <camunda:script scriptFormat="javascript">customer.name.toUpperCase()</camunda:script>
          </camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Activity_each" name="Call each">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="who">${lead.name}</camunda:inputParameter>
          <camunda:outputParameter name="last">${outcome}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${leads}" camunda:elementVariable="lead" />
    </bpmn:userTask>
    <bpmn:userTask id="Activity_java" name="Owner">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:outputParameter name="owner">${lead.getOwner()}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_js" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_js" targetRef="Activity_each" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_each" targetRef="Activity_java" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_java" targetRef="Event_end" />"""
    text = diagram(C7, "c7_io_refused", body)
    details = refused(owner.upload(extra=[("c7_io_refused.bpmn", text)]))
    found = by_element(details)
    lines = {d["element_id"]: d["line"] for d in details}
    assert set(found) == {"StartEvent_1", "Activity_js", "Activity_each", "Activity_java"}, found
    assert "'javascript' script; Dialflow evaluates Python" in found["Activity_js"]
    written = text.decode().splitlines()
    assert (
        written[lines["Activity_js"] - 1]
        .strip()
        .startswith('<camunda:inputParameter name="label">')
    )
    assert "maps inputs for each instance, no outputs" in found["Activity_each"]
    assert "getOwner" in found["Activity_java"] and "cannot be computed" in found["Activity_java"]
    assert "Camunda 7 maps no variables on a start event either" in found["StartEvent_1"]


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_a_multi_instance_call_task_gives_each_instance_its_own_inputs(
    owner: Actor, agent: Actor, sequential: bool
) -> None:
    """Camunda 7 applies a multi-instance activity's input mappings to each instance."""
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_each" name="Call each lead">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="who" label="Lead" type="string" />
          <camunda:formField id="reached" label="Reached" type="boolean" />
        </camunda:formData>
        <camunda:inputOutput>
          <camunda:inputParameter name="who">${lead.name} (${campaign})</camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="SEQ" camunda:collection="${leads}" camunda:elementVariable="lead" />
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_each" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_each" targetRef="Event_end" />"""
    body = body.replace("SEQ", "true" if sequential else "false")
    leads = [{"name": "Wang Fang"}, {"name": "Chen Jie"}]
    started = _run(
        owner,
        agent,
        "c7_io_each",
        diagram(C7, "c7_io_each", body),
        {"leads": leads, "campaign": "Q3"},
    )
    shown = []
    while started["ready_tasks"]:
        task = started["ready_tasks"][0]
        shown.append(task["values"]["who"])
        started = done = agent.complete_ok(task["id"], {"reached": True})
    assert sorted(shown) == ["Chen Jie (Q3)", "Wang Fang (Q3)"]
    assert done["status"] == "completed", [i["message"] for i in done["incidents"]]
    assert "who" not in done["data"] and done["data"]["reached"] is True
