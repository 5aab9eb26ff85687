"""``POST /api/v1/telephony/events``: call events from a PBX/dialer, signed, not token-bound."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from crm.telephony import receive_event, verify_signature
from dialflow.errors import InvalidInput
from dialflow.strict_json import loads_strict
from web.api import api_bp
from web.api.body_types import refuse_wrong_types
from web.api.openapi import documented
from web.api.schemas import STR, TIME_OR_NOW, obj
from web.context import settings, unit_of_work

SIGNATURE_HEADER = "X-Dialflow-Signature"
NULLABLE_STR = {"type": "string", "nullable": True}


@api_bp.post("/telephony/events")
@documented(
    "Receive a call event (call.started, call.answered, call.ended) from a PBX or dialer. "
    "Sign the raw body with HMAC-SHA256 and TELEPHONY_SECRET in X-Dialflow-Signature "
    "(hex, optionally prefixed sha256=); a repeated event_id is applied once",
    tag="telephony",
    auth=False,
    errors=(401, 422, 503),
    reserved_key=False,  # read by ``loads_strict`` alone: a ``typename`` key is kept
    request=obj(
        {
            "event_id": STR,
            "type": {"type": "string", "enum": ["call.started", "call.answered", "call.ended"]},
            "call_id": STR,
            # the optional fields may be null, as a PBX sends what it does not know
            "direction": {"type": "string", "enum": ["outbound", "inbound"], "nullable": True},
            "number": NULLABLE_STR,
            "agent": NULLABLE_STR,
            "at": TIME_OR_NOW,
            "duration_s": {"type": "integer", "nullable": True},
            "recording_url": NULLABLE_STR,
        },
        required=["event_id", "type", "call_id"],
    ),
    response=obj(
        {
            "event_id": STR,
            "call_id": {"type": "integer", "nullable": True},
            "duplicate": {"type": "boolean"},
        }
    ),
)
def post_telephony_event() -> ResponseReturnValue:
    body = request.get_data(cache=True)
    verify_signature(settings().telephony_secret, body, request.headers.get(SIGNATURE_HEADER))
    try:
        payload = loads_strict(body)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise InvalidInput("The body must be a JSON object.", code="invalid_json")
    refuse_wrong_types(payload)
    with unit_of_work() as db:
        result = receive_event(db, payload, region=settings().default_region)
    return jsonify(
        {"event_id": result.event_id, "call_id": result.call_id, "duplicate": result.duplicate}
    )
