"""Element ids that are names SpiffWorkflow 3.2 gives its own task specs (``Start``, ``End``,
``<process id>.EndJoin``, ``StartEventSplit``/``StartEventJoin``, ``<id>.BoundaryEventSplit``
and ``…Join``) run as drawn, each element shown under its own id (``engine.reserved_ids``).

Before, such an element took the place of SpiffWorkflow's spec: a start event ``Start``
deployed and every start answered 500; a user task ``End`` or ``p.EndJoin`` was taken for
the process's end, and the instance completed at once without it; an element named as an
activity's boundary split ran in place of the split; an error end event ``sp.EndJoin``
inside a subprocess ended it normally, and its boundary event never caught.
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import Actor, one_process
from tests.engine.diagram_folders import upload


def lane(*ids: str) -> str:
    refs = "".join(f"<flowNodeRef>{i}</flowNodeRef>" for i in ids)
    return f'<laneSet id="ls"><lane id="agents" name="agent">{refs}</lane></laneSet>'


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(
        f'<sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}"/>'
        for n, (a, b) in enumerate(pairs)
    )


def user(element_id: str, inner: str = "") -> str:
    return f'<userTask id="{element_id}" name="Do {element_id}">{inner}</userTask>'


ERROR = '<error id="err" errorCode="bad"/>'


def with_head(head: str, content: bytes) -> bytes:
    return content.replace(b"  <process ", f"  {head}\n  <process ".encode(), 1)


LINEAR = one_process(
    "p",
    lane("End", "Root")
    + '<startEvent id="Start"/>'
    + user("End")
    + user("Root")
    + '<endEvent id="p.EndJoin"/>'
    + flows(("Start", "End"), ("End", "Root"), ("Root", "p.EndJoin")),
)
GATEWAYS = one_process(
    "p",
    lane("Start", "Task")
    + '<startEvent id="s"/><parallelGateway id="End"/>'
    + user("Start")
    + user("Task")
    + '<parallelGateway id="p.EndJoin"/><endEvent id="e"/>'
    + flows(
        ("s", "End"),
        ("End", "Start"),
        ("End", "Task"),
        ("Start", "p.EndJoin"),
        ("Task", "p.EndJoin"),
        ("p.EndJoin", "e"),
    ),
)
BOUNDARY = one_process(
    "p",
    lane("t", "t.BoundaryEventSplit", "t.BoundaryEventJoin")
    + '<startEvent id="s"/>'
    + user("t")
    + '<boundaryEvent id="End" attachedToRef="t"><timerEventDefinition>'
    "<timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent>"
    + '<endEvent id="late"/>'
    + user("t.BoundaryEventSplit")
    + user("t.BoundaryEventJoin")
    + '<endEvent id="e"/>'
    + flows(
        ("s", "t"),
        ("End", "late"),
        ("t", "t.BoundaryEventSplit"),
        ("t.BoundaryEventSplit", "t.BoundaryEventJoin"),
        ("t.BoundaryEventJoin", "e"),
    ),
)
SUBPROCESS = one_process(
    "p",
    lane("Sub", "End")
    + '<startEvent id="Start"/>'
    + '<subProcess id="Sub"><startEvent id="s1"/>'
    + user("End")
    + '<endEvent id="Sub.EndJoin"/>'
    + '<sequenceFlow id="g1" sourceRef="s1" targetRef="End"/>'
    '<sequenceFlow id="g2" sourceRef="End" targetRef="Sub.EndJoin"/></subProcess>'
    + '<endEvent id="e"/>'
    + flows(("Start", "Sub"), ("Sub", "e")),
)
CAUGHT_ERROR = with_head(
    ERROR,
    one_process(
        "p",
        lane("sp", "handled")
        + '<startEvent id="s"/>'
        + '<subProcess id="sp"><startEvent id="Start"/>'
        '<endEvent id="sp.EndJoin"><errorEventDefinition errorRef="err"/></endEvent>'
        '<sequenceFlow id="g1" sourceRef="Start" targetRef="sp.EndJoin"/></subProcess>'
        + '<boundaryEvent id="End" attachedToRef="sp"><errorEventDefinition errorRef="err"/>'
        "</boundaryEvent>"
        + user("handled")
        + '<endEvent id="done"/><endEvent id="e"/>'
        + flows(("s", "sp"), ("sp", "done"), ("End", "handled"), ("handled", "e")),
    ),
)
TWO_STARTS = with_head(
    '<message id="m" name="lead_in"/>',
    one_process(
        "p",
        lane("Task")
        + '<startEvent id="StartEventSplit"/>'
        + '<startEvent id="StartEventJoin"><messageEventDefinition messageRef="m"/></startEvent>'
        + user("Task")
        + '<endEvent id="End"/>'
        + flows(("StartEventSplit", "Task"), ("StartEventJoin", "Task"), ("Task", "End")),
    ),
)
MULTI_INSTANCE = one_process(
    "p",
    lane("End")
    + '<startEvent id="Start"/>'
    + user(
        "End",
        '<multiInstanceLoopCharacteristics isSequential="true">'
        "<loopCardinality>2</loopCardinality></multiInstanceLoopCharacteristics>",
    )
    + '<endEvent id="e"/>'
    + flows(("Start", "End"), ("End", "e")),
)
EVENT_SUBPROCESS = with_head(
    ERROR,
    one_process(
        "p",
        lane("t", "Root")
        + '<startEvent id="Start"/>'
        + user("t")
        + '<endEvent id="fail"><errorEventDefinition errorRef="err"/></endEvent>'
        + flows(("Start", "t"), ("t", "fail"))
        + '<subProcess id="es" triggeredByEvent="true">'
        '<startEvent id="End"><errorEventDefinition errorRef="err"/></startEvent>'
        + user("Root")
        + '<endEvent id="es.EndJoin"/>'
        '<sequenceFlow id="g1" sourceRef="End" targetRef="Root"/>'
        '<sequenceFlow id="g2" sourceRef="Root" targetRef="es.EndJoin"/></subProcess>',
    ),
)
CHILD = one_process(
    "child",
    lane("End")
    + '<startEvent id="Start"/>'
    + user("End")
    + '<endEvent id="child.EndJoin"/>'
    + flows(("Start", "End"), ("End", "child.EndJoin")),
)
CALLER = one_process(
    "p",
    '<startEvent id="Start"/><callActivity id="End" calledElement="child"/>'
    + '<endEvent id="p.EndJoin"/>'
    + flows(("Start", "End"), ("End", "p.EndJoin")),
)

# case → (files, the element ids of the tasks open at each turn (the agent completes the
# first), elements completed)
CASES: dict[str, tuple[list[bytes], list[str | tuple[str, ...]], set[str]]] = {
    "start-end-endjoin": ([LINEAR], ["End", "Root"], {"Start", "End", "Root", "p.EndJoin"}),
    "gateways": (
        [GATEWAYS],
        [("Start", "Task"), "Task"],
        {"End", "Start", "Task", "p.EndJoin", "e"},
    ),
    "boundary-split-names": (
        [BOUNDARY],
        ["t", "t.BoundaryEventSplit", "t.BoundaryEventJoin"],
        {"t", "t.BoundaryEventSplit", "t.BoundaryEventJoin", "e"},
    ),
    "subprocess": ([SUBPROCESS], ["End"], {"Start", "Sub", "End", "Sub.EndJoin", "e"}),
    "caught-error": ([CAUGHT_ERROR], ["handled"], {"Start", "sp.EndJoin", "End", "handled"}),
    "two-starts": ([TWO_STARTS], ["Task"], {"StartEventSplit", "Task", "End"}),
    "multi-instance": ([MULTI_INSTANCE], ["End", "End"], {"Start", "End", "e"}),
    "event-subprocess": ([EVENT_SUBPROCESS], ["t", "Root"], {"Start", "t", "End", "Root"}),
    "call-activity": ([CALLER, CHILD], ["End"], {"Start", "End", "p.EndJoin"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ids_named_as_spiffworkflow_specs_run_as_drawn(
    case: str, owner: Actor, agent: Actor
) -> None:
    files, steps, completed = CASES[case]
    response = upload(owner, *((f"f{n}.bpmn", content) for n, content in enumerate(files)))
    assert response.status_code == 201, response.get_json()
    instance = owner.start("p")
    assert instance["status"] == "running", instance
    for step in steps:
        open_ids = (step,) if isinstance(step, str) else step
        tasks = sorted(agent.tasks(), key=lambda t: t["name"])
        assert [(t["name"], t["title"]) for t in tasks] == [(i, f"Do {i}") for i in open_ids]
        agent.complete_ok(tasks[0]["id"])
    assert owner.instance(instance["id"])["status"] == "completed"
    response = owner.get(f"/api/v1/process-instances/{instance['id']}/elements")
    assert completed <= set(response.get_json()["completed"]), response.get_json()


def test_a_failing_script_named_end_is_an_incident_on_it(owner: Actor) -> None:
    """Before, the script task ``End`` was the process's end: the instance completed and the
    script never ran."""
    content = one_process(
        "p",
        '<startEvent id="Start"/><scriptTask id="End"><script>x = 1 / 0</script></scriptTask>'
        '<endEvent id="e"/>' + flows(("Start", "End"), ("End", "e")),
    )
    assert upload(owner, ("f.bpmn", content)).status_code == 201
    instance = owner.start("p")
    assert instance["status"] == "error", instance
    assert [i["element_id"] for i in instance["incidents"]] == ["End"]
    response = owner.get(f"/api/v1/process-instances/{instance['id']}/elements")
    assert response.get_json()["error"] == ["End"]


def test_instances_move_between_versions_by_the_ids_drawn(owner: Actor, agent: Actor) -> None:
    """Version 2 adds ``Root`` after ``End``: an instance waiting in ``End`` moves and goes on
    to it; to version 3, without a task, the move is refused naming ``End``."""
    v1 = one_process(
        "p",
        lane("End")
        + '<startEvent id="Start"/>'
        + user("End")
        + '<endEvent id="e"/>'
        + flows(("Start", "End"), ("End", "e")),
    )
    v2 = one_process(
        "p",
        lane("End", "Root")
        + '<startEvent id="Start"/>'
        + user("End")
        + user("Root")
        + '<endEvent id="e"/>'
        + flows(("Start", "End"), ("End", "Root"), ("Root", "e")),
    )
    v3 = one_process("p", '<startEvent id="Start"/><endEvent id="e"/>' + flows(("Start", "e")))
    for content in (v1, v2, v3):
        assert upload(owner, ("f.bpmn", content)).status_code == 201
    first = owner.start("p", version=1)
    second = owner.start("p", version=1)
    for instance in (first, second):
        assert (instance["version"], [t["name"] for t in instance["ready_tasks"]]) == (1, ["End"])
    url = "/api/v1/process-instances/{}/migrate"
    refused = owner.post(url.format(second["id"]), json={"to_version": 3})
    assert refused.status_code == 409, refused.get_json()
    assert [d["element_id"] for d in refused.get_json()["error"]["details"]] == ["End"]
    moved = owner.post(url.format(first["id"]), json={"to_version": 2})
    assert moved.status_code == 200, moved.get_json()
    for element_id in ("End", "Root"):
        (task,) = [t for t in agent.tasks() if t["process_instance_id"] == first["id"]]
        assert (task["name"], task["title"]) == (element_id, f"Do {element_id}")
        agent.complete_ok(task["id"])
    assert owner.instance(first["id"])["status"] == "completed"


def subprocess_in(process_id: str, task_id: str) -> bytes:
    """A process whose subprocess ``Sub`` holds the user task ``task_id``."""
    return one_process(
        process_id,
        lane("Sub", task_id)
        + '<startEvent id="s"/><subProcess id="Sub"><startEvent id="s1"/>'
        + user(task_id)
        + '<endEvent id="e1"/><sequenceFlow id="g1" sourceRef="s1" targetRef="'
        + task_id
        + '"/><sequenceFlow id="g2" sourceRef="'
        + task_id
        + '" targetRef="e1"/></subProcess><endEvent id="e"/>'
        + flows(("s", "Sub"), ("Sub", "e")),
    )


def test_a_subprocess_id_shared_across_files_is_refused_with_what_to_rename(
    owner: Actor,
) -> None:
    """Two files each drawing a subprocess ``Sub`` (or one named as another file's process)
    cannot run side by side: SpiffWorkflow finds subprocesses by id in one table. Before,
    the refusal said only "Duplicate process ID: Sub."."""
    other = one_process("Sub", '<startEvent id="qs"/><endEvent id="qe"/>' + flows(("qs", "qe")))
    for files, kind in (
        ([subprocess_in("p", "a"), subprocess_in("r", "b")], "subprocess"),
        ([subprocess_in("p", "a"), other], "process"),
    ):
        response = upload(owner, *((f"f{n}.bpmn", content) for n, content in enumerate(files)))
        assert response.status_code == 422, response.get_json()
        (detail,) = response.get_json()["error"]["details"]
        assert (detail["element_id"], detail["line"]) == ("Sub", 6)
        assert detail["file"] in ("f0.bpmn", "f1.bpmn")
        assert f"the {kind} 'Sub' of " in detail["message"]
        assert detail["message"].endswith("rename this subprocess")
