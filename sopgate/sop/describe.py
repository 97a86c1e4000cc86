"""Human-readable text for ``sopgate plan``: groups, owners and each step's gate."""

from __future__ import annotations

from sopgate.gates import describe_window
from sopgate.sop.plan import Node, Plan


def describe_gate(node: Node) -> list[str]:
    """One line per kind of requirement of ``node``'s gate."""
    step = node.step
    lines: list[str] = []
    if node.needs:
        lines.append("needs: " + ", ".join(node.needs))
    for rule in step.approvals:
        extra = "" if rule.source == "review" else f" via {rule.source}"
        extra += ", author allowed" if rule.allow_author else ""
        extra += ", any commit" if rule.source == "review" and not rule.fresh else ""
        lines.append(f"approvals: {rule.count} from {rule.role}{extra}")
    if step.separate_from:
        lines.append("separate from: " + ", ".join(step.separate_from))
    if step.checks:
        lines.append(
            "checks: "
            + ", ".join(node.expand(c.name) + (f" ({c.app})" if c.app else "") for c in step.checks)
        )
    if step.evidence:
        lines.append("evidence: " + ", ".join(node.expand(e.path) for e in step.evidence))
    if step.window:
        lines.append(f"window: {describe_window(step.window)}")
    if step.environment:
        lines.append(f"environment: {step.environment}")
    if step.jobs:
        lines.append("jobs: " + ", ".join(node.expand(j) for j in step.jobs))
    return lines


def describe_plan(plan: Plan) -> str:
    sop = plan.sop
    out = [
        f"{sop.name}: {len(sop.steps)} steps, {len(plan.nodes)} with region instances, "
        f"{len(plan.groups)} groups"
    ]
    for number, group in enumerate(plan.groups, start=1):
        together = " (in parallel)" if len(group) > 1 else ""
        out.append("")
        out.append(f"{number}.{together}")
        for node in group:
            kind = " [decision]" if node.step.type == "decision" else ""
            out.append(f"  {node.key}{kind} - {node.step.title} (owner {node.step.owner})")
            out.extend(f"      {line}" for line in describe_gate(node))
    if sop.freezes:
        out.append("")
        for freeze in sop.freezes:
            why = f": {freeze.reason}" if freeze.reason else ""
            out.append(f"freeze {freeze.from_} to {freeze.to} ({freeze.timezone}){why}")
    return "\n".join(out) + "\n"
