"""Timers that came due before a step fire in a step of their own, not stranded in another.

SpiffWorkflow 3.2's ``do_engine_steps`` ends with ``refresh_timers``: every timer of the
instance that is due is put READY, after the last pass, so nothing runs it. In a step that
is not the scheduler's (a reply, a completed task, a signal), a timer that came due before
it (the background pass not come round yet) was thus left READY: no longer a wait, so no
``next_due_at`` and the scheduler never fired it, it ran at the instance's next step,
whatever that was and however late. An overdue escalation on the subprocess around an
event-based gateway, due when the customer's reply came, was left so by the reply's step;
the reply's path opened its task for the agent, and when the agent completed it hours later
the escalation ran first, cancelled the subprocess and dropped what the agent had done (a
non-interrupting reminder fired as late, over the reply's data).

Here a step's passes do not refresh the timers (``run_passes``): a timer that came due
before the step stays waiting, with its due time, and the scheduler's next pass fires it in
a step of its own (``timers.fire``, whose action refreshes the timers first; a retry's does
too). The step of a reply, a completion or a signal runs only what its own event started,
so its answer and its data are that event's; whichever comes first wins, as for an
event-based gateway (``first_event.py``): a reply whose path ends the subprocess ends its
overdue escalation with it, and an escalation still due once the reply's step is over fires
right after it, as the diagram draws it. A timer reached during a step is checked as it is
reached (a date already past fires at once) and the step's time is pinned, so the refresh
found nothing else to do.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow


def run_passes(workflow: BpmnWorkflow, will_complete_task: Any = None) -> None:
    """``workflow.do_engine_steps(will_complete_task)`` without its closing refresh of the
    timers (see the module's docstring)."""
    while workflow._do_engine_steps(will_complete_task):
        pass
