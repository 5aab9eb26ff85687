"""Completion conditions of multi-instance activities that can count what is done.

A completion condition such as "two of the three managers approved" must see what the
finished instances produced. SpiffWorkflow 3.2 evaluates it with the data of the instance
that just finished only: the output collection there is the copy taken when that instance
began (empty for a parallel activity), so a condition written against it never became true
and every instance ran. Here the condition sees that instance's data, then the output
collection as merged so far, and Camunda's counters ``nrOfInstances``,
``nrOfCompletedInstances`` and ``nrOfActiveInstances``.

The item variables belong to each instance. Without an output collection SpiffWorkflow merges
each finished instance's whole data into the activity's, its input item (and output item)
too: after a task, embedded subprocess or call activity the process kept the last instance's
``manager``, and a sequential one failed its second instance ("Multiinstance input item
manager already exists"). Here they stay with their instance; other variables merge as before.
A list output collection holds each output item at its instance's place, whatever the order
the instances finish in.
"""

from __future__ import annotations

import bisect
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException, WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.defaults import (
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    StandardLoopTask,
)
from SpiffWorkflow.util.task import TaskState

from engine.condition_retries import CheckedStandardLoopTask, evaluate_or_fail, retried_condition
from engine.instance_changes import forget_base, on_shared_data, remember_base
from engine.instance_scripts import create_instance, scripts_to_instances
from engine.loop_outputs import FreshOutputs
from engine.task_scripts import PRE_SCRIPT_NOTE, PreScriptHeard

# The activity task's internal data: the instance indexes of the items of its list output
# collection, in the collection's order.
OUTPUT_ORDER = "output_order"


def completion_reached(spec: Any, my_task: Any) -> bool:
    """Whether the activity's completion condition holds now that an instance finished."""
    merged = my_task.internal_data.get("merged", [])
    if not merged or spec.condition is None:
        return False
    last = next(c for c in my_task.children if str(c.id) == merged[-1])
    # the activity's data beneath: what a retry brought to fix a failed condition
    data = {**my_task.data, **last.data, **_counters(spec, my_task, len(merged))}
    output = spec.data_output
    if output is not None and output.exists(my_task):
        data[output.bpmn_id] = output.get(my_task)
    engine = my_task.workflow.script_engine
    try:
        return bool(engine.environment.evaluate(spec.condition, data, None))
    except SpiffWorkflowException as exc:
        exc.add_note(f"Error evaluating expression '{spec.condition}'")
        raise
    except Exception as exc:
        raise WorkflowTaskException(
            f"Error evaluating expression '{spec.condition}'", task=last, exception=exc
        ) from exc


def _counters(spec: Any, my_task: Any, completed: int) -> dict[str, int]:
    """Camunda's multi-instance counters, for conditions written for it."""
    active = sum(1 for c in spec._instances(my_task) if not c.has_state(TaskState.FINISHED_MASK))
    total = my_task.internal_data.get("cardinality")
    if total is None:
        total = completed + active + len(my_task.internal_data.get("remaining", []))
    return {
        "nrOfInstances": total,
        "nrOfCompletedInstances": completed,
        "nrOfActiveInstances": active,
    }


class _ItemsPerInstance:
    """Merges a finished instance's data without its item variables, and its output item at
    its instance's place in a list output collection (see above)."""

    input_item: Any
    output_item: Any
    data_input: Any
    data_output: Any

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> None:
        # an instance whose pre-script fails does not stop its siblings (instance_scripts)
        create_instance(super().create_child, my_task, item, key_or_index)  # type: ignore[misc]

    def _own_names(self, child: Any) -> set[str]:
        """The variables of ``child`` that stay with it: its items, its owners."""
        items = [self.input_item] + ([self.output_item] if self.data_output is None else [])
        names = {item.bpmn_id for item in items if item is not None}
        if getattr(child.task_spec, "prescript", None):
            names.add("lane_owners")  # the owners its own pre-script gave it are its own
        return names

    def merge_child(self, workflow: Any, child: Any) -> None:
        names = self._own_names(child)
        kept = {name: child.data.pop(name) for name in names if name in child.data}
        try:
            super().merge_child(workflow, child)  # type: ignore[misc]
        except WorkflowDataException as exc:
            if self.output_item is None or self.output_item.exists(child):
                raise
            # the instance failed, not the activity: a retry completes it again with the
            # retry's data (a person's submitted form kept, task_scripts), where SpiffWorkflow
            # left it completed and the retry had nothing to run, the instance stuck
            child._set_state(TaskState.ERROR)
            raise WorkflowDataException(
                _missing_output(self, child), child, data_output=self.data_output
            ) from exc
        finally:
            child.data.update(kept)  # the instance's own record keeps them
        self._put_in_place(child)

    def _put_in_place(self, child: Any) -> None:
        """Move the output item just appended to the list output collection to the place of
        its instance's index among the items merged so far: SpiffWorkflow 3.2 appends them as
        the instances finish, so a parallel activity's outputs came in the order the people
        completed them, not the order of the input collection (or of the cardinality)."""
        index = child.internal_data.get("key_or_index")
        if self.data_output is None or self.output_item is None or type(index) is not int:
            return
        my_task = child.parent
        output = self.data_output.get(my_task)
        if not isinstance(output, list) or (
            self.data_input is not None and self.data_input.get(my_task) is output
        ):
            return  # a map, or the input collection updated in place: already by key
        placed = my_task.internal_data.setdefault(OUTPUT_ORDER, [])
        if len(placed) != len(output) - 1:
            return  # items merged before their places were recorded: left as they came
        at = bisect.bisect(placed, index)
        placed.insert(at, index)
        output.insert(at, output.pop())


def _missing_output(spec: Any, child: Any) -> str:
    """What an instance that ended without its output item lacked, and where to set it
    (SpiffWorkflow said only "Expected an output item")."""
    item = spec.output_item.bpmn_id
    collection = spec.data_output.bpmn_id
    return (
        f"An instance of {spec.bpmn_id or spec.name} ended without {item!r}, the "
        f"outputDataItem each instance adds to {collection!r}; its data holds "
        f"{', '.join(repr(k) for k in sorted(child.data)) or 'nothing'}. Give the task's "
        f"form a field named {item!r}, or set {item!r} in a script or post-script; a "
        f"retry with {item!r} in its data completes this instance"
    )


class _InputChecked:
    """An activity whose input collection is missing or no collection fails on itself, with
    the variable named: SpiffWorkflow 3.2's parallel activity iterated ``None`` and failed
    with "'NoneType' object is not iterable" on no task (an incident on no element, which a
    retry could not reach), and its sequential one said "Missing data input for
    multiinstance task"."""

    def create_children(self, my_task: Any) -> Any:  # a parallel activity's
        self._check_input(my_task)
        return super().create_children(my_task)  # type: ignore[misc]

    def init_remaining_items(self, my_task: Any) -> Any:  # a sequential activity's
        self._check_input(my_task)
        return super().init_remaining_items(my_task)  # type: ignore[misc]

    def _check_input(self, my_task: Any) -> None:
        """After the activity's data was inherited and its pre-script ran. It fails before
        it is ready, as a pre-script that fails (``task_scripts.PreScriptHeard``): an
        incident on the activity, whose retry makes it ready again with the retry's data,
        creating its instances."""
        problem = _input_problem(self, my_task)
        if problem:
            exc = WorkflowDataException(problem, my_task, data_input=self.data_input)
            # Python's own note (SpiffWorkflow's would add "Error occurred in the Pre-Script"
            # to the message): heard as a pre-script failure, told as what it is
            BaseException.add_note(exc, PRE_SCRIPT_NOTE)
            my_task._set_state(TaskState.ERROR)  # as SpiffWorkflow leaves a failed pre-script
            raise exc


def _input_problem(spec: Any, my_task: Any) -> str | None:
    """What is wrong with the activity's input collection in ``my_task``'s data, if anything."""
    if spec.data_input is None:
        return None
    name = spec.data_input.bpmn_id
    where = f"The multi-instance activity {spec.bpmn_id or spec.name!r}"
    fix = (
        f"start the instance with {name!r} (a list), or set it in a script before the "
        f"activity; a retry with {name!r} in its data goes on"
    )
    if not spec.data_input.exists(my_task):
        held = "it holds " + (", ".join(repr(k) for k in sorted(my_task.data)) or "nothing")
        return f"{where} has no {name!r}, its input collection, in its data ({held}): {fix}"
    value = spec.data_input.get(my_task)
    if value is None or isinstance(value, bool | int | float):
        return f"{where} has {name!r} = {value!r}, where its input collection is a list: {fix}"
    return None


class CountingParallelMultiInstanceTask(
    _InputChecked, PreScriptHeard, _ItemsPerInstance, FreshOutputs, ParallelMultiInstanceTask
):
    # its instances' changes and post-scripts go onto its data as each completes
    SHARES_CHANGES = True

    def _update_hook(self, my_task: Any) -> Any:
        forget_base(my_task)  # a retry or a new pass creates its instances again
        return super()._update_hook(my_task)

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> None:
        remember_base(my_task)
        super().create_child(my_task, item, key_or_index)

    def merge_child(self, workflow: Any, child: Any) -> None:
        has_output = self.data_output is not None and self.output_item is not None
        with on_shared_data(child, self._own_names(child), has_output):
            super().merge_child(workflow, child)

    def check_completion_condition(self, my_task: Any) -> bool:
        return evaluate_or_fail(my_task, lambda: completion_reached(self, my_task))

    def _run_hook(self, my_task: Any) -> bool | None:
        reached = retried_condition(my_task, lambda: completion_reached(self, my_task))
        if reached:
            for child in self._instances(my_task):
                child.cancel()  # the finished ones stay as they are
        elif reached is False and not self.children_complete(my_task):
            return None  # the instances still running end it
        forget_base(my_task)
        return super()._run_hook(my_task)


class CountingSequentialMultiInstanceTask(
    _InputChecked, PreScriptHeard, _ItemsPerInstance, FreshOutputs, SequentialMultiInstanceTask
):
    def check_completion_condition(self, my_task: Any) -> bool:
        return evaluate_or_fail(my_task, lambda: completion_reached(self, my_task))

    def merge_child(self, workflow: Any, child: Any) -> None:
        super().merge_child(workflow, child)
        # Camunda 8 sets each instance's output mappings in the process (``io_mappings``);
        # with an output collection SpiffWorkflow merged only the output item.
        io = getattr(child.task_spec, "io", None)
        if io is None or self.data_output is None:
            return
        item = self.output_item.bpmn_id if self.output_item is not None else None
        for mapping in io.outputs:
            if mapping.root != item and mapping.root in child.data:
                child.parent.data[mapping.root] = deepcopy(child.data[mapping.root])

    def _run_hook(self, my_task: Any) -> bool | None:
        reached = retried_condition(my_task, lambda: completion_reached(self, my_task))
        if reached is False and not self.children_complete(my_task):
            self.add_next_child(my_task)  # the next instance
            return None
        return super()._run_hook(my_task)


def hear_instances(spec: BpmnProcessSpec) -> None:
    """Let every loop or multi-instance activity of ``spec`` hear its instances complete.

    SpiffWorkflow 3.2 connects an activity to its instances' completion only when it creates
    one, and its serializer when it reads a spec back; a spec parsed again from the stored
    diagram (another worker, a restart) had neither, so the instances created before finished
    unheard: nothing was merged, no completion condition checked, the activity never ended."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            instance = spec.task_specs.get(task_spec.task_spec)
            if instance is not None and not instance.completed_event.is_connected(
                task_spec.merge_child
            ):
                instance.completed_event.connect(task_spec.merge_child)


def with_counting(parser_class: type) -> type:
    """``parser_class`` building these multi-instance activities, and standard loops whose
    failing condition a retry evaluates again (``engine.condition_retries``)."""

    def _copy_task_attrs(self: Any, original: Any, loop_characteristics: Any = None) -> None:
        super(parser, self)._copy_task_attrs(original, loop_characteristics)
        scripts_to_instances(self.task, original, loop_characteristics)

    parser = type(
        parser_class.__name__,
        (parser_class,),
        {
            "_copy_task_attrs": _copy_task_attrs,
            "PARALLEL_MI_CLASS": CountingParallelMultiInstanceTask,
            "SEQUENTIAL_MI_CLASS": CountingSequentialMultiInstanceTask,
            "STANDARD_LOOP_CLASS": CheckedStandardLoopTask,
        },
    )
    return parser


def serializer_config(config: dict[type, Any]) -> dict[type, Any]:
    """The serializer's ``config`` converting these as SpiffWorkflow's own (migration's diff
    compares specs through the registry)."""
    return {
        **config,
        CountingParallelMultiInstanceTask: config[ParallelMultiInstanceTask],
        CountingSequentialMultiInstanceTask: config[SequentialMultiInstanceTask],
        CheckedStandardLoopTask: config[StandardLoopTask],
    }
