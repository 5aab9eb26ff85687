"""One message, one catch: a message reaching an instance moves one of its waiting catches.

SpiffWorkflow 3.2's event manager hands a message to every catch of the instance that waits
for it: two parallel branches waiting for ``customer_replied``, or a receive task beside a
message event subprocess of the same name, all moved on one reply. Zeebe correlates a message
to one subscription of an instance, and Camunda 7's ``correlate()`` to one execution; so does
Dialflow. Whether the message comes through the API, the queue or a throw inside the instance,
it goes to the catch that has waited longest: the one whose wait began in the earliest step;
of catches that began waiting in the same step, the first in the instance's task tree (depth
first, a subprocess's or called process's tasks at the place of the activity running them).
A catch that waits again after catching (a non-interrupting boundary event or event
subprocess) begins a new wait, so the next message goes to the next catch.

The step a wait began in is kept in the task's internal data (``WAIT_ORDER``) as a number
that grows with each step of the instance that begins a wait; not the wall clock, which two
workers need not agree on. Waits begun before this was recorded count as the oldest.

Only catches whose correlation matches count (SpiffWorkflow's own ``catches``). Signals,
errors, escalations and timers are delivered as SpiffWorkflow delivers them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import EventManager

WAIT_ORDER = "wait_order"
# ``(message name, catch ids)``: the catches a message sent in now passes over
_RULED_OUT: ContextVar[tuple[str, frozenset[Any]] | None] = ContextVar("ruled_out", default=None)


@contextmanager
def ruling_out(name: str, task_ids: frozenset[Any]) -> Iterator[None]:
    """A message of ``name`` sent to the instance meanwhile passes over these catches (their
    instance's variables give another value of one its correlation names,
    ``messages._held_otherwise``): it moves the one that waited longest of the others."""
    token = _RULED_OUT.set((name, task_ids))
    try:
        yield
    finally:
        _RULED_OUT.reset(token)


class OneCatchEventManager(EventManager):
    """SpiffWorkflow's event manager, delivering each message to one waiting catch."""

    def __init__(self, workflow: Any) -> None:
        super().__init__(workflow)
        self._stamping = False  # waits registered while a state is decoded keep their order
        self._stamp: int | None = None

    def new_step(self) -> None:
        """Waits that begin from now on belong to a new step."""
        self._stamping = True
        self._stamp = None

    def add_task(self, my_task: Any) -> None:
        super().add_task(my_task)
        if self._stamping and WAIT_ORDER not in my_task.internal_data:
            if self._stamp is None:
                self._stamp = 1 + max((_order(t) for t in self.tasks.values()), default=0)
            my_task.internal_data[WAIT_ORDER] = self._stamp

    def remove_task(self, my_task: Any) -> None:
        super().remove_task(my_task)
        my_task.internal_data.pop(WAIT_ORDER, None)  # a wait begun again is a new one

    def catch(self, event: Any, internal: bool = True) -> int:
        if event.target is not None or not isinstance(
            event.event_definition, MessageEventDefinition
        ):
            return super().catch(event, internal)
        self.update_collaboration(event)
        catching = [t for t in self.tasks.values() if t.task_spec.catches(t, event)]
        ruled_out = _RULED_OUT.get()
        if not internal and ruled_out and ruled_out[0] == event.event_definition.name:
            catching = [t for t in catching if t.id not in ruled_out[1]]
        if not catching:
            if internal:  # nothing here waits for it: it leaves the instance
                self.workflow.bpmn_events.append(event)
            return 0
        task = first_waiting(catching)
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
        return 1


class Workflow(BpmnWorkflow):
    """A ``BpmnWorkflow`` whose messages each move one catch (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = OneCatchEventManager(self)
        manager.tasks = self.event_manager.tasks
        self.event_manager = manager


def new_step(workflow: Any) -> None:
    """Call before a step runs on ``workflow``: the waits it begins are younger than those
    waiting now."""
    manager = workflow.event_manager
    if isinstance(manager, OneCatchEventManager):
        manager.new_step()


def first_waiting(tasks: list[Any]) -> Any:
    """The task waiting since the earliest step; of one step, the first in tree order."""
    if len(tasks) == 1:
        return tasks[0]
    return min(tasks, key=lambda task: (_order(task), tree_path(task)))


def _order(task: Any) -> int:
    return task.internal_data.get(WAIT_ORDER, 0)


def tree_path(task: Any) -> tuple[int, ...]:
    """The task's place in the instance's tree: the index of each task among its parent's
    children from the root, a subprocess's tasks below the task of the activity running it."""
    path: list[int] = []
    top = task.workflow.top_workflow
    while task is not None:
        parent = task.parent
        if parent is not None:
            path.append(parent._children.index(task.id))
            task = parent
        elif task.workflow is top:
            break
        else:
            task = top.get_task_from_id(task.workflow.parent_task_id)
    return tuple(reversed(path))
