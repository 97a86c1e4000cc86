"""A generated SOP of 200 steps, 10 of them fanned out over 6 regions (250 nodes)."""

from __future__ import annotations

import re
from typing import Any

from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import Facts
from sopgate.render.graph import height
from sopgate.sop.load import LoadedSop

from .builders import COMMIT, load

REGIONS = ("eu-west", "eu-central", "us-east", "us-west", "ap-south", "ap-east")
STEPS = 200
FANNED = frozenset(range(10, STEPS, 20))  # 10 steps, spread along the chain


def big_sop() -> LoadedSop:
    lines = [
        "sopgate: 1",
        "name: Big platform release",
        f"scope: {{system: big, environments: [production], regions: [{', '.join(REGIONS)}]}}",
        "roles:",
        "  ops: {users: [olga, oscar]}",
        "  leads: {users: [lena, lars]}",
        "steps:",
    ]
    for i in range(STEPS):
        lines += [
            f"  - id: step-{i:03d}",
            f"    name: Step {i} - verify, promote and record the model release",
        ]
        if i in FANNED:
            lines += [
                "    owner: ops",
                "    environment: production",
                "    for_each: region",
                "    rollout: sequential",
                "    checks: ['verify-{region}-" + str(i) + "']",
                "    rollback: Redeploy the previous version in that region.",
            ]
        elif i % 25 == 5:
            lines += [
                "    type: decision",
                "    owner: leads",
                "    approvals: [{role: leads, count: 1, source: signoff}]",
            ]
        else:
            lines += ["    owner: ops", f"    checks: [check-{i}, scan-{i}]"]
            lines += [f"    evidence: [reports/step-{i}/*.json]"]
    return load("\n".join(lines) + "\n")


def big_facts(done_through: int) -> Facts:
    """Every check of the steps before ``done_through`` succeeded (sign-offs given in
    order), nothing after."""
    checks: list[dict[str, Any]] = []
    approvals: list[dict[str, Any]] = []
    files: list[str] = []
    for i in range(done_through):
        minute = i + 1
        at = f"2026-11-2{minute // 1440 + 1}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z"
        if i in FANNED:
            checks += [
                {"name": f"verify-{r}-{i}", "app": "ci", "state": "success", "at": at}
                for r in REGIONS
            ]
        elif i % 25 == 5:
            approvals.append(
                {
                    "user": "lena",
                    "source": "signoff",
                    "step": f"step-{i:03d}",
                    "state": "approved",
                    "at": at,
                }
            )
        else:
            checks += [
                {"name": f"{kind}-{i}", "app": "ci", "state": "success", "at": at}
                for kind in ("check", "scan")
            ]
            files.append(f"reports/step-{i}/result.json")
    return Facts.model_validate(
        {
            "facts": 1,
            "platform": "local",
            "commit": COMMIT,
            "observed_at": "2026-11-26T10:00:00Z",
            "checks": checks,
            "approvals": approvals,
            "files": files,
        }
    )


def big_evaluation(done_through: int, target: str | None = None) -> Evaluation:
    return evaluate(big_sop(), big_facts(done_through), target)


_NODE = re.compile(r"^\s+(\w+)(?:\[|\{|\(\[)", re.MULTILINE)
_EDGE = re.compile(r"^    (\w+) --> (\w+)$", re.MULTILINE)


def drawn_height(mermaid: str) -> int:
    """How tall a drawn Mermaid diagram is: its longest path, counted in nodes."""
    nodes = tuple(dict.fromkeys(_NODE.findall(mermaid)))
    edges = tuple(_EDGE.findall(mermaid))
    return height(nodes, edges)
