"""Tasks for page tests: deploy the small diagrams of ``diagrams/`` and start instances, all
through the HTTP API with bearer tokens issued the way ``dialflow token create`` does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from crm.models import User
from crm.users import create_token
from tests.conftest import PASSWORD

DIAGRAMS = Path(__file__).parent / "diagrams"
FILES = ("workspace_call.bpmn", "workspace-call-form.json", "workspace_queue.bpmn")


def bearer(db: Callable[..., Any], user: User) -> dict[str, str]:
    with db() as session:
        token = create_token(session, session.get(User, user.id), name="test")
    return {"Authorization": f"Bearer {token}"}


def deploy(client: FlaskClient, headers: dict[str, str]) -> None:
    files = [(BytesIO((DIAGRAMS / name).read_bytes()), name) for name in FILES]
    response = client.post(
        "/api/v1/process-models",
        headers=headers,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 201), response.get_json()


def start(
    client: FlaskClient,
    headers: dict[str, str],
    process_id: str,
    *,
    business_key: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"process_id": process_id, "data": data or {}}
    if business_key is not None:
        body["business_key"] = business_key
    response = client.post("/api/v1/process-instances", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def task_id(instance: dict[str, Any], element: str) -> str:
    found = [t["id"] for t in instance["ready_tasks"] if t["name"] == element]
    assert len(found) == 1, instance["ready_tasks"]
    return found[0]


@dataclass
class Desk:
    """An agent (``li``, team East) and a process owner who deployed the workspace diagrams."""

    agent: User
    agent_api: dict[str, str]
    owner_api: dict[str, str]
    client: FlaskClient

    def start_call(self, customer_id: int | None = None, **data: Any) -> dict[str, Any]:
        key = str(customer_id) if customer_id is not None else None
        return start(self.client, self.agent_api, "workspace_call", business_key=key, data=data)

    def start_queue(self, **data: Any) -> dict[str, Any]:
        return start(self.client, self.owner_api, "workspace_queue", data=data)


def set_up_desk(
    client: FlaskClient, db: Callable[..., Any], make_user: Callable[..., User]
) -> Desk:
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = make_user("process_owner", username="po", team=None)
    owner_api = bearer(db, owner)
    deploy(client, owner_api)
    return Desk(agent, bearer(db, agent), owner_api, client)
