"""The sequence as a Mermaid ``flowchart TD``: one node per plan node, coloured by state,
with its owner, a legend, and the asked-about step marked.

GitHub and GitLab render Mermaid inside Markdown, so every label is escaped to stay inside
its quotes and never to close the surrounding code fence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sopgate.evaluate import STATES, State, StepResult
from sopgate.render.graph import MAX_HEIGHT, MORE, Drawing, draw
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

#: The legend reads in the order a step moves through.
LEGEND_ORDER: tuple[State, ...] = ("blocked", "waiting", "ready", "done", "failed", "rejected")

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


def node_lines(node: Node, result: StepResult | None, *, target: str | None = None) -> list[str]:
    """The lines of a node's label: the step title (or the region inside its group), its
    owner, then the state when one is known; the asked-about node says so."""
    lines = [node.region if node.region is not None else node.step.title]
    lines.append(f"owner: {node.step.owner}")
    if result is not None:
        lines.append(result.state)
    if node.key == target:
        gate = f": gate {'open' if result.gate_open else 'closed'}" if result else ""
        lines.append(f"▶ asked about{gate}")
    return lines


#: Neutral grey for region groups and the legend: no state's colour (yellow is "waiting").
GROUP_STYLE = "fill:#f6f8fa,stroke:#8c959f,color:#24292f"
TARGET_STYLE = "stroke-width:4px"


def mermaid_for_plan(
    plan: Plan,
    results: Mapping[str, StepResult] | None = None,
    *,
    target: str | None = None,
    focus: bool = False,
    max_height: int = MAX_HEIGHT,
    drawing: Drawing | None = None,
) -> str:
    """A ``flowchart TD`` of the sequence (see :func:`sopgate.render.graph.draw` for what is
    drawn); ``results`` (by node key) adds states, colours and a legend, ``target`` marks
    the asked-about node with a heavy border and a label line."""
    drawing = drawing or draw(plan, results, focus=focus, max_height=max_height)
    ids = NodeIds()
    for key in drawing.keys:
        ids(key)
    shown = {node.key for node in drawing.nodes}
    out = ["flowchart TD"]
    groups: list[str] = []
    for step_id, keys in plan.instances.items():
        nodes = [plan.by_key[key] for key in keys if key in shown]
        if not nodes:
            continue
        if nodes[0].region is None:
            out.append(f"    {_node(nodes[0], ids, results, target)}")
            continue
        group = ids(f"{step_id}__group")
        groups.append(group)
        out.append(f'    subgraph {group}["{escape_label(nodes[0].step.title)}"]')
        out.extend(f"        {_node(node, ids, results, target)}" for node in nodes)
        out.append("    end")
    if drawing.folded:
        more = f"{drawing.folded} more steps not drawn: see the table"
        out.append(f'    {ids(MORE)}(["{escape_label(more)}"])')
        groups.append(ids(MORE))
    out.extend(f"    {ids(need)} --> {ids(key)}" for need, key in drawing.edges)
    if results is not None:
        out.extend(_legend(ids, target if target in shown else None))
        groups.append(ids("legend__group"))
        out.extend(_classes(drawing, results, ids))
    out.extend(f"    style {group} {GROUP_STYLE}" for group in groups)
    if target is not None and target in shown:
        out.append(f"    style {ids(target)} {TARGET_STYLE}")
    return "\n".join(out) + "\n"


def _node(
    node: Node, ids: NodeIds, results: Mapping[str, StepResult] | None, target: str | None
) -> str:
    result = results.get(node.key) if results is not None else None
    lines = node_lines(node, result, target=target)
    label = "<br/>".join(escape_label(line) for line in lines)
    if node.step.type == "decision":
        return f'{ids(node.key)}{{"{label}"}}'
    return f'{ids(node.key)}["{label}"]'


def _legend(ids: NodeIds, target: str | None) -> list[str]:
    """One node per state in its colour, and what the heavy border means. Unlinked, the
    nodes stack in a narrow column beside the sequence; a row would be wider than most
    sequences and make Mermaid shrink the whole diagram."""
    out = [f'    subgraph {ids("legend__group")}["Legend"]']
    out.extend(f'        {ids(f"legend__{state}")}["{state}"]' for state in LEGEND_ORDER)
    if target is not None:
        out.append(f'        {ids("legend__target")}["heavy border: the step asked about"]')
    out.append("    end")
    if target is not None:
        style = f"fill:#ffffff,stroke:#24292f,color:#24292f,{TARGET_STYLE}"
        out.append(f"    style {ids('legend__target')} {style}")
    return out


def _classes(drawing: Drawing, results: Mapping[str, StepResult], ids: NodeIds) -> list[str]:
    out = []
    for state in STATES:
        fill, stroke, color = PALETTE[state]
        out.append(f"    classDef {state} fill:{fill},stroke:{stroke},color:{color}")
    for state in STATES:
        members = [
            ids(node.key)
            for node in drawing.nodes
            if node.key in results and results[node.key].state == state
        ]
        members.append(ids(f"legend__{state}"))
        out.append(f"    class {','.join(members)} {state}")
    return out
