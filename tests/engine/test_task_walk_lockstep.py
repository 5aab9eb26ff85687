"""``engine.task_walk.walk`` against SpiffWorkflow's iterators step by step, on random task
trees changed between two steps as ``update_waiting_tasks`` changes them while it walks
(tasks added, dropped, their states moved, subprocesses begun and deleted), and on chains
deeper than the iterators' depth limit of 1,000, which loops grow and no diagram-driven
test reaches. Pins behaviour that was already right."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

from engine.quiet_workflow import InstanceWorkflow
from engine.task_walk import walk

STATES = [
    TaskState.MAYBE,
    TaskState.LIKELY,
    TaskState.FUTURE,
    TaskState.WAITING,
    TaskState.READY,
    TaskState.STARTED,
    TaskState.COMPLETED,
    TaskState.ERROR,
    TaskState.CANCELLED,
]
MASKS = [
    TaskState.ANY_MASK,
    TaskState.READY,
    TaskState.WAITING,
    TaskState.READY | TaskState.WAITING,
    TaskState.NOT_FINISHED_MASK,
    TaskState.FINISHED_MASK,
    TaskState.PREDICTED_MASK,
    TaskState.DEFINITE_MASK,
    TaskState.COMPLETED,
    TaskState.LIKELY,
]


class Spec:
    def __init__(self, name: str, manual: bool) -> None:
        self.name, self.manual = name, manual

    def _update(self, task: Any) -> None:
        """What ``update_waiting_tasks`` calls on each WAITING task: here, recorded."""
        UPDATED.append(task)


UPDATED: list[Any] = []


SPECS = [Spec(f"s{i}", i % 3 == 0) for i in range(6)]


class Flow:
    """What the iterators read of a workflow: its tasks by id, its top's subprocesses."""

    def __init__(self, top: Flow | None = None) -> None:
        self.tasks: dict[Any, Node] = {}
        self.top_workflow = top or self
        self.subprocesses: dict[Any, Flow] = {}
        self.task_tree: Node | None = None


class Node:
    """What the iterators read of a task (``Task``'s attributes and properties)."""

    def __init__(self, rng: random.Random, flow: Flow, parent: Node | None) -> None:
        self.id = uuid.UUID(int=rng.getrandbits(128))
        self.workflow = flow
        # a parent id equal to, not always the same object as, the parent's (decoded state)
        self._parent = (
            None
            if parent is None
            else (parent.id if rng.random() < 0.5 else uuid.UUID(str(parent.id)))
        )
        self._children: list[Any] = []
        self._state = rng.choice(STATES)
        self.task_spec = rng.choice(SPECS)
        self.last_state_change = 1.0
        flow.tasks[self.id] = self
        if parent is not None:
            parent._children.append(self.id)

    @property
    def state(self) -> int:
        return self._state

    @property
    def parent(self) -> Node | None:
        return self.workflow.tasks.get(self._parent)

    @property
    def children(self) -> list[Node | None]:
        return [self.workflow.tasks.get(child) for child in self._children]

    def has_state(self, state: int) -> bool:
        return (self._state & state) != 0


def _subprocess(rng: random.Random, top: Flow, task: Node) -> Flow:
    sub = Flow(top)
    sub.task_tree = Node(rng, sub, None)
    top.subprocesses[task.id] = sub
    return sub


def _grow(rng: random.Random, flow: Flow, parent: Node, depth: int, budget: list[int]) -> None:
    top = flow.top_workflow
    for _ in range(rng.choice([0, 1, 1, 2, 3]) if depth < 12 else 0):
        if budget[0] <= 0:
            return
        budget[0] -= 1
        task = Node(rng, flow, parent)
        if rng.random() < 0.08 and len(top.subprocesses) < 6:
            sub = _subprocess(rng, top, task)
            _grow(rng, sub, sub.task_tree, depth + 1, budget)  # type: ignore[arg-type]
        _grow(rng, flow, task, depth + 1, budget)


def _tree(rng: random.Random) -> Flow:
    top = Flow()
    top.task_tree = end = Node(rng, top, None)
    _grow(rng, top, top.task_tree, 0, [rng.randint(1, 80)])
    for _ in range(rng.choice([0, 0, 995, 1003, 1200])):  # a loop's chain of tasks
        end = Node(rng, top, end)
    _grow(rng, top, end, 0, [rng.randint(1, 30)])
    return top


def _change(rng: random.Random, top: Flow) -> None:
    tasks = [t for flow in (top, *top.subprocesses.values()) for t in flow.tasks.values()]
    task = rng.choice(tasks)
    pick = rng.random()
    parent = task.parent
    if pick < 0.3:
        task._state = rng.choice(STATES)
    elif pick < 0.55:
        for _ in range(rng.randint(1, 3)):
            Node(rng, task.workflow, task)
    elif pick < 0.75 and parent is not None and task.id in parent._children:
        parent._children.remove(task.id)
        if rng.random() < 0.5:
            del task.workflow.tasks[task.id]
    elif pick < 0.85 and task.workflow is top and task.id not in top.subprocesses:
        sub = _subprocess(rng, top, task)
        Node(rng, sub, sub.task_tree)
    elif top.subprocesses:
        del top.subprocesses[rng.choice(list(top.subprocesses))]


@pytest.mark.parametrize("block", range(4))
def test_each_step_finds_what_spiffworkflows_iterator_finds_as_the_tree_changes(block):
    for seed in range(block * 60, block * 60 + 60):
        rng = random.Random(seed)
        top = _tree(rng)
        bpmn = rng.random() < 0.7
        given: dict[str, Any] = {"state": rng.choice(MASKS)}
        if rng.random() < 0.3:
            given["manual"] = rng.choice([True, False])
        if rng.random() < 0.2:
            given["spec_name"] = rng.choice(SPECS).name
        if bpmn and rng.random() < 0.3:
            given["skip_subprocesses"] = True
        first = top.task_tree if rng.random() < 0.7 else rng.choice(list(top.tasks.values()))
        mine = walk(first, top.subprocesses if bpmn else None, **given)
        theirs = (BpmnTaskIterator if bpmn else TaskIterator)(first, **given)
        changing = rng.random() < 0.6
        steps = 0
        while True:
            found = next(mine, None)
            assert found is next(theirs, None), (seed, steps, given, bpmn)
            if found is None:
                break
            steps += 1
            if changing and rng.random() < 0.3:
                _change(rng, top)


@pytest.mark.parametrize("block", range(2))
def test_an_instance_workflows_skipped_walks_are_those_that_find_nothing(block):
    """``InstanceWorkflow`` makes no walk for a single state no task of its map is in, when it
    has no subprocess (``engine.quiet_workflow``): on the same random trees, with and without
    subprocesses, each of its walks from the root (skipped or made, the tree changing as it
    goes) finds what SpiffWorkflow's does, and ``update_waiting_tasks`` updates the same
    WAITING tasks in the same order as SpiffWorkflow's own. Pins behaviour that was already
    right (the walks were made before)."""
    for seed in range(block * 100, block * 100 + 100):
        rng = random.Random(seed)
        top = _tree(rng)
        if rng.random() < 0.6:
            top.subprocesses.clear()  # the walk stays in the top tree: it may be skipped
        state = rng.choice(STATES + MASKS)
        absent = [s for s in STATES if s not in {t._state for t in top.tasks.values()}]
        if absent and rng.random() < 0.5:  # none in the top map: in a subprocess, maybe
            state = rng.choice(absent)
        mine = InstanceWorkflow.get_tasks_iterator(top, state=state)  # type: ignore[arg-type]
        theirs = BpmnTaskIterator(top.task_tree, state=state)
        changing = rng.random() < 0.6
        steps = 0
        while True:
            found = next(mine, None)
            assert found is next(theirs, None), (seed, steps, state)
            if found is None:
                break
            steps += 1
            if changing and rng.random() < 0.3:
                _change(rng, top)
        UPDATED.clear()
        InstanceWorkflow.update_waiting_tasks(top)  # type: ignore[arg-type]
        updated, UPDATED[:] = list(UPDATED), []
        Workflow.update_waiting_tasks(top)  # type: ignore[arg-type]
        assert updated == UPDATED, seed
        assert all(a is b for a, b in zip(updated, UPDATED, strict=True)), seed
