"""Where a benchmark run's time goes: this process's CPU and the database server's.

One thread waits on its database after every round trip, so a run's time is roughly the
CPU the process spends (Python, the driver, the kernel's socket work) plus the CPU the
PostgreSQL backend spends on its statements, plus the latency of each hop. Splitting the two
shows which side a change can win on. The backend's CPU is read from ``/proc`` by process
id, which only works when the server runs on this machine; elsewhere it is left out.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

T = TypeVar("T")


@dataclass(frozen=True)
class CpuSplit:
    """CPU seconds spent during one measurement."""

    user: float  # this process, in Python and the driver
    system: float  # this process, in the kernel (sockets, waits)
    server: float | None  # the PostgreSQL backends the run used; None if not readable

    def per_instance_ms(self, count: int) -> CpuSplit:
        server = None if self.server is None else self.server * 1000 / count
        return CpuSplit(self.user * 1000 / count, self.system * 1000 / count, server)


class BackendWatcher:
    """The process ids of the PostgreSQL backends behind ``engine``'s connections."""

    def __init__(self, engine: Engine) -> None:
        self.pids: set[int] = set()
        if engine.dialect.name != "postgresql":
            return

        @event.listens_for(engine, "connect")
        def _remember(dbapi_connection: Any, _record: Any) -> None:
            self.pids.add(dbapi_connection.info.backend_pid)

        engine.dispose()  # connections opened before the listener reconnect through it

    def server_seconds(self) -> dict[int, float] | None:
        """CPU seconds so far of each backend still running; None if none can be read."""
        ticks = os.sysconf("SC_CLK_TCK")
        seconds: dict[int, float] = {}
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # a server on another machine, or a backend that ended
                continue
            seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        return seconds or None


def measured(watcher: BackendWatcher, run: Callable[[], T]) -> tuple[T, CpuSplit]:
    """``run()``'s result and the CPU it cost on either side of the connection."""
    server_before = watcher.server_seconds()
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = run()
    after = resource.getrusage(resource.RUSAGE_SELF)
    server_after = watcher.server_seconds()
    server = None
    if server_after is not None:
        before_of = server_before or {}
        server = sum(spent - before_of.get(pid, 0.0) for pid, spent in server_after.items())
    return result, CpuSplit(
        after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, server
    )
