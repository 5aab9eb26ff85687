"""A telesales team on a test clock, with the shipped processes of ``bpmn/`` deployed.

Teams and people mirror the demo: 华东一组 (manager ``m_east``, agents ``a1``-``a3``) and
华南一组 (``m_south``, ``a4``), under the director ``boss``. The clock starts on a Monday at
09:00 in Shanghai; ``team.advance(hours=…)`` moves it and runs one scheduler pass, like
``dialflow serve`` does every half second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from dialflow.background import TimerLoop
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.engine.conftest import T0, Actor, actor_factory
from web import create_app

EAST, SOUTH = "华东一组", "华南一组"


@dataclass
class Team:
    runtime: Runtime
    clock: ManualClock
    app: Flask
    people: dict[str, Actor] = field(default_factory=dict)

    def __getitem__(self, username: str) -> Actor:
        return self.people[username]

    def advance(self, delta: timedelta = timedelta(0), **units: float) -> int:
        """Move the clock, then run scheduler passes until nothing more is due now: "advance
        to 09:00" fires what is due at 09:00."""
        self.clock.advance(delta + timedelta(**units))
        fired = 0
        for _ in range(20):
            done = TimerLoop(self.runtime).run_once()
            fired += done
            if not done:
                break
        return fired

    def db(self) -> Any:
        return self.runtime.db.unit_of_work()

    # -- conveniences over the API --------------------------------------------------------------

    def lead(self, by: str = "boss", **fields: Any) -> dict[str, Any]:
        response = self[by].post("/api/v1/leads", json=fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def tasks_of(self, username: str, **filters: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in {"mine": "1", **filters}.items())
        return self[username].tasks(query)

    def one_task(
        self, username: str, business_key: object, name: str, process_id: str | None = None
    ) -> dict[str, Any]:
        filters = {"business_key": str(business_key)}
        if process_id:
            filters["process_id"] = process_id
        found = [t for t in self.tasks_of(username, **filters) if t["name"] == name]
        assert len(found) == 1, (username, business_key, name, found)
        return found[0]

    def no_task(self, username: str, business_key: object) -> None:
        assert self.tasks_of(username, business_key=str(business_key)) == []


@pytest.fixture
def team(runtime: Runtime, settings: Settings) -> Iterator[Team]:
    clock = ManualClock(T0)
    clocked = Runtime.build(settings, clock=clock)
    clocked.deploy_shipped_models()
    app = create_app({"TESTING": True}, runtime=clocked)
    make: Callable[..., Actor] = actor_factory(app.test_client(), clocked.db.unit_of_work)
    people = {
        "boss": make("director", username="boss", team=None),
        "m_east": make("manager", username="m_east", team=EAST, manager="boss"),
        "m_south": make("manager", username="m_south", team=SOUTH, manager="boss"),
        "a1": make("agent", username="a1", team=EAST, manager="m_east"),
        "a2": make("agent", username="a2", team=EAST, manager="m_east"),
        "a3": make("agent", username="a3", team=EAST, manager="m_east"),
        "a4": make("agent", username="a4", team=SOUTH, manager="m_south"),
        "admin": make("admin", username="admin", team=None),
        "owner": make("process_owner", username="flow_owner", team=None),
    }
    yield Team(clocked, clock, app, people)
    clocked.close()
