"""Instance state codec: microseconds per encode and decode, json text step vs the codec's.

    python bench/codec.py [--rounds N] [--records N]

The state is that of bench/diagrams/bench_call.bpmn at its user task, started through the
engine as bench/engine.py starts it (on a throw-away SQLite database). "json" is the codec's
conversion with the text written by ``json.dumps`` and read by ``json.loads``, as the codec
did before orjson; "codec" is ``StateCodec`` as it is. Each figure is the best of 5 runs.
``--records N`` adds N call records (text, numbers, a datetime) to the user task's data.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as `python bench/codec.py`, this file's folder comes first on the path: put the project
# root before it.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState

from crm.users import create_user
from dialflow import schema
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start_instance
from engine.models import ProcessVersion
from engine.service import ProcessEngine
from engine.state import StateCodec

# bench/engine.py's handler registry (its service task's handler); loaded by path, as its
# module name would be shadowed by the `engine` package.
_spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
assert _spec is not None and _spec.loader is not None
bench_engine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_engine)


def state_at_user_task() -> tuple[str, Any, Any, ProcessEngine]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "DIALFLOW_VAR_DIR": tmp,
                "SECRET_KEY": "b" * 32,
            }
        )
        runtime = Runtime.build(settings)
        schema.upgrade(runtime.db.engine, schema=settings.database_schema)
        engine = ProcessEngine(registry=bench_engine.bench_registry(), clock=runtime.clock)
        with runtime.db.unit_of_work() as session:
            agent = create_user(session, username="bench", role="agent")
            deploy(engine, session, Bundle.from_paths([bench_engine.DIAGRAM]), actor=None)
        with runtime.db.unit_of_work() as session:
            row = start_instance(
                engine,
                session,
                "bench_call",
                business_key="b1",
                data={"customer_id": 1},
                actor=agent,
            )
            version = session.get(ProcessVersion, row.version_id)
            assert version is not None
            spec, subprocess_specs = engine.specs.get(session, version.bundle_id).spec("bench_call")
            state = row.state
        runtime.close()
    return state, spec, subprocess_specs, engine


def json_encode(codec: StateCodec, workflow: Any) -> str:
    dct = codec._converter.to_dict(workflow)
    dct[BpmnWorkflowSerializer.VERSION_KEY] = codec._version
    return json.dumps(dct, cls=codec._serializer._encoder_cls, separators=(",", ":"))


def json_decode(codec: StateCodec, text: str, spec: Any, subprocess_specs: Any) -> Any:
    return codec.restore(json.loads(text), spec, subprocess_specs)


def micros(call: Any, rounds: int) -> float:
    return min(timeit.repeat(call, number=rounds, repeat=5)) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--records", type=int, default=0)
    args = parser.parse_args()

    state, spec, subprocess_specs, engine = state_at_user_task()
    codec = engine.codec
    workflow = codec.decode(state, spec, subprocess_specs)
    if args.records:
        start = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.data["calls"] = [
            {
                "customer": f"Customer {i} 客户",
                "phone": f"+86138{i:08d}",
                "at": start + timedelta(minutes=7 * i),
                "seconds": 60 + i % 300,
                "score": i / 7,
                "tags": ["callback", "warm"],
                "note": None,
            }
            for i in range(args.records)
        ]
        state = codec.encode(workflow)
    assert json.loads(codec.encode(workflow)) == json.loads(json_encode(codec, workflow))
    dct = codec._converter.to_dict(workflow)
    dct[BpmnWorkflowSerializer.VERSION_KEY] = codec._version
    encoder = codec._serializer._encoder_cls
    rows = [
        ("encode", lambda: json_encode(codec, workflow), lambda: codec.encode(workflow)),
        (
            "decode",
            lambda: json_decode(codec, state, spec, subprocess_specs),
            lambda: codec.decode(state, spec, subprocess_specs),
        ),
        (
            "  its text step: dumps",
            lambda: json.dumps(dct, cls=encoder, separators=(",", ":")),
            lambda: codec._dumps(dct),
        ),
        ("  its text step: loads", lambda: json.loads(state), lambda: codec._loads(state)),
    ]
    print(f"state at the user task: {len(state.encode())} bytes, {len(workflow.tasks)} tasks")
    print(f"{'µs per call':24} {'json':>8} {'codec':>8} {'ratio':>6}")
    for label, before, after in rows:
        old, new = micros(before, args.rounds), micros(after, args.rounds)
        print(f"{label:24} {old:8.1f} {new:8.1f} {old / new:5.2f}x")


if __name__ == "__main__":
    main()
