"""The regulated example's emergency run (olga overrides production's freeze) and the same
change re-run in the freeze after production was deployed, evaluated for real."""

from __future__ import annotations

from pathlib import Path

from sopgate.evaluate import Evaluation, evaluate
from sopgate.facts import Check, Facts, read_facts
from sopgate.sop.load import read_sop

ROOT = Path(__file__).resolve().parents[3]
REGULATED = ROOT / "examples" / "regulated"
LINE = "EMERGENCY OVERRIDE by olga: payment outage INC-4411"
FREEZE = "Year-end freeze for production"


def _facts() -> Facts:
    return read_facts(str(REGULATED / "facts" / "emergency.yml"))


def emergency_run(target: str | None = "production", *, reason: str | None = None) -> Evaluation:
    """``sopgate check production`` of facts/emergency.yml: open only through olga's override;
    ``reason`` replaces olga's reason (to test escaping)."""
    facts = _facts()
    if reason is not None:
        approvals = tuple(
            a.model_copy(update={"reason": reason}) if a.source == "emergency" else a
            for a in facts.approvals or ()
        )
        facts = facts.model_copy(update={"approvals": approvals})
    return evaluate(read_sop(str(REGULATED / ".sopgate.yml")), facts, target)


def deployed_in_freeze() -> Evaluation:
    """Production deployed, no override, re-checked in the freeze: done, gate closed."""
    facts = _facts()
    approvals = tuple(a for a in facts.approvals or () if a.source != "emergency")
    deployed = Check(name="deploy-production", app="github-actions", state="success")
    checks = (*(facts.checks or ()), deployed)
    facts = facts.model_copy(update={"approvals": approvals, "checks": checks})
    return evaluate(read_sop(str(REGULATED / ".sopgate.yml")), facts, "production")
