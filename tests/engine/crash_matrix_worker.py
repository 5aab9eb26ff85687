"""Child process of ``test_crash_matrix.py``: run one step through a real door and stop in it.

The spec (a JSON file, the only argument) says what to run and where to stop:

- ``action``: ``{"post": URL, "body": {...}}`` (the API, with the bearer ``token``),
  ``{"pass": true}`` (one background pass, ``TimerLoop.run_once``: timers, automatic retries,
  queued messages, pending signal broadcasts, timer starts), ``{"cli": [ARGS]}`` (the
  ``dialflow`` command line) or ``{"upload": URL, "file_name", "content", "fields"}`` (a
  customer import, whose job runs in a thread here, ``batch_rows`` rows a batch);
- ``point``: ``handler`` (inside ``test.hold``, after the note it wrote was flushed),
  ``save`` (in the step's save, the CRM rows flushed and the work items synced, before the
  step's writes are sent), ``writes`` (after the step's writes were sent; for a deploy, after
  its bundle and versions were flushed), ``batch`` (an import batch's rows stored and its
  leads' steps run, before the job's progress is written), ``commit`` (when the transaction
  of such a step or batch commits, before the COMMIT reaches the database);
- ``nth``: stop at the nth time the point is reached (a broadcast's third instance, a
  multi-instance activity's second handler call); ``commit`` stops at the commit after the
  nth step, or the nth import batch when ``commit_after`` is ``batch``;
- ``clock``: an ISO instant for a manual clock (the background pass of timed tests);
- ``page``: how many waiting instances a signal broadcast lists at a time.

At the point it writes ``marker`` and sleeps; the test kills it with SIGKILL.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import crm.imports
import engine.deployments
import engine.signals
import engine.stepper
import processes.telesales
from crm.notes import add_note
from dialflow.background import TimerLoop
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.engine.crash_points import listen_first

HOLD_SECONDS = 60


def main(spec_file: Path) -> int:
    spec = json.loads(spec_file.read_text())
    point, nth, marker = spec["point"], spec.get("nth", 1), Path(spec["marker"])
    clock = ManualClock(datetime.fromisoformat(spec["clock"])) if spec.get("clock") else None
    runtime = Runtime.build(clock=clock)
    seen = {"handler": 0, "save": 0, "writes": 0, "batch": 0, "armed": 0}

    def reached(where: str) -> None:
        seen[where] += 1
        if where == point and seen[where] == nth:
            marker.write_text(f"stopped at {where} #{nth}")
            time.sleep(HOLD_SECONDS)

    registry = build_registry()

    @registry.register("test.hold", "Write a note, then go on")
    def hold(ctx: HandlerContext, customer_id: int, text: str) -> dict[str, Any]:
        add_note(ctx.session, customer_id, text, actor=ctx.actor, scoped=False)
        ctx.session.flush()
        reached("handler")
        return {"noted": text}

    @registry.register("test.fail", "Write half a note, then fail")
    def fail(ctx: HandlerContext, customer_id: int, text: str) -> dict[str, Any]:
        add_note(ctx.session, customer_id, text, actor=ctx.actor, scoped=False)
        raise HandlerError("the gateway is down", code="DOWN")

    sync = engine.stepper.sync_event_waits

    def sync_then_stop(*args: Any, **kwargs: Any) -> Any:
        writes = sync(*args, **kwargs)
        seen["armed"] += 1
        reached("save")
        return writes

    engine.stepper.sync_event_waits = sync_then_stop
    pipelined = engine.stepper.pipelined

    @contextlib.contextmanager
    def pipelined_then_stop(session: Any) -> Iterator[Any]:
        with pipelined(session) as batch:
            yield batch
        reached("writes")

    engine.stepper.pipelined = pipelined_then_stop
    schedule = engine.deployments.schedule

    def schedule_then_stop(*args: Any, **kwargs: Any) -> Any:
        seen["armed"] += 1
        reached("writes")
        return schedule(*args, **kwargs)

    engine.deployments.schedule = schedule_then_stop
    route_leads = processes.telesales.route_imported_leads

    def route_then_stop(*args: Any, **kwargs: Any) -> Any:
        route = route_leads(*args, **kwargs)

        def routed(*batch: Any) -> None:
            route(*batch)
            reached("batch")

        return routed

    processes.telesales.route_imported_leads = route_then_stop
    if spec.get("batch_rows"):
        crm.imports.run_import.__kwdefaults__["batch_rows"] = spec["batch_rows"]
    if spec.get("page"):
        engine.signals.PAGE = spec["page"]

    counted = spec.get("commit_after", "armed")  # steps, or an import's batches

    def at_commit(_connection: Any) -> None:
        if point == "commit" and seen[counted] >= nth and not seen.get("held"):
            seen["held"] = 1
            marker.write_text("stopped at commit")
            time.sleep(HOLD_SECONDS)

    listen_first(runtime.db.engine, "commit", at_commit)
    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    action = spec["action"]
    if "post" in action:
        from web import create_app

        client = create_app({"TESTING": True}, runtime=runtime).test_client()
        headers = {"Authorization": f"Bearer {spec['token']}"}
        response = client.post(action["post"], headers=headers, json=action.get("body", {}))
        print(response.status_code, response.get_json())  # only reached if nobody stops us
    elif "upload" in action:  # a file, and the job it starts in a thread of this process
        from web import create_app

        client = create_app({"TESTING": True}, runtime=runtime).test_client()
        headers = {"Authorization": f"Bearer {spec['token']}"}
        form = {"file": (io.BytesIO(action["content"].encode()), action["file_name"])}
        response = client.post(
            action["upload"],
            headers=headers,
            data={**form, **action.get("fields", {})},
            content_type="multipart/form-data",
        )
        print(response.status_code, response.get_json(), flush=True)
        time.sleep(HOLD_SECONDS)
    elif "pass" in action:
        print(TimerLoop(runtime).run_once())
    else:
        from click.testing import CliRunner

        from dialflow.cli import main as cli

        result = CliRunner().invoke(cli, action["cli"], obj=runtime)
        print(result.exit_code, result.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
