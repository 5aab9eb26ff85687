"""Regular expressions in Python scripts stop at the time limit FEEL's ``matches`` has.

Before: a script's ``import re`` was Python's ``re``, which runs in C where the step's time
limit cannot reach, so ``re.match(r"(a|aa)+$", "a" * 40 + "b")`` tried 2^40 ways and held
the step and its worker for hours. Now the search gives up after ``PATTERN_SECONDS`` and the
task has a ``pattern_timeout`` incident naming the pattern, as FEEL's ``matches`` does; a
retry after a fix runs it again.
"""

from __future__ import annotations

import time

import pytest

from tests.engine.conftest import Actor
from tests.engine.test_completion_failures import between, deploy


def _scripted(owner: Actor, process_id: str, script: str) -> None:
    body = f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
    deploy(owner, process_id, between("a", body, "a"))


@pytest.mark.parametrize(
    "script",
    [
        'import re\nfound = re.match(r"(a|aa)+$", text) is not None',
        'import re\nfound = bool(re.compile(r"(a|aa)+$").findall(text))',
    ],
    ids=["function", "compiled"],
)
def test_a_scripts_pattern_that_backtracks_without_end_is_an_incident_within_seconds(
    owner: Actor, agent: Actor, script: str
) -> None:
    _scripted(owner, "script_pattern", script)
    began = time.monotonic()
    stopped = agent.start("script_pattern", {"text": "a" * 40 + "b"})
    spent = time.monotonic() - began
    (incident,) = stopped["incidents"]
    assert (stopped["status"], incident["element_id"]) == ("error", "a"), incident
    assert incident["kind"] == "pattern_timeout", incident
    assert "(a|aa)+$" in incident["message"] and "retry" in incident["message"], incident
    assert spent < 8, f"{spent:.1f} s"  # 0.5 s of search on a loaded machine; it was hours

    url = f"/api/v1/process-instances/{stopped['id']}/retry"
    retried = owner.post(url, json={"data": {"text": "aaaa"}})
    assert retried.status_code == 200, retried.get_json()
    assert (retried.get_json()["status"], retried.get_json()["data"]["found"]) == (
        "completed",
        True,
    )


EVERYDAY = r"""import re
phone = re.sub(r"\D", "", "+86 138-0013-8000")
parts = list(re.match(r"(\w+)@(\w+)\.com", "li@example.com").groups())
named = re.search(r"(?P<area>\d{3})-(?P<rest>\d+)", "call 010-5555").groupdict()
tags = re.split(r",\s*", "vip, east,new")
digits = re.findall(r"\d+", "a1b22c333")
loud = bool(re.fullmatch("vip", "VIP", re.I))
lines = re.findall(r"^\w", "a\nb", re.M | re.I)
masked = re.compile(r"(\d{3})\d{4}(\d{4})").sub(r"\1****\2", "13800138000")
counted = re.subn("a", "o", "banana")[1]
doubled = re.sub(r"\d", lambda m: m.group() * 2, "a1b2")
spans = [m.span() for m in re.finditer(r"\d+", "1 22 333")]
escaped = re.escape("1+1")
try:
    re.compile("(")
    broken = False
except re.error:
    broken = True
"""


def test_ordinary_re_in_a_script_still_works(owner: Actor, agent: Actor) -> None:
    """Passes on the old code too: the everyday uses behave as Python's ``re`` did."""
    _scripted(owner, "script_re", EVERYDAY.replace("&", "&amp;").replace("<", "&lt;"))
    done = agent.start("script_re", {})
    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    data = done["data"]
    assert data["phone"] == "8613800138000"
    assert data["parts"] == ["li", "example"]
    assert data["named"] == {"area": "010", "rest": "5555"}
    assert data["tags"] == ["vip", "east", "new"]
    assert data["digits"] == ["1", "22", "333"]
    assert (data["loud"], data["lines"]) == (True, ["a", "b"])
    assert data["masked"] == "138****8000"
    assert (data["counted"], data["doubled"]) == (3, "a11b22")
    assert data["spans"] == [[0, 1], [2, 4], [5, 8]]
    assert (data["escaped"], data["broken"]) == ("1\\+1", True)
