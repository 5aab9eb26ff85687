"""Versions deployed before version tags were kept (revision 0021) have none stored, though
their files carry one. A call (or a business rule task) bound by that tag is refused with
"deploy the version tagged … first"; deploying the same files again did nothing (identical
content is the deploy it already is), so the refusal could not be answered but by editing
the file. The same files deployed again now give their versions and decisions their tags."""

from __future__ import annotations

from sqlalchemy import delete, update

from engine.models import DecisionTag, ProcessVersion
from tests.engine.conftest import refused
from tests.engine.test_round26_gaps import ZEEBE, chain, definitions, deployed
from tests.engine.test_version_tags import called, carrier, table, zeebe_caller


def forget_tags(db) -> None:
    """The database as revision 0021 left one deployed before it: no tag stored."""
    with db() as session:
        session.execute(update(ProcessVersion).values(version_tag=None))
        session.execute(delete(DecisionTag))


def test_the_same_files_deployed_again_give_earlier_versions_their_tags(owner, agent, db):
    deployed(owner, "called_one.bpmn", called("one", "v1"))
    dmn = [("carrier.bpmn", carrier(1)), ("grades.dmn", table("A", "v1"))]
    assert owner.upload(extra=dmn).status_code == 201
    forget_tags(db)

    (detail,) = refused(owner.upload(extra=[("caller.bpmn", zeebe_caller("v1"))]))
    assert "no deployed version of 'vt_called' carries version tag 'v1'" in detail["message"]
    task = (
        '<bpmn:businessRuleTask id="grade"><bpmn:extensionElements>\n<zeebe:calledDecision '
        'decisionId="vt_grade" resultVariable="grade" bindingType="versionTag" versionTag="v1" />'
        "\n</bpmn:extensionElements></bpmn:businessRuleTask>"
    )
    rules = definitions(ZEEBE, chain("vt_rules", task, '<bpmn:userTask id="after" />'))
    (detail,) = refused(owner.upload(extra=[("rules.bpmn", rules)]))
    assert "no deployed version of 'vt_grade' carries version tag 'v1'" in detail["message"]

    # as the refusals ask: the tagged versions deployed (again, the same files)
    again = owner.upload(extra=[("called_one.bpmn", called("one", "v1"))])
    assert again.status_code == 200, again.get_json()  # identical content: no new version
    assert owner.upload(extra=dmn).status_code == 200
    (model,) = [m for m in owner.models() if m["process_id"] == "vt_called"]
    assert (model["versions"], model["version_tags"]) == ([1], ["v1"])

    deployed(owner, "caller.bpmn", zeebe_caller("v1"))
    agent.start("vt_caller")
    assert [t["name"] for t in agent.tasks()] == ["work_one"]
    deployed(owner, "rules.bpmn", rules)
    assert agent.start("vt_rules", {"amount": 5})["data"]["grade"] == "A"
