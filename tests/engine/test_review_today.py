"""Review of the day's merged work, attacked through the API: form fields hidden by a
condition on another hidden field, ..."""

from __future__ import annotations

import json

from tests.engine.conftest import Actor
from tests.engine.test_camunda7_forms import c7

CHAINED = {
    "id": "call-result",
    "type": "default",
    "components": [
        {
            "type": "select",
            "key": "outcome",
            "label": "Outcome",
            "values": [{"label": "Won", "value": "won"}, {"label": "Lost", "value": "lost"}],
            "validate": {"required": True},
        },
        {
            "type": "textfield",
            "key": "lost_reason",
            "label": "Why lost",
            "conditional": {"hide": '=outcome != "lost"'},
        },
        {
            "type": "textfield",
            "key": "next_step",
            "label": "Next step",
            "validate": {"required": True},
            "conditional": {"hide": '=lost_reason = "price"'},
        },
    ],
}


def _task(owner: Actor, agent: Actor, form: dict) -> dict:
    files = [
        ("c7_form_ref.bpmn", c7('camunda:formRef="call-result"')),
        ("call-result.form", json.dumps(form).encode()),
    ]
    response = owner.upload(extra=files)
    assert response.status_code in (200, 201), response.get_json()
    [task] = agent.start("c7_form_ref", {})["ready_tasks"]
    return task


def test_a_field_hidden_by_a_hidden_field_is_decided_once(owner: Actor, agent: Actor) -> None:
    """``lost_reason`` is hidden (the call was won), so its stale "price" hides nothing: the
    required ``next_step`` shows, is asked for and is kept when sent."""
    task = _task(owner, agent, CHAINED)
    sent = {"outcome": "won", "lost_reason": "price", "next_step": "send the contract"}
    done = agent.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": sent})
    assert done.status_code == 200, done.get_json()
    data = done.get_json()["data"]
    assert data["next_step"] == "send the contract" and "lost_reason" not in data
