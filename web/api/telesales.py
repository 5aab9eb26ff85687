"""The telesales processes' doors: leads in, the public pool, quotes, and their settings."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from crm.customers import customer_to_dict, get_customer
from crm.deals import deal_to_dict
from crm.pool import list_pool
from crm.scoping import may_see_full_phone
from engine.instances import instance_to_dict
from processes import settings as process_settings
from processes import telesales
from web.api import api_bp
from web.api.auth import api_user, json_body, paging, token_required
from web.api.openapi import documented
from web.api.params import id_value, int_arg
from web.api.schemas import ANY_OBJECT, BOOL, CUSTOMER, INSTANCE, INT, STR, obj
from web.context import runtime, settings, unit_of_work

LEAD = obj(
    {
        "name": STR,
        "phone": STR,
        "phones": {"type": "array", "items": STR},
        "email": STR,
        "company": STR,
        "region": STR,
        "source": STR,
        "tags": {"type": "array", "items": STR},
        "notes": STR,
    },
    required=["name"],
)
LEAD_RESULT = obj(
    {
        "customer_id": INT,
        "duplicate": BOOL,
        "instance": INSTANCE,
        "owner": {
            "type": "string",
            "nullable": True,
            "description": "the agent the lead went to; null when it was not assigned "
            "(a duplicate of a known customer, or no agent below their cap)",
        },
    }
)
CAPS = obj({"claimed_today": INT, "daily_claim_cap": INT, "holding": INT, "holding_cap": INT})
SETTING = obj(
    {
        "key": STR,
        "description": STR,
        "team_id": {"type": "integer", "nullable": True},
        "value": ANY_OBJECT,
        "stored": {"type": "object", "nullable": True},
        "default": ANY_OBJECT,
        "schema": ANY_OBJECT,
    }
)


@api_bp.post("/leads")
@documented(
    "Submit a lead: stored (or matched to the customer who has its phone/email) and routed",
    tag="telesales",
    status=201,
    errors=(401, 422),
    request=LEAD,
    response=LEAD_RESULT,
)
@token_required
def post_lead() -> ResponseReturnValue:
    body = json_body()
    rt = runtime()
    with unit_of_work() as db:
        instance, customer_id, duplicate = telesales.submit_lead(
            rt.engine,
            db,
            body,
            actor=api_user(),
            region=settings().default_region,
            default_timezone=settings().default_timezone,
        )
        assignment = (instance.data or {}).get("assignment") or {}
        result = {
            "customer_id": customer_id,
            "duplicate": duplicate,
            "owner": assignment.get("owner"),
            "instance": instance_to_dict(db, instance),
        }
    return jsonify(result), 201


@api_bp.get("/pool")
@documented(
    "Leads in the public pool (公海池) the caller may claim, newest first, with their caps",
    tag="telesales",
    response=obj({"items": {"type": "array", "items": CUSTOMER}, "total": INT, "caps": CAPS}),
    query={"limit": "page size", "offset": "skip"},
)
@token_required
def get_pool() -> ResponseReturnValue:
    limit, offset = paging()
    user = api_user()
    with unit_of_work(read_only=True) as db:
        rows, total = list_pool(db, user, limit=limit, offset=offset)
        items = [customer_to_dict(c, reveal_phone=may_see_full_phone(user, c)) for c in rows]
        caps = telesales.pool_caps(runtime().engine, db, user)
    return jsonify({"items": items, "total": total, "caps": caps})


@api_bp.post("/pool/<int:customer_id>/claim")
@documented(
    "Claim a pool lead: daily claim cap, holding cap; the first of two claims wins (409)",
    tag="telesales",
    errors=(401, 403, 404, 409),
    response=obj({"customer": CUSTOMER, "instance": INSTANCE, "caps": CAPS}),
)
@token_required
def claim_pool_lead(customer_id: int) -> ResponseReturnValue:
    user = api_user()
    rt = runtime()
    with unit_of_work() as db:
        claimed_id, instance = telesales.claim_from_pool(rt.engine, db, customer_id, actor=user)
        customer = get_customer(db, claimed_id)
        result = {
            "customer": customer_to_dict(customer, reveal_phone=may_see_full_phone(user, customer)),
            "instance": instance_to_dict(db, instance),
            "caps": telesales.pool_caps(rt.engine, db, user),
        }
    return jsonify(result)


@api_bp.post("/deals/<int:deal_id>/quote")
@documented(
    "Submit a deal's quote with a discount; the discount_approval decision routes it",
    tag="telesales",
    status=201,
    errors=(401, 403, 404, 409, 422),
    request=obj(
        {
            "discount_pct": {"type": "number"},
            "amount": {"type": "number", "nullable": True, "description": "null: the deal's"},
            "comment": STR,
        },
        required=["discount_pct"],
    ),
    response=obj({"deal": ANY_OBJECT, "instance": INSTANCE}),
)
@token_required
def post_quote(deal_id: int) -> ResponseReturnValue:
    body = json_body()
    rt = runtime()
    with unit_of_work() as db:
        deal, instance = telesales.submit_quote(rt.engine, db, deal_id, body, actor=api_user())
        result = {"deal": deal_to_dict(deal), "instance": instance_to_dict(db, instance)}
    return jsonify(result), 201


@api_bp.get("/settings")
@documented(
    "The telesales settings in force for a team (default ← global ← team)",
    tag="telesales",
    errors=(401, 404, 422),
    response=obj({"items": {"type": "array", "items": SETTING}}),
    query={"team_id": "a team's values (default: the caller's team)"},
)
@token_required
def list_settings() -> ResponseReturnValue:
    user = api_user()
    team_id = _team_arg(user.team_id)
    with unit_of_work(read_only=True) as db:
        process_settings.require_team(db, team_id)
        items = [_setting(db, key, team_id) for key in process_settings.DEFINITIONS]
    return jsonify({"items": items})


@api_bp.get("/settings/<key>")
@documented(
    "One telesales setting",
    tag="telesales",
    errors=(401, 404, 422),
    response=SETTING,
    query={"team_id": "a team's value (default: the caller's team)"},
)
@token_required
def get_setting(key: str) -> ResponseReturnValue:
    team_id = _team_arg(api_user().team_id)
    with unit_of_work(read_only=True) as db:
        process_settings.require_team(db, team_id)
        return jsonify(_setting(db, key, team_id))


@api_bp.put("/settings/<key>")
@documented(
    "Change a setting for a team (managers: their own) or for everyone (no team_id: "
    "directors, admins); keys left out keep their value; audited",
    tag="telesales",
    errors=(401, 403, 404, 422),
    request=obj({"value": ANY_OBJECT, "team_id": {"type": "integer", "nullable": True}}),
    response=SETTING,
)
@token_required
def put_setting(key: str) -> ResponseReturnValue:
    body = json_body()
    team_id = body.get("team_id")
    if team_id is not None:
        team_id = id_value(team_id, "team_id")
    user = api_user()
    with unit_of_work() as db:
        process_settings.save(
            db, key, body.get("value"), team_id=team_id, actor=user, now=runtime().clock.now()
        )
        result = _setting(db, key, team_id)
    return jsonify(result)


def _team_arg(default: int | None) -> int | None:
    team_id = int_arg("team_id")
    return default if team_id is None else team_id


def _setting(db, key: str, team_id: int | None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    definition = process_settings.definition(key)
    return {
        "key": key,
        "description": definition.description,
        "team_id": team_id,
        "value": process_settings.effective(db, key, team_id),
        "stored": process_settings.stored(db, key, team_id),
        "default": definition.default,
        "schema": definition.schema,
    }
