"""Instances moving between versions where an element's id is SpiffWorkflow's own name in
one version only (``engine.reserved_ids.ElementSpecDiff``).

``StartEventSplit`` is SpiffWorkflow's name for the split of a process with several start
events: a user task ``StartEventSplit`` keeps that name in a version with one start event and
is held as ``StartEventSplit [element]`` in one with two. SpiffWorkflow's diff aligns by name:
moving to the version with two start events put the waiting task on SpiffWorkflow's split
(the instance started over: the script before the task ran again, the task opened anew), and
moving back was refused as "StartEventSplit (ready) has no counterpart in the new version".
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import Actor, one_process
from tests.engine.diagram_folders import upload
from tests.engine.test_reserved_ids import flows, lane, user, with_head


def version(*, message_start: bool) -> bytes:
    """``s`` → script ``count`` (adds one to ``runs``) → user task ``StartEventSplit``; with
    ``message_start``, a second start event leads to the script too."""
    second = (
        '<startEvent id="s2"><messageEventDefinition messageRef="m"/></startEvent>'
        if message_start
        else ""
    )
    content = one_process(
        "p",
        lane("StartEventSplit")
        + '<startEvent id="s"/>'
        + second
        + '<scriptTask id="count"><script>runs = runs + 1</script></scriptTask>'
        + user("StartEventSplit")
        + '<endEvent id="e"/>'
        + flows(
            ("s", "count"),
            *([("s2", "count")] if message_start else []),
            ("count", "StartEventSplit"),
            ("StartEventSplit", "e"),
        ),
    )
    return with_head('<message id="m" name="lead_in"/>', content) if message_start else content


@pytest.mark.parametrize("two_starts_first", [False, True], ids=["to-two-starts", "to-one"])
def test_a_task_named_as_the_start_split_moves_to_a_version_that_reserves_it_or_not(
    two_starts_first: bool, owner: Actor, agent: Actor
) -> None:
    order = (True, False) if two_starts_first else (False, True)
    for message_start in order:
        response = upload(owner, ("f.bpmn", version(message_start=message_start)))
        assert response.status_code == 201, response.get_json()
    instance = owner.start("p", version=1, data={"runs": 0})
    (task,) = agent.tasks()
    assert (task["name"], instance["data"]["runs"]) == ("StartEventSplit", 1)

    url = f"/api/v1/process-instances/{instance['id']}/migrate"
    moved = owner.post(url, json={"to_version": 2})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["data"]["runs"] == 1  # the script before the task ran once
    (still,) = agent.tasks()
    assert (still["id"], still["name"], still["title"]) == (
        task["id"],
        "StartEventSplit",
        "Do StartEventSplit",
    )
    done = agent.complete_ok(still["id"])
    assert (done["status"], done["version"], done["data"]["runs"]) == ("completed", 2, 1)
