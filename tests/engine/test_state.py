"""What is stored per instance: small, and without the spec (specs are stored per version)."""

from __future__ import annotations

import json
import math
from collections import OrderedDict, namedtuple
from datetime import UTC, date, datetime, timedelta
from enum import Enum, IntEnum
from typing import Any
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.models import ProcessInstance, ProcessVersion
from engine.state import StateCodec
from tests.engine.conftest import DIAGRAMS


def test_state_at_the_user_task_is_small_and_spec_free(owner, agent, make_customer, db, runtime):
    owner.deploy("call_note.bpmn", "call-form.json")
    customer = make_customer()
    instance = agent.start("call_note", {"customer_id": customer.id})
    task_id = instance["ready_tasks"][0]["id"]

    with db() as session:
        row = session.get(ProcessInstance, instance["id"])
        assert row is not None
        state = row.state
        version = session.get(ProcessVersion, row.version_id)
        assert version is not None
        loaded = runtime.engine.specs.get(session, version.bundle_id)

    assert len(state.encode()) < 4096
    document = json.loads(state)
    assert "spec" not in document
    assert "subprocess_specs" not in document
    # Nothing that only the diagram knows: names, operators, forms, lanes.
    for from_the_spec in ("Call the customer", "crm.add_note", "call-form.json", "task_specs"):
        assert from_the_spec not in state

    # The cached spec of the version plus the stored state give the workflow back.
    spec, subprocess_specs = loaded.spec("call_note")
    workflow = runtime.engine.codec.decode(state, spec, subprocess_specs)
    task = workflow.get_task_from_id(UUID(task_id))
    assert task.state == TaskState.READY
    assert task.task_spec.bpmn_id == "call"
    assert task.task_spec.lane == "agent"
    assert task.data["customer_id"] == customer.id
    assert runtime.engine.codec.encode(workflow) == state


# The codec's text step, against json's: the values task data can hold, written and read back.

_PARSER = SpiffBpmnParser(validator=VALIDATOR)
for _name in ("onboarding", "welcome_flow", "confirm_contact"):
    _PARSER.add_bpmn_file(str(DIAGRAMS / f"{_name}.bpmn"))
# A top process calling one that calls another: the user task is two subprocesses down.
SPEC, SUBPROCESS_SPECS = _PARSER.get_spec("onboarding"), _PARSER.get_subprocess_specs("onboarding")
CODEC = StateCodec()


def at_user_task(data: dict[str, Any], *, everywhere: bool = True) -> tuple[BpmnWorkflow, UUID]:
    """A workflow waiting at its user task, whose data holds ``data`` with keys prefixed by
    ``user_`` (kept as the task's changes) and, ``everywhere``, the start task's data as it is
    (the whole data of the root task) and the top workflow's with keys prefixed by
    ``workflow_``."""
    workflow = BpmnWorkflow(SPEC, SUBPROCESS_SPECS)
    if everywhere:
        workflow.task_tree.data.update(data)
        workflow.data.update({f"workflow_{key}": value for key, value in data.items()})
    workflow.do_engine_steps()
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    task.data.update({f"user_{key}": value for key, value in data.items()})
    return workflow, task.id


def json_encode(workflow: BpmnWorkflow) -> str:
    """The codec's text as json wrote it (states stored before orjson)."""
    dct = CODEC._converter.to_dict(workflow)
    dct[BpmnWorkflowSerializer.VERSION_KEY] = CODEC._version
    return json.dumps(dct, cls=CODEC._serializer._encoder_cls, separators=(",", ":"))


def restored_data(text: str, task_id: UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    workflow = CODEC.decode(text, SPEC, SUBPROCESS_SPECS)
    return workflow.get_task_from_id(task_id).data, workflow.data


def json_restored_data(text: str, task_id: UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data as the codec read it with json (before orjson)."""
    dct = json.loads(text)
    del dct[BpmnWorkflowSerializer.VERSION_KEY]
    workflow = CODEC._converter.restore(dct, SPEC, SUBPROCESS_SPECS)
    return workflow.get_task_from_id(task_id).data, workflow.data


def assert_as_json_stores(workflow: BpmnWorkflow, task_id: UUID) -> str:
    """The codec's text decodes to json's structure, and both texts to the data json read."""
    text, old = CODEC.encode(workflow), json_encode(workflow)
    assert isinstance(text, str)
    # repr: types count (1 is not 1.0, "1" is not 1) and NaN equals NaN.
    assert repr(json.loads(text)) == repr(json.loads(old))
    expected = repr(json_restored_data(old, task_id))
    assert repr(restored_data(text, task_id)) == expected
    assert repr(restored_data(old, task_id)) == expected
    return text


def test_int_keys_are_stored_as_text_like_json():
    workflow, task_id = at_user_task({"calls_by_day": {1: 3, 2: 0}, "mixed": {7: "a", "b": 8}})
    text = assert_as_json_stores(workflow, task_id)
    data, top = restored_data(text, task_id)
    assert data["user_calls_by_day"] == {"1": 3, "2": 0}
    assert data["calls_by_day"] == {"1": 3, "2": 0}
    assert top["workflow_mixed"] == {"7": "a", "b": 8}


@pytest.mark.parametrize(
    "number", [2**64, 2**64 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30, -(10**40), 2**63 - 1]
)
def test_integers_keep_their_exact_value_beyond_64_bits(number):
    workflow, task_id = at_user_task({"n": number, "nested": {"in": [1, {"deep": number}]}})
    text = assert_as_json_stores(workflow, task_id)
    data, top = restored_data(text, task_id)
    for value in (data["n"], data["user_n"], top["workflow_n"], data["nested"]["in"][1]["deep"]):
        assert type(value) is int
        assert value == number


def test_nested_datetimes_dates_and_durations_come_back_as_themselves():
    follow_up = {
        "at": datetime(2026, 5, 4, 9, 30, 15, 123456, tzinfo=UTC),
        "local": datetime(2026, 5, 4, 17, 30),
        "days": [date(2026, 5, 5), date(2026, 5, 6)],
        "wait": timedelta(hours=4, seconds=1),
        "history": [{"when": datetime(2025, 12, 31, 23, 59, tzinfo=UTC), "on": date(2025, 1, 1)}],
    }
    workflow, task_id = at_user_task({"follow_up": follow_up})
    text = assert_as_json_stores(workflow, task_id)
    data, top = restored_data(text, task_id)
    for restored in (data["follow_up"], data["user_follow_up"], top["workflow_follow_up"]):
        assert restored == follow_up
        assert type(restored["days"][0]) is date
        assert type(restored["history"][0]["when"]) is datetime
    # Stored as SpiffWorkflow's dictionaries, not as bare ISO text.
    stored = json.loads(text)["tasks"][str(workflow.task_tree.id)]["data"]["follow_up"]
    assert stored["days"][0] == {"value": "2026-05-05", "typename": "date"}
    assert stored["at"] == {"value": "2026-05-04T09:30:15.123456+00:00", "typename": "datetime"}


def test_unicode_text_round_trips():
    texts = {
        "name": "Zoë Ærøskøbing — 张伟",
        "emoji": "☎️ 😀",
        "separators": "a\u2028b\u2029c",
        "controls": 'q"\\\n\t\x00\x1f',
        "lone_surrogate": "\ud800 alone",
        "keys": {"客户": "是", "ü": 1},
    }
    workflow, task_id = at_user_task(texts)
    text = assert_as_json_stores(workflow, task_id)
    data, _ = restored_data(text, task_id)
    assert {key: data[key] for key in texts} == texts
    assert {key: data[f"user_{key}"] for key in texts} == texts
    # Read from text holding the characters themselves, not escapes.
    unescaped = json.dumps(json.loads(text), ensure_ascii=False)
    assert "\ud800 alone" in unescaped
    assert restored_data(unescaped, task_id) == restored_data(text, task_id)


def test_nan_and_infinities_are_kept_as_json_kept_them():
    # Scripts cannot store them (check_storable), but form input and handler results can.
    workflow, task_id = at_user_task({"score": math.nan, "cap": math.inf, "floor": [-math.inf]})
    text = assert_as_json_stores(workflow, task_id)
    data, top = restored_data(text, task_id)
    assert math.isnan(data["score"]) and math.isnan(data["user_score"])
    assert data["cap"] == top["workflow_cap"] == math.inf
    assert data["user_floor"] == [-math.inf]


def test_the_workflow_data_is_checked_on_its_own():
    workflow, task_id = at_user_task({"customer_id": 1})
    workflow.data.update({"score": math.nan, "seen": [math.inf]})
    text = assert_as_json_stores(workflow, task_id)
    _, top = restored_data(text, task_id)
    assert math.isnan(top["score"])
    assert top["seen"] == [math.inf]

    workflow.data["channel"] = Channel.PHONE
    with pytest.raises(TypeError):
        CODEC.encode(workflow)


class Channel(Enum):
    PHONE = "phone"


class Priority(IntEnum):
    HIGH = 1


Pair = namedtuple("Pair", "left right")


class Label(str):
    pass


def _reordered() -> OrderedDict[str, int]:
    ordered = OrderedDict(b=1, a=2)
    ordered.move_to_end("b")  # json writes a, b; the dict underneath holds b, a
    return ordered


@pytest.mark.parametrize(
    "value",
    [
        UUID(int=42),
        [UUID(int=7)],
        {"ids": {UUID(int=8)}},
        {3, 1, 2},
        (1, "two"),
        Pair(1, 2),
        Priority.HIGH,
        Label("vip"),
        OrderedDict(b=1, a=2),
        _reordered(),
        [0.1 * i for i in range(20)] + [1e16, 1e300, 5e-324, -0.0, 1 / 3],
        {"a": [[[{"b": None, "c": True, "d": ""}]]]},
        "1234567890123456789012345",
        "+8613800138000",
    ],
    ids=lambda value: type(value).__name__,
)
def test_other_values_are_stored_as_json_stored_them(value):
    # Task data only: SpiffWorkflow's conversion of workflow data fails on some of them.
    workflow, task_id = at_user_task({"value": value}, everywhere=False)
    assert_as_json_stores(workflow, task_id)


def _circular() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (object(), TypeError),
        (Channel.PHONE, TypeError),
        (b"bytes", TypeError),
        ({(1, 2): "tuple key"}, TypeError),
        (_circular(), ValueError),
    ],
    ids=lambda value: type(value).__name__,
)
def test_values_json_refused_are_still_refused(value, error):
    workflow, _ = at_user_task({"value": value}, everywhere=False)
    with pytest.raises(error):
        json_encode(workflow)
    with pytest.raises(error):
        CODEC.encode(workflow)


def test_a_state_written_by_json_decodes_the_same():
    workflow, task_id = at_user_task(
        {
            "customer_id": 12,
            "name": "Zoë 张伟",
            "by_day": {1: 2},
            "big": 2**70,
            "at": datetime(2026, 5, 4, 9, 30, tzinfo=UTC),
            "on": date(2026, 5, 5),
            "score": math.nan,
            "ratio": 0.1,
        }
    )
    old = json_encode(workflow)
    assert "\\u5f20" in old and '"score":NaN' in old  # json's own text
    restored = CODEC.decode(old, SPEC, SUBPROCESS_SPECS)
    data = restored.get_task_from_id(task_id).data
    assert data["name"] == "Zoë 张伟"
    assert data["by_day"] == {"1": 2}
    assert type(data["big"]) is int and data["big"] == 2**70
    assert data["at"] == datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
    assert data["on"] == date(2026, 5, 5)
    assert math.isnan(data["score"])
    assert data["ratio"] == 0.1
    assert restored.get_task_from_id(task_id).state == TaskState.READY
    # Written again, it reads as what json had written.
    assert repr(json.loads(CODEC.encode(restored))) == repr(json.loads(old))


def test_check_storable_refuses_what_it_refused():
    CODEC.check_storable("ok", {"at": datetime(2026, 1, 1, tzinfo=UTC), "on": date(2026, 1, 1)})
    CODEC.check_storable("ok", {1: UUID(int=1), "big": 2**80, "set": {1}})
    for value in (math.nan, [math.inf], object(), Channel.PHONE, {(1, 2): 3}, _circular()):
        with pytest.raises(TypeError, match="'bad' holds a value that cannot be stored"):
            CODEC.check_storable("bad", value)


def test_a_task_layout_other_than_spiffworkflow_3_2s_is_checked_whole():
    workflow, _ = at_user_task({"customer_id": 1})
    dct = CODEC._converter.to_dict(workflow)
    assert not CODEC._workflow_differs(dct)
    task = next(iter(dct["tasks"].values()))
    task["extra"] = [math.nan]  # a key this module does not know
    assert CODEC._workflow_differs(dct)
    del task["extra"], task["delta"]  # without a key it knows
    task["data"]["score"] = math.nan
    assert CODEC._workflow_differs(dct)


def test_tasks_are_written_as_spiffworkflows_task_converter_writes_them():
    """The codec writes each task itself instead of through the registry's dispatch: at every
    point of a run with subprocesses, a called process, a multi-instance task (its internal
    data), changed and deleted data, the result equals SpiffWorkflow's own conversion."""
    from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter

    from engine.validation import parse_bundle

    codec = StateCodec()
    converter = codec._converter
    assert converter._task_typename == "Task"  # the fast path is the one in use

    def generic(workflow: Any) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(converter, workflow)
        dct["tasks"] = {str(k): converter.registry.convert(v) for k, v in workflow.tasks.items()}
        dct["subprocesses"] = {
            str(k): converter.registry.convert(v) for k, v in workflow.subprocesses.items()
        }
        dct["bpmn_events"] = converter.registry.convert(workflow.bpmn_events)
        return dct

    parsed = parse_bundle({"r.bpmn": (DIAGRAMS / "ready_everywhere.bpmn").read_text()}, {})
    workflow = BpmnWorkflow(
        parsed.specs["ready_everywhere"], parsed.subprocess_specs["ready_everywhere"]
    )
    workflow.data["when"] = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
    compared = 0
    while True:
        workflow.do_engine_steps()
        fast = converter.to_dict(workflow)
        assert fast == generic(workflow)
        assert json.dumps(fast, sort_keys=True, default=str) == json.dumps(
            generic(workflow), sort_keys=True, default=str
        )
        compared += 1
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        task = ready[-1]
        task.data.update({"note": f"step {compared}", "at": date(2024, 5, compared)})
        task.data.pop("note" if compared % 3 == 0 else "absent", None)
        task.internal_data["seen"] = timedelta(minutes=compared)
        task.run()
    assert compared >= 8
    assert workflow.is_completed()
    # Workflow data of plain values only, nested too (written as it is), and with a value the
    # registry converts (a set) or drops (a function) somewhere inside.
    workflow.data.clear()
    workflow.data.update({"plain": {"a": [1, 2.5, {"b": None, "c": True}], "d": "text"}})
    assert converter.to_dict(workflow) == generic(workflow)
    for odd in ({1, 2}, len, UUID(int=3)):
        workflow.data["plain"]["a"][2]["odd"] = odd
        assert converter.to_dict(workflow) == generic(workflow)


def test_task_ids_as_text_are_their_str():
    import uuid

    from engine.task_ids import id_text

    ids = [uuid.uuid4() for _ in range(5)]
    assert [id_text(i) for i in ids] == [str(i) for i in ids]
    assert [id_text(UUID(str(i))) for i in ids] == [str(i) for i in ids]  # equal ids


def test_the_data_snapshot_is_what_json_stores():
    from engine.stepper import _json_copy, _NotPlain

    data = {"a": 1, "b": [1, 2.5, None, True, {"c": "张"}], "d": math.inf, "e": 10**30}
    copied = _json_copy(data)
    assert copied == json.loads(json.dumps(data, default=str))
    assert copied is not data and copied["b"] is not data["b"]
    for stored_otherwise in ({"t": (1, 2)}, {1: "x"}, {"s": {1}}, {"d": datetime.now(UTC)}):
        with pytest.raises(_NotPlain):
            _json_copy(stored_otherwise)


def test_a_list_holding_itself_and_a_keyed_object_is_refused_not_walked_for_ever():
    """The search for objects holding ``typename`` looked into a list holding itself without
    end (the step hung, its memory growing); json refuses it, as before."""
    loop = _circular()
    loop.append({"typename": "lead"})
    workflow, _ = at_user_task({"value": loop}, everywhere=False)
    with pytest.raises(ValueError):
        CODEC.encode(workflow)
