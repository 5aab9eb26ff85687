"""Version tags and follow-up dates, deployed and run through the API as Camunda writes them.

A process carries a version tag (Camunda 8's ``<zeebe:versionTag>``, Camunda 7's
``camunda:versionTag``), kept per version and listed beside the versions; a call activity
bound by ``versionTag`` calls the newest deployed version carrying the tag, and a tag none
carries is refused on the call activity's line. A user task's ``followUpDate`` is kept as
its follow-up date, answered by the task API beside ``due_at`` and shown on the task page.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from crm.users import create_token
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import Actor, refused
from tests.engine.test_round26_gaps import CAMUNDA, ZEEBE, chain, definitions, deployed


def called(version: str, tag: str | None, *, c7: bool = False) -> bytes:
    body = chain("vt_called", f'<bpmn:userTask id="work_{version}" />')
    if tag and c7:
        body = body.replace(
            'isExecutable="true">', f'isExecutable="true" camunda:versionTag="{tag}">'
        )
    elif tag:
        body = body.replace(
            'isExecutable="true">',
            'isExecutable="true"><bpmn:extensionElements>'
            f'<zeebe:versionTag value="{tag}" /></bpmn:extensionElements>',
        )
    return definitions(CAMUNDA if c7 else ZEEBE, body)


def zeebe_caller(tag: str) -> bytes:
    call = (
        '<bpmn:callActivity id="call"><bpmn:extensionElements>\n'
        f'<zeebe:calledElement processId="vt_called" bindingType="versionTag" versionTag="{tag}" />'
        "\n</bpmn:extensionElements></bpmn:callActivity>"
    )
    return definitions(ZEEBE, chain("vt_caller", call))


def deploy_three_versions(owner: Actor, *, c7: bool = False) -> None:
    for version, tag in (("one", "v1"), ("two", "v2"), ("three", None), ("four", "v1")):
        deployed(owner, f"called_{version}.bpmn", called(version, tag, c7=c7))


def test_a_zeebe_call_bound_by_version_tag_calls_the_newest_version_carrying_it(owner, agent):
    deploy_three_versions(owner)
    (model,) = [m for m in owner.models() if m["process_id"] == "vt_called"]
    assert model["versions"] == [1, 2, 3, 4]
    assert model["version_tags"] == ["v1", "v2", None, "v1"]

    deployed(owner, "caller_v2.bpmn", zeebe_caller("v2"))
    agent.start("vt_caller")
    assert [t["name"] for t in agent.tasks()] == ["work_two"]

    deployed(owner, "caller_v1.bpmn", zeebe_caller("v1").replace(b"vt_caller", b"vt_caller1"))
    agent.start("vt_caller1")
    assert sorted(t["name"] for t in agent.tasks()) == ["work_four", "work_two"]


def test_a_camunda_7_call_bound_by_version_tag_calls_the_tagged_version(owner, agent):
    deploy_three_versions(owner, c7=True)
    (model,) = [m for m in owner.models() if m["process_id"] == "vt_called"]
    assert model["version_tags"] == ["v1", "v2", None, "v1"]
    call = (
        '<bpmn:callActivity id="call" calledElement="vt_called" '
        'camunda:calledElementBinding="versionTag" camunda:calledElementVersionTag="v2" />'
    )
    deployed(owner, "caller.bpmn", definitions(CAMUNDA, chain("vt_c7_caller", call)))
    agent.start("vt_c7_caller")
    assert [t["name"] for t in agent.tasks()] == ["work_two"]


def test_a_tag_no_deployed_version_carries_is_refused_on_the_call_activity(owner):
    deploy_three_versions(owner)
    text = zeebe_caller("v9")
    (detail,) = refused(owner.upload(extra=[("caller.bpmn", text)]))
    assert detail["element_id"] == "call"
    assert (
        detail["line"]
        == text.decode()
        .splitlines()
        .index(next(line for line in text.decode().splitlines() if "zeebe:calledElement" in line))
        + 1
    )
    assert "no deployed version of 'vt_called' carries version tag 'v9'" in detail["message"]

    # one deploy runs one version of a process: two tags of it in one caller are refused
    two = zeebe_caller("v1").replace(
        b"</bpmn:process>",
        b"</bpmn:process>"
        + chain(
            "vt_other",
            '<bpmn:callActivity id="call2"><bpmn:extensionElements><zeebe:calledElement '
            'processId="vt_called" bindingType="versionTag" versionTag="v2" />'
            "</bpmn:extensionElements></bpmn:callActivity>",
        ).encode(),
    )
    (detail,) = refused(owner.upload(extra=[("two.bpmn", two)]))
    assert detail["element_id"] == "call2"
    assert "another call calls it by version tag 'v1'" in detail["message"]


def scheduled(schedule: str) -> bytes:
    task = (
        '<bpmn:userTask id="call"><bpmn:extensionElements><zeebe:userTask />'
        f"<zeebe:taskSchedule {schedule} /></bpmn:extensionElements></bpmn:userTask>"
    )
    return definitions(ZEEBE, chain("vt_follow_up", task))


def test_a_follow_up_date_is_kept_beside_the_due_time_and_shown(
    client, db, make_user, owner: Actor
):
    user = make_user("agent", username="zhao", password=PASSWORD)
    with db() as session:
        token = create_token(session, user, name="test")
    zhao = Actor(client, user, {"Authorization": f"Bearer {token}"})
    schedule = 'dueDate="2026-05-08T18:00:00+08:00" followUpDate="=remind_at"'
    deployed(owner, "follow_up.bpmn", scheduled(schedule))
    started = zhao.start("vt_follow_up", {"remind_at": "2026-05-06T10:00:00+08:00"})
    (task,) = started["ready_tasks"]
    assert datetime.fromisoformat(task["follow_up_at"]) == datetime.fromisoformat(
        "2026-05-06T10:00:00+08:00"
    )
    assert datetime.fromisoformat(task["due_at"]) == datetime.fromisoformat(
        "2026-05-08T18:00:00+08:00"
    )
    (listed,) = zhao.tasks()
    assert listed["follow_up_at"] == task["follow_up_at"]

    assert sign_in(client, "zhao").status_code == 302
    page = client.get(f"/tasks/{task['id']}").text
    assert "跟进时间" in page and 'id="follow-up"' in page
    assert "跟进 " in client.get("/inbox").text


def test_a_follow_up_date_from_now_and_a_malformed_one(owner, agent):
    deployed(owner, "in_a_day.bpmn", scheduled('followUpDate="=now() + duration(&#34;P1D&#34;)"'))
    (task,) = agent.start("vt_follow_up")["ready_tasks"]
    created = datetime.fromisoformat(task["created_at"])
    assert datetime.fromisoformat(task["follow_up_at"]) - created == timedelta(days=1)
    assert task["due_at"] is None

    (detail,) = refused(
        owner.upload(extra=[("bad.bpmn", scheduled('followUpDate="2026-05-06T10:00:00"'))])
    )
    assert detail["element_id"] == "call"
    assert "followUpDate '2026-05-06T10:00:00' has no offset" in detail["message"]


def table(grade: str, tag: str, *, c7: bool = False) -> bytes:
    said = (
        f' camunda:versionTag="{tag}">'
        if c7
        else f'><extensionElements><zeebe:versionTag value="{tag}" /></extensionElements>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
        f"{CAMUNDA if c7 else ZEEBE} "
        'id="vt_defs" name="Grades" namespace="http://camunda.org/schema/1.0/dmn">\n'
        f'  <decision id="vt_grade" name="Grade"{said}\n'
        '    <decisionTable id="vt_table" hitPolicy="UNIQUE">\n'
        '      <input id="vt_in" label="Amount"><inputExpression id="vt_expr" typeRef="number">'
        "<text>amount</text></inputExpression></input>\n"
        '      <output id="vt_out" label="Grade" name="grade" typeRef="string" />\n'
        '      <rule id="vt_rule"><inputEntry id="vt_any"><text>-</text></inputEntry>'
        f'<outputEntry id="vt_val"><text>"{grade}"</text></outputEntry></rule>\n'
        "    </decisionTable>\n  </decision>\n</definitions>\n"
    ).encode()


def carrier(n: int) -> bytes:
    return definitions(ZEEBE, chain("vt_carrier", f'<bpmn:userTask id="carry_{n}" />'))


def test_a_business_rule_task_bound_by_version_tag_calls_the_tagged_decision(owner, agent):
    for n, (grade, tag) in enumerate((("A", "v1"), ("B", "v2"), ("C", "v1"))):
        response = owner.upload(
            extra=[(f"carrier{n}.bpmn", carrier(n)), ("grades.dmn", table(grade, tag))]
        )
        assert response.status_code == 201, response.get_json()
    task = (
        '<bpmn:businessRuleTask id="grade"><bpmn:extensionElements>\n<zeebe:calledDecision '
        'decisionId="vt_grade" resultVariable="grade" bindingType="versionTag" versionTag="{}" />'
        "\n</bpmn:extensionElements></bpmn:businessRuleTask>"
    )
    after = '<bpmn:userTask id="after" />'
    deployed(owner, "rules.bpmn", definitions(ZEEBE, chain("vt_rules", task.format("v2"), after)))
    assert agent.start("vt_rules", {"amount": 5})["data"]["grade"] == "B"
    deployed(owner, "rules1.bpmn", definitions(ZEEBE, chain("vt_rules1", task.format("v1"), after)))
    assert agent.start("vt_rules1", {"amount": 5})["data"]["grade"] == "C"

    text = definitions(ZEEBE, chain("vt_rules9", task.format("v9"), after))
    (detail,) = refused(owner.upload(extra=[("rules9.bpmn", text)]))
    assert (detail["element_id"], detail["line"]) == ("grade", 4)  # its calledDecision
    assert "no deployed version of 'vt_grade' carries version tag 'v9'" in detail["message"]


def test_a_camunda_7_business_rule_task_bound_by_version_tag(owner, agent):
    for n, (grade, tag) in enumerate((("A", "v1"), ("B", "v2"))):
        files = [(f"carrier{n}.bpmn", carrier(n)), ("grades.dmn", table(grade, tag, c7=True))]
        assert owner.upload(extra=files).status_code == 201
    task = (
        '<bpmn:businessRuleTask id="grade" camunda:decisionRef="vt_grade" '
        'camunda:resultVariable="grade" camunda:mapDecisionResult="singleEntry" '
        'camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="v1" />'
    )
    after = '<bpmn:userTask id="after" />'
    deployed(owner, "rules.bpmn", definitions(CAMUNDA, chain("vt_c7_rules", task, after)))
    assert agent.start("vt_c7_rules", {"amount": 5})["data"]["grade"] == "A"
