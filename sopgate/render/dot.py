"""The sequence as Graphviz DOT: the same graph as the Mermaid diagram (same nodes, same
reduced edges, same height limit)."""

from __future__ import annotations

from collections.abc import Mapping

from sopgate.evaluate import StepResult
from sopgate.render.graph import MORE, draw
from sopgate.render.mermaid import PALETTE, node_lines
from sopgate.sop.plan import Node, Plan


def quote(text: str) -> str:
    """A DOT double-quoted string; control characters become spaces."""
    text = " ".join(text.split())
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_for_plan(
    plan: Plan,
    results: Mapping[str, StepResult] | None = None,
    *,
    target: str | None = None,
) -> str:
    """A ``digraph`` of the whole sequence; node ids are the node keys, decisions are
    diamonds, region instances sit in a ``cluster_`` subgraph, fill colour by state."""
    out = [
        "digraph sopgate {",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
    ]
    drawing = draw(plan, results)
    shown = {node.key for node in drawing.nodes}
    for index, (step_id, keys) in enumerate(plan.instances.items()):
        nodes = [plan.by_key[key] for key in keys if key in shown]
        if not nodes:
            continue
        if nodes[0].region is None:
            out.append(f"    {_node(nodes[0], results, target)}")
            continue
        out.append(f"    subgraph {quote(f'cluster_{index}_{step_id}')} {{")
        out.append(f"        label={quote(nodes[0].step.title)};")
        out.append('        style="rounded,dashed";')
        out.extend(f"        {_node(node, results, target)}" for node in nodes)
        out.append("    }")
    if drawing.folded:
        out.append(f'    {quote(MORE)} [label="{drawing.folded} more steps not drawn"];')
    out.extend(f"    {quote(need)} -> {quote(key)};" for need, key in drawing.edges)
    out.append("}")
    return "\n".join(out) + "\n"


def _node(node: Node, results: Mapping[str, StepResult] | None, target: str | None) -> str:
    result = results.get(node.key) if results is not None else None
    lines = node_lines(node, result, target=target)
    label = "\\n".join(quote(line)[1:-1] for line in lines)
    attrs = [f'label="{label}"']
    if node.step.type == "decision":
        attrs.append('shape=diamond, style="filled"')
    if result is not None:
        fill, stroke, color = PALETTE[result.state]
        attrs.append(f'fillcolor="{fill}", color="{stroke}", fontcolor="{color}"')
    if node.key == target:
        attrs.append("penwidth=3")
    return f"{quote(node.key)} [{', '.join(attrs)}];"
