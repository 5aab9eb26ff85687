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


BACKTRACKS = 'P = r"(a|aa)+$"\nimport re\n'
# Routes to a compiled pattern other than ``re``'s functions: each searched with no limit.
ROUTES = {
    "match.re.search": "found = re.match(P, 'a').re.search(text)",
    "match.re.sub": "found = re.match(P, 'a').re.sub('', text)",
    "match.re.findall": "found = re.fullmatch(P, 'a').re.findall(text)",
    "match.re.finditer": "found = list(re.search(P, 'a').re.finditer(text))",
    "finditer-match.re": "found = next(re.finditer(P, 'a')).re.split(text)",
    "sub-function-match.re": "found = re.sub(P, lambda m: str(m.re.subn('', text)), 'a')",
    "compiled.scanner": "found = re.compile(P).scanner(text).search()",
    "scanner.pattern": "found = re.compile(P).scanner('a').pattern.match(text)",
}


@pytest.mark.parametrize("route", list(ROUTES.values()), ids=list(ROUTES))
def test_every_route_to_a_compiled_pattern_stops_at_the_time_limit(
    owner: Actor, agent: Actor, route: str
) -> None:
    """A match's ``re`` was ``regex``'s own pattern and searched with no limit: a script
    reaching it from any match (``finditer``'s, a ``sub`` function's) held the worker for
    hours, as ``re`` did. ``scanner`` was missing, as ``re`` has it."""
    _scripted(owner, "pattern_route", BACKTRACKS + route)
    began = time.monotonic()
    stopped = agent.start("pattern_route", {"text": "a" * 40 + "b"})
    spent = time.monotonic() - began
    assert stopped["status"] == "error", stopped
    (incident,) = stopped["incidents"]
    assert incident["kind"] == "pattern_timeout", incident
    assert "(a|aa)+$" in incident["message"], incident
    assert spent < 8, f"{spent:.1f} s"


THROUGH_MATCHES = r"""import re
m = re.search(r"(\d+)-(\d+)", "call 010-5555 now")
again = m.re.sub(r"\2-\1", "010-5555")
same = m.re == re.compile(r"(\d+)-(\d+)") and m.re.pattern == r"(\d+)-(\d+)"
kinds = isinstance(m, re.Match) and isinstance(m.re, re.Pattern)
shown = [repr(m), repr(m.re)]
parts = [m[1], m.group(2), m.start(2), m.end(), list(m.span(1)), m.lastindex, m.string]
template = m.expand(r"\2/\1")
spans = [list(f.re.search("x 1-2").span()) for f in re.finditer(r"(\d+)-(\d+)", "1-2 3-4")]
scanned = []
s = re.compile(r"\d").scanner("a1b2")
while (f := s.search()) is not None:
    scanned.append(f.group())
named = re.sub(r"(?P<d>\d)", lambda f: f.re.pattern[:3] + f["d"], "a1")
try:
    re.Pattern("x")
    made = True
except TypeError:
    made = False
del m, s, f  # kept, they would fail the task: the instance's data holds no match
"""


def test_matches_and_patterns_reached_through_a_match_answer_as_re_s(
    owner: Actor, agent: Actor
) -> None:
    """A match's ``re``, a scanner and the matches a ``sub`` function is given work as
    ``re``'s do (``m.re`` compared equal to no ``re.compile`` before, nor was an
    ``re.Match``)."""
    _scripted(owner, "match_re", THROUGH_MATCHES.replace("&", "&amp;").replace("<", "&lt;"))
    done = agent.start("match_re", {})
    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    data = done["data"]
    assert data["again"] == "5555-010"
    assert (data["same"], data["kinds"]) == (True, True)
    assert data["shown"] == [
        "<re.Match object; span=(5, 13), match='010-5555'>",
        "re.compile('(\\\\d+)-(\\\\d+)')",
    ]
    assert data["parts"] == ["010", "5555", 9, 13, [5, 8], 2, "call 010-5555 now"]
    assert data["template"] == "5555/010"
    assert data["spans"] == [[2, 5], [2, 5]]
    assert data["scanned"] == ["1", "2"]
    assert (data["named"], data["made"]) == ("a(?P1", False)


# ``string.Template`` compiles a subclass's pattern itself: with ``re``, searched unlimited.
TEMPLATES = {
    "pattern": (
        "class T(string.Template):\n"
        "    pattern = r'(?P<escaped>(a|aa)+$)|(?P<named>x)|(?P<braced>y)|(?P<invalid>z)'\n"
        "found = T.pattern.search(text)"
    ),
    "idpattern": (
        "class T(string.Template):\n    idpattern = r'(a|aa)+$'\nfound = T('$' + text).substitute()"
    ),
}


@pytest.mark.parametrize("route", list(TEMPLATES.values()), ids=list(TEMPLATES))
def test_a_template_subclass_pattern_stops_at_the_time_limit(
    owner: Actor, agent: Actor, route: str
) -> None:
    """A script's ``string.Template`` subclass had its ``pattern`` (or the one its
    ``idpattern`` makes) compiled by Python's ``re``: ``T.pattern.search(text)`` and
    ``T(text).substitute()`` searched with no limit and held the worker for hours."""
    _scripted(owner, "template_route", ("import string\n" + route).replace("<", "&lt;"))
    began = time.monotonic()
    stopped = agent.start("template_route", {"text": "a" * 40 + "b"})
    spent = time.monotonic() - began
    assert stopped["status"] == "error", stopped
    (incident,) = stopped["incidents"]
    assert incident["kind"] == "pattern_timeout", incident
    assert "(a|aa)+$" in incident["message"], incident
    assert spent < 8, f"{spent:.1f} s"


TEMPLATING = """import string
paid = string.Template("$who pays ${amount} $$").substitute(who="Li", amount=5)
kept = string.Template("$who $x").safe_substitute({"who": "Li"})
class Percent(string.Template):
    delimiter = "%"
percent = Percent("%name!").substitute(name="Wang")
names = string.Template("$a ${b} $$").get_identifiers()
valid = [string.Template("$a").is_valid(), string.Template("$").is_valid()]
try:
    string.Template("x $ y").substitute()
except ValueError as exc:
    invalid = str(exc)
try:
    string.Template.delimiter = "#"
    shared = "changed"
except Exception:
    shared = "refused"
"""


def test_string_template_in_a_script_still_works(owner: Actor, agent: Actor) -> None:
    """Passes on the old code too: ``string.Template`` and its subclasses substitute as
    Python's do, and the class every script shares cannot be changed by one."""
    _scripted(owner, "script_template", TEMPLATING)
    done = agent.start("script_template", {})
    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    data = done["data"]
    assert (data["paid"], data["kept"], data["percent"]) == ("Li pays 5 $", "Li $x", "Wang!")
    assert (data["names"], data["valid"]) == (["a", "b"], [True, False])
    assert data["invalid"] == "Invalid placeholder in string: line 1, col 3"
    assert data["shared"] == "refused"
