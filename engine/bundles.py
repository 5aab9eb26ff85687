"""A bundle: the BPMN, DMN and JSON-Schema form files of one deploy, addressed by content."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from dialflow.strict_json import loads_strict
from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.errors import InvalidBpmn, problem

MAX_FILE_BYTES = 5 * 1024 * 1024


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
        for raw_name, content in files:
            name = Path(raw_name or "").name
            suffix = Path(name).suffix.lower()
            if len(content) > MAX_FILE_BYTES:
                problems.append(
                    problem(f"{name}: larger than {MAX_FILE_BYTES // 1024} KB", file=name)
                )
                continue
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                problems.append(problem(f"{name}: not UTF-8 text", file=name))
                continue
            if suffix == ".bpmn" or name.endswith(".bpmn20.xml"):
                bpmn[name] = text
            elif suffix == ".dmn":
                dmn[name] = text
            elif suffix == ".json":
                try:
                    forms[name] = loads_strict(text)
                except json.JSONDecodeError as exc:
                    problems.append(
                        problem(f"{name}: invalid JSON: {exc.msg}", line=exc.lineno, file=name)
                    )
                except (ValueError, RecursionError) as exc:  # NaN, 1e400, NUL; too deep
                    reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
                    problems.append(problem(f"{name}: invalid JSON: {reason}", file=name))
            else:
                problems.append(problem(f"{name}: expected .bpmn, .dmn or .json", file=name))
        if problems:
            raise InvalidBpmn("Some files could not be read.", details=problems)
        return cls(bpmn=bpmn, dmn=dmn, forms=forms)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bundle:
        """``{"bpmn": "<xml>" | {name: xml}, "dmn": [xml...] | {name: xml}, "forms": {...}}``."""

        def named(value: Any, prefix: str, suffix: str) -> dict[str, str]:
            if value is None:
                return {}
            if isinstance(value, str):
                return {f"{prefix}{suffix}": value}
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return {f"{prefix}{i + 1}{suffix}": v for i, v in enumerate(value)}
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                return {str(k): v for k, v in value.items()}
            raise InvalidBpmn(
                f"'{prefix}' must be XML text, a list of XML texts or a mapping",
                details=[problem(f"bad '{prefix}' field")],
            )

        forms = data.get("forms") or {}
        if not isinstance(forms, dict) or not all(isinstance(v, dict) for v in forms.values()):
            raise InvalidBpmn(
                "'forms' must map file names to JSON Schema objects",
                details=[problem("bad 'forms' field")],
            )
        bundle = cls(
            bpmn=named(data.get("bpmn"), "process", ".bpmn"),
            dmn=named(data.get("dmn"), "decision", ".dmn"),
            forms=dict(forms),
        )
        return bundle

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> Bundle:
        files: list[tuple[str, bytes]] = []
        for path in paths:
            if path.is_dir():
                files += [
                    (p.name, p.read_bytes())
                    for p in sorted(path.rglob("*"))
                    if p.is_file() and p.suffix.lower() in (".bpmn", ".dmn", ".json")
                ]
            else:
                files.append((path.name, path.read_bytes()))
        return cls.from_named_files(files)


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
    for bundle_id, dependency in reversed(dependencies):  # the parser keeps the last decision
        dmn.update({f"@{bundle_id}/{name}": xml for name, xml in dependency.dmn.items()})
    # Dependencies first, so that own files come last (their element lines win in reports).
    return Bundle(bpmn={**bpmn, **own.bpmn}, dmn={**dmn, **own.dmn}, forms={**forms, **own.forms})


def _process_ids(xml: str) -> set[str]:
    try:
        tree = etree.fromstring(xml.encode(), SAFE_XML)
    except (etree.XMLSyntaxError, ValueError):
        return set()  # reported by validation
    return {pid for p in tree.iterfind(f"{{{BPMN_NS}}}process") if (pid := p.get("id"))}


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
