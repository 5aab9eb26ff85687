"""Loops beside an open branch: the other branch's open task keeps the tree's common ancestor
at the split, so history below it must still be cut branch by branch. Without that an
automatic loop stopped silently at ~500 passes (SpiffWorkflow no longer saw its READY task),
and a loop that waits each pass grew the state with every pass."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import func, select

from dialflow.runtime import Runtime
from engine.models import ProcessInstance
from tests.engine.conftest import Actor, one_process


def deploy(actor: Actor, process_id: str, body: str) -> None:
    response = actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(one_process(process_id, body)), f"{process_id}.bpmn")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def split_join(kind: str) -> tuple[str, str]:
    """The split and join of ``kind`` (``parallel`` or ``inclusive``, both of whose ways are
    taken) around a person's review and an automatic loop."""
    if kind == "parallel":
        return (
            '<parallelGateway id="split" />',
            '<sequenceFlow id="s1" sourceRef="split" targetRef="review" />\n'
            '    <sequenceFlow id="s2" sourceRef="split" targetRef="init" />',
        )
    return (
        '<inclusiveGateway id="split" />',
        '<sequenceFlow id="s1" sourceRef="split" targetRef="review">'
        '<conditionExpression xsi:type="tFormalExpression">True</conditionExpression>'
        "</sequenceFlow>\n"
        '    <sequenceFlow id="s2" sourceRef="split" targetRef="init">'
        '<conditionExpression xsi:type="tFormalExpression">True</conditionExpression>'
        "</sequenceFlow>",
    )


def automatic_loop(kind: str, gated: bool = False, failing: bool = False) -> str:
    """Beside an open review, count until ``target``; both ways meet at a join of ``kind``.
    ``gated``: the loop starts once someone completes ``prepare``; ``failing``: a third branch
    fails (its script divides by zero)."""
    split, flows = split_join(kind)
    if gated:
        flows = flows.replace('targetRef="init"', 'targetRef="prepare"') + (
            '\n    <userTask id="prepare" name="Prepare" />'
            '\n    <sequenceFlow id="p1" sourceRef="prepare" targetRef="init" />'
        )
    if failing:
        flows += (
            '\n    <sequenceFlow id="s3" sourceRef="split" targetRef="broken" />'
            '\n    <scriptTask id="broken"><script>x = 1 / 0</script></scriptTask>'
            '\n    <sequenceFlow id="b1" sourceRef="broken" targetRef="join" />'
        )
    return f"""    <startEvent id="start" />
    <sequenceFlow id="f0" sourceRef="start" targetRef="split" />
    {split}
    {flows}
    <userTask id="review" name="Review" />
    <sequenceFlow id="r1" sourceRef="review" targetRef="join" />
    <scriptTask id="init"><script>n = 0</script></scriptTask>
    <sequenceFlow id="i1" sourceRef="init" targetRef="count" />
    <scriptTask id="count"><script>n = n + 1</script></scriptTask>
    <sequenceFlow id="c1" sourceRef="count" targetRef="enough" />
    <exclusiveGateway id="enough" default="again" />
    <sequenceFlow id="again" sourceRef="enough" targetRef="count" />
    <sequenceFlow id="done" sourceRef="enough" targetRef="join">
      <conditionExpression xsi:type="tFormalExpression">n &gt;= target</conditionExpression>
    </sequenceFlow>
    <{kind}Gateway id="join" />
    <sequenceFlow id="j1" sourceRef="join" targetRef="after" />
    <scriptTask id="after"><script>joined = n</script></scriptTask>
    <sequenceFlow id="e1" sourceRef="after" targetRef="end" />
    <endEvent id="end" />"""


WAITING_LOOP = """    <startEvent id="start" />
    <sequenceFlow id="f0" sourceRef="start" targetRef="split" />
    <parallelGateway id="split" />
    <sequenceFlow id="s1" sourceRef="split" targetRef="review" />
    <sequenceFlow id="s2" sourceRef="split" targetRef="init" />
    <scriptTask id="init"><script>n = 0</script></scriptTask>
    <sequenceFlow id="i1" sourceRef="init" targetRef="again" />
    <userTask id="review" name="Review" />
    <sequenceFlow id="r1" sourceRef="review" targetRef="join" />
    <exclusiveGateway id="again" />
    <sequenceFlow id="a1" sourceRef="again" targetRef="call" />
    <userTask id="call" name="Call" />
    <sequenceFlow id="c1" sourceRef="call" targetRef="count" />
    <scriptTask id="count"><script>n = n + 1</script></scriptTask>
    <sequenceFlow id="c2" sourceRef="count" targetRef="more" />
    <exclusiveGateway id="more" default="done" />
    <sequenceFlow id="more_calls" sourceRef="more" targetRef="again">
      <conditionExpression xsi:type="tFormalExpression">n &lt; limit</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="done" sourceRef="more" targetRef="join" />
    <parallelGateway id="join" />
    <sequenceFlow id="j1" sourceRef="join" targetRef="after" />
    <scriptTask id="after"><script>joined = n</script></scriptTask>
    <sequenceFlow id="e1" sourceRef="after" targetRef="end" />
    <endEvent id="end" />"""


NESTED_LOOP = """    <startEvent id="start" />
    <sequenceFlow id="f0" sourceRef="start" targetRef="outer" />
    <parallelGateway id="outer" />
    <sequenceFlow id="o1" sourceRef="outer" targetRef="review" />
    <sequenceFlow id="o2" sourceRef="outer" targetRef="inner" />
    <userTask id="review" name="Review" />
    <sequenceFlow id="r1" sourceRef="review" targetRef="outer_join" />
    <parallelGateway id="inner" />
    <sequenceFlow id="i1" sourceRef="inner" targetRef="check" />
    <sequenceFlow id="i2" sourceRef="inner" targetRef="init" />
    <userTask id="check" name="Check" />
    <sequenceFlow id="k1" sourceRef="check" targetRef="inner_join" />
    <scriptTask id="init"><script>n = 0</script></scriptTask>
    <sequenceFlow id="n1" sourceRef="init" targetRef="count" />
    <scriptTask id="count"><script>n = n + 1</script></scriptTask>
    <sequenceFlow id="c1" sourceRef="count" targetRef="enough" />
    <exclusiveGateway id="enough" default="again" />
    <sequenceFlow id="again" sourceRef="enough" targetRef="count" />
    <sequenceFlow id="done" sourceRef="enough" targetRef="inner_join">
      <conditionExpression xsi:type="tFormalExpression">n &gt;= target</conditionExpression>
    </sequenceFlow>
    <parallelGateway id="inner_join" />
    <sequenceFlow id="j1" sourceRef="inner_join" targetRef="outer_join" />
    <parallelGateway id="outer_join" />
    <sequenceFlow id="j2" sourceRef="outer_join" targetRef="after" />
    <scriptTask id="after"><script>joined = n</script></scriptTask>
    <sequenceFlow id="e1" sourceRef="after" targetRef="end" />
    <endEvent id="end" />"""


def state_size(db: Any, instance_id: int) -> int:
    with db() as session:
        return session.scalar(
            select(func.length(ProcessInstance.state)).where(ProcessInstance.id == instance_id)
        )


def task_named(instance: dict[str, Any], name: str) -> dict[str, Any]:
    [task] = [t for t in instance["ready_tasks"] if t["name"] == name]
    return task


def assert_tree_consistent(runtime: Runtime, instance_id: int) -> None:
    """Every task of the stored tree is reached from its root, knows its parent, and its
    parent knows it."""
    with runtime.db.unit_of_work(read_only=True) as session:
        row = session.get(ProcessInstance, instance_id)
        spec, subprocess_specs = runtime.engine.specs.for_version(session, row.version_id).spec(
            row.process_id
        )
        workflow = runtime.engine.codec.decode(row.state, spec, subprocess_specs)
    reached = {}
    stack = [workflow.task_tree]
    while stack:
        task = stack.pop()
        reached[task.id] = task
        for child in task.children:
            assert child is not None and child.parent is task
            stack.append(child)
    assert reached.keys() == workflow.tasks.keys()
    assert workflow.task_tree.parent is None


@pytest.mark.parametrize("failing", [False, True], ids=["alone", "beside_a_failure"])
def test_an_endless_loop_beside_an_open_task_is_an_incident(
    owner: Actor, agent: Actor, monkeypatch: pytest.MonkeyPatch, failing: bool
) -> None:
    """It stopped silently at pass 500 with the instance "running": the review kept the
    split as the root, and SpiffWorkflow no longer saw the loop's next task."""
    monkeypatch.setattr("engine.pruning.MAX_AUTOMATIC_TASKS", 3_000)
    deploy(owner, "spin_beside_review", automatic_loop("parallel", failing=failing))
    stuck = agent.start("spin_beside_review", {"target": 10**9})
    assert stuck["status"] == "error", stuck["data"]
    kinds = sorted(i["kind"] for i in stuck["incidents"])
    assert kinds == (["runaway_loop", "script_error"] if failing else ["runaway_loop"])
    [incident] = [i for i in stuck["incidents"] if i["kind"] == "runaway_loop"]
    assert incident["element_id"] in ("count", "enough")
    assert "3000 automatic tasks" in incident["message"]
    assert 1_400 <= stuck["data"]["n"] <= 1_501
    assert [t["name"] for t in stuck["ready_tasks"]] == ["review"]


@pytest.mark.parametrize("kind", ["parallel", "inclusive"])
def test_a_long_loop_beside_an_open_task_runs_to_its_end_and_joins(
    runtime: Runtime, db: Any, owner: Actor, agent: Actor, kind: str
) -> None:
    deploy(owner, "count_beside_review", automatic_loop(kind))
    short = agent.start("count_beside_review", {"target": 10})
    long = agent.start("count_beside_review", {"target": 2_000})
    assert long["status"] == "running", long["incidents"]
    assert long["data"]["n"] == 2_000
    assert state_size(db, long["id"]) < 1.5 * state_size(db, short["id"])
    assert_tree_consistent(runtime, long["id"])
    done = agent.complete_ok(task_named(long, "review")["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["joined"] == 2_000


@pytest.mark.parametrize("kind", ["parallel", "inclusive"])
def test_a_join_waits_for_a_long_loop_that_starts_after_the_other_branch_arrived(
    runtime: Runtime, owner: Actor, agent: Actor, kind: str
) -> None:
    deploy(owner, "review_then_count", automatic_loop(kind, gated=True))
    started = agent.start("review_then_count", {"target": 1_200})
    waiting = agent.complete_ok(task_named(started, "review")["id"])
    assert waiting["status"] == "running"
    assert [t["name"] for t in waiting["ready_tasks"]] == ["prepare"]
    done = agent.complete_ok(task_named(waiting, "prepare")["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["joined"] == 1_200


def test_a_loop_that_waits_each_pass_beside_an_open_task_stays_bounded(
    runtime: Runtime, db: Any, owner: Actor, agent: Actor
) -> None:
    deploy(owner, "calls_beside_review", WAITING_LOOP)
    instance = agent.start("calls_beside_review", {"limit": 600})
    for call in range(1, 600):
        instance = agent.complete_ok(task_named(instance, "call")["id"])
        if call == 10:
            size_at_10 = state_size(db, instance["id"])
    assert instance["status"] == "running"
    assert instance["data"]["n"] == 599
    assert state_size(db, instance["id"]) < 1.5 * size_at_10
    assert_tree_consistent(runtime, instance["id"])
    instance = agent.complete_ok(task_named(instance, "call")["id"])  # the 600th: the loop ends
    assert [t["name"] for t in instance["ready_tasks"]] == ["review"]
    done = agent.complete_ok(task_named(instance, "review")["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["joined"] == 600


def test_a_loop_the_engine_lost_sight_of_is_an_incident_not_a_silent_stop(
    owner: Actor, agent: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard behind the pruning: without it (pruning switched off here) the step would
    end at pass ~500 as if nothing were left to do."""
    monkeypatch.setattr("engine.pruning.prune_history", lambda workflow, trail=None: 0)
    deploy(owner, "spin_beside_review", automatic_loop("parallel"))
    stuck = agent.start("spin_beside_review", {"target": 10**9})
    assert stuck["status"] == "error", stuck["data"]
    [incident] = stuck["incidents"]
    assert incident["kind"] == "runaway_loop"
    assert "deeper than the engine can follow" in incident["message"]
    assert stuck["data"]["n"] < 600


def test_a_loop_in_a_split_within_a_split_runs_to_its_end_and_joins_both(
    runtime: Runtime, db: Any, owner: Actor, agent: Actor
) -> None:
    deploy(owner, "count_beside_two", NESTED_LOOP)
    short = agent.start("count_beside_two", {"target": 10})
    long = agent.start("count_beside_two", {"target": 1_500})
    assert long["status"] == "running", long["incidents"]
    assert long["data"]["n"] == 1_500
    assert state_size(db, long["id"]) < 1.5 * state_size(db, short["id"])
    assert_tree_consistent(runtime, long["id"])
    checked = agent.complete_ok(task_named(long, "check")["id"])
    assert [t["name"] for t in checked["ready_tasks"]] == ["review"]
    done = agent.complete_ok(task_named(checked, "review")["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["joined"] == 1_500
