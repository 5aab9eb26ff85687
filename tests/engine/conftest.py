"""Engine fixtures: users with bearer tokens, and deploying the diagrams of ``diagrams/``.

Users are created without a password and get their token the way ``dialflow token create``
issues one (argon2 hashing would cost half a second per user); the sign-in door itself is
exercised once in ``test_deploy.py`` through ``tests.conftest.api_token``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from crm.models import Activity, User
from crm.users import create_token, create_user
from dialflow.background import TimerLoop
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from web import create_app

DIAGRAMS = Path(__file__).parent / "diagrams"
T0 = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai


@dataclass
class Actor:
    """A user talking to the API with their bearer token."""

    client: FlaskClient
    user: User
    headers: dict[str, str]

    @property
    def username(self) -> str:
        return self.user.username

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url: str, json: Any = None, **kwargs: Any) -> TestResponse:
        if json is not None:
            kwargs["json"] = json
        return self.client.post(url, headers=self.headers, **kwargs)

    # -- process models ---------------------------------------------------------------------

    def upload(self, *names: str, extra: Sequence[tuple[str, bytes]] = ()) -> TestResponse:
        """Deploy files of ``diagrams/`` (and raw ``(name, bytes)`` pairs) as multipart."""
        files = [((DIAGRAMS / name).read_bytes(), name) for name in names]
        files += [(content, name) for name, content in extra]
        return self.post(
            "/api/v1/process-models",
            data={"file": [(BytesIO(content), name) for content, name in files]},
            content_type="multipart/form-data",
        )

    def deploy(self, *names: str) -> dict[str, Any]:
        response = self.upload(*names)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    def models(self) -> list[dict[str, Any]]:
        response = self.get("/api/v1/process-models")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    # -- instances and tasks ----------------------------------------------------------------

    def start(self, process_id: str, data: dict[str, Any] | None = None, **fields: Any) -> dict:
        body = {"process_id": process_id, "data": data or {}, **fields}
        response = self.post("/api/v1/process-instances", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def instance(self, instance_id: int) -> dict[str, Any]:
        response = self.get(f"/api/v1/process-instances/{instance_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def tasks(self, query: str = "") -> list[dict[str, Any]]:
        response = self.get(f"/api/v1/tasks{'?' + query if query else ''}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def complete(self, task_id: str, data: dict[str, Any] | None = None) -> TestResponse:
        return self.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data or {}})

    def complete_ok(self, task_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.complete(task_id, data)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def actor(client: FlaskClient, db: Callable[..., Any]) -> Callable[..., Actor]:
    """``actor("agent", username="li", team="East")`` → an Actor with a fresh bearer token."""
    return actor_factory(client, db)


def actor_factory(client: FlaskClient, db: Callable[..., Any]) -> Callable[..., Actor]:
    counter = iter(range(1, 10_000))

    def _make(
        role: str = "agent",
        username: str | None = None,
        team: str | None = "East",
        manager: str | None = None,
    ) -> Actor:
        with db() as session:
            user = create_user(
                session,
                username=username or f"{role}{next(counter)}",
                role=role,
                team=team,
                manager=manager,
            )
            token = create_token(session, user, name="test")
        return Actor(client, user, {"Authorization": f"Bearer {token}"})

    return _make


@pytest.fixture
def owner(actor: Callable[..., Actor]) -> Actor:
    """A process owner: may deploy models and retry instances."""
    return actor("process_owner", username="po", team=None)


@pytest.fixture
def agent(actor: Callable[..., Actor]) -> Actor:
    return actor("agent", username="agent_east", team="East")


@dataclass
class Timed:
    """An app whose runtime reads a ManualClock: move days forward, then run a timer pass."""

    runtime: Runtime
    clock: ManualClock
    app: Flask
    actor: Callable[..., Actor]
    owner: Actor
    agent: Actor

    def advance(self, delta: timedelta = timedelta(0), **units: float) -> int:
        """Move the clock by ``delta`` (or ``days=``, ``hours=``…) and run one scheduler pass,
        firing inline like ``dialflow serve`` does; returns how many instances fired."""
        self.clock.advance(delta + timedelta(**units))
        return TimerLoop(self.runtime).run_once()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def timed(runtime: Runtime, settings: Settings, clock: ManualClock) -> Iterator[Timed]:
    """A second runtime on the test database (``runtime`` empties it first) whose clock,
    ``timed.clock``, only moves when told to; its own app and users with bearer tokens."""
    clocked = Runtime.build(settings, clock=clock)
    app = create_app({"TESTING": True}, runtime=clocked)
    make = actor_factory(app.test_client(), clocked.db.unit_of_work)
    owner = make("process_owner", username="po", team=None)
    agent = make("agent", username="agent_east", team="East")
    yield Timed(clocked, clock, app, make, owner, agent)
    clocked.close()


def post_together(app: Flask, url: str, requests: list[tuple[dict, dict]]) -> list[Any]:
    """POST ``url`` from one thread per ``(headers, body)``, released by one barrier."""
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def run(index: int, headers: dict, body: dict) -> None:
        client = app.test_client()  # one client per thread, like two browsers
        barrier.wait()
        response = client.post(url, headers=headers, json=body)
        results[index] = (response.status_code, response.get_json())

    threads = [
        threading.Thread(target=run, args=(i, headers, body))
        for i, (headers, body) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def only(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The single item whose fields equal ``match``."""
    found = [i for i in items if all(i.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, items)
    return found[0]


def notes_of(db: Callable[..., Any], customer_id: int) -> list[str]:
    """The customer's activity bodies (notes the handlers wrote), oldest first."""
    with db() as session:
        return list(
            session.scalars(
                select(Activity.body)
                .where(Activity.customer_id == customer_id)
                .order_by(Activity.id)
            )
        )


def refused(response: Any) -> list[dict[str, Any]]:
    """The details of a deploy answered ``422 invalid_bpmn``, each checked for its shape."""
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    error = response.get_json()["error"]
    assert error["code"] == "invalid_bpmn"
    assert error["details"]
    for detail in error["details"]:
        assert {"element_id", "line", "message"} <= set(detail), detail
        assert isinstance(detail["message"], str) and detail["message"]
    return error["details"]


def by_element(details: list[dict[str, Any]]) -> dict[str | None, str]:
    """Problem messages per element id, joined with `` | ``."""
    found: dict[str | None, list[str]] = {}
    for detail in details:
        found.setdefault(detail["element_id"], []).append(detail["message"])
    return {key: " | ".join(messages) for key, messages in found.items()}


def one_process(process_id: str, body: str) -> bytes:
    """A BPMN file (default namespace, no layout) with one executable process of ``body``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
        '  id="defs" targetNamespace="http://example.com/loops">\n'
        f'  <process id="{process_id}" isExecutable="true">\n{body}\n  </process>\n'
        "</definitions>\n"
    ).encode()
