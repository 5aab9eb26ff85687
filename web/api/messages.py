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


@api_bp.post("/messages")
@documented(
    "Deliver a message (by business key or correlation; a Camunda 8 subscription's key as "
    "correlation.correlationKey) to one waiting catch of each instance; a repeated message_id "
    "applies once",
    tag="messages",
    status=202,
    errors=(401, 404, 422),
    request=obj(
        {
            "name": STR,
            "business_key": KEY,
            "message_id": STR,
            "correlation": ANY_OBJECT,
            "payload": ANY_OBJECT,
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
        }
    ),
)
@token_required
def post_message() -> ResponseReturnValue:
    message = parse_message(json_body())
    try:
        with unit_of_work() as db:
            delivery = deliver(runtime().engine, db, message, actor=api_user())
    except DuplicateMessage:
        with unit_of_work(read_only=True) as db:
            delivery = previous_delivery(db, message["message_id"])
        assert delivery is not None
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
