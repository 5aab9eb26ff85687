"""Parsed specs per deployed bundle, parsed once per process and kept in a small LRU.

The cache holds only immutable, content-addressed data, so several worker processes each
keeping their own copy never disagree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundles import Bundle, merge_dependencies
from engine.models import ModelBundle, ProcessVersion
from engine.multi_instance import hear_instances
from engine.validation import ParsedBundle, parse_bundle


@dataclass(frozen=True)
class LoadedBundle:
    bundle_id: int
    parsed: ParsedBundle
    forms: dict[str, Any]
    _names: dict[str, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def spec(self, process_id: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
        return self.parsed.specs[process_id], self.parsed.subprocess_specs[process_id]

    def element_names(self, process_id: str) -> Mapping[str, str]:
        """Element id → the diagram's ``name`` of that element, for the process and the
        subprocesses it runs (its own elements first); unnamed elements are left out, and so
        is a process the bundle does not hold. Worked out once per process."""
        names = self._names.get(process_id)
        if names is None:
            names = {}
            if process_id in self.parsed.specs:
                spec, subprocess_specs = self.spec(process_id)
                for each in (*subprocess_specs.values(), spec):  # the process's own win
                    for task_spec in each.task_specs.values():
                        element_id = getattr(task_spec, "bpmn_id", None)
                        name = getattr(task_spec, "bpmn_name", None)
                        if element_id and name:
                            names[element_id] = name
            self._names[process_id] = names
        return names


def _all_specs(parsed: ParsedBundle) -> Iterable[BpmnProcessSpec]:
    """Every process spec of the bundle, and the (sub)process specs each one runs."""
    for process_id, spec in parsed.specs.items():
        yield spec
        yield from parsed.subprocess_specs.get(process_id, {}).values()


def dependency_bundles(session: Session, bundle_ids: Iterable[int]) -> list[tuple[int, Bundle]]:
    """The files of ``bundle_ids`` and, transitively, of the bundles they call; nearest first."""
    found: list[tuple[int, Bundle]] = []
    seen: set[int] = set()
    queue = deque(bundle_ids)
    while queue:
        bundle_id = queue.popleft()
        if bundle_id in seen:
            continue
        seen.add(bundle_id)
        row = session.get(ModelBundle, bundle_id)
        if row is None:
            continue
        found.append((bundle_id, Bundle(bpmn=row.bpmn, dmn=row.dmn, forms=row.forms)))
        queue.extend(row.dependencies or [])
    return found


class SpecCache:
    def __init__(self, capacity: int = 128) -> None:
        self._capacity = capacity
        self._items: OrderedDict[int, LoadedBundle] = OrderedDict()
        self._lock = threading.Lock()
        self._version_bundles: dict[int, int] = {}

    def get(self, session: Session, bundle_id: int) -> LoadedBundle:
        with self._lock:
            loaded = self._items.get(bundle_id)
            if loaded is not None:
                self._items.move_to_end(bundle_id)
                return loaded
        bundle = session.get(ModelBundle, bundle_id)
        if bundle is None:
            raise LookupError(f"model bundle {bundle_id} does not exist")
        own = Bundle(bpmn=bundle.bpmn, dmn=bundle.dmn, forms=bundle.forms)
        sources = merge_dependencies(own, dependency_bundles(session, bundle.dependencies or []))
        # Validated when deployed: parse without the XSD pass.
        parsed = parse_bundle(sources.bpmn, sources.dmn, validate=False, forms=sources.forms)
        for spec in _all_specs(parsed):
            hear_instances(spec)
        loaded = LoadedBundle(bundle_id, parsed, sources.forms)
        with self._lock:
            self._items[bundle_id] = loaded
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return loaded

    def for_version(self, session: Session, version_id: int) -> LoadedBundle:
        """The bundle of a process version; the version → bundle link never changes."""
        bundle_id = self._version_bundles.get(version_id)
        if bundle_id is None:
            bundle_id = session.scalar(
                select(ProcessVersion.bundle_id).where(ProcessVersion.id == version_id)
            )
            if bundle_id is None:
                raise LookupError(f"process version {version_id} does not exist")
            self._version_bundles[version_id] = bundle_id
        return self.get(session, bundle_id)

    def put(self, bundle_id: int, parsed: ParsedBundle, forms: dict[str, Any]) -> None:
        with self._lock:
            self._items[bundle_id] = LoadedBundle(bundle_id, parsed, dict(forms))
