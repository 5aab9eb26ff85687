"""Remove a person's data from what the engine stored for some instances.

An erasure (``processes.erasure``) blanks the customer's record, but the processes that worked
on the customer kept copies of the name, phone and email in their data: the instance's data
snapshot (the API's ``data``), the task data of every task in the stored workflow, the work
items' titles, instructions and item values, the instance's waits and incident messages.
The messages received for the person's business keys and the signals their instances
broadcast keep payloads too. ``scrub_instances`` replaces each of the given texts there with a
marker: a value equal to
one becomes the marker, and a longer text keeps its other words (``"Call 王芳"`` becomes
``"Call [erased]"``). Data keys, numbers and the workflow's own structure are left alone, so
an instance still loads and reads as before, without the texts.

The rows are changed through the ORM: the instances' ``lock_version`` moves, so a step that
loaded the workflow before (with the texts) cannot save it back over the scrubbed one.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Incident, ProcessInstance, ReceivedMessage, SignalBroadcast, WorkItem

# A text shorter than this is replaced only where it is a whole value, never inside another
# text: one letter would be cut out of every word.
_SHORTEST_INSIDE = 2


class _Scrubber:
    def __init__(self, texts: Iterable[str], marker: str) -> None:
        self.whole = frozenset(text for text in texts if text and text.strip())
        # longest first: a phone's E.164 form before the national number inside it
        self.inside = sorted(
            (text for text in self.whole if len(text) >= _SHORTEST_INSIDE), key=len, reverse=True
        )
        self.marker = marker

    def text(self, value: str) -> str:
        if value in self.whole:
            return self.marker
        for text in self.inside:
            if text in value:
                value = value.replace(text, self.marker)
        return value

    def value(self, value: Any) -> Any:
        """``value`` (JSON: dicts, lists, texts, numbers) with the texts replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value

    def state(self, state: dict[str, Any]) -> None:
        """The stored workflow's data: the process's, and each task's (its data and what the
        engine keeps beside it: messages' payloads, timer values), in every subprocess."""
        for workflow in (state, *(state.get("subprocesses") or {}).values()):
            if not isinstance(workflow, dict):
                continue
            for key in ("data", "correlations"):
                if key in workflow:
                    workflow[key] = self.value(workflow[key])
            for task in (workflow.get("tasks") or {}).values():
                for key in ("data", "internal_data"):
                    if isinstance(task, dict) and key in task:
                        task[key] = self.value(task[key])


def scrub_instances(
    session: Session,
    instance_ids: Collection[int],
    texts: Iterable[str],
    marker: str,
    business_keys: Collection[str] = (),
) -> int:
    """Replace ``texts`` with ``marker`` in the stored data of the instances (any status) and
    their work items and incidents, in the messages received for ``business_keys`` and the
    signals the instances broadcast; returns how many instances held one. Runs in the
    caller's transaction."""
    scrubber = _Scrubber(texts, marker)
    if not scrubber.whole:
        return 0
    ids = sorted(instance_ids)
    if business_keys:
        for message in session.scalars(
            select(ReceivedMessage).where(ReceivedMessage.business_key.in_(list(business_keys)))
        ):
            message.payload = scrubber.value(message.payload)
            message.correlation = scrubber.value(message.correlation)
    if not ids:
        session.flush()
        return 0
    for broadcast in session.scalars(
        select(SignalBroadcast).where(SignalBroadcast.source_instance_id.in_(ids))
    ):
        broadcast.payload = scrubber.value(broadcast.payload)
    changed = 0
    for instance in session.scalars(
        select(ProcessInstance).where(ProcessInstance.id.in_(ids)).order_by(ProcessInstance.id)
    ):
        state = json.loads(instance.state)
        before = json.dumps(state, separators=(",", ":"))
        scrubber.state(state)
        after = json.dumps(state, separators=(",", ":"))
        data = scrubber.value(instance.data)
        waiting = scrubber.value(instance.waiting)
        if after == before and data == instance.data and waiting == instance.waiting:
            continue
        changed += 1
        if after != before:
            instance.state = after
        instance.data = data
        instance.waiting = waiting
    for item in session.scalars(select(WorkItem).where(WorkItem.instance_id.in_(ids))):
        item.title = scrubber.text(item.title)
        if item.instructions is not None:
            item.instructions = scrubber.text(item.instructions)
        if item.item_values is not None:
            item.item_values = scrubber.value(item.item_values)
    for incident in session.scalars(select(Incident).where(Incident.instance_id.in_(ids))):
        incident.message = scrubber.text(incident.message)
    session.flush()
    return changed
