"""``/api/v1/deals``: list (scoped), create, read with stage history, change fields and stage."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from crm.deals import create_deal, deal_detail, get_deal, list_deals, update_deal
from crm.models import DealStage
from web.api import api_bp
from web.api.auth import api_user, json_body, paging, token_required
from web.api.openapi import choice, documented
from web.api.params import id_value, int_arg
from web.api.schemas import INT, STR, TIME, obj, page
from web.context import unit_of_work

NUMBER_TEXT = {"type": "string", "description": 'decimal as text, e.g. "18800.00"'}
DEAL = obj(
    {
        "id": INT,
        "customer_id": INT,
        "title": STR,
        "stage": {
            "type": "string",
            "enum": ["qualification", "proposal", "negotiation", "approval", "won", "lost"],
        },
        "amount": NUMBER_TEXT,
        "currency": STR,
        "discount_pct": NUMBER_TEXT,
        "expected_close": {"type": "string", "format": "date", "nullable": True},
        "owner_id": {"type": "integer", "nullable": True},
        "team_id": {"type": "integer", "nullable": True},
        "lost_reason": {"type": "string", "nullable": True},
        "closed_at": TIME,
        "created_at": TIME,
        "updated_at": TIME,
        "stage_history": {
            "type": "array",
            "items": obj(
                {
                    "from_stage": {"type": "string", "nullable": True},
                    "to_stage": STR,
                    "changed_by_id": {"type": "integer", "nullable": True},
                    "changed_at": TIME,
                    "comment": {"type": "string", "nullable": True},
                }
            ),
        },
    }
)
DEAL_INPUT = {
    "title": STR,
    "amount": {"oneOf": [STR, {"type": "number"}]},
    "discount_pct": {"oneOf": [STR, {"type": "number"}]},
    "currency": STR,
    "expected_close": {"type": "string", "format": "date"},
}


@api_bp.get("/deals")
@documented(
    "Deals of the customers you may see, newest first",
    tag="deals",
    response=page(DEAL),
    query={
        "stage": choice("filter", DealStage),
        "owner_id": "filter",
        "customer_id": "filter",
        "limit": "page size",
        "offset": "skip",
    },
)
@token_required
def get_deals() -> ResponseReturnValue:
    limit, offset = paging()
    with unit_of_work(read_only=True) as db:
        items, total = list_deals(
            db,
            viewer=api_user(),
            stage=request.args.get("stage"),
            owner_id=int_arg("owner_id"),
            customer_id=int_arg("customer_id"),
            limit=limit,
            offset=offset,
        )
        body = {"items": [deal_detail(d) for d in items], "total": total}
    return jsonify(body)


@api_bp.post("/deals")
@documented(
    "Create a deal for a customer (stage qualification)",
    tag="deals",
    status=201,
    errors=(401, 404, 422),
    request=obj({"customer_id": INT, **DEAL_INPUT}, required=["customer_id", "title"]),
    response=DEAL,
)
@token_required
def post_deal() -> ResponseReturnValue:
    data = json_body()
    customer_id = id_value(data.get("customer_id"), "customer_id")
    with unit_of_work() as db:
        deal = create_deal(db, customer_id, data, actor=api_user())
        body = deal_detail(deal)
    return jsonify(body), 201


@api_bp.get("/deals/<int:deal_id>")
@documented("One deal with its stage history", tag="deals", errors=(401, 404), response=DEAL)
@token_required
def get_deal_detail(deal_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        body = deal_detail(get_deal(db, deal_id, viewer=api_user()))
    return jsonify(body)


@api_bp.patch("/deals/<int:deal_id>")
@documented(
    "Change a deal's fields and stage (with an optional comment kept in the stage history)",
    tag="deals",
    errors=(401, 404, 422),
    request=obj({**DEAL_INPUT, "lost_reason": STR, "stage": STR, "comment": STR}),
    response=DEAL,
)
@token_required
def patch_deal(deal_id: int) -> ResponseReturnValue:
    data = json_body()
    with unit_of_work() as db:
        deal = update_deal(db, deal_id, data, actor=api_user())
        body = deal_detail(deal)
    return jsonify(body)
