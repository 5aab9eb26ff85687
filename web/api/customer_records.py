"""``/api/v1/customers/{id}/timeline`` and ``DELETE /api/v1/customers/{id}`` (erasure)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from crm import audit
from crm.customers import customer_to_dict
from crm.scoping import may_see_full_phone
from engine.timeline import customer_timeline
from processes.erasure import erase_customer_and_end_processes
from web.api import api_bp
from web.api.auth import api_user, paging, token_required
from web.api.openapi import documented
from web.api.schemas import CUSTOMER, STR, TIME, obj, page
from web.context import runtime, unit_of_work

TIMELINE_ENTRY = obj(
    {
        "kind": {
            "type": "string",
            "enum": ["call", "note", "deal_stage", "change", "task", "process"],
        },
        "id": STR,
        "at": TIME,
        # tasks: the BPMN element, and its name in the diagram (null when it has none)
        "element_id": STR,
        "element_name": {"type": "string", "nullable": True},
    }
)


@api_bp.get("/customers/<int:customer_id>/timeline")
@documented(
    "The customer's calls, notes, deal stage changes, recorded changes, tasks and processes, "
    "newest first (the view is audited)",
    tag="customers",
    errors=(401, 404, 422),
    response=page(TIMELINE_ENTRY),
    query={"limit": "page size (at most 200)", "offset": "skip (offset + limit ≤ 5000)"},
)
@token_required
def get_timeline(customer_id: int) -> ResponseReturnValue:
    limit, offset = paging()
    user = api_user()
    with unit_of_work(read_only=True) as db:
        entries, total = customer_timeline(
            runtime().engine, db, customer_id, viewer=user, limit=limit, offset=offset
        )
        items = [entry.to_dict() for entry in entries]
    with unit_of_work() as db:  # the view is audited once it succeeded: one INSERT
        audit.record(
            db,
            actor=user,
            action="view",
            entity_type="customer",
            entity_id=customer_id,
            source="api_timeline",
        )
    return jsonify({"items": items, "total": total})


@api_bp.delete("/customers/<int:customer_id>")
@documented(
    "Erase the customer's personal data (PIPL): administrators only; idempotent; audited. "
    "The unfinished process instances keyed by the customer (their call cadence, callbacks, "
    "approvals) are terminated with it",
    tag="customers",
    errors=(401, 403, 404),
    response=obj({**CUSTOMER["properties"], "erased_at": TIME}),
)
@token_required
def delete_customer(customer_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        user = api_user()
        customer = erase_customer_and_end_processes(runtime().engine, db, customer_id, actor=user)
        body = customer_to_dict(customer, reveal_phone=may_see_full_phone(user, customer))
        body["erased_at"] = customer.erased_at.isoformat() if customer.erased_at else None
    return jsonify(body)
