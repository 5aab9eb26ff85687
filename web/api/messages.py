"""``POST /api/v1/messages``: deliver a named message to the instances waiting for it."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.messages import DuplicateMessage, deliver, parse_message, previous_delivery
from web.api import api_bp
from web.api.auth import api_user, json_body, token_required
from web.api.openapi import documented
from web.api.schemas import ANY_OBJECT, INT, KEY, STR, obj
from web.context import runtime, unit_of_work
from web.errors import error_response

TIME_TO_LIVE = {
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
    "description": (
        "how long a message nothing waits for yet is kept for an instance that begins to wait "
        "for it (same name, business key or correlation value): whole seconds, or an ISO "
        "8601 duration such as PT10M; at most DIALFLOW_MESSAGE_TTL_MAX (1 day by default). "
        "Absent or 0: not kept (404). Kept, it is answered 202 with buffered_until; the first "
        "catch to wait for it within that time takes it, one catch only; a repeated "
        "message_id while it is kept is refused (409 duplicate_message)"
    ),
}


@api_bp.post("/messages")
@documented(
    "Deliver a message (by business key or correlation; a Camunda 8 subscription's key as "
    "correlation.correlationKey) to one waiting catch of each instance; a catch without "
    "correlation properties is skipped when its instance holds a variable the correlation "
    "names with another value (Camunda 7's correlationKeys); a repeated message_id "
    "applies once; with a time_to_live, one nothing waits for yet is kept for the first catch "
    "that begins to wait for it",
    tag="messages",
    status=202,
    errors=(401, 404, 409, 422),
    request=obj(
        {
            "name": STR,
            "business_key": KEY,
            "message_id": STR,
            "correlation": ANY_OBJECT,
            "payload": ANY_OBJECT,
            "time_to_live": TIME_TO_LIVE,
        },
        required=["name"],
    ),
    response=obj(
        {
            "delivered_to": {"type": "array", "items": INT},
            "duplicate": {"type": "boolean"},
            "refused": {
                "type": "array",
                "items": obj({"instance_id": INT, "message": STR}),
            },
            "buffered_until": {"type": "string", "format": "date-time"},
        }
    ),
)
@token_required
def post_message() -> ResponseReturnValue:
    engine = runtime().engine
    message = parse_message(json_body(), ttl_max=engine.message_ttl_max)
    try:
        with unit_of_work() as db:
            delivery = deliver(engine, db, message, actor=api_user())
    except DuplicateMessage:
        with unit_of_work(read_only=True) as db:
            delivery = previous_delivery(db, message["message_id"], engine.clock.now())
        assert delivery is not None
    if delivery.buffered_until is not None:  # nothing waits yet: kept for an instance to come
        answer = {
            "delivered_to": [],
            "duplicate": False,
            "buffered_until": delivery.buffered_until.isoformat(),
        }
        return jsonify(answer), 202
    if not delivery.delivered_to:
        return error_response(
            404,
            "no_matching_instance",
            f"No instance waits for message {message['name']!r}; it was recorded.",
            [{"message_record": delivery.record_id}],
        )
    answer = {"delivered_to": delivery.delivered_to, "duplicate": delivery.duplicate}
    if delivery.refused:  # waiting instances the message lacks the correlation keys of
        answer["refused"] = delivery.refused
    return jsonify(answer), 202
