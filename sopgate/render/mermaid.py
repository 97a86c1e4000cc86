"""The sequence as a Mermaid ``flowchart TD``: one node per plan node, coloured by state.

GitHub and GitLab render Mermaid inside Markdown, so every label is escaped to stay inside
its quotes and never to close the surrounding code fence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sopgate.evaluate import STATES, State, StepResult
from sopgate.sop.plan import Node, Plan

#: Fill, stroke and text colour per state; shared with the DOT renderer.
PALETTE: dict[State, tuple[str, str, str]] = {
    "done": ("#2da44e", "#1a7f37", "#ffffff"),
    "ready": ("#aceebb", "#2da44e", "#0b2e13"),
    "waiting": ("#fff1a8", "#bf8700", "#3b2300"),
    "blocked": ("#d0d7de", "#8c959f", "#24292f"),
    "failed": ("#ffc1c0", "#cf222e", "#5c0000"),
    "rejected": ("#cf222e", "#82071e", "#ffffff"),
}

# Words that end or restructure a flowchart when used as a bare node id.
_RESERVED = frozenset(
    {
        "end",
        "graph",
        "flowchart",
        "subgraph",
        "class",
        "classdef",
        "style",
        "click",
        "linkstyle",
        "direction",
        "default",
    }
)

# Characters that would end a quoted label, start markup or close a Markdown fence.
_LABEL_ESCAPES = {
    "#": "#35;",
    '"': "#quot;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    "<": "#lt;",
    ">": "#gt;",
    "`": "#96;",
    "|": "#124;",
}


class NodeIds:
    """Unique identifiers derived from node keys (``production[eu-west]`` ->
    ``production__eu_west``); also used for subgraph ids so that nothing collides."""

    def __init__(self) -> None:
        self._by_key: dict[str, str] = {}
        self._taken: set[str] = set()

    def __call__(self, key: str) -> str:
        if key not in self._by_key:
            self._by_key[key] = self._fresh(safe_id(key))
        return self._by_key[key]

    def _fresh(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self._taken:
            n += 1
            candidate = f"{base}_{n}"
        self._taken.add(candidate)
        return candidate


def safe_id(key: str) -> str:
    """An identifier made of ``[A-Za-z0-9_]`` that no renderer reads as a keyword."""
    text = key.replace("[", "__").replace("]", "")
    text = re.sub(r"[^A-Za-z0-9_]", "_", text) or "step"
    if text.lower() in _RESERVED or not text[0].isalpha():
        text = f"step_{text}"
    return text


def escape_label(text: str) -> str:
    """Text safe inside a ``"..."`` Mermaid label (entity codes, one line)."""
    text = " ".join(text.split())
    return "".join(_LABEL_ESCAPES.get(char, char) for char in text)


def node_lines(node: Node, result: StepResult | None) -> list[str]:
    """The lines of a node's label: the step title (or the region inside its group),
    then the state when one is known."""
    lines = [node.region if node.region is not None else node.step.title]
    if result is not None:
        lines.append(result.state)
    return lines


def mermaid_for_plan(
    plan: Plan,
    results: Mapping[str, StepResult] | None = None,
    *,
    target: str | None = None,
) -> str:
    """A ``flowchart TD`` of the whole sequence; ``results`` (by node key) adds states and
    colours, ``target`` draws the gated node with a heavy border."""
    ids = NodeIds()
    out = ["flowchart TD"]
    for step_id, keys in plan.instances.items():
        nodes = [plan.by_key[key] for key in keys]
        if nodes[0].region is None:
            out.append(f"    {_node(nodes[0], ids, results)}")
            continue
        group = ids(f"{step_id}__group")
        out.append(f'    subgraph {group}["{escape_label(nodes[0].step.title)}"]')
        out.extend(f"        {_node(node, ids, results)}" for node in nodes)
        out.append("    end")
    out.extend(f"    {ids(need)} --> {ids(node.key)}" for node in plan.nodes for need in node.needs)
    if results is not None:
        out.extend(_classes(plan, results, ids))
    if target is not None and target in plan.by_key:
        out.append(f"    style {ids(target)} stroke-width:4px")
    return "\n".join(out) + "\n"


def _node(node: Node, ids: NodeIds, results: Mapping[str, StepResult] | None) -> str:
    result = results.get(node.key) if results is not None else None
    label = "<br/>".join(escape_label(line) for line in node_lines(node, result))
    if node.step.type == "decision":
        return f'{ids(node.key)}{{"{label}"}}'
    return f'{ids(node.key)}["{label}"]'


def _classes(plan: Plan, results: Mapping[str, StepResult], ids: NodeIds) -> list[str]:
    out = []
    for state in STATES:
        fill, stroke, color = PALETTE[state]
        out.append(f"    classDef {state} fill:{fill},stroke:{stroke},color:{color}")
    for state in STATES:
        members = [
            ids(node.key)
            for node in plan.nodes
            if node.key in results and results[node.key].state == state
        ]
        if members:
            out.append(f"    class {','.join(members)} {state}")
    return out
