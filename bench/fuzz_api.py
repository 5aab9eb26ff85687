"""Fuzz every operation of the HTTP API from its OpenAPI document, and list what fails.

    python bench/fuzz_api.py [--db sqlite|postgresql] [--examples 100] [--only /api/v1/deals]

The app runs in process (WSGI) on a fresh database seeded like the demo (a temporary SQLite
file, or a schema of its own in ``FUZZ_DATABASE_URL``, default
postgresql+psycopg://127.0.0.1:5432/test, dropped at the end). Each operation gets
``--examples`` valid and as many invalid generated requests, derandomized, as one of the
demo's roles, with random ids or ids that exist; then ``--scenarios`` stateful scenarios
follow the links schemathesis infers between operations (an id one answer carries, used by the
next request). The checks are those of
``tests/web/api_fuzz.py``: no 5xx, statuses, content types and bodies as documented, 401
without a token, and the error JSON with a code on every 4xx. Prints the operations tested,
the requests sent, the time, and each distinct failure with its smallest request; exits 1 if
any. The suite runs a bounded version of the same (``tests/web/test_api_fuzz.py``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from schemathesis import GenerationMode
from sqlalchemy import create_engine, text

from dialflow import schema
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.web.api_fuzz import fuzz, seed
from web import create_app

PG_URL = os.environ.get("FUZZ_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--examples",
        type=int,
        default=100,
        help="per operation and mode (0: stateful scenarios only)",
    )
    parser.add_argument("--only", help="operations whose label contains this text")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--leads", type=int, default=6)
    parser.add_argument(
        "--mode", choices=("both", "positive", "negative"), default="both", help="data generated"
    )
    parser.add_argument(
        "--scenarios",
        type=int,
        default=100,
        help="stateful scenarios along the links schemathesis infers (0: none)",
    )
    parser.add_argument(
        "--guard",
        action="store_true",
        help="check that each write answered 4xx left the records as they were (slower)",
    )
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the app logs every 500 it answers; the report says them

    workdir = tempfile.mkdtemp(prefix="fuzz_api_")
    env = {
        "DIALFLOW_ENV": "test",
        "SECRET_KEY": "fuzz-secret-key-0123456789",
        "TELEPHONY_SECRET": "fuzz-telephony-secret",
    }
    env["DIALFLOW_VAR_DIR"] = workdir
    schema_name = None
    if args.db == "postgresql":
        schema_name = f"fuzz_{uuid.uuid4().hex[:8]}"
        env.update(DATABASE_URL=PG_URL, DATABASE_SCHEMA=schema_name)
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir}/fuzz.db"
    settings = Settings.from_env(env)
    rt = Runtime.build(settings)
    try:
        schema.upgrade(rt.db.engine, **({"schema": schema_name} if schema_name else {}))
        known = seed(rt, customers=args.customers, leads=args.leads)
        print(
            "seeded: "
            + ", ".join(f"{name} {len(values)}" for name, values in sorted(known.ids.items())),
            flush=True,
        )
        app = create_app({"TESTING": True}, runtime=rt)
        modes = {
            "both": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
            "positive": (GenerationMode.POSITIVE,),
            "negative": (GenerationMode.NEGATIVE,),
        }[args.mode]
        report = fuzz(
            app,
            known,
            examples=args.examples,
            modes=modes,
            only=args.only,
            progress=lambda line: print(line, flush=True),
            guard=rt if args.guard else None,
            scenarios=args.scenarios,
        )
    finally:
        rt.close()
        if schema_name:
            engine = create_engine(PG_URL)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE'))
            engine.dispose()
    print(f"\nstatuses per operation:\n{report.statuses_per_operation()}")
    print(f"\n{args.db}: {report.describe()}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
