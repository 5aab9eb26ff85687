"""Child process of ``test_crash.py``: complete a task whose step never finishes.

It builds the runtime from the environment (the test's database), installs an engine whose
``test.sleep`` handler sleeps, and completes the task through the API. Where the step stops
is ``POINT``:

- ``handler`` (default): inside ``test.sleep``, after the note of the service task before it;
- ``save``: in the step's save, after the handlers' CRM rows were flushed and the work items
  synced, before the step's writes are sent;
- ``writes``: right after the step's writes were sent (in PostgreSQL's pipeline), before
  the COMMIT;
- ``commit``: when the unit of work commits, before the COMMIT reaches the database.

There it writes the marker file and sleeps; the test kills it with SIGKILL.

Usage: ``python crash_worker.py TASK_ID MARKER_FILE BEARER_TOKEN [POINT]``; a ``TASK_ID`` of
``message:{...}`` posts that message to ``/api/v1/messages`` instead, ``retry:ID`` retries
that instance (``POST /api/v1/process-instances/ID/retry``), ``task:ID:{...}`` completes task
``ID`` with that data.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import engine.stepper
from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext
from tests.engine.crash_points import listen_first
from web import create_app

HOLD_SECONDS = 30


def main(task_id: str, marker: Path, token: str, point: str = "handler") -> int:
    runtime = Runtime.build()
    registry = build_registry()

    def hold(where: str) -> None:
        marker.write_text(f"stopped at {where}")
        time.sleep(HOLD_SECONDS)

    @registry.register("test.sleep", "Announce, then sleep")
    def sleep(ctx: HandlerContext, seconds: int) -> dict[str, Any]:
        if seconds:
            hold("test.sleep")
        return {"slept": seconds}

    if point == "save":
        sync = engine.stepper.sync_event_waits

        def sync_then_hold(*args: Any, **kwargs: Any) -> Any:
            writes = sync(*args, **kwargs)
            hold("save")
            return writes

        engine.stepper.sync_event_waits = sync_then_hold
    elif point == "writes":
        pipelined = engine.stepper.pipelined

        @contextlib.contextmanager
        def pipelined_then_hold(session: Any) -> Iterator[Any]:
            with pipelined(session) as batch:
                yield batch
            hold("writes")

        engine.stepper.pipelined = pipelined_then_hold
    elif point == "commit":
        listen_first(runtime.db.engine, "commit", lambda _conn: hold("commit"))

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    if task_id.startswith("message:"):  # deliver this message instead
        response = client.post(
            "/api/v1/messages", headers=headers, json=json.loads(task_id.removeprefix("message:"))
        )
    elif task_id.startswith("retry:"):  # retry this instance instead
        response = client.post(
            f"/api/v1/process-instances/{task_id.removeprefix('retry:')}/retry", headers=headers
        )
    elif task_id.startswith("task:"):  # complete with this data instead
        task, data = task_id.removeprefix("task:").split(":", 1)
        response = client.post(
            f"/api/v1/tasks/{task}/complete", headers=headers, json={"data": json.loads(data)}
        )
    else:
        response = client.post(
            f"/api/v1/tasks/{task_id}/complete",
            headers=headers,
            json={
                "data": {"outcome": "interested", "sleep_seconds": 1 if point == "handler" else 0}
            },
        )
    print(response.status_code, response.get_json())  # only reached if nobody kills us
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], *sys.argv[4:]))
