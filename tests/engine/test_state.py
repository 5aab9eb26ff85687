"""What is stored per instance: small, and without the spec (specs are stored per version)."""

from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from engine.models import ProcessInstance, ProcessVersion


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
