"""The example SOPs of the four seed cases: valid, accepted by check-jsonschema with the
committed schema, and each facts file decides as its comment says (green, waiting, rejected)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sopgate.cli import main
from sopgate.facts import read_facts
from sopgate.sop.load import read_sop
from tests.unit.helpers import TODAY

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SEEDS = ("startup", "enterprise", "regulated", "global")
ALL_SOPS = [EXAMPLES / ".sopgate.yml", *(EXAMPLES / seed / ".sopgate.yml" for seed in SEEDS)]


@dataclass(frozen=True)
class Run:
    """What ``sopgate check TARGET`` decides for one example's facts file."""

    seed: str
    facts: str
    target: str
    decision: str
    states: dict[str, str]
    reasons: tuple[str, ...]  # the target's reasons, exactly
    also: tuple[tuple[str, str], ...] = ()  # (step, a reason it must carry): the run's point
    emergency: bool = False


STARTUP_DONE = {"tests": "done", "model-evaluation": "done", "staging": "done"}
ENTERPRISE_DONE = {
    "platform-tests": "done",
    "security-review": "done",
    "architecture-review": "done",
    "staging": "done",
    "change-advisory": "done",
}
ENTERPRISE_LATER = {
    "rollout[insurance]": "blocked",
    "rollout[wealth]": "blocked",
    "adoption": "blocked",
}
REGULATED_DONE = {
    "data-lineage": "done",
    "model-validation": "done",
    "independent-review": "done",
    "staging": "done",
    "compliance-review": "done",
}
GLOBAL_DONE = {
    "model-evaluation": "done",
    "build": "done",
    **{f"canary[{r}]": "done" for r in ("eu-west", "us-east", "us-west", "ap-south")},
    "go-no-go": "done",
    "production[eu-west]": "done",
}
GLOBAL_LATER = {
    "production[us-west]": "waiting",
    "production[ap-south]": "blocked",
    "watch": "blocked",
}
US_EAST_SIGNOFF = (
    "needs 1 sign-off from approvers-us-east (uma, ulf); has 0 "
    "(comment '/sop approve production[us-east]')"
)

RUNS = [
    Run(
        "startup",
        "green",
        "production",
        "open",
        {**STARTUP_DONE, "production": "ready"},
        ("gate open: run deploy-production (owner founders)",),
    ),
    Run(
        "startup",
        "waiting",
        "production",
        "closed",
        {
            "tests": "done",
            "model-evaluation": "waiting",
            "staging": "blocked",
            "production": "blocked",
        },
        (
            "waits for staging (blocked; owner engineers)",
            "needs 1 approval from founders (cto-kim, ceo-lee); has 0",
        ),
        also=(("model-evaluation", "reports/eval.json: metrics.auc is 0.79; needs >= 0.82"),),
    ),
    Run(
        "startup",
        "rejected",
        "production",
        "closed",
        {**STARTUP_DONE, "production": "rejected"},
        (
            "rejected by cto-kim (founders, review); cto-kim can lift it by approving the change",
            "needs 1 approval from founders (cto-kim, ceo-lee); has 0",
        ),
    ),
    Run(
        "enterprise",
        "green",
        "rollout[retail]",
        "open",
        {**ENTERPRISE_DONE, "rollout[retail]": "ready", **ENTERPRISE_LATER},
        ("gate open: run rollout (retail) (owner sre)",),
    ),
    Run(
        "enterprise",
        "waiting",
        "rollout[retail]",
        "closed",
        {
            **ENTERPRISE_DONE,
            "change-advisory": "waiting",
            "rollout[retail]": "blocked",
            **ENTERPRISE_LATER,
        },
        (
            "waits for change-advisory (waiting; owner cab)",
            "needs 1 sign-off from bu-retail (rhonda); has 0 (sign off after change-advisory is "
            "done)",
            "rhonda's sign-off does not count yet: sign off after change-advisory is done",
        ),
        # sec-bob did the security review, so he cannot be the second CAB member.
        also=(
            (
                "change-advisory",
                "needs 2 sign-offs from cab (cab-carla); has 1 (comment '/sop approve "
                "change-advisory')",
            ),
        ),
    ),
    Run(
        "enterprise",
        "rejected",
        "rollout[retail]",
        "closed",
        {**ENTERPRISE_DONE, "rollout[retail]": "rejected", **ENTERPRISE_LATER},
        (
            "rejected by rhonda (bu-retail, signoff): tenant data migration is not finished; "
            "rhonda can lift it with '/sop approve rollout[retail]'",
            "needs 1 sign-off from bu-retail (rhonda); has 0 (comment '/sop approve "
            "rollout[retail]')",
        ),
    ),
    Run(
        "regulated",
        "green",
        "production",
        "open",
        {**REGULATED_DONE, "go-no-go": "done", "production": "ready"},
        ("gate open: run deploy-production (owner sre)",),
    ),
    Run(
        "regulated",
        "waiting",
        "production",
        "closed",
        {**REGULATED_DONE, "go-no-go": "waiting", "production": "blocked"},
        ("waits for go-no-go (waiting; owner release-managers)",),
        also=(("go-no-go", "rita's sign-off is 30h old; max 24h: sign off again"),),
    ),
    Run(
        "regulated",
        "rejected",
        "production",
        "closed",
        {**REGULATED_DONE, "go-no-go": "rejected", "production": "blocked"},
        ("waits for go-no-go (rejected; owner release-managers)",),
        # cole reviewed for compliance, so only cora may take the compliance part of the go/no-go.
        also=(
            (
                "go-no-go",
                "rejected by cora (compliance, signoff): stress test of the new segment is "
                "missing; cora can lift it with '/sop approve go-no-go'",
            ),
            (
                "go-no-go",
                "needs 1 sign-off from compliance (cora); has 0 (comment '/sop approve go-no-go')",
            ),
        ),
    ),
    Run(
        "regulated",
        "emergency",
        "production",
        "open",
        {**REGULATED_DONE, "go-no-go": "done", "production": "ready"},
        (
            "EMERGENCY OVERRIDE by olga: payment outage INC-4411",
            "gate open: run deploy-production (owner sre)",
        ),
        emergency=True,
    ),
    Run(
        "global",
        "green",
        "production[us-east]",
        "open",
        {**GLOBAL_DONE, "production[us-east]": "ready", **GLOBAL_LATER},
        ("gate open: run deploy-production (us-east) (owner sre)",),
        also=(
            (
                "production[us-west]",
                "outside its change window (mon, tue, wed, thu 09:00-17:00 America/Los_Angeles); "
                "opens next Thu 2026-11-26 09:00 America/Los_Angeles",
            ),
        ),
    ),
    Run(
        "global",
        "waiting",
        "production[us-east]",
        "closed",
        {**GLOBAL_DONE, "production[us-east]": "waiting", **GLOBAL_LATER},
        (US_EAST_SIGNOFF,),
    ),
    Run(
        "global",
        "rejected",
        "production[us-east]",
        "closed",
        {**GLOBAL_DONE, "production[us-east]": "rejected", **GLOBAL_LATER},
        (
            "rejected by uma (approvers-us-east, signoff): p95 latency regression in the us-east "
            "canary; uma can lift it with '/sop approve production[us-east]'",
            US_EAST_SIGNOFF,
        ),
    ),
]


def check(
    capsys: pytest.CaptureFixture[str], seed: str, facts: str, target: str
) -> tuple[int, dict[str, Any]]:
    sop = str(EXAMPLES / seed / ".sopgate.yml")
    code = main(["check", target, "--sop", sop, "--facts", facts, "--format", "json", "--dry-run"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("run", RUNS, ids=lambda run: f"{run.seed}-{run.facts}")
def test_each_example_run_decides_as_documented(
    capsys: pytest.CaptureFixture[str], run: Run
) -> None:
    code, out = check(
        capsys, run.seed, str(EXAMPLES / run.seed / "facts" / f"{run.facts}.yml"), run.target
    )
    assert (code, out["decision"]) == ((0, "open") if run.decision == "open" else (1, "closed"))
    assert {step["id"]: step["state"] for step in out["steps"]} == run.states
    reasons = {step["id"]: step["reasons"] for step in out["steps"]}
    assert tuple(reasons[run.target]) == run.reasons
    for step, reason in run.also:
        assert reason in reasons[step]
    assert out.get("emergency", False) is run.emergency


def test_every_seed_has_a_green_a_waiting_and_a_rejected_run() -> None:
    for seed in SEEDS:
        runs = {run.facts for run in RUNS if run.seed == seed}
        assert {"green", "waiting", "rejected"} <= runs, seed
        files = {path.stem for path in (EXAMPLES / seed / "facts").glob("*.yml")}
        assert files == runs, seed


def test_regulated_production_is_started_only_by_release_managers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    green = (EXAMPLES / "regulated" / "facts" / "green.yml").read_text(encoding="utf-8")
    facts = tmp_path / "dave.yml"
    facts.write_text(green.replace("initiator: rob", "initiator: dave"), encoding="utf-8")
    code, out = check(capsys, "regulated", str(facts), "production")
    assert (code, out["decision"]) == (1, "closed")
    production = next(step for step in out["steps"] if step["id"] == "production")
    assert (production["state"], production["reasons"]) == (
        "waiting",
        ["only release-managers may start production; started by dave"],
    )


def test_regulated_freeze_holds_production_without_the_override(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (EXAMPLES / "regulated" / "facts" / "emergency.yml").read_text(encoding="utf-8")
    facts = tmp_path / "no-override.yml"
    facts.write_text(
        "".join(line for line in text.splitlines(True) if "user: olga" not in line),
        encoding="utf-8",
    )
    code, out = check(capsys, "regulated", str(facts), "production")
    assert (code, out["decision"]) == (1, "closed")
    states = {step["id"]: (step["state"], step["reasons"]) for step in out["steps"]}
    # The freeze is scoped to production: staging deployed inside it, on 20 December.
    assert states["staging"] == ("done", [])
    assert states["production"] == (
        "waiting",
        ["change freeze from 2026-12-18 to 2027-01-04: Year-end freeze for production"],
    )


@pytest.mark.parametrize("path", ALL_SOPS, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_sops_are_valid_without_warnings(path: Path) -> None:
    assert read_sop(str(path), today=TODAY).warnings == ()


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.glob("**/facts/*.yml")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_example_facts_carry_the_new_keys(path: Path) -> None:
    facts = read_facts(str(path))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if path.parent.parent != EXAMPLES:  # the seed examples; examples/facts predates the keys
        assert {"commits", "documents"} <= data.keys()
        assert "pushed_at" in data["change"]
        assert facts.change is not None and facts.change.pushed_at is not None


def test_check_jsonschema_accepts_every_example_with_the_committed_schema(tmp_path: Path) -> None:
    pytest.importorskip("check_jsonschema")
    schema = str(ROOT / "sopgate.schema.json")
    command = [sys.executable, "-m", "check_jsonschema", "--schemafile", schema]
    done = subprocess.run(
        [*command, *map(str, ALL_SOPS)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok -- validation done"), done.stderr
    # The same check refuses what sopgate refuses in the additions' closed sets.
    broken = tmp_path / "broken.yml"
    text = (EXAMPLES / "regulated" / ".sopgate.yml").read_text(encoding="utf-8")
    broken.write_text(text.replace("bypass: [window, freeze]", "bypass: [needs]"), encoding="utf-8")
    done = subprocess.run([*command, str(broken)], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "'needs' is not one of ['window', 'freeze', 'approvals', 'checks']" in done.stdout
