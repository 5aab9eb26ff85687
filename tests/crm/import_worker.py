"""Child process of ``test_job_redelivery.py``: ``dialflow worker`` on the imports queue whose
Redis hands a task not acknowledged within VISIBILITY_SECONDS to another worker (the test's
seconds for the setting's hours), and whose import runs, with HOLD set, append this process's
id to MARKER_FILE once the job is claimed and wait there, between batches, until RELEASE_FILE
exists.

Usage: ``python import_worker.py MARKER_FILE RELEASE_FILE VISIBILITY_SECONDS HOLD``
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from crm import imports
from dialflow.cli import main as dialflow
from dialflow.runtime import Runtime
from dialflow.settings import Settings


def run(marker: Path, release: Path, visibility: int, hold: bool) -> None:
    settings = replace(Settings.from_env(), broker_visibility_seconds=visibility)
    rows_of = imports.mapped_rows

    def held_rows(sheet: Any, mapping: Any) -> Iterator[Any]:
        with marker.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        for number, row in enumerate(rows_of(sheet, mapping)):
            if number == 1 and hold:
                deadline = time.monotonic() + 60
                while not release.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            yield row

    imports.mapped_rows = held_rows  # type: ignore[assignment]
    dialflow(["worker", "--concurrency", "1", "--queues", "imports"], obj=Runtime.build(settings))


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1")
