"""The large campaign diagram of round 12, written out by this script (deterministic), as an
ARIS Architect export lays BPMN out: ``bpmn:`` prefix, ``processType="Private"``, lane sets
listing every node, documentation on the process, no diagram interchange.

``python -m tests.engine.round12_campaign`` writes ``diagrams/unseen12/r12_campaign.bpmn``;
the test module checks that the stored file is what this script writes.

The main process ``r12_campaign`` runs 14 stages; each is an exclusive choice between a short
path and a deep one (a parallel split of three branches, the second holding a nested
exclusive (odd stages) or inclusive (even stages) split and join), and every third stage a
review in a lane of its own. Then an embedded subprocess five levels deep (the third with a
lane set of its own) and a call activity whose called processes call each other eight deep.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

STAGES = 14
REVIEWS = {3: "agent", 6: "manager", 9: "director", 12: "West"}
CALL_DEPTH = 8
SUB_DEPTH = 5
PATH = Path(__file__).parent / "diagrams" / "unseen12" / "r12_campaign.bpmn"
MAIN_LANES = ("agent", "manager", "director", "East", "West")


class Scope:
    """The flow nodes, flows and lanes of one process or subprocess, in document order."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.flows: list[str] = []
        self.lanes: dict[str, list[str]] = {}
        self.count = 0

    def node(self, xml: str, node_id: str, lane: str | None = None) -> str:
        self.nodes.append(xml)
        if lane is not None:
            self.lanes.setdefault(lane, []).append(node_id)
        return node_id

    def script(self, node_id: str, script: str, lane: str | None = "agent") -> str:
        return self.node(
            f'<bpmn:scriptTask id="{node_id}" name="{node_id}" scriptFormat="python">'
            f"<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>",
            node_id,
            lane,
        )

    def user(self, node_id: str, title: str, lane: str | None) -> str:
        return self.node(f'<bpmn:userTask id="{node_id}" name={quoteattr(title)}/>', node_id, lane)

    def gateway(
        self, kind: str, node_id: str, lane: str | None = "agent", default: str = ""
    ) -> str:
        extra = f' default="{default}"' if default else ""
        return self.node(f'<bpmn:{kind}Gateway id="{node_id}"{extra}/>', node_id, lane)

    def flow(
        self, source: str, target: str, condition: str | None = None, flow_id: str = ""
    ) -> str:
        self.count += 1
        flow_id = flow_id or f"{source}__{target}"
        body = (
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
            "</bpmn:conditionExpression>"
            if condition
            else ""
        )
        self.flows.append(
            f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"'
            + (f">{body}</bpmn:sequenceFlow>" if body else "/>")
        )
        return flow_id

    def lane_set(self, set_id: str) -> str:
        if not self.lanes:
            return ""
        lanes = "".join(
            f'<bpmn:lane id="{set_id}_{name}" name="{name}">'
            + "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in refs)
            + "</bpmn:lane>"
            for name, refs in self.lanes.items()
        )
        return f'<bpmn:laneSet id="{set_id}">{lanes}</bpmn:laneSet>'

    def body(self, set_id: str) -> str:
        return "\n".join([self.lane_set(set_id), *self.nodes, *self.flows])


def stage(scope: Scope, s: int, before: str) -> str:
    """Stage ``s`` after node ``before``; returns its last node."""
    p = f"s{s:02d}"
    split = scope.gateway("exclusive", f"{p}_route", default=f"{p}_route__{p}_short")
    scope.flow(before, split)
    short = scope.script(f"{p}_short", f"{p}_path = 'short'")
    scope.flow(split, short)
    fork = scope.gateway("parallel", f"{p}_fork")
    scope.flow(split, fork, f"routes[{s - 1}] == 'deep'")
    join = scope.gateway("parallel", f"{p}_gather")
    # branch 1: three steps
    last = fork
    for step, name in enumerate(("a", "b", "c"), 1):
        node = scope.script(f"{p}_b1{name}", f"{p}_b1 = {step}")
        scope.flow(last, node)
        last = node
    scope.flow(last, join)
    # branch 2: a nested split, exclusive on odd stages, inclusive on even ones
    kind = "inclusive" if s % 2 == 0 else "exclusive"
    first = scope.script(f"{p}_b2a", f"{p}_b2 = ['a']")
    scope.flow(fork, first)
    exclusive = kind == "exclusive"
    inner = scope.gateway(kind, f"{p}_pick", default=f"{p}_pick__{p}_b2c" if exclusive else "")
    scope.flow(first, inner)
    left = scope.script(f"{p}_b2b", f"{p}_left = True")
    right = scope.script(f"{p}_b2c", f"{p}_right = True")
    scope.flow(inner, left, f"{s} in extras")
    scope.flow(inner, right, None if exclusive else f"{s} not in skip")
    merge = scope.gateway(kind, f"{p}_unpick")
    scope.flow(left, merge)
    scope.flow(right, merge)
    tail = scope.script(f"{p}_b2d", f"{p}_b2 = {p}_b2 + ['d']")
    scope.flow(merge, tail)
    scope.flow(tail, join)
    # branch 3: two steps
    node3a = scope.script(f"{p}_b3a", f"{p}_b3 = 1")
    node3b = scope.script(f"{p}_b3b", f"{p}_b3 = {p}_b3 + 1")
    scope.flow(fork, node3a)
    scope.flow(node3a, node3b)
    scope.flow(node3b, join)
    scope.node(
        f'<bpmn:scriptTask id="{p}_deep" name="{p}_deep" scriptFormat="python">'
        f"<bpmn:script>{p}_path = 'deep'</bpmn:script></bpmn:scriptTask>",
        f"{p}_deep",
        "agent",
    )
    scope.flow(join, f"{p}_deep")
    done = scope.gateway("exclusive", f"{p}_done")
    scope.flow(f"{p}_deep", done)
    scope.flow(short, done)
    if s in REVIEWS:
        review = scope.user(f"{p}_review", f"Review stage {s}", REVIEWS[s])
        scope.flow(done, review)
        return review
    return done


def nested_subprocess(level: int) -> tuple[str, str]:
    """``(xml, id)`` of the embedded subprocess at ``level`` (1 outermost)."""
    sub_id = f"sub{level}"
    inner = Scope()
    start = inner.node(f'<bpmn:startEvent id="{sub_id}_start"/>', f"{sub_id}_start")
    note = inner.script(f"{sub_id}_note", f"depth_reached = {level}", lane=None)
    inner.flow(start, note)
    end = inner.node(f'<bpmn:endEvent id="{sub_id}_end"/>', f"{sub_id}_end")
    if level < SUB_DEPTH:
        child_xml, child_id = nested_subprocess(level + 1)
        inner.nodes.append(child_xml)
        inner.flow(note, child_id)
        inner.flow(child_id, end)
    else:
        confirm = inner.user("sub5_confirm", "Confirm the campaign budget", None)
        inner.flow(note, confirm)
        inner.flow(confirm, end)
    if level == 3:  # a lane set of its own: its nodes go to the West team
        for node_id in (f"{sub_id}_start", f"{sub_id}_note", "sub4", f"{sub_id}_end"):
            inner.lanes.setdefault("West", []).append(node_id)
    body = inner.body(f"ls_{sub_id}")
    xml = f'<bpmn:subProcess id="{sub_id}" name="Budget level {level}">\n{body}\n</bpmn:subProcess>'
    return xml, sub_id


def called_process(level: int) -> str:
    """The process ``r12_level<level>``: it notes its depth and calls the next level."""
    pid = f"r12_level{level}"
    scope = Scope()
    p = f"l{level}"
    start = scope.node(f'<bpmn:startEvent id="{p}_start"/>', f"{p}_start", "agent")
    note = scope.script(f"{p}_note", f"levels = levels + [{level}]")
    scope.flow(start, note)
    check = scope.gateway("exclusive", f"{p}_check", default=f"{p}_check__{p}_end")
    scope.flow(note, check)
    end = scope.node(f'<bpmn:endEvent id="{p}_end"/>', f"{p}_end", "agent")
    if level < CALL_DEPTH:
        call = scope.node(
            f'<bpmn:callActivity id="{p}_call" name="Level {level + 1}" '
            f'calledElement="r12_level{level + 1}"/>',
            f"{p}_call",
            "agent",
        )
        scope.flow(check, call, "go_deeper")
        scope.flow(call, end)
    else:
        sign = scope.user(f"{p}_sign", "Sign the deepest level", "East")
        scope.flow(check, sign, "go_deeper")
        scope.flow(sign, end)
    scope.flow(check, end, flow_id=f"{p}_check__{p}_end")
    return (
        f'<bpmn:process id="{pid}" name="Level {level}" processType="Private" '
        f'isExecutable="true" isClosed="false">\n{scope.body(f"ls_{pid}")}\n</bpmn:process>'
    )


def main_process() -> str:
    scope = Scope()
    start = scope.node('<bpmn:startEvent id="c_start" name="Campaign booked"/>', "c_start", "agent")
    init = scope.script("c_init", "levels = []")
    scope.flow(start, init)
    fork = scope.gateway("parallel", "c_kickoff")
    scope.flow(init, fork)
    join = scope.gateway("parallel", "c_kicked_off")
    for node_id, title, lane in (
        ("c_brief_agents", "Brief the agents", "agent"),
        ("c_approve_budget", "Approve the budget", "manager"),
        ("c_prepare_list", "Prepare the call list", "East"),
    ):
        scope.user(node_id, title, lane)
        scope.flow(fork, node_id)
        scope.flow(node_id, join)
    last = join
    for s in range(1, STAGES + 1):
        last = stage(scope, s, last)
    sub_xml, sub_id = nested_subprocess(1)
    scope.nodes.append(sub_xml)
    scope.lanes.setdefault("manager", []).append(sub_id)
    scope.flow(last, sub_id)
    call = scope.node(
        '<bpmn:callActivity id="c_levels" name="Levels" calledElement="r12_level1"/>',
        "c_levels",
        "agent",
    )
    scope.flow(sub_id, call)
    wrap = scope.script("c_wrap", "finished = len(levels)")
    scope.flow(call, wrap)
    end = scope.node('<bpmn:endEvent id="c_end" name="Campaign run"/>', "c_end", "agent")
    scope.flow(wrap, end)
    return (
        '<bpmn:process id="r12_campaign" name="Campaign" processType="Private" '
        'isExecutable="true" isClosed="false">\n'
        "<bpmn:documentation>Generated by tests/engine/round12_campaign.py</bpmn:documentation>\n"
        f"{scope.body('ls_campaign')}\n</bpmn:process>"
    )


def campaign_xml() -> str:
    processes = [main_process(), *(called_process(n) for n in range(1, CALL_DEPTH + 1))]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="ID_r12_campaign" '
        'targetNamespace="http://www.ids-scheer.com/aris/bpmn" exporter="ARIS Architect" '
        'exporterVersion="10.0.22.0">\n' + "\n".join(processes) + "\n</bpmn:definitions>\n"
    )


if __name__ == "__main__":
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(campaign_xml(), encoding="utf-8")
