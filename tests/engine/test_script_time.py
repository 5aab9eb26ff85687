"""A script that loops for ever no longer holds its instance, its request or its worker.

Its loops count against the step's time (``DIALFLOW_SCRIPT_TIME_LIMIT``, 1 s here): past it
the loop is stopped and the task gets a ``script_timeout`` incident at the loop's line, the
request answers, the instance stays free for its other work, and a retry after a fix runs.
A ``while True:`` with no way out at all is refused at deploy."""

from __future__ import annotations

import time

import pytest

from tests.engine.conftest import Actor
from tests.engine.test_completion_failures import between, deploy, retry
from tests.engine.test_script_sandbox import GATEWAY, upload


@pytest.fixture
def test_env(test_env: dict[str, str]) -> dict[str, str]:
    return {**test_env, "DIALFLOW_SCRIPT_TIME_LIMIT": "1"}


COUNTING = (
    '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fork"/>'
    '<bpmn:parallelGateway id="fork"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="ask"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="side"/>'
    '<bpmn:userTask id="ask"/><bpmn:userTask id="side"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="ask" targetRef="count"/>'
    '<bpmn:scriptTask id="count"><bpmn:script>n = 0\n'
    "while True:\n"
    "    n += 1\n"
    "    if n == target:\n"
    "        break</bpmn:script></bpmn:scriptTask>"
    '<bpmn:sequenceFlow id="f5" sourceRef="count" targetRef="join"/>'
    '<bpmn:sequenceFlow id="f6" sourceRef="side" targetRef="join"/>'
    '<bpmn:parallelGateway id="join"/>'
    '<bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="e"/><bpmn:endEvent id="e"/>'
)


def ready(instance: dict, element: str) -> str:
    [task] = [t for t in instance["ready_tasks"] if t["name"] == element]
    return task["id"]


def test_a_loop_whose_way_out_never_comes_is_stopped_at_the_limit(owner: Actor, agent: Actor):
    deploy(owner, "counting", COUNTING)
    started = agent.start("counting")

    began = time.monotonic()
    stopped = agent.complete(ready(started, "ask"), {"target": -1})  # n never reaches it
    took = time.monotonic() - began

    assert stopped.status_code == 200, stopped.get_json()
    assert 1 <= took < 10
    instance = stopped.get_json()
    assert instance["status"] == "error"
    [incident] = instance["incidents"]
    assert (incident["kind"], incident["element_id"], incident["line"]) == (
        "script_timeout",
        "count",
        2,
    )
    assert "longer than 1 second" in incident["message"]
    assert "DIALFLOW_SCRIPT_TIME_LIMIT" in incident["message"]
    assert "loop on line 2: 'while True:'" in incident["message"]
    assert "n" not in instance["data"]  # the failed script wrote nothing

    # The instance is not held: its other branch's task completes at once.
    side = agent.complete_ok(ready(instance, "side"))
    assert side["status"] == "error"

    done = retry(owner, started["id"], {"target": 3})
    assert done["status"] == "completed", done
    assert done["data"]["n"] == 3
    assert done["incidents"] == []


def test_a_comprehension_over_a_huge_range_in_a_condition_is_stopped(owner: Actor, agent: Actor):
    condition = "any(i &lt; 0 for i in range(size))"
    deploy(owner, "huge", GATEWAY.format(condition=condition))

    began = time.monotonic()
    started = agent.start("huge", {"size": 10**15})

    assert time.monotonic() - began < 10
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert (incident["kind"], incident["element_id"]) == ("script_timeout", "g")
    assert "longer than 1 second" in incident["message"]
    assert "any(i < 0 for i in range(size))" in incident["message"]

    done = retry(owner, started["id"], {"size": 10})
    assert done["status"] == "completed", done


LOOPS = """total = 0
for item in items:
    total += item
evens = len([i for i in range(10000) if i % 2 == 0])
by_key = {str(i): i for i in items if i &lt; 3}
n = 0
while n &lt; len(items):
    n += 1
    if n == 5000:
        continue
else:
    finished = True
rows = 0
for a in range(100):
    for b in range(100):
        rows += 1
def numbers():
    k = 0
    while True:
        k += 1
        yield k
first = [k for k, _ in zip(numbers(), range(3))]
left = list(items[:5])
try:
    while True:
        left.pop()
except IndexError:
    pass
named = {str(i): i for i in range(2000)}
whole = (len(sorted(named)), max(3, 4), min([], default=0), len(list(named.items())))
def sum(values):
    return -1
mine = sum(5)
text = "-".join("abc")"""


def test_ordinary_loops_over_ten_thousand_items_still_run(owner: Actor, agent: Actor):
    # Regression guard: these ran before the loops were counted, and must run the same.
    body = f'<bpmn:scriptTask id="sum"><bpmn:script>{LOOPS}</bpmn:script></bpmn:scriptTask>'
    deploy(owner, "ordinary", between("sum", body, "sum"))

    started = agent.start("ordinary", {"items": list(range(10_000))})

    assert started["status"] == "completed", started["incidents"]
    data = started["data"]
    assert (data["total"], data["evens"], data["n"], data["finished"]) == (
        49_995_000,
        5_000,
        10_000,
        True,
    )
    assert data["by_key"] == {"0": 0, "1": 1, "2": 2}
    assert (data["rows"], data["first"], data["left"]) == (10_000, [1, 2, 3], [])
    assert (data["whole"], data["mine"], data["text"]) == ([2000, 4, 0, 2000], -1, "a-b-c")
    assert not any(key.startswith("<") for key in data)


def test_a_while_true_with_no_way_out_is_refused_at_deploy_on_its_line(owner: Actor):
    body = between(
        "spin",
        '<bpmn:scriptTask id="spin"><bpmn:script>x = 0\n'
        "while True:\n"
        "    x += 1\n"
        "    for i in range(3):\n"
        "        break</bpmn:script></bpmn:scriptTask>"
        '<bpmn:sequenceFlow id="f3" sourceRef="spin" targetRef="fine"/>'
        f'<bpmn:scriptTask id="fine"><bpmn:script>{LOOPS}\n'
        "while 1:\n"
        "    if x:\n"
        "        fail('X', 'stop')</bpmn:script></bpmn:scriptTask>",
        "fine",
    )

    refused = upload(owner, "spinning", body)

    assert refused.status_code == 422
    [detail] = refused.get_json()["error"]["details"]
    assert (detail["element_id"], detail["line"]) == ("spin", 3)
    assert detail["message"].startswith("script on line 2 (line 4 of the file) loops for ever")
    assert "break" in detail["message"]


def test_a_builtin_reading_a_huge_range_whole_is_stopped(owner: Actor, agent: Actor):
    # ``sum(range(n))`` has no loop in its text: the builtin loops in C, and held the step.
    condition = "sum(range(size)) &gt; 0 and max(x for x in [1]) == 1"
    deploy(owner, "summing", GATEWAY.format(condition=condition))

    began = time.monotonic()
    started = agent.start("summing", {"size": 10**15})

    assert time.monotonic() - began < 10
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert (incident["kind"], incident["element_id"]) == ("script_timeout", "g")

    done = retry(owner, started["id"], {"size": 10})
    assert done["status"] == "completed", done


RECURSING = """def paths(k):
    return 1 if k == 0 else paths(k - 1) + paths(k - 1)
half = lambda k: 1 if k == 0 else half(k - 1) + half(k - 1)
words = ",".join(str(w) for w in range(3))
total = paths(depth) + half(depth)"""


def test_a_recursion_without_a_loop_is_stopped_at_its_line(owner: Actor, agent: Actor):
    # 2**40 calls and not one loop: nothing counted them and the step never ended.
    body = f'<bpmn:scriptTask id="rec"><bpmn:script>{RECURSING}</bpmn:script></bpmn:scriptTask>'
    deploy(owner, "recursing", between("rec", body, "rec"))

    began = time.monotonic()
    started = agent.start("recursing", {"depth": 40})

    assert time.monotonic() - began < 10
    assert started["status"] == "error"
    [incident] = started["incidents"]
    assert (incident["kind"], incident["element_id"], incident["line"]) == (
        "script_timeout",
        "rec",
        2,
    )

    done = retry(owner, started["id"], {"depth": 3})
    assert done["status"] == "completed", done
    assert (done["data"]["total"], done["data"]["words"]) == (16, "0,1,2")
