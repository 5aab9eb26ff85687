"""SpiffWorkflow's task log records built only when their logger is enabled.

SpiffWorkflow 3.2 logs every task state change at INFO (``Task._set_state``) and builds the
record's extras before the call, whether the logger is enabled or not: a dictionary of ten
entries and two state names looked up, and with the logger's own level unset (below INFO for
SpiffWorkflow) the task's data and internal data too. Nothing in Dialflow reads these records,
and ``Settings.configure_logging`` keeps SpiffWorkflow's loggers at WARNING or above, so they
are built for nothing, several times a step: about 6 % of a benchmark instance's
instructions. Here ``_set_state`` builds and logs them only when the logger is enabled for
the record's level (``Logger.isEnabledFor``, the check ``Logger.info`` makes): whoever
enables it gets the same records as before.
"""

from __future__ import annotations

import logging
import time

from SpiffWorkflow import task as spiff_task
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# As SpiffWorkflow ships it: ``bench/engine.py`` runs its raw baseline with it.
SHIPPED_SET_STATE = Task._set_state


def _set_state(self: Task, value: int) -> None:
    """``Task._set_state`` of SpiffWorkflow 3.2 (force the state), its logging guarded."""
    logger = spiff_task.logger
    if value != self._state:  # ``state``, without its property
        elapsed = time.time() - self.last_state_change
        self.last_state_change = time.time()
        self._state = value
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                f"State changed to {TaskState.get_name(value)}",
                extra=self.collect_log_extras({"elapsed": elapsed}),
            )
    elif logger.isEnabledFor(logging.DEBUG):
        logger.debug(f"State set to {TaskState.get_name(value)}", extra=self.collect_log_extras())


def install() -> None:
    """Idempotent: SpiffWorkflow's tasks log their state changes through :func:`_set_state`."""
    Task._set_state = _set_state  # type: ignore[method-assign]


install()  # at import, as ``engine.timekeeping`` installs its own
