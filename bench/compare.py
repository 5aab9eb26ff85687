"""Engine throughput of this checkout against another one, measured in the same minutes.

    git worktree add /tmp/base <commit>
    python bench/compare.py --base /tmp/base [--database sqlite|postgres] [--batch 200] [--pairs 24]

A shared machine's speed drifts by tens of percent within minutes, more than most changes to
the engine are worth, so two runs of ``bench/engine.py`` an hour apart cannot tell whether a
change helped. Here one process per checkout keeps its engine warm (``bench.engine.
PersistedEngine``: start → user task → complete → service task → end, persisted) and the two
run alternating batches of ``--batch`` instances, the order swapped every pair. Prints each
checkout's median rate and the median, min and max of the pairs' ratios (this / base).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test")


def serve(tree: Path, database: str) -> None:
    """Worker: build the engine of the checkout ``tree`` (its ``bench.engine``), then answer
    each line ``N`` on stdin with the instances per second of N more instances."""
    sys.path.insert(0, str(tree))
    from bench.engine import PersistedEngine, drop_schema, sqlite_settings
    from dialflow.settings import Settings

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        if database == "postgres":
            settings = Settings.from_env(
                {"DATABASE_URL": POSTGRES, "DATABASE_SCHEMA": name, "SECRET_KEY": "b" * 32}
            )
        else:
            settings = sqlite_settings(tmp)
        engine = PersistedEngine(settings)
        try:
            engine.run_instances("warm-", 200)
            print("ready", flush=True)
            for batch, line in enumerate(sys.stdin):
                count = int(line)
                started = time.perf_counter()
                engine.run_instances(f"b{batch}-", count)
                print(count / (time.perf_counter() - started), flush=True)
        finally:
            engine.close()
            if database == "postgres":
                drop_schema(settings, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the other checkout (a git worktree)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=24)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # a worker's checkout
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.database)
        return
    trees = {"base": Path(args.base).resolve(), "this": HERE}
    command = [sys.executable, __file__, "--base", args.base, "--database", args.database]
    workers = {
        label: subprocess.Popen(
            [*command, "--serve", str(tree)],
            cwd=tree,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for label, tree in trees.items()
    }
    rates: dict[str, list[float]] = {label: [] for label in workers}
    try:
        for worker in workers.values():
            if worker.stdout is None or worker.stdout.readline().strip() != "ready":
                raise SystemExit("a worker did not start; run it alone to see why")
        for pair in range(args.pairs):
            order = ["base", "this"] if pair % 2 == 0 else ["this", "base"]
            for label in order:
                worker = workers[label]
                assert worker.stdin is not None and worker.stdout is not None
                worker.stdin.write(f"{args.batch}\n")
                worker.stdin.flush()
                rates[label].append(float(worker.stdout.readline()))
    finally:
        for worker in workers.values():
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait()
    ratios = [this / base for base, this in zip(rates["base"], rates["this"], strict=True)]
    for label, tree in trees.items():
        print(f"{label:<5} {median(rates[label]):8.0f} instances/s (median)   {tree}")
    print(
        f"this / base: median {median(ratios):.3f}   min {min(ratios):.3f}   "
        f"max {max(ratios):.3f}   ({args.pairs} pairs of {args.batch} on {args.database})"
    )


if __name__ == "__main__":
    main()
