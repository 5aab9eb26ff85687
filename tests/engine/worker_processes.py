"""Worker processes for the crash tests, started from a fork server that imported Dialflow once.

A crash test runs one step in a real child process and kills it with SIGKILL. A fresh
interpreter spends most of its second importing Dialflow, SQLAlchemy, SpiffWorkflow and Flask
before it reaches the step; the suite kills about a hundred of them. Here each pytest process
starts one fork server (``multiprocessing``'s ``forkserver``) that imports the worker modules,
and every worker is a fork of it: a fresh process, with no connection, thread or state of the
test process, that reads the environment given to it as a new interpreter would.
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER_MODULES = ["tests.engine.crash_worker", "tests.engine.crash_matrix_worker"]

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(WORKER_MODULES)


def _run(module: str, argv: list[str], env: dict[str, str], log: str) -> None:
    """In the child: the environment, working directory, arguments and output of a new
    interpreter running ``python -m module argv``."""
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(ROOT)
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


class Worker:
    """One worker process: ``poll`` as ``subprocess.Popen`` does, ``kill`` with SIGKILL."""

    def __init__(self, module: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        assert module in WORKER_MODULES, f"{module} is not preloaded by the fork server"
        self.log = log
        self.process = _context.Process(target=_run, args=(module, argv, env, str(log)))
        self.process.start()

    def poll(self) -> int | None:
        """The exit code (minus the signal that ended it), or ``None`` while it runs."""
        return self.process.exitcode

    def kill(self) -> int:
        """SIGKILL and wait for the end; the exit code."""
        self.process.kill()
        self.process.join(30)
        code = self.process.exitcode
        self.process.close()
        assert code is not None, "the worker did not end after SIGKILL"
        return code

    def output(self) -> str:
        """What the worker printed, the last 3,000 characters."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
