"""Work a step no longer does: walks of the task tree for a state no task is in, comprehensions
made per task when a state is encoded or pruned, datetimes formatted as text for PostgreSQL.
Each test counts what the old code did (Python calls, task ids hashed, the format sent) and
checks that what comes out is what SpiffWorkflow's own walks and PostgreSQL give."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.pruning import prune_history
from engine.quiet_workflow import InstanceWorkflow
from engine.state import StateCodec
from tests.conftest import PG_URL, backend

# start → user task → script → user task → end: nothing ever WAITING, no subprocess.
DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_costs" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="costs" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="call" name="Call" />
    <bpmn:scriptTask id="score"><bpmn:script>score = 1
del gone</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="again" name="Again" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="score" />
    <bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="again" />
    <bpmn:sequenceFlow id="f4" sourceRef="again" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
_UUID_HASH = UUID.__hash__.__code__


def _workflow() -> InstanceWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(DIAGRAM)
    workflow = InstanceWorkflow(parser.get_spec("costs"), parser.get_subprocess_specs("costs"))
    workflow.do_engine_steps()
    return workflow


def _at_second_task() -> InstanceWorkflow:
    workflow = _workflow()
    (call,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    call.data.update({"outcome": "interested", "gone": 1})
    call.run()
    workflow.do_engine_steps()
    return workflow


def _calls(run: Callable[[], Any]) -> tuple[int, int, list[str]]:
    """Python calls ``run`` made: task ids hashed (``UUID.__hash__``), the others, and the
    comprehensions and generator expressions among them (``function:<listcomp>``)."""
    hashes = others = 0
    comprehensions: list[str] = []

    def count(frame: Any, event: str, _arg: Any) -> None:
        nonlocal hashes, others
        if event != "call":
            return
        if frame.f_code is _UUID_HASH:
            hashes += 1
        else:
            others += 1
            if frame.f_code.co_name.startswith("<") and frame.f_code.co_name != "<lambda>":
                comprehensions.append(f"{frame.f_back.f_code.co_name}:{frame.f_code.co_name}")

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return hashes, others, comprehensions


@pytest.mark.parametrize("stage", ["started", "second task"])
def test_no_walk_for_a_state_no_task_is_in(stage):
    """SpiffWorkflow updates the WAITING tasks after every completed task, and every step ends
    with a pass that finds no READY automatic task: each such walk visited the whole tree,
    a task id hashed per task. Now none, and each walk finds what SpiffWorkflow's does."""
    workflow = _workflow() if stage == "started" else _at_second_task()
    assert _calls(workflow.update_waiting_tasks)[0] == 0
    for state in (TaskState.WAITING, TaskState.ERROR, TaskState.CANCELLED):
        assert _calls(lambda s=state: workflow.get_tasks(state=s))[0] == 0
        assert workflow.get_tasks(state=state) == []
    for state in (TaskState.READY, TaskState.COMPLETED, TaskState.FUTURE, TaskState.LIKELY):
        expected = [t.id for t in BpmnTaskIterator(workflow.task_tree, state=state)]
        assert [t.id for t in workflow.get_tasks(state=state)] == expected


def test_an_encoded_state_makes_no_comprehension_per_task():
    """Already right in what it writes (the same text, read back the same); what changed is
    that a task's children, its deletions and its internal data no longer cost a
    comprehension each (a function made and called, in Python 3.11) unless there is something
    to find."""
    workflow = _at_second_task()
    codec = StateCodec()
    text = codec.encode(workflow)
    _hashes, _others, comprehensions = _calls(lambda: codec.encode(workflow))
    per_task = [c for c in comprehensions if c.startswith("_task_to_dict:")]
    # only the deletions of the tasks that lack a key of their parent's (the script deleted
    # one; a task not yet reached has no data); the changes of a task whose parent had data
    # are still a dictionary comprehension
    lacking = [
        t
        for t in workflow.tasks.values()
        if t.parent is not None and not t.parent.data.keys() <= t.data.keys()
    ]
    assert 0 < per_task.count("_task_to_dict:<listcomp>") == len(lacking) < len(workflow.tasks)
    assert set(per_task) <= {"_task_to_dict:<listcomp>", "_task_to_dict:<dictcomp>"}
    again = codec.decode(text, workflow.spec, workflow.subprocess_specs)
    assert codec.encode(again) == text
    (task,) = again.get_tasks(state=TaskState.READY, manual=True)
    assert task.data == {"outcome": "interested", "score": 1}  # ``gone`` deleted, as it was


def test_pruning_asks_no_task_for_its_state_or_parent_by_a_call():
    """What is pruned is as before (the existing pruning tests); the live tasks are found
    without a ``has_state`` call per task and their parents without the ``parent`` property."""
    workflow = _at_second_task()
    names = []

    def count(frame: Any, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code.co_name in ("has_state", "parent", "state"):
            caller = frame.f_back.f_code.co_name
            if caller in ("_prune", "_live_children", "_last_completed", "<listcomp>"):
                names.append(f"{caller}:{frame.f_code.co_name}")

    sys.setprofile(count)
    try:
        removed = prune_history(workflow)
    finally:
        sys.setprofile(None)
    assert removed > 0
    assert names == []
    assert [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY)] == ["again"]


_PG = pytest.mark.skipif(backend() != "postgresql", reason="libpq's pipeline: PostgreSQL only")


class _Recording:
    """A libpq connection whose queries' parameter formats are noted."""

    def __init__(self, pgconn: Any) -> None:
        self._pgconn = pgconn
        self.formats: list[Any] = []

    def send_query_prepared(self, name: bytes, params: Any, formats: Any = None) -> None:
        self.formats.append(formats)
        self._pgconn.send_query_prepared(name, params, formats)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pgconn, name)


@_PG
def test_datetimes_go_to_postgresql_in_binary_as_the_same_instant():
    """psycopg's text of a datetime is ``str(value)``, with its UTC offset formatted by C's
    printf: some 10,000 instructions a value, a dozen values a step. Sent in binary, every
    instant and type reads back as the text form gave it."""
    import psycopg

    from dialflow.wire import Wire, WireStatement

    values = [
        datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2026, 7, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8))),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    statement = WireStatement(
        "SELECT %(at)s::timestamptz::text, %(naive)s::timestamp::text, %(n)s::int, %(s)s"
    )
    url = str(PG_URL).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.commit()
        expected = []
        for at in values:
            row = conn.execute(
                "SELECT %s::timestamptz::text, %s::timestamp::text, %s::int, %s",
                [str(at), str(at.replace(tzinfo=None)), 7, "x"],
            ).fetchone()
            expected.append(row)
        conn.commit()
        wire = Wire(conn)
        recording = wire.pgconn = _Recording(wire.pgconn)
        results = [wire.send(statement, [at, at.replace(tzinfo=None), 7, "x"]) for at in values]
        plain = wire.send(statement, [None, None, None, "y"])
        wire.sync()
    assert [r.rows[0] for r in results] == expected
    assert plain.rows == [(None, None, None, "y")]
    # the datetimes in binary (1), the rest as text (0); no datetime: all text, as before
    assert [list(f) for f in recording.formats[:1]] == [[1, 1, 0, 0]]
    assert recording.formats[-1] is None


def test_a_utc_datetime_column_converts_in_one_call_where_the_driver_takes_datetimes():
    """SQLAlchemy's decorator made two calls per value (its closure, then
    ``process_bind_param``); the value given is the same."""
    from sqlalchemy.dialects import postgresql

    from dialflow.db import UTCDateTime

    process = UTCDateTime().dialect_impl(postgresql.dialect()).bind_processor(postgresql.dialect())
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    shanghai = datetime(2026, 1, 2, 11, 4, 5, tzinfo=timezone(timedelta(hours=8)))
    made = []

    def count(frame: Any, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_back is not None and frame.f_back.f_code is code:
            made.append(frame.f_code.co_name)

    code = process.__code__
    sys.setprofile(count)
    try:
        process(at)
    finally:
        sys.setprofile(None)
    assert made == []  # the conversion calls nothing further
    assert process(at) is at
    assert process(shanghai) == at and process(shanghai).tzinfo is UTC
    assert process(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        process(datetime(2026, 1, 2))


def test_a_step_without_message_waits_counts_none():
    """Every save asked which message waits it opened, building a ``Counter`` of the waits
    before (a generator, a key function per wait) even when the instance waits for no
    message: now one look at the waits. What is opened is as before."""
    from engine.message_buffer import opened

    timer = {"kind": "timer", "name": None, "due_at": "2026-01-02T03:04:05+00:00"}
    message = {"kind": "message", "name": "reply", "correlation": {"customer_id": 7}}
    other = {**message, "correlation": {"customer_id": 8}}
    made = []

    def count(frame: Any, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_back is not None and frame.f_back.f_code is code:
            made.append(frame.f_code.co_name)

    code = opened.__code__
    sys.setprofile(count)
    try:
        opened([message, timer], [timer])
    finally:
        sys.setprofile(None)
    assert made == []  # no call made by ``opened`` itself
    assert opened([message], [timer]) == []
    assert opened(None, [timer, message]) == [message]
    assert opened([message], [message, other]) == [other]
    assert opened([message], [message, message]) == [message]
    assert opened([message], [{"kind": "message", "name": None}]) == []


def test_the_formats_of_a_statements_values_are_chosen_without_an_import():
    """Choosing which values go in binary ran ``from psycopg.adapt import PyFormat`` and read
    the enum's members for every statement with a datetime: some 23,000 instructions for
    eight values, two of them datetimes (callgrind), as much as binary saved. Now the formats
    are imported once; which value goes how is as before, but for a time zone other than UTC
    (text, as psycopg gives it)."""
    import builtins

    pytest.importorskip("psycopg")
    from psycopg.adapt import PyFormat

    from dialflow.wire import _formats

    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    shanghai = at.astimezone(timezone(timedelta(hours=8)))
    values = [1, "x", at, None, at.replace(tzinfo=None), shanghai, b"z"]
    _formats(values)
    imports = []
    real_import = builtins.__import__

    def counted(*args: Any, **kwargs: Any) -> Any:
        imports.append(args[0])
        return real_import(*args, **kwargs)

    builtins.__import__ = counted
    try:
        formats = _formats(values)
    finally:
        builtins.__import__ = real_import
    assert imports == []
    text, binary = PyFormat.TEXT, PyFormat.BINARY
    assert formats == [text, text, binary, text, binary, text, text]
    assert _formats([1, "x", None]) is None
    assert _formats([shanghai, "x"]) is None  # all text: sent as before, without formats
