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
from crm.models import LeadStage
from crm.notes import add_note
from crm.scoping import may_see_full_phone
from engine.dialing import may_see_number
from web.api import api_bp
from web.api.auth import api_user, json_body, paging, token_required
from web.api.openapi import choice, documented
from web.api.params import int_arg
from web.api.schemas import ANY_OBJECT, BOOL, CUSTOMER, INT, STR, obj, page
from web.context import settings, unit_of_work

# ``total`` counts up to 10,000 matches; beyond that it is 10,000 and ``total_capped`` is true.
CUSTOMER_PAGE = {
    **page(CUSTOMER),
    "properties": {**page(CUSTOMER)["properties"], "total_capped": BOOL},
}


@api_bp.get("/customers")
@documented(
    "Search customers by name, phone (any format) or email",
    tag="customers",
    response=CUSTOMER_PAGE,
    query={
        "q": "search text",
        "owner_id": "filter",
        "stage": choice("filter", LeadStage),
        "pool": "1 = public pool only",
        "tag": "filter",
        "limit": "page size",
        "offset": "skip",
    },
)
@token_required
def list_customers() -> ResponseReturnValue:
    limit, offset = paging()
    pool = request.args.get("pool")
    with unit_of_work(read_only=True) as db:
        user = api_user()
        page = search_customers(
            db,
            viewer=user,
            q=request.args.get("q"),
            owner_id=int_arg("owner_id"),
            stage=request.args.get("stage"),
            pool=None if pool is None else pool in ("1", "true"),
            tag=request.args.get("tag"),
            limit=limit,
            offset=offset,
            region=settings().default_region,
        )
        items = [customer_to_dict(c, reveal_phone=may_see_full_phone(user, c)) for c in page.items]
    return jsonify({"items": items, "total": page.total, "total_capped": page.total_capped})


@api_bp.post("/customers")
@documented(
    "Create a customer (phones normalized to E.164; duplicates refused)",
    tag="customers",
    status=201,
    errors=(401, 409, 422),
    response=CUSTOMER,
    request=obj(
        {
            "name": STR,
            "phone": STR,
            "phones": {"type": "array", "items": STR},
            "email": STR,
            "owner": STR,
        },
        required=["name"],
    ),
)
@token_required
def post_customer() -> ResponseReturnValue:
    data = json_body()
    with unit_of_work() as db:
        customer = create_customer(
            db,
            data,
            actor=api_user(),
            region=settings().default_region,
            default_timezone=settings().default_timezone,
        )
        body = customer_to_dict(customer, reveal_phone=may_see_full_phone(api_user(), customer))
    return jsonify(body), 201


@api_bp.get("/customers/<int:customer_id>")
@documented(
    "One customer (the view is audited); phone numbers in full for the owner, their manager, "
    "directors, admins and whoever is dialing them through an open task, masked for others",
    tag="customers",
    errors=(401, 404),
    response=CUSTOMER,
)
@token_required
def get_customer_detail(customer_id: int) -> ResponseReturnValue:
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
        # Like the customer page: whoever is dialing them through an open task sees the number.
        body = customer_to_dict(customer, reveal_phone=may_see_number(db, user, customer))
    return jsonify(body)


@api_bp.patch("/customers/<int:customer_id>")
@documented(
    "Change customer fields (agents cannot change the owner: 403 owner_change_forbidden; "
    "only the owner, their manager, directors and admins may change the phone numbers, "
    "not whoever is dialing them: 403 phone_change_forbidden, and nothing is saved)",
    tag="customers",
    errors=(401, 403, 404, 409, 422),
    response=CUSTOMER,
    request=ANY_OBJECT,
)
@token_required
def patch_customer(customer_id: int) -> ResponseReturnValue:
    data = json_body()
    with unit_of_work() as db:
        user = api_user()
        customer = update_customer(
            db, customer_id, data, actor=user, region=settings().default_region
        )
        body = customer_to_dict(customer, reveal_phone=may_see_number(db, user, customer))
    return jsonify(body)


@api_bp.post("/customers/<int:customer_id>/notes")
@documented(
    "Add a note to the timeline",
    tag="customers",
    status=201,
    errors=(401, 404, 422),
    request=obj({"text": STR}, required=["text"]),
    response=obj({"id": INT, "text": STR}),
)
@token_required
def post_note(customer_id: int) -> ResponseReturnValue:
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
@documented(
    "Log a call with its disposition; a repeated external_id returns the call already "
    "logged, 409 if it was logged on another customer",
    tag="customers",
    status=201,
    errors=(401, 404, 409, 422),
    request=ANY_OBJECT,
    response=obj({"id": INT, "disposition": {"type": "string", "nullable": True}}),
)
@token_required
def post_call(customer_id: int) -> ResponseReturnValue:
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
