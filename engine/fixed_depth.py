"""Work that recurses as deep as its input, done at the same stack depth whoever asks.

Python's recursion limit counts the frames of the whole thread: how deep a script's text may
nest before preparing it (``sandbox.guarded``: ``ast.parse``, the rewrites, ``compile``)
raises ``RecursionError`` depended on how deep its caller stood. A deploy's checks and a
step stand at different depths (a web request, a worker, a timer pass, a step started by
another's end), so the deploy refused, with a margin of 150 frames, sums of 280 terms that
every step ran. ``run`` does the work on one thread of its own, started per process (a
forked worker starts its own), whose stack holds nothing else: the same text succeeds or
fails the same way at deploy and in every step.

One thread serves the whole process, so only what must stand at that depth goes through it:
a deploy's ``too_complex.too_deep``, and a step's preparation that recursed too deep where
the step stood (``sandbox.guarded`` prepares there first). Every preparation sent here
waited behind the others (a deploy's text of 40,000 lines held every step's for seconds)
and, while other threads ran Python, for the interpreter lock twice (0.2 ms became 34 ms).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# The thread's C stack: ``compile`` recurses in C (about 3,000 levels before its own
# ``RecursionError``), which a small default thread stack (musl's 128 KB) would not hold.
_STACK_BYTES = 32 * 1024 * 1024


class _Job:
    __slots__ = ("action", "done", "error", "result")

    def __init__(self, action: Callable[[], Any]) -> None:
        self.action = action
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


_lock = threading.Lock()
_jobs: queue.SimpleQueue[_Job] | None = None
_thread: threading.Thread | None = None


def _forget() -> None:
    """In a forked child (a Celery worker): the parent's thread is not there, and the lock
    may have been held by another of its threads at the fork."""
    global _lock, _jobs, _thread
    _lock, _jobs, _thread = threading.Lock(), None, None


os.register_at_fork(after_in_child=_forget)


def run(action: Callable[[], T]) -> T:
    """``action()`` on the thread of fixed depth: its result, or its exception raised here."""
    if threading.current_thread() is _thread:
        return action()  # asked from that thread itself: already at its depth
    job = _Job(action)
    _queue().put(job)
    job.done.wait()
    if job.error is not None:
        error, job.error = job.error, None
        raise error
    return job.result  # type: ignore[no-any-return]


def _queue() -> queue.SimpleQueue[_Job]:
    global _jobs, _thread
    with _lock:
        if _jobs is None or _thread is None or not _thread.is_alive():
            jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
            thread = threading.Thread(
                target=_serve, args=(jobs,), name="dialflow-fixed-depth", daemon=True
            )
            previous = threading.stack_size(_STACK_BYTES)
            try:
                thread.start()
            finally:
                threading.stack_size(previous)
            _jobs, _thread = jobs, thread
        return _jobs


def _serve(jobs: queue.SimpleQueue[_Job]) -> None:
    while True:
        job = jobs.get()
        try:
            job.result = job.action()
        except BaseException as exc:  # handed to the caller, who raises it
            job.error = exc
        finally:
            job.action = _done
            job.done.set()


def _done() -> None:
    """What a finished job holds instead of its action (nothing kept alive)."""
