"""Child process of ``test_crash.py``: complete a task whose step never finishes.

It builds the runtime from the environment (the test's database), installs an engine whose
``test.sleep`` handler writes a marker file and then sleeps, and completes the task through
the API. The test kills it with SIGKILL while it sleeps inside the step's transaction.

Usage: ``python crash_worker.py TASK_ID MARKER_FILE BEARER_TOKEN``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext
from web import create_app


def main(task_id: str, marker: Path, token: str) -> int:
    runtime = Runtime.build()
    registry = build_registry()

    @registry.register("test.sleep", "Announce, then sleep")
    def sleep(ctx: HandlerContext, seconds: int) -> dict[str, Any]:
        marker.write_text("inside test.sleep")
        time.sleep(seconds)
        return {"slept": seconds}

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    response = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers={"Authorization": f"Bearer {token}"},
        json={"data": {"outcome": "interested", "sleep_seconds": 30}},
    )
    print(response.status_code, response.get_json())  # only reached if nobody kills us
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
