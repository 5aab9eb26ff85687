"""The event types a webhook subscription may ask for, with what their ``data`` holds.

Payloads carry ids, stages and amounts, not personal data (names, numbers, notes): a receiver
that needs more reads the record through the API with a token, where scoping, masking and the
audit log apply, and nothing in the outbox has to be erased with a customer.

To add an event type: name it here, then write it to the outbox where it happens, either
through a CRM domain event (``crm/webhooks/domain_events.py``) or, in a workflow step, as one
of the step's batched writes (``engine/webhook_events.py``).
"""

from __future__ import annotations

TEST_EVENT = "webhook.test"

EVENT_TYPES: dict[str, str] = {
    "customer.created": "A customer or lead was created (API, page, lead intake or import): "
    "customer_id, stage, pool_status, owner_id, team_id, source, created_at.",
    "call.logged": "A call was logged: call_id, customer_id, agent_id, direction, "
    "disposition, started_at, duration_s, external_id.",
    "deal.stage_changed": "A deal moved to another stage: deal_id, customer_id, from_stage, "
    "to_stage, amount, currency, owner_id, changed_by_id.",
    "deal.won": "A deal was won (also sent as deal.stage_changed): the same fields and closed_at.",
    "deal.lost": "A deal was lost (also sent as deal.stage_changed): the same fields, closed_at "
    "and lost_reason.",
    "task.completed": "A person completed a workflow task: task_id, instance_id, process_id, "
    "element_id, business_key, completed_by_id.",
    "process_instance.completed": "A process instance reached its end: instance_id, process_id, "
    "business_key, ended_at.",
    "process_instance.incident": "A step of a process instance failed and opened an incident: "
    "instance_id, process_id, business_key, element_id, kind, message, attempts, retry_at.",
}


def is_known(event_type: str) -> bool:
    return event_type in EVENT_TYPES
