"""A bundle: the BPMN, DMN and form files of one deploy (JSON-Schema ``.json`` forms and Camunda
Forms, ``.form``), addressed by content."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from dialflow.strict_json import loads_strict
from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.camunda_forms import duplicate_ids, file_problem
from engine.errors import InvalidBpmn, problem

MAX_FILE_BYTES = 5 * 1024 * 1024
# Byte-order marks, UTF-32's before UTF-16's (whose little-endian mark begins UTF-32's).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_DECLARED = re.compile(rb"<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")
_LONE_CR = re.compile(r"\r(?!\n)")
_DECLARATION = re.compile(r"(<\?xml[^>]*?\sencoding\s*=\s*)([\"'])([^\"']*)\2")


@dataclass(frozen=True)
class Bundle:
    bpmn: dict[str, str] = field(default_factory=dict)
    dmn: dict[str, str] = field(default_factory=dict)
    forms: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        canonical = json.dumps(
            {"bpmn": self.bpmn, "dmn": self.dmn, "forms": self.forms},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_named_files(cls, files: Iterable[tuple[str, bytes]]) -> Bundle:
        """Sort uploaded or on-disk files by extension; unreadable ones are reported together."""
        bpmn: dict[str, str] = {}
        dmn: dict[str, str] = {}
        forms: dict[str, Any] = {}
        problems = []
        seen: set[str] = set()
        for raw_name, content in files:
            # a browser may send the whole Windows path: the name is what follows the last
            # slash or backslash (``../x.bpmn`` is ``x.bpmn`` too)
            name = re.split(r"[/\\]", raw_name or "")[-1].strip()
            suffix = Path(name).suffix.lower()
            unnamed = name_problem(name)
            if unnamed:
                problems.append(unnamed)
                continue
            if name in seen:
                problems.append(
                    problem(
                        f"{name}: two files of this name; each file of a deploy needs its own "
                        "name (the second would replace the first)",
                        file=name,
                    )
                )
                continue
            seen.add(name)
            if len(content) > MAX_FILE_BYTES:
                problems.append(
                    problem(f"{name}: larger than {MAX_FILE_BYTES // 1024} KB", file=name)
                )
                continue
            is_xml = suffix in (".bpmn", ".dmn") or name.lower().endswith(".bpmn20.xml")
            try:
                text = xml_text(content) if is_xml else _utf8_text(content)
                if is_xml:
                    _no_nul(text)
            except _Unreadable as exc:
                problems.append(problem(f"{name}: {exc.message}", line=exc.line, file=name))
                continue
            if suffix == ".bpmn" or name.lower().endswith(".bpmn20.xml"):
                bpmn[name] = text
            elif suffix == ".dmn":
                dmn[name] = text
            elif suffix in (".json", ".form"):
                try:
                    forms[name] = loads_strict(text)
                    if suffix == ".form" and (said := file_problem(name, forms[name])):
                        problems.append(problem(said, file=name))
                except json.JSONDecodeError as exc:
                    reason = exc.msg
                    if reason.startswith("Invalid control character"):
                        reason = (
                            "a control character (a NUL, a tab or a line break) inside a string "
                            f"at column {exc.colno}; write it escaped (\\u0000, \\t, \\n) "
                            "or remove it"
                        )
                    problems.append(
                        problem(f"{name}: invalid JSON: {reason}", line=exc.lineno, file=name)
                    )
                except (ValueError, RecursionError) as exc:  # NaN, 1e400, NUL; too deep
                    reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
                    problems.append(problem(f"{name}: invalid JSON: {reason}", file=name))
            elif content.startswith((b"PK\x03\x04", b"\x1f\x8b")):
                kind = "a ZIP" if content.startswith(b"PK") else "a gzip"
                problems.append(
                    problem(
                        f"{name}: is {kind} archive; Dialflow takes the files themselves: "
                        "unpack it and upload the .bpmn, .dmn, .json and .form files inside",
                        file=name,
                    )
                )
            else:
                problems.append(problem(f"{name}: expected .bpmn, .dmn, .json or .form", file=name))
        problems += [problem(said) for said in duplicate_ids(forms)]
        if problems:
            raise InvalidBpmn("Some files could not be read.", details=problems)
        return cls(bpmn=bpmn, dmn=dmn, forms=forms)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bundle:
        """``{"bpmn": "<xml>" | {name: xml}, "dmn": [xml...] | {name: xml}, "forms": {...}}``."""

        def named(field: str, prefix: str, suffix: str) -> dict[str, str]:
            value = data.get(field)
            if value is None:
                return {}
            if isinstance(value, str):
                return {f"{prefix}{suffix}": unicode_declaration(value)}
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return {
                    f"{prefix}{i + 1}{suffix}": unicode_declaration(v) for i, v in enumerate(value)
                }
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                return {str(k): unicode_declaration(v) for k, v in value.items()}
            raise InvalidBpmn(  # named as the client sent it, not as its files are named
                f"'{field}' must be XML text, a list of XML texts or a mapping",
                details=[problem(f"bad '{field}' field")],
            )

        forms = data.get("forms") or {}
        if not isinstance(forms, dict) or not all(isinstance(v, dict) for v in forms.values()):
            raise InvalidBpmn(
                "'forms' must map file names to JSON Schema (or Camunda Form) objects",
                details=[problem("bad 'forms' field")],
            )
        bundle = cls(
            bpmn=named("bpmn", "process", ".bpmn"),
            dmn=named("dmn", "decision", ".dmn"),
            forms=dict(forms),
        )
        unnamed = [
            found
            for name in (*bundle.bpmn, *bundle.dmn, *bundle.forms)
            if (found := name_problem(name.strip()))
        ]
        unnamed += [  # a Camunda Form sent as JSON, checked as its .form file would be
            problem(said, file=name)
            for name, form in bundle.forms.items()
            if name.lower().endswith(".form") and (said := file_problem(name, form))
        ]
        unnamed += [problem(said) for said in duplicate_ids(bundle.forms)]
        if unnamed:  # the keys are file names, checked as an upload's names are
            raise InvalidBpmn("Some files could not be read.", details=unnamed)
        large = [
            problem(f"{name}: larger than {MAX_FILE_BYTES // 1024} KB", file=name)
            for name, text in {**bundle.bpmn, **bundle.dmn}.items()
            if len(text) > MAX_FILE_BYTES // 4 and len(text.encode()) > MAX_FILE_BYTES
        ]
        # a form is measured as the .json file it would be (it was stored whatever its size)
        large += [
            problem(f"{name}: larger than {MAX_FILE_BYTES // 1024} KB", file=name)
            for name, schema in bundle.forms.items()
            if len(json.dumps(schema, ensure_ascii=False).encode()) > MAX_FILE_BYTES
        ]
        if large:  # the limit of an uploaded file, whichever way it is sent
            raise InvalidBpmn("Some files could not be read.", details=large)
        return bundle

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> Bundle:
        """The files named, and those of the folders named (their subfolders too). Each file
        is read up to one byte past the limit, so that a device or a huge file costs no
        memory; a name that is no UTF-8, or a file that cannot be read, is a problem."""
        files: list[tuple[str, bytes]] = []
        problems = []
        for path in paths:
            found = (
                [
                    p
                    for p in sorted(path.rglob("*"))
                    if p.is_file() and p.suffix.lower() in (".bpmn", ".dmn", ".json", ".form")
                ]
                if path.is_dir()
                else [path]
            )
            for file in found:
                try:
                    file.name.encode()
                except UnicodeEncodeError:
                    shown = os.fsencode(file).decode(errors="replace")
                    problems.append(problem(f"{shown}: the file name is not UTF-8; rename it"))
                    continue
                try:
                    with file.open("rb") as stream:
                        files.append((file.name, stream.read(MAX_FILE_BYTES + 1)))
                except OSError as exc:
                    reason = exc.strerror or exc
                    problems.append(problem(f"{file}: cannot be read: {reason}", file=file.name))
        if problems:
            raise InvalidBpmn("Some files could not be read.", details=problems)
        return cls.from_named_files(files)


_DEPENDENCY_NAME = re.compile(r"@\d+/")


def is_dependency(name: str) -> bool:
    """Whether ``name`` is a file of an earlier deploy merged in by :func:`merge_dependencies`
    (``@<bundle id>/<name>``), checked when it was deployed."""
    return _DEPENDENCY_NAME.match(name) is not None


def name_problem(name: str) -> dict[str, Any] | None:
    """Why ``name`` cannot name a file of a deploy, if it cannot."""
    if not name:
        return problem("a file without a name: name it .bpmn, .dmn, .json or .form")
    if is_dependency(name):
        return problem(
            f"{name!r}: names beginning with '@', a number and '/' are kept for the files of "
            "earlier deploys that a call activity reaches; rename it"
        )
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        # a NUL no database can store; other control characters no one can type
        return problem(f"{name!r}: a file name may not hold control characters; rename it")
    return None


class _Unreadable(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def xml_text(content: bytes) -> str:
    """The text of an XML file, read as an XML parser would: by its byte-order mark, else by
    the encoding its declaration names (UTF-8 without one), with that declaration then
    saying UTF-8 (the text is kept as Unicode, so what it says must not be read again).
    A declaration that cannot be right (UTF-16 without a mark; a single-byte or Chinese
    encoding over text that is UTF-8, which would come out garbled) is refused."""
    for bom, codec, label in BOMS:
        if content.startswith(bom):
            return unicode_declaration(_decode(content, codec, label))
    unmarked = _utf16_without_mark(content)
    if unmarked:
        return unicode_declaration(_decode(content, unmarked, "UTF-16"))
    declared = _DECLARED.match(content)
    encoding = declared.group(1).decode() if declared else "UTF-8"
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise _Unreadable(
            f"its XML declaration names the encoding {encoding!r}, which is unknown; save the "
            "file as UTF-8"
        ) from None
    if codec != "utf-8":
        if codec.startswith(("utf-16", "utf-32")):
            raise _Unreadable(
                f"its XML declaration says encoding={encoding!r}, but the file has no "
                f"{encoding} byte-order mark and its bytes are not {encoding}; correct the "
                'declaration to encoding="UTF-8" or save the file as UTF-8'
            )
        if not content.isascii() and _is_utf8(content):
            raise _Unreadable(
                f"its XML declaration says encoding={encoding!r}, but its text is UTF-8, "
                f'which would be read garbled; correct the declaration to encoding="UTF-8"'
            )
    return unicode_declaration(_decode(content, codec, encoding))


def _utf16_without_mark(content: bytes) -> str | None:
    """The UTF-16 codec of a file whose first characters are ``<`` and ASCII in UTF-16 without
    a byte-order mark (Windows tools save "Unicode" so), as an XML parser detects it: read as
    UTF-8 it was either "Char 0x0 out of allowed range" or, with a declaration, text full of
    NUL characters that libxml2 read as UTF-16 but PostgreSQL cannot store."""
    head = content[:8]
    if len(head) < 8:
        return None
    if head[0::2] == b"\x00" * 4 and head[1:2] == b"<" and head[3::2].isascii():
        return "utf-16-be"
    if head[1::2] == b"\x00" * 4 and head[0:1] == b"<" and head[2::2].isascii():
        return "utf-16-le"
    return None


def unicode_declaration(text: str) -> str:
    """``text`` whose XML declaration, if it names an encoding other than UTF-8, names UTF-8:
    Unicode text is parsed as its UTF-8 bytes, which the declaration must not contradict.
    A line ending in a carriage return alone (classic Mac OS files) ends in a line feed, as
    every XML parser reads it: libxml2 counts lines by line feeds, so every problem of such a
    file was said on line 1 and on no element."""
    text = _LONE_CR.sub("\n", text)
    found = _DECLARATION.match(text)
    if found is None or found.group(3).replace("_", "-").lower() in ("utf-8", "utf8"):
        return text
    return f"{found.group(1)}{found.group(2)}UTF-8{found.group(2)}{text[found.end() :]}"


def _utf8_text(content: bytes) -> str:
    """A JSON file's text: UTF-8, or UTF-16/32 after its byte-order mark, as Windows Notepad
    saves "Unicode" (it was told "binary data (an image or an archive?)")."""
    for mark, codec, label in BOMS:
        if content.startswith(mark):
            return _decode(content, codec, label)
    return _decode(content, "utf-8-sig", "UTF-8")


def _no_nul(text: str) -> None:
    """A NUL character, which no XML file may hold (libxml2 said "invalid character in
    attribute value" or "Char 0x0 out of allowed range"), said as what it is, on its line."""
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        raise _Unreadable(
            f"malformed XML: it holds a NUL character (a zero byte) on line {line}, which no "
            "XML file may hold, "
            "as a copy from a binary file or a tool's bug leaves it: delete it",
            line=line,
        )


def _decode(content: bytes, codec: str, label: str) -> str:
    try:
        return content.decode(codec)
    except UnicodeDecodeError as exc:
        if content.startswith(b"PK\x03\x04"):
            raise _Unreadable(
                "is a ZIP archive, not a text file; unpack it and upload the .bpmn, .dmn "
                "and .json files inside"
            ) from None
        if content.startswith(b"\x1f\x8b"):
            raise _Unreadable(
                "is a gzip archive, not a text file; unpack it and upload the file inside"
            ) from None
        if b"\x00" in content[:1024] and label == "UTF-8":
            raise _Unreadable("is binary data (an image or an archive?), not a text file") from None
        line = content.count(b"\n", 0, exc.start) + 1
        raise _Unreadable(
            f"not {label} text: byte {content[exc.start]:#04x} on line {line} is no {label}; "
            f"save the file as {label}{_gbk_hint(content, label)}",
            line=line,
        ) from None


def _gbk_hint(content: bytes, label: str) -> str:
    """Chinese text saved as GBK without a declaration (Windows Notepad's "ANSI" on a Chinese
    system) reads as GBK: say how to keep it so."""
    if label != "UTF-8":
        return ""
    try:
        content.decode("gbk")
    except UnicodeDecodeError:
        return ""
    return ' (its bytes read as GBK: keep them and declare <?xml version="1.0" encoding="GBK"?>)'


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def merge_dependencies(own: Bundle, dependencies: Sequence[tuple[int, Bundle]]) -> Bundle:
    """``own`` plus the files of the bundles its call activities reach, ready to parse together.

    ``dependencies`` are ``(bundle id, files)``, nearest first. Their files are renamed
    ``@<bundle id>/<name>`` so that they never replace an own file of the same name, and
    processes defined by ``own`` (or by a nearer dependency) are cut out of them: redeploying
    one process of an earlier multi-process bundle must not meet its old version again.
    Own DMN decisions and forms win over dependencies' of the same id or name.
    """
    defined: set[str] = set()
    for xml in own.bpmn.values():
        defined |= _process_ids(xml)
    bpmn: dict[str, str] = {}
    dmn: dict[str, str] = {}
    forms: dict[str, Any] = {}
    for bundle_id, dependency in dependencies:
        for name, xml in dependency.bpmn.items():
            kept, ids = _without_processes(xml, defined)
            if kept is not None:
                bpmn[f"@{bundle_id}/{name}"] = kept
            defined |= ids
        for name, schema in dependency.forms.items():
            forms.setdefault(name, schema)
    decided: set[str] = set()
    for xml in own.dmn.values():
        decided |= _decision_ids(xml)
    for bundle_id, dependency in dependencies:
        for name, xml in dependency.dmn.items():
            # a decision the deploy (or a nearer dependency) has itself is theirs: the
            # dependency's copy of it would be "one decision id in two DMN files"
            kept_dmn, ids = _without_decisions(xml, decided)
            if kept_dmn is not None:
                dmn[f"@{bundle_id}/{name}"] = kept_dmn
            decided |= ids
    # Dependencies first, so that own files come last (their element lines win in reports).
    return Bundle(bpmn={**bpmn, **own.bpmn}, dmn={**dmn, **own.dmn}, forms={**forms, **own.forms})


def _process_ids(xml: str) -> set[str]:
    try:
        tree = etree.fromstring(xml.encode(), SAFE_XML)
    except (etree.XMLSyntaxError, ValueError):
        return set()  # reported by validation
    return {pid for p in tree.iterfind(f"{{{BPMN_NS}}}process") if (pid := p.get("id"))}


def decision_ids(dmn: Mapping[str, str]) -> set[str]:
    """The ids of the decisions of DMN files (name → XML); unreadable files hold none."""
    return {i for xml in dmn.values() for i in _decision_ids(xml)}


def _decision_ids(xml: str) -> set[str]:
    try:
        tree = etree.fromstring(xml.encode(), SAFE_XML)
    except (etree.XMLSyntaxError, ValueError):
        return set()  # reported by validation
    return {i for e in tree.iter() if _is_decision(e) and (i := e.get("id"))}


def _is_decision(element: Any) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).localname == "decision"


def _without_decisions(xml: str, drop: set[str]) -> tuple[str | None, set[str]]:
    """A dependency's DMN ``xml`` without the decisions in ``drop`` (None if none is left),
    and the ids it keeps."""
    try:
        tree = etree.fromstring(xml.encode(), SAFE_XML)
    except (etree.XMLSyntaxError, ValueError):
        return xml, set()
    decisions = [e for e in tree.iter() if _is_decision(e)]
    dropped = [e for e in decisions if e.get("id") in drop]
    kept = {i for e in decisions if e not in dropped and (i := e.get("id"))}
    if not dropped:
        return xml, kept
    if len(dropped) == len(decisions):
        return None, set()
    for decision in dropped:
        decision.getparent().remove(decision)
    return etree.tostring(tree, encoding="unicode"), kept


def _without_processes(xml: str, drop: set[str]) -> tuple[str | None, set[str]]:
    """``xml`` without the processes in ``drop`` (None if none is left), and the ids it keeps."""
    tree = etree.fromstring(xml.encode(), SAFE_XML)
    processes = list(tree.iterfind(f"{{{BPMN_NS}}}process"))
    dropped = [p for p in processes if p.get("id") in drop]
    kept = {pid for p in processes if p not in dropped and (pid := p.get("id"))}
    if not dropped:
        return xml, kept
    if len(dropped) == len(processes):
        return None, set()
    for process in dropped:
        tree.remove(process)
    return etree.tostring(tree, encoding="unicode"), kept
