"""Instructions per instance of the engine benchmark's scenario, counted by callgrind.

    python bench/instructions.py [--warmup 50] [--instances 200] [--no-raw] [--keep DIR]
                                 [--postgres URL] [--floor]

Wall-clock rates on a shared machine drift by tens of percent; the instructions a CPU runs
for the same work do not. This runs ``bench/engine.py``'s scenario (start → user task →
complete with data → service task → end) through Dialflow on SQLite and through raw
SpiffWorkflow as shipped, each ``--warmup`` instances first and then ``--instances`` measured
ones, and prints the instructions per measured instance of each and their ratio. Everything
runs in this one process, SQLite included (its system calls are not counted); a change to the
engine that saves work shows here even while other jobs load the machine.

``--postgres URL`` runs Dialflow on that PostgreSQL database instead (in a schema of its own,
dropped at the end): the server is another process, so what is counted is the client's work,
the engine's Python and the driver's. ``--floor`` also counts the same statements sent with no
engine (``bench/floor.py``): Dialflow's count less the floor's is the engine's own work, the
figure to compare between the two databases.

Run as above, it runs itself again under ``valgrind --tool=callgrind`` (valgrind must be
installed; expect a few minutes) and prints the figures. ``--keep DIR`` keeps callgrind's
profiles there: ``DIR/callgrind.out.<pid>.1`` is Dialflow's measured instances, then each
further part in the order printed: ``.2`` raw SpiffWorkflow's (with ``--floor``, ``.2`` the
statements alone and ``.3`` raw SpiffWorkflow's); ``callgrind_annotate --inclusive=yes FILE``
shows where they go. The same run by hand:

    valgrind --tool=callgrind --zero-before=os_getloadavg --dump-before=sys_getswitchinterval \\
        python bench/instructions.py

The counters are zeroed when a measured part begins and dumped when it ends: this script
marks those points by calling ``os.getloadavg()`` and ``sys.getswitchinterval()``, C
functions nothing else here calls, found by their names in Python's library (a Python built
without its symbols cannot be measured this way). Each dump is a file of its own; run by
hand, the figures are read from ``callgrind.out.<pid>.N`` in the current folder, else only
the files are left.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

# Run as `python bench/instructions.py`, this file's folder comes first on the path and
# bench/engine.py would shadow the `engine` package: put the project root before it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ZERO = "os_getloadavg"  # os.getloadavg(): the counters start from zero
DUMP = "sys_getswitchinterval"  # sys.getswitchinterval(): the counters so far are written
_OUT_DIR = "DIALFLOW_CALLGRIND_DIR"


def under_valgrind() -> bool:
    return "vgpreload" in os.environ.get("LD_PRELOAD", "")


def rerun_under_valgrind(argv: list[str], keep: str | None) -> int:
    """This script again under callgrind, its dumps in ``keep`` or a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or tmp
        Path(folder).mkdir(parents=True, exist_ok=True)
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--zero-before={ZERO}",
            f"--dump-before={DUMP}",
            f"--callgrind-out-file={folder}/callgrind.out.%p",
            sys.executable,
            str(Path(__file__).resolve()),
            *argv,
        ]
        environment = {**os.environ, _OUT_DIR: folder}
        done = subprocess.run(command, env=environment, stderr=subprocess.DEVNULL, check=False)
        return done.returncode


class Counter:
    """The instructions callgrind counted between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self.folder = Path(os.environ.get(_OUT_DIR, "."))
        self.parts = 0

    def start(self) -> None:
        os.getloadavg()

    def stop(self) -> int | None:
        """Dump the counters; the part's total instructions, if its file is found."""
        sys.getswitchinterval()
        self.parts += 1
        part = self.folder / f"callgrind.out.{os.getpid()}.{self.parts}"
        try:
            text = part.read_text(errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=50, help="instances before measuring")
    parser.add_argument("--instances", type=int, default=200, help="measured instances")
    parser.add_argument("--no-raw", action="store_true", help="Dialflow only")
    parser.add_argument("--keep", help="keep callgrind's profiles in this folder")
    parser.add_argument("--postgres", metavar="URL", help="Dialflow on this PostgreSQL database")
    parser.add_argument("--floor", action="store_true", help="also the statements alone")
    args = parser.parse_args()
    if not under_valgrind():
        sys.exit(rerun_under_valgrind(sys.argv[1:], args.keep))

    from bench.engine import PersistedEngine, drop_schema, raw_specs, run_raw, sqlite_settings
    from bench.floor import database_floor, templates
    from dialflow.settings import Settings
    from engine.instances import start_instance

    counter = Counter()
    label = "Dialflow on " + ("PostgreSQL" if args.postgres else "SQLite")
    per_instance: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        settings = (
            Settings.from_env(
                {"DATABASE_URL": args.postgres, "DATABASE_SCHEMA": schema, "SECRET_KEY": "b" * 32}
            )
            if args.postgres
            else sqlite_settings(tmp)
        )
        persisted = PersistedEngine(settings)  # runs 50 instances itself
        try:
            persisted.run_instances("warm-", args.warmup)
            counter.start()
            persisted.run_instances("measured-", args.instances)
            total = counter.stop()
            per_instance[label] = total / args.instances if total else None
            if args.floor:
                with persisted.runtime.db.unit_of_work() as session:
                    row = start_instance(
                        persisted.engine,
                        session,
                        "bench_call",
                        data={"customer_id": 1},
                        actor=persisted.agent,
                    )
                    instance_id, version_id = row.id, row.version_id
                values = templates(persisted.runtime.db.engine, instance_id)
                # It runs a twentieth of the count first, unmeasured, then the count.
                database_floor(persisted.runtime.db.engine, values, version_id, args.warmup)
                counter.start()
                database_floor(persisted.runtime.db.engine, values, version_id, args.instances)
                total = counter.stop()
                floor = total / (args.instances + max(10, args.instances // 20)) if total else None
                per_instance["its statements alone"] = floor
        finally:
            persisted.close()
            if args.postgres:
                drop_schema(settings, schema)
    if not args.no_raw:
        spec, subprocesses = raw_specs()
        run_raw(spec, subprocesses, args.warmup)
        counter.start()
        run_raw(spec, subprocesses, args.instances)
        total = counter.stop()
        per_instance["raw SpiffWorkflow"] = total / args.instances if total else None

    print(f"instructions per instance ({args.warmup} warm-up, {args.instances} measured):")
    for name, count in per_instance.items():
        shown = f"{count / 1e6:8.3f} M" if count else "  (see callgrind's dump files)"
        print(f"  {name:<24} {shown}")
    dialflow, raw = per_instance.get(label), per_instance.get("raw SpiffWorkflow")
    floor = per_instance.get("its statements alone")
    if dialflow and floor and raw:
        own = dialflow - floor - raw
        print(f"  engine's own             {own / 1e6:8.3f} M  (Dialflow - statements - raw)")
    if dialflow and raw:
        print(f"  ratio                    {dialflow / raw:8.2f}x")


if __name__ == "__main__":
    main()
