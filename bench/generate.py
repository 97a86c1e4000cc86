"""Generate a large SOP and a matching facts snapshot for the scaling benchmark.

    python bench/generate.py --steps 2000 --entries 20000 --out /tmp/big
writes /tmp/big/sop.yml and /tmp/big/facts.json (and facts.yml with --yaml).

The SOP uses the format 1 additions as a global release would: regions as objects with time
zones, rollout waves, per-region approval roles (``approvers-{region}``) with ``max_age``,
windows in the region's time zone, evidence with JMESPath ``require`` thresholds, ``run_by``,
instance references in ``needs``, scoped freezes and an emergency section; the facts carry
``commits``, ``change.pushed_at`` and the evidence ``documents``.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
REGIONS = ["eu-west", "us-east", "us-west", "ap-south"]
ZONES = ["Europe/Dublin", "America/New_York", "America/Los_Angeles", "Asia/Kolkata"]
WAVES = "[[eu-west], [us-east, us-west], [ap-south]]"


def sop_text(steps: int) -> str:
    regions = ", ".join(
        f"{{id: {region}, timezone: {zone}}}" for region, zone in zip(REGIONS, ZONES, strict=True)
    )
    lines = [
        "sopgate: 1",
        f"name: Generated SOP with {steps} steps",
        f"scope: {{system: bench, environments: [staging, production], regions: [{regions}]}}",
        "owners: [platform]",
        "roles:",
        "  platform: {users: [p0, p1, p2], groups: [org/platform]}",
        "  security: {users: [s0, s1, s2, s3]}",
        "  release: {users: [r0, r1], groups: [org/release]}",
        "  oncall: {users: [o0, o1]}",
        *(f"  approvers-{region}: {{users: [a0-{region}, a1-{region}]}}" for region in REGIONS),
        "freezes:",
        "  - {from: 2026-12-20, to: 2027-01-04, environments: [production]}",
        "  - {from: 2026-11-26, to: 2026-11-26, regions: [ap-south], reason: Local holiday}",
        "emergency: {role: oncall, bypass: [window, freeze]}",
        "steps:",
    ]
    for i in range(steps):
        lines.append(f"  - id: step-{i}")
        lines.append(f"    name: Step number {i}")
        lines.append(f"    owner: {('platform', 'security', 'release')[i % 3]}")
        if i % 50 == 0:
            lines.append("    needs: []")
        elif i % 10 == 9 and i >= 11:
            pass  # an instance reference below
        elif i % 7 == 0:
            lines.append(f"    needs: [step-{i - 1}, step-{max(0, i - 5)}]")
        kind = i % 10
        if kind in (0, 1, 2):
            lines.append(f"    checks: [check-{i}, {{name: 'lint-{i}-*', app: ci}}]")
        if kind in (3, 4):
            lines.append("    approvals: [{role: security, count: 2, max_age: 7d}]")
            lines.append(f"    evidence: [reports/{i}/*.json]")
        if kind == 5:
            lines.append("    type: decision")
            lines.append("    approvals:")
            lines.append("      - {role: release, source: signoff, max_age: 24h}")
            lines.append("      - {role: platform, source: signoff}")
        if kind in (6, 7):
            lines.append(f"    jobs: [job-{i}]")
            lines.append("    environment: staging")
            lines.append("    run_by: [release, platform]")
            lines.append("    rollback: Redeploy the previous version.")
        if kind == 8:
            lines.append("    for_each: region")
            lines.append(f"    rollout: {WAVES}")
            lines.append(f"    jobs: ['deploy-{i} ({{region}})']")
            lines.append("    environment: production")
            lines.append(
                "    approvals: [{role: 'approvers-{region}', source: signoff, max_age: 3d}]"
            )
            lines.append("    rollback: Redeploy the previous version in that region.")
            lines.append(
                "    window: {days: [mon, tue, wed, thu], start: '09:00', "
                "end: '16:00', timezone: region}"
            )
        if kind == 9:
            if i >= 11:  # the fanned-out step before it: one instance reference
                lines.append(f"    needs: ['step-{i - 1}[us-east]']")
            lines.append("    evidence:")
            lines.append(f"      - path: reports/{i}/eval.json")
            lines.append(
                "        require: {metrics.auc: '>= 0.82', fairness.max_gap: '<= 0.05', "
                "approved: '== true'}"
            )
    return "\n".join(lines) + "\n"


def facts_data(steps: int, entries: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, tzinfo=UTC)

    def at(offset: int) -> str:
        return (start + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")

    approvals: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    users = [f"s{i}" for i in range(4)] + ["r0", "r1", "p0", "p1", "x-bot[bot]"]
    users += [f"a{n}-{region}" for n in (0, 1) for region in REGIONS]
    n = 0
    while len(approvals) + len(checks) < entries:
        i = rng.randrange(steps)
        n += 1
        if n % 4 == 0:
            source = "signoff" if i % 10 in (5, 8) else "review"
            approvals.append(
                {
                    "user": rng.choice(users),
                    "source": source,
                    "step": _signoff_step(i, rng) if source == "signoff" else None,
                    "state": rng.choice(["approved"] * 8 + ["rejected", "dismissed"]),
                    "sha": SHA if rng.random() < 0.9 else "0" * 40,
                    "at": at(n),
                }
            )
        else:
            name = rng.choice(
                [
                    f"check-{i}",
                    f"lint-{i}-{rng.randrange(3)}",
                    f"job-{i}",
                    f"deploy-{i} ({rng.choice(REGIONS)})",
                ]
            )
            checks.append(
                {
                    "name": name,
                    "app": rng.choice(["ci", "ci", "ci", "status"]),
                    "state": rng.choice(["success"] * 8 + ["failure", "pending"]),
                    "at": at(n),
                }
            )
    return {
        "facts": 1,
        "platform": "local",
        "repository": "bench/bench",
        "commit": SHA,
        "observed_at": "2026-11-26T10:00:00Z",
        "approvals": approvals,
        "checks": checks,
        "change": {"id": 1, "author": "dev", "pushed_at": at(0)},
        "initiator": "r0",
        "commits": [
            {"sha": SHA, "author": "dev", "committer": "web-flow", "at": at(0)},
            {"sha": "1" * 40, "author": "dev2", "committer": "dev2", "at": at(0)},
        ],
        "files": [f"reports/{i}/result.json" for i in range(0, steps, 2)]
        + [f"reports/{i}/eval.json" for i in range(9, steps, 10)],
        "documents": {
            f"reports/{i}/eval.json": {
                "metrics": {"auc": round(rng.uniform(0.78, 0.95), 3)},
                "fairness": {"max_gap": round(rng.uniform(0.0, 0.07), 3)},
                "approved": rng.random() < 0.9,
            }
            for i in range(9, steps, 10)
        },
        "groups": {"org/platform": ["p3", "p4"], "org/release": ["r2"]},
    }


def _signoff_step(i: int, rng: random.Random) -> str:
    """A sign-off names the step, or for a fanned-out step one instance or the whole step."""
    if i % 10 == 8 and rng.random() < 0.8:
        return f"step-{i}[{rng.choice(REGIONS)}]"
    return f"step-{i}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--yaml", action="store_true", help="also write facts.yml")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sop.yml").write_text(sop_text(args.steps))
    data = facts_data(args.steps, args.entries)
    (args.out / "facts.json").write_text(json.dumps(data))
    if args.yaml:
        import yaml

        (args.out / "facts.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    print(
        f"wrote {args.out}/sop.yml ({args.steps} steps) and facts "
        f"({len(data['approvals']) + len(data['checks'])} entries)"
    )


if __name__ == "__main__":
    main()
