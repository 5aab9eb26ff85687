"""``/api/v1/customers``: list and search, create, read, update, notes and calls."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from crm import audit
from crm.calls import log_call
from crm.customers import (
    create_customer,
    customer_to_dict,
    get_customer,
    search_customers,
    update_customer,
)
from crm.notes import add_note
from crm.scoping import may_see_full_phone
from dialflow.errors import InvalidInput
from web.api import api_bp
from web.api.auth import api_user, json_body, token_required
from web.context import settings, unit_of_work


def _paging() -> tuple[int, int]:
    try:
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise InvalidInput(
            "limit and offset must be whole numbers.", code="invalid_paging"
        ) from None
    if limit < 1 or offset < 0:
        raise InvalidInput("limit must be ≥ 1 and offset ≥ 0.", code="invalid_paging")
    return limit, offset


@api_bp.get("/customers")
@token_required
def list_customers() -> ResponseReturnValue:
    limit, offset = _paging()
    pool = request.args.get("pool")
    with unit_of_work(read_only=True) as db:
        user = api_user()
        page = search_customers(
            db,
            viewer=user,
            q=request.args.get("q"),
            owner_id=request.args.get("owner_id", type=int),
            stage=request.args.get("stage"),
            pool=None if pool is None else pool in ("1", "true"),
            tag=request.args.get("tag"),
            limit=limit,
            offset=offset,
            region=settings().default_region,
        )
        items = [customer_to_dict(c, reveal_phone=may_see_full_phone(user, c)) for c in page.items]
    return jsonify({"items": items, "total": page.total})


@api_bp.post("/customers")
@token_required
def create() -> ResponseReturnValue:
    data = json_body()
    with unit_of_work() as db:
        customer = create_customer(
            db,
            data,
            actor=api_user(),
            region=settings().default_region,
            default_timezone=settings().default_timezone,
        )
        body = customer_to_dict(customer)
    return jsonify(body), 201


@api_bp.get("/customers/<int:customer_id>")
@token_required
def read(customer_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        user = api_user()
        customer = get_customer(db, customer_id, viewer=user)
        audit.record(
            db,
            actor=user,
            action="view",
            entity_type="customer",
            entity_id=customer.id,
            source="api",
        )
        body = customer_to_dict(customer, reveal_phone=may_see_full_phone(user, customer))
    return jsonify(body)


@api_bp.patch("/customers/<int:customer_id>")
@token_required
def update(customer_id: int) -> ResponseReturnValue:
    data = json_body()
    with unit_of_work() as db:
        customer = update_customer(
            db, customer_id, data, actor=api_user(), region=settings().default_region
        )
        body = customer_to_dict(customer)
    return jsonify(body)


@api_bp.post("/customers/<int:customer_id>/notes")
@token_required
def create_note(customer_id: int) -> ResponseReturnValue:
    data = json_body()
    with unit_of_work() as db:
        note = add_note(db, customer_id, data.get("text", ""), actor=api_user())
        body = {
            "id": note.id,
            "customer_id": customer_id,
            "text": note.body,
            "created_at": note.created_at.isoformat(),
        }
    return jsonify(body), 201


@api_bp.post("/customers/<int:customer_id>/calls")
@token_required
def create_call(customer_id: int) -> ResponseReturnValue:
    data = json_body()
    with unit_of_work() as db:
        call = log_call(db, customer_id, data, actor=api_user(), region=settings().default_region)
        body = {
            "id": call.id,
            "customer_id": call.customer_id,
            "disposition": call.disposition.value if call.disposition else None,
            "duration_s": call.duration_s,
            "started_at": call.started_at.isoformat(),
            "external_id": call.external_id,
        }
    return jsonify(body), 201
