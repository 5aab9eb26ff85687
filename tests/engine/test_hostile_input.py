"""Hostile and malformed deploy input through the API and the modeler's deploy: each refusal a
coded JSON error that leaks no file, stores nothing and leaves what was deployed running; each
file an XML reader would read (a byte-order mark, a declared encoding) read as it would."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.forms import validate_form_data
from engine.models import ModelBundle, ProcessVersion
from engine.validation import parse_bundle
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import DIAGRAMS, Actor, refused
from tests.timing import collector_paused

GOOD = (DIAGRAMS / "unseen" / "camunda7_callback.bpmn").read_bytes()
BODY = GOOD.split(b"?>", 1)[1]  # without the XML declaration
CALL_NOTE = (DIAGRAMS / "call_note.bpmn").read_bytes()
SECRET = "ZX-SECRET-CONTENT-42"


def upload(actor: Actor, files: list[tuple[str, bytes]], url: str = "/api/v1/process-models"):
    return actor.post(
        url,
        data={"file": [(BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data",
    )


def renamed(name: str) -> bytes:
    """GOOD whose process is called ``name`` (another content, so another version)."""
    return GOOD.replace(b'name="Callback outcome"', f'name="{name}"'.encode())


@pytest.fixture
def deployed_before(owner: Actor) -> list[dict[str, Any]]:
    response = upload(owner, [("callback.bpmn", GOOD)])
    assert response.status_code == 201, response.get_json()
    return owner.models()


def assert_unchanged(owner: Actor, db: Any, before: list[dict[str, Any]]) -> None:
    """Nothing new stored, and the version deployed before still runs."""
    assert owner.models() == before
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 1
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 1
    done = owner.start("c7_callback_outcome", {"outcome": "interested"})
    assert done["data"]["temperature"] == "hot"


def process_name(owner: Actor, process_id: str = "c7_callback_outcome") -> str:
    return next(m["name"] for m in owner.models() if m["process_id"] == process_id)


# -- DTDs and entities -----------------------------------------------------------------------


@pytest.fixture
def secret_dtd(tmp_path) -> str:
    """A local DTD that, if it were ever read, would put SECRET into the diagram."""
    path = tmp_path / "secret.dtd"
    path.write_text(f'<!ENTITY leak "{SECRET}">')
    return path.as_uri()


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE d [<!ENTITY % p SYSTEM "{dtd}"> %p;]>',
        '<!DOCTYPE bpmn:definitions SYSTEM "{dtd}">',
        '<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '<!DOCTYPE d [<!ENTITY leak "Callback outcome">]>',
        '<!DOCTYPE d [<!ENTITY leak "lol"><!ENTITY b "&leak;&leak;&leak;&leak;&leak;">]>',
    ],
    ids=["parameter-entity", "external-dtd-file", "external-dtd-url", "internal-entity", "unused"],
)
def test_a_doctype_is_refused_and_nothing_it_names_is_read(
    owner, db, deployed_before, secret_dtd, prolog
):
    """A DOCTYPE deployed: a parameter entity to a file or an external DTD was silently not
    read, an attribute naming its entity came out empty, an internal entity was expanded in
    attributes (not in the modeler), and entity bombs were stored for any later reader."""
    xml = (
        b'<?xml version="1.0"?>\n'
        + prolog.format(dtd=secret_dtd).encode()
        + BODY.replace(b'name="Mark hot"', b'name="&leak;"')
    )
    for url in ("/api/v1/process-models/validate", "/api/v1/process-models"):
        response = upload(owner, [("dtd.bpmn", xml)], url)
        (detail,) = refused(response)
        assert "<!DOCTYPE>" in detail["message"] and detail["line"] == 2, detail
        assert SECRET not in response.get_data(as_text=True)
    assert_unchanged(owner, db, deployed_before)


def test_a_version_stored_with_a_doctype_still_loads():
    """Deploys took DOCTYPEs before: such a stored version must still be parsed to run."""
    xml = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY co "Callback">]>' + BODY.decode()
    parsed = parse_bundle({"old.bpmn": xml}, {}, validate=False)
    assert list(parsed.specs) == ["c7_callback_outcome"]


LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (b"" if i == 2 else b"%d" % (i - 1))) * 10)
        for i in range(2, 10)
    )
    + b"]>\n"
    + BODY.replace(b'name="Callback outcome"', b'name="&lol9;"')
)
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]>'
    + BODY.replace(b'name="Callback outcome"', b'name="' + b"&a;" * 50_000 + b'"')
)


@pytest.mark.parametrize("content", [LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic"])
def test_entity_bombs_are_refused_at_once_in_plain_words(owner, db, deployed_before, content):
    started = time.perf_counter()
    (detail,) = refused(upload(owner, [("bomb.bpmn", content)]))
    assert time.perf_counter() - started < 2
    assert "billion laughs" in detail["message"], detail
    assert "xmlCtxtSetMaxAmplification" not in detail["message"]  # libxml2's own API
    assert_unchanged(owner, db, deployed_before)


# -- encodings ---------------------------------------------------------------------------------

CHINESE = GOOD.replace(b'encoding="UTF-8"', b'encoding="{enc}"').replace(
    b"Callback outcome", "回访结果".encode()
)


def declared(encoding: str) -> str:
    return CHINESE.decode().replace("{enc}", encoding)


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe" + declared("UTF-16").encode("utf-16-le"),
        b"\xfe\xff" + declared("UTF-16").encode("utf-16-be"),
        declared("GBK").encode("gbk"),
        declared("GB18030").encode("gb18030"),
        b"\xef\xbb\xbf" + declared("UTF-8").encode(),
    ],
    ids=["utf16-le-bom", "utf16-be-bom", "gbk-declared", "gb18030-declared", "utf8-bom"],
)
def test_files_in_the_encoding_they_declare_deploy_with_their_names(owner, content):
    """UTF-16 with its byte-order mark and GBK as declared were refused as "not UTF-8"."""
    response = upload(owner, [("gbk.bpmn", content)])
    assert response.status_code == 201, response.get_json()
    assert process_name(owner) == "回访结果"
    stored = owner.get("/api/v1/process-models/c7_callback_outcome/versions/1/bpmn")
    text = stored.get_data(as_text=True)
    assert "回访结果" in text and 'encoding="UTF-8"' in text[:60]
    assert (
        owner.start("c7_callback_outcome", {"outcome": "not_now"})["data"]["temperature"] == "cold"
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (declared("ISO-8859-1").encode(), "but its text is UTF-8"),
        (declared("GBK").encode(), "but its text is UTF-8"),
        (declared("UTF-16").encode(), "no UTF-16 byte-order mark"),
        (declared("KLINGON").encode(), "unknown"),
        (declared("UTF-8").encode("gbk"), "byte 0xbb on line 5 is no UTF-8"),
        (declared("GBK").encode() + b"\x80\xff", "is no GBK"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17, "binary"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe" + b"\x00" * 20, "ZIP archive"),
    ],
    ids=[
        "latin1-declared-utf8",
        "gbk-declared-utf8",
        "utf16-declared-no-bom",
        "unknown-encoding",
        "gbk-bytes-utf8-declared",
        "bad-gbk-bytes",
        "png",
        "zip",
    ],
)
def test_files_that_lie_about_their_encoding_are_refused(
    owner, db, deployed_before, content, fragment
):
    """A declaration of ISO-8859-1 over UTF-8 text deployed with the names garbled
    ("å\x9b\x9e…"), as libxml2 read them, while the modeler showed them right."""
    details = refused(upload(owner, [("lie.bpmn", content)]))
    assert any(fragment in d["message"] for d in details), details
    assert_unchanged(owner, db, deployed_before)


@pytest.mark.parametrize("encoding", ["GBK", "ISO-8859-1", "UTF-16"])
def test_a_json_body_is_unicode_whatever_its_declaration_says(owner, encoding):
    """Text sent as JSON was parsed as UTF-8 bytes under its own declaration: "GBK" or
    "ISO-8859-1" garbled the names, "UTF-16" was refused as malformed."""
    response = owner.post("/api/v1/process-models", json={"bpmn": declared(encoding)})
    assert response.status_code == 201, response.get_json()
    assert process_name(owner) == "回访结果"


def test_a_json_body_has_the_size_limit_of_an_upload(owner, db, deployed_before):
    big = GOOD.decode() + "<!--" + "x" * (6 * 1024 * 1024) + "-->"
    details = refused(owner.post("/api/v1/process-models", json={"bpmn": big}))
    assert "larger than 5120 KB" in details[0]["message"]
    assert_unchanged(owner, db, deployed_before)


# -- multipart file names ----------------------------------------------------------------------


def raw_multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart body whose file names are quoted as curl quotes them (``\\`` for a
    backslash), which werkzeug's test client does not do."""
    boundary = "hostile-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + name.replace("\\", "\\\\").encode()
        + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        + content
        + b"\r\n"
        for name, content in files
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_windows_path_as_file_name_is_the_file_name(owner, db):
    """Browsers may send ``C:\\forms\\call-form.json``: the form was "not part of the
    deploy", and the diagram was stored under the whole path."""
    form = (DIAGRAMS / "call-form.json").read_bytes()
    body, content_type = raw_multipart(
        [("..\\..\\call_note.bpmn", CALL_NOTE), ("C:\\forms\\call-form.json", form)]
    )
    response = owner.post("/api/v1/process-models", data=body, content_type=content_type)
    assert response.status_code == 201, response.get_json()
    with db() as session:
        assert session.scalar(select(ProcessVersion.bpmn_file)) == "call_note.bpmn"


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ([("", renamed("Nameless"))], "a file without a name"),
        ([("a.bpmn", GOOD), ("a.bpmn", renamed("Other"))], "two files of this name"),
        ([("x/a.bpmn", GOOD), ("../y/a.bpmn", renamed("Other"))], "two files of this name"),
    ],
    ids=["empty-name", "same-name-twice", "same-name-two-folders"],
)
def test_file_names_that_cannot_be_told_apart_are_refused(
    owner, db, deployed_before, files, fragment
):
    """An empty name was ": expected .bpmn, .dmn or .json"; a second file of the same name
    silently replaced the first."""
    details = refused(upload(owner, files))
    assert any(fragment in d["message"] for d in details), details
    assert_unchanged(owner, db, deployed_before)


@pytest.mark.parametrize("name", ["call\x00.bpmn", "call\x1b[31m.bpmn"], ids=["nul", "escape"])
def test_a_file_name_with_a_control_character_is_refused(owner, db, deployed_before, name):
    """A NUL in the name deployed on SQLite and answered 500 on PostgreSQL."""
    body, content_type = raw_multipart([(name, renamed("Control"))])
    response = owner.post("/api/v1/process-models", data=body, content_type=content_type)
    (detail,) = refused(response)
    assert "may not hold control characters" in detail["message"]
    assert_unchanged(owner, db, deployed_before)


def test_upper_case_and_chinese_file_names_deploy(owner):
    response = upload(owner, [("回访.BPMN", GOOD)])
    assert response.status_code == 201, response.get_json()


# -- forms -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("#/definitions/missing", "refers to nothing in the form"),
        ("http://127.0.0.1:9/form.json", "points outside the form"),
        ("file:///etc/passwd", "points outside the form"),
    ],
    ids=["missing", "url", "file"],
)
def test_a_form_whose_ref_does_not_resolve_is_refused(owner, db, ref, fragment):
    """It deployed; completing the task then fetched the URL and answered 500."""
    form = {"type": "object", "properties": {"outcome": {"$ref": ref}}}
    response = owner.post(
        "/api/v1/process-models",
        json={"bpmn": CALL_NOTE.decode(), "forms": {"call-form.json": form}},
    )
    (detail,) = refused(response)
    assert detail["element_id"] == "call" and fragment in detail["message"], detail
    assert owner.models() == []


def test_a_form_with_refs_inside_it_deploys(owner):
    form = {
        "type": "object",
        "$defs": {"outcome": {"type": "string", "enum": ["reached", "voicemail"]}},
        "properties": {"outcome": {"$ref": "#/$defs/outcome"}},
    }
    response = owner.post(
        "/api/v1/process-models",
        json={"bpmn": CALL_NOTE.decode(), "forms": {"call-form.json": form}},
    )
    assert response.status_code == 201, response.get_json()


def test_checking_task_data_fetches_nothing(monkeypatch):
    """A form stored before deploys checked its references: jsonschema fetched the URL."""
    fetched = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: fetched.append(a))
    form = {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/x.json"}}}
    with pytest.raises(Exception) as raised:
        validate_form_data(form, {"a": 1})
    assert getattr(raised.value, "code", None) == "form_unusable"
    assert raised.value.status == 409  # type: ignore[attr-defined]
    assert fetched == []


# -- size and time -----------------------------------------------------------------------------


def test_a_request_over_the_limit_is_a_coded_413_naming_it(owner, app, deployed_before, db):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = upload(owner, [("big.bpmn", GOOD + b"<!--" + b"x" * 2 * 1024 * 1024 + b"-->")])
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "1 MB" in error["message"], error
    app.config["MAX_CONTENT_LENGTH"] = 60 * 1024 * 1024
    assert_unchanged(owner, db, deployed_before)


def test_an_upload_of_too_many_files_says_so(owner, db, deployed_before):
    """werkzeug's 413 for more than 1,000 parts was said to be "larger than 60 MB"."""
    body, content_type = raw_multipart([(f"f{i}.json", b"{}") for i in range(1001)])
    response = owner.post("/api/v1/process-models", data=body, content_type=content_type)
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "more than 1000 parts" in error["message"]
    assert_unchanged(owner, db, deployed_before)


def wide(tasks: int) -> str:
    """A parallel split to ``tasks`` tasks and a join: three elements per task."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="http://x">\n<bpmn:process id="wide" isExecutable="true">\n'
        '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="e"/>\n'
        '<bpmn:sequenceFlow id="fs" sourceRef="s" targetRef="split"/>'
        '<bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="e"/>\n'
    ]
    parts += [
        f'<bpmn:task id="t{i}"/><bpmn:sequenceFlow id="a{i}" sourceRef="split" '
        f'targetRef="t{i}"/><bpmn:sequenceFlow id="b{i}" sourceRef="t{i}" targetRef="join"/>\n'
        for i in range(tasks)
    ]
    return "".join([*parts, "</bpmn:process>\n</bpmn:definitions>\n"])


def test_a_diagram_of_twelve_thousand_elements_is_checked_in_time_growing_with_its_size(owner):
    """The reachability check looked for a start event among a scope's children once per
    child: 15,000 elements took 12 s, 50,000 more than two minutes (now about 4 s on a quiet
    machine). Checked as growth of this thread's CPU time, which another process's load does
    not stretch as it stretches wall time: four times the elements take about four times as
    long (they took about eight times), never a minute."""

    def checked(tasks: int) -> float:
        started = time.thread_time()
        response = owner.post("/api/v1/process-models/validate", json={"bpmn": wide(tasks)})
        assert response.status_code == 200, response.get_json()
        return time.thread_time() - started

    with collector_paused():
        quarter = min(checked(1000) for _ in range(2))
        whole = min(checked(4000) for _ in range(2))
    assert whole < 60
    assert whole < 6.5 * quarter + 0.3, (quarter, whole)


# -- the modeler's deploy ----------------------------------------------------------------------


def test_the_modelers_deploy_refuses_and_reads_alike(client, make_user, owner, db):
    make_user("process_owner", username="modeler", password=PASSWORD)
    assert sign_in(client, "modeler").status_code == 302
    page = client.get("/process-models/new").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}

    def deploy(body: Any) -> Any:
        return client.post("/process-models/deploy", json=body, headers=headers)

    bomb = LAUGHS.decode()
    (detail,) = refused(deploy({"bpmn": {"bomb.bpmn": bomb}}))
    assert "billion laughs" in detail["message"]
    doctype = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]>' + BODY.decode()
    assert "<!DOCTYPE>" in refused(deploy({"bpmn": {"d.bpmn": doctype}}))[0]["message"]
    big = {"bpmn": {"big.bpmn": GOOD.decode() + "<!--" + "x" * (6 * 1024 * 1024) + "-->"}}
    assert "larger than" in refused(deploy(big))[0]["message"]
    for body in ({"bpmn": "x"}, {"bpmn": {"a.bpmn": 5}}, [1], {"bpmn": {"a.bpmn": ""}}):
        response = deploy(body)
        assert 400 <= response.status_code < 500 and response.get_json()["error"]["code"]
    assert owner.models() == []
    response = deploy({"bpmn": {"gbk.bpmn": declared("GBK")}, "forms": {}})
    assert response.status_code == 201, response.get_json()
    assert process_name(owner) == "回访结果"
    assert json.loads(response.get_data())["created"] is True


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("bpmn", "call\x1b[31m.bpmn"),
        ("bpmn", ""),
        ("bpmn", "   "),
        ("dmn", "rules\r\n.dmn"),
        ("forms", "form\x07.json"),
        ("forms", ""),
    ],
    ids=["bpmn-escape", "bpmn-empty", "bpmn-blank", "dmn-newline", "form-bell", "form-empty"],
)
def test_file_names_given_as_keys_of_a_json_body_are_checked_as_upload_names(
    owner, db, deployed_before, field, name
):
    """The keys of a JSON deploy are file names too: they deployed with control characters
    (kept in the stored version and shown in the modeler) or empty, a file no form or call
    could name. (A NUL never gets that far: the body is refused as ``invalid_json``.)"""
    body: dict[str, Any] = {"bpmn": {"outcome.bpmn": renamed("Keys").decode()}}
    if field == "bpmn":
        body["bpmn"] = {name: renamed("Keys").decode()}
    elif field == "dmn":
        body["dmn"] = {name: '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>'}
    else:
        body["forms"] = {name: {"type": "object"}}
    details = refused(owner.post("/api/v1/process-models", json=body))
    assert any(
        "control characters" in d["message"] or "without a name" in d["message"] for d in details
    ), details
    assert_unchanged(owner, db, deployed_before)
