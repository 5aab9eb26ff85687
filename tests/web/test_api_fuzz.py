"""Every operation of the OpenAPI document, fuzzed (schemathesis, derandomized, a few examples
each) against the app on a seeded demo database, as the demo's roles, with random ids and ids
that exist, then a few stateful scenarios along the links schemathesis infers: no 5xx, no
traceback, answers as documented, the error JSON with a code on every 4xx.
``bench/fuzz_api.py`` runs the same checks with many more examples."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from dialflow.runtime import Runtime
from tests.web.api_fuzz import Known, fuzz, seed
from web import create_app

EXAMPLES = 6  # per operation, valid and as many invalid
SCENARIOS = 10  # stateful, along the links schemathesis infers

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded(runtime: Runtime, test_env: dict[str, str]) -> Iterator[tuple[Flask, Known]]:
    """The test's database (``runtime`` empties it on PostgreSQL) through a runtime whose
    telephony secret is set, so PBX events are checked, not refused as switched off."""
    from dialflow.settings import Settings

    settings = Settings.from_env({**test_env, "TELEPHONY_SECRET": "fuzz-telephony-secret"})
    rt = Runtime.build(settings)
    try:
        known = seed(rt, customers=20, leads=2)
        yield create_app({"TESTING": True}, runtime=rt), known
    finally:
        rt.close()


def test_the_api_answers_fuzzed_requests_as_documented(seeded, caplog):
    app, known = seeded
    with caplog.at_level(logging.CRITICAL, logger="web.errors"):
        report = fuzz(app, known, examples=EXAMPLES, scenarios=SCENARIOS)
    assert report.operations >= 60
    assert report.examples >= report.operations * EXAMPLES
    assert any(label.endswith("(stateful)") for label in report.by_operation)
    assert not report.failures, report.describe()
