"""The workflow class of Dialflow's instances: ``one_catch.Workflow`` (SpiffWorkflow's
``BpmnWorkflow`` delivering a message to one catch) whose own log records get their extras
only when their logger is enabled.

SpiffWorkflow 3.2 logs a workflow's start, end and cancellation at INFO on ``spiff.workflow``
and builds each record's extras before the call, whether the logger is enabled or not: with
that logger's own level unset (a process that never called ``Settings.configure_logging``:
the CLI, tests, the benchmark), the extras list every task of the workflow, a walk of the
whole tree twice per instance, about 4 % of a benchmark instance's instructions. Here they are
built only when the logger is enabled for INFO (``Logger.isEnabledFor``, the check
``Logger.info`` makes), so whoever enables it gets the same records as before. Only the
workflows Dialflow creates and decodes are of this class; SpiffWorkflow itself is unchanged
(``engine.log_records`` does the same for task records).
"""

from __future__ import annotations

import logging
from typing import Any

from engine.one_catch import Workflow

_LOGGER = logging.getLogger("spiff.workflow")  # SpiffWorkflow's own, in SpiffWorkflow/workflow.py


class InstanceWorkflow(Workflow):
    """The workflow of an instance: each message moves one catch (``one_catch.Workflow``),
    and its log records' extras are built only for an enabled logger."""

    def collect_log_extras(self, dct: dict[str, Any] | None = None) -> dict[str, Any]:
        if _LOGGER.isEnabledFor(logging.INFO):
            return super().collect_log_extras(dct)
        return dct or {}  # for a record the logger drops without reading it
