"""Instructions per instance of the engine benchmark's scenario, counted by callgrind.

    python bench/instructions.py [--warmup 50] [--instances 200] [--no-raw] [--keep DIR]

Wall-clock rates on a shared machine drift by tens of percent; the instructions a CPU runs
for the same work do not. This runs ``bench/engine.py``'s scenario (start → user task →
complete with data → service task → end) through Dialflow on SQLite and through raw
SpiffWorkflow as shipped, each ``--warmup`` instances first and then ``--instances`` measured
ones, and prints the instructions per measured instance of each and their ratio. Everything
runs in this one process, SQLite included (its system calls are not counted); a change to the
engine that saves work shows here even while other jobs load the machine.

Run as above, it runs itself again under ``valgrind --tool=callgrind`` (valgrind must be
installed; expect a few minutes) and prints the figures. ``--keep DIR`` keeps callgrind's
profiles there: ``DIR/callgrind.out.<pid>.1`` is Dialflow's measured instances, ``.2`` raw
SpiffWorkflow's (``callgrind_annotate --inclusive=yes FILE`` shows where they go). The same
run by hand:

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
    args = parser.parse_args()
    if not under_valgrind():
        sys.exit(rerun_under_valgrind(sys.argv[1:], args.keep))

    from bench.engine import PersistedEngine, raw_specs, run_raw, sqlite_settings

    counter = Counter()
    per_instance: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        persisted = PersistedEngine(sqlite_settings(tmp))  # runs 50 instances itself
        try:
            persisted.run_instances("warm-", args.warmup)
            counter.start()
            persisted.run_instances("measured-", args.instances)
            total = counter.stop()
        finally:
            persisted.close()
    per_instance["Dialflow on SQLite"] = total / args.instances if total else None
    if not args.no_raw:
        spec, subprocesses = raw_specs()
        run_raw(spec, subprocesses, args.warmup)
        counter.start()
        run_raw(spec, subprocesses, args.instances)
        total = counter.stop()
        per_instance["raw SpiffWorkflow"] = total / args.instances if total else None

    print(f"instructions per instance ({args.warmup} warm-up, {args.instances} measured):")
    for label, count in per_instance.items():
        shown = f"{count / 1e6:8.3f} M" if count else "  (see callgrind's dump files)"
        print(f"  {label:<20} {shown}")
    dialflow, raw = per_instance.get("Dialflow on SQLite"), per_instance.get("raw SpiffWorkflow")
    if dialflow and raw:
        print(f"  ratio                {dialflow / raw:8.2f}x")


if __name__ == "__main__":
    main()
