"""Call activities' variable mappings as Camunda 7, Flowable, Activiti and Camunda 8 write
them, deployed and run end to end through the API: a complaint calling a refund process
(Camunda 7), a lead calling a grading process (Flowable, Activiti), a deal calling a contract
process (Camunda 8). The called process sees what the mappings give it, the caller gets back
what they return; what cannot run as drawn is refused on the call activity with its line.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, by_element, refused
from tests.engine.diagram_folders import nothing_deployed, upload

BPMN = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
FLOWABLE = 'xmlns:flowable="http://flowable.org/bpmn"'
ZEEBE = 'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'

# The called process records what it was given (a name it lacks is not there), then waits
# for a person, so its data can be read while it runs.
NAMES = ("amount", "customer", "customer_id", "deal", "deal_id", "net", "lead", "note")
SEEN = "seen = []\n" + "\n".join(
    f"try:\n    {name}\n    seen.append({name!r})\nexcept NameError:\n    pass"
    for name in (*NAMES, "region", "score")
)


def _definitions(namespaces: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {BPMN} {namespaces} '
        f'id="defs" targetNamespace="http://bpmn.io/schema/bpmn">\n{body}\n</bpmn:definitions>\n'
    ).encode()


def _caller(process_id: str, call: str, after: str = "done = True") -> str:
    return f"""  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Call"/>
{call}
    <bpmn:sequenceFlow id="f2" sourceRef="Call" targetRef="after"/>
    <bpmn:scriptTask id="after" scriptFormat="python"><bpmn:script>{after}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>"""


def _called(process_id: str, script: str) -> str:
    return f"""  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="c_start"/>
    <bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="c_work"/>
    <bpmn:scriptTask id="c_work" scriptFormat="python"><bpmn:script>{SEEN}
{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="c2" sourceRef="c_work" targetRef="c_check"/>
    <bpmn:userTask id="c_check" name="Check it"/>
    <bpmn:sequenceFlow id="c3" sourceRef="c_check" targetRef="c_end"/>
    <bpmn:endEvent id="c_end"/>
  </bpmn:process>"""


REFUND = _called(
    "refund",
    'refund_id = "R-%s-%s" % (customer_id, amount)\napproved = amount &lt;= 500\ninternal = 1',
)
COMPLAINT_CALL = """    <bpmn:callActivity id="Call" name="Refund" calledElement="refund">
      <bpmn:extensionElements>
        <camunda:in businessKey="#{execution.processBusinessKey}"/>
        <camunda:in source="complaint_amount" target="amount"/>
        <camunda:in sourceExpression="${customer.id}" target="customer_id"/>
        <camunda:in source="note" target="note"/>
        <camunda:out source="refund_id" target="refund_ref"/>
        <camunda:out source="approved" target="refund_approved"/>
      </bpmn:extensionElements>
    </bpmn:callActivity>"""
COMPLAINT = _definitions(CAMUNDA, _caller("complaint", COMPLAINT_CALL) + "\n" + REFUND)


def _deployed(owner: Actor, name: str, content: bytes) -> None:
    response = upload(owner, (name, content))
    assert response.status_code == 201, response.get_json()


def _inside(agent: Actor, instance: dict[str, Any]) -> dict[str, Any]:
    """The called process's user task, completed: the instance after it."""
    [task] = [t for t in agent.tasks() if t["process_instance_id"] == instance["id"]]
    assert task["name"] == "c_check"
    return agent.complete_ok(task["id"], {})


def test_camunda7_complaint_gives_the_refund_process_only_what_it_maps(owner, agent):
    _deployed(owner, "complaint.bpmn", COMPLAINT)
    started = agent.start(
        "complaint",
        {"complaint_amount": 300, "customer": {"id": 7, "tier": "gold"}, "internal": 0},
        business_key="c-1",
    )
    assert started["status"] == "running", started["incidents"]
    done = _inside(agent, started)
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    # what the out mappings return, under their targets; nothing else of the refund's data
    assert (data["refund_ref"], data["refund_approved"]) == ("R-7-300", True)
    assert {"refund_id", "approved", "amount", "customer_id", "seen"}.isdisjoint(data)
    assert (data["internal"], data["complaint_amount"], data["done"]) == (0, 300, True)


def test_camunda7_refund_process_sees_the_mapped_names_only(owner, agent):
    """The called process's own data, read back through an out variables="all"."""
    content = COMPLAINT.replace(
        b'<camunda:out source="approved" target="refund_approved"/>',
        b'<camunda:out variables="all"/>',
    )
    _deployed(owner, "complaint.bpmn", content)
    started = agent.start("complaint", {"complaint_amount": 900, "customer": {"id": 3}})
    done = _inside(agent, started)
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    assert data["seen"] == ["amount", "customer_id", "note"]
    assert (data["note"], data["approved"], data["refund_ref"]) == (None, False, "R-3-900")
    assert data["customer"] == {"id": 3}  # the caller's own, untouched


GRADING = _called(
    "grading",
    'grade = "A" if score &gt;= 80 and region == "East" else "B"\nscore = 0',
)
LEAD_CALL = """    <bpmn:callActivity id="Call" name="Grade the lead" calledElement="grading"
      flowable:calledElementType="key" flowable:sameDeployment="true"
      flowable:inheritBusinessKey="true" flowable:inheritVariables="{inherit}">
      <bpmn:extensionElements>
        <flowable:in source="lead_score" target="score"/>
        <flowable:in sourceExpression="${{lead.region}}" target="region"/>
        <flowable:out source="grade" target="lead_grade"/>
      </bpmn:extensionElements>
    </bpmn:callActivity>"""


def _lead(inherit: str, engine: str = "flowable") -> bytes:
    content = _definitions(
        FLOWABLE, _caller("lead", LEAD_CALL.format(inherit=inherit)) + "\n" + GRADING
    )
    if engine == "activiti":
        content = content.replace(b"flowable", b"activiti")
    return content


@pytest.mark.parametrize(
    ("engine", "inherit", "seen"),
    [
        ("flowable", "false", ["region", "score"]),
        ("flowable", "true", ["lead", "region", "score"]),
        ("activiti", "false", ["region", "score"]),
    ],
)
def test_flowable_and_activiti_lead_is_graded_with_its_mapped_score(
    owner, agent, engine, inherit, seen
):
    _deployed(owner, "lead.bpmn20.xml", _lead(inherit, engine))
    started = agent.start("lead", {"lead_score": 85, "lead": {"region": "East"}})
    running = agent.instance(started["id"])
    assert running["status"] == "running", running["incidents"]
    done = _inside(agent, started)
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    assert data["lead_grade"] == "A"
    # the grading process's own score (set to 0) and its names do not come back
    assert data["lead_score"] == 85 and {"score", "grade", "region", "seen"}.isdisjoint(data)
    # what the grading process saw, returned by an out variables="all" variant
    content = _lead(inherit, engine).replace(
        b'<{0}:out source="grade" target="lead_grade"/>'.replace(b"{0}", engine.encode()),
        b'<{0}:out variables="all"/>'.replace(b"{0}", engine.encode()),
    )
    _deployed(owner, "lead.bpmn20.xml", content)
    again = _inside(agent, agent.start("lead", {"lead_score": 60, "lead": {"region": "East"}}))
    assert (again["data"]["seen"], again["data"]["grade"]) == (seen, "B")
    assert again["data"]["score"] == 0  # the called process's value, returned


CONTRACT = _called("contract", 'contract_no = "K-%s" % deal_id\nsigned = True')
DEAL_CALL = """    <bpmn:callActivity id="Call" name="Draw up the contract">
      <bpmn:extensionElements>
        <zeebe:calledElement processId="contract"{flags}/>
        <zeebe:ioMapping>
          <zeebe:input source="=deal.id" target="deal_id"/>
          <zeebe:input source="=deal.amount * 0.9" target="net"/>
{outputs}        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:callActivity>"""
OUTPUT = '          <zeebe:output source="=contract_no" target="contract"/>\n'


def _deal(flags: str = "", outputs: str = OUTPUT) -> bytes:
    call = DEAL_CALL.format(flags=flags, outputs=outputs)
    return _definitions(ZEEBE, _caller("deal", call) + "\n" + CONTRACT)


SEEN_OUT = '          <zeebe:output source="=seen" target="seen"/>\n'


@pytest.mark.parametrize(
    ("flags", "outputs", "back"),
    [
        (
            ' propagateAllChildVariables="false" propagateAllParentVariables="false"',
            OUTPUT + SEEN_OUT,
            {"contract": "K-12", "seen": ["deal_id", "net"]},
        ),
        ("", OUTPUT + SEEN_OUT, {"contract": "K-12", "seen": ["deal", "deal_id", "net"]}),
        (' propagateAllChildVariables="false"', "", {}),
        (
            ' propagateAllParentVariables="false"',
            "",
            {
                "contract_no": "K-12",
                "signed": True,
                "deal_id": 12,
                "net": 900.0,
                "seen": ["deal_id", "net"],
            },
        ),
    ],
    ids=["outputs-only", "all-in-outputs", "nothing-back", "all-back"],
)
def test_camunda8_deal_calls_the_contract_process_through_its_io_mapping(
    owner, agent, flags, outputs, back
):
    _deployed(owner, "deal.bpmn", _deal(flags, outputs))
    started = agent.start("deal", {"deal": {"id": 12, "amount": 1000}})
    assert started["status"] == "running", started["incidents"]
    # while the contract process runs, the inputs are its own, not the deal's
    assert agent.instance(started["id"])["data"] == {"deal": {"id": 12, "amount": 1000}}
    done = _inside(agent, started)
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    assert {k: v for k, v in data.items() if k not in ("deal", "done")} == back
    assert data["deal"] == {"id": 12, "amount": 1000} and data["done"] is True


@pytest.mark.parametrize(
    ("content", "element", "words"),
    [
        (
            COMPLAINT.replace(
                b'sourceExpression="${customer.id}"', b'sourceExpression="${customer.getId()}"'
            ),
            "Call",
            "script task at the end of the caller's path (customer_id = <the Python of it>)",
        ),
        (
            COMPLAINT.replace(
                b'<camunda:out source="approved" target="refund_approved"/>',
                b'<camunda:out source="approved" target="refund_approved" local="true"/>',
            ),
            "Call",
            'remove local="true"',
        ),
        (
            COMPLAINT.replace(b'source="refund_id" target="refund_ref"', b'source="refund_id"'),
            "Call",
            "name the variable it sets in target",
        ),
        (
            COMPLAINT.replace(b'target="refund_approved"', b'target="refund.approved"'),
            "Call",
            "target 'refund.approved' is no variable name",
        ),
        (
            _deal(outputs=OUTPUT.replace('target="contract"', 'target="deal.contract"')),
            "Call",
            "a target names one variable",
        ),
        (
            _deal(outputs=OUTPUT.replace("=contract_no", "=for i in 1..3 return contract_no")),
            "Call",
            "FEEL's range '1..3'",
        ),
        (_deal(flags=' propagateAllChildVariables="maybe"'), "Call", 'takes "true" or "false"'),
    ],
    ids=[
        "juel-expression",
        "local",
        "no-target",
        "field-target",
        "zeebe-field-target",
        "zeebe-feel-function",
        "zeebe-flag",
    ],
)
def test_mappings_that_cannot_run_as_drawn_are_refused_on_their_line(
    owner, db, content, element, words
):
    details = refused(upload(owner, ("bad.bpmn", content)))
    found = by_element(details)
    assert words in found[element], found
    [detail] = [d for d in details if d["element_id"] == element]
    text = content.decode()
    said = next(i for i, line in enumerate(text.splitlines(), 1) if _marker(words, line))
    assert detail["line"] == said, (detail, said)
    nothing_deployed(db)


def _marker(words: str, line: str) -> bool:
    for part in (
        "getId()",
        'local="true"',
        'source="refund_id"/>',
        "refund.approved",
        "deal.contract",
        "1..3",
        "maybe",
    ):
        if part in line:
            return True
    return False


def test_a_failing_input_or_output_is_an_incident_on_the_call_activity_its_retry_fixes(
    owner, agent
):
    signed = '<zeebe:input source="=string(10 ** deal.signed_on)" target="signed_on"/>'
    content = _deal(' propagateAllChildVariables="false"').replace(
        b"        </zeebe:ioMapping>", f"          {signed}\n        </zeebe:ioMapping>".encode(), 1
    )
    _deployed(owner, "deal.bpmn", content)
    # a power too large to compute: the input fails (a missing field, or a date that is none,
    # would be null, as FEEL reads them)
    failed = agent.start("deal", {"deal": {"id": 12, "amount": 2000, "signed_on": 10**7}})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "Call" and "signed_on" in incident["message"]
    assert [t for t in agent.tasks() if t["process_instance_id"] == failed["id"]] == []
    url = f"/api/v1/process-instances/{failed['id']}/retry"
    fixed = owner.post(url, json={"data": {"deal": {"id": 12, "amount": 2000, "signed_on": 2}}})
    assert fixed.status_code == 200, fixed.get_json()
    assert fixed.get_json()["status"] == "running", fixed.get_json()["incidents"]
    done = _inside(agent, fixed.get_json())
    assert done["status"] == "completed" and done["data"]["contract"] == "K-12"

    # an output the called process did not set: an incident once it ended, whose retry
    # reads the outputs again without running the called process twice
    content = _deal(  # the caller's suffix, kept out of the called process
        ' propagateAllParentVariables="false"',
        outputs=OUTPUT.replace("=contract_no", "=contract_no + string(10 ** suffix)"),
    )
    _deployed(owner, "deal.bpmn", content)
    started = agent.start("deal", {"deal": {"id": 5, "amount": 10}, "suffix": 10**7})
    ended = _inside(agent, started)
    assert ended["status"] == "error"
    [incident] = ended["incidents"]
    assert incident["element_id"] == "Call" and "suffix" in incident["message"]
    url = f"/api/v1/process-instances/{started['id']}/retry"
    fixed = owner.post(url, json={"data": {"suffix": 4}})
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert body["status"] == "completed", body["incidents"]
    assert body["data"]["contract"] == "K-510000" and "contract_no" not in body["data"]


def test_a_retry_after_an_incident_in_the_called_process_keeps_the_mappings(owner, agent):
    content = COMPLAINT.replace(
        b'refund_id = "R-%s-%s" % (customer_id, amount)',
        b'refund_id = "R-%s-%s" % (customer_id, amount // divisor)',
    ).replace(
        b'<camunda:in source="note" target="note"/>', b'<camunda:in source="d" target="divisor"/>'
    )
    _deployed(owner, "complaint.bpmn", content)
    failed = agent.start("complaint", {"complaint_amount": 300, "customer": {"id": 7}, "d": 0})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "c_work"
    fixed = owner.post(
        f"/api/v1/process-instances/{failed['id']}/retry", json={"data": {"divisor": 3}}
    )
    assert fixed.status_code == 200, fixed.get_json()
    done = _inside(agent, fixed.get_json())
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["refund_ref"] == "R-7-100" and "divisor" not in done["data"]


def test_an_instance_inside_the_called_process_migrates_and_returns_by_the_new_mappings(
    owner, agent
):
    _deployed(owner, "complaint.bpmn", COMPLAINT)
    started = agent.start("complaint", {"complaint_amount": 40, "customer": {"id": 2}})
    newer = COMPLAINT.replace(b'target="refund_approved"', b'target="approved_refund"')
    _deployed(owner, "complaint.bpmn", newer)
    url = f"/api/v1/process-instances/{started['id']}/migrate"
    response = owner.post(url, json={"to_version": 2})
    assert response.status_code == 200, response.get_json()
    done = _inside(agent, agent.instance(started["id"]))
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["approved_refund"] is True and "refund_approved" not in done["data"]


CALL_LIST = """    <bpmn:callActivity id="Call" name="Call each contact" calledElement="dial">
      <bpmn:extensionElements>
        <camunda:in source="contact" target="phone"/>
        <camunda:in sourceExpression="${campaign.name}" target="script_name"/>
        <camunda:out source="outcome" target="outcome"/>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopDataInputRef>contacts</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>outcomes</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="contact"/>
        <bpmn:outputDataItem id="outcome"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:callActivity>"""
DIAL = """  <bpmn:process id="dial" isExecutable="true">
    <bpmn:startEvent id="d_start"/>
    <bpmn:sequenceFlow id="d1" sourceRef="d_start" targetRef="d_work"/>
    <bpmn:scriptTask id="d_work" scriptFormat="python"><bpmn:script>seen = []
try:
    contacts
    seen.append("contacts")
except NameError:
    pass
outcome = "%s: %s (%s)" % (phone, script_name, seen)</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="d2" sourceRef="d_work" targetRef="d_end"/>
    <bpmn:endEvent id="d_end"/>
  </bpmn:process>"""


def test_a_multi_instance_call_activity_gives_each_called_process_its_own_item(owner, agent):
    content = _definitions(CAMUNDA, _caller("call_list", CALL_LIST) + "\n" + DIAL)
    _deployed(owner, "call_list.bpmn", content)
    done = agent.start(
        "call_list", {"contacts": ["+8613800000001", "+8613800000002"], "campaign": {"name": "Q3"}}
    )
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["outcomes"] == ["+8613800000001: Q3 ([])", "+8613800000002: Q3 ([])"]
    assert {"phone", "script_name", "seen"}.isdisjoint(done["data"])


@pytest.mark.parametrize("kind", ["userTask", "subProcess"])
def test_an_io_mapping_on_a_user_task_or_subprocess_runs_as_camunda_8_runs_it(owner, agent, kind):
    """Camunda 8's mappings on a user task or an embedded subprocess were refused with the
    script tasks to draw around it; they run (``engine.io_mappings``): the input is the
    element's own, the output is what leaves it."""
    inner = (
        '<bpmn:startEvent id="s_in"/><bpmn:sequenceFlow id="s1" sourceRef="s_in" '
        'targetRef="s_work"/><bpmn:scriptTask id="s_work" scriptFormat="python"><bpmn:script>'
        "approved = amount &lt; 5000</bpmn:script></bpmn:scriptTask>"
        '<bpmn:sequenceFlow id="s2" sourceRef="s_work" targetRef="s_out"/>'
        '<bpmn:endEvent id="s_out"/>'
        if kind == "subProcess"
        else ""
    )
    call = f"""    <bpmn:{kind} id="Call" name="Review">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=deal.amount" target="amount"/>
          <zeebe:output source="=approved" target="deal_approved"/>
        </zeebe:ioMapping>
      </bpmn:extensionElements>{inner}
    </bpmn:{kind}>"""
    content = _definitions(ZEEBE, _caller("review", call))
    response = upload(owner, ("review.bpmn", content))
    assert response.status_code == 201, response.get_json()
    started = agent.start("review", {"deal": {"amount": 1200}})
    if kind == "userTask":
        [task] = started["ready_tasks"]
        started = agent.complete_ok(task["id"], {"approved": True})
    assert started["status"] == "completed", started["incidents"]
    assert started["data"]["deal_approved"] is True
    assert "amount" not in started["data"]


def test_a_field_the_data_lacks_maps_to_null_as_juel_and_feel_read_a_map(owner, agent):
    """``${customer.id}`` and ``=deal.id`` of an object without that field are null, as the
    Java engines and Camunda 8 read a map; a variable JUEL needs and the data lacks is an
    incident on the call activity, which a retry with the variable starts."""
    _deployed(owner, "complaint.bpmn", COMPLAINT)
    done = _inside(agent, agent.start("complaint", {"complaint_amount": 20, "customer": {}}))
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["refund_ref"] == "R-None-20"
    failed = agent.start("complaint", {"complaint_amount": 20})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert incident["element_id"] == "Call" and "customer" in incident["message"]
    url = f"/api/v1/process-instances/{failed['id']}/retry"
    fixed = owner.post(url, json={"data": {"customer": {"id": 4}}})
    assert fixed.status_code == 200, fixed.get_json()
    done = _inside(agent, fixed.get_json())
    assert done["status"] == "completed" and done["data"]["refund_ref"] == "R-4-20"

    _deployed(owner, "deal.bpmn", _deal())
    done = _inside(agent, agent.start("deal", {"deal": {"amount": 10}}))
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["contract"] == "K-None"


# A lead process as a Chinese team writes it: its variables named in Chinese.
客户_CALLED = _called(
    "grade_cn", "等级 = 'A' if 客户编号 &gt; 5 else 'B'\n说明 = '%s/%s' % (客户编号, 电话)"
)


@pytest.mark.parametrize(
    ("namespaces", "call"),
    [
        (
            CAMUNDA,
            """    <bpmn:callActivity id="Call" calledElement="grade_cn">
      <bpmn:extensionElements>
        <camunda:in sourceExpression="${客户.编号}" target="客户编号"/>
        <camunda:in sourceExpression="${客户.电话}" target="电话"/>
        <camunda:out source="等级" target="客户等级"/>
        <camunda:out sourceExpression="${说明}" target="说明"/>
      </bpmn:extensionElements>
    </bpmn:callActivity>""",
        ),
        (
            ZEEBE,
            """    <bpmn:callActivity id="Call">
      <bpmn:extensionElements>
        <zeebe:calledElement processId="grade_cn" propagateAllChildVariables="false"/>
        <zeebe:ioMapping>
          <zeebe:input source="=客户.编号" target="客户编号"/>
          <zeebe:input source="=客户.电话" target="电话"/>
          <zeebe:output source="=等级" target="客户等级"/>
          <zeebe:output source="=说明" target="说明"/>
        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:callActivity>""",
        ),
    ],
    ids=["camunda7", "camunda8"],
)
def test_variables_named_in_chinese_map_as_latin_names_do(owner, agent, namespaces, call):
    """Field paths of variables named in Chinese (``${客户.编号}``, ``=客户.编号``) read as
    those of Latin names: JUEL and FEEL take any letter in a name. Camunda 7's were refused
    at deploy as "not an expression"; Camunda 8's a field the data lacks (``客户.电话``)
    failed the call activity instead of mapping to null."""
    _deployed(
        owner,
        "grade_cn.bpmn",
        _definitions(namespaces, _caller("lead_cn", call) + "\n" + 客户_CALLED),
    )
    started = agent.start("lead_cn", {"客户": {"编号": 7}})
    assert started["status"] == "running", started["incidents"]
    done = _inside(agent, started)
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    assert (data["客户等级"], data["说明"]) == ("A", "7/None"), data
    assert {"客户编号", "电话", "等级"}.isdisjoint(data)
