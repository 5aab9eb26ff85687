"""Script tasks written for the Java engines (Camunda 7, Flowable, Activiti) in JavaScript or
Groovy: Dialflow runs Python only and refuses them at deploy, one problem per script on its
element and line. A script made of assignments, ``execution.setVariable`` and one-line ``if``
blocks is shown in Python (the refusal's Python, pasted in, runs); it was also said a second
time as a Python syntax error ("invalid syntax: 'var s = 10;'")."""

from __future__ import annotations

import pytest

from engine.script_hints import python_for
from tests.engine.conftest import Actor, by_element, refused

SCORE_JS = """var s = 10;
if (execution.getVariable("source") == "referral") { s = s + 20; }
execution.setVariable("score", s);"""
TAG_GROOVY = """// hot leads go first
def hot = score &gt; 20 &amp;&amp; !optedOut
execution.setVariable("hot", hot)"""
LOOP_JS = """for (var i = 0; i &lt; 3; i++) { tries = tries + 1; }"""


def camunda_diagram(process_id: str, scripts: list[tuple[str, str, str]]) -> bytes:
    """Start → the script tasks, in order (id, scriptFormat, script) → a user task → end, as
    Camunda Modeler 5 writes a Camunda 7 diagram."""
    ids = [script_id for script_id, _format, _script in scripts] + ["review"]
    body = ['<bpmn:startEvent id="start" />']
    for script_id, script_format, script in scripts:
        body.append(
            f'<bpmn:scriptTask id="{script_id}" name="{script_id}" '
            f'scriptFormat="{script_format}">\n<bpmn:script>{script}</bpmn:script>\n'
            "</bpmn:scriptTask>"
        )
    body.append('<bpmn:userTask id="review" name="Review the lead" />')
    body.append('<bpmn:endEvent id="end" />')
    for number, (source, target) in enumerate(zip(["start", *ids], [*ids, "end"], strict=True)):
        body.append(
            f'<bpmn:sequenceFlow id="f{number}" sourceRef="{source}" targetRef="{target}" />'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
        'exporterVersion="5.20.0">\n'
        f'<bpmn:process id="{process_id}" isExecutable="true">\n'
        + "\n".join(body)
        + "\n</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def test_javascript_and_groovy_scripts_are_refused_once_each_with_their_python(
    owner: Actor,
) -> None:
    content = camunda_diagram(
        "lead_scoring_js",
        [
            ("score", "javascript", SCORE_JS),
            ("tag", "groovy", TAG_GROOVY),
            ("loop", "JavaScript", LOOP_JS),
        ],
    )
    details = refused(owner.upload(extra=[("lead_scoring_js.bpmn", content)]))
    said = by_element(details)
    assert set(said) == {"score", "tag", "loop"}, details
    assert len(details) == 3, details  # no second "syntax error" problem per script
    assert all(detail["line"] for detail in details), details
    assert 'if source == "referral":\n    s = s + 20\nscore = s' in said["score"]
    assert "hot = score > 20 and not optedOut" in said["tag"]
    assert "# hot leads go first" in said["tag"]
    assert "rewrite it in Python" in said["loop"] and "in Python it reads" not in said["loop"]


def test_the_python_a_refusal_shows_runs_as_the_script_meant(owner: Actor, agent: Actor) -> None:
    scores = {}
    for source in ("referral", "cold_list"):
        python = python_for(SCORE_JS)
        assert python is not None
        content = camunda_diagram("lead_scoring_py", [("score", "python", python)])
        response = owner.upload(extra=[("lead_scoring_py.bpmn", content)])
        assert response.status_code in (200, 201), response.get_data(as_text=True)
        started = agent.start("lead_scoring_py", {"source": source})
        scores[source] = agent.instance(started["id"])["data"]["score"]
    assert scores == {"referral": 30, "cold_list": 10}


def test_scripts_beyond_assignments_get_no_translation() -> None:
    assert python_for("var d = new Date(); execution.setVariable('when', d);") is None
    assert python_for('println "hello"') is None
    assert python_for("if (x) {\n  s = 1;\n}") is None
    assert python_for("// only a comment") is None


@pytest.mark.parametrize(
    ("script", "script_format", "means"),
    [
        ('var label = "lead " + score;', "javascript", '"lead 7", Python: TypeError'),
        ('var doubled = "5" * 2;', "javascript", '10, Python: "55"'),
        ("var parity = tries % 2;", "javascript", "-1 for -7, Python: 1"),
        ('def greeting = "Hello ${name}"', "groovy", "the name's value, Python: ${name}"),
        ("var lead = {source: 1};", "javascript", "the key 'source', Python: its value"),
        ("var ordered = a < b < c;", "javascript", "(a < b) < c, Python: a < b and b < c"),
        ("var s = !a == b;", "javascript", "(!a) == b, Python: not (a == b)"),
        ("int half = total / 2", "groovy", "3 for 7, Python: 3.5"),
        ("var listed = 2 in picks;", "javascript", "an index 2, Python: the value 2"),
        (
            'var amount = execution.getVariable("amount") * 2;\n'
            'execution.setVariable("gross", amount);',
            "javascript",
            "a local amount, Python: the process's amount doubled",
        ),
        ("x = 5 / 2", "ruby", "2, Python: 2.5"),
    ],
)
def test_no_python_is_suggested_where_it_would_mean_something_else(
    script: str, script_format: str, means: str
) -> None:
    assert python_for(script, script_format) is None, means


def test_semicolons_and_slashes_in_strings_and_comments_after_code_translate() -> None:
    script = 'var note = "a;b"; var url = "http://x.cn/a"; // where to call\nvar s = 1;'
    assert python_for(script) == 'note = "a;b"\nurl = "http://x.cn/a"  # where to call\ns = 1'
    assert python_for("var s = total // the sum") == "s = total  # the sum"  # no floor division
    assert python_for('var 分数 = 基础分 + 5;\nexecution.setVariable("得分", 分数);') == (
        "分数 = 基础分 + 5\n得分 = 分数"
    )
    assert python_for("def greeting = 'Hello ${name}'", "Groovy") == "greeting = 'Hello ${name}'"
    assert python_for('execution.setVariable("half", execution.getVariable("x") / 2)') == (
        "half = x / 2"
    )


def test_a_refusal_suggests_no_python_that_means_something_else(owner: Actor) -> None:
    content = camunda_diagram(
        "lead_greeting_groovy",
        [
            ("greet", "Groovy", 'def greeting = "Hello ${name}"'),
            ("late", "ECMAScript", "<![CDATA[var late = tries > 3 && !done; // give up]]>"),
            ("doubled", "text/javascript", 'var doubled = "5" * 2;'),
        ],
    )
    said = by_element(refused(owner.upload(extra=[("lead_greeting.bpmn", content)])))
    assert set(said) == {"greet", "late", "doubled"}, said
    for element in ("greet", "doubled"):
        assert "rewrite it in Python" in said[element], said[element]
        assert "in Python it reads" not in said[element], said[element]
    assert "in Python it reads:\nlate = tries > 3 and not done  # give up" in said["late"]
