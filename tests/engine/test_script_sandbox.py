"""Scripts and conditions reach only their data, the helpers and a short list of modules.

A process owner's script ran as any Python on the server: ``import os``, ``open(...)``,
``().__class__.__subclasses__()``. Now what can be seen at deploy is refused on its element
and line, and what is built at run time fails the task as an incident.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.engine.conftest import Actor
from tests.engine.test_completion_failures import NS, between, deploy


def upload(owner: Actor, process_id: str, body: str):
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" '
        'targetNamespace="http://example.com/sandbox">\n'
        f'<bpmn:process id="{process_id}" isExecutable="true">{body}</bpmn:process>\n'
        "</bpmn:definitions>\n"
    ).encode()
    return owner.upload(extra=[(f"{process_id}.bpmn", content)])


GATEWAY = (
    '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="g"/>'
    '<bpmn:exclusiveGateway id="g" default="no"/>'
    '<bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="e">'
    "<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="no" sourceRef="g" targetRef="e"/><bpmn:endEvent id="e"/>'
)


def test_imports_dunder_attributes_and_open_are_refused_at_deploy_on_their_line(owner):
    body = (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>\n'
        '<bpmn:scriptTask id="a"><bpmn:script>x = 1\nimport os\nos.system("id")'
        "</bpmn:script></bpmn:scriptTask>\n"
        '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>\n'
        '<bpmn:scriptTask id="b"><bpmn:script>k = ().__class__.__base__.__subclasses__()\n'
        "text = open('/etc/passwd').read()</bpmn:script></bpmn:scriptTask>\n"
        '<bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="g"/>\n'
        '<bpmn:exclusiveGateway id="g" default="no"/>\n'
        '<bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="e">\n'
        "<bpmn:conditionExpression>fail.__globals__ is not None</bpmn:conditionExpression>"
        '</bpmn:sequenceFlow>\n<bpmn:sequenceFlow id="no" sourceRef="g" targetRef="e"/>'
        '<bpmn:endEvent id="e"/>'
    )
    response = upload(owner, "sneaky", body)

    assert response.status_code == 422
    said = {
        (d["element_id"], d["line"], d["message"].split(" which")[0])
        for d in response.get_json()["error"]["details"]
    }
    assert said == {
        ("a", 4, "script on line 2 (line 5 of the file) imports 'os',"),
        (
            "b",
            8,
            "script on line 1 (line 8 of the file) reads the attributes "
            "'__class__', '__base__', '__subclasses__',",
        ),
        ("b", 8, "script on line 2 (line 9 of the file) calls open(),"),
        ("yes", 12, "condition of sequence flow 'yes' reads the attribute '__globals__',"),
    }
    assert "math" in response.get_json()["error"]["details"][0]["message"]


def test_a_module_imported_at_run_time_fails_as_an_incident(owner, agent):
    deploy(owner, "imports", GATEWAY.format(condition="__import__(module).getcwd() != ''"))

    started = agent.start("imports", {"module": "os"})

    assert started["status"] != "completed"
    [incident] = started["incidents"]
    assert incident["element_id"] == "g"
    assert "module 'os' is not available to scripts" in incident["message"]
    assert "math" in incident["message"]


def test_builtins_reached_at_run_time_are_not_there(owner, agent):
    """The builtins' dictionary is refused at deploy: reading ``open`` from it found nothing
    (an incident), but writing to it changed the builtins of every later script of every
    process run by the worker (``__builtins__['len'] = ...``)."""
    script = (
        "reader = getattr(__builtins__, 'op' + 'en', None) or __builtins__.get('op' + 'en')\n"
        "text = reader('/etc/passwd').read()"
    )
    body = between(
        "a", f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>', "a"
    )
    refused = upload(owner, "reader", body)
    assert refused.status_code == 422
    [detail] = refused.get_json()["error"]["details"]
    assert (detail["element_id"], detail["line"]) == ("a", 3)
    assert "uses __builtins__, which scripts may not use" in detail["message"]

    script = "__builtins__['len'] = lambda items: 0"
    body = between(
        "a", f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>', "a"
    )
    assert upload(owner, "shadow_len", body).status_code == 422

    script = "kind = getattr(now(), '__cla' + 'ss__')"
    deploy(
        owner,
        "dunder",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    [incident] = agent.start("dunder", {})["incidents"]
    assert "attribute '__class__' is not available to scripts" in incident["message"]


def test_the_listed_modules_still_import(owner, agent):
    script = (
        "import math\nfrom statistics import mean\nimport re\n"
        "root = math.sqrt(16) + mean([1, 3])\ndigits = re.sub(r'\\D', '', '138-0013')"
    )
    deploy(
        owner,
        "allowed",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    started = agent.start("allowed", {})

    assert (started["status"], started["incidents"]) == ("completed", [])
    assert started["data"]["root"] == 6.0
    assert started["data"]["digits"] == "1380013"


def test_a_literal_format_string_reading_a_dunder_attribute_is_refused_at_deploy(owner):
    """``"{0.__class__}".format(x)`` read ``__class__`` although ``x.__class__`` is refused."""
    body = (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>\n'
        '<bpmn:scriptTask id="a"><bpmn:script>x = 1\nkind = "{0.__class__}".format(x)\n'
        "mro = str.format('{0:{1.__class__.__mro__}}', x, x)</bpmn:script></bpmn:scriptTask>\n"
        '<bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="g"/>\n'
        '<bpmn:exclusiveGateway id="g" default="no"/>\n'
        '<bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="e">\n'
        "<bpmn:conditionExpression>'{v.__globals__}'.format_map({'v': fail}) != ''"
        "</bpmn:conditionExpression>"
        '</bpmn:sequenceFlow>\n<bpmn:sequenceFlow id="no" sourceRef="g" targetRef="e"/>'
        '<bpmn:endEvent id="e"/>'
    )
    response = upload(owner, "formats", body)

    assert response.status_code == 422
    said = {
        (d["element_id"], d["line"], d["message"].split(";")[0])
        for d in response.get_json()["error"]["details"]
    }
    assert said == {
        (
            "a",
            4,
            "script on line 2 (line 5 of the file) formats the field {0.__class__}, which "
            "reads the attribute '__class__'",
        ),
        (
            "a",
            4,
            "script on line 3 (line 6 of the file) formats the field {1.__class__.__mro__}, "
            "which reads the attribute '__class__'",
        ),
        (
            "yes",
            9,
            "condition of sequence flow 'yes' formats the field {v.__globals__}, which reads "
            "the attribute '__globals__'",
        ),
    }


FORMATTING = (
    "import operator\nimport string\nvalue = now()\n"
    "if how == 'format':\n    text = template.format(value, {'k': 'v'}, name='Li')\n"
    "elif how == 'format_map':\n    text = template.format_map({'v': value})\n"
    "elif how == 'str.format':\n    text = str.format(template, value)\n"
    "elif how == 'formatter':\n    text = string.Formatter().format(template, value)\n"
    "elif how == 'getattr':\n    text = getattr(template, 'format')(value)\n"
    "elif how == 'methodcaller':\n    text = operator.methodcaller('format', value)(template)\n"
    "elif how == 'attrgetter':\n    text = str(operator.attrgetter(template)(value))\n"
    "elif how == 'attrgetter format':\n    text = operator.attrgetter('format')(template)(value)"
)


def deploy_formatting(owner: Actor) -> None:
    deploy(
        owner,
        "formatting",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{FORMATTING}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )


def test_a_format_string_from_the_data_reading_a_dunder_attribute_fails_as_an_incident(
    owner, agent
):
    """A template that comes from the data cannot be seen at deploy: formatting it with a
    field that reads ``__class__`` (or ``__globals__`` through a format spec) fails the task,
    by every way a script can format it."""
    deploy_formatting(owner)
    for how, template, attribute in (
        ("format", "{0.__class__.__mro__}", "__class__"),
        ("format_map", "{v.__class__}", "__class__"),
        ("str.format", "{0.__class__}", "__class__"),
        ("formatter", "{0.__class__}", "__class__"),
        ("getattr", "{0:{0.__globals__}}", "__globals__"),
        ("methodcaller", "{0.__class__}", "__class__"),
        ("attrgetter", "__class__", "__class__"),
        ("attrgetter format", "{0.__class__}", "__class__"),
    ):
        started = agent.start("formatting", {"how": how, "template": template})
        assert started["status"] == "error", (how, started["data"])
        [incident] = started["incidents"]
        assert incident["element_id"] == "a"
        assert f"attribute '{attribute}' is not available to scripts" in incident["message"], how
        assert "text" not in started["data"]


def test_format_strings_without_dunder_fields_still_format(owner, agent):
    """Regression guard (this worked before): positional, named, attribute, index and
    alignment fields format by every way a script can format them."""
    deploy_formatting(owner)
    year = str(datetime.now(UTC).year)
    for how, template, text in (
        ("format", "{0.year}|{0.year:>6}|{1[k]}|{name}|{name:>4}", f"{year}|  {year}|v|Li|  Li"),
        ("format_map", "{v.year}-{v.tzinfo}", f"{year}-UTC"),
        ("str.format", "[{.year:>6}]", f"[  {year}]"),
        ("formatter", "{0.year}", year),
        ("getattr", "{0.year}", year),
        ("methodcaller", "{0.year}", year),
        ("attrgetter", "year", year),
        ("attrgetter format", "{0.year}", year),
    ):
        started = agent.start("formatting", {"how": how, "template": template})
        assert (started["status"], started["incidents"]) == ("completed", []), (
            how,
            [i["message"] for i in started["incidents"]],
        )
        assert started["data"]["text"] == text, how


def test_dates_format_and_parse_with_strftime_and_strptime(owner, agent):
    """``now().strftime(...)``, ``"{0:%Y}".format(...)`` and ``datetime.strptime`` failed the
    script with "module 'time' is not available": Python's datetime imports ``time`` and
    ``_strptime`` through the script's ``__import__``. A script importing ``time`` itself gets
    nothing of it."""
    script = (
        "stamp = parse_time('2026-05-04T09:30:00+08:00')\n"
        "day = stamp.strftime('%d.%m.%Y %H:%M')\n"
        "year = '{0:%Y}'.format(stamp)\n"
        "parsed = datetime.strptime('04/05/2026', '%d/%m/%Y').date().isoformat()\n"
        "sleeps = hasattr(__import__('ti' + 'me'), 'sleep')"
    )
    deploy(
        owner,
        "dates",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    started = agent.start("dates", {})

    assert (started["status"], started["incidents"]) == ("completed", [])
    data = started["data"]
    assert (data["day"], data["year"], data["parsed"]) == ("04.05.2026 09:30", "2026", "2026-05-04")
    assert data["sleeps"] is False


def test_a_script_that_formats_still_fails_on_its_own_line(owner, agent):
    """Regression guard for the rewritten ``.format`` reads: a script that formats and then
    fails is still told on the line that failed, with Python's own words."""
    script = "label = '{0}: {1}'.format('call', 1)\n\ntotal = 10 / count\nnote = label"
    deploy(
        owner,
        "formats_then_fails",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    [incident] = agent.start("formats_then_fails", {"count": 0})["incidents"]

    assert incident["element_id"] == "a"
    assert incident["line"] == 3, incident
    assert "division by zero" in incident["message"]


def test_frames_and_private_attributes_are_refused_at_deploy_on_their_line(owner):
    """A generator's frame led to the frame that ran the script and to the real builtins
    (``gen.gi_frame.f_back.f_back.f_globals``), and a module's object kept another module in
    a private attribute (``warnings.catch_warnings()._module.sys``): both ran ``os``."""
    script = (
        "def calls():\n    yield seen.gi_frame.f_back\nseen = calls()\n"
        "import warnings\nsystem = warnings.catch_warnings()._module.sys\n"
        "label = '{0.f_globals}'.format(next(seen))"
    )
    body = between(
        "a", f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>', "a"
    )
    response = upload(owner, "frames", body)

    assert response.status_code == 422
    said = {
        (d["line"], d["message"].split(";")[0]) for d in response.get_json()["error"]["details"]
    }
    assert said == {
        (
            3,
            "script on line 2 (line 4 of the file) reads the attributes 'gi_frame', 'f_back', "
            "which scripts may not use: read the data and the helpers' values instead",
        ),
        (
            3,
            "script on line 5 (line 7 of the file) reads the attribute '_module', which "
            "scripts may not use: read the data and the helpers' values instead",
        ),
        (
            3,
            "script on line 6 (line 8 of the file) formats the field {0.f_globals}, which "
            "reads the attribute 'f_globals'",
        ),
    }


ESCAPES = (
    "import collections\nimport operator\nimport string\nvalue = now()\n"
    "def calls():\n    yield 1\n"
    "class Text(str):\n    pass\n"
    "if how == 'frame':\n    text = str(getattr(calls(), name))\n"
    "elif how == 'private':\n    text = str(getattr(collections.Counter(), name))\n"
    "elif how == 'attrgetter type':\n"
    "    text = str(type(operator.attrgetter('year'))(name)(value))\n"
    "elif how == 'methodcaller type':\n"
    "    text = str(type(operator.methodcaller('isoformat'))(name)(value))\n"
    "elif how == 'formatter base':\n"
    "    base = [kind for kind in string.Formatter.mro() if kind is not object][-1]\n"
    "    text = base().format(name, value)\n"
    "elif how == 'super':\n    text = super(Text, Text(name)).format(value)\n"
    "elif how == 'UserString':\n    text = collections.UserString(name).format(value)"
)


def test_the_unchecked_readers_behind_the_checks_fail_as_incidents(owner, agent):
    """Names built at run time reached what the checks guard: a generator's frame, a private
    attribute, the real ``attrgetter``/``methodcaller`` (the type of what the checked ones
    returned), the real ``string.Formatter`` (the base of the checked one), and ``str.format``
    bound through ``super()`` or run by ``collections.UserString``. Each fails the task."""
    deploy(
        owner,
        "escapes",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{ESCAPES}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    for how, name, said in (
        ("frame", "gi_frame", "attribute 'gi_frame' is not available to scripts"),
        ("private", "_keep_positive", "attribute '_keep_positive' is not available"),
        ("attrgetter type", "__class__", ""),
        ("methodcaller type", "__reduce__", ""),
        ("formatter base", "{0.__class__}", "attribute '__class__' is not available"),
        ("super", "{0.__class__}", "attribute '__class__' is not available"),
        ("UserString", "{0.__class__}", "attribute '__class__' is not available"),
    ):
        started = agent.start("escapes", {"how": how, "name": name})
        assert started["status"] == "error", (how, started["data"])
        [incident] = started["incidents"]
        assert said in incident["message"], (how, incident["message"])
        assert "text" not in started["data"], how


def test_scripts_with_classes_generators_and_named_tuples_still_run(owner, agent):
    """Regression guard (this worked before): what telesales scripts write — classes,
    generators, named tuples' ``_asdict``, a ``string.Formatter`` of their own, f-strings
    with ``!r``, ``UserString`` — runs as before."""
    script = (
        "import collections\nimport json\nimport string\n"
        "Call = collections.namedtuple('Call', ['phone', 'minutes'])\n"
        "class Tally:\n    def __init__(self):\n        self.total = 0\n"
        "    def add(self, call):\n        self.total += call.minutes\n        return self\n"
        "def calls():\n    for phone, minutes in [('138', 3), ('139', 4)]:\n"
        "        yield Call(phone, minutes)\n"
        "tally = Tally()\nrows = [tally.add(call) and call._asdict() for call in calls()]\n"
        "class Upper(string.Formatter):\n"
        "    def format_field(self, value, spec):\n        return str(value).upper()\n"
        "label = Upper().format('{0}-{1!r}', 'li', 2) + f'|{tally.total!r:>4}|'\n"
        "label += collections.UserString('{0}').format('ok')\n"
        "payload = json.dumps(rows)\ndel tally"
    )
    deploy(
        owner,
        "tally",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    started = agent.start("tally", {})

    assert (started["status"], started["incidents"]) == ("completed", []), [
        i["message"] for i in started["incidents"]
    ]
    assert started["data"]["label"] == "LI-2|   7|ok"
    assert started["data"]["rows"] == [
        {"phone": "138", "minutes": 3},
        {"phone": "139", "minutes": 4},
    ]


@pytest.mark.filterwarnings("ignore:Lead .* has no phone")
def test_a_script_cannot_change_a_module_or_the_warnings_for_the_scripts_after_it(owner, agent):
    """The modules scripts import are one object per worker: ``math.tau = 0`` in one script
    changed ``math.tau`` for every later script of every process, and
    ``warnings.simplefilter("error")`` turned every warning of the server into an exception.
    Seen at deploy, the change is refused on its line; built at run time, it is an incident
    and the next script sees the module as it was."""
    script = "import math as m\nm.tau = 0\ndel m.pi"
    body = between(
        "a", f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>', "a"
    )
    refused = upload(owner, "changes_math", body)
    assert refused.status_code == 422
    assert [d["message"].split(",")[0] for d in refused.get_json()["error"]["details"]] == [
        "script on line 2 (line 4 of the file) changes m.tau",
        "script on line 3 (line 5 of the file) changes m.pi",
    ]

    script = (
        "import math\nimport warnings\n"
        "if how == 'module':\n    setattr(math, 'tau', 0)\n"
        "elif how == 'warnings':\n    getattr(warnings, 'simple' + 'filter')('error')\n"
        "warnings.warn('Lead ' + how + ' has no phone')\ntau = math.tau"
    )
    deploy(
        owner,
        "changes",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    for how, said in (
        ("module", "module 'math' cannot be changed by scripts"),
        ("warnings", "warnings.simplefilter() is not available to scripts"),
    ):
        [incident] = agent.start("changes", {"how": how})["incidents"]
        assert said in incident["message"], incident["message"]

        after = agent.start("changes", {"how": "nothing"})
        assert (after["status"], after["incidents"]) == ("completed", []), how
        assert after["data"]["tau"] == 6.283185307179586


def test_format_written_with_a_full_width_letter_is_checked_too(owner, agent):
    """Python reads ``template.ｆormat`` (a full-width "f") as ``template.format``, and the
    scripts whose text did not hold the word "format" ran unchecked: a template from the
    data read ``__class__`` and ``__mro__``. It fails the task as ``.format`` does."""
    script = "text = template.\uff46ormat(value)"
    deploy(
        owner,
        "wide_format",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    started = agent.start("wide_format", {"template": "{0.__class__.__mro__}", "value": 1})
    assert started["status"] == "error", started["data"]
    [incident] = started["incidents"]
    assert "attribute '__class__' is not available to scripts" in incident["message"]
    assert "text" not in started["data"]

    fine = agent.start("wide_format", {"template": "{0:>4}", "value": 7})
    assert (fine["status"], fine["data"]["text"]) == ("completed", "   7")


SHARED_STATE = (
    "import calendar\nimport collections\nimport decimal\nimport random\nimport zoneinfo\n"
    "if how == 'class':\n"
    "    collections.Counter.most_common = lambda self, n=None: []\n"
    "elif how == 'precision':\n    decimal.getcontext().prec = 2\n"
    "elif how == 'template context':\n    decimal.DefaultContext.prec = 2\n"
    "elif how == 'first weekday':\n    calendar.setfirstweekday(6)\n"
    "elif how == 'seed':\n    random.seed(1)\n"
    "elif how == 'zone path':\n    zoneinfo.reset_tzpath(['/nowhere'])\n"
    "third = str(decimal.Decimal(1) / decimal.Decimal(3))\n"
    "top = collections.Counter('aab').most_common(1)[0][0]\n"
    "weekday = calendar.firstweekday()\nprecision = decimal.DefaultContext.prec\n"
    "berlin = str(zoneinfo.ZoneInfo.no_cache('Europe/Berlin'))\n"
    "class Tally:\n    pass\nTally.calls = 1\nTally.calls += 1\ncalls = Tally.calls"
)


def test_a_script_cannot_change_the_servers_classes_or_settings(owner, agent):
    """A script changed what the server itself uses: a class of a module scripts import
    (``collections.Counter.most_common = ...``; ``json.JSONEncoder.encode`` the same way
    changed every JSON answer), the thread's decimal precision, the first day of the week of
    every calendar, the seed of every random number, and where time zones are read from.
    Each is now refused as an incident or kept to the script, and the next script finds them
    as they were; a script's own class still changes."""
    deploy(
        owner,
        "shared_state",
        between(
            "a",
            f'<bpmn:scriptTask id="a"><bpmn:script>{SHARED_STATE}</bpmn:script></bpmn:scriptTask>',
            "a",
        ),
    )
    for how, said in (
        ("class", "Counter.most_common cannot be changed by scripts"),
        ("precision", None),
        ("template context", "Context.prec cannot be changed by scripts"),
        ("first weekday", "calendar.setfirstweekday() is not available to scripts"),
        ("seed", "random.seed() is not available to scripts"),
        ("zone path", "zoneinfo.reset_tzpath() is not available to scripts"),
    ):
        started = agent.start("shared_state", {"how": how})
        if said is None:  # kept to the script itself
            assert (started["status"], started["incidents"]) == ("completed", []), how
        else:
            [incident] = started["incidents"]
            assert said in incident["message"], (how, incident["message"])

        after = agent.start("shared_state", {"how": "nothing"})
        assert (after["status"], after["incidents"]) == ("completed", []), how
        assert after["data"]["third"] == "0." + "3" * 28, how
        assert (after["data"]["top"], after["data"]["weekday"]) == ("a", 0), how
        assert (after["data"]["precision"], after["data"]["calls"]) == (28, 2), how
        assert after["data"]["berlin"] == "Europe/Berlin", how
