"""Child process of ``test_celery.py``: ``dialflow worker`` whose engine knows ``test.hold``.

The runtime comes from the environment (the test's database and ``REDIS_URL``). ``test.hold``
appends this process's id to MARKER_FILE, then sleeps HOLD_SECONDS, or less once the file named
by ``DIALFLOW_TEST_RELEASE`` exists: the test kills or stops a worker while it holds a timer's
step open (the step's CRM note written, not committed), then releases it or starts one that
does not hold.

Usage: ``python celery_worker.py MARKER_FILE HOLD_SECONDS [dialflow worker options...]``
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from dialflow.cli import main as dialflow
from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext


def run(marker: Path, hold_seconds: float, options: list[str]) -> None:
    runtime = Runtime.build()
    registry = build_registry()

    @registry.register("test.hold", "Announce, then hold the step open")
    def hold(ctx: HandlerContext) -> dict[str, Any]:
        with marker.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        release = os.environ.get("DIALFLOW_TEST_RELEASE")
        deadline = time.monotonic() + hold_seconds
        while time.monotonic() < deadline and not (release and Path(release).exists()):
            time.sleep(0.05)
        return {"held": hold_seconds}

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    dialflow(["worker", *options], obj=runtime)


if __name__ == "__main__":
    run(Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3:])
