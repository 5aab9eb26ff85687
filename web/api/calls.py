"""``/api/v1/calls``: the call log (scoped, filtered) and logging a call."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from crm.calls import (
    call_to_dict,
    list_calls,
    log_call_once,
    may_see_call_number,
)
from web.api import api_bp
from web.api.auth import api_user, json_body, paging, token_required
from web.api.openapi import documented
from web.api.params import id_value, int_arg, time_arg
from web.api.schemas import INT, STR, TIME, TIME_OR_NOW, obj, page
from web.context import settings, unit_of_work

NULLABLE_STR = {"type": "string", "nullable": True}
CALL = obj(
    {
        "id": INT,
        "customer_id": {"type": "integer", "nullable": True},
        "agent_id": {"type": "integer", "nullable": True},
        "direction": {"type": "string", "enum": ["outbound", "inbound"]},
        "number": {**NULLABLE_STR, "description": "E.164, masked unless you may see it"},
        "started_at": TIME,
        "answered_at": TIME,
        "ended_at": TIME,
        "duration_s": INT,
        "disposition": NULLABLE_STR,
        "notes": NULLABLE_STR,
        "recording_url": NULLABLE_STR,
        "external_id": NULLABLE_STR,
    }
)


@api_bp.get("/calls")
@documented(
    "Calls of the customers you may see (and your own unmatched calls), newest first",
    tag="calls",
    response=page(CALL),
    query={
        "customer_id": "filter",
        "agent_id": "filter",
        "from": "start date (YYYY-MM-DD, in the default time zone) or date-time with offset",
        "to": "end date (inclusive) or date-time with offset (exclusive)",
        "limit": "page size",
        "offset": "skip",
    },
)
@token_required
def get_calls() -> ResponseReturnValue:
    limit, offset = paging()
    zone = settings().default_timezone
    with unit_of_work(read_only=True) as db:
        user = api_user()
        rows, total = list_calls(
            db,
            viewer=user,
            customer_id=int_arg("customer_id"),
            agent_id=int_arg("agent_id"),
            since=time_arg("from", zone),
            until=time_arg("to", zone, end_of_day=True),
            limit=limit,
            offset=offset,
        )
        items = [
            call_to_dict(call, reveal_phone=may_see_call_number(user, call, customer))
            for call, customer in rows
        ]
    return jsonify({"items": items, "total": total})


@api_bp.post("/calls")
@documented(
    "Log a call on a customer; a repeated external_id returns the call already logged (200)",
    tag="calls",
    status=201,
    also={200: ("The call already logged under this external_id", None)},
    errors=(401, 404, 409, 422),
    request=obj(
        {
            "customer_id": INT,
            "disposition": STR,
            "direction": STR,
            "duration_s": INT,
            "started_at": TIME_OR_NOW,
            "notes": STR,
            "recording_url": STR,
            "number": STR,
            "external_id": STR,
        },
        required=["customer_id"],
    ),
    response=CALL,
)
@token_required
def post_call_log() -> ResponseReturnValue:
    data = json_body()
    customer_id = id_value(data.get("customer_id"), "customer_id")
    with unit_of_work() as db:
        user = api_user()
        logged = log_call_once(db, customer_id, data, actor=user, region=settings().default_region)
        body = call_to_dict(logged.call)
    return jsonify(body), 201 if logged.new else 200
