"""Pieces the API reaches only indirectly: dependency merging, handler calls, lanes, scripts."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from engine.bundles import Bundle, merge_dependencies
from engine.scripting import ScriptEnvironment, script_helpers
from engine.state import StateCodec
from engine.work_items import candidates_for, lane_group
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.engine.conftest import DIAGRAMS

NOW = datetime(2024, 5, 17, 18, 30, tzinfo=UTC)  # already the 18th in Shanghai


def test_merge_keeps_own_files_and_prunes_redefined_processes():
    both = (DIAGRAMS / "order_main.bpmn").read_text(), (DIAGRAMS / "order_lines.bpmn").read_text()
    one_file = both[0].replace(
        "</bpmn:definitions>",
        both[1][both[1].index("<bpmn:process") : both[1].index("</bpmn:definitions>")]
        + "</bpmn:definitions>",
    )
    dependency = Bundle(
        bpmn={"process.bpmn": one_file},
        dmn={"d.dmn": "old"},
        forms={"f.json": {"old": True}, "g.json": {}},
    )
    own = Bundle(
        bpmn={"process.bpmn": both[0].replace("1.13", "1.06")},
        dmn={"d.dmn": "new"},
        forms={"f.json": {"new": True}},
    )
    merged = merge_dependencies(own, [(7, dependency)])
    assert list(merged.bpmn) == ["@7/process.bpmn", "process.bpmn"]
    assert merged.bpmn["process.bpmn"] == own.bpmn["process.bpmn"]
    pruned = merged.bpmn["@7/process.bpmn"]
    assert 'id="order_lines"' in pruned
    assert 'id="order_main"' not in pruned
    assert list(merged.dmn) == ["@7/d.dmn", "d.dmn"]  # own last: the parser keeps the last
    assert merged.forms == {"f.json": {"new": True}, "g.json": {}}


def test_merge_drops_a_dependency_file_left_without_processes():
    lines = (DIAGRAMS / "order_lines.bpmn").read_text()
    merged = merge_dependencies(Bundle(bpmn={"a.bpmn": lines}), [(3, Bundle(bpmn={"b": lines}))])
    assert list(merged.bpmn) == ["a.bpmn"]


def context() -> HandlerContext:
    return HandlerContext(session=None, actor=None, instance_id=1, business_key=None, now=NOW)  # type: ignore[arg-type]


def test_registry_checks_and_coerces_parameters():
    registry = build_registry()
    assert registry.check_call("crm.add_note", {"customer_id", "text"}) == []
    assert registry.check_call("crm.log_call", {"customer_id", "disposition"}) == []
    assert registry.check_call("crm.add_note", {"customer_id"}) == [
        "crm.add_note needs parameter 'text' (str)"
    ]
    assert "unknown service operator" in registry.check_call("crm.nope", set())[0]

    calls: list[dict[str, Any]] = []

    @registry.register("test.echo")
    def echo(ctx: HandlerContext, count: int, label: str, ratio: float = 1.0) -> dict:
        calls.append({"count": count, "label": label, "ratio": ratio})
        return calls[-1]

    assert registry.call("test.echo", context(), {"count": "42", "label": 7, "ratio": 2}) == {
        "count": 42,
        "label": "7",
        "ratio": 2.0,
    }
    assert registry.call("test.echo", context(), {"count": " -3 ", "label": "x"})["count"] == -3
    bads = ({"count": True, "label": "x"}, {"count": "4x", "label": "x"}, {"label": "x"})
    for bad in (*bads, {"count": "²", "label": "x"}, {"count": "-①", "label": "x"}):
        with pytest.raises(HandlerError):
            registry.call("test.echo", context(), bad)
    with pytest.raises(ValueError, match="twice"):
        registry.register("test.echo")(echo)


def fake_task(lane: str | None, data: dict[str, Any]) -> Any:
    return SimpleNamespace(task_spec=SimpleNamespace(lane=lane), data=data)


@pytest.mark.parametrize(
    ("lane", "data", "expected"),
    [
        ("agent", {}, ["group:agent"]),
        ("Manager", {}, ["group:manager"]),
        ("East", {}, ["group:East"]),
        (None, {}, ["user:starter"]),
        ("", {}, ["user:starter"]),
        (
            "Approver",
            {"lane_owners": {"Approver": ["m1", "group:East", " "]}},
            [
                "group:East",
                "user:m1",
            ],
        ),
        ("Approver", {"lane_owners": {"Approver": "user:m2"}}, ["user:m2"]),
        ("Approver", {"lane_owners": {"Other": ["x"]}}, ["group:Approver"]),
        ("Approver", {"lane_owners": "nonsense"}, ["group:Approver"]),
    ],
)
def test_candidates_for_lanes(lane, data, expected):
    assert candidates_for(fake_task(lane, data), "starter") == expected
    assert lane_group("process_owner") == "group:process_owner"


def test_script_environment_data_wins_over_helpers():
    environment = ScriptEnvironment(script_helpers(NOW), StateCodec().check_storable)
    data: dict[str, Any] = {"date": "2024-06-01", "now": "not a function"}
    environment.execute(
        "label = 'on ' + date\n"
        "shanghai = today()\n"
        "utc = today('UTC')\n"
        "later = in_duration('PT90M')",
        data,
    )
    assert data == {
        "date": "2024-06-01",
        "now": "not a function",
        "label": "on 2024-06-01",
        "shanghai": "2024-05-18",
        "utc": "2024-05-17",
        "later": "2024-05-17T20:00:00+00:00",
    }
    assert environment.evaluate("date + '!'", data) == "2024-06-01!"

    kept: dict[str, Any] = {"n": 1}
    with pytest.raises(TypeError, match="'blob'"):
        environment.execute("n = 2\nblob = b'x'", kept)
    assert kept == {"n": 1}  # a failed script leaves the data as it was


def test_ready_user_tasks_read_from_the_task_maps_are_those_of_the_tree_walk():
    """``manual_ready_tasks`` reads the workflow's and its subprocesses' task maps instead of
    walking the tree: at every point it must list the same tasks, in the same order, as
    ``get_tasks(state=READY, manual=True)``; here with user tasks READY at once in the top
    process, an embedded subprocess, a called process and a multi-instance task, completed
    first-listed first, last-listed first and from the middle."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from engine.validation import parse_bundle
    from engine.work_items import manual_ready_ids, manual_ready_tasks

    parsed = parse_bundle({"r.bpmn": (DIAGRAMS / "ready_everywhere.bpmn").read_text()}, {})
    spec, subprocess_specs = (
        parsed.specs["ready_everywhere"],
        parsed.subprocess_specs["ready_everywhere"],
    )
    for pick in (0, -1, 2):
        workflow = BpmnWorkflow(spec, subprocess_specs)
        most = in_subprocess = 0
        completed = []
        while True:
            workflow.do_engine_steps()
            walked = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert manual_ready_tasks(workflow) == walked
            assert manual_ready_ids(workflow) == {str(task.id) for task in walked}
            if not walked:
                break
            most = max(most, len(walked))
            in_subprocess += sum(task.workflow is not workflow for task in walked)
            task = walked[pick if len(walked) > 2 else 0]
            completed.append(task.task_spec.bpmn_id)
            task.run()
        assert workflow.is_completed()
        assert most >= 8  # call, price, terms, bureau, bank and three reviews
        assert in_subprocess > 0
        assert sorted(set(completed)) == sorted(
            ["top_call", "price", "terms", "bureau", "bank", "reviews", "confirm"]
        )
    kept_alone = set()
    for keep in range(8):  # down to one READY user task, each in turn: read from the maps alone
        single = BpmnWorkflow(spec, subprocess_specs)
        single.do_engine_steps()
        ready = single.get_tasks(state=TaskState.READY, manual=True)
        for task in ready[:keep] + ready[keep + 1 :]:
            task.run()
        single.do_engine_steps()
        walked = single.get_tasks(state=TaskState.READY, manual=True)
        assert len(walked) == 1
        assert manual_ready_tasks(single) == walked
        kept_alone.add(walked[0].task_spec.bpmn_id)
    assert {"top_call", "price", "bureau", "reviews"} <= kept_alone
