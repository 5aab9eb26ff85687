"""``POST /api/v1/signals``: broadcast a signal to every instance waiting for it."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.signals import PAGE, broadcast, parse_signal
from web.api import api_bp
from web.api.auth import api_user, json_body, token_required
from web.api.openapi import documented
from web.api.schemas import ANY_OBJECT, INT, STR, obj
from web.context import runtime

ANSWER = obj(
    {
        "signal_id": STR,
        "delivered_to": {"type": "array", "items": INT},
        "started": {"type": "array", "items": INT},
        "duplicate": {"type": "boolean"},
        "pending": {"type": "boolean"},
    }
)


@api_bp.post("/signals")
@documented(
    "Broadcast a signal to every waiting instance and start its signal start processes",
    tag="signals",
    description=(
        "BPMN signals are broadcasts: the signal reaches every catch of its `name` waiting in "
        "any running, waiting or failed instance (intermediate catch events, boundary events, "
        "event-based gateways, event subprocess signal starts) and starts one instance of the "
        "latest version of each process whose start event is a signal start of that name. "
        "The `payload`'s fields join the data of each catch (or its "
        "`spiffworkflow:variableName`), as a message's do. Each instance is stepped in a "
        "transaction of its own under its row lock; the request pages through all waiting "
        f"instances, {PAGE} at a time, so no transaction holds more than one instance. "
        "`delivered_to` lists the instances that caught it, `started` the instances it "
        "started; an instance that stopped waiting meanwhile is passed by. A repeated "
        "`signal_id` answers `200` with the first broadcast's result (`duplicate: true`) and "
        "delivers nothing again; without one, the answer gives the id it was stored under. "
        "Signals thrown by instances (throw or end events) are broadcast the same way by the "
        "background workers, never back to the instance that threw them."
    ),
    status=202,
    errors=(401, 422),
    request=obj({"name": STR, "payload": ANY_OBJECT, "signal_id": STR}, required=["name"]),
    response=ANSWER,
    also={200: ("A repeated signal_id: the first broadcast's result, nothing delivered", None)},
)
@token_required
def post_signal() -> ResponseReturnValue:
    signal = parse_signal(json_body())
    rt = runtime()
    result = broadcast(rt.engine, rt.db, signal, actor=api_user())
    return jsonify(result.to_dict()), 200 if result.duplicate else 202
