"""Instance state as JSON, without the spec: specs are stored once per deployed version.

SpiffWorkflow's serializer embeds the whole spec in every serialization (about 60 % of a small
instance). ``StateCodec`` keeps the task tree, data and subprocesses, and rebuilds a workflow
from them plus the cached spec of the instance's version.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore(
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec,
        subprocess_specs: dict[str, BpmnProcessSpec],
    ) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateCodec:
    """Encode a workflow to a JSON string and back; stateless after construction, thread-safe."""

    def __init__(self) -> None:
        registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        # Scripts may use the ``date`` helper; SpiffWorkflow only knows datetime and timedelta.
        registry.register(
            date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"])
        )
        self._converter = _SpecFreeWorkflowConverter(BpmnWorkflow, registry)
        self._serializer = BpmnWorkflowSerializer(registry)
        self.registry = registry  # SpiffWorkflow's diff compares specs through it
        self._version = self._serializer.VERSION

    def encode(self, workflow: BpmnWorkflow) -> str:
        dct = self._converter.to_dict(workflow)
        dct[BpmnWorkflowSerializer.VERSION_KEY] = self._version
        return json.dumps(dct, cls=self._serializer._encoder_cls, separators=(",", ":"))

    def check_storable(self, name: str, value: Any) -> None:
        """Raise ``TypeError`` naming ``name`` if ``value`` cannot be kept in task data."""
        try:
            json.dumps(value, cls=self._serializer._encoder_cls, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name!r} holds a value that cannot be stored as task data "
                f"({type(value).__name__}: {exc}); use numbers, text, lists, dicts, datetimes"
            ) from None

    def decode(
        self, text: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        dct = json.loads(text)
        if dct.get(BpmnWorkflowSerializer.VERSION_KEY) != self._version:
            self._serializer.migrate(dct)
        else:
            dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
        return self._converter.restore(dct, spec, subprocess_specs)
