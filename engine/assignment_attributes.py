"""Who works a user task, as Camunda 7, Activiti, Flowable and Camunda 8 diagrams say it.

Those engines' users draw lanes for the picture and give a task to people with attributes:
``camunda:assignee`` (``activiti:``, ``flowable:``), ``candidateUsers`` and
``candidateGroups``, and in Camunda 8 ``<zeebe:assignmentDefinition assignee candidateUsers
candidateGroups>``. Dialflow refused them ("put the task in a lane"), so a real Camunda or
Flowable diagram did not deploy for this alone. Here they run with Camunda's meaning, on
Dialflow's model of a work item (its candidates and assignee), as ``lane_owners`` does:

- the attributes decide who works the task; its lane (and ``lane_owners``) is then only the
  drawing;
- ``assignee``: a username, or a variable path (``${salesRep}``, ``#{lead.owner}``,
  ``=lead.owner``) read from the task's data when the task opens; ``${initiator}`` (a start
  event's ``initiator`` variable) and Activiti's ``$INITIATOR`` are the instance's starter.
  The task is assigned to that user and they are among its candidates (so they may claim it
  again after releasing it). A variable holding several names (a list, ``"wang,zhao"``)
  assigns none of them: each is a candidate, as ``candidateUsers`` would make them;
- ``candidateUsers``: usernames, comma-separated, or paths to a list (or a comma-separated
  text) of usernames: each is a candidate (``user:<name>``). Chinese lists are read too
  (``张三，李四``, ``张三、李四``), and a name as people type it is the user's as stored
  (``crm.usernames``: full-width letters, a tone mark typed as a combining accent);
- ``candidateGroups``: roles or team names, as ``lane_owners``' ``group:`` entries, split at ``,``
  only (a team may be named ``华东、华南``);
- Camunda 8's values as FEEL: ``=name`` or ``=a.b`` (a path), ``="text"``, ``=["a", "b"]``,
  and any other FEEL expression ``engine.zeebe_expressions`` runs (``=if amount > 10000 then
  "boss" else owner``, ``=upper case(region)``), computed over the task's data when it opens
  (``with_values``).

An assignee that names no active user when the task opens (unknown, deactivated, or a path
the data does not hold) assigns nobody: the task stays with the other candidates the
attributes give, else with its lane as without them (no lane: the instance's starter), and
the name stays among its candidates, so the task shows whom it was meant for; if no one may
claim it, every manager's team board lists it to be given to an agent
(``work_items.offered_to_nobody``).

What cannot run is refused at deploy on the user task, at the attribute's line
(``hint``): a JUEL or FEEL expression that is no variable path (a method call such as
``${taskService.getVariable(...)}``, arithmetic, a FEEL function), an entry mixing text and an
expression, an empty value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from crm.usernames import normalise_username, split_names
from engine.bpmn_xml import BPMN_NS

log = logging.getLogger(__name__)
# The key of a user task spec's extensions that holds what its attributes say.
ASSIGNMENT = "dialflow_assignment"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
JAVA_ENGINES = {
    "http://camunda.org/schema/1.0/bpmn",
    "http://activiti.org/bpmn",
    "http://flowable.org/bpmn",
}
KINDS = ("assignee", "candidateUsers", "candidateGroups")
_PATH = r"[A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*"
_JUEL_PATH = re.compile(rf"^\s*[$#]\{{\s*({_PATH})\s*\}}\s*$")
_JUEL_ANY = re.compile(r"[$#]\{")
_FEEL_PATH = re.compile(rf"^\s*({_PATH})\s*$")
_FEEL_TEXT = re.compile(r'^\s*"([^"\\]*)"\s*$')
_FEEL_LIST = re.compile(r'^\s*\[\s*("[^"\\]*"(?:\s*,\s*"[^"\\]*")*)?\s*\]\s*$')
ROLES = ("agent", "manager", "director", "process_owner", "admin")
_NAME_LIMIT = 150  # longer than any username or team name; such an entry is no one
Entry = dict[str, Any]  # {"text": name} | {"path": [names], "starter": bool} | {"starter": True}


def _entry(text: str, starter_names: set[str]) -> Entry | None:
    """One username or group as written in a Java engine's attribute; None: no variable path."""
    value = text.strip()
    if value == "$INITIATOR":
        return {"starter": True}
    found = _JUEL_PATH.match(value)
    if found:
        return _path(found.group(1), starter_names)
    if _JUEL_ANY.search(value) or not value:
        return None
    return {"text": value}


def _path(text: str, starter_names: set[str]) -> Entry:
    names = [part.strip() for part in text.split(".")]
    return {"path": names, "starter": len(names) == 1 and names[0] in starter_names}


def split_list(text: str, *, people: bool = True) -> list[str]:
    """The names of a list: of people at ``,`` ``，`` ``、`` (no username holds those), of
    groups at ``,`` only, as before Chinese lists were read: a team may be named
    ``华东、华南``, and splitting its name offered its tasks to two groups no one is in."""
    if people:
        return split_names(text)
    return [part.strip() for part in text.split(",") if part.strip()]


def _feel_entries(body: str, starter_names: set[str], people: bool) -> list[Entry] | None:
    """A Camunda 8 FEEL value (without its ``=``): a path, a string or a list of strings."""
    if _FEEL_PATH.match(body) and body.strip() not in ("null", "true", "false"):
        return [_path(body.strip(), starter_names)]
    text = _FEEL_TEXT.match(body)
    if text:
        return [{"text": t} for t in split_list(text.group(1), people=people)] or None
    listed = _FEEL_LIST.match(body)
    if listed:
        items = re.findall(r'"([^"\\]*)"', listed.group(1) or "")
        return [{"text": item.strip()} for item in items if item.strip()] or None
    from engine import zeebe_expressions  # it reads this module's names through zeebe_hints

    python = zeebe_expressions.python(f"={body}")  # computed when the task opens
    return [{"python": python}] if python is not None else None


def with_values(
    said: Mapping[str, list[Entry]], evaluate: Callable[[str], Any]
) -> dict[str, list[Entry]]:
    """``said`` with each FEEL expression's value (``evaluate`` runs its Python over the
    task's data when the task opens: ``=if amount > 10000 then "boss" else owner``)."""
    return {
        kind: [
            {**entry, "value": evaluate(entry["python"])} if "python" in entry else entry
            for entry in entries
        ]
        for kind, entries in said.items()
    }


def entries_of(kind: str, value: str, owner: Any, *, feel: bool = False) -> list[Entry] | None:
    """What an ``assignee``, ``candidateUsers`` or ``candidateGroups`` value names, or None
    when it cannot run (``hint`` says why). ``feel``: a Camunda 8 value (FEEL after ``=``)."""
    starter_names = initiator_names(owner)
    text = value.strip()
    if feel and text.startswith("=") and not text.startswith("=="):
        entries = _feel_entries(text[1:], starter_names, kind != "candidateGroups")
    elif kind == "assignee":
        entry = _entry(text, starter_names)
        entries = [entry] if entry is not None else None
    else:
        # 张三,李四 as 张三，李四 and 张三、李四 are written; a group's name keeps its 、
        parts = split_list(text, people=kind != "candidateGroups")
        read = [_entry(p, starter_names) for p in parts]
        entries = None if not read or any(e is None for e in read) else read  # type: ignore[assignment]
    if entries is None or (kind == "assignee" and len(entries) != 1):
        return None
    if kind == "assignee" and len(split_names(entries[0].get("text", ""))) > 1:
        return None  # one user: several are candidateUsers
    if any(len(e.get("text", "")) > _NAME_LIMIT for e in entries):
        return None
    return entries


def initiator_names(owner: Any) -> set[str]:
    """The variables the file's start events store the starter in (``camunda:initiator``),
    and ``initiator``."""
    names = {"initiator"}
    for start in owner.getroottree().iter(f"{{{BPMN_NS}}}startEvent"):
        for attribute, value in start.attrib.items():
            if etree.QName(attribute).localname == "initiator":
                names.add(value.strip())
    return names


def _is_user_task(element: Any) -> bool:
    return element is not None and element.tag == f"{{{BPMN_NS}}}userTask"


def runs(local: str, owner: Any, value: str) -> bool:
    """Whether the Java engines' attribute ``local`` of ``value`` on ``owner`` runs here."""
    if local not in KINDS or not _is_user_task(owner):
        return False
    return not value.strip() or entries_of(local, value, owner) is not None  # empty: unsaid


def zeebe_task(element: Any) -> Any:
    """The user task whose extensionElements hold the Zeebe ``element``, else None."""
    parent = element.getparent()
    task = parent.getparent() if parent is not None else None
    if parent is None or etree.QName(parent).localname != "extensionElements":
        return None
    return task if _is_user_task(task) else None


def adopted(element: Any) -> bool:
    """Whether a ``<zeebe:assignmentDefinition>`` runs as drawn (every attribute readable)."""
    if element.tag != f"{{{ZEEBE_NS}}}assignmentDefinition" or len(element):
        return False
    task = zeebe_task(element)
    if task is None or not element.attrib or set(element.attrib) - set(KINDS):
        return False
    return all(
        not (element.get(kind) or "").strip()  # written empty: unsaid
        or entries_of(kind, element.get(kind) or "", task, feel=True) is not None
        for kind in element.attrib
    )


_OWNERS = {f"{{{BPMN_NS}}}potentialOwner": "candidates", f"{{{BPMN_NS}}}humanPerformer": "assignee"}
_RESOURCE = re.compile(r"^\s*(user|group)\s*\((.*)\)\s*$", re.DOTALL)
_OUTSIDE_PARENTHESES = re.compile(r"[，、](?![^()]*\))")


def owner_entries(owner: Any, task: Any) -> dict[str, list[Entry]] | None:
    """What a ``<bpmn:potentialOwner>`` or ``<bpmn:humanPerformer>`` names in its one
    formal expression: ``user(kermit), group(management)`` as Activiti and Flowable write
    it, ``${var}`` inside too; a human performer's plain name or ``${var}`` is its user; a
    potential owner's plain name only when it is a role (Activiti reads it as a group, jBPM
    as a user); None when it cannot run (a ``resourceRef``, no or several expressions,
    another expression)."""
    kind = _OWNERS.get(owner.tag)
    expressions = list(owner.iter(f"{{{BPMN_NS}}}formalExpression"))
    if kind is None or owner.get("resourceRef") or len(expressions) != 1:
        return None
    starter_names = initiator_names(task)
    said: dict[str, list[Entry]] = {}
    # ``user(张三)，group(华东、华南)``: a Chinese comma inside ``(…)`` is part of the name
    parts = [
        piece.strip()
        for part in (expressions[0].text or "").split(",")
        for piece in _OUTSIDE_PARENTHESES.split(part)
        if piece.strip()
    ]
    for part in parts:
        found = _RESOURCE.match(part)
        which, text = (found.group(1), found.group(2)) if found else (None, part)
        entry = _entry(text.strip().strip("'\""), starter_names)
        if entry is None or len(entry.get("text", "")) > _NAME_LIMIT:
            return None
        if (
            which is None
            and kind == "candidates"
            and (entry.get("text") or "").lower() not in ROLES
        ):
            return None  # a plain name: a group to Activiti, a user to jBPM; say which
        if kind == "assignee":
            if which == "group":
                return None
            said.setdefault("assignee", []).append(entry)
        else:
            said.setdefault("candidateGroups" if which != "user" else "candidateUsers", []).append(
                entry
            )
    if not said or len(said.get("assignee", [])) > 1:
        return None
    return said


def owner_runs(task: Any, owner: Any) -> bool:
    """Whether a user task's ``potentialOwner`` or ``humanPerformer`` runs (``owner_entries``)."""
    return _is_user_task(task) and owner_entries(owner, task) is not None


def read(task: Any) -> dict[str, list[Entry]] | None:
    """Who the attributes of the user task ``task`` name, by kind; None when they name no one
    (or only what the task's lane already says: ``foreign_hints.honoured``)."""
    from engine.foreign_hints import honoured, honoured_owner  # they read this module

    said: dict[str, list[Entry]] = {}
    plain_lane = True
    for attribute, value in task.attrib.items():
        qname = etree.QName(attribute)
        if qname.namespace in JAVA_ENGINES and qname.localname in KINDS:
            entries = entries_of(qname.localname, value, task)
            if entries is not None:
                said.setdefault(qname.localname, []).extend(entries)
                if not (
                    qname.localname == "candidateGroups" and honoured(qname.localname, task, value)
                ):
                    plain_lane = False
    for extensions in task.findall(f"{{{BPMN_NS}}}extensionElements"):
        for definition in extensions.findall(f"{{{ZEEBE_NS}}}assignmentDefinition"):
            if not adopted(definition):
                continue
            for kind in KINDS:
                if definition.get(kind) is not None:
                    said.setdefault(kind, []).extend(
                        entries_of(kind, definition.get(kind) or "", task, feel=True) or []
                    )
                    groups = definition.get(kind) or ""
                    if not (kind == "candidateGroups" and honoured(kind, task, groups)):
                        plain_lane = False
    for owner in task:
        if not isinstance(owner.tag, str) or owner.tag not in _OWNERS:
            continue
        for kind, entries in (owner_entries(owner, task) or {}).items():
            said.setdefault(kind, []).extend(entries)
        if not honoured_owner(task, owner):  # else its role is the task's lane
            plain_lane = False
    if not said or plain_lane:
        return None  # the lane decides, as before (lane_owners still overrides it)
    return said


def who_works(
    said: Mapping[str, list[Entry]],
    data: Mapping[str, Any],
    starter: Callable[[], str | None],
    lane_candidates: Callable[[], list[str]],
    group_name: Callable[[str], str],
    active_user: Callable[[str], int | None],
) -> tuple[list[str], int | None]:
    """The task's candidates and the id of the user it is assigned to, from what ``read``
    found, the task's data and the instance's starter (see the module): an assignee who is
    no active user assigns nobody, and the task stays with the other candidates, else with
    its lane (``lane_candidates``), the name kept among its candidates."""
    named = _names(said.get("assignee", []), data, starter)
    # a variable holding several names (a list, "wang,zhao") assigns none of them: each is a
    # candidate, as candidateUsers would make them (the first was assigned, the rest dropped)
    assignee = named[0] if len(named) == 1 else None
    users = [
        *(named if len(named) > 1 else []),
        *_names(said.get("candidateUsers", []), data, starter),
    ]
    groups = _names(said.get("candidateGroups", []), data, starter, people=False)
    others = {f"user:{name}" for name in users} | {group_name(name) for name in groups}
    assignee_id = active_user(assignee) if assignee is not None else None
    if assignee is not None and assignee_id is None:
        log.warning(
            "assignee %r is no active user: the task is offered to its candidates", assignee
        )
    candidates = set(others)
    if assignee_id is None and not others:
        candidates = set(lane_candidates())
    if assignee is not None:
        candidates.add(f"user:{assignee}")
    return sorted(candidates), assignee_id


def _names(
    entries: list[Entry],
    data: Mapping[str, Any],
    starter: Callable[[], str | None],
    *,
    people: bool = True,
) -> list[str]:
    """The names the entries give; ``people``: usernames, as stored (``ｚｈａｎｇ`` is
    ``zhang``, a decomposed ``ā`` one character), else groups as written."""
    found: list[str] = []
    for entry in entries:
        if "text" in entry:
            values: Any = entry["text"]
        elif "path" in entry:
            values = _read_path(data, entry["path"])
            if values is None and entry.get("starter"):
                values = starter()
        elif "python" in entry:  # a FEEL expression, computed by ``with_values``
            values = entry.get("value")
        else:
            values = starter()
        if isinstance(values, str):
            values = split_list(values, people=people)
        elif isinstance(values, int) and not isinstance(values, bool):
            values = [str(values)]
        elif not isinstance(values, list | tuple):
            continue
        for value in values:
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            name = value.strip() if isinstance(value, str) else ""
            if people:
                name = normalise_username(name)
            if name and len(name) <= _NAME_LIMIT and name not in found:
                found.append(name)
    return found


def _read_path(data: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = data
    for name in path:
        if not isinstance(value, Mapping) or name not in value:
            return None
        value = value[name]
    return value


def hint(local: str, owner: Any, value: str, *, feel: bool = False) -> str | None:
    """Why an assignment attribute on a user task cannot run, and what to write; None when
    ``owner`` is no user task."""
    if local not in KINDS or not _is_user_task(owner):
        return None
    text = value.strip()
    written = (
        "a FEEL name or path (=lead.owner), a quoted name or a list of quoted names"
        if feel
        else ("a name, or ${variable} / ${object.field} (a variable path)")
    )
    several = "" if local == "assignee" else ", comma-separated"
    if not text:
        return f"name who works the task: {written}{several}"
    if local == "assignee" and len(split_names(text)) > 1 and not _JUEL_ANY.search(text):
        return (
            f"the assignee is one user: write candidateUsers={text!r} for several "
            "(each may claim the task)"
        )
    if feel and text.startswith("="):
        from engine import zeebe_expressions  # it reads this module's names through zeebe_hints

        return (
            f"{text!r} holds {zeebe_expressions.untranslated(text)}: write {written}"
            f"{several}, or any FEEL expression Dialflow runs over the task's data (=if "
            'amount > 10000 then "boss" else lead.owner); or compute who in a script task '
            "before it, store the username in a variable and write =thatVariable"
        )
    return (
        f"Dialflow reads {text!r} only as {written}{several}, read from the task's data when "
        "the task opens; compute who in a script task before it (a method call, arithmetic "
        "or a function cannot run here), store the username in a variable and write "
        "${thatVariable}"
    )
