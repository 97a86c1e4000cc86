"""Evaluations built by hand from the example SOP, so renderer tests need no evaluator."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from sopgate.evaluate import Evaluation, State, StepResult
from sopgate.facts import Facts, parse_facts
from sopgate.sop.load import LoadedSop, parse_sop
from sopgate.sop.plan import build_plan

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_SOP = (ROOT / "examples" / ".sopgate.yml").read_text(encoding="utf-8")
GREEN_FACTS = (ROOT / "examples" / "facts" / "green.yml").read_text(encoding="utf-8")
COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

#: A reason per state, as the evaluator would phrase it (done carries none).
DEFAULT_REASONS: dict[State, tuple[str, ...]] = {
    "done": (),
    "ready": ("gate open; run the job deploy-production (eu-west)",),
    "waiting": ("needs 1 approval from security (sec-bob, sec-carol); has 0",),
    "blocked": ("needs production[eu-west] done first",),
    "failed": ("check model-eval failed",),
    "rejected": ("rejected by rob: latency regression",),
}


def load(text: str = EXAMPLE_SOP) -> LoadedSop:
    return parse_sop(text, path=".sopgate.yml", today=date(2026, 11, 26))


def facts(text: str = GREEN_FACTS) -> Facts:
    return parse_facts(text, path="facts.yml")


def evaluation(
    states: Mapping[str, State] | None = None,
    *,
    reasons: Mapping[str, tuple[str, ...]] | None = None,
    target: str | None = None,
    loaded: LoadedSop | None = None,
    snapshot: Facts | None = None,
) -> Evaluation:
    """Every node ``done`` unless ``states`` says otherwise; reasons default per state."""
    loaded = loaded or load()
    plan = build_plan(loaded.sop)
    states = states or {}
    reasons = reasons or {}
    results = []
    for node in plan.nodes:
        state = states.get(node.key, "done")
        results.append(
            StepResult(
                key=node.key,
                step_id=node.step.id,
                name=node.step.title,
                owner=node.step.owner,
                type=node.step.type,
                region=node.region,
                needs=node.needs,
                line=loaded.lines[node.step.id],
                state=state,
                gate_open=state in ("ready", "done"),
                reasons=reasons.get(node.key, DEFAULT_REASONS[state]),
                done_at=None,
                approvers=(),
            )
        )
    return Evaluation(
        loaded=loaded,
        facts=snapshot or facts(),
        plan=plan,
        steps=tuple(results),
        target=target,
    )
