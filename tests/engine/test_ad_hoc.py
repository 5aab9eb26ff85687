"""Ad-hoc subprocesses are refused at deploy: SpiffWorkflow 3.2 fails one as soon as it
starts (``KeyError: 'data_objects'`` in its own completion handling), even with the
completion condition it needs, so such a diagram used to deploy and then stop every instance
in an incident at its first step."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from engine.models import ProcessVersion
from tests.engine.conftest import Actor, by_element, one_process, refused

BODY = """
    <startEvent id="start"/>
    <adHocSubProcess id="extra_work" name="Extras">
      <userTask id="mail" name="Send the brochure"/>
      <userTask id="visit" name="Book a visit"/>
      <completionCondition>enough</completionCondition>
    </adHocSubProcess>
    <userTask id="close" name="Close the case"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="extra_work"/>
    <sequenceFlow id="f2" sourceRef="extra_work" targetRef="close"/>
    <sequenceFlow id="f3" sourceRef="close" targetRef="end"/>
"""


def test_an_ad_hoc_subprocess_with_a_completion_condition_is_refused_on_its_line(
    owner: Actor, db: Any
) -> None:
    content = one_process("extras", BODY)
    details = refused(owner.upload(extra=[("extras.bpmn", content)]))
    found = by_element(details)
    assert set(found) == {"extra_work"}, details
    assert "ad-hoc subprocesses are not supported" in found["extra_work"]
    assert "inclusive gateway" in found["extra_work"]  # the way to draw it instead
    (detail,) = details
    lines = content.decode().splitlines()
    assert lines[detail["line"] - 1].strip().startswith('<adHocSubProcess id="extra_work"')
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 0
