"""Parsed specs per deployed bundle, parsed once per process and kept in a small LRU.

The cache holds only immutable, content-addressed data, so several worker processes each
keeping their own copy never disagree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from sqlalchemy.orm import Session

from engine.models import ModelBundle
from engine.validation import ParsedBundle, parse_bundle


@dataclass(frozen=True)
class LoadedBundle:
    bundle_id: int
    parsed: ParsedBundle
    forms: dict[str, Any]

    def spec(self, process_id: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
        return self.parsed.specs[process_id], self.parsed.subprocess_specs[process_id]


class SpecCache:
    def __init__(self, capacity: int = 128) -> None:
        self._capacity = capacity
        self._items: OrderedDict[int, LoadedBundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, bundle_id: int) -> LoadedBundle:
        with self._lock:
            loaded = self._items.get(bundle_id)
            if loaded is not None:
                self._items.move_to_end(bundle_id)
                return loaded
        bundle = session.get(ModelBundle, bundle_id)
        if bundle is None:
            raise LookupError(f"model bundle {bundle_id} does not exist")
        sources = dict(bundle.bpmn)
        for dependency_id in bundle.dependencies or []:
            dependency = session.get(ModelBundle, dependency_id)
            if dependency is not None:
                sources = {**dependency.bpmn, **sources}
        # Validated when deployed: parse without the XSD pass.
        loaded = LoadedBundle(
            bundle_id, parse_bundle(sources, bundle.dmn, validate=False), dict(bundle.forms)
        )
        with self._lock:
            self._items[bundle_id] = loaded
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return loaded

    def put(self, bundle_id: int, parsed: ParsedBundle, forms: dict[str, Any]) -> None:
        with self._lock:
            self._items[bundle_id] = LoadedBundle(bundle_id, parsed, dict(forms))
