"""Human-readable text for ``sopgate plan``: groups, owners and each step's gate."""

from __future__ import annotations

from sopgate.gates import describe_window
from sopgate.sop.model import ApprovalRule, EvidenceRule, Freeze, Sop
from sopgate.sop.plan import Node, Plan


def describe_gate(node: Node) -> list[str]:
    """One line per kind of requirement of ``node``'s gate."""
    step = node.step
    lines: list[str] = []
    if node.needs:
        lines.append("needs: " + ", ".join(node.needs))
    if node.region is not None and isinstance(step.rollout, tuple):
        rollout = step.rollout
        number = next(i for i, wave in enumerate(rollout, start=1) if node.region in wave)
        regions = ", ".join(rollout[number - 1])
        lines.append(f"rollout: wave {number} of {len(rollout)} ({regions})")
    if step.run_by:
        lines.append("started only by: " + ", ".join(step.run_by))
    lines.extend(f"approvals: {_approval(node, rule)}" for rule in step.approvals)
    if step.separate_from:
        lines.append("separate from: " + ", ".join(step.separate_from))
    if step.checks:
        lines.append(
            "checks: "
            + ", ".join(node.expand(c.name) + (f" ({c.app})" if c.app else "") for c in step.checks)
        )
    if step.evidence:
        lines.append("evidence: " + ", ".join(_evidence(node, e) for e in step.evidence))
    if node.window:
        lines.append(f"window: {describe_window(node.window)}")
    if step.environment:
        lines.append(f"environment: {step.environment}")
    if step.jobs:
        lines.append("jobs: " + ", ".join(node.expand(j) for j in step.jobs))
    return lines


def _approval(node: Node, rule: ApprovalRule) -> str:
    extra = "" if rule.source == "review" else f" via {rule.source}"
    extra += ", author allowed" if rule.allow_author else ""
    extra += ", contributors allowed" if rule.allow_contributor else ""
    extra += ", any commit" if rule.source == "review" and not rule.fresh else ""
    extra += f", at most {rule.max_age} old" if rule.max_age else ""
    extra += ", any time" if rule.source == "signoff" and rule.after == "any" else ""
    return f"{rule.count} from {node.role(rule)}{extra}"


def _evidence(node: Node, rule: EvidenceRule) -> str:
    path = node.expand(rule.path)
    if not rule.require:
        return path
    return f"{path} ({', '.join(f'{query} {value}' for query, value in rule.require.items())})"


def _freeze(freeze: Freeze) -> str:
    scope = "".join(
        f", {key} {', '.join(names)}"
        for key, names in (("environments", freeze.environments), ("regions", freeze.regions))
        if names
    )
    why = f": {freeze.reason}" if freeze.reason else ""
    return f"freeze {freeze.from_} to {freeze.to} ({freeze.timezone}){scope}{why}"


def _emergency(sop: Sop) -> list[str]:
    if sop.emergency is None:
        return []
    rule = sop.emergency
    return [
        "",
        f"emergency: {rule.count} from {rule.role} may override a gate with /sop emergency "
        f"STEP reason, bypassing {', '.join(rule.bypass) or 'nothing'} (never needs, failures "
        "or rejections)",
    ]


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
        out.extend(_freeze(freeze) for freeze in sop.freezes)
    out.extend(_emergency(sop))
    return "\n".join(out) + "\n"
