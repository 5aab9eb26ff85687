"""Deploy-time gaps in DMN input expressions, multi-instance loops and drawn form types.

A DMN input expression holding FEEL's ``date("2026-01-01")`` (a literal, no variable) was
refused at deploy as something Dialflow does not evaluate, though ``date(x)`` of a variable ran
(``engine.feel``): it deploys and decides with the literal read as a date; one that is no date
is refused on its expression. A multi-instance activity over a collection with no
``inputDataItem`` (Camunda 7's collection without ``elementVariable``, Camunda 8's
``inputCollection`` without ``inputElement``) deployed and ran every instance alike, none
seeing its item: it is refused on the activity's line with the item to name. A Camunda 7
``camunda:formField type="integer"`` (no type of Camunda's: it refuses the diagram) deployed as
a whole number; unknown types are refused with the type meant (``did you mean 'long'?``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm.customers import create_customer
from engine.specs import SpecCache
from tests.engine.conftest import DIAGRAMS, by_element, notes_of, only, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload
from tests.engine.test_assignment_attributes import CAMUNDA, java_engine
from tests.engine.test_foreign_multi_instance import C8_APPROVAL, multi_instance

ROUND29 = DiagramFolder("round29")
QPR = ("qpr_lead_routing.bpmn", "qpr_lead_actions.dmn")
SIGNED = "<text>date(signed_up)</text>"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "钱慧", "phones": ["+8613700137000"]}, actor=None
        ).id


def with_input(expression: str) -> Any:
    """The QPR routing with its date column's input expression written as ``expression``."""
    bpmn, dmn = QPR
    text = ROUND29.edited(dmn, (SIGNED, f"<text>{expression}</text>"))
    return bpmn, dmn, text


# -- 1. a DMN input expression reading a date literal -----------------------------------------


@pytest.mark.parametrize(
    ("expression", "actions"),
    [
        ('date("2026-03-01")', ["welcome_call"]),
        ('date("2025-12-31")', []),
        ("date( '2026-01-01' )", ["welcome_call"]),
        ('date and time("2026-01-01T09:00:00+08:00")', ["welcome_call"]),
    ],
)
def test_a_dmn_input_expression_of_a_date_literal_deploys_and_decides(
    owner, agent, db, expression, actions
):
    """It was refused: "uses FEEL's date(…), which Dialflow does not evaluate"."""
    bpmn, dmn, text = with_input(expression.replace("&", "&amp;"))
    answer = upload(owner, (bpmn, ROUND29.read(bpmn)), (dmn, text))
    assert answer.status_code == 201, answer.get_json()
    started = agent.start("qpr_lead_routing", {"customer_id": customer(db)})
    view = agent.complete_ok(
        only(started["ready_tasks"])["id"], {"signed_up": "2020-01-01", "seats": 1}
    )
    assert view["incidents"] == [], view["incidents"][0]["message"]
    assert view["data"]["actions"] == actions, view["data"]


def test_a_dmn_input_expression_whose_date_literal_is_no_date_is_refused_on_it(owner, db):
    bpmn, dmn, text = with_input('date("2026-13-01")')
    (detail,) = refused(upload(owner, (bpmn, ROUND29.read(bpmn)), (dmn, text)))
    assert (detail["element_id"], detail["file"]) == ("qpr_ie_signed", dmn)
    assert detail["line"] == line_in('<inputExpression id="qpr_ie_signed"', text)
    assert (
        'input expression \'date("2026-13-01")\': date("2026-13-01") is no date'
        in (detail["message"])
    )
    assert "would fail each time it runs:" in detail["message"]  # not "reaches the rule"
    nothing_deployed(db)


def test_a_dmn_input_expression_with_a_duration_beside_its_date_is_told_the_duration(owner, db):
    """The date literal runs, the duration does not: it was said to use FEEL's date(…)."""
    bpmn, dmn, text = with_input('date("2026-03-01") + duration("P1D")')
    (detail,) = refused(upload(owner, (bpmn, ROUND29.read(bpmn)), (dmn, text)))
    assert detail["element_id"] == "qpr_ie_signed"
    assert "uses FEEL's duration(…), which Dialflow does not evaluate" in detail["message"]
    nothing_deployed(db)


# -- 2. a multi-instance activity over a collection without an item ---------------------------

LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_mi"
    targetNamespace="http://example.com/mi">
  <bpmn:process id="mi_countersign" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Task_Sign"/>
    <bpmn:userTask id="Task_Sign" name="Sign">
      <bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:loopDataInputRef>COLLECTION</bpmn:loopDataInputRef>ITEM
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Sign" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def loop(collection: str, item: str = "") -> bytes:
    return LOOP.replace("COLLECTION", collection).replace("ITEM", item).encode()


@pytest.mark.parametrize(
    ("collection", "item"),
    [("approvers", "approver"), ("deal.approvers", "approver"), ("staff", "item")],
)
def test_a_loop_over_a_collection_without_an_input_item_is_refused_on_its_task(
    owner, db, collection, item
):
    """It deployed, and each instance ran alike with nothing of its item (two approvers got
    two identical tasks, the form's values empty)."""
    text = loop(collection)
    (detail,) = refused(upload(owner, ("mi.bpmn", text)))
    assert (detail["element_id"], detail["file"]) == ("Task_Sign", "mi.bpmn")
    assert detail["line"] == line_in('<bpmn:userTask id="Task_Sign"', text)
    message = detail["message"]
    assert f"loops over {collection!r} (loopDataInputRef) without an inputDataItem" in message
    assert f'<bpmn:inputDataItem id="{item}" name="{item}"/>' in message
    assert "loopCardinality" in message
    nothing_deployed(db)


def test_a_loop_with_its_input_item_deploys_and_each_instance_sees_its_item(owner, agent):
    """Pins what was already right: with the item named, each instance holds its own
    approver (its post-script's output item collects them)."""
    item = (
        "<bpmn:loopDataOutputRef>signed</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="approver" name="approver"/>'
        '<bpmn:outputDataItem id="signer" name="signer"/>'
    )
    text = (
        loop("approvers", item)
        .decode()
        .replace('id="d_mi"', f'xmlns:spiffworkflow="{SPIFF}" id="d_mi"')
        .replace(
            '<bpmn:userTask id="Task_Sign" name="Sign">',
            '<bpmn:userTask id="Task_Sign" name="Sign"><bpmn:extensionElements>'
            "<spiffworkflow:postScript>signer = approver</spiffworkflow:postScript>"
            "</bpmn:extensionElements>",
        )
    )
    answer = upload(owner, ("mi.bpmn", text.encode()))
    assert answer.status_code == 201, answer.get_json()
    started = agent.start("mi_countersign", {"approvers": ["li", "wu"]})
    first, second = started["ready_tasks"]
    agent.complete_ok(first["id"])
    done = agent.complete_ok(second["id"])
    assert (done["status"], done["data"]["signed"]) == ("completed", ["li", "wu"])


def test_camunda_loops_without_an_element_variable_are_refused_on_their_task(owner, db):
    camunda = java_engine("camunda", CAMUNDA, "c7_sign", [("Task_Sign", "Sales", "")])
    camunda = multi_instance(camunda, "Task_Sign", 'camunda:collection="${approvers}"')
    said = by_element(refused(upload(owner, ("c7.bpmn", camunda.encode()))))
    assert set(said) == {"Task_Sign"}, said
    assert "'approvers' (loopDataInputRef) without an inputDataItem" in said["Task_Sign"]
    assert 'camunda:elementVariable="approver"' in said["Task_Sign"]
    zeebe = C8_APPROVAL.replace("COLLECTION", "=approvers").replace('inputElement="approver"', "")
    (detail,) = refused(upload(owner, ("c8.bpmn", zeebe.encode())))
    assert detail["element_id"] == "Task_Approve"
    assert 'inputElement="approver"' in detail["message"]
    nothing_deployed(db)


# -- 3. a drawn form field's type ----------------------------------------------------------


CALL_RECORD = (DIAGRAMS / "diagram_forms/camunda7_call_record.bpmn").read_text("utf-8")
LEAD_REVIEW = (DIAGRAMS / "diagram_forms/flowable_lead_review.bpmn20.xml").read_text("utf-8")
MINUTES = '<camunda:formField id="minutes" label="通话时长（分钟）" type="long"'
BUDGET = '<flowable:formProperty id="budget" name="预算（元）" type="long"'
RATIO = '<flowable:formProperty id="ratio" name="成交概率" type="double"'


FIELDS = {"minutes": MINUTES, "budget": BUDGET, "ratio": RATIO}


@pytest.mark.parametrize(
    ("field", "written", "meant"),
    [
        ("minutes", "integer", "long"),
        ("minutes", "Long", "long"),
        ("minutes", "int", "long"),
        ("minutes", "strng", "string"),
        ("budget", "integer", "long"),
        ("ratio", "number", "double"),
        ("ratio", "float", "double"),
    ],
)
def test_a_form_field_type_no_engine_has_is_refused_with_the_type_meant(
    owner, db, field, written, meant
):
    """``integer`` deployed as a whole number (Camunda refuses it, as any type it has not
    registered); the others were refused with no word on the type meant."""
    original = FIELDS[field]
    name, text = (
        ("call.bpmn", CALL_RECORD) if field == "minutes" else ("review.bpmn20.xml", LEAD_REVIEW)
    )
    kind = original.rsplit('type="', 1)[1].rstrip('"')
    changed = text.replace(original, original.replace(f'type="{kind}"', f'type="{written}"'))
    (detail,) = refused(upload(owner, (name, changed.encode())))
    assert detail["line"] == line_in(original.split(" type=")[0], changed)
    assert f"has the type {written!r}" in detail["message"]
    assert f"did you mean {meant!r}?" in detail["message"], detail["message"]
    nothing_deployed(db)


def test_a_camunda_7_field_of_type_double_is_said_to_have_no_camunda_type(owner, db):
    """Camunda 7 registers no double form type (Flowable and Activiti do): it deployed."""
    changed = CALL_RECORD.replace(MINUTES, MINUTES.replace('"long"', '"double"'))
    (detail,) = refused(upload(owner, ("call.bpmn", changed.encode())))
    assert "which Camunda 7 has no form type for" in detail["message"]
    assert "use long for a whole number" in detail["message"]
    nothing_deployed(db)


# -- 4. Activiti 7 extensions files mapping a connector's inputs and outputs ----------------

ROUND28 = DiagramFolder("round28")
A7 = "activiti7_lead_intake.bpmn"
A7_PROCESS = "process-7c1e9a42-5b3d-4f6e-a8c0-9d2b1e4f7a63"
NOTE_TASK = "ServiceTask_1n4c7hz"


def extensions(mapping: dict[str, Any], constants: Any = None, keyed: bool = True) -> bytes:
    """An Activiti 7 extensions file mapping the note connector: keyed by the process as 7.1
    and later write it, or (``keyed`` false) as 7.0 did, for the process of its ``id``."""
    extension = {
        "properties": {},
        "mappings": {NOTE_TASK: mapping} if mapping else {},
        "constants": {NOTE_TASK: constants} if constants else {},
    }
    body = {A7_PROCESS: extension} if keyed else extension
    named = "process-model-1" if keyed else A7_PROCESS
    return json.dumps({"id": named, "extensions": body}).encode()


def not_interested(owner, agent, db, file: bytes, data: dict[str, Any]) -> dict[str, Any]:
    """Deploy the lead intake with ``file`` beside it and send a lead that is not interested,
    the bundle read again from storage; the finished instance's view."""
    name = f"{A7_PROCESS}-extensions.json"
    answer = upload(owner, (A7, ROUND28.read(A7)), (name, file))
    assert answer.status_code == 201, answer.get_json()
    engine = agent.client.application.extensions["dialflow"].engine
    engine.specs = SpecCache()  # parsed again from storage, as after a restart
    started = agent.start(A7_PROCESS, {"customer_id": (cid := customer(db))})
    done = agent.complete_ok(only(started["ready_tasks"])["id"], {"interested": False, **data})
    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    done["customer_id"] = cid
    return done


@pytest.mark.parametrize("keyed", [True, False], ids=["7.1 keyed by process", "7.0"])
def test_an_activiti7_mapping_hands_the_connector_its_inputs_and_sets_its_outputs(
    owner, agent, db, keyed
):
    """``text`` ← ``reason`` and ``note`` ← ``note_id``: it was refused (and before that,
    kept and never read: the note took ``text``, every variable came back)."""
    mapping = {
        "inputs": {
            "text": {"type": "variable", "value": "reason"},
            "customer_id": {"type": "variable", "value": "customer_id"},
        },
        "outputs": {"note": {"type": "variable", "value": "note_id"}},
    }
    done = not_interested(
        owner, agent, db, extensions(mapping, keyed=keyed), {"reason": "Has a supplier"}
    )
    assert notes_of(db, done["customer_id"]) == ["Has a supplier"]
    assert isinstance(done["data"]["note"], int) and "note_id" not in done["data"]


def test_an_activiti7_constant_is_handed_to_the_connector_over_the_variables(owner, agent, db):
    """A task a file as Activiti 7.0 wrote it only hands a constant gets every variable, the
    constant over the one of its name, and what it answers comes back, as Activiti 7.0 ran
    it (7.1 and later hand such a task the constants only: ``test_activiti7_mapping_types``)."""
    file = extensions({}, constants={"text": {"value": "Not interested"}}, keyed=False)
    done = not_interested(owner, agent, db, file, {"text": "ignored"})
    assert notes_of(db, done["customer_id"]) == ["Not interested"]
    assert done["data"]["note_id"] > 0


def test_an_activiti7_mapped_task_sets_only_the_outputs_it_maps(owner, agent, db):
    """Mapped inputs and no outputs: nothing the connector answers is set."""
    mapping = {
        "inputs": {
            "text": {"type": "value", "value": "Called twice, no interest"},
            "customer_id": {"type": "variable", "value": "customer_id"},
        }
    }
    done = not_interested(owner, agent, db, extensions(mapping), {})
    assert notes_of(db, done["customer_id"]) == ["Called twice, no interest"]
    assert "note_id" not in done["data"]


@pytest.mark.parametrize(
    ("mapping", "said"),
    [
        (
            {"inputs": {"body": {"type": "variable", "value": "reason"}}},
            "it gives body, which crm.add_note has no parameter for (customer_id, text)",
        ),
        (
            {"inputs": {"text": {"type": "variable", "value": "reason"}}},
            "it does not map customer_id, which crm.add_note needs",
        ),
        (
            {"inputs": {"text": {"type": "variable", "value": "${reason}"}}},
            "its input 'text' names '${reason}', no variable",
        ),
        (
            {"mappingType": "NONE"},
            "its mappingType 'NONE' is none of Activiti's (MAP_ALL, MAP_ALL_INPUTS, "
            "MAP_ALL_OUTPUTS), so Activiti cannot read the file",
        ),
    ],
    ids=["unknown parameter", "required left out", "expression", "mappingType"],
)
def test_an_activiti7_mapping_that_cannot_run_is_refused_on_its_task(owner, db, mapping, said):
    name = f"{A7_PROCESS}-extensions.json"
    text = ROUND28.read(A7)
    (detail,) = refused(upload(owner, (A7, text), (name, extensions(mapping))))
    assert (detail["element_id"], detail["file"]) == (NOTE_TASK, A7)
    assert detail["line"] == line_in(f'<bpmn2:serviceTask id="{NOTE_TASK}"', text)
    assert (
        f"{name} maps this Activiti 7 connector (crm.add_note), but {said}" in (detail["message"])
    )
    nothing_deployed(db)
