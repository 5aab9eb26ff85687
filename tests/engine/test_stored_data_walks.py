"""What a script keeps, checked for the shapes an instance's state cannot hold (too deep, a
``typename`` key), without refusing what it can.

Before: a script keeping a dict keyed by numbers that held lists or dicts (customers grouped
by id, calls by hour) failed its task once the value had more than 64 of them ("expected
string or bytes-like object, got 'int'"): the walk looking for values nested too deep wrote
a path for every key as text. And a value nested too deep inside a tuple kept in a dict was
not looked into: the instance kept it.
"""

from __future__ import annotations

import pytest

from dialflow.runtime import Runtime
from tests.engine.conftest import Actor, one_process
from tests.engine.test_stored_data_shapes import SCRIPT_THEN_ASK

GROUPED = """calls = [(n % 70, 'c%d' % n) for n in range(140)]
by_customer = {}
for customer_id, call in calls:
    by_customer.setdefault(customer_id, []).append(call)
del calls, customer_id, call
by_hour = {hour + 0.5: {'hour': hour} for hour in range(66)}
by_flag = {True: [1], None: [2]}
"""


def test_a_script_keeping_data_keyed_by_numbers_completes(owner: Actor, agent: Actor) -> None:
    xml = one_process("groups", SCRIPT_THEN_ASK.format(script=GROUPED))
    assert owner.upload(extra=[("groups.bpmn", xml)]).status_code == 201
    started = agent.start("groups")
    assert (started["status"], started["incidents"]) == ("running", []), started["incidents"]
    data = started["data"]
    assert data["by_customer"]["3"] == ["c3", "c73"] and len(data["by_customer"]) == 70
    assert data["by_hour"]["65.5"] == {"hour": 65}
    assert data["by_flag"] == {"true": [1], "null": [2]}


@pytest.mark.parametrize(
    "script",
    [
        "deep = 1\nfor _ in range(600):\n    deep = (deep,)\nkept = {'a': deep}\ndel deep",
        "deep = {}\nfor _ in range(600):\n    deep = {7: deep}\nkept = {'a': (deep,)}\ndel deep",
    ],
    ids=["tuples-in-a-dict", "int-keys-in-a-tuple"],
)
def test_a_script_keeping_a_tuple_nested_too_deep_fails_on_its_task(
    owner: Actor, agent: Actor, runtime: Runtime, script: str
) -> None:
    """The instance kept it, and answered 500 on its termination once read back from the
    database."""
    xml = one_process("tuples", SCRIPT_THEN_ASK.format(script=script))
    assert owner.upload(extra=[("tuples.bpmn", xml)]).status_code == 201
    started = agent.start("tuples")
    assert started["status"] == "error", started
    [incident] = started["incidents"]
    assert incident["element_id"] == "build"
    assert "'kept' holds values nested more than 64 levels deep (at a" in incident["message"]
    runtime.engine.kept.clear()  # read back from the database, as another worker would
    terminated = owner.post(f"/api/v1/process-instances/{started['id']}/terminate", json={})
    assert terminated.get_json()["status"] == "terminated", terminated.get_json()
