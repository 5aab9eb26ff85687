"""Foreign diagrams that were refused or ran otherwise than their engine runs them: a
multi-instance collection given as a path into the data, JUEL in timers and cardinalities,
call activities' variables, ``spiffworkflow:property`` with its value as text, DMN integers
and ``camunda:in local="true"``."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import BytesIO

from tests.engine.conftest import DIAGRAMS, Timed, by_element, refused
from tests.engine.test_assignment_attributes import CAMUNDA, FLOWABLE, deploy, java_engine
from tests.engine.test_call_mappings import CAMUNDA as CALL_CAMUNDA
from tests.engine.test_call_mappings import FLOWABLE as FLOWABLE_NS
from tests.engine.test_call_mappings import REFUND, _caller, _definitions, _deployed, _inside
from tests.engine.test_foreign_multi_instance import C8_APPROVAL, countersign, multi_instance
from tests.engine.test_installation_calendar import MONTHLY
from tests.engine.test_iso_timers import CAMUNDA as CALLBACK


def test_a_collection_given_as_a_path_gives_each_approver_a_task(owner, actor):
    """``camunda:collection="${deal.approvers}"`` (Flowable's the same, Camunda 8's
    ``=deal.approvers``) reads the list inside ``deal``: it was refused."""
    signers = [actor("manager", username=name, team="East") for name in ("pa", "pb", "pc")]
    ids = sorted(s.user.id for s in signers)
    deal = {"deal": {"id": 7, "approvers": ["pa", "pb", "pc"]}}
    answer = deploy(owner, "countersign.bpmn", countersign("${deal.approvers}"))
    assert answer.status_code == 201, answer.get_json()
    started = owner.start("c7_countersign", deal)
    assert sorted(t["assignee"] for t in started["ready_tasks"]) == ids
    flowable = multi_instance(
        java_engine(
            "flowable", FLOWABLE, "fl_sign", [("Sign", "Sales", 'flowable:assignee="${approver}"')]
        ),
        "Sign",
        'flowable:collection="deal.approvers" flowable:elementVariable="approver"',
    )
    answer = deploy(owner, "sign.bpmn20.xml", flowable)
    assert answer.status_code == 201, answer.get_json()
    started = owner.start("fl_sign", deal)
    assert sorted(t["assignee"] for t in started["ready_tasks"]) == ids
    zeebe = C8_APPROVAL.replace("COLLECTION", "=deal.approvers")
    answer = deploy(owner, "approval.bpmn", zeebe)
    assert answer.status_code == 201, answer.get_json()
    started = owner.start("c8_parallel_approval", deal)
    assert sorted(t["assignee"] for t in started["ready_tasks"]) == ids
    for signer in signers[:2]:
        (task,) = [t for t in signer.tasks("mine=1") if t["process_id"] == "c8_parallel_approval"]
        done = signer.complete_ok(task["id"], {"decision": signer.username})
    assert done["status"] == "completed"
    data = owner.instance(started["id"])["data"]
    assert data["results"] == ["pa", "pb"] and data["deal"] == deal["deal"]


JUEL_TIMERS = (
    CALLBACK.replace("2026-05-05T09:00:00+08:00", "${reminderDate}")
    .replace("R2/PT10M", "${cycle}")
    .replace(">PT1H<", ">${waitTime}<")
)


def test_juel_timers_read_their_variables_as_iso_text(timed: Timed):
    """``${reminderDate}``, ``${cycle}`` and ``${waitTime}`` are the ISO 8601 texts the
    variables hold, as Camunda reads them: they were refused."""
    response = timed.owner.post("/api/v1/process-models", json={"bpmn": JUEL_TIMERS})
    assert response.status_code == 201, response.get_json()
    data = {"reminderDate": "2026-05-05T09:00:00+08:00", "cycle": "R2/PT10M", "waitTime": "PT1H"}
    started = timed.agent.start("callback_window", data)
    (wait,) = started["waiting"]
    assert wait["due_at"].startswith("2026-05-05T01:00:00")
    assert timed.advance(hours=24) == 1
    assert timed.advance(minutes=10) == 1  # the cycle's first reminder
    assert timed.advance(minutes=10) == 1  # and its second, the last
    assert timed.advance(minutes=39) == 0
    assert timed.advance(minutes=1) == 1  # the hour is up: the interrupting timer
    instance = timed.agent.instance(started["id"])
    assert (instance["status"], instance["data"]["outcome"]) == ("completed", "missed")


def test_a_juel_timer_whose_variable_is_missing_is_an_incident_on_its_event(timed: Timed):
    response = timed.owner.post("/api/v1/process-models", json={"bpmn": JUEL_TIMERS})
    assert response.status_code == 201, response.get_json()
    started = timed.agent.start("callback_window", {"cycle": "R2/PT10M", "waitTime": "PT1H"})
    assert started["status"] == "error", started
    (incident,) = started["incidents"]
    assert incident["element_id"] == "Event_window"
    assert "${reminderDate}" in incident["message"] and "null" in incident["message"]


def test_a_juel_cardinality_opens_that_many_tasks(owner):
    text = multi_instance(
        java_engine("camunda", CAMUNDA, "c7_count", [("Review", "Sales", "")]),
        "Review",
        "",
        "<bpmn:loopCardinality>${approverCount}</bpmn:loopCardinality>",
    )
    answer = deploy(owner, "count.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    started = owner.start("c7_count", {"approverCount": "3"})  # EL coerces text to a number
    assert [t["name"] for t in started["ready_tasks"]] == ["Review"] * 3
    missing = owner.start("c7_count", {})
    assert missing["status"] == "error", missing
    (incident,) = missing["incidents"]
    assert incident["element_id"] == "Review" and "${approverCount}" in incident["message"]
    negative = owner.start("c7_count", {"approverCount": -1})
    assert "read -1" in negative["incidents"][0]["message"], negative


def _only_all(side: str, namespace: str = CALL_CAMUNDA, attribute: str = "") -> bytes:
    """The complaint calling its refund process with ``side`` (``in`` / ``out``) given as
    ``variables="all"`` and nothing else, or ``attribute`` on the call activity alone."""
    entry = f'<camunda:{side} variables="all"/>' if side else ""
    call = (
        f'    <bpmn:callActivity id="Call" name="Refund" calledElement="refund" {attribute}>\n'
        f"      <bpmn:extensionElements>{entry}</bpmn:extensionElements>\n"
        "    </bpmn:callActivity>"
    )
    return _definitions(namespace, _caller("complaint", call) + "\n" + REFUND)


def test_a_call_activity_with_only_in_variables_all_brings_nothing_back(owner, agent):
    """Camunda copies back only what ``<camunda:out>`` names (all with ``variables="all"``):
    with only ``<camunda:in variables="all"/>`` the refund's data stayed in the caller."""
    _deployed(owner, "complaint.bpmn", _only_all("in"))
    started = agent.start("complaint", {"amount": 300, "customer_id": 7})
    done = _inside(agent, started)
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    assert {"refund_id", "approved", "internal", "seen"}.isdisjoint(data), data
    assert (data["amount"], data["customer_id"], data["done"]) == (300, 7, True)


def test_a_call_activity_with_only_out_variables_all_gives_nothing_in(owner, agent):
    _deployed(owner, "complaint.bpmn", _only_all("out"))
    started = agent.start("complaint", {"amount": 300, "customer_id": 7})
    assert started["status"] == "error", started  # the refund reads customer_id: not given
    assert "customer_id" in started["incidents"][0]["message"]


def test_flowable_inherit_variables_alone_brings_nothing_back(owner, agent):
    content = _only_all("", FLOWABLE_NS, 'flowable:inheritVariables="true"')
    _deployed(owner, "complaint.bpmn20.xml", content)
    started = agent.start("complaint", {"amount": 300, "customer_id": 7})
    done = _inside(agent, started)
    assert done["status"] == "completed", done["incidents"]
    assert {"refund_id", "approved", "internal", "seen"}.isdisjoint(done["data"])


def test_a_property_whose_value_is_its_text_is_read(timed: Timed):
    """``<spiffworkflow:property name="dueIn">PT4H</spiffworkflow:property>`` stopped the
    parser with ``KeyError('value')``; it is read as ``value="PT4H"``."""
    text = MONTHLY.replace(
        '<spiffworkflow:property name="dueIn" value="P1M"/>',
        '<spiffworkflow:property name="dueIn">\n  PT4H\n</spiffworkflow:property>',
    )
    response = timed.owner.upload(extra=[("monthly_follow_up.bpmn", text.encode())])
    assert response.status_code == 201, response.get_json()
    (task,) = timed.agent.start("monthly_follow_up")["ready_tasks"]
    assert datetime.fromisoformat(task["due_at"]) == timed.clock.now() + timedelta(hours=4)
    both = text.replace('name="dueIn">', 'name="dueIn" value="PT2H">')
    details = refused(timed.owner.upload(extra=[("monthly_follow_up.bpmn", both.encode())]))
    (detail,) = details
    assert detail["element_id"] == "review" and "PT2H" in detail["message"], details
    assert "spiffworkflow:property" in both.splitlines()[detail["line"] - 1]
    empty = text.replace("\n  PT4H\n", "")
    (detail,) = refused(timed.owner.upload(extra=[("monthly_follow_up.bpmn", empty.encode())]))
    assert detail["element_id"] == "review" and "has no value" in detail["message"], detail


def test_a_fraction_under_typeref_integer_is_refused_on_its_cell(owner):
    """Camunda's DMN engine fails on ``5.5`` in an integer column (it takes a number only
    when it is whole); it deployed and set 5.5. An input cell ``2500.5`` could never match."""
    dmn = (
        (DIAGRAMS / "feel_discount.dmn")
        .read_text()
        .replace('name="discount_pct" typeRef="number"', 'name="discount_pct" typeRef="integer"')
        .replace('<outputEntry id="Out_mid"><text>3<', '<outputEntry id="Out_mid"><text>5.5<')
        .replace('id="InExpr_amount" typeRef="number"', 'id="InExpr_amount" typeRef="integer"')
        .replace("<text>[1000..5000]</text>", "<text>2500.5</text>")
    )
    bpmn = (DIAGRAMS / "deal_pricing.bpmn").read_text().replace("discount_tier", "feel_discount")
    files = [(BytesIO(bpmn.encode()), "pricing.bpmn"), (BytesIO(dmn.encode()), "feel_discount.dmn")]
    details = refused(owner.post("/api/v1/process-models", data={"file": files}))
    found = by_element(details)
    assert "output '5.5'" in found["Out_mid"] and "'integer'" in found["Out_mid"], details
    assert "rule cell '2500.5'" in found["Cell_mid"], details
    lines = {d["element_id"]: d["line"] for d in details}
    assert 'id="Out_mid"' in dmn.splitlines()[lines["Out_mid"] - 1]
    assert 'id="Cell_mid"' in dmn.splitlines()[lines["Cell_mid"] - 1]
    whole = dmn.replace(">5.5<", ">5.0<").replace(">2500.5<", ">&gt; 2500.5<")
    files = [
        (BytesIO(bpmn.encode()), "pricing.bpmn"),
        (BytesIO(whole.encode()), "feel_discount.dmn"),
    ]
    answer = owner.post("/api/v1/process-models", data={"file": files})
    assert answer.status_code == 201, answer.get_json()


SEEN_LOCAL = "seen = {}\n" + "".join(
    f'try:\n    seen["{name}"] = {name}\nexcept NameError:\n    pass\n'
    for name in ("customer", "who", "campaign", "campaign_local")
)
LOCAL_IN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="{CAMUNDA}" id="d_local" targetNamespace="http://x">
  <bpmn:process id="c7_local" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:callActivity id="Call_Each" calledElement="c7_greet">
      <bpmn:extensionElements>
        <camunda:in variables="all" local="true"/>
        <camunda:in source="customer" target="who" local="true"/>
        <camunda:in source="campaign" target="campaign_local" local="true"/>
        <camunda:out source="seen" target="seen"/>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true"
          camunda:collection="customers" camunda:elementVariable="customer"/>
    </bpmn:callActivity>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Call_Each"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Call_Each" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="c7_greet" isExecutable="true">
    <bpmn:startEvent id="g_start"/>
    <bpmn:scriptTask id="Greet"><bpmn:script>{SEEN_LOCAL}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="Look" name="Look"/>
    <bpmn:endEvent id="g_end"/>
    <bpmn:sequenceFlow id="g1" sourceRef="g_start" targetRef="Greet"/>
    <bpmn:sequenceFlow id="g2" sourceRef="Greet" targetRef="Look"/>
    <bpmn:sequenceFlow id="g3" sourceRef="Look" targetRef="g_end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_camunda_in_local_gives_the_called_process_the_instance_s_own_item(owner, agent):
    """``local="true"`` reads the call activity's own variables, as Camunda does: in a
    multi-instance call activity each instance's item (``customer``); a variable of the
    caller (``campaign``) is none of them, so null. It was refused."""
    answer = deploy(owner, "local.bpmn", LOCAL_IN)
    assert answer.status_code == 201, answer.get_json()
    started = owner.start("c7_local", {"customers": ["Ma", "Sun"], "campaign": "spring"})
    assert started["status"] == "running", started["incidents"]
    (look,) = started["ready_tasks"]
    started = owner.complete_ok(look["id"])
    # the caller's campaign is no variable of the call activity: null, and not given
    assert started["data"]["seen"] == {"customer": "Ma", "who": "Ma", "campaign_local": None}
    (look,) = started["ready_tasks"]
    done = owner.complete_ok(look["id"])
    assert done["status"] == "completed", done
    assert done["data"]["seen"] == {"customer": "Sun", "who": "Sun", "campaign_local": None}
